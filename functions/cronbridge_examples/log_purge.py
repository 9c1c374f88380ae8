"""Job ``log-purge``: delete access logs older than N days."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from cronbridge import JobContext, PermanentError, job
from cronbridge_examples.aws import client
from cronbridge_examples.resources import LOG_PREFIX, DemoResources, slot_time

_KEY_DAY = re.compile(r"^access-logs/(\d{4})/(\d{2})/(\d{2})/")


def key_day(key: str) -> date | None:
    """The day an access-log key covers, or ``None`` for a key outside the layout."""
    match = _KEY_DAY.match(key)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


@job(name="log-purge", schedule="cron(0 3 * * ? *)", timeout=120, max_attempts=3,
     payload={"days": 7}, description="Delete access logs older than N days (S3)")
def log_purge(ctx: JobContext) -> dict[str, Any]:
    """Delete access-log objects older than ``payload["days"]`` days (default 7).

    An object's age is the day in its key (``access-logs/YYYY/MM/DD/...``), relative to the
    slot's day: with ``days=7`` the 03:00 run of 2026-11-30 deletes days up to and including
    2026-11-22. Keys outside that layout are left alone. Deleting is idempotent, so a
    retried attempt just finishes the job.

    Returns ``{"cutoff": "YYYY-MM-DD", "deleted": n, "unrecognised": n}``, where cutoff is
    the oldest day kept.
    """
    days = ctx.payload.get("days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise PermanentError(f"payload days must be a positive integer, got {days!r}")
    res = DemoResources.from_env()
    s3 = client("s3")
    cutoff = slot_time(ctx).date() - timedelta(days=days)
    deleted = unrecognised = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=res.bucket, Prefix=LOG_PREFIX):
        old: list[str] = []
        reached_cutoff = False
        for obj in page.get("Contents", []):
            day = key_day(obj["Key"])
            if day is None:
                unrecognised += 1
            elif day < cutoff:
                old.append(obj["Key"])
            else:
                # Keys sort by day, so everything after this one is recent enough too.
                reached_cutoff = True
                break
        if old:  # one page is at most 1000 keys, delete_objects' limit
            resp = s3.delete_objects(Bucket=res.bucket,
                                     Delete={"Objects": [{"Key": k} for k in old], "Quiet": True})
            if resp.get("Errors"):
                err = resp["Errors"][0]
                raise RuntimeError(f"{len(resp['Errors'])} deletes failed, first "
                                   f"{err.get('Key')}: {err.get('Code')} {err.get('Message')}")
            deleted += len(old)
        if reached_cutoff:
            break
    ctx.logger.info("purged %d access-log objects dated before %s", deleted, cutoff.isoformat())
    return {"cutoff": cutoff.isoformat(), "deleted": deleted, "unrecognised": unrecognised}
