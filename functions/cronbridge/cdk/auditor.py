"""The app's auditor: one function on its own schedule (see :mod:`cronbridge.runtime.auditor`).

It reads every job's runs and writes ``MISSED`` records, so its role may touch the whole run
table (no ``dynamodb:LeadingKeys`` condition, unlike a worker's), and may send backfills to
the queues of the jobs with a catch-up policy only.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cronbridge.core import metrics
from cronbridge.core.plan import DeploymentPlan
from cronbridge.runtime import settings
from cronbridge.runtime.auditor import AUDIT_SCHEDULE, DEFAULT_LOOKBACK_HOURS, ENV_LOOKBACK_HOURS

HANDLER = "cronbridge.runtime.auditor.lambda_handler"
TIMEOUT = Duration.minutes(5)
MEMORY_MB = 512
# Reads (a key-range query per job, the job record) and the conditional MISSED write.
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem")


def auditor_name(app: str) -> str:
    """The auditor's function and rule name."""
    return f"{app}-auditor"


class Auditor(Construct):
    """The auditor's function, role, log group and schedule rule.

    Attributes:
        function, role, rule, log_group: its resources.
    """

    def __init__(self, scope: Construct, construct_id: str, *, plan: DeploymentPlan,
                 table: dynamodb.ITable, code: lambda_.Code, runtime: lambda_.Runtime,
                 schedule: str = AUDIT_SCHEDULE,
                 lookback_hours: int = DEFAULT_LOOKBACK_HOURS,
                 table_encryption_key: kms.IKey | None,
                 log_retention: logs.RetentionDays, removal_policy: RemovalPolicy,
                 environment: Mapping[str, str]) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        name = auditor_name(plan.app)
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/lambda/{name}",
                                       retention=log_retention, removal_policy=removal_policy)
        self.role = iam.Role(self, "Role",
                             assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"cronbridge auditor of app {plan.app}")
        self.function = lambda_.Function(
            self, "Function", function_name=name, runtime=runtime, code=code,
            description=f"cronbridge auditor: records missed slots of {plan.app}"[:256],
            architecture=lambda_.Architecture.ARM_64, handler=HANDLER, timeout=TIMEOUT,
            memory_size=MEMORY_MB, role=self.role, log_group=self.log_group,
            environment={
                settings.ENV_APP: plan.app,
                settings.ENV_TABLE: plan.table_name,
                settings.ENV_JOB_MODULES: ",".join(plan.job_modules),
                ENV_LOOKBACK_HOURS: str(lookback_hours),
                "POWERTOOLS_SERVICE_NAME": metrics.SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
                **environment,
            })
        self.log_group.grant_write(self.role)
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=list(TABLE_ACTIONS), resources=[table.table_arn]))
        if table_encryption_key is not None:
            table_encryption_key.grant_encrypt_decrypt(self.role)
        catching_up = [job for job in plan.jobs if job.catchup != "none"]
        if catching_up:
            self.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["sqs:GetQueueUrl", "sqs:SendMessage"],
                resources=[stack.format_arn(service="sqs", resource=job.queue_name)
                           for job in catching_up]))
        self.rule = events.Rule(self, "Rule", rule_name=name,
                                description=f"cronbridge auditor of app {plan.app}",
                                schedule=events.Schedule.expression(schedule))
        self.rule.add_target(targets.LambdaFunction(self.function, retry_attempts=0))
