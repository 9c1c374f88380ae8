"""Job ``health-report``: publish a few real figures of the demo as CloudWatch metrics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from cronbridge import JobContext, job
from cronbridge_examples.aws import client
from cronbridge_examples.email_outbox import OUTBOX_PK, PENDING_INDEX
from cronbridge_examples.resources import METRIC_NAMESPACE, DemoResources, slot_time

# CloudWatch rejects data points more than two weeks old or two hours ahead; a slot outside
# that window (a long backfill, a simulated clock) is stamped with the receive time instead.
_MAX_METRIC_AGE = timedelta(days=14)
_MAX_METRIC_LEAD = timedelta(hours=2)


def _object_count(bucket: str) -> int:
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(page.get("KeyCount", 0) for page in pages)


def _pending_count(table: str) -> int:
    pages = client("dynamodb").get_paginator("query").paginate(
        TableName=table, IndexName=PENDING_INDEX, Select="COUNT",
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": OUTBOX_PK}})
    return sum(page["Count"] for page in pages)


def _config_age_seconds(table: str, now: datetime) -> int | None:
    item = client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": "config"}, "sk": {"S": "current"}},
        ConsistentRead=True).get("Item")
    if item is None:
        return None
    refreshed = datetime.strptime(item["refreshed_at"]["S"], "%Y-%m-%dT%H:%M:%SZ")
    # A cache refreshed by a later slot than this one (backfill) counts as fresh.
    return max(0, int((now - refreshed.replace(tzinfo=timezone.utc)).total_seconds()))


@job(name="health-report", schedule="cron(0 * * * ? *)", timeout=60, max_attempts=3,
     description="Publish demo health figures as CloudWatch metrics")
def health_report(ctx: JobContext) -> dict[str, Any]:
    """Measure the demo and publish the figures to CloudWatch namespace ``cronbridge/demo``.

    Metrics: ``LogObjects`` (objects in the log bucket, Count), ``OutboxPending`` (outbox
    emails still PENDING, due or not, Count) and ``ConfigAgeSeconds`` (slot time minus the
    cached config's ``refreshed_at``, Seconds; omitted while nothing is cached). Data
    points are stamped with the slot time when CloudWatch accepts it (from two weeks ago
    to two hours ahead).

    Returns ``{"log_objects": n, "outbox_pending": n, "config_age_seconds": n | None}``.
    """
    res = DemoResources.from_env()
    now = slot_time(ctx)
    figures = {
        "log_objects": _object_count(res.bucket),
        "outbox_pending": _pending_count(res.table),
        "config_age_seconds": _config_age_seconds(res.table, now),
    }
    age = datetime.now(timezone.utc) - now
    stamp = {"Timestamp": now} if -_MAX_METRIC_LEAD < age < _MAX_METRIC_AGE else {}
    data = [
        {"MetricName": name, "Value": float(figures[key]), "Unit": unit, **stamp}
        for name, key, unit in (("LogObjects", "log_objects", "Count"),
                                ("OutboxPending", "outbox_pending", "Count"),
                                ("ConfigAgeSeconds", "config_age_seconds", "Seconds"))
        if figures[key] is not None
    ]
    client("cloudwatch").put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)
    ctx.logger.info("health: %s", figures)
    return figures
