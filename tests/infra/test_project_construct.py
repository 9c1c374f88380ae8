"""The construct in a user's own CDK app: configuration from pyproject, the project's
dependencies in the asset, grants on a job's function, and reproducible synths."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template

from cronbridge.cdk import ScheduledJobs

PACKAGE = "acme_tasks"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("acme")
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [project]
        name = "acme-tasks"
        dependencies = ["cronbridge @ file:///anywhere", "humanize>=4"]

        [tool.cronbridge]
        app = "acme"
        jobs = ["{PACKAGE}.jobs"]
    """))
    (root / PACKAGE).mkdir()
    (root / PACKAGE / "__init__.py").write_text("")
    # humanize is imported in the body: this test's environment does not have it, the
    # asset must.
    (root / PACKAGE / "jobs.py").write_text(textwrap.dedent("""
        from cronbridge import job

        @job(name="write-row", schedule="rate(15 minutes)")
        def write_row(ctx):
            import humanize

            return {"age": humanize.naturaldelta(60)}
    """))
    yield root
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def _synth(project: Path, outdir: Path) -> tuple[ScheduledJobs, Stack, App]:
    app = App(outdir=str(outdir))
    stack = Stack(app, "Acme")
    jobs = ScheduledJobs(stack, "Jobs", project_dir=project)
    table = dynamodb.Table(stack, "Rows", partition_key=dynamodb.Attribute(
        name="id", type=dynamodb.AttributeType.STRING))
    table.grant_write_data(jobs.function("write-row"))
    app.synth()
    return jobs, stack, app


def test_config_dependencies_and_grants(project: Path, tmp_path: Path) -> None:
    jobs, stack, _ = _synth(project, tmp_path / "a")
    assert jobs.plan.app == "acme" and [j.job for j in jobs.plan.jobs] == ["write-row"]
    assert (jobs.asset.path / "humanize").is_dir()
    assert (jobs.asset.path / PACKAGE / "jobs.py").is_file()
    assert (jobs.asset.path / "cronbridge" / "runtime" / "handler.py").is_file()
    template = Template.from_stack(jobs.job_stacks["write-row"])
    template.has_resource_properties("AWS::IAM::Policy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Action": Match.array_with(["dynamodb:PutItem"]),
            "Effect": "Allow",
        })])}})
    with pytest.raises(KeyError, match="no job 'write-rows'.*jobs: write-row"):
        jobs.function("write-rows")


def test_the_same_project_synthesizes_the_same_templates(project: Path, tmp_path: Path) -> None:
    first, _, _ = _synth(project, tmp_path / "one")
    second, _, _ = _synth(project, tmp_path / "two")
    assert first.asset.asset_hash == second.asset.asset_hash
    for template in sorted((tmp_path / "one").glob("*.template.json")):
        other = tmp_path / "two" / template.name
        assert json.loads(template.read_text()) == json.loads(other.read_text()), template.name
