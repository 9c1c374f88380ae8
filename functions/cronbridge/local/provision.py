"""Create the deployment plan's resources on the embedded AWS (or LocalStack).

The same plan feeds the CDK stack, so names and settings match the cloud.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from cronbridge.adapters.dynamodb import TTL_ATTRIBUTE
from cronbridge.core.plan import EVENT_MAX_AGE_SECONDS, DeploymentPlan, JobPlan


@dataclass(frozen=True)
class JobResources:
    """What the provisioner created for one job."""

    plan: JobPlan
    rule_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def provision(plan: DeploymentPlan) -> dict[str, JobResources]:
    """Create (idempotently) the run table and, per job, the DLQ, the queue (redrive to the
    DLQ after ``max_receive_count`` receives), and the EventBridge rule targeting the queue.

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
    rule_arn = events.put_rule(Name=job.rule_name, ScheduleExpression=job.schedule_expression,
                               State="ENABLED" if job.enabled else "DISABLED",
                               Description=job.description[:512])["RuleArn"]
    events.put_targets(Rule=job.rule_name, Targets=[{
        "Id": "queue", "Arn": queue_arn,
        "RetryPolicy": {"MaximumRetryAttempts": 185,
                        "MaximumEventAgeInSeconds": EVENT_MAX_AGE_SECONDS},
        "DeadLetterConfig": {"Arn": dlq_arn}}])
    return JobResources(job, rule_arn, queue_url, queue_arn, dlq_url, dlq_arn)


def _arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
