"""Backfill: enqueue the slots a job should have run in a window but did not.

A backfilled slot has the id of the scheduled time it stands for, so it keys the same run as
the original firing: backfilling a slot that ran (or is about to) is a no-op in the worker,
and running the same backfill twice is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core.jobs import JobSpec
from cronbridge.core.messages import command_body
from cronbridge.core.runstate import Status, Trigger
from cronbridge.core.schedule import RateSchedule, Schedule, parse_schedule
from cronbridge.core.slots import MAX_CLOCK_SKEW, format_slot, keyed_slot, slot_time
from cronbridge.ops.backend import Backend
from cronbridge.ops.errors import InvalidRequest, OperationError
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


def key_schedule(backend: Backend, job: str, key: str,
                 since: datetime) -> tuple[Schedule, Mapping[str, Any]]:
    """The schedule of a dynamic job's ``key`` as Scheduler holds it (a ``rate()`` counted
    from its start date, else from ``since``), and the key's payload, which its backfilled
    runs get too.

    Raises:
        InvalidRequest: not a valid key. OperationError: the key has no schedule (deleted:
        its slots cannot be listed).
    """
    from cronbridge.schedules import ScheduleError, ScheduleNotFoundError, Schedules

    try:
        found = Schedules(job, app=backend.plan.app, session=backend.session).get(key)
    except ScheduleError as exc:
        raise InvalidRequest(str(exc), "--key") from None
    except ScheduleNotFoundError as exc:
        raise OperationError(str(exc)) from None
    schedule = parse_schedule(found.expression, timezone=found.timezone, scheduler=True)
    if isinstance(schedule, RateSchedule):
        schedule = schedule.anchored(found.start or since)
    return schedule, found.payload


def _slots_with_runs(backend: Backend, job: str, since: datetime, until: datetime,
                     now: float) -> set[str]:
    # A MISSED record (the auditor's) stands for "no run": those slots are backfilled.
    return {run.slot for run in backend.store.scheduled_runs(job, since=format_slot(since),
                                                            until=format_slot(until), now=now)
            if run.status != Status.MISSED.value}


def plan_backfill(backend: Backend, job: str, *, since: datetime, until: datetime,
                  now: datetime, key: str | None = None) -> dict[str, Any]:
    """Which of ``job``'s slots in ``[since, until)`` have no run; for a dynamic job, those
    of its schedule for ``key`` (slot ids ``<time>#<key>``).

    Returns ``job``, ``since``, ``until``, ``expected`` (slots in the window),
    ``with_run``, ``slots`` (the slot ids to enqueue, in order), ``notes`` and ``payload``
    (the key's payload, ``{}`` without a key).

    Raises:
        UnknownJobError, NotDeployedError. InvalidRequest: a bad window, or ``key`` given
        for a job without per-key schedules (or missing for one with them).
        OperationError: the key has no schedule.
    """
    check_window(since, until, now)
    job_plan = backend.job(job)
    spec = backend.spec(job)
    if (key is not None) != (job_plan.via == "dynamic"):
        raise InvalidRequest(
            f"{job_plan.job} runs per key: give --key" if key is None else
            f"{job_plan.job} has no per-key schedules", "--key")
    backend.queues(job_plan)
    notes: list[str] = []
    payload: Mapping[str, Any] = {}
    if key is not None:
        grid, payload = key_schedule(backend, job_plan.job, key, since)
    else:
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
    missing = [slot for slot in (keyed_slot(format_slot(t), key) for t in expected)
               if slot not in with_runs]
    return {"job": job_plan.job, "since": iso(since), "until": iso(until),
            "expected": len(expected), "with_run": len(expected) - len(missing),
            "slots": missing, "notes": notes, "payload": dict(payload)}


def enqueue_backfill(backend: Backend, job: str, slots: list[str], *,
                     payload: Mapping[str, Any] | None = None,
                     progress: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Send one backfill command per slot to ``job``'s queue, in batches of 10, stopping at
    the first failed call (``progress`` gets the count of each batch sent); ``payload``: a
    dynamic job's key payload (:func:`plan_backfill`'s).

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
                                                           slot=slot, payload=payload or {})}
                for i, slot in enumerate(chunk)])
        except Exception as exc:  # noqa: BLE001 - stop, and say which slots did not go
            result["failed"] += [{"slot": slot, "error": str(exc)} for slot in slots[start:]]
            return result
        result["failed"] += [{"slot": chunk[int(f["Id"])], "error": f.get("Message", "")}
                             for f in response.get("Failed", [])]
        result["enqueued"] += len(response.get("Successful", []))
        progress(len(chunk))
    return result
