"""Settings read from the environment once, at cold start.

The CDK stack and the local provisioner set these variables from the same deployment plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ENV_APP = "CRONBRIDGE_APP"
ENV_TABLE = "CRONBRIDGE_TABLE"
ENV_JOB_MODULES = "CRONBRIDGE_JOB_MODULES"
ENV_JOB = "CRONBRIDGE_JOB"
ENV_QUEUE_URL = "CRONBRIDGE_QUEUE_URL"
ENV_DLQ_URL = "CRONBRIDGE_DLQ_URL"
ENV_LOG_PAYLOADS = "CRONBRIDGE_LOG_PAYLOADS"
ENV_ALARM_TOPIC = "CRONBRIDGE_ALARM_TOPIC_ARN"


@dataclass(frozen=True)
class Settings:
    """Worker settings.

    Attributes:
        app: resource name prefix (``CRONBRIDGE_APP``, default ``cronbridge``).
        table_name: the run table (``CRONBRIDGE_TABLE``, default ``<app>-runs``).
        job_modules: modules defining the jobs (``CRONBRIDGE_JOB_MODULES``, comma separated).
        job: the one job this function serves (``CRONBRIDGE_JOB``); ``None`` serves any.
        queue_url / dlq_url: this job's queues (``CRONBRIDGE_QUEUE_URL``,
            ``CRONBRIDGE_DLQ_URL``); looked up by name from the plan when unset.
        log_payloads: include payload bodies in logs (``CRONBRIDGE_LOG_PAYLOADS=1``); off by
            default because payloads may carry personal data.
        alarm_topic_arn: where an auto-pause is announced (``CRONBRIDGE_ALARM_TOPIC_ARN``);
            ``None`` announces nothing.
    """

    app: str = "cronbridge"
    table_name: str = "cronbridge-runs"
    job_modules: tuple[str, ...] = ()
    job: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    log_payloads: bool = False
    alarm_topic_arn: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        app = env.get(ENV_APP) or "cronbridge"
        modules = tuple(m.strip() for m in (env.get(ENV_JOB_MODULES) or "").split(",")
                        if m.strip())
        return cls(
            app=app,
            table_name=env.get(ENV_TABLE) or f"{app}-runs",
            job_modules=modules,
            job=env.get(ENV_JOB) or None,
            queue_url=env.get(ENV_QUEUE_URL) or None,
            dlq_url=env.get(ENV_DLQ_URL) or None,
            log_payloads=(env.get(ENV_LOG_PAYLOADS) or "").lower() in ("1", "true", "yes"),
            alarm_topic_arn=env.get(ENV_ALARM_TOPIC) or None,
        )
