"""A job's dead-letter queue: read its messages without consuming them, and move them back.

Dead letters reach the DLQ three ways: the worker sends a DEAD slot's message there with the
``cronbridge-*`` attributes of :mod:`cronbridge.service` (including the dead token that lets
the redriven copy run the slot once more); SQS moves a message there after
``maxReceiveCount`` receives (a crash backstop: no cronbridge attributes); and EventBridge
sends an event there when it cannot deliver to the queue (attributes ``ERROR_CODE``,
``ERROR_MESSAGE``, ``RULE_ARN``).

Moving back is either one SQS message move task (``StartMessageMoveTask``, asynchronous,
every message) or, message by message: send a copy to the job queue with the same body and
message attributes, confirm SQS stored the body intact (its MD5), then delete the dead
letter with the newest receipt handle. A failure at any step leaves that message, and every
one after it, in the DLQ, so nothing is lost. If the send succeeded but the delete failed
the slot is in both queues; that is safe, because the run table lets a slot run once
whatever the number of copies (DESIGN.md §3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from cronbridge.adapters.sqs import plain_attributes
from cronbridge.core.errors import CronbridgeError

# A peek hides each message this long, so successive receives return the others, then makes
# them visible again at once.
PEEK_HOLD_SECONDS = 30
# A redrive holds the messages it is moving this long (a second redrive cannot take them).
REDRIVE_HOLD_SECONDS = 300
# Short polling may answer "empty" from a sample of SQS servers while messages exist; one
# long poll confirms the queue is really drained (it returns as soon as a message arrives).
DRAINED_WAIT_SECONDS = 1
MAX_MESSAGES = 10_000


@dataclass(frozen=True)
class DeadLetter:
    """One message received from a DLQ.

    Attributes:
        message_id: the DLQ message id.
        receipt_handle: the newest receipt handle (SQS only honours the latest one).
        body: the message body, unchanged.
        attributes: the message attributes as plain strings (``cronbridge-slot`` ...).
        message_attributes: the message attributes exactly as SQS returned them, so a copy
            carries them unchanged (the dead token above all).
        sent_at: when the message was sent to the DLQ (epoch seconds), ``None`` if unknown.
        receive_count: SQS's ``ApproximateReceiveCount`` (peeks count too).
    """

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_attributes: Mapping[str, Any] = field(default_factory=dict)
    sent_at: float | None = None
    receive_count: int = 0

    @classmethod
    def from_sqs(cls, message: Mapping[str, Any]) -> DeadLetter:
        """From one ``ReceiveMessage`` entry (requested with every attribute)."""
        system = message.get("Attributes") or {}
        sent = system.get("SentTimestamp")
        raw = message.get("MessageAttributes") or {}
        return cls(message_id=message["MessageId"], receipt_handle=message["ReceiptHandle"],
                   body=message["Body"], attributes=plain_attributes(raw),
                   message_attributes=raw,
                   sent_at=int(sent) / 1000.0 if sent else None,
                   receive_count=int(system.get("ApproximateReceiveCount") or 0))


class RedriveError(CronbridgeError):
    """A dead letter could not be moved back; it is still in the DLQ.

    Attributes:
        letter: the message.
        stage: ``send``, ``confirm`` or ``delete`` (after a failed ``delete`` the copy was
            sent: the slot is in both queues and still runs once).
        cause: what went wrong.
    """

    def __init__(self, letter: DeadLetter, stage: str, cause: str) -> None:
        self.letter = letter
        self.stage = stage
        self.cause = cause
        super().__init__(f"message {letter.message_id}: {stage} failed: {cause}")


def receive_all(sqs: Any, queue_url: str, *, hold_seconds: int, limit: int = MAX_MESSAGES,
                drained_wait: int = DRAINED_WAIT_SECONDS) -> list[DeadLetter]:
    """Receive every visible message (at most ``limit``), hiding each for ``hold_seconds``.

    ``drained_wait`` is the long poll (seconds) that confirms an empty answer; 0 where the
    queue is exact (moto in process, whose clock may be simulated and would never end a
    long poll).

    Returns the messages in receive order, deduplicated by message id with the newest
    receipt handle kept. The caller must :func:`release` or delete them.
    """
    letters: dict[str, DeadLetter] = {}
    confirming = False  # the last short poll came back empty
    while len(letters) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - len(letters)),
            VisibilityTimeout=hold_seconds,
            WaitTimeSeconds=drained_wait if confirming else 0,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            if confirming or not drained_wait:
                break
            confirming = True
            continue
        confirming = False
        fresh = [m for m in batch if m["MessageId"] not in letters]
        letters.update({m["MessageId"]: DeadLetter.from_sqs(m) for m in batch})
        if not fresh:  # the hold ran out and they came round again
            break
    return list(letters.values())


def release(sqs: Any, queue_url: str, letters: Sequence[DeadLetter]) -> None:
    """Make ``letters`` visible again now.

    Best effort: a message whose receipt handle has expired is visible already, and one the
    queue refuses to change (moto refuses any change 12 hours after a message was sent,
    where SQS counts from the receive) is visible again when its short hold ends.
    """
    for start in range(0, len(letters), 10):
        try:
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                for i, letter in enumerate(letters[start:start + 10])])
        except ClientError:
            continue


def peek(sqs: Any, queue_url: str, *, limit: int = MAX_MESSAGES,
         drained_wait: int = DRAINED_WAIT_SECONDS) -> list[DeadLetter]:
    """Every message of a queue, without consuming any (they are visible again on return)."""
    letters = receive_all(sqs, queue_url, hold_seconds=PEEK_HOLD_SECONDS, limit=limit,
                          drained_wait=drained_wait)
    release(sqs, queue_url, letters)
    return letters


def move(sqs: Any, letter: DeadLetter, *, dlq_url: str, queue_url: str) -> str:
    """Send a copy of ``letter`` to ``queue_url``, confirm it, delete it from ``dlq_url``.

    Returns the copy's message id.

    Raises:
        RedriveError: naming the stage that failed; the dead letter is not deleted unless
            the copy was confirmed.
    """
    try:
        sent = sqs.send_message(QueueUrl=queue_url, MessageBody=letter.body,
                                MessageAttributes=dict(letter.message_attributes))
    except Exception as exc:  # noqa: BLE001 - any failure: the message stays in the DLQ
        raise RedriveError(letter, "send", str(exc)) from exc
    expected = hashlib.md5(letter.body.encode()).hexdigest()  # noqa: S324 - SQS's own checksum
    if sent.get("MD5OfMessageBody") != expected:
        raise RedriveError(letter, "confirm", f"SQS stored a body with MD5 "
                           f"{sent.get('MD5OfMessageBody')}, expected {expected}")
    try:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=letter.receipt_handle)
    except Exception as exc:  # noqa: BLE001
        raise RedriveError(letter, "delete", f"sent as {sent['MessageId']} but not deleted "
                                             f"from the DLQ: {exc}") from exc
    return sent["MessageId"]


@dataclass
class MoveReport:
    """What :func:`move_all` did.

    Attributes:
        moved: ``(dead letter, new message id)`` in order.
        error: the first failure (the message named in it and every later one are still in
            the DLQ, visible again), or ``None``.
        not_attempted: the messages after the failed one.
    """

    moved: list[tuple[DeadLetter, str]] = field(default_factory=list)
    error: RedriveError | None = None
    not_attempted: list[DeadLetter] = field(default_factory=list)


def move_all(sqs: Any, letters: Sequence[DeadLetter], *, dlq_url: str,
             queue_url: str) -> MoveReport:
    """:func:`move` each of ``letters`` in order, stopping at the first failure (a target
    that refuses one send will most likely refuse the next), and release the rest."""
    report = MoveReport()
    for index, letter in enumerate(letters):
        try:
            report.moved.append((letter, move(sqs, letter, dlq_url=dlq_url,
                                              queue_url=queue_url)))
        except RedriveError as exc:
            report.error = exc
            report.not_attempted = list(letters[index + 1:])
            release(sqs, dlq_url, letters[index:])
            break
    return report


def start_move_task(sqs: Any, *, source_arn: str, destination_arn: str) -> str:
    """Start an SQS message move task from a DLQ to its job queue; returns the task handle.

    Raises:
        botocore.exceptions.ClientError: the target does not support it (emulators) or
            refuses it (permissions); the caller falls back to :func:`move_all`.
    """
    return sqs.start_message_move_task(SourceArn=source_arn,
                                       DestinationArn=destination_arn)["TaskHandle"]
