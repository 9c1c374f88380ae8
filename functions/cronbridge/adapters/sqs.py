"""SQS: the worker's actions on the message it processes, and the job queues by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def string_attributes(attributes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``{"name": "value"}`` as SQS ``MessageAttributes`` (empty values dropped: SQS rejects
    them)."""
    return {name: {"DataType": "String", "StringValue": value}
            for name, value in attributes.items() if value}


def plain_attributes(message_attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """SQS or Lambda-event message attributes (either casing) as ``{"name": "value"}``."""
    plain: dict[str, str] = {}
    for name, value in (message_attributes or {}).items():
        text = value.get("StringValue", value.get("stringValue"))
        if text is not None:
            plain[name] = text
    return plain


class SqsMessageActions:
    """The :class:`~cronbridge.core.ports.MessageActions` port for one job's queues.

    Args:
        client: a boto3 SQS client.
        queue_url / dlq_url: the job's queue and dead-letter queue.
    """

    def __init__(self, client: Any, queue_url: str, dlq_url: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self.dlq_url = dlq_url

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(QueueUrl=self.queue_url,
                                              ReceiptHandle=receipt_handle,
                                              VisibilityTimeout=max(0, min(seconds, 43200)))

    def send_to_dlq(self, body: str, attributes: Mapping[str, str]) -> None:
        self.client.send_message(QueueUrl=self.dlq_url, MessageBody=body,
                                 MessageAttributes=string_attributes(attributes))
