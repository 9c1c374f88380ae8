"""Template assertions on the synthesized demo app (one synth, shared)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import CfnElement
from aws_cdk.assertions import Match
from infra_support import ALARM_EMAIL, Synthesized

from cronbridge.cdk.alarms import alarm_kinds, default_missed_slot_grace_seconds
from cronbridge.cdk.asset import DEFAULT_PYTHON_VERSION
from cronbridge.cdk.names import ALARM_KINDS
from cronbridge.cdk.scheduled_jobs import HANDLER, TABLE_ACTIONS, job_bucket
from cronbridge.core import metrics
from cronbridge.core.plan import DLQ_RETENTION_SECONDS, JobPlan
from cronbridge.runtime import settings

DEMO_JOBS = ["log-purge", "daily-aggregation", "cache-refresh", "email-outbox", "health-report",
             "regional-export", "customer-digest"]


def _arn(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _logical_id(template, resource_type: str, **props) -> str:
    found = template.find_resources(resource_type, {"Properties": props})
    assert len(found) == 1, f"expected one {resource_type} with {props}, found {list(found)}"
    return next(iter(found))


@pytest.fixture(scope="module", params=DEMO_JOBS)
def job(request, demo: Synthesized) -> JobPlan:
    return demo.stack.jobs.plan.job(request.param)


@pytest.fixture(scope="module", params=DEMO_JOBS[:5])
def rule_job(request, demo: Synthesized) -> JobPlan:
    """The demo jobs on EventBridge rules (the other two are on Scheduler)."""
    return demo.stack.jobs.plan.job(request.param)


@pytest.fixture(scope="module", params=DEMO_JOBS[:6])
def timed_job(request, demo: Synthesized) -> JobPlan:
    """The demo jobs with a job-level schedule (customer-digest fires per key only)."""
    return demo.stack.jobs.plan.job(request.param)


def test_demo_registers_exactly_the_example_jobs(demo: Synthesized) -> None:
    assert sorted(j.job for j in demo.stack.jobs.plan.jobs) == sorted(DEMO_JOBS)


def test_run_table(demo: Synthesized) -> None:
    template = demo.template()
    template.resource_count_is("AWS::DynamoDB::Table", 2)  # and the demo jobs' data table
    template.has_resource("AWS::DynamoDB::Table", {
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": "cronbridge-runs",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    })


def test_queue_and_dlq(demo: Synthesized, job: JobPlan) -> None:
    template = demo.job_template(job.job)
    dlq = _logical_id(template, "AWS::SQS::Queue", QueueName=job.dlq_name)
    template.has_resource_properties("AWS::SQS::Queue", {
        "QueueName": job.dlq_name, "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
        "MaximumMessageSize": job.dlq_max_message_bytes,
        "SqsManagedSseEnabled": True, "KmsMasterKeyId": Match.absent(),
    })
    template.has_resource_properties("AWS::SQS::Queue", {
        "QueueName": job.queue_name,
        "VisibilityTimeout": job.visibility_timeout_seconds,
        "MessageRetentionPeriod": job.queue_retention_seconds,
        "MaximumMessageSize": job.queue_max_message_bytes,
        "SqsManagedSseEnabled": True, "KmsMasterKeyId": Match.absent(),
        "RedrivePolicy": {"deadLetterTargetArn": _arn(dlq),
                          "maxReceiveCount": job.max_receive_count},
    })
    assert job.visibility_timeout_seconds >= 6 * job.timeout_seconds
    assert job.max_receive_count >= 5
    assert job.dlq_retention_seconds > job.queue_retention_seconds
    assert job.dlq_max_message_bytes > job.queue_max_message_bytes + 10_000


def test_rule_targets_queue_with_retry_policy_and_dlq(demo: Synthesized,
                                                      rule_job: JobPlan) -> None:
    job = rule_job
    template = demo.job_template(job.job)
    queue = _logical_id(template, "AWS::SQS::Queue", QueueName=job.queue_name)
    dlq = _logical_id(template, "AWS::SQS::Queue", QueueName=job.dlq_name)
    template.has_resource_properties("AWS::Events::Rule", {
        "Name": job.rule_name,
        "ScheduleExpression": job.schedule_expression,
        "State": "ENABLED" if job.enabled else "DISABLED",
        "Targets": [{
            "Arn": _arn(queue), "Id": Match.any_value(),
            "DeadLetterConfig": {"Arn": _arn(dlq)},
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            "Input": Match.absent(), "InputTransformer": Match.absent(),
        }],
    })


def _policy_statements(template, queue_logical_id: str) -> list[dict]:
    policies = template.find_resources("AWS::SQS::QueuePolicy", {
        "Properties": {"Queues": [{"Ref": queue_logical_id}]}})
    assert len(policies) == 1
    return next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]


def test_queue_policies_admit_only_the_rule_and_enforce_tls(demo: Synthesized,
                                                            rule_job: JobPlan) -> None:
    job = rule_job
    template = demo.job_template(job.job)
    rule = _logical_id(template, "AWS::Events::Rule", Name=job.rule_name)
    for name in (job.queue_name, job.dlq_name):
        queue = _logical_id(template, "AWS::SQS::Queue", QueueName=name)
        statements = _policy_statements(template, queue)
        deny = [s for s in statements if s["Effect"] == "Deny"]
        allow = [s for s in statements if s["Effect"] == "Allow"]
        assert deny == [{"Action": "sqs:*", "Effect": "Deny", "Principal": {"AWS": "*"},
                         "Resource": _arn(queue),
                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
        assert len(allow) == 1
        assert allow[0]["Principal"] == {"Service": "events.amazonaws.com"}
        assert allow[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": _arn(rule)}}
        assert "sqs:SendMessage" in allow[0]["Action"]


def test_function(demo: Synthesized, job: JobPlan) -> None:
    template = demo.job_template(job.job)
    queue = _logical_id(template, "AWS::SQS::Queue", QueueName=job.queue_name)
    dlq = _logical_id(template, "AWS::SQS::Queue", QueueName=job.dlq_name)
    logs = _logical_id(template, "AWS::Logs::LogGroup",
                       LogGroupName=f"/aws/lambda/{job.function_name}")
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": job.function_name,
        "Runtime": f"python{DEFAULT_PYTHON_VERSION}",
        "Architectures": ["arm64"],
        "Handler": HANDLER,
        "Timeout": job.timeout_seconds,
        "MemorySize": job.memory_mb,
        "TracingConfig": {"Mode": "Active"},
        "LoggingConfig": {"LogGroup": {"Ref": logs}},
        "ReservedConcurrentExecutions": Match.absent(),
        "Environment": {"Variables": {
            settings.ENV_APP: "cronbridge",
            settings.ENV_TABLE: "cronbridge-runs",
            settings.ENV_JOB_MODULES: "cronbridge_examples",
            settings.ENV_JOB: job.job,
            settings.ENV_QUEUE_URL: {"Ref": queue},
            settings.ENV_DLQ_URL: {"Ref": dlq},
            "POWERTOOLS_SERVICE_NAME": "cronbridge",
            "POWERTOOLS_METRICS_NAMESPACE": "cronbridge",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }},
    })
    template.has_resource("AWS::Logs::LogGroup", {
        "DeletionPolicy": "Retain",
        "Properties": {"LogGroupName": f"/aws/lambda/{job.function_name}",
                       "RetentionInDays": 30}})


def test_event_source_reports_batch_item_failures(demo: Synthesized, job: JobPlan) -> None:
    template = demo.job_template(job.job)
    queue = _logical_id(template, "AWS::SQS::Queue", QueueName=job.queue_name)
    function = _logical_id(template, "AWS::Lambda::Function", FunctionName=job.function_name)
    template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "EventSourceArn": _arn(queue), "FunctionName": {"Ref": function},
        "BatchSize": job.batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": job.max_concurrency},
    })


def test_role_is_least_privilege(demo: Synthesized, job: JobPlan) -> None:
    template = demo.job_template(job.job)
    queue = _logical_id(template, "AWS::SQS::Queue", QueueName=job.queue_name)
    dlq = _logical_id(template, "AWS::SQS::Queue", QueueName=job.dlq_name)
    logs = _logical_id(template, "AWS::Logs::LogGroup",
                       LogGroupName=f"/aws/lambda/{job.function_name}")
    role = _logical_id(template, "AWS::IAM::Role",
                       Description=f"cronbridge worker for job {job.job}")
    template.has_resource_properties("AWS::IAM::Role", {
        "Description": f"cronbridge worker for job {job.job}",
        "ManagedPolicyArns": Match.absent(),
        "AssumeRolePolicyDocument": {"Statement": [{
            "Action": "sts:AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}}]},
    })
    policies = template.find_resources("AWS::IAM::Policy", {
        "Properties": {"Roles": [{"Ref": role}]}})
    assert len(policies) == 1
    statements = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    table_arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":dynamodb:",
                                   {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                                   ":table/cronbridge-runs"]]}

    def actions(statement: dict) -> list[str]:
        return sorted([statement["Action"]] if isinstance(statement["Action"], str)
                      else statement["Action"])

    assert all(s["Effect"] == "Allow" for s in statements)
    # The construct's own statements; the others are the demo's grants on the demo's own
    # resources, checked call by call in test_demo_permissions.py.
    own_resources = {json.dumps(r, sort_keys=True)
                     for r in ("*", _arn(logs), _arn(dlq), _arn(queue), table_arn)}
    by_resource: dict[str, dict] = {}
    for statement in statements:
        key = json.dumps(statement["Resource"], sort_keys=True)
        if key in own_resources and statement["Action"] != "cloudwatch:PutMetricData":
            assert key not in by_resource
            by_resource[key] = statement
    assert len(by_resource) == 5
    # Auto-pause adds: disable its rule, silence its missed-slot alarm, publish to the alarm
    # topic.
    if job.pause_after_failures is not None:
        rule = _logical_id(template, "AWS::Events::Rule", Name=job.rule_name)
        [disable] = [s for s in statements if s["Action"] == "events:DisableRule"]
        assert disable["Resource"] == {"Fn::GetAtt": [rule, "Arn"]}
        [alarm] = [s for s in statements if s["Action"] == "cloudwatch:DisableAlarmActions"]
        assert f":alarm:cronbridge-{job.job}-missed-slot" in json.dumps(alarm["Resource"])
        assert [s for s in statements if s["Action"] == "sns:Publish"]
    xray = by_resource['"*"']
    assert actions(xray) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert actions(by_resource[json.dumps(_arn(logs))]) == ["logs:CreateLogStream",
                                                            "logs:PutLogEvents"]
    assert actions(by_resource[json.dumps(_arn(dlq))]) == ["sqs:SendMessage"]
    assert actions(by_resource[json.dumps(_arn(queue))]) == sorted([
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl"])
    table = by_resource[json.dumps(table_arn, sort_keys=True)]
    assert actions(table) == sorted(TABLE_ACTIONS)
    assert table["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [job.job]}}


def test_alarms(demo: Synthesized, job: JobPlan) -> None:
    template = demo.job_template(job.job)
    topic_param = {"Ref": Match.string_like_regexp("AlarmsTopic")}
    expected = [
        (f"cronbridge-{job.job}-consecutive-failures", "cronbridge", "ConsecutiveFailures",
         "Maximum", 3, "GreaterThanOrEqualToThreshold",
         [{"Name": "job", "Value": job.job}, {"Name": "service", "Value": "cronbridge"}]),
        (f"cronbridge-{job.job}-duration", "cronbridge", "RunDuration", "Maximum", 300000,
         "GreaterThanThreshold",
         [{"Name": "job", "Value": job.job}, {"Name": "service", "Value": "cronbridge"}]),
        (f"cronbridge-{job.job}-dlq-not-empty", "AWS/SQS",
         "ApproximateNumberOfMessagesVisible", "Maximum", 0, "GreaterThanThreshold",
         [{"Name": "QueueName", "Value": job.dlq_name}]),
        (f"cronbridge-{job.job}-failed-invocations", "AWS/Events", "FailedInvocations", "Sum",
         0, "GreaterThanThreshold", [{"Name": "RuleName", "Value": job.rule_name}])
        if job.via == "rule" else
        (f"cronbridge-{job.job}-failed-invocations", "AWS/Scheduler", "TargetErrorCount", "Sum",
         0, "GreaterThanThreshold", [{"Name": "ScheduleGroup", "Value": job.schedule_group}]),
        (f"cronbridge-{job.job}-throttles", "AWS/Lambda", "Throttles", "Sum", 0,
         "GreaterThanThreshold", [{"Name": "FunctionName", "Value": job.function_name}]),
    ]
    windows = demo.stack.jobs.missed_slot_windows
    template.resource_count_is("AWS::CloudWatch::Alarm", sum(
        len(alarm_kinds(windows[j])) for j, s in demo.stack.jobs.job_stacks.items()
        if s is demo.stack.jobs.job_stacks[job.job]))
    for name, namespace, metric, statistic, threshold, operator, dimensions in expected:
        template.has_resource_properties("AWS::CloudWatch::Alarm", {
            "AlarmName": name, "Namespace": namespace, "MetricName": metric,
            "Statistic": statistic, "Threshold": threshold, "ComparisonOperator": operator,
            "Dimensions": dimensions, "Period": 300, "EvaluationPeriods": 1,
            "AlarmActions": [topic_param], "OKActions": [topic_param],
            "AlarmDescription": Match.string_like_regexp("docs/deploy.md#alarms"),
        })
    assert {metrics.CONSECUTIVE_FAILURES, metrics.RUN_DURATION} <= {e[2] for e in expected}


# Each demo job's longest gap between fire times (every one is enabled and fires often).
# regional-export runs at 03:00 Berlin time: 25 h apart across the autumn change.
DEMO_GAPS = {"log-purge": 86400, "daily-aggregation": 86400, "cache-refresh": 900,
             "email-outbox": 300, "health-report": 3600, "regional-export": 90000}


def test_missed_slot_alarm(demo: Synthesized, timed_job: JobPlan) -> None:
    job = timed_job
    template = demo.job_template(job.job)
    topic_param = {"Ref": Match.string_like_regexp("AlarmsTopic")}
    # The window: the longest gap plus 15 minutes and the retry budget, in whole minutes.
    grace = default_missed_slot_grace_seconds(job)
    assert grace == 900 + job.settle_seconds
    period = -(-(DEMO_GAPS[job.job] + grace) // 60) * 60
    assert demo.stack.jobs.missed_slot_windows[job.job].to_seconds() == period

    def outcome(metric_id: str, name: str) -> dict:
        return {"Id": metric_id, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "cronbridge", "MetricName": name, "Dimensions": [
                {"Name": "job", "Value": job.job}, {"Name": "service", "Value": "cronbridge"}]},
            "Period": period, "Stat": "Sum"}}

    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": f"cronbridge-{job.job}-missed-slot",
        "Metrics": [
            Match.object_like({"Expression": "IF(FILL(missed,0) > 0, 0, FILL(succeeded,0)"
                                             "+FILL(dead,0)+FILL(skipped,0))",
                               "ReturnData": True}),
            outcome("succeeded", metrics.RUN_SUCCEEDED), outcome("dead", metrics.RUN_DEAD),
            outcome("skipped", metrics.RUN_SKIPPED), outcome("missed", metrics.MISSED_SLOTS)],
        "Threshold": 1, "ComparisonOperator": "LessThanThreshold",
        "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "TreatMissingData": "breaching",
        "AlarmActions": [topic_param], "OKActions": [topic_param],
        "AlarmDescription": Match.string_like_regexp("docs/deploy.md#alarms"),
    })


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_can_use(demo: Synthesized) -> None:
    template = demo.template()
    key = _logical_id(template, "AWS::KMS::Key", EnableKeyRotation=True)
    template.has_resource_properties("AWS::SNS::Topic", {
        "TopicName": "cronbridge-alarms", "KmsMasterKeyId": _arn(key)})
    template.has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": ALARM_EMAIL})
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({"Principal": {"Service": "cloudwatch.amazonaws.com"},
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"]})])}})


def test_one_dashboard_with_a_row_per_job(demo: Synthesized) -> None:
    dashboards = demo.stack.jobs.dashboards
    assert len(dashboards) == 1
    template = demo.template(dashboards[0].stack)
    found = template.find_resources("AWS::CloudWatch::Dashboard")
    (resource,) = found.values()
    assert resource["Properties"]["DashboardName"] == "cronbridge"
    # The body is an Fn::Join of literal JSON and the region/account tokens.
    parts = resource["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))
    rows: dict[int, list[str]] = {}
    for widget in body["widgets"]:
        rows.setdefault(widget["y"], []).append(widget["properties"]["title"])
    plan_jobs = [j.job for j in demo.stack.jobs.plan.jobs]
    assert list(rows.values()) == [
        ["missed slots (auditor)", "skipped slots by reason", "auto-pauses"],
        *([f"{name}: {title}" for title in ("runs by outcome", "duration (ms)",
                                            "start lag (s)", "DLQ depth", "alarms")]
          for name in plan_jobs)]
    audit = {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"][:3]}
    searches = [m[0]["expression"] for m in audit["skipped slots by reason"]]
    assert searches == [f"SEARCH('{{cronbridge,job,service}} MetricName=\"{name}\"', 'Sum', 900)"
                        for name in ("SkippedOverlap", "SkippedLate", "SkippedPaused")]
    assert "MissedSlots" in audit["missed slots (auditor)"][0][0]["expression"]
    assert "AutoPaused" in audit["auto-pauses"][0][0]["expression"]
    alarm_widgets = [w for w in body["widgets"] if w["type"] == "alarm"]
    # Every demo job has all six alarms, the missed-slot one included.
    assert [a.rsplit(":", 1)[1] for a in alarm_widgets[0]["properties"]["alarms"]] == [
        f"cronbridge-{plan_jobs[0]}-{kind}" for kind in ALARM_KINDS]
    assert "missed-slot" in ALARM_KINDS


def test_nested_stacks_pass_almost_nothing_by_parameter(demo: Synthesized) -> None:
    parent = demo.template().to_json()["Resources"]
    demo_data = {demo.stack.resolve(c.logical_id) for c in demo.stack.demo_data.node.find_all()
                 if isinstance(c, CfnElement)}
    for stack in {*demo.stack.jobs.job_stacks.values(),
                  *(d.stack for d in demo.stack.jobs.dashboards)}:
        resource = parent[demo.stack.resolve(stack.nested_stack_resource.logical_id)]
        values = resource["Properties"].get("Parameters", {})
        # Only the alarm topic's ARN crosses into a job stack (and its key's, for a job
        # that may pause itself: it publishes to the topic); dashboards need nothing. The
        # demo's grants and names add one parameter per demo resource attribute, however
        # many jobs share the stack.
        own = {name: value for name, value in values.items()
               if not any(logical_id in json.dumps(value) for logical_id in demo_data)}
        assert len(own) <= 2, own
        assert len(values) - len(own) <= 6, values


def test_jobs_spread_over_stable_nested_stacks(demo: Synthesized) -> None:
    for name, stack in demo.stack.jobs.job_stacks.items():
        assert stack.node.id == f"Jobs{job_bucket(name, 64):03d}"


def test_zero_unacknowledged_cdk_nag_findings(demo: Synthesized) -> None:
    assert demo.nag_error is None
    report = json.loads((demo.outdir / "validation-report.json").read_text())
    assert [r for r in report["pluginReports"] if r.get("violations")] == []


def test_cfn_lint_reports_no_errors(demo: Synthesized) -> None:
    from cfnlint.api import ManualArgs, lint_file
    files = demo.template_files()
    assert len(files) == 1 + len(set(demo.stack.jobs.job_stacks.values())) + 1
    errors = []
    for path in files:
        matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
        errors += [f"{path.name}: {m}" for m in matches if m.rule.severity == "error"]
    assert errors == []


def test_one_auditor_per_app_on_its_own_schedule(demo: Synthesized) -> None:
    template = demo.template()
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "cronbridge-auditor",
        "Handler": "cronbridge.runtime.auditor.lambda_handler",
        "Environment": {"Variables": Match.object_like({
            "CRONBRIDGE_TABLE": "cronbridge-runs", "CRONBRIDGE_AUDIT_LOOKBACK_HOURS": "6"})}})
    template.has_resource_properties("AWS::Events::Rule", {
        "Name": "cronbridge-auditor", "ScheduleExpression": "rate(15 minutes)",
        "Targets": [Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 0}})]})
    role = _logical_id(template, "AWS::IAM::Role", Description="cronbridge auditor of app cronbridge")
    [policy] = template.find_resources("AWS::IAM::Policy", {
        "Properties": {"Roles": [{"Ref": role}]}}).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    table = [s for s in statements if "dynamodb:Query" in s["Action"]]
    assert len(table) == 1 and sorted(table[0]["Action"]) == [
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    # No demo job catches up: the auditor may send to no queue.
    assert not [s for s in statements if "sqs:SendMessage" in json.dumps(s["Action"])]
