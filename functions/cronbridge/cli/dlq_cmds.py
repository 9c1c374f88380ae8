"""``cronbridge dlq | redrive``: see a job's dead letters and move them back to its queue
(the rules are in :mod:`cronbridge.ops.dlq`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cronbridge.cli.target import (
    OperationFailed,
    Target,
    human_seconds,
    json_option,
    output,
    target_command,
)
from cronbridge.core.plan import JobPlan
from cronbridge.ops.dlq import RECOVERED_NOTE, dead_letters, redrive


def _error(row: dict[str, Any]) -> str:
    kind = row["error_type"]
    return f"{kind}: {row['error_message']}" if kind else row["error_message"]


@click.command("dlq")
@click.argument("job")
@json_option
@target_command
def dlq_cmd(target: Target, job: str, as_json: bool) -> None:
    """List JOB's dead letters without consuming them: slot, error, attempts, age."""
    rows = dead_letters(target, job, now=datetime.now(timezone.utc))
    job_plan = target.job(job)

    def render() -> None:
        if not rows:
            click.echo(f"the DLQ of {job_plan.job} is empty")
            return
        table = Table(title=f"{job_plan.job}: {len(rows)} dead letter(s) in {job_plan.dlq_name}")
        for column in ("slot", "error", "attempts", "age", "message id"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["slot"] or "(unreadable)", _error(r)[:200],
                          "-" if r["attempts"] is None else str(r["attempts"]),
                          human_seconds(r["age_seconds"]), r["message_id"])
        Console(width=max(Console().width, 140)).print(table)
        click.echo(f"move them back with: cronbridge redrive {job_plan.job} --dry-run")

    output(as_json, rows, render)


@click.command("redrive")
@click.argument("job")
@click.option("--dry-run", is_flag=True, help="Show what would move; move nothing.")
@click.option("--force", is_flag=True,
              help="Also move letters of slots that already SUCCEEDED, and malformed ones.")
@json_option
@target_command
def redrive_cmd(target: Target, job: str, dry_run: bool, force: bool, as_json: bool) -> None:
    """Move JOB's dead letters back to its queue; the worker runs each DEAD slot once more.

    Uses an SQS message move task when every letter moves and the target supports it;
    otherwise moves message by message (send, confirm, delete), stopping at the first
    failure with that message and the rest still in the DLQ (exit 1). Letters of slots that
    already SUCCEEDED, and malformed messages, are left in the DLQ unless --force.
    """
    result = redrive(target, job, now=datetime.now(timezone.utc), dry_run=dry_run,
                     force=force)
    job_plan = target.job(job)
    output(as_json, result, lambda: _render(result, job_plan))
    failed = result["failed"]
    if failed:
        raise OperationFailed(
            f"redrive of {job_plan.job} stopped: message {failed['message_id']} (slot "
            f"{failed['slot']}) {failed['stage']} failed: {failed['cause']}. It and the "
            f"{len(result['not_attempted'])} after it are still in the DLQ; "
            f"{len(result['moved'])} moved. Fix the cause and run the redrive again.")


def _render(result: dict[str, Any], job: JobPlan) -> None:
    rows: list[tuple[str, str]] = []
    if result["dry_run"]:
        rows += [(r["slot"] or "(unreadable)", "would move") for r in result["would_move"]]
    elif result["method"] == "message-move-task":
        rows += [(r["slot"] or "(unreadable)", "moving (message move task)")
                 for r in result["moved"]]
    else:
        rows += [(r["slot"] or "(unreadable)", f"moved as {r['new_message_id']}")
                 for r in result["moved"]]
    if result["failed"]:
        f = result["failed"]
        rows.append((f["slot"] or "(unreadable)", f"[red]FAILED at {f['stage']}: {f['cause']}"
                                                  f"[/red] (still in the DLQ)"))
    rows += [(r["slot"] or "(unreadable)", "not attempted (still in the DLQ)")
             for r in result["not_attempted"]]
    rows += [(r["slot"] or "(unreadable)", f"left out: {r['reason']}") for r in result["left_out"]]
    if not rows:
        click.echo(f"the DLQ of {job.job} is empty: nothing to redrive")
        return
    table = Table(title=f"redrive {job.job}" + (" (dry run)" if result["dry_run"] else ""))
    table.add_column("slot")
    table.add_column("action")
    for row in rows:
        table.add_row(*row)
    Console(width=max(Console().width, 140)).print(table)
    if result["note"]:
        click.echo(f"note: {result['note']}")
    if result["recovered_dead_tokens"]:
        click.echo("note: " + RECOVERED_NOTE.format(n=result["recovered_dead_tokens"])
                   + (" (on the redrive)" if result["dry_run"] else ""))
    if result["recovered_dead_tokens"]:
        click.echo("note: " + RECOVERED_NOTE.format(n=result["recovered_dead_tokens"])
                   + (" (on the redrive)" if result["dry_run"] else ""))
    if result["task_handle"]:
        click.echo(f"message move task started: {result['task_handle']}")
    if result["moved"]:
        click.echo(f"the worker runs each redriven DEAD slot once; follow with: "
                   f"cronbridge history {job.job}")
