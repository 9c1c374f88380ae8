"""What the operations need from a target: the plan, the jobs, clients and the run table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.adapters.eventbridge import EventBridgeRules
from cronbridge.adapters.scheduler import SchedulerSchedules
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.plan import DeploymentPlan, JobPlan


@dataclass(frozen=True)
class JobQueues:
    """A job's queues as found on the target (URLs and ARNs)."""

    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


class Backend(Protocol):
    """The AWS account or emulator the operations act on (``cronbridge.cli.target.Target``).

    Attributes:
        plan: the deployment plan (resource names).
        registry: the jobs.
        session: the boto3 session (for ``cronbridge.schedules``).
    """

    plan: DeploymentPlan
    registry: JobRegistry
    session: Any

    @property
    def sqs(self) -> Any: ...

    @property
    def rules(self) -> EventBridgeRules: ...

    @property
    def scheduler(self) -> SchedulerSchedules: ...

    @property
    def store(self) -> DynamoRunStore: ...

    def client(self, service: str, *, max_attempts: int | None = None) -> Any:
        """A boto3 client for ``service`` on the target."""

    def describe(self) -> str:
        """Where the operations act, for messages."""

    def job(self, name: str) -> JobPlan:
        """The plan of job ``name``; raises ``UnknownJobError``."""

    def spec(self, name: str) -> JobSpec:
        """The spec of job ``name``; raises ``UnknownJobError``."""

    def queues(self, job: JobPlan) -> JobQueues:
        """The job's queues; raises ``NotDeployedError``."""

    def switch_state(self, job: JobPlan) -> str | None:
        """The state of the job's rule or Scheduler schedule; ``None``: not deployed."""

    def rule_state(self, job: JobPlan) -> str:
        """``ENABLED`` or ``DISABLED``; raises ``NotDeployedError``."""
