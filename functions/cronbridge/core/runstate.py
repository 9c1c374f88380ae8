"""The run-state machine of DESIGN.md §3, as pure data and decisions.

Storage adapters turn a :class:`Claim` into one conditional write and hand back what they
found when the condition failed; :func:`decide_conflict` says what that means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class Status(str, Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"      # a retry is due
    DEAD = "DEAD"          # out of attempts or permanent; its message is in the DLQ
    SKIPPED = "SKIPPED"
    # Recorded by the auditor for a due slot that got no run once none could come any more;
    # any later delivery (a late event, a backfill, a catch-up) still claims it.
    MISSED = "MISSED"


class Outcome(str, Enum):
    """What one attempt ended as (kept per attempt on the run record)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    DEAD = "DEAD"
    TIMED_OUT = "TIMED_OUT"   # the lease expired: found by the next attempt


class Trigger(str, Enum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    BACKFILL = "backfill"
    REDRIVE = "redrive"


class SkipReason(str, Enum):
    OVERLAP = "overlap"
    LATE = "late"
    PAUSED = "paused"


class Expect(str, Enum):
    """The state a claim expects the run record to be in (its write condition)."""

    ABSENT = "ABSENT"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"   # RUNNING under an expired lease: take over
    DEAD = "DEAD"         # redrive: only with the DLQ message's dead token
    MISSED = "MISSED"     # a slot the auditor recorded as missed: its first attempt


@dataclass(frozen=True)
class RunSnapshot:
    """The run record as found (times are epoch seconds, UTC)."""

    status: Status
    attempt: int
    max_attempts: int
    lease_token: str | None = None
    lease_expires_at: float | None = None
    dead_token: str | None = None
    dead_message_id: str | None = None
    trigger: str | None = None
    checkpoint: Any = None
    error_type: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class JobSnapshot:
    """The job record as found."""

    paused: bool = False
    active_slot: str | None = None
    active_lease_expires_at: float | None = None


@dataclass(frozen=True)
class Claim:
    """One claim attempt: the expected state and everything the new attempt writes.

    ``guard_overlap`` adds the job record condition "no other slot runs under a live lease"
    (overlap ``skip``/``buffer``); ``check_paused`` adds "the job is not paused" (a slot's
    first scheduled claim only: pausing stops new slots, not the retries of a started one).
    """

    job: str
    slot: str
    expect: Expect
    attempt: int
    max_attempts: int
    token: str
    now: float
    lease_expires_at: float
    trigger: str
    expires_at: int
    scheduled_time: str | None = None
    prior_attempt: int = 0           # EXPIRED/FAILED/DEAD: the attempt found
    prior_token: str | None = None   # EXPIRED: the lost lease's token; DEAD: the dead token
    guard_overlap: bool = True
    check_paused: bool = True
    message_id: str | None = None
    request_id: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class Conflict:
    """Why a claim's condition failed: the records as they were (``None`` = that record's
    condition held)."""

    run: RunSnapshot | None
    job: JobSnapshot | None


@dataclass(frozen=True)
class Finish:
    """The end of an attempt, fenced by ``attempt`` and ``token``.

    ``status`` is SUCCEEDED, FAILED (retry due) or DEAD. ``streak`` is ``"reset"`` after a
    success, ``"increment"`` after a DEAD slot, ``None`` for a retry.
    """

    job: str
    slot: str
    attempt: int
    token: str
    status: Status
    now: float
    started_at: float
    duration_ms: int
    error_type: str | None = None
    error_message: str | None = None
    result: Any = None
    result_omitted: str | None = None  # why a return value is not in ``result``
    dead_token: str | None = None
    dead_message_id: str | None = None
    release_overlap: bool = True

    @property
    def order(self) -> str:
        """Where this run sorts in the job's slot order, which the failure streak and the
        last status follow: the slot id, or for a manual slot the time it finished (same
        format), so the two interleave."""
        if self.slot.startswith("manual:"):
            return datetime.fromtimestamp(self.now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.slot


def redriven_to_success(last_order: str | None, last_status: str | None,
                        finish: Finish) -> bool:
    """Whether ``finish`` is the job's latest slot, DEAD until now, succeeding after a
    redrive: the streak must then end, although slot order alone (strictly later slots
    only, so the same slot dying twice counts once) would ignore it."""
    return (finish.status is Status.SUCCEEDED and last_order == finish.order
            and last_status == Status.DEAD.value)


@dataclass(frozen=True)
class Skip:
    job: str
    slot: str
    reason: SkipReason
    now: float
    trigger: str
    expires_at: int
    scheduled_time: str | None = None


# --- decisions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Retry:
    """Claim again, expecting this state."""

    expect: Expect
    prior_attempt: int
    prior_token: str | None
    attempt: int
    max_attempts: int
    trigger: str | None = None
    resume_state: Any = None


@dataclass(frozen=True)
class Owned:
    """Our own claim already went through (an SDK retry of a successful write)."""

    attempt: int


@dataclass(frozen=True)
class Duplicate:
    """The slot is finished: acknowledge the message without running."""

    status: Status


@dataclass(frozen=True)
class ReturnLater:
    """Leave the message on the queue, visible again after ``delay_seconds``."""

    delay_seconds: int
    reason: str


@dataclass(frozen=True)
class SkipSlot:
    reason: SkipReason


@dataclass(frozen=True)
class ForwardToDlq:
    """Our own message for a slot already DEAD (we crashed between marking it DEAD and
    sending it): finish sending it to the DLQ, with the error the run recorded."""

    attempt: int
    dead_token: str | None
    error_type: str | None = None
    error_message: str | None = None


Decision = Retry | Owned | Duplicate | ReturnLater | SkipSlot | ForwardToDlq


@dataclass(frozen=True)
class ConflictContext:
    """The claim that failed, as far as deciding needs it (``expect``: the state it
    expected, so a retry of a started run is told apart from a slot's first claim;
    ``check_paused``: whether its condition included "not paused", see
    :attr:`Claim.check_paused`)."""

    token: str
    now: float
    message_id: str | None
    redrive_token: str | None
    max_attempts: int
    overlap: str
    expect: Expect = Expect.ABSENT
    check_paused: bool = True


def remaining(expires_at: float | None, now: float) -> int:
    """Whole seconds (at least 1) until ``expires_at``."""
    return max(1, int((expires_at or now) - now + 0.999))


def decide_conflict(conflict: Conflict, ctx: ConflictContext) -> Decision:
    """What to do when a claim's condition failed, from the records as they were.

    The run record decides first: a finished slot is a duplicate, a live lease returns the
    message until the lease ends (it may be that attempt's own redelivered message, and it
    is that attempt's only retry path if the holder dies), a retryable state is claimed
    again. Only then does the job record (pause, overlap) matter. The job record comes
    back whole, so its paused flag decides only for a claim that checked it (a slot's first
    scheduled claim, :attr:`Claim.check_paused`): for a retry, a redrive or a manual
    trigger the condition that failed was the overlap guard.
    """
    run = conflict.run
    if run is not None:
        if run.status in (Status.SUCCEEDED, Status.SKIPPED):
            return Duplicate(run.status)
        if run.status is Status.RUNNING:
            if run.lease_token == ctx.token:
                return Owned(run.attempt)
            if run.lease_expires_at is not None and run.lease_expires_at > ctx.now:
                return ReturnLater(remaining(run.lease_expires_at, ctx.now), "running")
            return Retry(Expect.EXPIRED, run.attempt, run.lease_token, run.attempt + 1,
                         run.max_attempts, run.trigger, run.checkpoint)
        if run.status is Status.MISSED:
            return Retry(Expect.MISSED, 0, None, 1, ctx.max_attempts)
        if run.status is Status.FAILED:
            return Retry(Expect.FAILED, run.attempt, None, run.attempt + 1, run.max_attempts,
                         run.trigger, run.checkpoint)
        if run.status is Status.DEAD:
            if ctx.redrive_token and ctx.redrive_token == run.dead_token:
                # A redrive gets a fresh budget of attempts on top of those spent.
                return Retry(Expect.DEAD, run.attempt, run.dead_token, run.attempt + 1,
                             run.attempt + ctx.max_attempts, Trigger.REDRIVE.value,
                             run.checkpoint)
            if ctx.message_id and ctx.message_id == run.dead_message_id:
                return ForwardToDlq(run.attempt, run.dead_token, run.error_type,
                                    run.error_message)
            return Duplicate(run.status)
    job = conflict.job
    if job is not None:
        if job.paused and ctx.check_paused:
            return SkipSlot(SkipReason.PAUSED)
        # A slot that already has a run record (a retry, a lost lease, a redrive) cannot be
        # recorded SKIPPED: it waits for the other slot's lease instead, whatever the policy.
        if ctx.overlap == "buffer" or ctx.expect is not Expect.ABSENT:
            return ReturnLater(remaining(job.active_lease_expires_at, ctx.now), "buffered")
        return SkipSlot(SkipReason.OVERLAP)
    # Both conditions held on a re-read: the record moved between write and read; retry.
    return ReturnLater(1, "contended")
