"""``ScheduledJobs``: every cronbridge job of an app as AWS resources, from the deployment plan.

Layout (see docs/deploy.md, "How 1,000 jobs fit"):

- the scope's stack holds the run table;
- jobs go into nested stacks by a stable hash of their name, so adding or removing a job
  never moves another job to a different stack (a named queue, function or rule moving
  between stacks fails on deploy: the new stack creates it before the old one deletes it);
- dashboards go into nested stacks of their own, one each, since a dashboard body can be
  large and the parent template is capped at 1 MB.

Nothing crosses a stack boundary by token except the optional alarm topic and table key:
the table, alarms and queues are addressed by their deterministic names, which keeps the
nested stacks far from the 200-parameter limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    CfnResource,
    Duration,
    NestedStack,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cronbridge.core import metrics
from cronbridge.core.errors import PlanError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.plan import (
    DEFAULT_MAX_RECEIVE_COUNT,
    MIN_MAX_RECEIVE_COUNT,
    DeploymentPlan,
    JobPlan,
    build_plan,
)
from cronbridge.project import Project, load_project
from cronbridge.runtime import settings
from cronbridge.cdk.alarms import (
    DEFAULT_DURATION_ALARM_SECONDS,
    alarm_kinds,
    job_alarms,
    missed_slot_window,
)
from cronbridge.cdk.asset import (
    DEFAULT_PYTHON_VERSION,
    LAMBDA_PYTHON_VERSIONS,
    LambdaAsset,
    build_lambda_asset,
    runtime_dependencies,
)
from cronbridge.cdk.auditor import Auditor
from cronbridge.cdk.dashboard import JOBS_PER_DASHBOARD, build_dashboard
from cronbridge.cdk.names import MISSED_SLOT, alarm_name, check_names, dashboard_name
from cronbridge.cdk.scheduler import (grant_manage_schedules, job_schedule, schedule_group,
                                      scheduler_role)
from cronbridge.runtime.auditor import AUDIT_SCHEDULE, DEFAULT_LOOKBACK_HOURS

HANDLER = "cronbridge.runtime.handler.lambda_handler"
# Missed-slot windows are the longest gap over a year from this instant, not from the synth's
# wall clock, so the same jobs always synthesize the same template.
GAP_REFERENCE = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Run-table key schema; must match the DynamoDB adapter's model.
PARTITION_KEY = "pk"  # holds the job name: the IAM condition dynamodb:LeadingKeys keys on it
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"  # epoch seconds
# The run table's item actions; TransactWriteItems is authorised per item as these.
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                 "dynamodb:Query", "dynamodb:ConditionCheckItem")
# EventBridge's maximum retry policy: a scheduled event is worth delivering late (the worker
# applies the job's starting deadline), and what still fails lands in the job's DLQ.
TARGET_RETRY_ATTEMPTS = 185
TARGET_MAX_EVENT_AGE = Duration.hours(24)
DEFAULT_JOB_STACKS = 64
MAX_STACK_RESOURCES = 500  # CloudFormation's per-stack limit
POWERTOOLS_LOG_LEVEL = "INFO"


class ScheduledJobs(Construct):
    """All of an app's jobs: per job an EventBridge rule or an EventBridge Scheduler schedule
    (in the app's schedule group; a dynamic job gets a group of its own instead), SQS queue
    and DLQ, a Lambda worker and five or six alarms; one shared run table; one dashboard (a
    row per job).

    The jobs come from the project's configuration (``[tool.cronbridge]`` in the
    ``pyproject.toml`` at or above ``project_dir``, see :mod:`cronbridge.project`), with
    ``job_modules`` and ``app`` overriding it; give a registry as ``jobs`` to deploy exactly
    those. Each job's function is reachable with :meth:`function` for grants.

    Args:
        project_dir: where the project's ``pyproject.toml`` is (default: the working
            directory or above it).
        job_modules: modules the worker imports to find the jobs (``CRONBRIDGE_JOB_MODULES``);
            their packages are copied into the Lambda asset.
        jobs: the registry (or specs) to deploy instead of the job modules' jobs; its plan is
            computed with :func:`cronbridge.core.plan.build_plan`, exactly as local mode does.
        app: prefix of every resource name (default: the project's ``app``).
        python_version: the Lambda runtime's Python (default: the synthesizing interpreter's,
            which compiles the asset's bytecode).
        bundle_aws_sdk: ship boto3/botocore in the asset instead of using the runtime's.
        max_receive_count: the job queues' redrive threshold (at least 5); the plan raises
            it for a job whose ``max_attempts`` needs more receives.
        alarm_topic: SNS topic every alarm notifies (ALARM and OK), or ``None``.
        duration_alarm_seconds: default longest acceptable run, per job overridable with
            ``duration_alarm_overrides`` (job name to seconds).
        missed_slot_grace_seconds: how long past its schedule's longest gap a job may go
            without a settled slot before the missed-slot alarm fires; ``None`` = 15 minutes
            plus the job's retry budget (see docs/deploy.md). Per job overridable with
            ``missed_slot_grace_overrides`` (job name to seconds).
        removal_policy: for the table and the log groups; ``RETAIN`` keeps run history when
            the stack is deleted (the table also gets deletion protection).
        table_encryption_key: a customer key for the table; ``None`` = AWS-managed key.
        log_retention: how long the functions' logs are kept.
        job_stacks: number of hash buckets jobs are spread over; each non-empty bucket is a
            nested stack. Fix it before the first deploy: changing it moves jobs.
        environment: extra environment variables for every function.
        asset: a prebuilt Lambda asset; ``None`` builds one from the job modules'
            packages and the project's runtime dependencies (see :mod:`cronbridge.cdk.asset`).
        scheduler_for_all: put every job on EventBridge Scheduler, not only those whose
            settings need it (past the 300 rules of an event bus).
        audit_schedule: the auditor's schedule (it records missed slots and runs catch-ups,
            see :mod:`cronbridge.runtime.auditor`); ``None`` deploys no auditor.
        audit_lookback_hours: how far back each audit looks.

    Attributes:
        plan: the :class:`~cronbridge.core.plan.DeploymentPlan` deployed.
        table: the run table.
        job_stacks: nested stack of each job, by job name.
        jobs: each job's :class:`ScheduledJob` (rule, queues, function, role, alarms), by
            job name; :meth:`function` is the short way to a job's function.
        dashboards: the dashboards, in order.
        schedule_group: the app's ``AWS::Scheduler::ScheduleGroup``, ``None`` when no job
            runs on a job-level Scheduler schedule.
        auditor: the :class:`~cronbridge.cdk.auditor.Auditor`, or ``None``.
        missed_slot_windows: each job's missed-slot alarm period, ``None`` for a job
            without that alarm (disabled, no fire time within a year, or a window over the
            7 days CloudWatch can evaluate), by job name.

    Raises:
        ProjectConfigError: no job modules are configured, or the configuration is invalid.
        JobModuleError: a job module cannot be imported.
        JobDefinitionError: a job spec is invalid (raised when the spec is created).
        AssetBuildError: the Lambda asset cannot be built.
        PlanError: the plan breaks a safety rule or an AWS limit (visibility, lease,
            ``maxReceiveCount``, duplicate names, name lengths, resources per stack).
    """

    def __init__(self, scope: Construct, construct_id: str, *,
                 project_dir: str | Path | None = None,
                 job_modules: Iterable[str] = (),
                 jobs: JobRegistry | Iterable[JobSpec] | None = None,
                 app: str | None = None, max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
                 alarm_topic: sns.ITopic | None = None,
                 duration_alarm_seconds: int = DEFAULT_DURATION_ALARM_SECONDS,
                 duration_alarm_overrides: Mapping[str, int] | None = None,
                 missed_slot_grace_seconds: int | None = None,
                 missed_slot_grace_overrides: Mapping[str, int] | None = None,
                 removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
                 table_encryption_key: kms.IKey | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 job_stacks: int = DEFAULT_JOB_STACKS,
                 environment: Mapping[str, str] | None = None,
                 python_version: str = DEFAULT_PYTHON_VERSION,
                 bundle_aws_sdk: bool = False,
                 asset: LambdaAsset | None = None, scheduler_for_all: bool = False,
                 audit_schedule: str | None = AUDIT_SCHEDULE,
                 audit_lookback_hours: int = DEFAULT_LOOKBACK_HOURS) -> None:
        super().__init__(scope, construct_id)
        project = load_project(app=app, job_modules=job_modules,
                               start=Path(project_dir).resolve() if project_dir else None)
        if jobs is None:
            jobs = project.load_jobs()
        # The plan raises a job's maxReceiveCount above its attempts; a configured value
        # under the minimum is still a mistake worth failing on.
        if max_receive_count < MIN_MAX_RECEIVE_COUNT:
            raise PlanError(f"maxReceiveCount {max_receive_count} is below "
                            f"{MIN_MAX_RECEIVE_COUNT}; throttled batches would be dead-lettered")
        plan = build_plan(jobs, app=project.app, job_modules=project.job_modules,
                          max_receive_count=max_receive_count,
                          scheduler_for_all=scheduler_for_all)
        overrides = dict(duration_alarm_overrides or {})
        grace_overrides = dict(missed_slot_grace_overrides or {})
        _check_plan(plan, overrides, grace_overrides, missed_slot_grace_seconds, job_stacks)
        dashboard_chunks = [plan.jobs[i:i + JOBS_PER_DASHBOARD]
                            for i in range(0, len(plan.jobs), JOBS_PER_DASHBOARD)]
        check_names(plan, len(dashboard_chunks))
        self.plan = plan
        self.asset = asset or project_asset(project, python_version=python_version,
                                            bundle_aws_sdk=bundle_aws_sdk)
        runtime = lambda_.Runtime(f"python{self.asset.python_version}",
                                  lambda_.RuntimeFamily.PYTHON)
        self.missed_slot_windows = {
            job.job: missed_slot_window(
                job, after=GAP_REFERENCE,
                grace_seconds=grace_overrides.get(job.job, missed_slot_grace_seconds))
            for job in plan.jobs}

        self.table = dynamodb.Table(
            self, "RunTable", table_name=plan.table_name,
            partition_key=dynamodb.Attribute(name=PARTITION_KEY,
                                             type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            time_to_live_attribute=TTL_ATTRIBUTE,
            encryption=(dynamodb.TableEncryption.CUSTOMER_MANAGED if table_encryption_key
                        else dynamodb.TableEncryption.AWS_MANAGED),
            encryption_key=table_encryption_key,
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )

        group_name = next((j.schedule_group for j in plan.jobs if j.via == "scheduler"), None)
        self.schedule_group = (schedule_group(self, "ScheduleGroup", group_name)
                               if group_name else None)
        self.auditor = None if audit_schedule is None else Auditor(
            self, "Auditor", plan=plan, table=self.table,
            code=lambda_.Code.from_asset(str(self.asset.path), asset_hash=self.asset.asset_hash),
            runtime=runtime, schedule=audit_schedule, lookback_hours=audit_lookback_hours,
            table_encryption_key=table_encryption_key, log_retention=log_retention,
            removal_policy=removal_policy, environment=environment or {})
        if self.auditor is not None:
            _acknowledge_runtime(self.auditor.function, runtime)

        self.job_stacks: dict[str, NestedStack] = {}
        self.jobs: dict[str, ScheduledJob] = {}
        buckets: dict[int, list[JobPlan]] = {}
        for job in plan.jobs:
            buckets.setdefault(job_bucket(job.job, job_stacks), []).append(job)
        for bucket, bucket_jobs in sorted(buckets.items()):
            stack = NestedStack(self, f"Jobs{bucket:03d}",
                                description=f"cronbridge {plan.app}: jobs in bucket {bucket}")
            stack.node.add_dependency(self.table)
            if self.schedule_group is not None:
                stack.node.add_dependency(self.schedule_group)
            # One Code per stack (CDK binds an asset to one stack); the same hash makes it one
            # S3 object, uploaded once.
            code = lambda_.Code.from_asset(str(self.asset.path),
                                           asset_hash=self.asset.asset_hash)
            for job in bucket_jobs:
                self.jobs[job.job] = ScheduledJob(stack, job.job, plan=plan, job=job, code=code,
                                                  runtime=runtime,
                             alarm_topic=alarm_topic,
                             duration_alarm_seconds=overrides.get(job.job,
                                                                  duration_alarm_seconds),
                             missed_slot=self.missed_slot_windows[job.job],
                             table_encryption_key=table_encryption_key,
                             log_retention=log_retention, removal_policy=removal_policy,
                             environment=environment or {})
                self.job_stacks[job.job] = stack
            check_resource_count(stack)

        self.dashboards = []
        for index, chunk in enumerate(dashboard_chunks, start=1):
            stack = NestedStack(self, f"Dashboard{index:02d}",
                                description=f"cronbridge {plan.app}: dashboard {index}")
            self.dashboards.append(build_dashboard(
                stack, "Dashboard", app=plan.app,
                name=dashboard_name(plan.app, index, len(dashboard_chunks)), jobs=chunk,
                alarm_kinds={job.job: alarm_kinds(self.missed_slot_windows[job.job])
                             for job in chunk}, audit_row=index == 1))

    def function(self, job: str) -> lambda_.Function:
        """Job ``job``'s worker function: an ``IGrantable``, so its permissions are granted
        the CDK way, e.g. ``table.grant_read_write_data(jobs.function("write-row"))``.

        Raises:
            KeyError: no job of that name is deployed here (the message lists the jobs).
        """
        try:
            return self.jobs[job].function
        except KeyError:
            raise KeyError(f"no job {job!r} in this ScheduledJobs; jobs: "
                           f"{', '.join(sorted(self.jobs))}") from None

    def grant_manage_schedules(self, job: str, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` manage dynamic job ``job``'s runtime schedules with
        :mod:`cronbridge.schedules` (create, get, list, update, pause, resume, delete):
        Scheduler actions on that job's schedule group only, and ``iam:PassRole`` on that
        job's Scheduler role only.

        Raises:
            KeyError: no such job here.
            PlanError: the job is not ``dynamic``.
        """
        self.function(job)  # the KeyError listing the jobs
        plan = self.plan.job(job)
        if plan.via != "dynamic":
            raise PlanError(f"job {job!r} has no runtime schedules: declare it with "
                            "dynamic=True")
        return grant_manage_schedules(plan, grantee, self)


class ScheduledJob(Construct):
    """One job's rule or Scheduler schedule, queue, DLQ, function, log group, role and
    alarms (``missed_slot``: the missed-slot alarm's window, ``None`` for none).

    Attributes:
        rule, queue, dlq, function, role, log_group, alarms: the job's resources (``rule``
            is ``None`` for a job on Scheduler).
        schedule: the job-level ``AWS::Scheduler::Schedule`` (``None`` unless the job's
            ``via`` is ``scheduler``); schedule_group: a dynamic job's own group;
            scheduler_role: the role Scheduler assumes (``None`` for a job on a rule).
    """

    def __init__(self, scope: Construct, construct_id: str, *, plan: DeploymentPlan,
                 job: JobPlan, code: lambda_.Code, runtime: lambda_.Runtime,
                 alarm_topic: sns.ITopic | None,
                 duration_alarm_seconds: int, missed_slot: Duration | None,
                 table_encryption_key: kms.IKey | None,
                 log_retention: logs.RetentionDays, removal_policy: RemovalPolicy,
                 environment: Mapping[str, str]) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # SQS-managed SSE: EventBridge cannot send to a queue encrypted with alias/aws/sqs.
        self.dlq = sqs.Queue(
            self, "Dlq", queue_name=job.dlq_name, encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.seconds(job.dlq_retention_seconds), enforce_ssl=True,
            max_message_size_bytes=job.dlq_max_message_bytes)
        self.queue = sqs.Queue(
            self, "Queue", queue_name=job.queue_name, encryption=sqs.QueueEncryption.SQS_MANAGED,
            visibility_timeout=Duration.seconds(job.visibility_timeout_seconds),
            retention_period=Duration.seconds(job.queue_retention_seconds), enforce_ssl=True,
            max_message_size_bytes=job.queue_max_message_bytes,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq,
                                                  max_receive_count=job.max_receive_count))
        self.rule: events.Rule | None = None
        self.schedule: scheduler.CfnSchedule | None = None
        self.schedule_group: scheduler.CfnScheduleGroup | None = None
        self.scheduler_role: iam.Role | None = None
        if job.via == "rule":
            self.rule = events.Rule(
                self, "Rule", rule_name=job.rule_name, enabled=job.enabled,
                description=f"cronbridge {job.job}: {job.description}"[:512],
                schedule=events.Schedule.expression(job.schedule_expression))
            # The target adds the queue policy statements: only this rule (aws:SourceArn)
            # may send to the queue, and to the DLQ when delivery fails.
            self.rule.add_target(targets.SqsQueue(
                self.queue, dead_letter_queue=self.dlq, retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=TARGET_MAX_EVENT_AGE))
        else:
            self.scheduler_role = scheduler_role(self, job, self.queue, self.dlq)
            if job.via == "scheduler":
                self.schedule = job_schedule(self, job, self.queue, self.dlq,
                                             self.scheduler_role)
            else:
                self.schedule_group = schedule_group(self, "ScheduleGroup",
                                                     job.schedule_group or "")

        self.log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/lambda/{job.function_name}",
            retention=log_retention, removal_policy=removal_policy)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"cronbridge worker for job {job.job}")
        self.function = lambda_.Function(
            self, "Function", function_name=job.function_name,
            description=f"cronbridge worker: {job.job}"[:256], runtime=runtime,
            architecture=lambda_.Architecture.ARM_64, handler=HANDLER, code=code,
            timeout=Duration.seconds(job.timeout_seconds), memory_size=job.memory_mb,
            role=self.role, log_group=self.log_group, tracing=lambda_.Tracing.ACTIVE,
            environment={
                settings.ENV_APP: plan.app,
                settings.ENV_TABLE: plan.table_name,
                settings.ENV_JOB_MODULES: ",".join(plan.job_modules),
                settings.ENV_JOB: job.job,
                settings.ENV_QUEUE_URL: self.queue.queue_url,
                settings.ENV_DLQ_URL: self.dlq.queue_url,
                "POWERTOOLS_SERVICE_NAME": metrics.SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": POWERTOOLS_LOG_LEVEL,
                **environment,
            },
        )
        self.log_group.grant_write(self.role)
        # A permanent failure or an exhausted slot is sent to the DLQ by the worker itself.
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["sqs:SendMessage"], resources=[self.dlq.queue_arn]))
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=list(TABLE_ACTIONS),
            resources=[stack.format_arn(service="dynamodb", resource="table",
                                        resource_name=plan.table_name)],
            conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [job.job]}}))
        if table_encryption_key is not None:
            table_encryption_key.grant_encrypt_decrypt(self.role)
        # Receive, delete, change visibility (backoff) and read attributes of its own queue.
        self.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=job.batch_size, max_concurrency=job.max_concurrency,
            report_batch_item_failures=True))
        _acknowledge_runtime(self.function, runtime)
        if job.pause_after_failures is not None:
            self._allow_auto_pause(plan, job, alarm_topic)
        Validations.of(self.role).acknowledge(Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support "
                   "no resource-level permissions, so their resource must be '*'."))

        self.alarms = job_alarms(self, plan, job, duration_limit_seconds=duration_alarm_seconds,
                                 missed_slot=missed_slot, topic=alarm_topic)


    def _allow_auto_pause(self, plan: DeploymentPlan, job: JobPlan,
                          alarm_topic: sns.ITopic | None) -> None:
        """Let the worker pause its own job as ``cronbridge disable`` does: disable its rule
        or Scheduler schedule (a dynamic job's per-key schedules stay; its paused flag skips
        their deliveries), silence its missed-slot alarm, and tell the alarm topic."""
        stack = Stack.of(self)
        if self.rule is not None:
            self.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["events:DisableRule"], resources=[self.rule.rule_arn]))
        elif self.schedule is not None and self.scheduler_role is not None:
            self.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["scheduler:GetSchedule", "scheduler:UpdateSchedule"],
                resources=[stack.format_arn(
                    service="scheduler", resource="schedule",
                    resource_name=f"{job.schedule_group}/{job.schedule_name}")]))
            # UpdateSchedule re-sends the target, with the role Scheduler assumes.
            self.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["iam:PassRole"], resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}))
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["cloudwatch:DisableAlarmActions"],
            resources=[stack.format_arn(service="cloudwatch", resource="alarm",
                                        resource_name=alarm_name(plan.app, job.job, MISSED_SLOT),
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)]))
        if alarm_topic is not None:
            alarm_topic.grant_publish(self.role)
            Validations.of(self.role).acknowledge(Acknowledgment(
                id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                reason="Publishing to the encrypted alarm topic needs kms:GenerateDataKey* "
                       "(SNS's documented permission), granted on the topic's key only."))
            self.function.add_environment(settings.ENV_ALARM_TOPIC, alarm_topic.topic_arn)


def _acknowledge_runtime(function: lambda_.Function, runtime: lambda_.Runtime) -> None:
    if runtime.name != f"python{LAMBDA_PYTHON_VERSIONS[-1]}":
        Validations.of(function).acknowledge(Acknowledgment(
            id="AwsSolutions-L1",
            reason="The runtime is the Python that compiled the asset's bytecode "
                   "(ScheduledJobs(python_version=...) chooses it)."))


def project_asset(project: Project, *, python_version: str = DEFAULT_PYTHON_VERSION,
                  bundle_aws_sdk: bool = False) -> LambdaAsset:
    """Build the Lambda asset of ``project``: its job packages, its runtime dependencies
    (its requirements file, else ``[project].dependencies``) and cronbridge's worker.

    Raises:
        AssetBuildError: pip or the bytecode compiler failed, or a package is missing.
    """
    root = project.root or Path.cwd()
    return build_lambda_asset(
        project.job_modules, build_dir=root / ".cronbridge" / "build",
        requirements=runtime_dependencies(project.pyproject) if project.pyproject else (),
        requirements_file=project.requirements, python_version=python_version,
        bundle_aws_sdk=bundle_aws_sdk)


def job_bucket(name: str, buckets: int) -> int:
    """The stable bucket (nested stack) of job ``name``: SHA-256 of the name modulo
    ``buckets``, independent of the other jobs and of Python's hash seed."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % buckets


def check_resource_count(stack: Stack) -> None:
    """Raise :class:`PlanError` if ``stack`` holds more than CloudFormation's 500 resources."""
    # A nested stack's own AWS::CloudFormation::Stack resource lives in its parent, so every
    # CfnResource below the stack's node is one of its resources.
    count = sum(1 for c in stack.node.find_all() if isinstance(c, CfnResource))
    if count > MAX_STACK_RESOURCES:
        raise PlanError(f"nested stack {stack.node.id} would hold {count} resources, over "
                        f"CloudFormation's {MAX_STACK_RESOURCES}: deploy with more job stacks "
                        "(cronbridge:job_stacks) before the first deploy")


def _check_plan(plan: DeploymentPlan, duration_overrides: Mapping[str, int],
                grace_overrides: Mapping[str, int], grace_seconds: int | None,
                job_stacks: int) -> None:
    if job_stacks < 1:
        raise PlanError(f"job_stacks must be at least 1, got {job_stacks}")
    jobs = {j.job for j in plan.jobs}
    for what, overrides in (("duration alarm", duration_overrides),
                            ("missed-slot grace", grace_overrides)):
        unknown = sorted(set(overrides) - jobs)
        if unknown:
            raise PlanError(f"{what} overrides name unknown jobs: {', '.join(unknown)}")
    negative = sorted(job for job, s in grace_overrides.items() if s < 0)
    if (grace_seconds is not None and grace_seconds < 0) or negative:
        raise PlanError("missed-slot grace must be 0 seconds or more"
                        + (f" (overrides of {', '.join(negative)})" if negative else ""))
