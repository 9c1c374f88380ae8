"""The input EventBridge Scheduler sends, parsed into deliveries: the slot is the nominal
time (snapped for a job-level schedule, keyed for a dynamic one), never the delivery time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cronbridge.core.errors import BadMessageError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.messages import SCHEDULED_TIME, parse_body, scheduler_input
from cronbridge.core.slots import keyed_slot, slot_key, slot_time

JOBS = JobRegistry()
JOBS.add(JobSpec(name="berlin", schedule="cron(30 2 * * ? *)", timezone="Europe/Berlin",
                 func=lambda ctx: None, payload={"a": 1}, flexible_window_minutes=15))
JOBS.add(JobSpec(name="digest", schedule="cron(0 8 * * ? *)", dynamic=True,
                 func=lambda ctx: None, payload={"a": 1}))


def _parse(body: str):
    return parse_body(body, job_for_rule=lambda rule: None, get_job=JOBS.get)


def _fired(template: str, time: str) -> str:
    return template.replace(SCHEDULED_TIME, time)


def test_a_job_level_slot_is_the_nominal_time_in_utc() -> None:
    delivery = _parse(_fired(scheduler_input("berlin"), "2027-03-29T00:30:00Z"))
    assert (delivery.job, delivery.slot, delivery.key) == ("berlin", "2027-03-29T00:30:00Z", None)
    assert delivery.scheduled_time == datetime(2027, 3, 29, 0, 30, tzinfo=UTC)
    assert dict(delivery.payload) == {"a": 1}


def test_a_keyed_slot_carries_the_key_and_the_keys_payload() -> None:
    body = _fired(scheduler_input("digest", "cust-42", {"b": 2}), "2026-11-30T08:00:00Z")
    delivery = _parse(body)
    assert delivery.slot == "2026-11-30T08:00:00Z#cust-42" == keyed_slot(
        "2026-11-30T08:00:00Z", "cust-42")
    assert (delivery.key, dict(delivery.payload)) == ("cust-42", {"a": 1, "b": 2})
    assert slot_key(delivery.slot) == "cust-42"
    assert slot_time(delivery.slot) == delivery.scheduled_time


@pytest.mark.parametrize("body, error", [
    ({"job": "berlin", "time": "2027-03-29T00:31:00Z", "key": "k"}, "has no keyed schedules"),
    ({"job": "digest", "time": "2026-11-30T08:00:00Z"}, "runs only on keyed schedules"),
    ({"job": "digest", "time": "2026-11-30T08:00:00Z", "key": "a#b"}, "must be 1-64"),
    ({"job": "digest", "key": "k"}, "has no 'time'"),
    ({"job": "nope", "time": "2026-11-30T08:00:00Z"}, "unknown job 'nope'"),
    ({"job": "digest", "time": "2026-11-30T08:00:00Z", "key": "k", "payload": [1]},
     "'payload' must be a JSON object"),
])
def test_bad_scheduler_inputs_are_bad_messages(body, error) -> None:
    with pytest.raises(BadMessageError, match=error):
        _parse(json.dumps({"cronbridge-scheduler": 1, **body}))


def test_a_time_off_the_schedule_snaps_to_its_latest_fire_time() -> None:
    # 02:30 Berlin did not exist on 2027-03-28; the latest real fire time is Mar 27 01:30Z.
    body = json.dumps({"cronbridge-scheduler": 1, "job": "berlin",
                       "time": "2027-03-28T00:30:00Z"})
    assert _parse(body).slot == "2027-03-27T01:30:00Z"
