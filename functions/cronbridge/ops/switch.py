"""A job's on/off switch: the paused flag in the run table and its EventBridge rule or
EventBridge Scheduler schedule.

One rule for every caller (``cronbridge disable/enable``, the dashboard, the worker's
auto-pause), so they pause a job the same way.
"""

from __future__ import annotations

from typing import Any

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.adapters.eventbridge import DISABLED, ENABLED, EventBridgeRules
from cronbridge.core.plan import MISSED_SLOT, JobPlan, alarm_name


def pause_state(rule_state: str | None, paused: bool) -> str:
    """The job's on/off state from its two switches: ``enabled``, ``paused``, a ``drift:``
    description when they disagree, or ``not deployed``."""
    if rule_state is None:
        return "not deployed"
    if rule_state == ENABLED:
        return "drift: paused, rule enabled (deliveries skipped)" if paused else "enabled"
    return "paused" if paused else "drift: rule disabled, not paused"


def switch_job(*, store: DynamoRunStore, rules: EventBridgeRules, cloudwatch: Any, app: str,
               job: JobPlan, enabled: bool, now: float, by: str | None,
               reason: str | None = None, unless_paused: bool = False,
               scheduler: Any = None) -> bool:
    """Pause (``enabled=False``) or resume a job; ``now`` in epoch seconds.

    Order matters if a later call fails: pausing sets the flag first (a delivery in between
    is SKIPPED), resuming clears it first (the rule is still off, nothing runs). Either way
    the half-done state shows as drift in the job listing and repeating the call finishes
    it. A paused job settles no slots, so its missed-slot alarm would fire: the alarm's
    notifications follow the switch (an alarm the target lacks, e.g. locally, is ignored).

    Args:
        by: who or what switched it (``cli (alice)``, ``dashboard``, ``auto-pause``).
        reason: why, recorded with a pause.
        scheduler: a :class:`~cronbridge.adapters.scheduler.SchedulerSchedules`, for a job
            on EventBridge Scheduler (``job.via`` ``scheduler``).
        unless_paused: do nothing if the job is paused already (see
            :meth:`DynamoRunStore.set_paused`).

    Returns ``False`` when ``unless_paused`` found the job paused (nothing changed).

    Raises:
        botocore.exceptions.ClientError, pynamodb.exceptions.PynamoDBException: AWS errors.
    """
    if not store.set_paused(job.job, not enabled, now=now, by=by, reason=reason,
                            unless_paused=unless_paused):
        return False
    if job.via == "rule":
        rules.set_enabled(job.rule_name, enabled)
    elif job.via == "scheduler":
        if scheduler is None:
            raise ValueError(f"job {job.job!r} runs on EventBridge Scheduler: pass scheduler")
        scheduler.set_enabled(job.schedule_group or "", job.schedule_name, enabled)
    alarm = [alarm_name(app, job.job, MISSED_SLOT)]
    if enabled:
        cloudwatch.enable_alarm_actions(AlarmNames=alarm)
    else:
        cloudwatch.disable_alarm_actions(AlarmNames=alarm)
    return True


def state_after(enabled: bool) -> str:
    """The state :func:`switch_job` leaves a job in."""
    return pause_state(ENABLED if enabled else DISABLED, not enabled)
