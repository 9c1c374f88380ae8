"""``cronbridge backfill``: enqueue the slots a job should have run in a window but did not.

A backfilled slot has the id of the scheduled time it stands for, so it keys the same run as
the original firing: backfilling a slot that ran (or is about to) is a no-op in the worker,
and running the same backfill twice is safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress

from cronbridge.cli.grid import schedule_grid
from cronbridge.cli.target import (INSTANT, OperationFailed, Target, iso, json_option, output,
                                   target_command)
from cronbridge.core.messages import command_body
from cronbridge.core.runstate import Trigger
from cronbridge.core.schedule import RateSchedule, Schedule, parse_schedule
from cronbridge.core.slots import MAX_CLOCK_SKEW, format_slot, keyed_slot, slot_time

DEFAULT_MAX = 1000
# Past this many slots in the window the command refuses outright: narrow the window.
HARD_LIMIT = 100_000
PROGRESS_FROM = 50  # slots; fewer finish before a bar would be worth drawing
SQS_BATCH = 10


def expected_slots(schedule: Schedule, since: datetime, until: datetime) -> list[datetime]:
    """Fire times in ``[since, until)``, aware UTC, in order.

    Raises:
        click.BadParameter: more than :data:`HARD_LIMIT` of them.
    """
    slots: list[datetime] = []
    after = since - timedelta(microseconds=1)
    while True:
        batch = [t for t in schedule.next_fire_times(after, 1000) if t < until]
        slots += batch
        if len(slots) > HARD_LIMIT:
            raise click.BadParameter(f"the window holds more than {HARD_LIMIT:,} slots; "
                                     f"backfill it in parts", param_hint="--since/--until")
        if len(batch) < 1000:
            return slots
        after = batch[-1]


def _known_slot(target: Target, job: str, now: float) -> str | None:
    """The newest scheduled slot that has a run (manual slots come first in the query)."""
    return next((run.slot for run in target.store.runs(job, now=now)
                 if slot_time(run.slot) is not None), None)


def _key_schedule(target: Target, job: str, key: str,
                  since: datetime) -> tuple[Schedule, Mapping[str, Any]]:
    """The schedule of ``key`` as Scheduler holds it (a ``rate()`` counted from its start
    date, else from ``since``), and the key's payload, which its backfilled runs get too.

    Raises:
        OperationFailed: the key has no schedule (deleted: its slots cannot be listed).
    """
    from cronbridge.schedules import ScheduleError, ScheduleNotFoundError, Schedules

    try:
        found = Schedules(job, app=target.plan.app, session=target.session).get(key)
    except ScheduleError as exc:
        raise click.BadParameter(str(exc), param_hint="--key") from None
    except ScheduleNotFoundError as exc:
        raise OperationFailed(str(exc)) from None
    schedule = parse_schedule(found.expression, timezone=found.timezone, scheduler=True)
    if isinstance(schedule, RateSchedule):
        schedule = schedule.anchored(found.start or since)
    return schedule, found.payload


def _slots_with_runs(target: Target, job: str, since: datetime, until: datetime,
                     now: float) -> set[str]:
    found: set[str] = set()
    last = format_slot(until)
    for run in target.store.runs(job, now=now, since=format_slot(since), newest_first=False):
        # Oldest first: scheduled slots in time order, then the manual ones (which sort last).
        if slot_time(run.slot) is None or run.slot >= last:
            break
        found.add(run.slot)  # keyed slots (<time>#<key>) sort by time too
    return found


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
    until = until or now
    if until > now:
        raise click.BadParameter(f"{iso(until)} is in the future; a slot that has not fired "
                                 f"cannot be backfilled", param_hint="--until")
    if since >= until:
        raise click.BadParameter(f"{iso(since)} is not before --until {iso(until)}",
                                 param_hint="--since")
    job_plan = target.job(job)
    spec = target.spec(job)
    if (key is not None) != (job_plan.via == "dynamic"):
        raise click.BadParameter(
            f"{job_plan.job} runs per key: give --key" if key is None else
            f"{job_plan.job} has no per-key schedules", param_hint="--key")
    queues = target.queues(job_plan)
    notes: list[str] = []
    payload: Mapping[str, Any] = {}
    if key is not None:
        grid, payload = _key_schedule(target, job_plan.job, key, since)
    else:
        grid = schedule_grid(spec, _known_slot(target, job_plan.job, now.timestamp()), since)
    if grid is None:
        assert isinstance(spec.parsed_schedule, RateSchedule)
        grid = spec.parsed_schedule.anchored(since)
        notes.append(f"{spec.schedule} has no scheduled run to align on; slots counted from "
                     f"{iso(since)}")
    # The worker's own bound (service._refusal), so nothing is sent that it would refuse.
    retention_start = now - timedelta(days=spec.retention_days) + MAX_CLOCK_SKEW
    if since < retention_start:
        notes.append(f"slots before {iso(retention_start)} are past the job's retention "
                     f"({spec.retention_days} days): their records may have expired, so a "
                     f"missing one cannot prove a slot never ran; left out (the worker "
                     f"refuses them)")
        since = min(retention_start, until)
    expected = expected_slots(grid, since, until)
    with_runs = _slots_with_runs(target, job_plan.job, since, until, now.timestamp())
    missing = [slot for slot in (keyed_slot(format_slot(t), key) for t in expected)
               if slot not in with_runs]
    result: dict[str, Any] = {
        "job": job_plan.job, "since": iso(since), "until": iso(until), "dry_run": dry_run,
        "expected": len(expected), "with_run": len(expected) - len(missing),
        "slots": missing, "enqueued": 0, "failed": [], "notes": notes}
    if not dry_run and missing:
        _confirm(len(missing), max_slots, yes)
        _enqueue(target, queues.queue_url, job_plan.job, missing, result, payload,
                 show_progress=not as_json and len(missing) >= PROGRESS_FROM)
    output(as_json, result, lambda: _render(result))
    if result["failed"]:
        raise OperationFailed(
            f"{len(result['failed'])} slot(s) were not enqueued (first: "
            f"{result['failed'][0]['slot']}: {result['failed'][0]['error']}); run the same "
            f"backfill again: slots already enqueued or run are not run twice")


def _enqueue(target: Target, queue_url: str, job: str, slots: list[str],
             result: dict[str, Any], payload: Mapping[str, Any], *,
             show_progress: bool) -> None:
    console = Console(stderr=True)
    with Progress(console=console, disable=not (show_progress and console.is_terminal),
                  transient=True) as progress:
        task = progress.add_task(f"backfill {job}", total=len(slots))
        for start in range(0, len(slots), SQS_BATCH):
            chunk = slots[start:start + SQS_BATCH]
            try:
                response = target.sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                    {"Id": str(i), "MessageBody": command_body(job, Trigger.BACKFILL, slot=slot,
                                                              payload=payload)}
                    for i, slot in enumerate(chunk)])
            except Exception as exc:  # noqa: BLE001 - stop, and say which slots did not go
                result["failed"] += [{"slot": slot, "error": str(exc)} for slot in slots[start:]]
                return
            result["failed"] += [{"slot": chunk[int(f["Id"])], "error": f.get("Message", "")}
                                 for f in response.get("Failed", [])]
            result["enqueued"] += len(response.get("Successful", []))
            progress.advance(task, len(chunk))


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
