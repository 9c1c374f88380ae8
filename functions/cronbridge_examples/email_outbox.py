"""Job ``email-outbox``: send due outbox emails through SES."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from cronbridge import JobContext, PermanentError, job
from cronbridge_examples.aws import client
from cronbridge_examples.resources import DemoResources, slot_time

OUTBOX_PK = "outbox"
# A sparse index of the emails still PENDING: an email carries PENDING_ATTR (its sort key)
# only until it is marked, so a run reads what is due and pending, never the sent history.
PENDING_INDEX = "pending"
PENDING_ATTR = "pending_due"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def outbox_sk(due: datetime, message_id: str) -> str:
    """The sort key of an outbox email: its due time first, so a query by key finds the
    emails due by a time without a scan."""
    return f"{due.astimezone(timezone.utc).strftime(_ISO)}#{message_id}"


def is_valid_address(address: str) -> bool:
    """A cheap shape check (``local@domain.tld``); SES does the real validation."""
    return bool(_ADDRESS.match(address))


def _pending_due(table: str, until: datetime) -> Iterator[dict[str, Any]]:
    # pending_due < "<until + 1s>" selects every pending email due at or before `until`
    # (second precision), oldest first.
    bound = (until + timedelta(seconds=1)).strftime(_ISO)
    ddb = client("dynamodb")
    pages = ddb.get_paginator("query").paginate(
        TableName=table, IndexName=PENDING_INDEX,
        KeyConditionExpression="pk = :pk AND #due < :bound",
        ExpressionAttributeNames={"#due": PENDING_ATTR},
        ExpressionAttributeValues={":pk": {"S": OUTBOX_PK}, ":bound": {"S": bound}},
    )
    for page in pages:
        for candidate in page["Items"]:
            # The index is eventually consistent: an email marked a moment ago (by the
            # attempt this one retries) may still be listed, so confirm it before sending.
            key = {"pk": candidate["pk"], "sk": candidate["sk"]}
            item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            if item is not None and item.get("status", {}).get("S") == "PENDING":
                yield item


def _mark(table: str, item: dict[str, Any], status: str, **fields: str) -> bool:
    """Move ``item`` from PENDING to ``status`` with ``fields`` (and out of the pending
    index); False if it was not PENDING any more (another run got there first)."""
    names = {"#status": "status", "#due": PENDING_ATTR, **{f"#{k}": k for k in fields}}
    values = {":new": {"S": status}, ":pending": {"S": "PENDING"},
              **{f":{k}": {"S": v} for k, v in fields.items()}}
    sets = ", ".join(["#status = :new", *(f"#{k} = :{k}" for k in fields)])
    try:
        client("dynamodb").update_item(
            TableName=table, Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression=f"SET {sets} REMOVE #due", ConditionExpression="#status = :pending",
            ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


@job(name="email-outbox", schedule="rate(5 minutes)", timeout=60, max_attempts=3,
     payload={"batch_size": 50},
     description="Send due outbox emails through SES")
def email_outbox(ctx: JobContext) -> dict[str, int]:
    """Send the outbox emails due by the slot time, at most ``payload["batch_size"]`` a run.

    Outbox items are ``pk="outbox"``, ``sk="<due ISO-8601 UTC>#<id>"`` with ``status``
    (``PENDING``, ``SENT`` or ``FAILED``), ``to``, ``subject`` and ``body``, and while
    PENDING ``pending_due`` (= ``sk``), the key of the sparse ``pending`` index the run
    queries, so a run reads the pending emails only, not the outbox's history. Each pending
    email is sent from the demo sender with SES ``SendEmail``, then marked ``SENT`` (with
    ``message_id``, ``sent_at``, ``slot``) by an update conditional on it still being
    ``PENDING``; a retried attempt re-queries and only sees what is still pending, so it
    never re-sends a marked email. (Delivery is at least once: an attempt that dies between
    sending and marking sends that one email again on its retry.) An invalid recipient is
    marked ``FAILED`` with an ``error`` instead of failing the run, so it is not retried
    forever; other SES errors fail the attempt and the slot is retried.

    Returns ``{"sent": n, "failed": n, "conflicts": n}``; conflicts are emails another run
    marked first.
    """
    batch_size = ctx.payload.get("batch_size", 50)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise PermanentError(f"payload batch_size must be a positive integer, got {batch_size!r}")
    res = DemoResources.from_env()
    ses = client("ses")
    sent = failed = conflicts = 0
    for n, item in enumerate(_pending_due(res.table, slot_time(ctx))):
        if n >= batch_size:
            break  # the next slot picks up the rest
        to = item["to"]["S"]
        error = None if is_valid_address(to) else "invalid recipient address"
        if error is None:
            try:
                resp = ses.send_email(
                    Source=res.sender, Destination={"ToAddresses": [to]},
                    Message={"Subject": {"Data": item["subject"]["S"]},
                             "Body": {"Text": {"Data": item["body"]["S"]}}})
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "InvalidParameterValue":
                    raise
                error = f"rejected by SES: {exc.response['Error'].get('Message', '')}"[:200]
        if error is None:
            ok = _mark(res.table, item, "SENT", message_id=resp["MessageId"], slot=ctx.slot,
                       sent_at=datetime.now(timezone.utc).strftime(_ISO))
            sent += ok
        else:
            ctx.logger.warning("outbox email %s not sendable: %s", item["sk"]["S"], error)
            ok = _mark(res.table, item, "FAILED", error=error, slot=ctx.slot)
            failed += ok
        conflicts += not ok
    ctx.logger.info("outbox: %d sent, %d failed, %d conflicts", sent, failed, conflicts)
    return {"sent": sent, "failed": failed, "conflicts": conflicts}
