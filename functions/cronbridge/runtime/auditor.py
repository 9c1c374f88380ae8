"""The auditor: one small function per app, on its own schedule.

Each run audits every job over the last :data:`DEFAULT_LOOKBACK_HOURS` hours (the same
verdicts as ``cronbridge audit``), records ``MISSED`` for the due slots that never got a
run and can no longer get one, so ``history`` and the dashboard show them, and emits the
``MissedSlots`` metric per job (the missed-slot alarm and the CloudWatch dashboard read it).
A job's catch-up policy (``catchup=``) then sends missed slots through the real pipeline as
backfills; a paused job's are left alone (its operator stopped it).

Entry point: ``cronbridge.runtime.auditor.lambda_handler``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core import metrics as m
from cronbridge.core.audit import Verdict, catchup_slots
from cronbridge.core.jobs import JobRegistry, load_job_modules
from cronbridge.core.messages import command_body
from cronbridge.core.plan import DeploymentPlan, build_plan
from cronbridge.core.ports import Telemetry
from cronbridge.core.runstate import Trigger
from cronbridge.core.slots import parse_time
from cronbridge.ops.audit import audit_job
from cronbridge.runtime.observability import PowertoolsTelemetry
from cronbridge.runtime.settings import Settings

ENV_LOOKBACK_HOURS = "CRONBRIDGE_AUDIT_LOOKBACK_HOURS"
DEFAULT_LOOKBACK_HOURS = 6
AUDIT_SCHEDULE = "rate(15 minutes)"


class Auditor:
    """Audits the jobs of one app.

    Args:
        plan, registry: the app's jobs.
        store: the run table.
        telemetry: logs and the ``MissedSlots`` metric.
        send: sends a message body to a queue (by queue name), for catch-ups.
        lookback: how far back each run looks.
    """

    def __init__(self, plan: DeploymentPlan, registry: JobRegistry, store: DynamoRunStore,
                 telemetry: Telemetry, send: Callable[[str, str], None],
                 lookback: timedelta = timedelta(hours=DEFAULT_LOOKBACK_HOURS)) -> None:
        self.plan = plan
        self.registry = registry
        self.store = store
        self.telemetry = telemetry
        self.send = send
        self.lookback = lookback

    def run(self, now: datetime, *, not_before: datetime | None = None) -> dict[str, Any]:
        """Audit every enabled job (but dynamic ones) over ``[now - lookback, now)`` (not before
        ``not_before``, e.g. when the app was created).

        Returns ``{job: {"missed": [newly recorded slot ids], "caught_up": [slot ids]}}``.
        """
        since = max(now - self.lookback, not_before) if not_before else now - self.lookback
        report: dict[str, Any] = {}
        for job_plan in self.plan.jobs:
            # A dynamic job has no job-level schedule to audit (its keys' are runtime data).
            if not job_plan.enabled or job_plan.via == "dynamic" or since >= now:
                continue
            spec = self.registry.get(job_plan.job)
            self.telemetry.reset()
            self.telemetry.bind(job=spec.name)
            audit, _, _ = audit_job(self.store, spec, since=since, until=now, now=now)
            expires_at = int(now.timestamp()) + spec.retention_days * 86400
            missed = [s.slot for s in audit.slots if s.verdict is Verdict.MISSED
                      and s.trigger is None  # not yet recorded
                      and self.store.record_missed(spec.name, s.slot, now=now.timestamp(),
                                                   expires_at=expires_at)]
            self.telemetry.metric(spec.name, m.MISSED_SLOTS, len(missed))
            record = self.store.get_job(spec.name)
            caught_up = [] if record and record.paused else catchup_slots(
                missed, spec.catchup, spec.catchup_max)
            for slot in caught_up:
                self.send(job_plan.queue_name, command_body(spec.name, Trigger.BACKFILL,
                                                            slot=slot))
            if missed:
                self.telemetry.logger.warning("missed slots recorded", extra={
                    "missed": missed, "caught_up": caught_up})
            report[spec.name] = {"missed": missed, "caught_up": caught_up}
        return report


def queue_sender(sqs: Any) -> Callable[[str, str], None]:
    """Send a body to a queue by name (URLs looked up once each)."""
    urls: dict[str, str] = {}

    def send(queue_name: str, body: str) -> None:
        if queue_name not in urls:
            urls[queue_name] = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        sqs.send_message(QueueUrl=urls[queue_name], MessageBody=body)

    return send


_auditor: Auditor | None = None


def _get_auditor() -> Auditor:
    global _auditor
    if _auditor is None:
        settings = Settings.from_env()
        registry = load_job_modules(settings.job_modules)
        plan = build_plan(registry, app=settings.app, job_modules=settings.job_modules)
        hours = float(os.environ.get(ENV_LOOKBACK_HOURS) or DEFAULT_LOOKBACK_HOURS)
        _auditor = Auditor(plan, registry, DynamoRunStore(settings.table_name),
                           PowertoolsTelemetry(), queue_sender(boto3.client("sqs")),
                           lookback=timedelta(hours=hours))
    return _auditor


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Audit once; ``event`` is the EventBridge scheduled event (its ``time`` is now)."""
    when = event.get("time") if isinstance(event, dict) else None
    now = parse_time(when) if when else datetime.now(timezone.utc)
    return _get_auditor().run(now)
