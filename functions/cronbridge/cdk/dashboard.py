"""The app's CloudWatch dashboard: one row per job.

A dashboard holds at most 500 widgets, so past :data:`JOBS_PER_DASHBOARD` jobs the rows
are split over several dashboards. Alarms are referenced by their deterministic ARNs, so a
dashboard needs no cross-stack reference to the job stacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from cronbridge.core import metrics
from cronbridge.core.plan import JobPlan
from cronbridge.cdk.alarms import dlq_depth_metric, job_metric
from cronbridge.cdk.names import alarm_name

JOBS_PER_DASHBOARD = 50  # 5 widgets a row: 250 widgets, 450 metrics per dashboard
ROW_HEIGHT = 6
AUDIT_PERIOD = Duration.minutes(15)  # the auditor's schedule
_OUTCOMES = (("succeeded", metrics.RUN_SUCCEEDED), ("failed", metrics.RUN_FAILED),
             ("dead", metrics.RUN_DEAD), ("timed out", metrics.RUN_TIMED_OUT),
             ("skipped", metrics.RUN_SKIPPED))


def job_row(scope: Construct, app: str, job: JobPlan,
            alarm_kinds: Sequence[str]) -> list[cloudwatch.IWidget]:
    """The widgets of ``job``'s row: runs by outcome, duration p50/p99, start lag, DLQ depth
    and the state of its alarms of ``alarm_kinds`` (24 grid units wide)."""
    stack = Stack.of(scope)
    alarms = [
        cloudwatch.Alarm.from_alarm_arn(scope, f"{job.job}-{kind}", stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name=alarm_name(app, job.job, kind),
            arn_format=ArnFormat.COLON_RESOURCE_NAME))
        for kind in alarm_kinds
    ]
    duration = [job_metric(job.job, metrics.RUN_DURATION, stat).with_(label=stat)
                for stat in ("p50", "p99")]
    return [
        cloudwatch.GraphWidget(
            title=f"{job.job}: runs by outcome", width=6, height=ROW_HEIGHT, stacked=True,
            left=[job_metric(job.job, name).with_(label=label) for label, name in _OUTCOMES]),
        cloudwatch.GraphWidget(title=f"{job.job}: duration (ms)", width=5, height=ROW_HEIGHT,
                               left=duration),
        cloudwatch.GraphWidget(title=f"{job.job}: start lag (s)", width=4, height=ROW_HEIGHT,
                               left=[job_metric(job.job, metrics.START_LAG, "Maximum")]),
        cloudwatch.GraphWidget(title=f"{job.job}: DLQ depth", width=4, height=ROW_HEIGHT,
                               left=[dlq_depth_metric(job)]),
        cloudwatch.AlarmStatusWidget(title=f"{job.job}: alarms", width=5, height=ROW_HEIGHT,
                                     alarms=alarms),
    ]


def _search(metric: str, label: str) -> cloudwatch.MathExpression:
    """``metric`` of every job, one line each: a search expression, so the widget holds one
    expression however many jobs there are."""
    return cloudwatch.MathExpression(
        expression=(f"SEARCH('{{{metrics.NAMESPACE},{metrics.DIMENSION_JOB},service}} "
                    f"MetricName=\"{metric}\"', 'Sum', {AUDIT_PERIOD.to_seconds()})"),
        using_metrics={}, label=label, period=AUDIT_PERIOD)


def audit_widgets() -> list[cloudwatch.IWidget]:
    """The audit widgets: missed slots (the auditor's ``MissedSlots``), skips by reason and
    auto-pauses, per job (24 grid units wide)."""
    return [
        cloudwatch.GraphWidget(title="missed slots (auditor)", width=8, height=ROW_HEIGHT,
                               left=[_search(metrics.MISSED_SLOTS, "missed")]),
        cloudwatch.GraphWidget(title="skipped slots by reason", width=8, height=ROW_HEIGHT,
                               stacked=True,
                               left=[_search(name, reason)
                                     for reason, name in metrics.SKIPPED_BY_REASON.items()]),
        cloudwatch.GraphWidget(title="auto-pauses", width=8, height=ROW_HEIGHT,
                               left=[_search(metrics.AUTO_PAUSED, "auto-paused")]),
    ]


def build_dashboard(scope: Construct, construct_id: str, *, app: str, name: str,
                    jobs: Sequence[JobPlan], alarm_kinds: Mapping[str, Sequence[str]],
                    audit_row: bool = False) -> cloudwatch.Dashboard:
    """A dashboard called ``name`` with one row per job of ``jobs``; ``alarm_kinds`` names
    each job's alarms (by job name); ``audit_row`` puts the audit widgets first."""
    dashboard = cloudwatch.Dashboard(scope, construct_id, dashboard_name=name)
    if audit_row:
        dashboard.add_widgets(cloudwatch.Row(*audit_widgets()))
    for job in jobs:
        dashboard.add_widgets(cloudwatch.Row(*job_row(scope, app, job, alarm_kinds[job.job])))
    return dashboard
