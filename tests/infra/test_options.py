"""Construct options and per-job settings: one small app synthesized once."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cronbridge.core.errors import PlanError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.cdk.asset import LambdaAsset
from cronbridge.cdk.scheduled_jobs import ScheduledJobs
from demo_stack import CronbridgeStack


def _noop(ctx) -> None:
    return None


registry = JobRegistry()
registry.add(JobSpec(name="paused-report", schedule="cron(30 6 ? * MON-FRI *)", func=_noop,
                     timeout_seconds=600, enabled=False, memory_mb=1024, batch_size=5,
                     max_concurrency=7))
registry.add(JobSpec(name="minutely", schedule="rate(1 minute)", func=_noop,
                     timeout_seconds=10))
# No missed-slot alarm: a week plus any grace is past the 7 days CloudWatch evaluates, and a
# schedule that never fires again has no next slot to miss.
registry.add(JobSpec(name="weekly", schedule="cron(0 3 ? * SUN *)", func=_noop))
registry.add(JobSpec(name="ended", schedule="cron(0 0 1 1 ? 2020)", func=_noop))


@pytest.fixture(scope="module")
def custom(asset: LambdaAsset, tmp_path_factory: pytest.TempPathFactory) -> ScheduledJobs:
    app = App(outdir=str(tmp_path_factory.mktemp("cdk-options")))
    stack = Stack(app, "Custom")
    key = kms.Key(stack, "TableKey", enable_key_rotation=True)
    jobs = ScheduledJobs(stack, "Jobs", jobs=registry, job_modules=["cronbridge_examples"],
                         app="acme", asset=asset, max_receive_count=5,
                         duration_alarm_overrides={"paused-report": 540},
                         missed_slot_grace_seconds=600,
                         missed_slot_grace_overrides={"minutely": 120},
                         removal_policy=RemovalPolicy.DESTROY, table_encryption_key=key,
                         environment={"EXTRA": "1"})
    app.synth()
    return jobs


def test_disabled_job_and_its_settings(custom: ScheduledJobs) -> None:
    template = Template.from_stack(custom.job_stacks["paused-report"])
    template.has_resource_properties("AWS::Events::Rule", {
        "Name": "acme-paused-report", "State": "DISABLED",
        "ScheduleExpression": "cron(30 6 ? * MON-FRI *)"})
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "acme-paused-report", "Timeout": 600, "MemorySize": 1024,
        "Environment": {"Variables": {"CRONBRIDGE_APP": "acme", "CRONBRIDGE_TABLE": "acme-runs",
                                      "EXTRA": "1"}}})
    plan = custom.plan.job("paused-report")
    assert plan.max_receive_count >= 5
    template.has_resource_properties("AWS::SQS::Queue", {
        "QueueName": "acme-paused-report", "VisibilityTimeout": 3600,
        "RedrivePolicy": {"maxReceiveCount": plan.max_receive_count}})
    template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "BatchSize": 5, "ScalingConfig": {"MaximumConcurrency": 7}})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "acme-paused-report-duration", "Threshold": 540000})


def test_short_job_visibility_is_six_times_its_timeout(custom: ScheduledJobs) -> None:
    Template.from_stack(custom.job_stacks["minutely"]).has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "acme-minutely", "VisibilityTimeout": 60})


def test_no_topic_means_no_alarm_actions(custom: ScheduledJobs) -> None:
    template = Template.from_stack(custom.job_stacks["minutely"])
    template.all_resources_properties("AWS::CloudWatch::Alarm", {
        "AlarmActions": Match.absent(), "OKActions": Match.absent()})


def test_missed_slot_grace_option_and_override(custom: ScheduledJobs) -> None:
    windows = custom.missed_slot_windows
    assert windows["minutely"].to_seconds() == 60 + 120  # override
    Template.from_stack(custom.job_stacks["minutely"]).has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmName": "acme-minutely-missed-slot",
                                   "Metrics": Match.array_with([Match.object_like(
                                       {"MetricStat": Match.object_like({"Period": 180})})])})


@pytest.mark.parametrize("name", ["paused-report", "weekly", "ended"])
def test_no_missed_slot_alarm_without_a_slot_to_miss_in_seven_days(custom: ScheduledJobs,
                                                                  name: str) -> None:
    # paused-report is disabled: no slot is expected, so none can be missed.
    assert custom.missed_slot_windows[name] is None
    alarms = Template.from_stack(custom.job_stacks[name]).find_resources(
        "AWS::CloudWatch::Alarm")
    names = {a["Properties"]["AlarmName"] for a in alarms.values()}
    assert f"acme-{name}-duration" in names and f"acme-{name}-missed-slot" not in names
    # The dashboard shows only alarms that exist.
    dashboard = Template.from_stack(custom.dashboards[0].stack).to_json()
    assert f"acme-{name}-missed-slot" not in json.dumps(dashboard)
    assert f"acme-{name}-throttles" in json.dumps(dashboard)


def test_destroy_on_delete_and_customer_key(custom: ScheduledJobs) -> None:
    parent = Template.from_stack(Stack.of(custom))
    parent.has_resource("AWS::DynamoDB::Table", {
        "DeletionPolicy": "Delete",
        "Properties": {"TableName": "acme-runs", "DeletionProtectionEnabled": False,
                       "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS",
                                            "KMSMasterKeyId": Match.any_value()}}})
    template = Template.from_stack(custom.job_stacks["minutely"])
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Action": Match.array_with(["kms:Decrypt", "kms:Encrypt"]),
            "Resource": {"Ref": Match.string_like_regexp("TableKey")}})])}})


def test_missed_slot_grace_context_value() -> None:
    app = App(context={"cronbridge:missed_slot_grace_seconds": "0"})
    windows = CronbridgeStack(app, "Grace").jobs.missed_slot_windows
    assert windows["health-report"].to_seconds() == 3600  # hourly, no grace


def test_malformed_context_value() -> None:
    app = App(context={"cronbridge:synthetic_jobs": "many"})
    with pytest.raises(PlanError, match="cronbridge:synthetic_jobs must be an integer"):
        CronbridgeStack(app, "Bad")
