"""An in-memory :class:`~cronbridge.core.ports.RunStore` with the DynamoDB store's semantics.

For unit tests of the service without I/O. Each method checks its conditions and applies
its writes together, as one DynamoDB transaction does; a failed condition hands back the
records as they were, like ``ReturnValuesOnConditionCheckFailure=ALL_OLD``. Records are
plain dicts using the DynamoDB item's attribute names.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from cronbridge.core.runstate import (Claim, Conflict, Expect, Finish, JobSnapshot, Outcome,
                                      RunSnapshot, Skip, Status, redriven_to_success)
from cronbridge.core.slots import KEY_SEPARATOR, slot_key


class MemoryRunStore:
    """Run records by ``(job, slot)`` and job records by job (``job#key`` for a keyed slot,
    as DynamoDB's ``JOB#<key>`` record), behind one lock."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def claim(self, claim: Claim) -> Conflict | None:
        with self._lock:
            key = (claim.job, claim.slot)
            run = self.runs.get(key)
            job = self.jobs.setdefault(_record(claim.job, claim.slot), {})
            run_ok = _claim_condition(claim, run)
            job_ok = ((not claim.check_paused or not job.get("paused"))
                      and (not claim.guard_overlap or job.get("active_slot") is None
                           or job["active_lease_expires_at"] < claim.now
                           or job["active_slot"] == claim.slot))
            if not (run_ok and job_ok):
                return Conflict(run=None if run_ok else _run_snapshot(run),
                                job=None if job_ok else _job_snapshot(job))
            if run is None:
                run = self.runs[key] = {"created_at": claim.now, "attempts": []}
            if claim.expect is Expect.EXPIRED:
                run["attempts"].append({
                    "attempt": claim.prior_attempt, "outcome": Outcome.TIMED_OUT.value,
                    "finished_at": claim.now, "error_type": "TimedOut"})
            run.update(slot=claim.slot, status=Status.RUNNING.value, attempt=claim.attempt,
                       max_attempts=claim.max_attempts, trigger=claim.trigger,
                       lease_token=claim.token, lease_expires_at=claim.lease_expires_at,
                       started_at=claim.now, expires_at=claim.expires_at,
                       **{k: v for k, v in (("scheduled_time", claim.scheduled_time),
                                            ("message_id", claim.message_id),
                                            ("request_id", claim.request_id),
                                            ("trace_id", claim.trace_id)) if v})
            run.pop("finished_at", None)
            run.pop("dead_token", None)
            job["updated_at"] = claim.now
            if claim.guard_overlap:
                job.update(active_slot=claim.slot, active_token=claim.token,
                           active_lease_expires_at=claim.lease_expires_at)
            return None

    def finish(self, finish: Finish) -> bool:
        with self._lock:
            run = self.runs.get((finish.job, finish.slot))
            if not _fenced(run, finish.attempt, finish.token):
                # Our own write, retried after its answer was lost, is not a lost lease.
                return (run is not None and run["status"] == finish.status.value
                        and run["attempt"] == finish.attempt
                        and run["lease_token"] == finish.token)
            run["attempts"].append({
                "attempt": finish.attempt, "outcome": finish.status.value,
                "started_at": finish.started_at, "finished_at": finish.now,
                "duration_ms": finish.duration_ms, "error_type": finish.error_type,
                "error_message": finish.error_message})
            run.update(status=finish.status.value, finished_at=finish.now,
                       duration_ms=finish.duration_ms, error_type=finish.error_type,
                       error_message=finish.error_message)
            run.pop("lease_expires_at", None)
            if finish.result is not None:
                run["result"] = finish.result
            if finish.result_omitted is not None:
                run["result_omitted"] = finish.result_omitted
            if finish.dead_token:
                run.update(dead_token=finish.dead_token, dead_message_id=finish.dead_message_id)
            job = self.jobs.setdefault(_record(finish.job, finish.slot), {})
            job["updated_at"] = finish.now
            if finish.release_overlap and job.get("active_token") == finish.token:
                for name in ("active_slot", "active_token", "active_lease_expires_at"):
                    job.pop(name, None)
            if (finish.status in (Status.SUCCEEDED, Status.DEAD)
                    and (job.get("last_order", "") < finish.order
                         or redriven_to_success(job.get("last_order"),
                                                 job.get("last_status"), finish))):
                job.update(last_status=finish.status.value, last_slot=finish.slot,
                           last_order=finish.order)
                if finish.status is Status.SUCCEEDED:
                    job.update(consecutive_failures=0, last_success_slot=finish.slot,
                               last_success_at=finish.now)
                else:
                    job["consecutive_failures"] = job.get("consecutive_failures", 0) + 1
            return True

    def skip(self, skip: Skip) -> RunSnapshot | None:
        with self._lock:
            key = (skip.job, skip.slot)
            if key in self.runs:
                return _run_snapshot(self.runs[key])
            self.runs[key] = {
                "slot": skip.slot, "status": Status.SKIPPED.value,
                "skip_reason": skip.reason.value, "trigger": skip.trigger, "attempt": 0,
                "created_at": skip.now, "finished_at": skip.now, "expires_at": skip.expires_at,
                "scheduled_time": skip.scheduled_time, "attempts": []}
            return None

    def checkpoint(self, job: str, slot: str, attempt: int, token: str, state: Any) -> bool:
        with self._lock:
            run = self.runs.get((job, slot))
            if not _fenced(run, attempt, token):
                return False
            run["checkpoint"] = copy.deepcopy(state)
            return True

    def consecutive_failures(self, job: str) -> int:
        with self._lock:
            return int(self.jobs.get(job, {}).get("consecutive_failures", 0))

    def set_paused(self, job: str, paused: bool) -> None:
        with self._lock:
            self.jobs.setdefault(job, {})["paused"] = paused


def _record(job: str, slot: str) -> str:
    key = slot_key(slot)
    return job if key is None else f"{job}{KEY_SEPARATOR}{key}"


def _claim_condition(claim: Claim, run: dict[str, Any] | None) -> bool:
    if claim.expect is Expect.ABSENT:
        return run is None
    if run is None:
        return False
    if claim.expect is Expect.MISSED:
        return run["status"] == Status.MISSED.value
    if claim.expect is Expect.FAILED:
        return run["status"] == Status.FAILED.value and run["attempt"] == claim.prior_attempt
    if claim.expect is Expect.EXPIRED:
        return (run["status"] == Status.RUNNING.value and run["attempt"] == claim.prior_attempt
                and run["lease_token"] == claim.prior_token
                and run["lease_expires_at"] < claim.now)
    return run["status"] == Status.DEAD.value and run.get("dead_token") == claim.prior_token


def _fenced(run: dict[str, Any] | None, attempt: int, token: str) -> bool:
    return (run is not None and run["status"] == Status.RUNNING.value
            and run["attempt"] == attempt and run["lease_token"] == token)


def _run_snapshot(run: dict[str, Any] | None) -> RunSnapshot | None:
    if run is None:
        return None
    return RunSnapshot(
        status=Status(run["status"]), attempt=run["attempt"],
        max_attempts=run.get("max_attempts", 0), lease_token=run.get("lease_token"),
        lease_expires_at=run.get("lease_expires_at"), dead_token=run.get("dead_token"),
        dead_message_id=run.get("dead_message_id"), trigger=run.get("trigger"),
        checkpoint=copy.deepcopy(run.get("checkpoint")), error_type=run.get("error_type"),
        error_message=run.get("error_message"))


def _job_snapshot(job: dict[str, Any]) -> JobSnapshot:
    return JobSnapshot(paused=bool(job.get("paused")), active_slot=job.get("active_slot"),
                       active_lease_expires_at=job.get("active_lease_expires_at"))
