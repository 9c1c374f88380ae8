"""Dynamic per-key schedules on the embedded AWS: the cronbridge.schedules API against moto's
EventBridge Scheduler, fired by local mode's Scheduler, run per (job, key, slot)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import boto3
import pytest
from cronbridge.core.runstate import Claim, Expect
from cronbridge.local.scheduler import LocalScheduler
from cronbridge.schedules import (
    MAX_PAYLOAD_BYTES,
    ScheduleError,
    ScheduleNotFoundError,
    Schedules,
)
from run_harness import START, spec

TICK = timedelta(microseconds=1)


def _digest(harness, **settings):
    ran: list[tuple[str, str | None, dict]] = []
    h = harness(spec("digest", lambda ctx: ran.append((ctx.slot, ctx.key, dict(ctx.payload))),
                     schedule="cron(0 8 * * ? *)", dynamic=True, **settings))
    return h, ran, Schedules("digest", app="t")


def _fire(h, scheduler: LocalScheduler, since: datetime, until: datetime) -> list[str]:
    firings = scheduler.due(since, until)
    for firing in firings:
        h.sqs.send_message(QueueUrl=firing.queue_url, MessageBody=firing.body)
    h.deliver()
    return [f.slot for f in firings]


def test_a_key_schedule_is_created_fired_paused_and_deleted(harness, moto_clock) -> None:
    h, ran, schedules = _digest(harness)
    created = schedules.create("cust-1", "cron(* * * * ? *)", timezone="Europe/Berlin",
                               payload={"to": "a@example.com"})
    assert schedules.get("cust-1") == created
    aws = boto3.client("scheduler").get_schedule(GroupName="t-digest", Name="cust-1")
    assert aws["Target"]["Arn"].endswith(":t-digest")
    assert aws["Target"]["DeadLetterConfig"]["Arn"].endswith(":t-digest-dlq")
    assert aws["Target"]["RoleArn"].endswith(":role/t-digest-scheduler")
    assert json.loads(aws["Target"]["Input"]) == {
        "cronbridge-scheduler": 1, "job": "digest", "key": "cust-1",
        "time": "<aws.scheduler.scheduled-time>", "payload": {"to": "a@example.com"}}

    scheduler = LocalScheduler(h.plan, boto3.client("scheduler"), h.sqs, anchor=START)
    fired = _fire(h, scheduler, START - TICK, START + timedelta(minutes=1))
    assert fired == ["2026-11-30T02:00:00Z#cust-1", "2026-11-30T02:01:00Z#cust-1"]
    assert ran == [(slot, "cust-1", {"to": "a@example.com"}) for slot in fired]
    assert h.run_item("2026-11-30T02:01:00Z#cust-1").status == "SUCCEEDED"

    schedules.pause("cust-1")
    assert not schedules.get("cust-1").enabled
    assert _fire(h, scheduler, START, START + timedelta(minutes=3)) == []
    schedules.resume("cust-1")
    assert _fire(h, scheduler, START, START + timedelta(minutes=4)) == [
        "2026-11-30T02:04:00Z#cust-1"]  # no catch-up of the paused minutes

    schedules.delete("cust-1")
    with pytest.raises(ScheduleNotFoundError):
        schedules.get("cust-1")
    assert list(schedules.list()) == []
    # The key's runs stay.
    runs = [r.slot for r in h.store.runs("digest", now=START.timestamp())]
    assert runs == ["2026-11-30T02:04:00Z#cust-1", "2026-11-30T02:01:00Z#cust-1",
                    "2026-11-30T02:00:00Z#cust-1"]


def test_a_one_time_schedule_deletes_itself_after_it_fires(harness, moto_clock) -> None:
    h, ran, schedules = _digest(harness)
    schedules.create("once", "at(2026-11-30T03:05:00)", timezone="Europe/Berlin",
                     payload={"to": "b@example.com"})
    scheduler = LocalScheduler(h.plan, boto3.client("scheduler"), h.sqs, anchor=START)
    assert _fire(h, scheduler, START - TICK, START + timedelta(hours=1)) == [
        "2026-11-30T02:05:00Z#once"]
    assert [key for _, key, _ in ran] == ["once"]
    assert list(schedules.list()) == []


@pytest.mark.parametrize("key, expression, settings, error", [
    ("no spaces", "cron(0 8 * * ? *)", {}, "key 'no spaces' must be 1-64 letters"),
    ("k" * 65, "cron(0 8 * * ? *)", {}, "must be 1-64 letters"),
    ("cust-1", "cron(0 8 * * *)", {}, "key 'cust-1': expression"),
    ("cust-1", "cron(0 8 * * ? *)", {"timezone": "Mars/Base"}, "timezone 'Mars/Base'"),
    ("cust-1", "cron(0 8 * * ? *)", {"payload": {"blob": "x" * MAX_PAYLOAD_BYTES}},
     f"over the {MAX_PAYLOAD_BYTES}-byte limit"),
    ("cust-1", "cron(0 8 * * ? *)", {"payload": {"when": datetime(2026, 1, 1)}},
     "payload is not JSON"),
])
def test_invalid_input_is_rejected_before_anything_is_created(harness, moto_clock, key,
                                                              expression, settings,
                                                              error) -> None:
    _, _, schedules = _digest(harness)
    with pytest.raises(ScheduleError, match=error.replace("(", r"\(").replace(")", r"\)")):
        schedules.create(key, expression, **settings)
    assert list(schedules.list()) == []


def test_two_keys_never_block_each_other_under_overlap_skip(harness, moto_clock) -> None:
    h, _, schedules = _digest(harness, overlap="skip")
    for key in ("cust-a", "cust-b"):
        schedules.create(key, "cron(* * * * ? *)")
    # cust-a's 02:00 slot is running (another worker holds its lease).
    now = moto_clock.now().timestamp()
    assert h.store.claim(Claim(
        job="digest", slot="2026-11-30T02:00:00Z#cust-a", expect=Expect.ABSENT, attempt=1,
        max_attempts=3, token="other", now=now, lease_expires_at=now + 600,
        trigger="schedule", expires_at=int(now) + 86400)) is None
    scheduler = LocalScheduler(h.plan, boto3.client("scheduler"), h.sqs, anchor=START)
    firings = scheduler.due(START - TICK, START + timedelta(minutes=1))
    for firing in firings:
        h.sqs.send_message(QueueUrl=firing.queue_url, MessageBody=firing.body)
    outcomes = {result.slot: result.outcome for result in h.deliver()}
    assert outcomes == {
        "2026-11-30T02:00:00Z#cust-a": "running",          # the duplicate waits its lease
        "2026-11-30T02:01:00Z#cust-a": "skipped_overlap",  # overlap is per key...
        "2026-11-30T02:00:00Z#cust-b": "succeeded",        # ...so cust-b runs regardless
        "2026-11-30T02:01:00Z#cust-b": "succeeded"}
