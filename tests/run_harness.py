"""Helpers for the run-semantics tests: a recording telemetry, a settable clock, job specs,
and a harness running the real service on moto (DynamoDB and SQS) with a simulated clock.

Importable from any test module as ``run_harness`` (``tests/`` is on ``sys.path`` because
``tests/conftest.py`` lives there).
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any

from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.messages import scheduled_event
from cronbridge.core.plan import build_plan

START = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
# The ceiling on every wait for a server, a process or a lease holder to be ready or gone.
# Waits poll and return as soon as the condition holds, so a generous ceiling costs nothing
# on an idle machine and keeps a loaded one (2 cores shared by several suites) from failing.
READY_SECONDS = 240.0


class RecordingTelemetry:
    """The Telemetry port, recording metrics and the keys bound per record."""

    def __init__(self) -> None:
        # Not under "cronbridge": that is the Powertools logger, whose handler would format
        # these records with its own appended keys.
        self.logger = logging.getLogger("tests.cronbridge")
        self.keys: dict[str, Any] = {}
        self.metrics: list[tuple[str, str, float]] = []

    def bind(self, **keys: Any) -> None:
        self.keys.update({k: v for k, v in keys.items() if v is not None})

    def reset(self) -> None:
        self.keys = {}

    def metric(self, job: str, name: str, value: float = 1.0, unit: str = "Count") -> None:
        self.metrics.append((job, name, value))

    def count(self, name: str) -> float:
        return sum(value for _, metric, value in self.metrics if metric == name)

    def span(self, name: str, **annotations: str) -> Any:
        return nullcontext()


class MutableClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def spec(name: str = "nightly", func: Callable[..., Any] = lambda ctx: "ok", *,
         schedule: str = "cron(0 2 * * ? *)", **settings: Any) -> JobSpec:
    return JobSpec(name=name, schedule=schedule, func=func, **settings)


class ModelQueue:
    """One SQS queue and its DLQ, just enough of them for model tests: visibility, receive
    counts (``maxReceiveCount`` itself is applied by the caller, who knows when a worker
    died: the message moves as it is, with no cronbridge attributes) and retention from
    the first enqueue (SQS keeps a dead letter's original enqueue time). ``crashed`` marks
    a message whose last receive ended in a worker crash."""

    def __init__(self, clock: MutableClock, visibility: int, max_receive_count: int,
                 retention: int, dlq_retention: int) -> None:
        self.clock = clock
        self.visibility = visibility
        self.max_receive_count = max_receive_count
        self.retention, self.dlq_retention = retention, dlq_retention
        self.messages: dict[str, dict[str, Any]] = {}
        self.dlq: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def now(self) -> float:
        return self.clock.now().timestamp()

    def send(self, body: str, attributes: dict[str, str] | None = None,
             enqueued: float | None = None) -> None:
        self.messages[f"m{next(self._ids)}"] = {
            "body": body, "attrs": dict(attributes or {}), "visible_at": self.now(),
            "receives": 0, "enqueued": self.now() if enqueued is None else enqueued,
            "crashed": False}

    def visible(self) -> list[str]:
        return [mid for mid, msg in self.messages.items() if msg["visible_at"] <= self.now()]

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.messages[receipt_handle]["visible_at"] = self.now() + seconds

    def send_to_dlq(self, body: str, attributes: Any) -> None:
        self.dlq.append({"body": body, "attrs": dict(attributes), "enqueued": self.now(),
                         "crashed": False})

    def expire(self) -> list[str]:
        """Drop what outlived its retention; returns the dropped bodies."""
        now = self.now()
        dropped = [m["body"] for m in self.messages.values()
                   if now - m["enqueued"] >= self.retention]
        dropped += [m["body"] for m in self.dlq if now - m["enqueued"] >= self.dlq_retention]
        self.messages = {mid: m for mid, m in self.messages.items()
                         if now - m["enqueued"] < self.retention}
        self.dlq = [letter for letter in self.dlq if now - letter["enqueued"] < self.dlq_retention]
        return dropped


class MotoHarness:
    """The real :class:`SlotService` on moto's DynamoDB and SQS, one job per harness.

    ``deliver()`` receives what is visible and handles it the way Lambda's event source
    mapping would: Ack.DONE deletes the message, Ack.RETURN leaves it (its visibility is
    already set by the service).
    """

    def __init__(self, job: JobSpec, clock: Any, app: str = "t") -> None:
        import boto3

        from cronbridge.adapters.dynamodb import DynamoRunStore
        from cronbridge.adapters.sqs import SqsMessageActions
        from cronbridge.local.provision import provision
        from cronbridge.service import SlotService

        self.registry = JobRegistry()
        self.registry.add(job)
        self.job = job
        self.plan = build_plan(self.registry, app=app)
        self.res = provision(self.plan)[job.name]
        self.sqs = boto3.client("sqs")
        self.store = DynamoRunStore(self.plan.table_name)
        self.clock = clock
        self.telemetry = RecordingTelemetry()
        self.service = SlotService(
            registry=self.registry, plan=self.plan, store=self.store,
            actions=SqsMessageActions(self.sqs, self.res.queue_url, self.res.dlq_url),
            telemetry=self.telemetry, clock=clock, serves=job.name, rng=random.Random(1))

    def event_body(self, when: datetime) -> str:
        return json.dumps(scheduled_event(rule_arn=self.res.rule_arn, time=when,
                                          account="123456789012", region="us-east-1"))

    def send(self, body: str | datetime, attributes: dict[str, str] | None = None) -> str:
        from cronbridge.adapters.sqs import string_attributes

        if isinstance(body, datetime):
            body = self.event_body(body)
        return self.sqs.send_message(QueueUrl=self.res.queue_url, MessageBody=body,
                                     MessageAttributes=string_attributes(attributes or {})
                                     )["MessageId"]

    def receive(self, queue_url: str | None = None, visibility: int | None = None
                ) -> list[dict[str, Any]]:
        kwargs = {} if visibility is None else {"VisibilityTimeout": visibility}
        return self.sqs.receive_message(
            QueueUrl=queue_url or self.res.queue_url, MaxNumberOfMessages=10,
            MessageAttributeNames=["All"], AttributeNames=["All"], **kwargs
        ).get("Messages", [])

    def handle(self, message: dict[str, Any]) -> Any:
        from cronbridge.adapters.sqs import plain_attributes
        from cronbridge.service import Ack, Message

        result = self.service.handle(Message(
            message["MessageId"], message["Body"], message["ReceiptHandle"],
            plain_attributes(message.get("MessageAttributes"))), request_id="req-1")
        if result.ack is Ack.DONE:
            self.sqs.delete_message(QueueUrl=self.res.queue_url,
                                    ReceiptHandle=message["ReceiptHandle"])
        return result

    def deliver(self) -> list[Any]:
        return [self.handle(m) for m in self.receive()]

    def dead_letters(self) -> list[dict[str, Any]]:
        """The DLQ's messages, shaped like ``ReceiveMessage`` entries."""
        from cronbridge.adapters.dlq import peek

        return [{"MessageId": letter.message_id, "ReceiptHandle": letter.receipt_handle,
                 "Body": letter.body, "MessageAttributes": dict(letter.message_attributes)}
                for letter in peek(self.sqs, self.res.dlq_url, drained_wait=0)]

    def run_item(self, slot: str) -> Any:
        return self.store.get_run(self.job.name, slot, now=self.clock.now().timestamp())

    def queue_counts(self) -> dict[str, int]:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.res.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        return {k: int(v) for k, v in attrs["Attributes"].items()}
