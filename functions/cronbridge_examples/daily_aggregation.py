"""Job ``daily-aggregation``: count yesterday's access-log lines per HTTP status code."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from cronbridge import JobContext, PermanentError, job
from cronbridge_examples.aws import client
from cronbridge_examples.resources import DemoResources, log_day_prefix, slot_time

# Common Log Format: host ident authuser [date] "request" status bytes
# e.g. 10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326
_CLF = re.compile(
    r'^(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-)$'
)
# 10/Oct/2000:13:55:36 -0700, matched by hand because strptime's %b follows the locale.
_CLF_TIME = re.compile(
    r"^(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) [+-]([01]\d|2[0-3])[0-5]\d$")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _valid_time(text: str) -> bool:
    match = _CLF_TIME.match(text)
    if not match or match[2] not in MONTHS:
        return False
    day, month, year, hour, minute, second = match.groups()[:6]
    try:
        datetime(int(year), MONTHS.index(month) + 1, int(day), int(hour), int(minute),
                 int(second))
    except ValueError:
        return False
    return True


def parse_status(line: str) -> int | None:
    """The status code of one Common Log Format line, or ``None`` if the line is malformed
    (wrong shape, bad timestamp, or a status outside 100-599)."""
    match = _CLF.match(line)
    if not match:
        return None
    if not _valid_time(match["time"]):
        return None
    status = int(match["status"])
    return status if 100 <= status <= 599 else None


def count_lines(lines: Iterable[str]) -> tuple[Counter[str], int]:
    """Count well-formed lines per status code; blank lines are ignored.

    Returns ``(counts by status code as a string, malformed line count)``.
    """
    counts: Counter[str] = Counter()
    malformed = 0
    for line in lines:
        if not line.strip():
            continue
        status = parse_status(line.rstrip("\r\n"))
        if status is None:
            malformed += 1
        else:
            counts[str(status)] += 1
    return counts, malformed


def _target_day(ctx: JobContext) -> date:
    if "date" in ctx.payload:  # a manual trigger may name the day: {"date": "2026-11-29"}
        try:
            return date.fromisoformat(ctx.payload["date"])
        except (TypeError, ValueError):
            raise PermanentError(
                f"payload date must be YYYY-MM-DD, got {ctx.payload['date']!r}") from None
    return slot_time(ctx).date() - timedelta(days=1)


@job(name="daily-aggregation", schedule="cron(15 0 * * ? *)", timeout=300, max_attempts=3,
     pause_after_failures=3,
     description="Count yesterday's access-log lines per status code (S3 -> DynamoDB)")
def daily_aggregation(ctx: JobContext) -> dict[str, Any]:
    """Count the day before the slot's access-log lines per status code into DynamoDB.

    Reads every object under ``access-logs/YYYY/MM/DD/`` and writes one item
    ``pk="stats", sk="YYYY-MM-DD"`` with ``counts`` (map: status code string -> lines),
    ``total`` (well-formed lines), ``malformed`` (lines that are not Common Log Format),
    ``objects``, ``slot`` and ``computed_at`` (wall clock, ISO-8601 UTC). After each object
    the running totals are checkpointed, so a retried attempt resumes after the last object
    it finished; the final put overwrites, so re-running a slot is idempotent. A manual
    trigger may pick the day with payload ``{"date": "YYYY-MM-DD"}``.

    Returns ``{"day": "YYYY-MM-DD", "objects": n, "total": n, "malformed": n}``.
    """
    res = DemoResources.from_env()
    s3 = client("s3")
    day = _target_day(ctx).isoformat()
    resume = ctx.resume_state
    if isinstance(resume, dict) and resume.get("day") == day:
        ctx.logger.info("resuming after %d objects", len(resume["done"]))
        state = resume
    else:
        state = {"day": day, "done": [], "counts": {}, "malformed": 0}
    counts = Counter(state["counts"])
    malformed = state["malformed"]
    done: list[str] = list(state["done"])
    prefix = log_day_prefix(day)
    keys = sorted(obj["Key"]
                  for page in s3.get_paginator("list_objects_v2").paginate(Bucket=res.bucket,
                                                                           Prefix=prefix)
                  for obj in page.get("Contents", []))
    for key in keys:
        if key in done:
            continue
        body = s3.get_object(Bucket=res.bucket, Key=key)["Body"]
        object_counts, object_malformed = count_lines(
            raw.decode("utf-8", errors="replace") for raw in body.iter_lines())
        counts += object_counts
        malformed += object_malformed
        done.append(key)
        ctx.checkpoint({"day": day, "done": list(done), "counts": dict(counts),
                        "malformed": malformed})
    total = sum(counts.values())
    client("dynamodb").put_item(TableName=res.table, Item={
        "pk": {"S": "stats"},
        "sk": {"S": day},
        "counts": {"M": {code: {"N": str(n)} for code, n in sorted(counts.items())}},
        "total": {"N": str(total)},
        "malformed": {"N": str(malformed)},
        "objects": {"N": str(len(done))},
        "computed_at": {"S": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "slot": {"S": ctx.slot},
    })
    ctx.logger.info("aggregated %d lines (%d malformed) from %d objects for %s",
                    total, malformed, len(done), day)
    return {"day": day, "objects": len(done), "total": total, "malformed": malformed}
