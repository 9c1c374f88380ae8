"""Queue message bodies: what a delivery asks to run.

Two shapes arrive on a job's queue:

* the EventBridge scheduled event, unchanged (the rule's target has no input transformer)::

    {"version": "0", "id": "...", "detail-type": "Scheduled Event", "source": "aws.events",
     "account": "123456789012", "time": "2026-11-30T02:00:00Z", "region": "us-east-1",
     "resources": ["arn:aws:events:us-east-1:123456789012:rule/cronbridge-log-purge"],
     "detail": {}}

  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
  The job is the one whose rule name is in ``resources``; the slot is ``time`` snapped to the
  schedule.
* the input an EventBridge Scheduler schedule sends (:func:`scheduler_input`; Scheduler puts
  the schedule's nominal time in place of ``<aws.scheduler.scheduled-time>``, so a flexible
  window's delay never moves the slot)::

    {"cronbridge-scheduler": 1, "job": "digest", "key": "cust-42",
     "time": "2026-11-30T08:00:00Z", "payload": {...}}

  ``key`` and ``payload`` only for a dynamic schedule. A job-level slot is ``time`` snapped
  to the job's schedule; a keyed one is ``time`` (to the minute) and the key.
* a cronbridge command (manual trigger, backfill)::

    {"cronbridge": 1, "job": "log-purge", "trigger": "manual", "slot": "manual:abc",
     "payload": {...}}
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cronbridge.core.errors import BadMessageError
from cronbridge.core.jobs import JobSpec
from cronbridge.core.runstate import Trigger
from cronbridge.core.slots import (check_key, check_manual_slot, check_slot_time, format_slot,
                                   keyed_slot,
                                   manual_slot, parse_time, slot_key, slot_time,
                                   snap_to_schedule)

COMMAND_VERSION = 1
SCHEDULER_MARKER = "cronbridge-scheduler"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


@dataclass(frozen=True)
class Delivery:
    """One message's request: run ``job`` for ``slot``.

    Attributes:
        scheduled_time: the slot's fire time (aware UTC), ``None`` for manual slots.
        trigger: ``schedule``, ``manual`` or ``backfill`` (``redrive`` is decided by the run
            record, not the message).
    """

    job: str
    slot: str
    scheduled_time: datetime | None
    trigger: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None


def parse_body(body: str, *, job_for_rule: Callable[[str], JobSpec | None],
               get_job: Callable[[str], JobSpec]) -> Delivery:
    """Parse one SQS message body.

    Args:
        job_for_rule: the job whose EventBridge rule has this name, or ``None``.
        get_job: the job of this name (raises ``UnknownJobError``).

    Raises:
        BadMessageError: not JSON, an unknown shape, no job, or no usable slot.
    """
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadMessageError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise BadMessageError("body is JSON nested too deeply to read") from None
    if not isinstance(message, dict):
        raise BadMessageError("body is not a JSON object")
    version = message.get("cronbridge")
    # bool is an int in Python: `true` must not pass for version 1.
    if type(version) is int and version == COMMAND_VERSION:
        return _parse_command(message, get_job)
    if message.get("detail-type") == "Scheduled Event" and message.get("source") == "aws.events":
        return _parse_scheduled_event(message, job_for_rule)
    marker = message.get(SCHEDULER_MARKER)
    if type(marker) is int and marker == COMMAND_VERSION:
        return _parse_scheduler_input(message, get_job)
    raise BadMessageError("body is neither an EventBridge scheduled event nor a cronbridge command")


def _parse_scheduled_event(event: dict[str, Any],
                           job_for_rule: Callable[[str], JobSpec | None]) -> Delivery:
    resources = event.get("resources") or []
    if not isinstance(resources, list):
        raise BadMessageError(f"scheduled event 'resources' is not a list: {resources!r}")
    rules = [arn.rsplit("/", 1)[-1] for arn in resources if isinstance(arn, str) and ":rule/" in arn]
    spec = next((found for found in map(job_for_rule, rules) if found is not None), None)
    if spec is None:
        raise BadMessageError(f"no job has the rule named in resources {resources!r}")
    if "time" not in event:
        raise BadMessageError("scheduled event has no 'time'")
    fired = snap_to_schedule(spec.parsed_schedule, parse_time(event["time"]))
    return Delivery(spec.name, format_slot(fired), fired, Trigger.SCHEDULE.value, spec.payload)


def _parse_scheduler_input(message: dict[str, Any],
                           get_job: Callable[[str], JobSpec]) -> Delivery:
    spec = _named_job(message, get_job, "Scheduler input")
    if "time" not in message:
        raise BadMessageError("Scheduler input has no 'time'")
    time = check_slot_time(parse_time(message["time"]))
    payload = _payload(message, "Scheduler input")
    key = message.get("key")
    if key is None:
        if spec.dynamic:
            raise BadMessageError(f"job {spec.name!r} runs only on keyed schedules; the "
                                  "Scheduler input has no 'key'")
        fired = snap_to_schedule(spec.parsed_schedule, time)
        return Delivery(spec.name, format_slot(fired), fired, Trigger.SCHEDULE.value,
                        {**spec.payload, **payload})
    return _keyed_delivery(spec, key, time, Trigger.SCHEDULE.value, payload)


def _keyed_delivery(spec: JobSpec, key: object, time: datetime, trigger: str,
                    payload: dict[str, Any]) -> Delivery:
    """A run of ``key``'s schedule: its expression is known only to Scheduler, which sends
    the exact fire time (and the CLI computes a backfill's from it), so the slot is that time
    to the minute, not snapped to the job's schedule."""
    try:
        check_key(key)
    except ValueError as exc:
        raise BadMessageError(str(exc)) from None
    if not spec.dynamic:
        raise BadMessageError(f"job {spec.name!r} has no keyed schedules (dynamic=False)")
    fired = time.replace(second=0, microsecond=0)
    return Delivery(spec.name, keyed_slot(format_slot(fired), str(key)), fired, trigger,
                    {**spec.payload, **payload}, str(key))


def _named_job(message: dict[str, Any], get_job: Callable[[str], JobSpec],
               shape: str) -> JobSpec:
    name = message.get("job")
    if not isinstance(name, str):
        raise BadMessageError(f"{shape} has no 'job'")
    try:
        return get_job(name)
    except LookupError as exc:
        raise BadMessageError(str(exc)) from None


def _payload(message: dict[str, Any], shape: str) -> dict[str, Any]:
    payload = message.get("payload", {})
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise BadMessageError(f"{shape} 'payload' must be a JSON object")
    return payload


def _parse_command(message: dict[str, Any], get_job: Callable[[str], JobSpec]) -> Delivery:
    spec = _named_job(message, get_job, "command")
    trigger = message.get("trigger")
    if trigger not in (Trigger.MANUAL.value, Trigger.BACKFILL.value):
        raise BadMessageError(f"command trigger must be manual or backfill, got {trigger!r}")
    payload = _payload(message, "command")
    slot = message.get("slot")
    if not isinstance(slot, str) or not slot:
        raise BadMessageError("command has no 'slot'")
    if trigger == Trigger.MANUAL.value:
        check_manual_slot(slot)
    scheduled = slot_time(slot)
    if trigger == Trigger.BACKFILL.value and scheduled is None:
        raise BadMessageError(f"a backfill slot must be a scheduled time, got {slot[:80]!r}")
    key = slot_key(slot) if scheduled is not None else None
    if key is not None and scheduled is not None:
        return _keyed_delivery(spec, key, scheduled, trigger, payload)
    if scheduled is not None:
        # A backfilled slot must be one the schedule really has, so it keys the same run.
        snapped = snap_to_schedule(spec.parsed_schedule, scheduled)
        if snapped != scheduled and spec.parsed_schedule.kind != "rate":
            raise BadMessageError(f"slot {slot} is not a fire time of {spec.schedule}")
        # A rate() slot stamped with seconds stands for its minute, like a scheduled event.
        scheduled = snapped
        slot = format_slot(snapped)
    return Delivery(spec.name, slot, scheduled, trigger, {**spec.payload, **payload})


def command_body(job: str, trigger: Trigger, *, slot: str | None = None,
                 payload: Mapping[str, Any] | None = None) -> str:
    """The JSON body of a manual-trigger or backfill message (a manual slot id is generated
    when ``slot`` is ``None``)."""
    if slot is None:
        slot = manual_slot(uuid.uuid4().hex[:12])
    return json.dumps({"cronbridge": COMMAND_VERSION, "job": job, "trigger": trigger.value,
                       "slot": slot, "payload": dict(payload or {})})


def scheduler_input(job: str, key: str | None = None,
                    payload: Mapping[str, Any] | None = None) -> str:
    """The ``Input`` of a Scheduler schedule's SQS target for ``job`` (and ``key``, with its
    ``payload``, for a dynamic schedule)."""
    body: dict[str, Any] = {SCHEDULER_MARKER: COMMAND_VERSION, "job": job,
                            "time": SCHEDULED_TIME}
    if key is not None:
        body["key"] = key
    if payload:
        body["payload"] = dict(payload)
    return json.dumps(body, separators=(",", ":"))


def scheduled_event(*, rule_arn: str, time: datetime, account: str, region: str,
                    event_id: str | None = None) -> dict[str, Any]:
    """An EventBridge scheduled event exactly as a rule sends it to its target."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
