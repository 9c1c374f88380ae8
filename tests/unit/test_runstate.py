"""decide_conflict: what a failed claim means, from the records as they were."""

from __future__ import annotations

import pytest

from cronbridge.core.runstate import (Conflict, ConflictContext, Duplicate, Expect, Finish,
                                      ForwardToDlq, JobSnapshot, Owned, Retry, ReturnLater,
                                      RunSnapshot, SkipReason, SkipSlot, Status, decide_conflict,
                                      remaining)

NOW = 1_000_000.0


def ctx(**kw) -> ConflictContext:
    return ConflictContext(**{"token": "mine", "now": NOW, "message_id": "m1",
                              "redrive_token": None, "max_attempts": 3, "overlap": "skip", **kw})


def run(status: Status, **kw) -> Conflict:
    return Conflict(run=RunSnapshot(status=status, **{"attempt": 2, "max_attempts": 3, **kw}),
                    job=None)


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.SKIPPED])
def test_a_finished_slot_is_a_duplicate(status):
    assert decide_conflict(run(status), ctx()) == Duplicate(status)


def test_a_live_lease_returns_the_message_for_the_lease_remaining():
    found = run(Status.RUNNING, lease_token="other", lease_expires_at=NOW + 42.2)
    assert decide_conflict(found, ctx()) == ReturnLater(43, "running")


def test_our_own_lease_token_means_our_claim_went_through():
    found = run(Status.RUNNING, lease_token="mine", lease_expires_at=NOW + 90)
    assert decide_conflict(found, ctx()) == Owned(2)


def test_an_expired_lease_is_taken_over_as_the_next_attempt_with_its_checkpoint():
    found = run(Status.RUNNING, lease_token="old", lease_expires_at=NOW - 1,
                checkpoint={"page": 4}, trigger="backfill")
    assert decide_conflict(found, ctx()) == Retry(Expect.EXPIRED, 2, "old", 3, 3, "backfill",
                                                  {"page": 4})


def test_a_failed_run_is_retried_as_the_next_attempt():
    assert decide_conflict(run(Status.FAILED), ctx()) == Retry(Expect.FAILED, 2, None, 3, 3,
                                                               None, None)


def test_a_slot_the_auditor_recorded_missed_is_claimed_as_a_first_attempt():
    missed = run(Status.MISSED, attempt=0, max_attempts=0)
    assert decide_conflict(missed, ctx()) == Retry(Expect.MISSED, 0, None, 1, 3)


def test_a_dead_slot_runs_again_only_with_its_dead_token_and_fresh_attempts():
    dead = run(Status.DEAD, attempt=3, dead_token="t1", dead_message_id="m0")
    assert decide_conflict(dead, ctx(redrive_token="t1")) == Retry(
        Expect.DEAD, 3, "t1", 4, 6, "redrive", None)
    assert decide_conflict(dead, ctx(redrive_token="stale")) == Duplicate(Status.DEAD)
    assert decide_conflict(dead, ctx()) == Duplicate(Status.DEAD)


def test_our_own_message_for_a_dead_slot_finishes_the_interrupted_dlq_send():
    dead = run(Status.DEAD, attempt=3, dead_token="t1", dead_message_id="m1",
               error_type="ValueError", error_message="boom")
    assert decide_conflict(dead, ctx()) == ForwardToDlq(3, "t1", "ValueError", "boom")


def test_paused_and_overlap_decide_only_when_the_run_record_did_not():
    busy = JobSnapshot(active_slot="s0", active_lease_expires_at=NOW + 10)
    assert decide_conflict(Conflict(None, JobSnapshot(paused=True)), ctx()) == SkipSlot(
        SkipReason.PAUSED)
    assert decide_conflict(Conflict(None, busy), ctx()) == SkipSlot(SkipReason.OVERLAP)
    assert decide_conflict(Conflict(None, busy), ctx(overlap="buffer")) == ReturnLater(
        10, "buffered")


def test_the_paused_flag_decides_only_for_a_claim_that_checked_it():
    # ALL_OLD hands back the whole job record: when only the overlap guard was checked
    # (a retry, a redrive, a manual trigger), the paused flag in it is not the reason.
    busy_paused = JobSnapshot(paused=True, active_slot="s0", active_lease_expires_at=NOW + 10)
    unchecked = ctx(check_paused=False)
    assert decide_conflict(Conflict(None, busy_paused), unchecked) == SkipSlot(
        SkipReason.OVERLAP)
    assert decide_conflict(Conflict(None, busy_paused), ctx(check_paused=False,
                                                            overlap="buffer")) == ReturnLater(
        10, "buffered")
    assert decide_conflict(Conflict(None, busy_paused), ctx(check_paused=False,
                                                            expect=Expect.FAILED)) == ReturnLater(
        10, "buffered")


@pytest.mark.parametrize("expect", [Expect.FAILED, Expect.EXPIRED, Expect.DEAD])
def test_a_started_slot_blocked_by_overlap_waits_and_is_never_skipped(expect):
    busy = JobSnapshot(active_slot="s0", active_lease_expires_at=NOW + 10)
    assert decide_conflict(Conflict(None, busy), ctx(expect=expect)) == ReturnLater(
        10, "buffered")


def test_both_conditions_holding_on_the_old_image_means_contention():
    assert decide_conflict(Conflict(None, None), ctx()) == ReturnLater(1, "contended")


def test_remaining_is_whole_seconds_and_at_least_one():
    assert remaining(NOW + 0.1, NOW) == 1
    assert remaining(NOW - 50, NOW) == 1
    assert remaining(None, NOW) == 1
    assert remaining(NOW + 60, NOW) == 60


def test_manual_slots_order_by_their_finish_time():
    finish = dict(job="j", attempt=1, token="t", status=Status.SUCCEEDED, now=NOW,
                  started_at=NOW, duration_ms=1)
    assert Finish(slot="2026-11-30T02:00:00Z", **finish).order == "2026-11-30T02:00:00Z"
    assert Finish(slot="manual:abc", **finish).order == "1970-01-12T13:46:40Z"
