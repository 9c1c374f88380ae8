"""``cronbridge backfill``: enqueue the slots a job should have run in a window but did not.

A backfilled slot has the id of the scheduled time it stands for, so it keys the same run as
the original firing: backfilling a slot that ran (or is about to) is a no-op in the worker,
and running the same backfill twice is safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress

from cronbridge.cli.target import (
    INSTANT,
    OperationFailed,
    Target,
    json_option,
    output,
    target_command,
)
from cronbridge.ops.backfill import enqueue_backfill, plan_backfill

DEFAULT_MAX = 1000
PROGRESS_FROM = 50  # slots; fewer finish before a bar would be worth drawing


def _confirm(count: int, max_slots: int, yes: bool) -> None:
    if count <= max_slots or yes:
        return
    if sys.stdin.isatty() and not os.environ.get("CI"):
        click.confirm(f"enqueue {count} slots, more than --max {max_slots}?", abort=True)
        return
    raise click.UsageError(f"{count} slots to enqueue is more than --max {max_slots}, and there "
                           f"is no terminal to confirm on: pass --max {count} or --yes")


@click.command("backfill")
@click.argument("job")
@click.option("--since", type=INSTANT, required=True,
              help="Start of the window, inclusive (UTC if no offset), e.g. 2026-11-30T09:00Z.")
@click.option("--until", type=INSTANT, help="End of the window, exclusive (default: now).")
@click.option("--dry-run", is_flag=True, help="List the slots; enqueue nothing.")
@click.option("--max", "max_slots", type=click.IntRange(min=1), default=DEFAULT_MAX,
              show_default=True, help="Ask before enqueueing more slots than this.")
@click.option("--yes", is_flag=True, help="Do not ask (scripts, CI): enqueue even past --max.")
@click.option("--key", metavar="KEY",
              help="A dynamic job's key: backfill that key's schedule (required for them).")
@json_option
@target_command
def backfill_cmd(target: Target, job: str, since: datetime, until: datetime | None,
                 dry_run: bool, max_slots: int, yes: bool, key: str | None,
                 as_json: bool) -> None:
    """Enqueue JOB's slots in [--since, --until) that have no run (trigger 'backfill').

    Expected slots come from the job's schedule; slots with any run record (succeeded,
    failed, dead, skipped or running) are left out: use `redrive` for DEAD slots. Runs even
    while the job is paused. Asks before enqueueing more than --max slots; with no terminal
    (or CI set) it refuses with exit status 2 unless --yes.
    """
    now = datetime.now(timezone.utc)
    plan = plan_backfill(target, job, since=since, until=until or now, now=now, key=key)
    missing = plan["slots"]
    result: dict[str, Any] = {**{k: plan[k] for k in ("job", "since", "until")},
                              "dry_run": dry_run, "expected": plan["expected"],
                              "with_run": plan["with_run"], "slots": missing, "enqueued": 0,
                              "failed": [], "notes": plan["notes"]}
    if not dry_run and missing:
        _confirm(len(missing), max_slots, yes)
        result.update(_enqueue(target, plan["job"], missing, plan["payload"],
                               show_progress=not as_json and len(missing) >= PROGRESS_FROM))
    output(as_json, result, lambda: _render(result))
    if result["failed"]:
        raise OperationFailed(
            f"{len(result['failed'])} slot(s) were not enqueued (first: "
            f"{result['failed'][0]['slot']}: {result['failed'][0]['error']}); run the same "
            f"backfill again: slots already enqueued or run are not run twice")


def _enqueue(target: Target, job: str, slots: list[str], payload: Mapping[str, Any], *,
             show_progress: bool) -> dict[str, Any]:
    console = Console(stderr=True)
    with Progress(console=console, disable=not (show_progress and console.is_terminal),
                  transient=True) as progress:
        task = progress.add_task(f"backfill {job}", total=len(slots))
        return enqueue_backfill(target, job, slots, payload=payload,
                                progress=lambda sent: progress.advance(task, sent))


def _render(result: dict[str, Any]) -> None:
    slots = result["slots"]
    verb = "would enqueue" if result["dry_run"] else "enqueued"
    count = len(slots) if result["dry_run"] else result["enqueued"]
    click.echo(f"backfill {result['job']} [{result['since']}, {result['until']}): "
               f"{result['expected']} expected slot(s), {result['with_run']} already have a run, "
               f"{verb} {count}")
    shown = slots if len(slots) <= 20 else [*slots[:10], "...", *slots[-10:]]
    for slot in shown:
        click.echo(f"  {slot}")
    for note in result["notes"]:
        click.echo(f"note: {note}")
    if count and not result["dry_run"]:
        click.echo(f"follow them with: cronbridge history {result['job']} --since "
                   f"{result['since']}")
