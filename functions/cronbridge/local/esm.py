"""Lambda's SQS event source mapping, emulated for local mode.

Receives up to ``batch_size`` messages, invokes the handler with an event shaped like
Lambda's (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), deletes the messages
not listed in ``batchItemFailures``, and leaves the rest to their visibility timeout; SQS
itself (moto) moves a message to the DLQ after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cronbridge.core.errors import DeadlineExceeded
from cronbridge.local.clock import SimulatedClock
from cronbridge.local.provision import JobResources
from cronbridge.runtime.wiring import ReturnToQueue
from cronbridge.service import Ack, Result


class SimulatedCrash(BaseException):
    """The worker process died mid-run (not an ``Exception``: nothing in the worker may catch
    it, exactly like a Lambda timeout or an out-of-memory kill)."""


@dataclass
class LambdaContext:
    """The parts of the Lambda context object the handler and Powertools read."""

    function_name: str
    timeout_seconds: int
    clock: SimulatedClock
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline_ms: float | None = None  # epoch ms; default: the timeout from now

    def __post_init__(self) -> None:
        if self.deadline_ms is None:
            self.deadline_ms = self.clock.epoch_millis() + self.timeout_seconds * 1000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_ms or 0.0) - self.clock.epoch_millis()))


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as a Lambda SQS event record."""
    attributes = {key: str(value) for key, value in (message.get("Attributes") or {}).items()}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "stringListValues": [],
                   "binaryListValues": [], "dataType": value.get("DataType", "String")}
            for name, value in (message.get("MessageAttributes") or {}).items()},
        "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class ObservedWorker:
    """A worker that reports every record's result to ``observe(record, result)``; a message
    returned to the queue is reported as ``Ack.RETURN`` with the reason as its outcome."""

    def __init__(self, worker: Any, observe: Callable[[Any, Result], None]) -> None:
        self._worker = worker
        self._observe = observe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._worker, name)

    def process(self, record: Any, **kwargs: Any) -> Result:
        try:
            result = self._worker.process(record, **kwargs)
        except ReturnToQueue as exc:
            self._observe(record, Result(Ack.RETURN, str(exc)))
            raise
        self._observe(record, result)
        return result


class EventSourceMapping:
    """Polls one job queue and invokes ``handler`` like Lambda's SQS trigger.

    Args:
        sqs: a boto3 SQS client.
        job: the job's queue and function settings.
        handler: ``handler(event, context) -> {"batchItemFailures": [...]}``.
        ready: ``ready(queue_url) -> bool``, whether a receive would find anything; when
            given, an idle queue is not polled (Lambda long-polls: an idle queue costs it
            nothing).
    """

    def __init__(self, sqs: Any, job: JobResources, handler: Callable[[dict, Any], dict],
                 clock: SimulatedClock, region: str = "us-east-1",
                 ready: Callable[[str], bool] | None = None) -> None:
        self.sqs = sqs
        self.ready = ready
        self.job = job
        self.handler = handler
        self.clock = clock
        self.region = region
        self.invocations = 0
        self.crashes = 0

    def poll(self) -> int:
        """Deliver one batch; returns how many messages it held (0 = nothing visible)."""
        if self.ready is not None and not self.ready(self.job.queue_url):
            return 0
        messages = self.sqs.receive_message(
            QueueUrl=self.job.queue_url, MaxNumberOfMessages=self.job.plan.batch_size,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [lambda_record(m, self.job.queue_arn, self.region) for m in messages]}
        context = LambdaContext(self.job.plan.function_name, self.job.plan.timeout_seconds,
                                self.clock, self.job.plan.memory_mb,
                                deadline_ms=self.clock.epoch_millis()
                                + self.job.plan.timeout_seconds * 1000)
        self.invocations += 1
        try:
            response = self.handler(event, context)
        except (SimulatedCrash, DeadlineExceeded):
            # The invocation died (or outlived its timeout, which Lambda would have killed):
            # Lambda deletes nothing; every message in the batch comes back after its
            # visibility timeout.
            self.crashes += 1
            return len(messages)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages) if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.job.queue_url, Entries=done)
        return len(messages)
