"""Per-job CloudWatch alarms, the metrics they watch, and an optional encrypted SNS topic.

What each alarm means and what to do is in ``docs/deploy.md`` ("Alarms").
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cronbridge.core import metrics
from cronbridge.core.plan import DeploymentPlan, JobPlan
from cronbridge_cdk.names import alarm_name

DEFAULT_DURATION_ALARM_SECONDS = 300
CONSECUTIVE_FAILURES_THRESHOLD = 3
PERIOD = Duration.minutes(5)  # SQS publishes queue metrics every 5 minutes
RUNBOOK = "See docs/deploy.md#alarms."


def job_metric(job: str, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
    """A cronbridge EMF metric of ``job`` (namespace and dimensions as the worker emits)."""
    return cloudwatch.Metric(
        namespace=metrics.NAMESPACE, metric_name=name, statistic=statistic, period=PERIOD,
        dimensions_map={"service": metrics.SERVICE, metrics.DIMENSION_JOB: job},
    )


def dlq_depth_metric(job: JobPlan) -> cloudwatch.Metric:
    """Messages waiting in the job's DLQ (``AWS/SQS``, Maximum over 5 minutes)."""
    return cloudwatch.Metric(namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                             dimensions_map={"QueueName": job.dlq_name}, statistic="Maximum",
                             period=PERIOD)


def job_alarms(scope: Construct, plan: DeploymentPlan, job: JobPlan, *,
               duration_limit_seconds: int,
               topic: sns.ITopic | None) -> list[cloudwatch.Alarm]:
    """Create the job's five alarms in ``scope``, each notifying ``topic`` if given.

    ``duration_limit_seconds`` is the longest acceptable run; a longer one raises the
    duration alarm (the metric is in milliseconds).
    """
    not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
    specs = [
        # The worker emits the job's current failure streak with every finished run, so the
        # alarm keeps its state between runs (IGNORE) until a success reports a lower streak.
        ("consecutive-failures", job_metric(job.job, metrics.CONSECUTIVE_FAILURES, "Maximum"),
         CONSECUTIVE_FAILURES_THRESHOLD,
         cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
         cloudwatch.TreatMissingData.IGNORE,
         f"{job.job} failed {CONSECUTIVE_FAILURES_THRESHOLD} or more runs in a row."),
        ("duration", job_metric(job.job, metrics.RUN_DURATION, "Maximum"),
         duration_limit_seconds * 1000, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
         not_breaching, f"A {job.job} run took longer than {duration_limit_seconds}s."),
        ("dlq-not-empty", dlq_depth_metric(job), 0,
         cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, not_breaching,
         f"{job.job} has dead slots waiting in {job.dlq_name}."),
        ("failed-invocations",
         cloudwatch.Metric(namespace="AWS/Events", metric_name="FailedInvocations",
                           dimensions_map={"RuleName": job.rule_name}, statistic="Sum",
                           period=PERIOD),
         0, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, not_breaching,
         f"EventBridge rule {job.rule_name} could not deliver a scheduled event to its queue."),
        ("throttles",
         cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Throttles",
                           dimensions_map={"FunctionName": job.function_name},
                           statistic="Sum", period=PERIOD),
         0, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, not_breaching,
         f"Lambda throttled {job.function_name}."),
    ]
    alarms = []
    for kind, metric, threshold, operator, missing, summary in specs:
        alarm = cloudwatch.Alarm(
            scope, f"Alarm-{kind}", alarm_name=alarm_name(plan.app, job.job, kind),
            alarm_description=f"{summary} {RUNBOOK}", metric=metric, threshold=threshold,
            comparison_operator=operator, evaluation_periods=1, datapoints_to_alarm=1,
            treat_missing_data=missing,
        )
        if topic is not None:
            action = cw_actions.SnsAction(topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        alarms.append(alarm)
    return alarms


class AlarmTopic(Construct):
    """An SNS topic for the alarms, encrypted with a customer key CloudWatch may use.

    CloudWatch cannot publish to a topic encrypted with the AWS-managed ``alias/aws/sns``
    key, so the topic gets its own rotating key whose policy lets CloudWatch encrypt.

    Attributes:
        topic: the topic to pass as ``ScheduledJobs(alarm_topic=...)``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, topic_name: str,
                 email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "Key", enable_key_rotation=True,
                      description=f"Encrypts the {topic_name} SNS topic")
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt",
                  "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "Topic", topic_name=topic_name, master_key=key,
                               enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
