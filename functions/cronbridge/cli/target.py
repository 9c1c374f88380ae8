"""Which AWS the operator commands act on, and the job resources they find there.

The target follows the standard AWS conventions, so the same command works on a real
account, LocalStack or ``cronbridge local --serve``:

* credentials: the default chain (environment, ``AWS_PROFILE``, SSO, instance role ...);
* region: ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the profile's region;
* endpoint: ``AWS_ENDPOINT_URL`` (and the per-service ``AWS_ENDPOINT_URL_<SERVICE>``).

Resources are found by the deployment plan's names (``build_plan`` over the project's job
modules and app name, see :mod:`cronbridge.cli.project_opts`), the same names the CDK stack and the local
provisioner create. Exit codes: a job name the plan does not have is bad input (2, listing
the known jobs); a job the target does not have is a failed operation (1, naming it).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.adapters.eventbridge import EventBridgeRules
from cronbridge.adapters.scheduler import ENABLED, SchedulerSchedules
from cronbridge.cli.local_cmd import parse_start
from cronbridge.cli.project_opts import BadInput, project_jobs, project_options
from cronbridge.core.errors import PlanError, UnknownJobError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.plan import DeploymentPlan, JobPlan, build_plan
from cronbridge.ops.backend import JobQueues
from cronbridge.ops.errors import InvalidRequest, NotDeployedError, describe_error
from cronbridge.ops.times import iso  # noqa: F401 - the commands' formatter too
from cronbridge.project import Project

F = TypeVar("F", bound=Callable[..., Any])
# SQS's error code for a missing queue: JSON protocol, then the older query protocol.
_NO_SUCH_QUEUE = ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


class OperationFailed(click.ClickException):
    """The command was understood but the target could not do it (exit status 1)."""

    exit_code = 1


class Instant(click.ParamType):
    """An ISO-8601 instant on the command line (UTC when it has no offset)."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_start(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


INSTANT = Instant()


class Target:
    """The AWS account/emulator the commands act on, and the deployment plan's names there.

    Build one with :meth:`load`. Clients are created on first use.

    Attributes:
        plan: the deployment plan (resource names).
        registry: the jobs.
        region: the AWS region.
        endpoint: ``AWS_ENDPOINT_URL`` when set (an emulator), else ``None`` (AWS).
    """

    def __init__(self, plan: DeploymentPlan, registry: JobRegistry, session: Any,
                 region: str, endpoint: str | None) -> None:
        self.plan = plan
        self.registry = registry
        self.session = session
        self.region = region
        self.endpoint = endpoint

    @classmethod
    def load(cls, project: Project) -> Target:
        """Load the project's jobs, build the plan and resolve region and credentials'
        profile.

        Raises:
            BadInput: a job module cannot be imported, a job or the plan is invalid (e.g. a
                bad schedule expression).
            click.UsageError: no region is configured, or the profile does not exist.
        """
        import boto3
        from botocore.exceptions import ProfileNotFound

        registry = project_jobs(project)
        try:
            plan = build_plan(registry, app=project.app, job_modules=project.job_modules)
        except PlanError as exc:
            raise BadInput(f"the job definitions are invalid: {exc}") from None
        try:
            session = boto3.Session()
        except ProfileNotFound as exc:
            raise click.UsageError(f"{exc}; fix AWS_PROFILE") from None
        region = os.environ.get("AWS_REGION") or session.region_name
        if not region:
            raise click.UsageError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                                   "region in your AWS_PROFILE)")
        # botocore reads AWS_DEFAULT_REGION but not AWS_REGION, so pass the region on.
        session = boto3.Session(region_name=region)
        return cls(plan, registry, session, region, os.environ.get("AWS_ENDPOINT_URL") or None)

    def describe(self) -> str:
        """Where the commands act, for messages: ``AWS us-east-1`` or the endpoint."""
        return f"{self.endpoint} ({self.region})" if self.endpoint else f"AWS {self.region}"

    # -- clients --------------------------------------------------------------------------

    def client(self, service: str, *, max_attempts: int | None = None) -> Any:
        """A boto3 client for ``service`` on the target (``max_attempts``: SDK attempts,
        default the SDK's)."""
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": max_attempts}) \
            if max_attempts else None
        return self.session.client(service, config=config)

    @functools.cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @functools.cached_property
    def rules(self) -> EventBridgeRules:
        return EventBridgeRules(self.client("events"))

    @functools.cached_property
    def scheduler(self) -> SchedulerSchedules:
        return SchedulerSchedules(self.client("scheduler"))

    @functools.cached_property
    def store(self) -> DynamoRunStore:
        host = (os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or self.endpoint)
        return DynamoRunStore(self.plan.table_name, region=self.region, host=host)

    # -- jobs -----------------------------------------------------------------------------

    def job(self, name: str) -> JobPlan:
        """The plan of job ``name``.

        Raises:
            UnknownJobError: no such job (exit 2 in a command), listing the known jobs.
        """
        return self.plan.job(name)

    def spec(self, name: str) -> JobSpec:
        """The job spec of ``name`` (same errors as :meth:`job`)."""
        return self.registry.get(self.job(name).job)

    def queues(self, job: JobPlan) -> JobQueues:
        """The job's queue and DLQ on the target.

        Raises:
            NotDeployedError: the target has no such queue (the job is not deployed there).
        """
        return JobQueues(*self._queue(job, job.queue_name), *self._queue(job, job.dlq_name))

    def _queue(self, job: JobPlan, name: str) -> tuple[str, str]:
        from botocore.exceptions import ClientError

        try:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _NO_SUCH_QUEUE:
                raise
            raise self.not_deployed(job, f"queue {name!r}") from None
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def switch_state(self, job: JobPlan) -> str | None:
        """The state of what fires the job: its rule's or its Scheduler schedule's
        (``ENABLED``/``DISABLED``); a dynamic job's is ``ENABLED`` while its schedule group
        exists (each key's schedule has its own). ``None``: not on the target."""
        if job.via == "rule":
            return self.rules.state(job.rule_name)
        group = job.schedule_group or ""
        if job.via == "scheduler":
            return self.scheduler.state(group, job.schedule_name)
        from botocore.exceptions import ClientError

        try:
            self.scheduler.client.get_schedule_group(Name=group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        return ENABLED

    def set_switch(self, job: JobPlan, enabled: bool) -> None:
        """Enable or disable the job's rule or Scheduler schedule (idempotent)."""
        if job.via == "rule":
            self.rules.set_enabled(job.rule_name, enabled)
        else:
            self.scheduler.set_enabled(job.schedule_group or "", job.schedule_name, enabled)

    def switch_name(self, job: JobPlan) -> str:
        """What fires the job, for messages."""
        return {"rule": f"EventBridge rule {job.rule_name!r}",
                "scheduler": f"Scheduler schedule {job.schedule_group}/{job.schedule_name}",
                "dynamic": f"Scheduler schedule group {job.schedule_group!r}"}[job.via]

    def rule_state(self, job: JobPlan) -> str:
        """``ENABLED`` or ``DISABLED``: :meth:`switch_state`, required.

        Raises:
            NotDeployedError: the target has no such rule or schedule.
        """
        state = self.switch_state(job)
        if state is None:
            raise self.not_deployed(job, self.switch_name(job))
        return state

    def not_deployed(self, job: JobPlan, what: str) -> NotDeployedError:
        return NotDeployedError(
            f"job {job.job!r} is not deployed on {self.describe()}: {what} not found. Deploy "
            f"the stack (app {self.plan.app!r}), or start `cronbridge local --serve` and "
            f"export the AWS_ENDPOINT_URL it prints; check --app and AWS_REGION.")


# -- command plumbing -------------------------------------------------------------------

def target_command(func: F) -> F:
    """Add ``--app`` and ``--jobs-module``, pass a loaded :class:`Target` as ``target``, and
    turn AWS errors into exit status 1 with a message that says what to check."""

    @project_options
    @functools.wraps(func)
    def wrapper(project: Project, **kwargs: Any) -> Any:
        target = Target.load(project)
        with aws_errors(target):
            return func(target=target, **kwargs)

    return wrapper  # type: ignore[return-value]


class aws_errors:  # noqa: N801 - used as a context manager, reads like one
    """Turn SDK and run-table errors into :class:`OperationFailed` naming the target."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or isinstance(exc, (click.ClickException, click.exceptions.Exit,
                                           click.Abort)):
            return False
        if isinstance(exc, UnknownJobError):
            raise click.BadParameter(str(exc), param_hint="JOB") from None
        if isinstance(exc, InvalidRequest):
            raise click.BadParameter(str(exc), param_hint=exc.param) from None
        message = describe_error(exc, self.target.describe(), self.target.plan.table_name)
        if message is None:
            return False
        raise OperationFailed(message) from exc


def output(as_json: bool, data: Any, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` for the human form."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        render()


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON instead of a table.")


def human_seconds(seconds: float | None) -> str:
    """``95`` -> ``1m 35s``; ``None`` -> ``-``."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            rest = seconds % size
            smaller = {"d": ("h", 3600), "h": ("m", 60), "m": ("s", 1)}[unit]
            tail = f" {rest // smaller[1]}{smaller[0]}" if rest // smaller[1] else ""
            return f"{seconds // size}{unit}{tail}"
    return f"{seconds}s"


def human_duration_ms(ms: int | None) -> str:
    """``420`` -> ``420 ms``, ``95000`` -> ``1m 35s``; ``None`` -> ``-``."""
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 1000 else human_seconds(ms / 1000)
