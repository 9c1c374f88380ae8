"""Per-job CloudWatch alarms, the metrics they watch, and an optional encrypted SNS topic.

What each alarm means and what to do is in ``docs/deploy.md`` ("Alarms").
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

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
from cronbridge.core.schedule import longest_gap
from cronbridge.cdk.names import ALARM_KINDS, MISSED_SLOT, alarm_name

DEFAULT_DURATION_ALARM_SECONDS = 300
CONSECUTIVE_FAILURES_THRESHOLD = 3
PERIOD = Duration.minutes(5)  # SQS publishes queue metrics every 5 minutes
RUNBOOK = "See docs/deploy.md#alarms."
# Missed slot: the worker's EMF metrics reach CloudWatch through the logs a few minutes late,
# and the alarm is evaluated about once a minute; 15 minutes covers both.
MISSED_SLOT_BASE_GRACE_SECONDS = 900
# A slot still unsettled this long after its time has failed attempts that the
# consecutive-failures alarm reports; the cap keeps a daily job's window near a day.
MAX_SETTLE_GRACE_SECONDS = 6 * 3600
# PutMetricAlarm: Period x EvaluationPeriods is at most 7 days (1 day for a period under an
# hour, which a window under an hour meets anyway).
MAX_ALARM_WINDOW_SECONDS = 7 * 86400
# How far ahead a schedule's gaps are looked for: a whole year, so monthly and yearly
# patterns show.
GAP_HORIZON = timedelta(days=366)
_OUTCOME_IDS = {"succeeded": metrics.RUN_SUCCEEDED, "dead": metrics.RUN_DEAD,
                "skipped": metrics.RUN_SKIPPED}


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


def delivery_failures_metric(job: JobPlan) -> cloudwatch.Metric:
    """Deliveries to the job's queue that failed: the rule's ``AWS/Events``
    ``FailedInvocations``, or for Scheduler ``AWS/Scheduler`` ``TargetErrorCount``, which
    Scheduler publishes per schedule group only (the app's group, or a dynamic job's own)."""
    if job.via == "rule":
        return cloudwatch.Metric(namespace="AWS/Events", metric_name="FailedInvocations",
                                 dimensions_map={"RuleName": job.rule_name}, statistic="Sum",
                                 period=PERIOD)
    return cloudwatch.Metric(namespace="AWS/Scheduler", metric_name="TargetErrorCount",
                             dimensions_map={"ScheduleGroup": job.schedule_group or ""},
                             statistic="Sum", period=PERIOD)


def delivery_failures_summary(job: JobPlan) -> str:
    if job.via == "rule":
        return f"EventBridge rule {job.rule_name} could not deliver a scheduled event to its queue."
    return (f"EventBridge Scheduler could not deliver to a queue of schedule group "
            f"{job.schedule_group} (group-wide metric; {job.job}'s DLQ shows which).")


def default_missed_slot_grace_seconds(job: JobPlan) -> int:
    """Seconds the missed-slot alarm waits past a schedule gap by default: 15 minutes plus
    the job's retry budget (:attr:`JobPlan.settle_seconds`, at most 6 hours)."""
    return MISSED_SLOT_BASE_GRACE_SECONDS + min(job.settle_seconds, MAX_SETTLE_GRACE_SECONDS)


def missed_slot_window(job: JobPlan, *, after: datetime,
                       grace_seconds: int | None = None) -> Duration | None:
    """The missed-slot alarm's period: the job's longest gap between fire times from
    ``after`` (aware) over a year, plus ``grace_seconds`` (``None``: the default grace),
    rounded up to a whole minute.

    Returns ``None`` when the job gets no missed-slot alarm: it is disabled (no slot is
    expected), its schedule stops firing within the year, or the window exceeds the 7 days a
    CloudWatch alarm can evaluate (a weekly schedule, for one).
    """
    if not job.enabled or job.via == "dynamic":  # a dynamic job has no job-level slots
        return None
    gap = longest_gap(job.schedule(), after, GAP_HORIZON)
    if gap is None:
        return None
    grace = default_missed_slot_grace_seconds(job) if grace_seconds is None else grace_seconds
    seconds = math.ceil((gap.total_seconds() + grace) / 60) * 60
    return Duration.seconds(seconds) if seconds <= MAX_ALARM_WINDOW_SECONDS else None


def alarm_kinds(missed_slot: Duration | None) -> tuple[str, ...]:
    """The kinds of alarm a job gets: every one of :data:`ALARM_KINDS`, less missed-slot
    when :func:`missed_slot_window` gave it no window."""
    return tuple(k for k in ALARM_KINDS if missed_slot is not None or k != MISSED_SLOT)


def settled_slots(job: str, window: Duration) -> cloudwatch.MathExpression:
    """Slots of ``job`` that reached a final outcome (succeeded, dead or skipped) per
    ``window``; 0, not missing, for a window without any once the metrics have data; and 0
    for a window in which the auditor reported a missed slot (``MissedSlots``), so a slot
    lost among settled ones alarms too."""
    settled = "+".join(f"FILL({i},0)" for i in _OUTCOME_IDS)
    return cloudwatch.MathExpression(
        expression=f"IF(FILL(missed,0) > 0, 0, {settled})",
        using_metrics={**{i: job_metric(job, name) for i, name in _OUTCOME_IDS.items()},
                       "missed": job_metric(job, metrics.MISSED_SLOTS)},
        period=window, label="settled slots (0 if one was missed)")


def job_alarms(scope: Construct, plan: DeploymentPlan, job: JobPlan, *,
               duration_limit_seconds: int, missed_slot: Duration | None,
               topic: sns.ITopic | None) -> list[cloudwatch.Alarm]:
    """Create the job's alarms (:func:`alarm_kinds`) in ``scope``, each notifying ``topic``
    if given.

    ``duration_limit_seconds`` is the longest acceptable run; a longer one raises the
    duration alarm (the metric is in milliseconds). ``missed_slot`` is the window of
    :func:`missed_slot_window`, or ``None`` for no missed-slot alarm.
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
        ("failed-invocations", delivery_failures_metric(job), 0,
         cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, not_breaching,
         delivery_failures_summary(job)),
        ("throttles",
         cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Throttles",
                           dimensions_map={"FunctionName": job.function_name},
                           statistic="Sum", period=PERIOD),
         0, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, not_breaching,
         f"Lambda throttled {job.function_name}."),
    ]
    if missed_slot is not None:
        # BREACHING: a job that never reported (new, or broken from the start) leaves the
        # expression without data, which must alarm like a window of zeros.
        specs.append((
            MISSED_SLOT, settled_slots(job.job, missed_slot), 1,
            cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            cloudwatch.TreatMissingData.BREACHING,
            f"No {job.job} slot settled (succeeded, dead or skipped) in the last "
            f"{missed_slot.to_minutes()} minutes: its longest gap between fire times plus "
            "the grace period."))
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
