"""Synth-time checks: a bad job or setting fails `cdk synth` with a message naming it."""

from __future__ import annotations

import dataclasses
import re

import pytest
from aws_cdk import App, Stack

from cronbridge.cdk.asset import LambdaAsset
from cronbridge.cdk.scheduled_jobs import ScheduledJobs
from cronbridge.core.errors import JobDefinitionError, PlanError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.plan import build_plan, check_job_plan


def _noop(ctx) -> None:
    return None


def _spec(name: str = "nightly", schedule: str = "cron(0 2 * * ? *)", **settings) -> JobSpec:
    return JobSpec(name=name, schedule=schedule, func=_noop, **settings)


def _synth(asset: LambdaAsset, jobs, **options) -> ScheduledJobs:
    stack = Stack(App(), "Test")
    return ScheduledJobs(stack, "Jobs", jobs=jobs, job_modules=["cronbridge_examples"],
                         asset=asset, **options)


@pytest.mark.parametrize("schedule", ["cron(0 2 * * *)", "rate(0 minutes)", "every day",
                                      "cron(0 25 * * ? *)", "cron(0 2 * * MON ?)"])
def test_invalid_schedule_names_the_job_and_field(schedule: str) -> None:
    with pytest.raises(JobDefinitionError, match=r"job 'nightly': schedule is invalid"):
        _spec(schedule=schedule)


def test_timeout_over_lambdas_fifteen_minutes() -> None:
    with pytest.raises(JobDefinitionError, match=r"timeout must be 1-900 seconds.*got 1200"):
        _spec(timeout_seconds=1200)


@pytest.mark.parametrize("name", ["Nightly", "nightly_report", "-nightly", "n", "x" * 41,
                                  "nightly.report"])
def test_unsafe_job_names(name: str) -> None:
    with pytest.raises(JobDefinitionError, match="name must be 2-40 lowercase letters"):
        _spec(name=name)


def test_duplicate_job_names(asset: LambdaAsset) -> None:
    line = _noop.__code__.co_firstlineno
    where = re.escape(f"{__name__}:_noop ({__file__}:{line})")
    with pytest.raises(PlanError, match=f"^duplicate job name 'nightly': defined by {where} "
                                        f"and {where}$"):
        _synth(asset, [_spec(), _spec(schedule="rate(1 hour)")])


def test_max_receive_count_below_five(asset: LambdaAsset) -> None:
    with pytest.raises(PlanError, match=r"maxReceiveCount 3 is below 5"):
        _synth(asset, [_spec()], max_receive_count=3)
    job = build_plan([_spec()]).job("nightly")
    with pytest.raises(PlanError, match=r"job 'nightly': maxReceiveCount 4 is below 5"):
        check_job_plan(dataclasses.replace(job, max_receive_count=4))


def test_visibility_under_six_times_the_timeout() -> None:
    job = build_plan([_spec(timeout_seconds=120)]).job("nightly")
    with pytest.raises(PlanError, match=r"visibility 600s is under 6 x the function timeout"):
        check_job_plan(dataclasses.replace(job, visibility_timeout_seconds=600))


def test_lease_not_longer_than_the_timeout() -> None:
    job = build_plan([_spec(timeout_seconds=120)]).job("nightly")
    with pytest.raises(PlanError, match=r"lease 120s must be longer than the function timeout"):
        check_job_plan(dataclasses.replace(job, lease_seconds=120))


def test_derived_names_over_aws_limits(asset: LambdaAsset) -> None:
    long_job = "j" * 40
    app = "cronbridge-production-eu"
    with pytest.raises(PlanError, match=re.escape(f"rule name '{app}-{long_job}' breaks AWS's "
                                                  "limit of 64 characters")):
        _synth(asset, [_spec(name=long_job)], app=app)


def test_an_invalid_zone_names_the_job() -> None:
    with pytest.raises(JobDefinitionError, match=r"job 'nightly': schedule is invalid: "
                                                 r"timezone 'Europe/Pariss'"):
        _spec(timezone="Europe/Pariss")


@pytest.mark.parametrize("settings, found", [
    ({"schedule": "at(2027-01-01T09:00:00)"}, "at()"),
    ({"timezone": "Europe/Paris"}, "timezone"),
    ({"flexible_window_minutes": 5}, "flexible_window_minutes")])
def test_scheduler_only_settings_on_a_rule(asset: LambdaAsset, settings, found) -> None:
    with pytest.raises(PlanError, match=rf"job 'nightly': {re.escape(found)} needs EventBridge "
                                        r"Scheduler, but the job sets scheduler=False"):
        _synth(asset, [_spec(scheduler=False, **settings)])


def test_a_window_as_wide_as_the_period(asset: LambdaAsset) -> None:
    with pytest.raises(PlanError, match=r"job 'nightly': flexible_window_minutes=60 is not "
                                        r"narrower than the schedule's shortest gap \(1:00:00\)"):
        _synth(asset, [_spec(schedule="rate(1 hour)", flexible_window_minutes=60)])
    # A Berlin 02:30 daily schedule's shortest gap is 24 h: spring skips a day, autumn adds
    # an hour, neither shortens it.
    plan = build_plan([_spec(schedule="cron(30 2 * * ? *)", timezone="Europe/Berlin",
                             flexible_window_minutes=1380)])
    assert plan.job("nightly").via == "scheduler"


def test_duration_override_for_an_unknown_job(asset: LambdaAsset) -> None:
    with pytest.raises(PlanError, match="duration alarm overrides name unknown jobs: nope"):
        _synth(asset, [_spec()], duration_alarm_overrides={"nope": 60})


def test_missed_slot_grace_unknown_job_or_negative(asset: LambdaAsset) -> None:
    with pytest.raises(PlanError, match="missed-slot grace overrides name unknown jobs: nope"):
        _synth(asset, [_spec()], missed_slot_grace_overrides={"nope": 60})
    with pytest.raises(PlanError, match=r"grace must be 0 seconds or more \(overrides of nightly"):
        _synth(asset, [_spec()], missed_slot_grace_overrides={"nightly": -1})
    with pytest.raises(PlanError, match="grace must be 0 seconds or more"):
        _synth(asset, [_spec()], missed_slot_grace_seconds=-60)


def test_empty_registry(asset: LambdaAsset) -> None:
    with pytest.raises(PlanError, match="no jobs are registered"):
        _synth(asset, JobRegistry())


def test_too_many_jobs_for_one_stack(asset: LambdaAsset) -> None:
    # 16 resources a job (with the missed-slot alarm): 32 jobs are 512.
    jobs = [_spec(name=f"job-{i:02d}", schedule="rate(1 hour)") for i in range(32)]
    with pytest.raises(PlanError, match=r"would hold 512 resources, over CloudFormation's 500"):
        _synth(asset, jobs, job_stacks=1)


@pytest.mark.parametrize("days", [1, 14, 15])
def test_retention_shorter_than_a_message_can_live_fails_synth(asset: LambdaAsset,
                                                               days: int) -> None:
    # Issue 11 (4): with retention_days=1 a record expired while a copy of its slot still
    # sat in the DLQ (14 days), and redriving that copy ran the slot a second time.
    with pytest.raises(PlanError, match=rf"retention_days {days} is shorter than a copy of a "
                                        r"slot can live .* use at least 16"):
        _synth(asset, [_spec(retention_days=days)])
    assert build_plan([_spec(retention_days=16)]).job("nightly").retention_days == 16
