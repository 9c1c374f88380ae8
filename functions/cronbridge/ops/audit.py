"""The slot audit of a job: one verdict per due slot, and the runs outside the schedule.

Reads the run table with two key-range queries (the window's scheduled slots, and the
manual slots), never a scan.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core.audit import AuditReport, RunFacts, audit_slots, start_grace_seconds
from cronbridge.core.jobs import JobSpec
from cronbridge.core.schedule import Schedule
from cronbridge.core.slots import format_slot, keyed_slot, slot_key, slot_time
from cronbridge.ops.backend import Backend
from cronbridge.ops.backfill import expected_slots, job_grid, key_schedule
from cronbridge.ops.errors import InvalidRequest
from cronbridge.ops.times import iso


def facts(run: Any) -> RunFacts:
    """The audit's view of a run record."""
    return RunFacts(slot=run.slot, status=run.status, attempt=int(run.attempt or 0),
                    trigger=run.trigger, skip_reason=run.skip_reason,
                    error_type=run.error_type)


def audit_job(store: DynamoRunStore, spec: JobSpec, *, since: datetime, until: datetime,
              now: datetime, key: str | None = None,
              grid: Schedule | None = None) -> tuple[AuditReport, list[RunFacts], list[str]]:
    """Audit ``spec``'s due slots in ``[since, until)`` (aware UTC, ``until <= now``).

    ``key`` and ``grid``: one key of a dynamic job and its schedule; only that key's runs
    (slots ``<time>#<key>``) count, each judged as the slot of its time.

    Returns the report, the runs outside the schedule in the window (manual runs created
    in it, and runs of slots off the schedule's grid), and notes (e.g. how a ``rate()``
    grid was aligned).
    """
    notes: list[str] = []
    if grid is None:
        grid = job_grid(store, spec, since, now, notes)
    due = expected_slots(grid, since, until)
    stamp = now.timestamp()
    # Slot ids have minute precision: the query's end is the next minute, the window's end
    # is applied to the slot times.
    in_window = [run for run in store.scheduled_runs(
        spec.name, since=format_slot(since), until=format_slot(until + timedelta(minutes=1)),
        now=stamp) if _scheduled_at(run) < until and slot_key(run.slot) == key]
    # Judged by the slot's time; a keyed run stands for its key's slot at that time.
    runs = {format_slot(_scheduled_at(run)): facts(run) for run in in_window}
    due_ids = {keyed_slot(format_slot(t), key) for t in due}
    outside = [facts(run) for run in in_window if run.slot not in due_ids]
    if key is None:
        outside += [facts(run) for run in store.manual_runs(spec.name, now=stamp)
                    if since.timestamp() <= float(run.created_at or 0) < until.timestamp()]
    record = store.get_job(spec.name)
    paused_since = (datetime.fromtimestamp(record.paused_at, timezone.utc)
                    if record and record.paused and record.paused_at else None)
    report = audit_slots(due, runs, now=now,
                         grace_seconds=start_grace_seconds(spec.starting_deadline_seconds),
                         paused_since=paused_since)
    return report, outside, notes


def _scheduled_at(run: Any) -> datetime:
    when = slot_time(run.slot)
    assert when is not None  # a scheduled-range query returns scheduled slots only
    return when


def audit(backend: Backend, job: str, *, since: datetime, now: datetime,
          until: datetime | None = None, key: str | None = None) -> dict[str, Any]:
    """``job``'s slot audit over ``[since, until)`` (``until`` default and at most now).

    Args:
        key: one key of a job with per-key (dynamic) schedules; ``None`` for the job's own
            schedule.

    Returns ``job``, ``key``, ``since``, ``until``, ``schedule``, ``grace_seconds`` (how
    long a slot without a run stays pending), ``slots`` (``{"slot", "verdict",
    "attempts", "trigger", "reason"}`` per due slot, in order), ``unscheduled`` (runs
    outside the schedule: ``{"slot", "status", "attempts", "trigger"}``), ``summary``
    (count per verdict, every verdict present) and ``notes``.

    Raises:
        UnknownJobError, NotDeployedError. InvalidRequest: a bad window, or a key for a job
        without per-key schedules.
    """
    job_plan = backend.job(job)
    spec = backend.spec(job)
    if key is not None and job_plan.via != "dynamic":
        raise InvalidRequest(f"job {job_plan.job!r} has no per-key schedules; --key names a "
                             f"key of a job with dynamic schedules", "--key")
    if key is None and job_plan.via == "dynamic":
        raise InvalidRequest(f"job {job_plan.job!r} runs per key: give --key", "--key")
    until = min(until or now, now)
    if since >= until:
        raise InvalidRequest(f"{iso(since)} is not before {iso(until)}", "--since")
    backend.queues(job_plan)
    grid = key_schedule(backend, job_plan.job, key, since)[0] if key is not None else None
    report, outside, notes = audit_job(backend.store, spec, since=since, until=until, now=now,
                                       key=key, grid=grid)
    return {
        "job": job_plan.job, "key": key, "since": iso(since), "until": iso(until),
        "schedule": spec.schedule,
        "grace_seconds": start_grace_seconds(spec.starting_deadline_seconds),
        "slots": [{**asdict(v), "verdict": v.verdict.value} for v in report.slots],
        "unscheduled": [{"slot": r.slot, "status": r.status, "attempts": r.attempt,
                         "trigger": r.trigger} for r in outside],
        "summary": dict(report.summary),
        "notes": notes,
    }
