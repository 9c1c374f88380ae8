"""Every run-state transition of DESIGN.md §3 on moto's DynamoDB and SQS."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from run_harness import START, spec

from cronbridge.core import metrics as m
from cronbridge.core.errors import LeaseLostError, PermanentError, StoreBusyError
from cronbridge.core.messages import command_body
from cronbridge.core.results import RESULT_LIMIT_BYTES
from cronbridge.core.runstate import Claim, Expect, Finish, Status, Trigger
from cronbridge.ops.runs import run_dict
from cronbridge.service import (
    ATTR_DEAD_TOKEN,
    ATTR_ERROR_MESSAGE,
    ATTR_ERROR_TYPE,
    ATTR_SLOT,
    STORE_BUSY_RETRY_SECONDS,
)

SLOT = "2026-11-30T02:00:00Z"
EVERY_MINUTE = "cron(* * * * ? *)"


class Crash(BaseException):
    """The worker dies (nothing in the worker catches a BaseException)."""


def foreign_claim(h, slot: str, token: str = "other", attempt: int = 1,
                  expect: Expect = Expect.ABSENT, prior_token: str | None = None) -> Claim:
    """Claim ``slot`` as another worker would, straight through the store."""
    now = h.clock.now().timestamp()
    claim = Claim(job=h.job.name, slot=slot, expect=expect, attempt=attempt, max_attempts=3,
                  token=token, now=now, lease_expires_at=now + 90, trigger="schedule",
                  expires_at=int(now) + 86400, prior_attempt=attempt - 1,
                  prior_token=prior_token)
    assert h.store.claim(claim) is None
    return claim


def outcomes(item) -> list[tuple[int, str]]:
    return [(int(a.attempt), a.outcome) for a in item.attempts or []]


def test_first_delivery_claims_runs_and_acknowledges(harness):
    h = harness(spec())
    h.send(START + timedelta(seconds=8))
    [result] = h.deliver()
    assert (result.outcome, result.slot, result.attempt) == ("succeeded", SLOT, 1)
    item = h.run_item(SLOT)
    assert (item.status, item.attempt, item.trigger) == ("SUCCEEDED", 1, "schedule")
    assert outcomes(item) == [(1, "SUCCEEDED")]
    job = h.store.get_job(h.job.name)
    assert (job.last_status, job.last_success_slot, job.consecutive_failures) == (
        "SUCCEEDED", SLOT, 0)
    assert job.active_slot is None
    assert h.queue_counts() == {"ApproximateNumberOfMessages": 0,
                                "ApproximateNumberOfMessagesNotVisible": 0}


def test_duplicate_of_a_finished_slot_is_acknowledged_without_running(harness, moto_clock):
    runs = []
    h = harness(spec(func=runs.append))
    h.send(START)
    h.deliver()
    moto_clock.advance(timedelta(hours=3))
    h.send(START + timedelta(seconds=8))  # late and stamped with seconds: the same slot
    [result] = h.deliver()
    assert result.outcome == "duplicate" and len(runs) == 1
    assert h.telemetry.count(m.DUPLICATE_SUPPRESSED) == 1
    assert h.queue_counts()["ApproximateNumberOfMessagesNotVisible"] == 0


def test_duplicate_under_a_live_lease_is_returned_for_the_lease_remaining(harness, moto_clock):
    h = harness(spec())
    foreign_claim(h, SLOT)
    moto_clock.advance(timedelta(seconds=30))
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "running"
    moto_clock.advance(timedelta(seconds=59))
    assert h.receive() == []              # back after the 60 s the lease has left
    moto_clock.advance(timedelta(seconds=2))
    [message] = h.receive()
    assert message["Attributes"]["ApproximateReceiveCount"] == "2"


def test_expired_lease_is_reclaimed_as_the_next_attempt_with_timed_out_recorded(harness,
                                                                                 moto_clock):
    calls = []

    def crash_first(ctx):
        calls.append(ctx.attempt)
        if ctx.attempt == 1:
            raise Crash()

    h = harness(spec(func=crash_first))
    h.send(START)
    with pytest.raises(Crash):
        h.deliver()
    moto_clock.advance(timedelta(seconds=h.plan.jobs[0].visibility_timeout_seconds + 1))
    [result] = h.deliver()
    assert (result.outcome, result.attempt, calls) == ("succeeded", 2, [1, 2])
    assert outcomes(h.run_item(SLOT)) == [(1, "TIMED_OUT"), (2, "SUCCEEDED")]
    assert h.telemetry.count(m.RUN_TIMED_OUT) == 1


def test_a_stale_worker_cannot_overwrite_a_newer_attempt(harness, moto_clock):
    h = harness(spec())
    stale = foreign_claim(h, SLOT, token="stale")
    moto_clock.advance(timedelta(seconds=91))
    foreign_claim(h, SLOT, token="new", attempt=2, expect=Expect.EXPIRED, prior_token="stale")
    now = moto_clock.now().timestamp()
    late = Finish(job=h.job.name, slot=SLOT, attempt=1, token="stale", status=Status.SUCCEEDED,
                  now=now, started_at=stale.now, duration_ms=1)
    assert h.store.finish(late) is False
    assert h.store.checkpoint(h.job.name, SLOT, 1, "stale", {"x": 1}) is False
    item = h.run_item(SLOT)
    assert (item.status, item.attempt, item.lease_token) == ("RUNNING", 2, "new")
    assert h.store.finish(Finish(job=h.job.name, slot=SLOT, attempt=2, token="new",
                                 status=Status.SUCCEEDED, now=now, started_at=now,
                                 duration_ms=1)) is True
    assert outcomes(h.run_item(SLOT)) == [(1, "TIMED_OUT"), (2, "SUCCEEDED")]


class Twice:
    """A store whose chosen write is sent twice, as an SDK retry does when the first answer
    is lost: the second meets the first's result as a failed condition."""

    def __init__(self, store, method: str) -> None:
        self._store, self._method = store, method

    def __getattr__(self, name):
        target = getattr(self._store, name)
        if name != self._method:
            return target
        return lambda *args: (target(*args), target(*args))[1]


def test_an_sdk_retry_of_our_own_claim_runs_the_job_once(harness):
    runs = []
    h = harness(spec(func=lambda ctx: runs.append(ctx.attempt)))
    h.service.store = Twice(h.store, "claim")
    h.send(START)
    [result] = h.deliver()
    assert (result.outcome, runs) == ("succeeded", [1])
    assert outcomes(h.run_item(SLOT)) == [(1, "SUCCEEDED")]


def test_an_sdk_retry_of_our_own_failed_finish_still_schedules_the_retry(harness, moto_clock):
    # Before the fix, the retried write was read as "lease lost" and the message acknowledged:
    # the slot stayed FAILED with no message left to retry it.
    h = harness(spec(func=lambda ctx: 1 / 0))
    h.service.store = Twice(h.store, "finish")
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "failed"
    assert h.queue_counts()["ApproximateNumberOfMessagesNotVisible"] == 1
    assert h.run_item(SLOT).status == "FAILED"


def test_permanent_error_is_dead_and_dead_lettered_with_its_error(harness):
    h = harness(spec(func=lambda ctx: (_ for _ in ()).throw(PermanentError("bad config"))))
    h.send(START)
    [result] = h.deliver()
    assert (result.outcome, result.attempt) == ("dead", 1)
    [letter] = h.dead_letters()
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attrs[ATTR_ERROR_TYPE] == "PermanentError"
    assert attrs[ATTR_ERROR_MESSAGE] == "bad config"
    assert attrs[ATTR_SLOT] == SLOT
    item = h.run_item(SLOT)
    assert item.status == "DEAD" and attrs[ATTR_DEAD_TOKEN] == item.dead_token
    assert h.store.get_job(h.job.name).consecutive_failures == 1
    assert h.queue_counts()["ApproximateNumberOfMessagesNotVisible"] == 0


def test_a_throttled_streak_read_does_not_hold_up_the_dead_letter(harness, monkeypatch):
    h = harness(spec(func=lambda ctx: (_ for _ in ()).throw(PermanentError("bad config"))))

    def busy(job):
        raise StoreBusyError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(h.store, "consecutive_failures", busy)
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "dead" and len(h.dead_letters()) == 1
    assert h.telemetry.count(m.CONSECUTIVE_FAILURES) == 0


def test_crash_between_the_dead_write_and_the_dlq_send_is_completed_by_the_redelivery(
        harness, moto_clock):
    h = harness(spec(func=lambda ctx: (_ for _ in ()).throw(PermanentError("bad config"))))
    actions = h.service.actions
    send = actions.send_to_dlq
    actions.send_to_dlq = lambda *a: (_ for _ in ()).throw(Crash())
    h.send(START)
    with pytest.raises(Crash):
        h.deliver()
    assert h.run_item(SLOT).status == "DEAD" and h.dead_letters() == []
    actions.send_to_dlq = send
    moto_clock.advance(timedelta(seconds=h.plan.jobs[0].visibility_timeout_seconds + 1))
    [result] = h.deliver()
    assert result.outcome == "dead"
    [letter] = h.dead_letters()
    assert letter["MessageAttributes"][ATTR_ERROR_TYPE]["StringValue"] == "PermanentError"
    assert outcomes(h.run_item(SLOT)) == [(1, "DEAD")]


def test_retryable_failure_is_failed_with_backoff_then_the_last_attempt_is_dead(harness,
                                                                              moto_clock):
    h = harness(spec(func=lambda ctx: 1 / 0, max_attempts=2, backoff_base_seconds=10))
    h.send(START)
    [first] = h.deliver()
    assert (first.outcome, h.run_item(SLOT).status) == ("failed", "FAILED")
    assert h.receive() == []
    moto_clock.advance(timedelta(seconds=11))   # full jitter: at most base * 2**0
    [second] = h.deliver()
    assert (second.outcome, second.attempt) == ("dead", 2)
    assert outcomes(h.run_item(SLOT)) == [(1, "FAILED"), (2, "DEAD")]
    assert len(h.dead_letters()) == 1


def redrive(h) -> str:
    """Move the DLQ's message back to the queue as the console does: a new message id."""
    [letter] = h.receive(h.res.dlq_url, visibility=600)
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    h.sqs.delete_message(QueueUrl=h.res.dlq_url, ReceiptHandle=letter["ReceiptHandle"])
    return h.send(letter["Body"], attrs)


def test_redrive_of_a_dead_slot_runs_once_with_fresh_attempts(harness):
    fail = [True]
    runs = []

    def body(ctx):
        runs.append((ctx.attempt, ctx.trigger))
        if fail[0]:
            raise PermanentError("down")

    h = harness(spec(func=body))
    original = h.send(START)
    h.deliver()
    fail[0] = False
    redriven = redrive(h)
    assert redriven != original
    [result] = h.deliver()
    assert (result.outcome, result.attempt) == ("succeeded", 2)
    item = h.run_item(SLOT)
    assert (item.status, item.trigger, item.max_attempts) == ("SUCCEEDED", "redrive", 4)
    assert runs == [(1, "schedule"), (2, "redrive")]


def test_a_second_copy_of_a_redriven_message_does_not_run_again(harness):
    runs = []
    h = harness(spec(func=lambda ctx: runs.append(1) or (_ for _ in ()).throw(
        PermanentError("down")) if len(runs) < 1 else runs.append(2)))
    h.send(START)
    h.deliver()
    [letter] = h.receive(h.res.dlq_url, visibility=600)
    attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    h.send(letter["Body"], attrs)
    h.send(letter["Body"], attrs)
    results = h.deliver()
    assert sorted(r.outcome for r in results) == ["duplicate", "succeeded"]
    assert h.run_item(SLOT).status == "SUCCEEDED"


def test_redriven_message_of_a_succeeded_slot_does_not_rerun(harness):
    runs = []
    h = harness(spec(func=runs.append))
    h.send(START)
    h.deliver()
    h.send(START, {ATTR_DEAD_TOKEN: "some-old-dead-token"})
    [result] = h.deliver()
    assert result.outcome == "duplicate" and len(runs) == 1


def test_late_duplicate_of_a_dead_slot_without_the_token_does_not_run(harness, moto_clock):
    runs = []
    h = harness(spec(func=lambda ctx: runs.append(1) or (_ for _ in ()).throw(
        PermanentError("down"))))
    h.send(START)
    h.deliver()
    moto_clock.advance(timedelta(hours=2))
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "duplicate" and len(runs) == 1
    assert len(h.dead_letters()) == 1


@pytest.mark.parametrize("overlap, outcome", [("skip", "skipped_overlap"), ("allow", "succeeded"),
                                              ("buffer", "buffered")])
def test_overlap_policies(harness, moto_clock, overlap, outcome):
    h = harness(spec(schedule=EVERY_MINUTE, overlap=overlap))
    foreign_claim(h, SLOT)
    moto_clock.advance(timedelta(seconds=60))
    h.send(START + timedelta(minutes=1))
    [result] = h.deliver()
    assert result.outcome == outcome
    second = h.run_item("2026-11-30T02:01:00Z")
    if overlap == "skip":
        assert (second.status, second.skip_reason) == ("SKIPPED", "overlap")
        assert h.telemetry.count(m.SKIPPED_BY_REASON["overlap"]) == 1
    elif overlap == "buffer":
        assert second is None
        moto_clock.advance(timedelta(seconds=29))
        assert h.receive() == []
        moto_clock.advance(timedelta(seconds=2))   # the holder's lease is over: it starts
        [result] = h.deliver()
        assert result.outcome == "succeeded"


@pytest.mark.parametrize("paused", [False, True])
def test_a_retry_blocked_by_another_running_slot_waits_instead_of_looping(harness, moto_clock,
                                                                          paused):
    # Before the fix: the claim's overlap condition failed, the skip found the FAILED run,
    # the claim was retried, 4 rounds, "contended" and back in 1 s, over and over, until
    # maxReceiveCount dead-lettered a slot whose run was still FAILED. Paused, the failed
    # claim hands back the job record's paused flag too, although a retry does not check
    # pause: that flag must not decide "skip: paused" either.
    fail = [True]
    h = harness(spec(schedule=EVERY_MINUTE,
                     func=lambda ctx: (_ for _ in ()).throw(ValueError()) if fail[0] else None))
    h.send(START)
    h.deliver()
    fail[0] = False
    foreign_claim(h, "2026-11-30T02:01:00Z")
    if paused:
        h.store.set_paused(h.job.name, True, now=moto_clock.now().timestamp())
    moto_clock.advance(timedelta(seconds=10))
    [result] = h.deliver()
    assert result.outcome == "buffered"
    assert h.run_item(SLOT).status == "FAILED"
    moto_clock.advance(timedelta(seconds=81))     # the other slot's lease is over
    [result] = h.deliver()
    assert (result.outcome, result.attempt) == ("succeeded", 2)


def test_a_manual_trigger_of_a_paused_job_waits_for_the_running_slot_under_buffer(harness,
                                                                                   moto_clock):
    # A manual trigger runs while the job is paused, so a running slot makes it wait
    # (buffer), not "skip: paused" as the job record's flag said before the fix.
    h = harness(spec(schedule=EVERY_MINUTE, overlap="buffer"))
    foreign_claim(h, SLOT)
    h.store.set_paused(h.job.name, True, now=moto_clock.now().timestamp())
    h.send(command_body(h.job.name, Trigger.MANUAL, slot="manual:rerun"))
    [result] = h.deliver()
    assert result.outcome == "buffered"
    assert h.run_item("manual:rerun") is None
    moto_clock.advance(timedelta(seconds=91))
    [result] = h.deliver()
    assert result.outcome == "succeeded"


@pytest.mark.parametrize("trigger", [Trigger.MANUAL, Trigger.BACKFILL])
def test_an_operator_slot_waits_for_the_running_slot_instead_of_being_skipped(harness,
                                                                             moto_clock,
                                                                             trigger):
    h = harness(spec(schedule=EVERY_MINUTE))             # overlap="skip", the default
    foreign_claim(h, SLOT)
    slot = "manual:rerun" if trigger is Trigger.MANUAL else "2026-11-30T01:00:00Z"
    h.send(command_body(h.job.name, trigger, slot=slot))
    [result] = h.deliver()
    assert result.outcome == "buffered" and h.run_item(slot) is None
    moto_clock.advance(timedelta(seconds=91))
    [result] = h.deliver()
    assert result.outcome == "succeeded"


def test_a_slot_past_its_starting_deadline_is_skipped_late(harness, moto_clock):
    h = harness(spec(starting_deadline_seconds=60))
    moto_clock.advance(timedelta(minutes=5))
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "skipped_late"
    assert h.run_item(SLOT).skip_reason == "late"


def test_a_paused_job_skips_new_slots_but_finishes_started_ones(harness, moto_clock):
    fail = [True]
    h = harness(spec(schedule=EVERY_MINUTE,
                     func=lambda ctx: (_ for _ in ()).throw(ValueError()) if fail[0] else None))
    h.send(START)
    h.deliver()
    h.store.set_paused(h.job.name, True, now=moto_clock.now().timestamp())
    fail[0] = False
    moto_clock.advance(timedelta(seconds=60))
    h.send(START + timedelta(minutes=1))
    results = sorted(r.outcome for r in h.deliver())
    assert results == ["skipped_paused", "succeeded"]
    assert h.run_item("2026-11-30T02:01:00Z").skip_reason == "paused"


def test_consecutive_failures_follow_slot_order(harness, moto_clock):
    fails = {"2026-11-30T02:00:00Z", "2026-11-30T02:01:00Z", "2026-11-30T01:59:00Z"}
    h = harness(spec(schedule=EVERY_MINUTE,
                     func=lambda ctx: (_ for _ in ()).throw(PermanentError())
                     if ctx.slot in fails else None))
    for minute in (0, 1):
        h.send(START + timedelta(minutes=minute))
        h.deliver()
    assert h.store.get_job(h.job.name).consecutive_failures == 2
    fails.discard("2026-11-30T01:59:00Z")
    h.send(START - timedelta(minutes=1))      # a late success of an older slot
    h.deliver()
    job = h.store.get_job(h.job.name)
    assert (job.consecutive_failures, job.last_slot) == (2, "2026-11-30T02:01:00Z")
    for letter in h.dead_letters()[:1]:       # the same slot dead again: counted once
        attrs = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
        h.send(letter["Body"], attrs)
    h.deliver()
    assert h.store.get_job(h.job.name).consecutive_failures == 2
    h.send(START + timedelta(minutes=2))
    h.deliver()
    assert h.store.get_job(h.job.name).consecutive_failures == 0
    # The ConsecutiveFailures metric (which the alarm watches) follows the stored streak:
    # 1, 2 for the dead slots, 0 for the late success, 2 for the re-dead slot, 0 at the end.
    streak = [v for _, name, v in h.telemetry.metrics if name == m.CONSECUTIVE_FAILURES]
    assert streak == [1, 2, 0, 2, 0]


def test_a_dead_slot_redriven_to_success_ends_the_streak(harness, moto_clock):
    # Issue 11 (5): the ordering condition rejected the same slot, so the streak stayed 1
    # and the next DEAD slot counted 2, firing the alarm a slot early.
    fails = {"2026-11-30T02:00:00Z"}
    h = harness(spec(schedule=EVERY_MINUTE,
                     func=lambda ctx: (_ for _ in ()).throw(PermanentError())
                     if ctx.slot in fails else None))
    h.send(START)
    h.deliver()
    assert h.store.get_job(h.job.name).consecutive_failures == 1
    fails.clear()
    [letter] = h.dead_letters()
    h.send(letter["Body"], {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()})
    assert [r.outcome for r in h.deliver()] == ["succeeded"]
    job = h.store.get_job(h.job.name)
    assert (job.last_status, job.consecutive_failures) == ("SUCCEEDED", 0)
    fails.add("2026-11-30T02:01:00Z")
    moto_clock.advance(timedelta(minutes=1))
    h.send(START + timedelta(minutes=1))
    h.deliver()
    assert h.store.get_job(h.job.name).consecutive_failures == 1


def test_ttl_is_epoch_seconds_and_reads_filter_expired_items(harness, moto_clock):
    h = harness(spec(retention_days=16))
    h.send(START)
    h.deliver()
    item = h.run_item(SLOT)
    assert item.expires_at == int(START.timestamp()) + 16 * 86400
    later = START.timestamp() + 16 * 86400
    assert h.store.get_run(h.job.name, SLOT, now=later) is None
    assert list(h.store.runs(h.job.name, now=later)) == []
    assert len(list(h.store.runs(h.job.name, now=later - 1))) == 1


def test_checkpoint_is_fenced_and_resumed_on_the_retry(harness, moto_clock):
    seen = []

    def body(ctx):
        seen.append(ctx.resume_state)
        ctx.checkpoint({"done": ctx.attempt * 10})
        if ctx.attempt == 1:
            raise ValueError("transient")

    h = harness(spec(func=body, backoff_base_seconds=1))
    h.send(START)
    h.deliver()
    moto_clock.advance(timedelta(seconds=2))
    [result] = h.deliver()
    assert result.outcome == "succeeded"
    assert seen == [None, {"done": 10}]
    assert h.run_item(SLOT).checkpoint == {"done": 20}


def test_checkpoint_after_a_takeover_raises_lease_lost(harness, moto_clock):
    raised = []

    def body(ctx):
        moto_clock.advance(timedelta(seconds=100))       # past the 90 s lease
        foreign_claim(h, SLOT, token="new", attempt=2, expect=Expect.EXPIRED,
                      prior_token=h.run_item(SLOT).lease_token)
        try:
            ctx.checkpoint({"n": 1})
        except LeaseLostError as exc:
            raised.append(exc)
            raise

    h = harness(spec(func=body))
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "lease_lost" and len(raised) == 1
    assert h.run_item(SLOT).lease_token == "new"


def test_the_context_carries_the_run(harness, moto_clock):
    seen = {}

    def body(ctx):
        seen.update(job=ctx.job, slot=ctx.slot, attempt=ctx.attempt, trigger=ctx.trigger,
                    payload=dict(ctx.payload), scheduled=ctx.scheduled_time,
                    remaining=ctx.remaining_time_seconds(), logger=ctx.logger)

    h = harness(spec(func=body, payload={"days": 7}))
    h.send(START + timedelta(seconds=8))
    h.deliver()
    assert seen["job"] == "nightly" and seen["slot"] == SLOT and seen["attempt"] == 1
    assert seen["trigger"] == "schedule" and seen["payload"] == {"days": 7}
    assert seen["scheduled"] == START and seen["remaining"] == 0.0
    assert seen["logger"] is h.telemetry.logger


def test_a_throttled_table_returns_the_message_to_try_again(harness, moto_clock):
    h = harness(spec())
    h.service.store = type("Busy", (), {"claim": lambda self, c: (_ for _ in ()).throw(
        StoreBusyError("throttled"))})()
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "store_busy"
    moto_clock.advance(timedelta(seconds=STORE_BUSY_RETRY_SECONDS + 1))
    assert len(h.receive()) == 1


@pytest.mark.parametrize("body", ["not json", json.dumps([1]), json.dumps({"cronbridge": 1}),
                                  json.dumps({"detail-type": "Scheduled Event",
                                              "source": "aws.events", "resources": []})])
def test_a_message_without_a_usable_job_or_slot_is_dead_lettered_with_the_reason(harness,
                                                                                 body):
    h = harness(spec())
    h.send(body)
    [result] = h.deliver()
    assert result.outcome == "bad_message"
    [letter] = h.dead_letters()
    assert letter["Body"] == body
    assert letter["MessageAttributes"][ATTR_ERROR_TYPE]["StringValue"] == "BadMessageError"
    assert letter["MessageAttributes"][ATTR_ERROR_MESSAGE]["StringValue"]


@pytest.mark.parametrize(("returned", "kept", "omitted"), [
    ({"rows": 3, "tables": ("a", "b")}, {"rows": 3, "tables": ["a", "b"]}, None),
    ({"at": START}, None,
     "not JSON: dict value (Object of type datetime is not JSON serializable)"),
    ("x" * (RESULT_LIMIT_BYTES + 1), None,
     f"too big: {RESULT_LIMIT_BYTES + 3} bytes of JSON, over the {RESULT_LIMIT_BYTES}-byte limit"),
])
def test_the_run_record_keeps_a_json_result_or_says_why_not(harness, returned, kept, omitted):
    h = harness(spec(func=lambda ctx: returned))
    h.send(START)
    [result] = h.deliver()
    assert result.outcome == "succeeded"  # a result it cannot keep does not fail the run
    row = run_dict(h.run_item(SLOT))
    assert (row["status"], row["result"], row["result_omitted"]) == ("SUCCEEDED", kept, omitted)


def test_a_local_invocation_past_its_timeout_is_a_timed_out_attempt_then_retried(harness,
                                                                                moto_clock):
    # Issue 11 (7): local mode recorded a job with timeout=3 that ran 8 s SUCCEEDED, where
    # Lambda kills it every time.
    from cronbridge.adapters.sqs import plain_attributes
    from cronbridge.local.esm import EventSourceMapping
    from cronbridge.service import Ack, Message

    def slow(ctx):
        if ctx.attempt == 1:
            moto_clock.advance(timedelta(seconds=8))
        return "done"

    h = harness(spec(func=slow, timeout_seconds=3))

    def handler(event, context):
        results = [(record["messageId"], h.service.handle(
            Message(record["messageId"], record["body"], record["receiptHandle"],
                    plain_attributes(record["messageAttributes"])),
            remaining_ms=context.get_remaining_time_in_millis))
            for record in event["Records"]]
        return {"batchItemFailures": [{"itemIdentifier": message_id}
                                      for message_id, result in results
                                      if result.ack is Ack.RETURN]}

    mapping = EventSourceMapping(h.sqs, h.res, handler, moto_clock)
    h.send(START)
    mapping.poll()
    assert (mapping.crashes, h.run_item(SLOT).status) == (1, "RUNNING")   # killed, unwritten
    moto_clock.advance(timedelta(seconds=h.plan.jobs[0].visibility_timeout_seconds + 1))
    mapping.poll()
    item = h.run_item(SLOT)
    assert (item.status, outcomes(item)) == ("SUCCEEDED", [(1, "TIMED_OUT"), (2, "SUCCEEDED")])


def test_a_bad_body_as_large_as_the_queue_takes_is_dead_lettered_with_its_reason(harness):
    # Found for issue 11: with the DLQ no larger than its queue, a body at the size limit
    # plus the error attributes could not be sent to the DLQ; it failed on every receive and
    # reached the DLQ through maxReceiveCount with no reason.
    h = harness(spec())
    body = '{"x": "' + "y" * (h.plan.jobs[0].queue_max_message_bytes - 9) + '"}'
    assert len(body) == h.plan.jobs[0].queue_max_message_bytes
    h.send(body)
    [result] = h.deliver()
    assert result.outcome == "bad_message"
    [letter] = h.dead_letters()
    assert letter["MessageAttributes"][ATTR_ERROR_TYPE]["StringValue"] == "BadMessageError"
    assert len(letter["Body"]) == len(body)
