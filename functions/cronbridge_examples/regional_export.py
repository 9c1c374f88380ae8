"""Job ``regional-export``: at 03:00 Berlin time, export the Berlin day's outbox figures.

It runs on EventBridge Scheduler (``timezone=``): 03:00 local is 02:00Z in winter and
01:00Z in summer, and the export is named by the local date, which a UTC schedule could not
keep aligned across DST.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cronbridge import JobContext, job

from cronbridge_examples.aws import client
from cronbridge_examples.email_outbox import OUTBOX_PK
from cronbridge_examples.resources import DemoResources, slot_time

ZONE = ZoneInfo("Europe/Berlin")
EXPORT_PREFIX = "exports/berlin/"


def local_day_bounds(when: datetime) -> tuple[datetime, datetime]:
    """The Berlin day before ``when``'s Berlin date, as aware UTC ``[start, end)`` (23, 24
    or 25 hours long)."""
    day = when.astimezone(ZONE).date() - timedelta(days=1)
    return tuple(datetime.combine(d, time(), ZONE).astimezone(UTC)  # type: ignore[return-value]
                 for d in (day, day + timedelta(days=1)))


@job(name="regional-export", schedule="cron(0 3 * * ? *)", timezone="Europe/Berlin",
     timeout=60, description="Export yesterday's (Berlin time) outbox figures to S3")
def regional_export(ctx: JobContext) -> dict[str, Any]:
    """Count the outbox emails due on the previous Berlin day by status and write them to
    ``exports/berlin/<YYYY-MM-DD>.json`` (rewritten identically by a retry).

    Returns ``{"day": "YYYY-MM-DD", "hours": n, "by_status": {...}}``.
    """
    res = DemoResources.from_env()
    start, end = local_day_bounds(slot_time(ctx))
    iso = "%Y-%m-%dT%H:%M:%SZ"
    pages = client("dynamodb").get_paginator("query").paginate(
        TableName=res.table, KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":pk": {"S": OUTBOX_PK}, ":a": {"S": start.strftime(iso)},
                                   ":b": {"S": end.strftime(iso)}})
    by_status: dict[str, int] = {}
    for page in pages:
        for item in page["Items"]:
            status = item.get("status", {}).get("S", "?")
            by_status[status] = by_status.get(status, 0) + 1
    day = start.astimezone(ZONE).date().isoformat()
    report = {"day": day, "hours": round((end - start).total_seconds() / 3600),
              "by_status": by_status}
    client("s3").put_object(Bucket=res.bucket, Key=f"{EXPORT_PREFIX}{day}.json",
                            Body=json.dumps(report).encode(), ContentType="application/json")
    return report
