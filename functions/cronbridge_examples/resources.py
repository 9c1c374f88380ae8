"""Names of the AWS resources the demo jobs work on.

The infrastructure (CDK stack and local provisioner) sets these environment variables; the
defaults are what `seed_demo` creates on the embedded AWS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from cronbridge import JobContext

ENV_BUCKET = "CRONBRIDGE_DEMO_BUCKET"
ENV_TABLE = "CRONBRIDGE_DEMO_TABLE"
ENV_CONFIG_PARAM = "CRONBRIDGE_DEMO_CONFIG_PARAM"
ENV_SENDER = "CRONBRIDGE_DEMO_SENDER"

METRIC_NAMESPACE = "cronbridge/demo"
# Access logs live at access-logs/YYYY/MM/DD/<host>.log, so keys sort by day.
LOG_PREFIX = "access-logs/"


@dataclass(frozen=True)
class DemoResources:
    """Where the demo data lives.

    Attributes:
        bucket: S3 bucket of access logs (Common Log Format).
        table: DynamoDB table, key ``pk`` (S) + ``sk`` (S): per-day stats (``pk="stats"``),
            the cached config (``pk="config"``) and outbox emails (``pk="outbox"``).
        config_param: SSM String parameter holding the JSON config.
        sender: SES verified identity the outbox sends from.
    """

    bucket: str = "cronbridge-demo-logs"
    table: str = "cronbridge-demo-data"
    config_param: str = "/cronbridge/demo/config"
    sender: str = "noreply@cronbridge.example"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DemoResources:
        env = os.environ if environ is None else environ
        return cls(
            bucket=env.get(ENV_BUCKET) or cls.bucket,
            table=env.get(ENV_TABLE) or cls.table,
            config_param=env.get(ENV_CONFIG_PARAM) or cls.config_param,
            sender=env.get(ENV_SENDER) or cls.sender,
        )


def log_day_prefix(day: str) -> str:
    """The S3 key prefix of the access logs of ``day`` (``YYYY-MM-DD``)."""
    return f"{LOG_PREFIX}{day.replace('-', '/')}/"


def log_key(day: str, host: str) -> str:
    """The S3 key of ``host``'s access log for ``day`` (``YYYY-MM-DD``)."""
    return f"{log_day_prefix(day)}{host}.log"


def slot_time(ctx: JobContext) -> datetime:
    """The time a run stands for: the slot's scheduled time (aware UTC), or now for a
    manual trigger, so jobs compute "yesterday" or "older than N days" from the slot and a
    retried or backfilled slot does the same work as the original."""
    return ctx.scheduled_time or datetime.now(timezone.utc)
