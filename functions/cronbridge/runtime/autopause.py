"""The auto-pause on AWS: pause a job as ``cronbridge disable`` does, then tell the operators.

The worker calls it (through the service's ``Pauser`` port) when a job's streak of DEAD
slots reaches its ``pause_after_failures``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.adapters.eventbridge import EventBridgeRules
from cronbridge.adapters.scheduler import SchedulerSchedules
from cronbridge.core.plan import DeploymentPlan
from cronbridge.ops.switch import switch_job

AUTO_PAUSE = "auto-pause"
SNS_SUBJECT_LIMIT = 100


class AutoPauser:
    """The :class:`~cronbridge.core.ports.Pauser` port on AWS.

    Args:
        plan: the deployment plan (rule and alarm names).
        store: the run table.
        topic_arn: the alarm topic the notification goes to; ``None`` sends none.
        client: makes a boto3 client by service name (on first use).
    """

    def __init__(self, plan: DeploymentPlan, store: DynamoRunStore, *, topic_arn: str | None,
                 client: Callable[[str], Any]) -> None:
        self.plan = plan
        self.store = store
        self.topic_arn = topic_arn
        self.client = client

    def pause(self, job: str, *, reason: str, now: float) -> bool:
        """Pause ``job`` unless it is paused already (then nothing is sent), and publish one
        notification to the alarm topic.

        Raises:
            botocore.exceptions.ClientError: e.g. the function may not disable its rule.
        """
        job_plan = self.plan.job(job)
        if not switch_job(store=self.store, rules=EventBridgeRules(self.client("events")),
                          cloudwatch=self.client("cloudwatch"), app=self.plan.app, job=job_plan,
                          enabled=False, now=now, by=AUTO_PAUSE, reason=reason,
                          unless_paused=True,
                          scheduler=SchedulerSchedules(self.client("scheduler"))
                          if job_plan.via == "scheduler" else None):
            return False
        if self.topic_arn:
            at = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.client("sns").publish(
                TopicArn=self.topic_arn,
                Subject=f"cronbridge: {self.plan.app}/{job} paused itself"[:SNS_SUBJECT_LIMIT],
                Message=json.dumps({"app": self.plan.app, "job": job, "paused_at": at,
                                    "paused_by": AUTO_PAUSE, "reason": reason,
                                    "resume": f"cronbridge enable {job}"}))
        return True
