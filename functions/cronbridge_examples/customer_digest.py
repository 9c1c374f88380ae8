"""Job ``customer-digest``: each customer's digest at 08:00 in the customer's own zone.

A dynamic job: no job-level schedule is deployed; each customer gets an EventBridge
Scheduler schedule keyed by the customer id, created at runtime with
:mod:`cronbridge.schedules` (here by :func:`create_schedules`, a ``@local_resources`` hook). Each
run is claimed per ``(job, customer, slot)``, so customers never block each other and
``cronbridge history customer-digest --key <id>`` shows one customer's runs.
"""

from __future__ import annotations

import json
from typing import Any

from datetime import datetime

from cronbridge import JobContext, PermanentError, job, local_resources, schedules

from cronbridge_examples.aws import client
from cronbridge_examples.resources import DemoResources

DIGEST_PREFIX = "digests/"
# The demo's customers: id, zone, recipient.
CUSTOMERS = (("acme-sg", "Asia/Singapore", "ops@acme.example"),
             ("globex-in", "Asia/Kolkata", "it@globex.example"),
             ("initech-ny", "America/New_York", "bill@initech.example"))


@job(name="customer-digest", schedule="cron(0 8 * * ? *)", dynamic=True, timeout=60,
     description="Each customer's daily digest, 08:00 in the customer's zone")
def customer_digest(ctx: JobContext) -> dict[str, Any]:
    """Write the digest of customer ``ctx.key`` for this slot to
    ``digests/<customer>/<slot time>.json`` (a retry rewrites the same object).

    Raises:
        PermanentError: the run has no customer key or no recipient in its payload.

    Returns ``{"customer": id, "to": address, "key": s3 key}``.
    """
    recipient = ctx.payload.get("to")
    if ctx.key is None or not recipient:
        raise PermanentError("a digest needs a customer key and a 'to' address in its payload")
    res = DemoResources.from_env()
    stamp = (ctx.scheduled_time.strftime("%Y-%m-%dT%H%MZ") if ctx.scheduled_time
             else ctx.slot.replace(":", ""))
    key = f"{DIGEST_PREFIX}{ctx.key}/{stamp}.json"
    client("s3").put_object(Bucket=res.bucket, Key=key, ContentType="application/json",
                            Body=json.dumps({"customer": ctx.key, "to": recipient,
                                             "slot": ctx.slot}).encode())
    return {"customer": ctx.key, "to": recipient, "key": key}


@local_resources
def create_schedules(start: datetime, end: datetime) -> list[schedules.KeySchedule]:
    """Create each demo customer's schedule (08:00 in its zone), or leave it as it is (the
    window ``[start, end)`` does not matter: a schedule outlives it)."""
    made = []
    for customer, zone, recipient in CUSTOMERS:
        try:
            made.append(schedules.create("customer-digest", customer, "cron(0 8 * * ? *)",
                                         timezone=zone, payload={"to": recipient}))
        except schedules.ScheduleExistsError:
            made.append(schedules.get("customer-digest", customer))
    return made
