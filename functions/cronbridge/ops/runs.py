"""A job's runs: the history newest first, and one run in detail."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from cronbridge.core.slots import check_key, slot_key, slot_time
from cronbridge.ops.backend import Backend
from cronbridge.ops.errors import InvalidRequest
from cronbridge.ops.times import iso


def when(run: Any) -> float:
    """When a run stands for (epoch seconds): its scheduled time, or when a manual run was
    created."""
    scheduled = slot_time(run.slot)
    return scheduled.timestamp() if scheduled else float(run.created_at or 0)


def newest_first(runs: Iterable[Any]) -> Iterator[Any]:
    """Runs of one job newest first, from the run table's newest-first slot order.

    Manual slots (``RUN#manual:...``) sort after every timestamp, so the query returns all
    of them first and then the scheduled slots newest first; the manual ones are merged in
    by when they were created.
    """
    stream = iter(runs)
    manual: list[Any] = []
    first_scheduled: list[Any] = []
    for run in stream:
        if slot_time(run.slot) is None:
            manual.append(run)
        else:
            first_scheduled.append(run)
            break
    manual.sort(key=when, reverse=True)
    return heapq.merge(manual, itertools.chain(first_scheduled, stream), key=when,
                       reverse=True)


def run_dict(run: Any) -> dict[str, Any]:
    """A run record as JSON-ready data (times ISO-8601 UTC, durations in milliseconds)."""
    return {
        "slot": run.slot, "status": run.status, "trigger": run.trigger,
        "attempt": int(run.attempt or 0), "max_attempts": int(run.max_attempts or 0),
        "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
        "duration_ms": int(run.duration_ms) if run.duration_ms is not None else None,
        "error_type": run.error_type, "error_message": run.error_message,
        "skip_reason": run.skip_reason, "result": run.result,
        "result_omitted": run.result_omitted,
        "attempts": [{"attempt": int(a.attempt), "outcome": a.outcome,
                      "started_at": iso(a.started_at), "finished_at": iso(a.finished_at),
                      "duration_ms": int(a.duration_ms) if a.duration_ms is not None else None,
                      "error_type": a.error_type, "error_message": a.error_message}
                     for a in run.attempts or []],
    }


def history(backend: Backend, job: str, *, now: datetime, status: str | None = None,
            since: datetime | None = None, limit: int = 20,
            key: str | None = None) -> list[dict[str, Any]]:
    """``job``'s runs newest first as :func:`run_dict` gives them, at most ``limit``, only
    those in ``status``, for slots at or after ``since`` and of a dynamic job's ``key``
    when given. Runs past their
    retention (DynamoDB TTL) are hidden.

    Raises:
        UnknownJobError. NotDeployedError: the target does not have the job (an error,
        not "no runs"). InvalidRequest: not a valid key.
    """
    if key is not None:
        try:
            check_key(key)
        except ValueError as exc:
            raise InvalidRequest(str(exc), "--key") from None
    job_plan = backend.job(job)
    backend.queues(job_plan)
    runs = newest_first(backend.store.runs(job_plan.job, now=now.timestamp(),
                                           since=iso(since) if since else None))
    wanted = (run for run in runs
              if (status is None or run.status == status.upper())
              and (key is None or slot_key(run.slot) == key)
              and (since is None or when(run) >= since.timestamp()))
    return [run_dict(run) for run in itertools.islice(wanted, limit)]


def run_detail(backend: Backend, job: str, slot: str, *, now: datetime) -> dict[str, Any] | None:
    """One run in full: :func:`run_dict` plus ``checkpoint``, ``created_at``,
    ``message_id``, ``request_id`` and ``trace_id``; ``None`` when the slot has no run.

    Raises:
        UnknownJobError.
    """
    job_plan = backend.job(job)
    run = backend.store.get_run(job_plan.job, slot, now=now.timestamp())
    if run is None:
        return None
    return {**run_dict(run), "job": job_plan.job, "checkpoint": run.checkpoint,
            "created_at": iso(run.created_at), "message_id": run.message_id,
            "request_id": run.request_id, "trace_id": run.trace_id}
