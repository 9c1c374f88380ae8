"""Job ``cache-refresh``: copy the SSM config parameter into the data table.

This is the demo job that fails on purpose, so retries and the DLQ show up in local mode.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from botocore.exceptions import ClientError

from cronbridge import JobContext, PermanentError, job
from cronbridge_examples.aws import client
from cronbridge_examples.resources import DemoResources, slot_time

FailureMode = Literal["none", "first-attempt", "always"]
# Out of 20 buckets of the slot hash: bucket 0 fails every attempt (1/20 of slots end DEAD),
# buckets 1-4 fail only their first attempt (so 5/20 = 1/4 of slots fail attempt 1).
_BUCKETS = 20
_ALWAYS = range(0, 1)
_FIRST_ATTEMPT = range(1, 5)


def failure_mode(slot: str) -> FailureMode:
    """How the slot ``slot`` fails: ``"none"``, ``"first-attempt"`` or ``"always"``.

    Derived from SHA-256 of the slot id (not ``hash()``, which is salted per process), so
    every process, retry and rerun agrees.
    """
    bucket = int.from_bytes(hashlib.sha256(slot.encode()).digest()[:8], "big") % _BUCKETS
    if bucket in _ALWAYS:
        return "always"
    if bucket in _FIRST_ATTEMPT:
        return "first-attempt"
    return "none"


@job(name="cache-refresh", schedule="rate(15 minutes)", timeout=30, max_attempts=3,
     payload={"simulate_failures": True},
     description="Refresh the cached config from SSM (fails on purpose on some slots)")
def cache_refresh(ctx: JobContext) -> dict[str, Any]:
    """Copy the JSON config from SSM into the item ``pk="config", sk="current"``.

    Simulated failures (on unless payload ``simulate_failures`` is false), decided by
    :func:`failure_mode` from a hash of the slot id: about 1/4 of slots raise
    ``ConnectionError("simulated upstream timeout")`` on their first attempt and succeed on
    the retry; about 1/20 of those raise on every attempt, so after ``max_attempts`` (3)
    they are DEAD and their message lands in the DLQ. The same slot always fails the same
    way, so a run is reproducible.

    The item holds ``config`` (the parameter's JSON text), ``version`` (the parameter
    version), ``refreshed_at`` (the slot time, ISO-8601 UTC) and ``slot``. The write is
    conditional on the cached version and refresh time not being newer, so a late or
    backfilled slot cannot roll the cache back. A parameter that is not valid JSON is a
    permanent error (retrying cannot fix it).

    Returns ``{"version": n, "written": bool}``.
    """
    mode = failure_mode(ctx.slot) if ctx.payload.get("simulate_failures", True) else "none"
    if mode == "always" or (mode == "first-attempt" and ctx.attempt == 1):
        raise ConnectionError("simulated upstream timeout")
    res = DemoResources.from_env()
    param = client("ssm").get_parameter(Name=res.config_param)["Parameter"]
    try:
        json.loads(param["Value"])
    except json.JSONDecodeError as exc:
        raise PermanentError(f"{res.config_param} is not valid JSON: {exc}") from exc
    version = int(param["Version"])
    refreshed_at = slot_time(ctx).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        client("dynamodb").put_item(
            TableName=res.table,
            Item={
                "pk": {"S": "config"},
                "sk": {"S": "current"},
                "config": {"S": param["Value"]},
                "version": {"N": str(version)},
                "refreshed_at": {"S": refreshed_at},
                "slot": {"S": ctx.slot},
            },
            # ISO-8601 UTC strings of one format sort as times do.
            ConditionExpression=("attribute_not_exists(pk) OR version < :v"
                                 " OR (version = :v AND refreshed_at <= :t)"),
            ExpressionAttributeValues={":v": {"N": str(version)}, ":t": {"S": refreshed_at}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        ctx.logger.info("cache is newer than version %d at %s; left as is", version, refreshed_at)
        return {"version": version, "written": False}
    ctx.logger.info("cached config version %d", version)
    return {"version": version, "written": True}
