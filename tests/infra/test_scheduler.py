"""EventBridge Scheduler jobs in the stack: schedules, groups, targets, the app-level option
and the grant for a dynamic job's schedules (aws_cdk.assertions.Template)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from cronbridge.cdk.asset import LambdaAsset
from cronbridge.cdk.scheduled_jobs import ScheduledJobs
from cronbridge.core.errors import PlanError
from cronbridge.core.jobs import JobSpec


def _noop(ctx) -> None:
    return None


def _spec(name: str, schedule: str = "cron(30 2 * * ? *)", **settings) -> JobSpec:
    return JobSpec(name=name, schedule=schedule, func=_noop, **settings)


def _jobs(asset: LambdaAsset, specs, **options) -> tuple[Stack, ScheduledJobs]:
    stack = Stack(App(), "Test")
    return stack, ScheduledJobs(stack, "Jobs", jobs=specs, job_modules=["cronbridge_examples"],
                                asset=asset, job_stacks=1, **options)


def _input(job: str) -> str:
    return json.dumps({"cronbridge-scheduler": 1, "job": job,
                       "time": "<aws.scheduler.scheduled-time>"}, separators=(",", ":"))


def test_a_zoned_job_is_a_scheduler_schedule_in_the_apps_group(asset: LambdaAsset) -> None:
    stack, jobs = _jobs(asset, [
        _spec("berlin-report", timezone="Europe/Berlin", flexible_window_minutes=10,
              start_date=datetime(2027, 1, 1, tzinfo=UTC)),
        _spec("utc-report", schedule="cron(0 3 * * ? *)")])
    Template.from_stack(stack).has_resource_properties(
        "AWS::Scheduler::ScheduleGroup", {"Name": "cronbridge"})
    template = Template.from_stack(jobs.job_stacks["berlin-report"])
    template.resource_count_is("AWS::Scheduler::Schedule", 1)
    template.resource_count_is("AWS::Events::Rule", 1)  # the UTC job stays on its rule
    template.has_resource_properties("AWS::Scheduler::Schedule", {
        "Name": "berlin-report", "GroupName": "cronbridge",
        "ScheduleExpression": "cron(30 2 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Berlin",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        "StartDate": "2027-01-01T00:00:00Z", "State": "ENABLED",
        "Target": {
            "Arn": {"Fn::GetAtt": [Match.string_like_regexp("berlinreportQueue"), "Arn"]},
            "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("berlinreportSchedulerRole"),
                                       "Arn"]},
            "Input": _input("berlin-report"),
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [
                Match.string_like_regexp("berlinreportDlq"), "Arn"]}}}})
    # The role: assumable by Scheduler for this account only, sending to this job's queues.
    template.has_resource_properties("AWS::IAM::Role", {
        "RoleName": "cronbridge-berlin-report-scheduler",
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": Match.any_value()}}})]}})
    template.has_resource_properties("AWS::SQS::Queue", {
        "QueueName": "cronbridge-berlin-report", "SqsManagedSseEnabled": True})
    assert jobs.jobs["berlin-report"].rule is None
    assert jobs.jobs["utc-report"].schedule is None


def test_the_app_option_puts_every_job_on_scheduler(asset: LambdaAsset) -> None:
    _, jobs = _jobs(asset, [_spec("utc-report", schedule="rate(5 minutes)", enabled=False)],
                    scheduler_for_all=True)
    template = Template.from_stack(jobs.job_stacks["utc-report"])
    template.resource_count_is("AWS::Events::Rule", 0)
    template.has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "rate(5 minutes)", "State": "DISABLED",
        "ScheduleExpressionTimezone": Match.absent(),
        "FlexibleTimeWindow": {"Mode": "OFF"}})
    # The delivery alarm watches Scheduler's group metric instead of the rule's.
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "cronbridge-utc-report-failed-invocations", "Namespace": "AWS/Scheduler",
        "MetricName": "TargetErrorCount",
        "Dimensions": [{"Name": "ScheduleGroup", "Value": "cronbridge"}]})


def test_a_dynamic_job_gets_its_own_group_and_a_grant(asset: LambdaAsset) -> None:
    stack, jobs = _jobs(asset, [_spec("digest", schedule="cron(0 8 * * ? *)", dynamic=True)])
    user = iam.User(stack, "App")
    jobs.grant_manage_schedules("digest", user)
    job_template = Template.from_stack(jobs.job_stacks["digest"])
    job_template.resource_count_is("AWS::Scheduler::Schedule", 0)
    job_template.resource_count_is("AWS::Events::Rule", 0)
    job_template.has_resource_properties("AWS::Scheduler::ScheduleGroup",
                                         {"Name": "cronbridge-digest"})
    Template.from_stack(stack).resource_count_is("AWS::Scheduler::ScheduleGroup", 0)
    # The user's policy (the auditor's role has its own).
    statements = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = (p for p in statements.values() if p["Properties"].get("Users"))
    by_action = {json.dumps(s["Action"]): s for s in policy["Properties"]["PolicyDocument"]
                 ["Statement"]}
    manage = by_action[json.dumps(["scheduler:CreateSchedule", "scheduler:GetSchedule",
                                   "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"])]
    assert ":schedule/cronbridge-digest/*" in json.dumps(manage["Resource"])
    assert by_action['"scheduler:ListSchedules"']["Resource"] == "*"
    passrole = by_action['"iam:PassRole"']
    assert ":role/cronbridge-digest-scheduler" in json.dumps(passrole["Resource"])
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_grant_needs_a_dynamic_job(asset: LambdaAsset) -> None:
    stack, jobs = _jobs(asset, [_spec("nightly")])
    with pytest.raises(PlanError, match="job 'nightly' has no runtime schedules"):
        jobs.grant_manage_schedules("nightly", iam.User(stack, "App"))
    with pytest.raises(KeyError, match="no job 'nope'"):
        jobs.grant_manage_schedules("nope", iam.User(stack, "Other"))
