"""Jobs: list them, describe one, pause, resume and trigger."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cronbridge.adapters.eventbridge import ENABLED
from cronbridge.core.describe import describe_schedule
from cronbridge.core.errors import BadMessageError
from cronbridge.core.messages import command_body
from cronbridge.core.plan import JobPlan
from cronbridge.core.runstate import Trigger
from cronbridge.core.slots import MANUAL_PREFIX, check_manual_slot, manual_slot, slot_time
from cronbridge.ops.backend import Backend
from cronbridge.ops.errors import InvalidRequest, NotDeployedError
from cronbridge.ops.grid import schedule_grid
from cronbridge.ops.switch import pause_state, state_after, switch_job
from cronbridge.ops.times import iso

NEXT_FIRE_TIMES = 3


def list_jobs(backend: Backend, now: datetime) -> list[dict[str, Any]]:
    """Every job of the plan as :func:`job_summary` gives it, in plan order."""
    return [job_summary(backend, job_plan, now) for job_plan in backend.plan.jobs]


def job_summary(backend: Backend, job_plan: JobPlan, now: datetime) -> dict[str, Any]:
    """One job as the target has it.

    Returns ``job``, ``description``, ``schedule`` (the expression) and
    ``timezone``, ``via`` (``rule``, ``scheduler`` or ``dynamic``),
    ``schedule_description`` (in words), ``deployed``, ``rule_state``, ``paused``,
    ``state`` (see :func:`~cronbridge.ops.switch.pause_state`), ``switch`` (who paused or
    resumed it, when and why: ``{"by", "at", "reason"}`` or ``None``),
    ``next_fire_times`` (up to 3, empty while paused or for a dynamic job), ``next_local``
    (the same in the job's zone with DST notes, for a job with a time zone),
    ``last_status``, ``last_slot``, ``last_success_slot``, ``consecutive_failures`` (the DEAD streak in slot order),
    ``pause_after_failures`` (the auto-pause threshold or ``None``) and ``dlq_depth``
    (``None`` when not deployed).
    """
    spec = backend.registry.get(job_plan.job)
    rule_state = backend.switch_state(job_plan)
    try:
        queues = backend.queues(job_plan)
    except NotDeployedError:
        queues = None
    deployed = rule_state is not None and queues is not None
    record = backend.store.get_job(job_plan.job) if deployed else None
    paused = bool(record and record.paused)
    last_slot = record.last_slot if record else None
    # A rate() grid needs a scheduled slot to align on; the last one may be a manual run.
    known = next((s for s in (last_slot, record.last_success_slot if record else None)
                  if s and slot_time(s) is not None), None)
    grid = schedule_grid(spec, known, now)
    upcoming = (grid.preview(now, NEXT_FIRE_TIMES)
                if grid and rule_state == ENABLED and not paused and job_plan.via != "dynamic"
                else [])
    return {
        "job": job_plan.job,
        "description": job_plan.description,
        "schedule": job_plan.schedule_expression,
        "timezone": job_plan.timezone,
        "via": job_plan.via,
        "schedule_description": describe_schedule(spec.parsed_schedule),
        "deployed": deployed,
        "rule_state": rule_state,
        "paused": paused,
        "state": pause_state(rule_state, paused) if queues else "not deployed",
        "switch": _switch(record, paused),
        "next_fire_times": [iso(t.utc) for t in upcoming if t.utc],
        # Wall time in the job's zone, with Scheduler's DST notes (skipped, ambiguous).
        "next_local": [{"local": t.local.isoformat(timespec="minutes"), "status": t.status,
                        "note": t.note} for t in upcoming] if job_plan.timezone else [],
        "last_status": record.last_status if record else None,
        "last_slot": last_slot,
        "last_success_slot": record.last_success_slot if record else None,
        "consecutive_failures": int(record.consecutive_failures or 0) if record else 0,
        "pause_after_failures": spec.pause_after_failures,
        "dlq_depth": dlq_depth(backend, queues.dlq_url) if queues else None,
    }


def _switch(record: Any, paused: bool) -> dict[str, Any] | None:
    if record is None:
        return None
    if paused and record.paused_at is not None:
        return {"action": "paused", "by": record.paused_by, "at": iso(record.paused_at),
                "reason": record.pause_reason}
    if not paused and record.resumed_at is not None:
        return {"action": "resumed", "by": record.resumed_by, "at": iso(record.resumed_at),
                "reason": None}
    return None


def dlq_depth(backend: Backend, queue_url: str) -> int:
    """Messages in a queue, visible or in flight."""
    attrs = backend.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def set_enabled(backend: Backend, job: str, *, enabled: bool, by: str, now: datetime,
                reason: str | None = None) -> dict[str, Any]:
    """Resume (``enabled``) or pause ``job`` (see :func:`~cronbridge.ops.switch.switch_job`),
    idempotently.

    Returns ``job``, ``state``, ``previous_state`` and ``changed``.

    Raises:
        UnknownJobError: no such job. NotDeployedError: the target lacks its rule or
        schedule. InvalidRequest: a dynamic job (its keys are switched one by one).
    """
    job_plan = backend.job(job)
    if job_plan.via == "dynamic":
        raise InvalidRequest(
            f"{job_plan.job} runs on per-key schedules: pause or resume each with `cronbridge "
            f"schedules pause|resume {job_plan.job} KEY`", "JOB")
    record = backend.store.get_job(job_plan.job)
    before = pause_state(backend.rule_state(job_plan), bool(record and record.paused))
    switch_job(store=backend.store, rules=backend.rules, cloudwatch=backend.client("cloudwatch"),
               app=backend.plan.app, job=job_plan, enabled=enabled, now=now.timestamp(), by=by,
               reason=reason, scheduler=backend.scheduler if job_plan.via == "scheduler" else None)
    after = state_after(enabled)
    return {"job": job_plan.job, "state": after, "previous_state": before,
            "changed": before != after}


def parse_payload(text: str | None) -> dict[str, Any]:
    """A trigger's payload (JSON text) as an object; ``None`` or blank is ``{}``.

    Raises:
        InvalidRequest: not JSON, or not an object.
    """
    if text is None or not text.strip():
        return {}
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"not JSON ({exc}); write an object, e.g. "
                             f"--payload '{{\"days\": 3}}'", "--payload") from None
    if not isinstance(payload, dict):
        raise InvalidRequest(f"must be a JSON object, got {type(payload).__name__}; e.g. "
                             f"--payload '{{\"days\": 3}}'", "--payload")
    return payload


def manual_slot_id(text: str) -> str:
    """A trigger's slot id (``manual:`` prepended when missing).

    Raises:
        InvalidRequest: not an id the worker accepts (:func:`check_manual_slot`).
    """
    slot = text if text.startswith(MANUAL_PREFIX) else manual_slot(text)
    try:
        return check_manual_slot(slot)
    except BadMessageError as exc:
        raise InvalidRequest(f"{exc}; e.g. --slot rerun-2026-11-30", "--slot") from None


def trigger(backend: Backend, job: str, *, now: datetime, slot: str | None = None,
            payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send a manual run of ``job`` through its real queue (runs even while paused).

    Args:
        slot: the idempotency key (see :func:`manual_slot_id`); default a new one.
        payload: merged over the job's static payload.

    Returns ``job``, ``slot``, ``message_id`` and ``existing_status`` (the slot's run
    status if it has one already: a finished slot does not run again).

    Raises:
        UnknownJobError, InvalidRequest, NotDeployedError.
    """
    job_plan = backend.job(job)
    body = command_body(job_plan.job, Trigger.MANUAL, payload=payload or {},
                        slot=manual_slot_id(slot) if slot is not None else None)
    slot_id = json.loads(body)["slot"]
    queues = backend.queues(job_plan)
    existing = backend.store.get_run(job_plan.job, slot_id, now=now.timestamp())
    sent = backend.sqs.send_message(QueueUrl=queues.queue_url, MessageBody=body)
    return {"job": job_plan.job, "slot": slot_id, "message_id": sent["MessageId"],
            "existing_status": existing.status if existing else None}
