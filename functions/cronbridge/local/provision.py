"""Create the deployment plan's resources on the embedded AWS (or LocalStack).

The same plan feeds the CDK stack, so names and settings match the cloud.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from cronbridge.adapters.dynamodb import TTL_ATTRIBUTE
from cronbridge.adapters.scheduler import SchedulerSchedules, target_request
from cronbridge.core.messages import scheduler_input
from cronbridge.core.plan import EVENT_MAX_AGE_SECONDS, DeploymentPlan, JobPlan


@dataclass(frozen=True)
class JobResources:
    """What the provisioner created for one job (``rule_arn`` is ``None`` for a job on
    EventBridge Scheduler)."""

    plan: JobPlan
    rule_arn: str | None
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def provision(plan: DeploymentPlan) -> dict[str, JobResources]:
    """Create (idempotently) the run table and, per job, the DLQ, the queue (redrive to the
    DLQ after ``max_receive_count`` receives), and the EventBridge rule targeting the queue,
    or for a job on Scheduler its schedule group and schedule (a dynamic job: its group).

    Returns the resources by job name.
    """
    dynamodb = boto3.client("dynamodb")
    existing = dynamodb.list_tables()["TableNames"]
    if plan.table_name not in existing:
        dynamodb.create_table(
            TableName=plan.table_name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            SSESpecification={"Enabled": True})
        dynamodb.update_time_to_live(TableName=plan.table_name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    return {job.job: _provision_job(job) for job in plan.jobs}


def alarm_topic(plan: DeploymentPlan) -> str:
    """Create (idempotently) the SNS topic ``<app>-alarms`` that stands for the stack's alarm
    topic; returns its ARN."""
    return boto3.client("sns").create_topic(Name=f"{plan.app}-alarms")["TopicArn"]


def _provision_job(job: JobPlan) -> JobResources:
    sqs = boto3.client("sqs")
    events = boto3.client("events")
    dlq_url = sqs.create_queue(QueueName=job.dlq_name, Attributes={
        "MessageRetentionPeriod": str(job.dlq_retention_seconds),
        "MaximumMessageSize": str(job.dlq_max_message_bytes),
        "SqsManagedSseEnabled": "true"})["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    queue_url = sqs.create_queue(QueueName=job.queue_name, Attributes={
        "VisibilityTimeout": str(job.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(job.queue_retention_seconds),
        "MaximumMessageSize": str(job.queue_max_message_bytes),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": job.max_receive_count})})["QueueUrl"]
    queue_arn = _arn(sqs, queue_url)
    if job.via != "rule":
        _provision_scheduler(job, queue_arn, dlq_arn)
        return JobResources(job, None, queue_url, queue_arn, dlq_url, dlq_arn)
    rule_arn = events.put_rule(Name=job.rule_name, ScheduleExpression=job.schedule_expression,
                               State="ENABLED" if job.enabled else "DISABLED",
                               Description=job.description[:512])["RuleArn"]
    events.put_targets(Rule=job.rule_name, Targets=[{
        "Id": "queue", "Arn": queue_arn,
        "RetryPolicy": {"MaximumRetryAttempts": 185,
                        "MaximumEventAgeInSeconds": EVENT_MAX_AGE_SECONDS},
        "DeadLetterConfig": {"Arn": dlq_arn}}])
    return JobResources(job, rule_arn, queue_url, queue_arn, dlq_url, dlq_arn)


def _provision_scheduler(job: JobPlan, queue_arn: str, dlq_arn: str) -> None:
    schedules = SchedulerSchedules(boto3.client("scheduler"))
    group = job.schedule_group or ""
    schedules.ensure_group(group)
    if job.via != "scheduler":
        return
    account, partition = queue_arn.split(":")[4], queue_arn.split(":")[1]
    window = job.flexible_window_minutes
    request: dict[str, Any] = {
        "GroupName": group, "Name": job.schedule_name,
        "ScheduleExpression": job.schedule_expression,
        "FlexibleTimeWindow": ({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": window}
                               if window else {"Mode": "OFF"}),
        "State": "ENABLED" if job.enabled else "DISABLED",
        "Description": job.description[:512],
        "Target": target_request(
            queue_arn=queue_arn, dlq_arn=dlq_arn,
            role_arn=f"arn:{partition}:iam::{account}:role/{job.scheduler_role_name}",
            input_json=scheduler_input(job.job))}
    optional = {"ScheduleExpressionTimezone": job.timezone, "StartDate": job.start_date,
                "EndDate": job.end_date}
    request.update({k: v for k, v in optional.items() if v is not None})
    if schedules.get(group, job.schedule_name) is None:
        schedules.client.create_schedule(**request)
    else:
        schedules.client.update_schedule(**request)


def _arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
