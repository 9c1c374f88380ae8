"""Wire the service to DynamoDB, SQS and Powertools for one worker process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import boto3

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.adapters.sqs import SqsMessageActions, plain_attributes
from cronbridge.core.jobs import JobRegistry, load_job_modules
from cronbridge.core.plan import DeploymentPlan, build_plan
from cronbridge.core.ports import Clock, Telemetry
from cronbridge.runtime.autopause import AutoPauser
from cronbridge.runtime.settings import Settings
from cronbridge.service import Ack, Message, Result, SlotService


class ReturnToQueue(Exception):
    """Raised for a record the batch response must list: its visibility is already set."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class Worker:
    """One warm worker: the plan, the run store and a service per source queue.

    Args:
        settings: from the environment.
        telemetry: logs, metrics, traces.
        clock: defaults to the system clock (local mode passes its simulated clock).
        sqs_client: defaults to a boto3 client made on first use.
    """

    def __init__(self, settings: Settings, telemetry: Telemetry, *, clock: Clock | None = None,
                 sqs_client: Any = None, store: Any = None, rng: Any = None,
                 plan: DeploymentPlan | None = None, registry: JobRegistry | None = None
                 ) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.clock = clock or SystemClock()
        self.registry = registry or load_job_modules(settings.job_modules)
        self.plan = plan or build_plan(self.registry, app=settings.app,
                                       job_modules=settings.job_modules)
        self.store = store or DynamoRunStore(settings.table_name)
        self._sqs = sqs_client
        self._services: dict[str, SlotService] = {}
        self.rng = rng
        self.pauser = AutoPauser(self.plan, self.store, topic_arn=settings.alarm_topic_arn,
                                 client=boto3.client)

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = boto3.client("sqs")
        return self._sqs

    def service_for(self, queue_arn: str) -> SlotService:
        """The service for messages from ``queue_arn`` (its DLQ is the job's DLQ), made once
        per queue: its queue URLs cost a lookup when the environment does not give them."""
        if queue_arn not in self._services:
            self._services[queue_arn] = self._make_service(queue_arn)
        return self._services[queue_arn]

    def _make_service(self, queue_arn: str) -> SlotService:
        queue_name = queue_arn.rsplit(":", 1)[-1]
        job_plan = next((j for j in self.plan.jobs if j.queue_name == queue_name), None)
        serves = self.settings.job or (job_plan.job if job_plan else None)
        queue_url = self.settings.queue_url or self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        dlq_name = job_plan.dlq_name if job_plan else f"{queue_name}-dlq"
        dlq_url = self.settings.dlq_url or self.sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
        return SlotService(registry=self.registry, plan=self.plan, store=self.store,
                           actions=SqsMessageActions(self.sqs, queue_url, dlq_url),
                           telemetry=self.telemetry, clock=self.clock, serves=serves,
                           rng=self.rng, log_payloads=self.settings.log_payloads,
                           pauser=self.pauser)

    def process(self, record: Any, *, remaining_ms: Callable[[], int],
                request_id: str | None = None, trace_id: str | None = None) -> Result:
        """Handle one SQS record (a Powertools ``SQSRecord``).

        Raises:
            ReturnToQueue: the message must stay on the queue (listed in the batch response).
        """
        raw = record.raw_event
        message = Message(message_id=record.message_id, body=record.body,
                          receipt_handle=record.receipt_handle,
                          attributes=plain_attributes(raw.get("messageAttributes")),
                          receive_count=int((raw.get("attributes") or {})
                                            .get("ApproximateReceiveCount") or 0))
        result = self.service_for(record.event_source_arn).handle(
            message, remaining_ms=remaining_ms, request_id=request_id, trace_id=trace_id)
        if result.ack is Ack.RETURN:
            raise ReturnToQueue(result.outcome)
        return result
