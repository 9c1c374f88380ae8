"""Each demo job's role allows the AWS calls its code makes, and nothing more.

The calls are not listed by hand: every demo job runs on moto with the environment its
function gets in the synthesized template (so the resource names are the stack's), and a
botocore hook records each API call it makes. Each call becomes the IAM request it needs
(action, resource ARN, condition keys), which must be allowed by the job's policy; and each
action and resource the demo grants must be needed by some recorded call. A job that starts
making a new kind of call fails here until it has a grant (and a line in ``_requests``).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from infra_support import Synthesized, synthesize
from moto import mock_aws

import cronbridge_examples  # noqa: F401  (registers the jobs)
from cronbridge.core.context import JobContext
from cronbridge.core.jobs import default_registry
from cronbridge.core.plan import JobPlan
from cronbridge.runtime import settings
from cronbridge_examples import aws
from cronbridge_examples.resources import ENV_BUCKET, ENV_CONFIG_PARAM, ENV_SENDER, ENV_TABLE
from cronbridge_examples.seed import seed_demo

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"
DEMO_ENV = (ENV_BUCKET, ENV_TABLE, ENV_CONFIG_PARAM, ENV_SENDER)
START = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=3)
# How each job is run so that every kind of call its code makes is made: (slot, payload).
RUNS: dict[str, list[tuple[datetime, dict[str, Any]]]] = {
    "log-purge": [(START + timedelta(hours=3), {})],              # deletes week-old logs
    "daily-aggregation": [(START + timedelta(minutes=15), {})],   # reads yesterday's logs
    # failures off; the second run meets the newer cache (conditional put fails)
    "cache-refresh": [(START + timedelta(minutes=15), {"simulate_failures": False})] * 2,
    "email-outbox": [(END, {"batch_size": 100})],                  # sends and marks SENT/FAILED
    "health-report": [(START + timedelta(hours=1), {})],
}
# Cronbridge's own statements on every job role, which the job's code does not use.
RUNTIME_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# A job with pause_after_failures may pause itself (test_stack.py checks these statements).
AUTO_PAUSE_ACTIONS = {"events:DisableRule", "cloudwatch:DisableAlarmActions", "sns:Publish",
                      "kms:Decrypt", "kms:GenerateDataKey*"}


@dataclass(frozen=True)
class Request:
    """One IAM authorization a call needs."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.action, self.resource, tuple(sorted(self.context.items()))))


class Resolver:
    """Evaluates a job stack's intrinsics (parameters from the parent stack) to strings with
    fixed pseudo parameters; an unnamed resource's name is its lowercased logical id."""

    PSEUDO = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
              "AWS::URLSuffix": "amazonaws.com"}

    def __init__(self, template: dict[str, Any], parent: "Resolver | None" = None,
                 parameters: dict[str, Any] | None = None) -> None:
        self.resources = template["Resources"]
        self.parent, self.parameters = parent, parameters or {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        (fn, arg), = value.items()
        if fn == "Fn::Join":
            return arg[0].join(self(part) for part in arg[1])
        if fn == "Ref":
            if arg in self.PSEUDO:
                return self.PSEUDO[arg]
            if arg in self.parameters:
                assert self.parent is not None
                return self.parent(self.parameters[arg])
            return self._name(arg)
        if fn == "Fn::GetAtt" and arg[1] == "Arn":
            return self._arn(arg[0])
        raise AssertionError(f"no rule to resolve {value}")

    def _name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        key = {"AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName",
               "AWS::SSM::Parameter": "Name", "AWS::SES::EmailIdentity": "EmailIdentity",
               "AWS::SQS::Queue": "QueueName", "AWS::Logs::LogGroup": "LogGroupName",
               "AWS::Events::Rule": "Name"}[resource["Type"]]
        return self(props[key]) if key in props else logical_id.lower()

    def _arn(self, logical_id: str) -> str:
        name = self._name(logical_id)
        return {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            # A job that may pause itself disables its own rule.
            "AWS::Events::Rule": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{name}",
        }[self.resources[logical_id]["Type"]]


@dataclass
class JobRole:
    """A demo job as synthesized: its function's environment and its role's statements."""

    plan: JobPlan
    environment: dict[str, str]
    statements: list[dict[str, Any]]


def _job_role(demo: Synthesized, job: str) -> JobRole:
    stack = demo.stack.jobs.job_stacks[job]
    parent = demo.template().to_json()
    stack_id = demo.stack.resolve(stack.nested_stack_resource.logical_id)
    parent_resolver = Resolver(parent)
    resolve = Resolver(demo.job_template(job).to_json(), parent_resolver,
                       parent["Resources"][stack_id]["Properties"].get("Parameters"))
    scheduled = demo.stack.jobs.jobs[job]
    function_id = stack.resolve(scheduled.function.node.default_child.logical_id)
    role_id = stack.resolve(scheduled.role.node.default_child.logical_id)
    variables = resolve.resources[function_id]["Properties"]["Environment"]["Variables"]
    statements = []
    for resource in resolve.resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in props["Roles"]:
            for statement in props["PolicyDocument"]["Statement"]:
                if set(_list(statement["Action"])) <= AUTO_PAUSE_ACTIONS:
                    continue
                statements.append({**statement, "Action": _list(statement["Action"]),
                                   "Resource": _list(resolve(statement["Resource"]))})
    return JobRole(demo.stack.jobs.plan.job(job), {k: resolve(v) for k, v in variables.items()
                                                    if k != settings.ENV_ALARM_TOPIC},
                   statements)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _requests(service: str, operation: str, params: dict[str, Any]) -> list[Request]:
    """The IAM requests an API call makes (service authorization reference)."""
    table = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{params.get('TableName')}"
    bucket = f"arn:{PARTITION}:s3:::{params.get('Bucket')}"
    match service, operation:
        case "s3", "ListObjectsV2":
            return [Request("s3:ListBucket", bucket, {"s3:prefix": params.get("Prefix", "")})]
        case "s3", "GetObject":
            return [Request("s3:GetObject", f"{bucket}/{params['Key']}")]
        case "s3", "DeleteObjects":  # authorised per key as DeleteObject
            return [Request("s3:DeleteObject", f"{bucket}/{obj['Key']}")
                    for obj in params["Delete"]["Objects"]]
        case "dynamodb", ("GetItem" | "PutItem" | "UpdateItem" | "Query"):
            return [Request(f"dynamodb:{operation}", table)]
        case "ssm", "GetParameter":
            name = params["Name"]
            return [Request("ssm:GetParameter", f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter"
                                                f"{name if name.startswith('/') else '/' + name}")]
        case "ses", "SendEmail":
            return [Request("ses:SendEmail",
                            f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{params['Source']}")]
        case "cloudwatch", "PutMetricData":
            return [Request("cloudwatch:PutMetricData", "*",
                            {"cloudwatch:namespace": params["Namespace"]})]
    raise AssertionError(f"a demo job calls {service} {operation}: map it to its IAM action "
                         "here and grant it in infra/demo_resources.py")


def _run_job(name: str, slot: datetime, payload: dict[str, Any]) -> None:
    spec = default_registry().get(name)
    spec.func(JobContext(
        job=name, slot=slot.strftime("%Y-%m-%dT%H:%M:00Z"), scheduled_time=slot, attempt=1,
        trigger="schedule", payload={**spec.payload, **payload},
        logger=logging.getLogger("tests.demo"), resume_state=None,
        _checkpoint=lambda state: None))


@pytest.fixture(scope="module")
def roles(demo: Synthesized) -> dict[str, JobRole]:
    return {job: _job_role(demo, job) for job in RUNS}


@pytest.fixture(scope="module")
def recorded(roles: dict[str, JobRole]) -> dict[str, set[Request]]:
    """Each demo job's IAM requests, recorded on moto."""
    made: dict[str, set[Request]] = {}
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                           ("AWS_DEFAULT_REGION", REGION)):
            env.setenv(var, value)
        for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.delenv(var, raising=False)
        aws.reset_clients()
        boto3.setup_default_session()
        current: list[str] = []

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            if current:
                service = model.service_model.signing_name
                service = {"monitoring": "cloudwatch"}.get(service, service)
                made[current[0]].update(_requests(service, model.name, params))

        boto3.DEFAULT_SESSION.events.register("provide-client-params", record)
        try:
            for job, runs in RUNS.items():
                for var in DEMO_ENV:
                    env.setenv(var, roles[job].environment[var])
                seed_demo(START, END)  # the resources under this job's names (idempotent)
                made[job] = set()
                current[:] = [job]
                for slot, payload in runs:
                    _run_job(job, slot, payload)
                current.clear()
        finally:
            aws.reset_clients()
            boto3.DEFAULT_SESSION = None
    return made


def _allows(statement: dict[str, Any], request: Request) -> bool:
    if statement["Effect"] != "Allow":
        return False
    if not any(fnmatch.fnmatchcase(request.action.lower(), a.lower())
               for a in statement["Action"]):
        return False
    if not any(fnmatch.fnmatchcase(request.resource, r) for r in statement["Resource"]):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, wanted in keys.items():
            value = request.context.get(key)
            wanted = _list(wanted)
            if value is None:
                return False
            if operator == "StringEquals" and value not in wanted:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(value, w)
                                                     for w in wanted):
                return False
            if operator not in ("StringEquals", "StringLike"):
                return False
    return True


def _runtime(role: JobRole, statement: dict[str, Any]) -> bool:
    """Whether ``statement`` is one of cronbridge's own: tracing, or only this job's queue,
    DLQ, log group, or its own partition of the run table."""
    if set(statement["Action"]) <= RUNTIME_ACTIONS and statement["Resource"] == ["*"]:
        return True
    plan = role.plan
    own = {f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
           for name in (plan.queue_name, plan.dlq_name)}
    own.add(f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/"
            f"{plan.function_name}:*")
    if set(statement["Resource"]) <= own:
        return True
    run_table = (f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/"
                 f"{role.environment[settings.ENV_TABLE]}")
    return (statement["Resource"] == [run_table] and statement.get("Condition") == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [plan.job]}})


def _demo_statements(role: JobRole) -> Iterator[dict[str, Any]]:
    return (s for s in role.statements if not _runtime(role, s))


@pytest.mark.parametrize("job", list(RUNS))
def test_every_call_the_job_makes_is_allowed(job, roles, recorded) -> None:
    assert recorded[job], f"{job} made no AWS calls: the run did not exercise it"
    role = roles[job]
    denied = sorted({(r.action, r.resource) for r in recorded[job]
                     if not any(_allows(s, r) for s in role.statements)})
    assert not denied, f"{job} makes calls its role does not allow: {denied}"


@pytest.mark.parametrize("job", list(RUNS))
def test_the_job_is_granted_nothing_its_calls_do_not_use(job, roles, recorded) -> None:
    unused = []
    for statement in _demo_statements(roles[job]):
        for action in statement["Action"]:
            assert "*" not in action, f"{job}: wildcard action {action}"
            for resource in statement["Resource"]:
                single = {**statement, "Action": [action], "Resource": [resource]}
                if not any(_allows(single, r) for r in recorded[job]):
                    unused.append((action, resource))
                if resource == "*":
                    assert action == "cloudwatch:PutMetricData" and statement.get("Condition"), (
                        f"{job}: {action} on every resource")
    assert not unused, f"{job} is granted what no call of its code uses: {unused}"


def test_the_demo_resources_are_encrypted_at_rest(demo: Synthesized) -> None:
    template = demo.template()
    template.has_resource_properties("AWS::S3::Bucket", {"BucketEncryption": {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}})
    template.has_resource_properties("AWS::DynamoDB::Table", {
        "TableName": "cronbridge-demo-data", "SSESpecification": {"SSEEnabled": True}})


def test_every_demo_function_gets_the_demo_resource_names(roles) -> None:
    [(bucket, *names)] = {tuple(role.environment[var] for var in DEMO_ENV)
                          for role in roles.values()}
    assert bucket.startswith("demologs")  # the stack's bucket, named by CloudFormation
    assert names == ["cronbridge-demo-data", "/cronbridge/demo/config",
                     "noreply@cronbridge.example"]



def test_an_app_without_the_demo_jobs_gets_no_demo_resources(tmp_path) -> None:
    app = synthesize(tmp_path, {"cronbridge:job_modules": "cronbridge_synthetic",
                                "cronbridge:synthetic_jobs": "2"}, nag=False)
    assert app.stack.demo_data is None
    template = app.template()
    for resource_type in ("AWS::S3::Bucket", "AWS::SSM::Parameter", "AWS::SES::EmailIdentity"):
        template.resource_count_is(resource_type, 0)
    template.resource_count_is("AWS::DynamoDB::Table", 1)  # the run table
