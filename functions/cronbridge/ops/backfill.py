"""Backfill: enqueue the slots a job should have run in a window but did not.

A backfilled slot has the id of the scheduled time it stands for, so it keys the same run as
the original firing: backfilling a slot that ran (or is about to) is a no-op in the worker,
and running the same backfill twice is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core.jobs import JobSpec
from cronbridge.core.messages import command_body
from cronbridge.core.runstate import Status, Trigger
from cronbridge.core.schedule import RateSchedule, Schedule
from cronbridge.core.slots import MAX_CLOCK_SKEW, format_slot, slot_time
from cronbridge.ops.backend import Backend
from cronbridge.ops.errors import InvalidRequest
from cronbridge.ops.grid import schedule_grid
from cronbridge.ops.times import iso

# Past this many slots in the window the request is refused outright: narrow the window.
HARD_LIMIT = 100_000
SQS_BATCH = 10


def expected_slots(schedule: Schedule, since: datetime, until: datetime) -> list[datetime]:
    """Fire times in ``[since, until)``, aware UTC, in order.

    Raises:
        InvalidRequest: more than :data:`HARD_LIMIT` of them.
    """
    slots: list[datetime] = []
    after = since - timedelta(microseconds=1)
    while True:
        batch = [t for t in schedule.next_fire_times(after, 1000) if t < until]
        slots += batch
        if len(slots) > HARD_LIMIT:
            raise InvalidRequest(f"the window holds more than {HARD_LIMIT:,} slots; "
                                 f"ask for it in parts", "--since/--until")
        if len(batch) < 1000:
            return slots
        after = batch[-1]


def check_window(since: datetime, until: datetime, now: datetime) -> None:
    """Raise :class:`InvalidRequest` unless ``since < until <= now``."""
    if until > now:
        raise InvalidRequest(f"{iso(until)} is in the future; a slot that has not fired "
                             f"cannot be backfilled", "--until")
    if since >= until:
        raise InvalidRequest(f"{iso(since)} is not before --until {iso(until)}", "--since")


def known_slot(store: DynamoRunStore, job: str, now: float) -> str | None:
    """The newest scheduled slot that has a run (manual slots come first in the query)."""
    return next((run.slot for run in store.runs(job, now=now)
                 if slot_time(run.slot) is not None), None)


def job_grid(store: DynamoRunStore, spec: JobSpec, since: datetime, now: datetime,
             notes: list[str]) -> Schedule:
    """The job's fire-time grid from ``since``; a ``rate()`` job with no scheduled run to
    align on counts from ``since`` (said in ``notes``)."""
    grid = schedule_grid(spec, known_slot(store, spec.name, now.timestamp()), since)
    if grid is not None:
        return grid
    assert isinstance(spec.parsed_schedule, RateSchedule)
    notes.append(f"{spec.schedule} has no scheduled run to align on; slots counted from "
                 f"{iso(since)}")
    return spec.parsed_schedule.anchored(since)


def _slots_with_runs(backend: Backend, job: str, since: datetime, until: datetime,
                     now: float) -> set[str]:
    # A MISSED record (the auditor's) stands for "no run": those slots are backfilled.
    return {run.slot for run in backend.store.scheduled_runs(job, since=format_slot(since),
                                                            until=format_slot(until), now=now)
            if run.status != Status.MISSED.value}


def plan_backfill(backend: Backend, job: str, *, since: datetime, until: datetime,
                  now: datetime) -> dict[str, Any]:
    """Which of ``job``'s slots in ``[since, until)`` have no run.

    Returns ``job``, ``since``, ``until``, ``expected`` (slots in the window),
    ``with_run``, ``slots`` (the slot ids to enqueue, in order) and ``notes``.

    Raises:
        UnknownJobError, NotDeployedError. InvalidRequest: a bad window.
    """
    check_window(since, until, now)
    job_plan = backend.job(job)
    spec = backend.spec(job)
    backend.queues(job_plan)
    notes: list[str] = []
    grid = job_grid(backend.store, spec, since, now, notes)
    # The worker's own bound (service._refusal), so nothing is sent that it would refuse.
    retention_start = now - timedelta(days=spec.retention_days) + MAX_CLOCK_SKEW
    if since < retention_start:
        notes.append(f"slots before {iso(retention_start)} are past the job's retention "
                     f"({spec.retention_days} days): their records may have expired, so a "
                     f"missing one cannot prove a slot never ran; left out (the worker "
                     f"refuses them)")
        since = min(retention_start, until)
    expected = expected_slots(grid, since, until)
    with_runs = _slots_with_runs(backend, job_plan.job, since, until, now.timestamp())
    missing = [format_slot(t) for t in expected if format_slot(t) not in with_runs]
    return {"job": job_plan.job, "since": iso(since), "until": iso(until),
            "expected": len(expected), "with_run": len(expected) - len(missing),
            "slots": missing, "notes": notes}


def enqueue_backfill(backend: Backend, job: str, slots: list[str], *,
                     progress: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Send one backfill command per slot to ``job``'s queue, in batches of 10, stopping at
    the first failed call (``progress`` gets the count of each batch sent).

    Returns ``enqueued`` (a count) and ``failed`` (``{"slot", "error"}`` per slot not sent).

    Raises:
        UnknownJobError, NotDeployedError.
    """
    job_plan = backend.job(job)
    queue_url = backend.queues(job_plan).queue_url
    result: dict[str, Any] = {"enqueued": 0, "failed": []}
    for start in range(0, len(slots), SQS_BATCH):
        chunk = slots[start:start + SQS_BATCH]
        try:
            response = backend.sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "MessageBody": command_body(job_plan.job, Trigger.BACKFILL,
                                                           slot=slot)}
                for i, slot in enumerate(chunk)])
        except Exception as exc:  # noqa: BLE001 - stop, and say which slots did not go
            result["failed"] += [{"slot": slot, "error": str(exc)} for slot in slots[start:]]
            return result
        result["failed"] += [{"slot": chunk[int(f["Id"])], "error": f.get("Message", "")}
                             for f in response.get("Failed", [])]
        result["enqueued"] += len(response.get("Successful", []))
        progress(len(chunk))
    return result
