"""Slots from events, backoff bounds, message parsing and the table-busy mapping."""

from __future__ import annotations

import json
import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st
from pynamodb.exceptions import UpdateError

from cronbridge.adapters.dynamodb import _busy
from cronbridge.core.errors import BadMessageError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.messages import command_body, parse_body
from cronbridge.core.retry import MAX_DELAY_SECONDS, backoff_seconds
from cronbridge.core.runstate import Trigger

RULE = "arn:aws:events:us-east-1:123456789012:rule/cronbridge-nightly"
REGISTRY = JobRegistry()
NIGHTLY = REGISTRY.add(JobSpec(name="nightly", schedule="cron(0 2 * * ? *)", func=print))
EVERY5 = REGISTRY.add(JobSpec(name="every5", schedule="rate(5 minutes)", func=print))


def parse(body) -> object:
    rules = {"cronbridge-nightly": NIGHTLY, "cronbridge-every5": EVERY5}
    return parse_body(body if isinstance(body, str) else json.dumps(body),
                      job_for_rule=rules.get, get_job=REGISTRY.get)


def event(time: str, rule: str = RULE) -> dict:
    return {"version": "0", "id": "e", "detail-type": "Scheduled Event",
            "source": "aws.events", "time": time, "resources": [rule], "detail": {}}


@pytest.mark.parametrize("stamp", ["2026-11-30T02:00:08Z", "2026-11-30T05:00:00Z",
                                   "2026-11-30T02:00:00+00:00", "2026-11-30T03:00:59+01:00"])
def test_a_stamped_or_late_event_is_the_slot_it_fired_for(stamp):
    delivery = parse(event(stamp))
    assert (delivery.job, delivery.slot, delivery.trigger) == (
        "nightly", "2026-11-30T02:00:00Z", "schedule")


def test_a_rate_slot_snaps_to_the_minute():
    delivery = parse(event("2026-11-30T02:05:41Z",
                           "arn:aws:events:us-east-1:1:rule/cronbridge-every5"))
    assert delivery.slot == "2026-11-30T02:05:00Z"


@pytest.mark.parametrize("body, reason", [
    ("{", "not JSON"), ("[]", "not a JSON object"), ({"a": 1}, "neither"),
    (event("2026-11-30T02:00:00Z", "arn:aws:events:us-east-1:1:rule/other"), "no job"),
    ({**event("x"), "time": None}, "ISO-8601"),
    ({k: v for k, v in event("x").items() if k != "time"}, "no 'time'"),
    (event("2026-11-30T02:00:00"), "no time zone"),
    ({"cronbridge": 1, "job": "nope", "trigger": "manual", "slot": "manual:1"}, "unknown job"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "manual", "slot": "x"}, "manual slot"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "manual", "slot": "manual:"}, "1-128 of"),
    # Issue 11 (2): an id past DynamoDB's key limit failed on every receive and reached the
    # DLQ through maxReceiveCount; a year-1 rate() slot ran as "1-01-01T00:00:00Z".
    ({"cronbridge": 1, "job": "nightly", "trigger": "manual", "slot": "manual:" + "x" * 1100},
     "1-128 of"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "manual", "slot": "manual:a b"}, "1-128 of"),
    (event("0001-01-01T00:00:00Z", "arn:aws:events:us-east-1:1:rule/cronbridge-every5"),
     "outside the years"),
    (event("2200-01-01T00:00:00Z", "arn:aws:events:us-east-1:1:rule/cronbridge-every5"),
     "outside the years"),
    ({"cronbridge": 1, "job": "every5", "trigger": "backfill", "slot": "1969-12-31T23:55:00Z"},
     "outside the years"),
    ("[" * 100_000, "nested too deeply"),
    # Found by the fuzz test: a backfill carrying a manual slot skipped the id check.
    ({"cronbridge": 1, "job": "nightly", "trigger": "backfill", "slot": "manual:a\tb"},
     "must be a scheduled time"),
    ({"cronbridge": True, "job": "nightly", "trigger": "manual", "slot": "manual:1"},
     "neither"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "manual", "slot": "manual:1",
      "payload": 0}, "payload"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "backfill",
      "slot": "2026-11-30T02:05:00Z"}, "not a fire time"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "redrive", "slot": "manual:1"},
     "manual or backfill"),
    # Instants outside datetime's range once converted to UTC (an OverflowError crashed
    # the worker on every receive instead of dead-lettering the message with its reason).
    (event("0001-01-01T00:00:00+01:00"), "ISO-8601"),
    ({"cronbridge": 1, "job": "nightly", "trigger": "backfill",
      "slot": "9999-12-31T23:59:00-01:00"}, "ISO-8601"),
])
def test_a_message_without_a_usable_job_or_slot_is_a_bad_message(body, reason):
    with pytest.raises(BadMessageError, match=reason):
        parse(body)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["time", "resources", "detail-type",
                                                       "source", "cronbridge", "job", "slot",
                                                       "trigger", "payload"]), inner,
                                      max_size=6), max_leaves=12))
def test_any_json_either_parses_or_is_a_bad_message(value):
    try:
        parse(json.dumps(value))
    except BadMessageError:
        pass


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=6)


@given(key=st.sampled_from(["time", "resources", "detail-type", "source"]), value=JSON)
def test_a_scheduled_event_with_any_field_replaced_parses_or_is_a_bad_message(key, value):
    try:
        parse({**event("2026-11-30T02:00:08Z"), key: value})
    except BadMessageError:
        pass


@given(key=st.sampled_from(["job", "trigger", "slot", "payload"]), value=JSON)
def test_a_command_with_any_field_replaced_parses_or_is_a_bad_message(key, value):
    command = {"cronbridge": 1, "job": "nightly", "trigger": "manual", "slot": "manual:1"}
    try:
        parse({**command, key: value})
    except BadMessageError:
        pass


def test_a_rate_backfill_stamped_with_seconds_stands_for_its_minute():
    # The slot snaps to the minute, and the context's scheduled_time must be that slot's
    # time, not the stamp's (the two disagreed by the seconds).
    backfill = parse(command_body("every5", Trigger.BACKFILL, slot="2026-11-30T02:05:41Z"))
    assert backfill.slot == "2026-11-30T02:05:00Z"
    assert backfill.scheduled_time.isoformat() == "2026-11-30T02:05:00+00:00"


def test_commands_keep_their_slot_and_merge_the_payload():
    manual = parse(command_body("nightly", Trigger.MANUAL, slot="manual:abc", payload={"a": 1}))
    assert (manual.slot, manual.trigger, manual.scheduled_time) == ("manual:abc", "manual", None)
    backfill = parse(command_body("nightly", Trigger.BACKFILL, slot="2026-11-29T02:00:00Z"))
    assert (backfill.slot, backfill.trigger) == ("2026-11-29T02:00:00Z", "backfill")


@given(attempt=st.integers(1, 60), base=st.integers(1, 100), cap=st.integers(100, 50000),
       seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(attempt, base, cap, seed):
    delay = backoff_seconds(attempt, base=base, cap=cap, rng=random.Random(seed))
    assert 1 <= delay <= min(cap, base * 2 ** (attempt - 1), MAX_DELAY_SECONDS)


def test_backoff_grows_and_spreads():
    rng = random.Random(1)
    firsts = {backoff_seconds(1, base=10, cap=900, rng=rng) for _ in range(200)}
    fifths = [backoff_seconds(5, base=10, cap=900, rng=rng) for _ in range(200)]
    assert max(firsts) <= 10 and len(firsts) > 5
    assert max(fifths) > 100
    with pytest.raises(ValueError):
        backoff_seconds(0, base=10, cap=900, rng=rng)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "UpdateItem")


@pytest.mark.parametrize("cause, busy", [
    (client_error("ProvisionedThroughputExceededException"), True),
    (client_error("ThrottlingException"), True),
    (client_error("InternalServerError"), True),
    (EndpointConnectionError(endpoint_url="http://x"), True),
    (client_error("ValidationException"), False),
    (client_error("ConditionalCheckFailedException"), False),
])
def test_throttling_and_unanswered_writes_are_busy_and_bugs_are_not(cause, busy):
    assert _busy(UpdateError("failed", cause)) is busy
