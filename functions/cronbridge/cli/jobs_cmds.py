"""``cronbridge jobs | enable | disable | trigger | history``: see and steer the jobs."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cronbridge.cli.target import (
    INSTANT,
    OperationFailed,
    Target,
    human_duration_ms,
    json_option,
    output,
    target_command,
)
from cronbridge.core.runstate import Status
from cronbridge.ops import jobs as ops_jobs
from cronbridge.ops import runs as ops_runs
from cronbridge.ops.times import iso


def operator() -> str:
    """Who a command acts as, recorded with a pause or resume: ``cli (<login>)``."""
    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


# -- jobs -------------------------------------------------------------------------------

@click.command("jobs")
@json_option
@target_command
def jobs_cmd(target: Target, as_json: bool) -> None:
    """List the jobs: schedule, enabled/paused (and drift between the rule's state and the
    pause flag), next fire times (UTC), last status, consecutive failures and DLQ depth.

    Exits 1 after the listing if a job is not deployed on the target.
    """
    rows = ops_jobs.list_jobs(target, datetime.now(timezone.utc))

    def render() -> None:
        table = Table(title=f"jobs on {target.describe()}")
        for column in ("job", "schedule", "state", "next (UTC)", "last", "failures", "DLQ"):
            table.add_column(column, justify="right" if column in ("failures", "DLQ") else "left")
        for r in rows:
            state = r["state"]
            style = "green" if state == "enabled" else "yellow" if state == "paused" else "red"
            local = next(iter(r["next_local"]), None)
            zone = f" {r['timezone']}" if r["timezone"] else ""
            table.add_row(
                r["job"], f"{r['schedule']}{zone}\n[dim]{r['schedule_description']}[/dim]",
                f"[{style}]{state}[/{style}]" + _switch_note(r["switch"]),
                (r["next_fire_times"][0][:16].replace("T", " ") if r["next_fire_times"] else
                 "per key" if r["via"] == "dynamic" else "-")
                + (f"\n[dim]{local['local'].replace('T', ' ')} local"
                   f"{' (' + local['status'] + ')' if local['status'] != 'fires' else ''}[/dim]"
                   if local else ""),
                f"{r['last_status'] or '-'}\n[dim]{r['last_slot'] or ''}[/dim]",
                str(r["consecutive_failures"]),
                "-" if r["dlq_depth"] is None else str(r["dlq_depth"]))
        Console(width=max(Console().width, 140)).print(table)

    output(as_json, rows, render)
    missing = [r["job"] for r in rows if not r["deployed"]]
    if missing:
        raise OperationFailed(f"not deployed on {target.describe()}: {', '.join(missing)} "
                              f"(check --app and AWS_REGION, or deploy)")


def _switch_note(switch: dict[str, Any] | None) -> str:
    """Who paused or resumed the job, when and why, under its state."""
    if switch is None:
        return ""
    reason = f": {switch['reason']}" if switch["reason"] else ""
    return (f"\n[dim]{switch['action']} by {switch['by'] or 'unknown'} "
            f"{(switch['at'] or '')[:16].replace('T', ' ')}{reason}[/dim]")


def _switch(target: Target, job: str, *, enabled: bool, reason: str | None,
            as_json: bool) -> None:
    result = ops_jobs.set_enabled(target, job, enabled=enabled, by=operator(),
                                  now=datetime.now(timezone.utc), reason=reason)
    output(as_json, result, lambda: click.echo(
        f"{result['job']}: {result['state']}" + ("" if result["changed"] else " (already)")
        + ("" if enabled else "; manual triggers and backfills still run")))


@click.command("enable")
@click.argument("job")
@json_option
@target_command
def enable_cmd(target: Target, job: str, as_json: bool) -> None:
    """Resume JOB: clear its paused flag and enable its EventBridge rule or Scheduler
    schedule (idempotent); who resumed it and when is recorded.

    Slots missed while it was paused are not run; backfill them if they matter.
    """
    _switch(target, job, enabled=True, reason=None, as_json=as_json)


@click.command("disable")
@click.argument("job")
@click.option("--reason", metavar="TEXT", help="A note on why, shown by `jobs`.")
@json_option
@target_command
def disable_cmd(target: Target, job: str, reason: str | None, as_json: bool) -> None:
    """Pause JOB: set its paused flag and disable its EventBridge rule or Scheduler
    schedule (idempotent); who paused it, when and why (--reason) is recorded and shown by
    `jobs`.

    Scheduled deliveries already queued are recorded SKIPPED (reason paused), and a redeploy
    that re-enables the rule does not resume the job (`jobs` shows that drift).
    """
    _switch(target, job, enabled=False, reason=reason, as_json=as_json)


# -- trigger ----------------------------------------------------------------------------

@click.command("trigger")
@click.argument("job")
@click.option("--slot", metavar="ID",
              help="Idempotency key: the same --slot twice runs once. 'manual:' is prepended "
                   "if missing. Default: a new id.")
@click.option("--payload", metavar="JSON",
              help="JSON object merged over the job's static payload, e.g. '{\"days\": 3}'.")
@json_option
@target_command
def trigger_cmd(target: Target, job: str, slot: str | None, payload: str | None,
                as_json: bool) -> None:
    """Run JOB now through its real queue (trigger 'manual'); the worker runs it.

    Runs even while the job is paused. Follow it with `cronbridge history JOB`.
    """
    result = ops_jobs.trigger(target, job, now=datetime.now(timezone.utc), slot=slot,
                              payload=ops_jobs.parse_payload(payload))
    slot_id, existing = result["slot"], result["existing_status"]

    def render() -> None:
        click.echo(f"triggered {result['job']}: slot {slot_id} (message {result['message_id']})")
        if existing is not None:
            click.echo(f"note: slot {slot_id} already has a {existing} run; a finished "
                       f"slot does not run again, use a new --slot to run it again")
        click.echo(f"follow it with: cronbridge history {result['job']}")

    output(as_json, result, render)


# -- history ----------------------------------------------------------------------------

def _detail(row: dict[str, Any]) -> str:
    if row["skip_reason"]:
        return f"skipped: {row['skip_reason']}"
    lines = [f"attempt {a['attempt']} {a['outcome']}: {a['error_type']}: {a['error_message']}"
             for a in row["attempts"] if a["error_type"]]
    if not lines and row["error_type"] and row["status"] != Status.SUCCEEDED.value:
        lines.append(f"{row['error_type']}: {row['error_message']}")
    if row["result_omitted"]:
        lines.append(f"result not recorded: {row['result_omitted']}")
    return "\n".join(line[:160] for line in lines)


@click.command("history")
@click.argument("job")
@click.option("--status", type=click.Choice([s.value for s in Status], case_sensitive=False),
              help="Only runs in this status.")
@click.option("--since", type=INSTANT, help="Only runs for slots at or after this instant "
                                            "(UTC if no offset), e.g. 2026-11-30T00:00Z.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="At most this many runs.")
@click.option("--key", metavar="KEY", help="Only the runs of this key's dynamic schedule.")
@json_option
@target_command
def history_cmd(target: Target, job: str, status: str | None, since: datetime | None,
                limit: int, key: str | None, as_json: bool) -> None:
    """Show JOB's runs newest first: status, trigger, attempts, duration, errors and skip
    reasons. Runs past their retention (DynamoDB TTL) are hidden."""
    rows = ops_runs.history(target, job, now=datetime.now(timezone.utc), status=status,
                            since=since, limit=limit, key=key)
    job_name = target.job(job).job

    def render() -> None:
        if not rows:
            click.echo(f"no runs of {job_name}" + (f" with status {status.upper()}"
                                                       if status else "")
                       + (f" for key {key}" if key else "")
                       + (f" since {iso(since)}" if since else ""))
            return
        table = Table(title=f"{job_name}: newest first")
        for column in ("slot", "status", "trigger", "attempts", "started (UTC)", "duration",
                       "errors / skip reason"):
            table.add_column(column)
        colours = {"SUCCEEDED": "green", "FAILED": "yellow", "DEAD": "red", "RUNNING": "cyan",
                   "SKIPPED": "dim", "MISSED": "magenta"}
        for r in rows:
            colour = colours.get(r["status"], "white")
            table.add_row(r["slot"], f"[{colour}]{r['status']}[/{colour}]", r["trigger"] or "-",
                          f"{r['attempt']}/{r['max_attempts']}" if r["attempt"] else "-",
                          (r["started_at"] or "-").replace("T", " ").rstrip("Z"),
                          human_duration_ms(r["duration_ms"]),
                          _detail(r))
        Console(width=max(Console().width, 140)).print(table)

    output(as_json, rows, render)
