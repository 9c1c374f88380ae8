"""Synthetic jobs: many jobs stay inside every CloudFormation limit."""

from __future__ import annotations

import json
import math

import pytest
from cronbridge.cdk.dashboard import JOBS_PER_DASHBOARD
from infra_support import Synthesized, synthesize

SYNTHETIC = 120
DEMO = 7
# Resources a job has beyond a synthetic (hourly, rule) job's 16: a Scheduler job has a
# schedule, a role and its policy instead of a rule (+2); the dynamic one a schedule group
# instead of a schedule, and no missed-slot alarm (+1).
EXTRA_RESOURCES = {"regional-export": 2, "customer-digest": 1}
TEMPLATE_LIMIT_BYTES = 1_000_000  # template body uploaded to S3
LIMITS = {"Resources": 500, "Parameters": 200, "Outputs": 200}


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-scale"),
                      {"cronbridge:synthetic_jobs": str(SYNTHETIC)}, nag=False)


def test_every_template_within_cloudformation_limits(scaled: Synthesized) -> None:
    files = scaled.template_files()
    job_stacks = set(scaled.stack.jobs.job_stacks.values())
    assert len(files) == 1 + len(job_stacks) + len(scaled.stack.jobs.dashboards)
    for path in files:
        template = json.loads(path.read_text())
        assert path.stat().st_size < TEMPLATE_LIMIT_BYTES, path.name
        for section, limit in LIMITS.items():
            assert len(template.get(section, {})) <= limit, (path.name, section)


def test_jobs_are_spread_and_counted(scaled: Synthesized) -> None:
    plan = scaled.stack.jobs.plan
    assert len(plan.jobs) == SYNTHETIC + DEMO
    per_stack: dict[str, int] = {}
    expected: dict[str, int] = {}
    for job, stack in scaled.stack.jobs.job_stacks.items():
        per_stack[stack.node.id] = per_stack.get(stack.node.id, 0) + 1
        # 16 a job: every synthetic job fires hourly, so it has the missed-slot alarm too.
        expected[stack.node.id] = expected.get(stack.node.id, 0) + 16 + EXTRA_RESOURCES.get(
            job, 0)
    assert sum(per_stack.values()) == len(plan.jobs)
    for stack in set(scaled.stack.jobs.job_stacks.values()):
        resources = scaled.template(stack).to_json()["Resources"]
        assert len(resources) == expected[stack.node.id]


def test_dashboards_split_past_fifty_jobs(scaled: Synthesized) -> None:
    count = math.ceil((SYNTHETIC + DEMO) / JOBS_PER_DASHBOARD)
    names = [scaled.template(d.stack).find_resources("AWS::CloudWatch::Dashboard")
             .popitem()[1]["Properties"]["DashboardName"] for d in scaled.stack.jobs.dashboards]
    assert names == [f"cronbridge-{i:02d}" for i in range(1, count + 1)]


def test_adding_jobs_moves_no_existing_job(scaled: Synthesized, demo: Synthesized) -> None:
    for name, stack in demo.stack.jobs.job_stacks.items():
        assert scaled.stack.jobs.job_stacks[name].node.id == stack.node.id


def test_synthetic_jobs_run_in_the_worker_too(scaled: Synthesized) -> None:
    stack = scaled.stack.jobs.job_stacks["synthetic-0001"]
    scaled.template(stack).has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "cronbridge-synthetic-0001",
        "Environment": {"Variables": {
            "CRONBRIDGE_JOB_MODULES": "cronbridge_examples,cronbridge_synthetic",
            "CRONBRIDGE_SYNTHETIC_JOBS": str(SYNTHETIC)}},
    })
