"""The pytest plugin ``cronbridge.testing``, as a project's own test suite uses it: loaded by
its entry point, finding the project from ``[tool.cronbridge]``."""

from __future__ import annotations

import textwrap

import pytest

PYPROJECT = """
[tool.cronbridge]
app = "shop"
jobs = ["shop_jobs"]
"""

JOBS = '''
import boto3
from botocore.exceptions import ClientError

from cronbridge import job, local_resources

@local_resources
def create_orders(start, end):
    try:
        boto3.client("dynamodb").create_table(
            TableName="orders", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise

@job(name="count-orders", schedule="cron(0/30 * * * ? *)")
def count_orders(ctx):
    boto3.client("dynamodb").put_item(TableName="orders", Item={"pk": {"S": ctx.slot}})
    return {"slot": ctx.slot, "payload": dict(ctx.payload), "trigger": ctx.trigger}

@job(name="resumable", schedule="cron(0 2 * * ? *)", max_attempts=3)
def resumable(ctx):
    done = ctx.resume_state or []
    if not done:
        ctx.checkpoint(["first half"])
        raise RuntimeError("lost the connection")
    return {"attempt": ctx.attempt, "resumed_from": done}
'''

TESTS = '''
from datetime import datetime, timezone

import boto3

def test_a_failed_attempt_resumes_from_its_checkpoint(run_job):
    first = run_job("resumable")
    assert (first.outcome, first.status, first.attempt) == ("failed", "FAILED", 1)
    assert first.checkpoint == ["first half"]
    assert first.error_type == "RuntimeError"
    second = run_job("resumable")
    assert (second.outcome, second.status, second.slot) == ("succeeded", "SUCCEEDED", first.slot)
    assert second.result == {"attempt": 2, "resumed_from": ["first half"]}
    assert run_job("resumable").outcome == "duplicate"

def test_a_job_writes_its_own_table_with_a_payload(run_job, cronbridge_aws):
    run = run_job("count-orders", "2026-11-30T10:47:12", payload={"shard": 3})
    assert run.slot == "2026-11-30T10:30:00Z"
    assert run.result == {"slot": run.slot, "payload": {"shard": 3}, "trigger": "backfill"}
    items = boto3.client("dynamodb").scan(TableName="orders")["Items"]
    assert items == [{"pk": {"S": "2026-11-30T10:30:00Z"}}]
    assert cronbridge_aws.plan.table_name == "shop-runs"
    later = run_job("count-orders", datetime(2026, 11, 30, 12, 5, tzinfo=timezone.utc))
    assert (later.slot, later.result["trigger"]) == ("2026-11-30T12:00:00Z", "schedule")

def test_simulate_accounts_every_slot(simulate):
    sim = simulate("2h")
    assert sim.ok(), sim.to_json()
    assert sim.jobs["count-orders"].succeeded == 4
    assert sim.to_json()["slots_accounted"] == sim.slots_expected == 4
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makepyfile(shop_jobs=JOBS, test_shop=TESTS)
    return pytester


def test_a_project_tests_its_jobs_with_the_plugin_fixtures(project: pytest.Pytester):
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3)


def test_without_a_project_the_fixture_error_says_what_to_add(pytester: pytest.Pytester):
    pytester.makepyfile(test_none=textwrap.dedent("""
        def test_needs_a_project(run_job):
            pass
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*add [[]tool.cronbridge[]] with jobs = *"])
