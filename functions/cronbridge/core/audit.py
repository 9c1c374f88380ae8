"""The slot audit: one verdict for every slot a schedule says was due. Pure.

Given the due slots of a window, the runs the table has for them and the time now, each
slot gets a verdict:

* ``succeeded`` (with its attempts), ``dead``, ``skipped`` (with its reason), ``running``,
  ``retrying`` (an attempt failed and a retry is due): from its run record;
* ``pending``: no run yet, but the slot is still inside its starting deadline or the
  delivery grace, so one can still come;
* ``missed``: no run, and none can come any more (or the auditor recorded it ``MISSED``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from cronbridge.core.runstate import Status
from cronbridge.core.slots import format_slot

# How long after its scheduled time a slot's first delivery may still arrive and leave a
# run record: EventBridge delivers within seconds to a minute, the queue and a busy
# worker add a little; a starting deadline adds its own length on top.
DELIVERY_GRACE_SECONDS = 300


class Verdict(str, Enum):
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    SKIPPED = "skipped"
    RUNNING = "running"
    RETRYING = "retrying"
    PENDING = "pending"
    MISSED = "missed"


_BY_STATUS = {Status.SUCCEEDED.value: Verdict.SUCCEEDED, Status.DEAD.value: Verdict.DEAD,
              Status.SKIPPED.value: Verdict.SKIPPED, Status.RUNNING.value: Verdict.RUNNING,
              Status.FAILED.value: Verdict.RETRYING, Status.MISSED.value: Verdict.MISSED}


@dataclass(frozen=True)
class RunFacts:
    """What the audit needs of a run record (``attempt``: attempts made so far)."""

    slot: str
    status: str
    attempt: int = 0
    trigger: str | None = None
    skip_reason: str | None = None
    error_type: str | None = None


@dataclass(frozen=True)
class SlotVerdict:
    """One due slot's verdict.

    Attributes:
        slot: the slot id (UTC, minute precision).
        verdict: see :class:`Verdict`.
        attempts: attempts made (``None`` without a run).
        trigger: what ran it (``schedule``, ``backfill`` ...), ``None`` without a run.
        reason: the skip reason, the last error type of a dead or retrying run, or why a
            slot is pending or missed.
    """

    slot: str
    verdict: Verdict
    attempts: int | None = None
    trigger: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AuditReport:
    """Every due slot's verdict, in slot order, and the count per verdict."""

    slots: tuple[SlotVerdict, ...]
    summary: Mapping[str, int] = field(default_factory=dict)

    def missed(self) -> list[str]:
        """The slot ids judged missed."""
        return [s.slot for s in self.slots if s.verdict is Verdict.MISSED]


def start_grace_seconds(starting_deadline_seconds: int | None) -> int:
    """How long after its scheduled time a slot without a run is ``pending``, not missed."""
    return (starting_deadline_seconds or 0) + DELIVERY_GRACE_SECONDS


def judge(slot: datetime, run: RunFacts | None, *, now: datetime,
          grace_seconds: int, paused_since: datetime | None = None) -> SlotVerdict:
    """The verdict of the due slot ``slot`` (aware UTC) given its run (``None``: none).

    ``paused_since``: when the job was paused, if it is paused now; a slot without a run
    after it is missed because the rule was off, and says so.
    """
    slot_id = format_slot(slot)
    if run is not None:
        verdict = _BY_STATUS[run.status]
        reason = (run.skip_reason if verdict is Verdict.SKIPPED
                  else run.error_type if verdict in (Verdict.DEAD, Verdict.RETRYING)
                  else "recorded by the auditor" if verdict is Verdict.MISSED else None)
        return SlotVerdict(slot_id, verdict, None if verdict is Verdict.MISSED else run.attempt,
                           run.trigger, reason)
    if now < slot + timedelta(seconds=grace_seconds):
        return SlotVerdict(slot_id, Verdict.PENDING,
                           reason=f"no run yet; one may start until "
                                  f"{format_slot(slot + timedelta(seconds=grace_seconds))}")
    if paused_since is not None and slot >= paused_since:
        return SlotVerdict(slot_id, Verdict.MISSED, reason="the job is paused (rule disabled)")
    return SlotVerdict(slot_id, Verdict.MISSED, reason="no run was recorded")


def audit_slots(due: Iterable[datetime], runs: Mapping[str, RunFacts], *, now: datetime,
                grace_seconds: int, paused_since: datetime | None = None) -> AuditReport:
    """Judge every slot of ``due`` (aware UTC, in order) against ``runs`` (by slot id)."""
    verdicts = tuple(judge(slot, runs.get(format_slot(slot)), now=now,
                           grace_seconds=grace_seconds, paused_since=paused_since)
                     for slot in due)
    counts = Counter(v.verdict.value for v in verdicts)
    return AuditReport(verdicts, {v.value: counts.get(v.value, 0) for v in Verdict})


def catchup_slots(missed: list[str], policy: str, cap: int) -> list[str]:
    """The missed slots (ids, oldest first) a catch-up policy sends through the pipeline:
    ``none`` none, ``latest`` the newest one, ``all`` the newest ``cap``, oldest first."""
    if policy == "none" or not missed:
        return []
    return missed[-1:] if policy == "latest" else missed[-cap:]
