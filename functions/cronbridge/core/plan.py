"""The deployment plan: every AWS resource name and setting, computed from the registry.

One plan feeds both the CDK stack and the local provisioner, so the cloud and the local
emulator cannot drift. Pure: no AWS imports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal

from cronbridge.core.errors import PlanError, UnknownJobError
from cronbridge.core.jobs import JobRegistry, JobSpec, definition_site
from cronbridge.core.schedule import Schedule, parse_schedule
from cronbridge.core.slots import MAX_CLOCK_SKEW

# Lease = job timeout + this margin, so a worker that is still inside its Lambda timeout
# never loses its lease to a redelivery.
LEASE_MARGIN_SECONDS = 30
# AWS: "set the source queue's visibility timeout to at least six times the timeout that
# you configure on your function" (Lambda developer guide, "Using Lambda with Amazon SQS").
VISIBILITY_TIMEOUT_FACTOR = 6
# maxReceiveCount is a crash backstop, not the retry counter (retries are counted in the run
# table); AWS recommends at least 5 so throttled batches are not dead-lettered.
MIN_MAX_RECEIVE_COUNT = 5
DEFAULT_MAX_RECEIVE_COUNT = 10
RECEIVE_HEADROOM = 4
SQS_MAX_VISIBILITY_SECONDS = 43200
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum; longer than the source queue's
# The rule target's retry window (MaximumEventAgeInSeconds): an event may reach the queue
# this long after its slot.
EVENT_MAX_AGE_SECONDS = 24 * 3600
DAY_SECONDS = 86400
# A job queue takes what EventBridge can send (256 KB events); its DLQ takes SQS's maximum,
# so every message the queue accepted still fits with cronbridge's error attributes (a few
# KB) when the worker dead-letters it. Were both the same size, a body at the limit could
# not be dead-lettered with its reason and would reach the DLQ only by maxReceiveCount.
QUEUE_MAX_MESSAGE_BYTES = 256 * 1024
DLQ_MAX_MESSAGE_BYTES = 1024 * 1024
DLQ_ATTRIBUTE_HEADROOM_BYTES = 16 * 1024
DEFAULT_APP = "cronbridge"
# (pattern, max length) per resource name, from each service's API reference (CreateTable,
# PutRule, CreateQueue, CreateFunction).
NAME_LIMITS: dict[str, tuple[re.Pattern[str], int]] = {
    "table": (re.compile(r"^[A-Za-z0-9_.-]{3,}$"), 255),
    "rule": (re.compile(r"^[A-Za-z0-9._-]+$"), 64),
    "queue": (re.compile(r"^[A-Za-z0-9_-]+$"), 80),
    "function": (re.compile(r"^[A-Za-z0-9_-]+$"), 64),
    # CreateScheduleGroup / CreateSchedule (EventBridge Scheduler), CreateRole (IAM).
    "schedule group": (re.compile(r"^[0-9a-zA-Z._-]+$"), 64),
    "role": (re.compile(r"^[A-Za-z0-9+=,.@_-]+$"), 64),
}
# Where a job runs from: an EventBridge rule, an EventBridge Scheduler schedule, or only the
# per-key schedules its application creates at runtime (``cronbridge.schedules``).
Via = Literal["rule", "scheduler", "dynamic"]
# A flexible window must be narrower than the schedule's shortest gap, which is measured over
# this many fire times from a fixed instant (the core reads no clock; a year of a daily
# schedule covers both DST changes).
WINDOW_PROBE_START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_PROBE_FIRES = 400


# The stack's alarms per job; the CLI silences the missed-slot one while a job is paused.
MISSED_SLOT = "missed-slot"
ALARM_KINDS = ("consecutive-failures", "duration", "dlq-not-empty", "failed-invocations",
               "throttles", MISSED_SLOT)


def alarm_name(app: str, job: str, kind: str) -> str:
    """The CloudWatch alarm name for ``kind`` (one of :data:`ALARM_KINDS`) of ``job``."""
    return f"{app}-{job}-{kind}"


@dataclass(frozen=True)
class JobPlan:
    """Resource names and settings for one job (all durations in seconds).

    ``settle_seconds`` is the longest a slot can take from its first delivery to its final
    outcome (SUCCEEDED or DEAD) when every attempt uses its whole budget.
    ``pause_after_failures`` and ``catchup`` say whether the worker may pause its job and
    the auditor send it missed slots (both need permissions).
    """

    job: str
    description: str
    schedule_expression: str
    timezone: str | None
    enabled: bool
    via: Via
    rule_name: str
    queue_name: str
    dlq_name: str
    function_name: str
    timeout_seconds: int
    lease_seconds: int
    visibility_timeout_seconds: int
    max_receive_count: int
    settle_seconds: int
    queue_retention_seconds: int
    dlq_retention_seconds: int
    queue_max_message_bytes: int
    dlq_max_message_bytes: int
    memory_mb: int
    batch_size: int
    max_concurrency: int
    retention_days: int
    schedule_group: str | None = None
    scheduler_role_name: str | None = None
    flexible_window_minutes: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    pause_after_failures: int | None = None
    catchup: str = "none"

    def schedule(self) -> Schedule:
        """The parsed schedule expression, in the job's zone."""
        return parse_schedule(self.schedule_expression, timezone=self.timezone, scheduler=True)

    @property
    def schedule_name(self) -> str:
        """The job-level Scheduler schedule's name in :attr:`schedule_group` (``via`` is
        ``scheduler``); a dynamic job's schedules are named by their keys."""
        return self.job


@dataclass(frozen=True)
class DeploymentPlan:
    """Everything to provision for one cronbridge app.

    Attributes:
        app: prefix of every resource name (and the name of its schedule group).
        table_name: the DynamoDB run table.
        job_modules: modules the worker imports to find the jobs.
        jobs: one :class:`JobPlan` per job, in registry order.
    """

    app: str
    table_name: str
    job_modules: tuple[str, ...]
    jobs: tuple[JobPlan, ...]

    def job(self, name: str) -> JobPlan:
        """The plan of job ``name``.

        Raises:
            UnknownJobError: the plan has no such job.
        """
        for job_plan in self.jobs:
            if job_plan.job == name:
                return job_plan
        raise UnknownJobError(name, [j.job for j in self.jobs])

    def job_for_rule(self, rule_name: str) -> JobPlan | None:
        """The job whose EventBridge rule is ``rule_name``, or ``None``."""
        return next((j for j in self.jobs if j.rule_name == rule_name and j.via == "rule"),
                    None)


def scheduler_group(app: str) -> str:
    """The app's schedule group, holding every job-level Scheduler schedule."""
    return app


def dynamic_group(app: str, job: str) -> str:
    """The schedule group of ``job``'s runtime (per-key) schedules: one group per job, so IAM
    can confine a principal to one job's schedules."""
    return f"{app}-{job}"


def needs_scheduler(spec: JobSpec) -> list[str]:
    """The settings of ``spec`` only EventBridge Scheduler has (empty: a rule can run it)."""
    found = [("timezone", spec.timezone is not None), ("at()", spec.parsed_schedule.kind == "at"),
             ("flexible_window_minutes", spec.flexible_window_minutes is not None),
             ("start_date", spec.start_date is not None), ("end_date", spec.end_date is not None),
             ("dynamic", spec.dynamic)]
    return [name for name, present in found if present]


def _via(spec: JobSpec, scheduler_for_all: bool) -> Via:
    only_scheduler = needs_scheduler(spec)
    if spec.scheduler is False and only_scheduler:
        raise PlanError(f"job {spec.name!r}: {', '.join(only_scheduler)} needs EventBridge "
                        "Scheduler, but the job sets scheduler=False (an EventBridge rule)")
    if spec.dynamic:
        return "dynamic"
    if spec.scheduler or (spec.scheduler is None and (only_scheduler or scheduler_for_all)):
        return "scheduler"
    return "rule"


def _check_window(spec: JobSpec) -> None:
    """A flexible window at least as wide as the schedule's shortest gap would let two
    slots' deliveries swap order or merge."""
    window = spec.flexible_window_minutes
    if window is None or spec.parsed_schedule.kind == "at":
        return
    fires = spec.parsed_schedule.next_fire_times(WINDOW_PROBE_START, WINDOW_PROBE_FIRES)
    gaps = [later - earlier for earlier, later in pairwise(fires)]
    shortest = min(gaps, default=None)
    if shortest is not None and timedelta(minutes=window) >= shortest:
        raise PlanError(f"job {spec.name!r}: flexible_window_minutes={window} is not narrower "
                        f"than the schedule's shortest gap ({shortest}); narrow the window")


def plan_job(spec: JobSpec, app: str = DEFAULT_APP,
             max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT, *,
             scheduler_for_all: bool = False) -> JobPlan:
    """The :class:`JobPlan` for one job.

    ``scheduler_for_all`` puts a job on EventBridge Scheduler even when a rule could run it
    (the app-level option; a job's own ``scheduler=False`` still wins).

    Raises:
        PlanError: a setting breaks an AWS limit or a safety rule (visibility versus
            timeout, lease versus timeout, ``maxReceiveCount`` below 5), or does not fit the
            resource the job deploys to (``at()`` or a time zone with ``scheduler=False``, a
            flexible window as wide as the schedule's gap); the message names the job.
    """
    via = _via(spec, scheduler_for_all)
    _check_window(spec)
    lease = spec.timeout_seconds + LEASE_MARGIN_SECONDS
    # Every attempt is one receive, and so is each deferral (waiting for another slot's lease,
    # a throttled write): allow about one deferral per attempt so SQS never dead-letters a
    # slot that still has attempts left.
    max_receive_count = max(max_receive_count, 2 * spec.max_attempts + RECEIVE_HEADROOM)
    visibility = max(VISIBILITY_TIMEOUT_FACTOR * spec.timeout_seconds, lease)
    # An attempt ends the slot or frees it for the next one after at most the function timeout
    # plus the longest backoff (a failure), or the visibility timeout (a crash or a timeout
    # kill: the message comes back, and the next attempt or the DEAD verdict follows).
    settle = spec.max_attempts * max(visibility, spec.timeout_seconds + spec.backoff_cap_seconds)
    job_plan = JobPlan(
        job=spec.name,
        description=spec.description,
        schedule_expression=spec.schedule,
        timezone=spec.timezone,
        enabled=spec.enabled,
        via=via,
        rule_name=f"{app}-{spec.name}",
        queue_name=f"{app}-{spec.name}",
        dlq_name=f"{app}-{spec.name}-dlq",
        function_name=f"{app}-{spec.name}",
        timeout_seconds=spec.timeout_seconds,
        lease_seconds=lease,
        visibility_timeout_seconds=visibility,
        max_receive_count=max_receive_count,
        settle_seconds=settle,
        queue_retention_seconds=QUEUE_RETENTION_SECONDS,
        dlq_retention_seconds=DLQ_RETENTION_SECONDS,
        queue_max_message_bytes=QUEUE_MAX_MESSAGE_BYTES,
        dlq_max_message_bytes=DLQ_MAX_MESSAGE_BYTES,
        memory_mb=spec.memory_mb,
        batch_size=spec.batch_size,
        max_concurrency=spec.max_concurrency,
        retention_days=spec.retention_days,
        schedule_group=(None if via == "rule" else
                        dynamic_group(app, spec.name) if via == "dynamic"
                        else scheduler_group(app)),
        scheduler_role_name=None if via == "rule" else f"{app}-{spec.name}-scheduler",
        flexible_window_minutes=spec.flexible_window_minutes,
        start_date=spec.start_date,
        end_date=spec.end_date,
        pause_after_failures=spec.pause_after_failures,
        catchup=spec.catchup,
    )
    check_job_plan(job_plan, app)
    return job_plan


def check_name(kind: str, name: str, app: str) -> None:
    """Check a physical name against its AWS pattern and length.

    Raises:
        PlanError: naming the resource, the name and the limit it breaks.
    """
    pattern, limit = NAME_LIMITS[kind]
    if len(name) > limit or not pattern.match(name):
        raise PlanError(f"{kind} name {name!r} breaks AWS's limit of {limit} characters "
                        f"matching {pattern.pattern}: shorten the app name {app!r} or the "
                        "job name")


def check_job_plan(job_plan: JobPlan, app: str = DEFAULT_APP) -> None:
    """Raise :class:`PlanError` naming the job and the broken rule, if any."""
    name = job_plan.job
    for kind, physical in (("rule", job_plan.rule_name), ("queue", job_plan.queue_name),
                           ("queue", job_plan.dlq_name), ("function", job_plan.function_name)):
        check_name(kind, physical, app)
    if job_plan.schedule_group is not None:
        check_name("schedule group", job_plan.schedule_group, app)
    if job_plan.scheduler_role_name is not None:
        check_name("role", job_plan.scheduler_role_name, app)
    if job_plan.visibility_timeout_seconds < VISIBILITY_TIMEOUT_FACTOR * job_plan.timeout_seconds:
        raise PlanError(f"job {name!r}: queue visibility {job_plan.visibility_timeout_seconds}s "
                        f"is under {VISIBILITY_TIMEOUT_FACTOR} x the function timeout "
                        f"({job_plan.timeout_seconds}s)")
    if job_plan.visibility_timeout_seconds > SQS_MAX_VISIBILITY_SECONDS:
        raise PlanError(f"job {name!r}: queue visibility {job_plan.visibility_timeout_seconds}s "
                        f"exceeds SQS's maximum of {SQS_MAX_VISIBILITY_SECONDS}s")
    if job_plan.lease_seconds <= job_plan.timeout_seconds:
        raise PlanError(f"job {name!r}: lease {job_plan.lease_seconds}s must be longer than "
                        f"the function timeout ({job_plan.timeout_seconds}s)")
    if job_plan.max_receive_count < MIN_MAX_RECEIVE_COUNT:
        raise PlanError(f"job {name!r}: maxReceiveCount {job_plan.max_receive_count} is below "
                        f"{MIN_MAX_RECEIVE_COUNT}; throttled batches would be dead-lettered")
    if job_plan.dlq_retention_seconds <= job_plan.queue_retention_seconds:
        raise PlanError(f"job {name!r}: the DLQ must keep messages longer than its queue")
    if (job_plan.dlq_max_message_bytes
            < job_plan.queue_max_message_bytes + DLQ_ATTRIBUTE_HEADROOM_BYTES):
        raise PlanError(f"job {name!r}: the DLQ's maximum message size must exceed the queue's "
                        f"by {DLQ_ATTRIBUTE_HEADROOM_BYTES} bytes, so a dead letter fits with "
                        "its error attributes")
    copy_life = longest_message_life(job_plan)
    if job_plan.retention_days * DAY_SECONDS <= copy_life:
        raise PlanError(
            f"job {name!r}: retention_days {job_plan.retention_days} is shorter than a copy of "
            f"a slot can live (EventBridge retries {EVENT_MAX_AGE_SECONDS // 3600} h, then the "
            f"DLQ keeps it {job_plan.dlq_retention_seconds // DAY_SECONDS} days from when it "
            "was queued): a redrive after its run record expired would run the slot again; "
            f"use at least {math.floor(copy_life / DAY_SECONDS) + 1}")


def longest_message_life(job_plan: JobPlan) -> int:
    """Seconds from a slot's fire time to the last moment a copy of its message can still
    be delivered: EventBridge's retries, then the queue's or the DLQ's retention (SQS counts
    a dead letter's age from its first enqueue), plus the clock skew bound. Run records must
    outlive it."""
    return (EVENT_MAX_AGE_SECONDS + max(job_plan.queue_retention_seconds,
                                        job_plan.dlq_retention_seconds)
            + int(MAX_CLOCK_SKEW.total_seconds()))


def build_plan(registry: JobRegistry | Iterable[JobSpec], *, app: str = DEFAULT_APP,
               job_modules: Iterable[str] = (),
               max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
               scheduler_for_all: bool = False) -> DeploymentPlan:
    """Compute the deployment plan for ``registry``.

    ``scheduler_for_all`` puts every job on EventBridge Scheduler (past the 300-rule quota of
    an event bus); otherwise only the jobs whose settings need it are.

    Raises:
        PlanError: an empty registry, duplicate job names, or a job breaking a rule.
    """
    specs = list(registry)
    if not specs:
        raise PlanError("no jobs are registered: import the modules that define them")
    first: dict[str, JobSpec] = {}
    for spec in specs:
        other = first.setdefault(spec.name, spec)
        if other is not spec:
            raise PlanError(f"duplicate job name {spec.name!r}: defined by "
                            f"{definition_site(other.func)} and {definition_site(spec.func)}")
    jobs = tuple(plan_job(spec, app, max_receive_count, scheduler_for_all=scheduler_for_all)
                 for spec in specs)
    table_name = f"{app}-runs"
    check_name("table", table_name, app)
    return DeploymentPlan(app=app, table_name=table_name, job_modules=tuple(job_modules),
                          jobs=jobs)
