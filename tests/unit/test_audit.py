"""The slot audit's verdicts (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from cronbridge.core.audit import (
    DELIVERY_GRACE_SECONDS,
    RunFacts,
    Verdict,
    audit_slots,
    judge,
    start_grace_seconds,
)
from cronbridge.core.slots import format_slot

START = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)
STATUSES = ["SUCCEEDED", "DEAD", "SKIPPED", "RUNNING", "FAILED", "MISSED"]


def test_each_run_status_has_its_verdict() -> None:
    now = START + timedelta(hours=1)
    cases = {
        RunFacts(format_slot(START), "SUCCEEDED", 2, "schedule"): (Verdict.SUCCEEDED, 2, None),
        RunFacts(format_slot(START), "DEAD", 3, "schedule", error_type="KeyError"):
            (Verdict.DEAD, 3, "KeyError"),
        RunFacts(format_slot(START), "SKIPPED", 0, "schedule", skip_reason="overlap"):
            (Verdict.SKIPPED, 0, "overlap"),
        RunFacts(format_slot(START), "RUNNING", 1, "backfill"): (Verdict.RUNNING, 1, None),
        RunFacts(format_slot(START), "FAILED", 1, "schedule", error_type="Timeout"):
            (Verdict.RETRYING, 1, "Timeout"),
        RunFacts(format_slot(START), "MISSED", 0, "schedule"):
            (Verdict.MISSED, None, "recorded by the auditor"),
    }
    for run, (verdict, attempts, reason) in cases.items():
        got = judge(START, run, now=now, grace_seconds=300)
        assert (got.verdict, got.attempts, got.reason, got.trigger) == (
            verdict, attempts, reason, run.trigger)


def test_no_run_is_pending_inside_the_grace_then_missed() -> None:
    grace = start_grace_seconds(600)
    assert grace == 600 + DELIVERY_GRACE_SECONDS
    inside = judge(START, None, now=START + timedelta(seconds=grace - 1), grace_seconds=grace)
    after = judge(START, None, now=START + timedelta(seconds=grace), grace_seconds=grace)
    assert inside.verdict is Verdict.PENDING and after.verdict is Verdict.MISSED
    paused = judge(START, None, now=START + timedelta(hours=2), grace_seconds=grace,
                   paused_since=START - timedelta(minutes=1))
    assert paused.verdict is Verdict.MISSED and "paused" in (paused.reason or "")


@given(st.lists(st.sampled_from([None, *STATUSES]), min_size=0, max_size=40),
       st.integers(min_value=0, max_value=3 * 3600), st.integers(min_value=0, max_value=3600))
def test_every_due_slot_gets_exactly_one_verdict(statuses: list[str | None], elapsed: int,
                                                 grace: int) -> None:
    due = [START + timedelta(minutes=5 * i) for i in range(len(statuses))]
    runs = {format_slot(t): RunFacts(format_slot(t), s, 1) for t, s in zip(due, statuses, strict=True) if s}
    now = START + timedelta(seconds=elapsed)
    report = audit_slots(due, runs, now=now, grace_seconds=grace)
    assert [v.slot for v in report.slots] == [format_slot(t) for t in due]
    assert sum(report.summary.values()) == len(due)
    assert set(report.summary) == {v.value for v in Verdict}
    for when, status, verdict in zip(due, statuses, report.slots, strict=True):
        if status is None:
            pending = now < when + timedelta(seconds=grace)
            assert verdict.verdict is (Verdict.PENDING if pending else Verdict.MISSED)
        else:
            assert verdict.verdict is not Verdict.PENDING
    assert report.missed() == [v.slot for v in report.slots if v.verdict is Verdict.MISSED]
