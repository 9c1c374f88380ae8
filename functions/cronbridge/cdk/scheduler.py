"""A job's EventBridge Scheduler resources: its schedule (``via="scheduler"``) or its own
schedule group for runtime per-key schedules (``via="dynamic"``), the role Scheduler assumes
to send to the job's queue, and the grant that lets a principal manage a dynamic job's
schedules.

Target settings match the rules': the queue with SQS-managed encryption, the longest retry
policy (185 attempts over 24 h: the worker applies the job's starting deadline), and the
job's DLQ for what still cannot be delivered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cronbridge.adapters.scheduler import RETRY_ATTEMPTS
from cronbridge.core.messages import scheduler_input
from cronbridge.core.plan import EVENT_MAX_AGE_SECONDS, JobPlan

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
# What a principal needs to manage one job's schedules (cronbridge.schedules). ListSchedules
# supports no resource-level permission, so it is granted on '*' (it lists names only).
MANAGE_ACTIONS = ("scheduler:CreateSchedule", "scheduler:GetSchedule",
                  "scheduler:UpdateSchedule", "scheduler:DeleteSchedule")
LIST_ACTION = "scheduler:ListSchedules"


def scheduler_role(scope: Construct, job: JobPlan, queue: sqs.IQueue,
                   dlq: sqs.IQueue) -> iam.Role:
    """The role Scheduler assumes for ``job``'s schedules: send to its queue and DLQ only,
    assumable only on behalf of this account."""
    stack = Stack.of(scope)
    role = iam.Role(
        scope, "SchedulerRole", role_name=job.scheduler_role_name,
        description=f"EventBridge Scheduler sends {job.job}'s slots to its queue",
        assumed_by=iam.ServicePrincipal(SCHEDULER_PRINCIPAL, conditions={
            "StringEquals": {"aws:SourceAccount": stack.account}}))
    queue.grant_send_messages(role)
    dlq.grant_send_messages(role)
    return role


def target(job: JobPlan, queue: sqs.IQueue, dlq: sqs.IQueue,
           role: iam.IRole) -> scheduler.CfnSchedule.TargetProperty:
    """The SQS target of the job-level schedule (input: :func:`scheduler_input`)."""
    return scheduler.CfnSchedule.TargetProperty(
        arn=queue.queue_arn, role_arn=role.role_arn, input=scheduler_input(job.job),
        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
            maximum_retry_attempts=RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=EVENT_MAX_AGE_SECONDS),
        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq.queue_arn))


def job_schedule(scope: Construct, job: JobPlan, queue: sqs.IQueue, dlq: sqs.IQueue,
                 role: iam.IRole) -> scheduler.CfnSchedule:
    """``job``'s ``AWS::Scheduler::Schedule`` in the app's schedule group.

    A one-time ``at()`` schedule is kept after it fires (``ActionAfterCompletion: NONE``):
    a stack resource that deletes itself would drift.
    """
    window = job.flexible_window_minutes
    return scheduler.CfnSchedule(
        scope, "Schedule", name=job.schedule_name, group_name=job.schedule_group,
        description=f"cronbridge {job.job}: {job.description}"[:512],
        schedule_expression=job.schedule_expression,
        schedule_expression_timezone=job.timezone,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode="FLEXIBLE" if window else "OFF", maximum_window_in_minutes=window),
        start_date=_iso(job.start_date), end_date=_iso(job.end_date),
        state="ENABLED" if job.enabled else "DISABLED",
        target=target(job, queue, dlq, role))


def schedule_group(scope: Construct, construct_id: str, name: str) -> scheduler.CfnScheduleGroup:
    """An ``AWS::Scheduler::ScheduleGroup`` called ``name``."""
    return scheduler.CfnScheduleGroup(scope, construct_id, name=name)


def grant_manage_schedules(job: JobPlan, grantee: iam.IGrantable, scope: Construct) -> iam.Grant:
    """Let ``grantee`` create, read, update, pause, resume, list and delete ``job``'s
    runtime schedules: Scheduler actions on the job's own group only, and ``iam:PassRole``
    on the job's Scheduler role only (passed to Scheduler, nothing else)."""
    stack = Stack.of(scope)
    schedules = stack.format_arn(service="scheduler", resource="schedule",
                                 resource_name=f"{job.schedule_group}/*",
                                 arn_format=ArnFormat.SLASH_RESOURCE_NAME)
    role_arn = stack.format_arn(service="iam", region="", resource="role",
                                resource_name=job.scheduler_role_name)
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=list(MANAGE_ACTIONS),
                                       resource_arns=[schedules])
    grant = grant.combine(iam.Grant.add_to_principal(
        grantee=grantee, actions=[LIST_ACTION], resource_arns=["*"]))
    return grant.combine(iam.Grant.add_to_principal(
        grantee=grantee, actions=["iam:PassRole"], resource_arns=[role_arn],
        conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_PRINCIPAL}}))


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
