"""A new user's project, end to end, outside this repository (issue 9's "done when").

From a wheel of this tree, in a fresh virtual environment: ``cronbridge init``, then a job
of the user's own that imports a third-party package (``humanize``) and writes its own
DynamoDB table (created locally by its ``@local_resources`` hook, in the cloud by
``infra/app.py``, which grants it). Then the project's tests pass, ``cronbridge local
--simulate 2h`` accounts for every slot, and the CDK app synthesizes a template where that
job's role can write that table and whose Lambda asset holds ``humanize``.

The new environment gets cronbridge from the wheel (``--no-deps``) and sees the rest of
cronbridge's dependencies (boto3, moto, aws-cdk-lib ...) through a ``.pth`` file naming this
environment's site-packages, so only the wheel, the project and ``humanize`` are installed
(from PyPI or pip's cache). ``npx aws-cdk synth`` in ``infra/`` runs ``python app.py``
(``infra/cdk.json``); the test runs that command itself, as npm may not be reachable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.project_walk

GREETER = '''

import humanize


GREETINGS_TABLE = "shop-greetings"


@job(name="greeter", schedule="cron(0/30 * * * ? *)", timeout=30)
def greeter(ctx: JobContext) -> dict[str, str]:
    """Write a humanized greeting per slot."""
    when = humanize.naturaldate(ctx.scheduled_time) if ctx.scheduled_time else "now"
    dynamodb().put_item(TableName=GREETINGS_TABLE, Item={
        "pk": {"S": ctx.slot}, "text": {"S": f"hello, {when}"}})
    return {"greeting": when}


@local_resources
def create_greetings(start: datetime, end: datetime) -> None:
    try:
        dynamodb().create_table(
            TableName=GREETINGS_TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
'''

GREETER_TEST = '''

from shop.jobs import GREETINGS_TABLE


def test_greeter_writes_its_table(run_job):
    run = run_job("greeter", "2026-11-30T10:40:00Z")
    assert run.status == "SUCCEEDED" and run.slot == "2026-11-30T10:30:00Z"
    item = boto3.client("dynamodb").get_item(TableName=GREETINGS_TABLE,
                                             Key={"pk": {"S": run.slot}})["Item"]
    assert item["text"]["S"].startswith("hello, ")
'''

GRANT = '''
greetings = dynamodb.Table(
    stack, "Greetings", table_name="shop-greetings",
    partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST)
greetings.grant_write_data(jobs.function("greeter"))

app.synth()
'''


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A virtual environment with cronbridge installed from a wheel of this tree."""
    base = tmp_path_factory.mktemp("walk")
    source = base / "src"
    shutil.copytree(ROOT / "functions", source / "functions",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "CRONBRIDGE_", "PYTEST_", "VIRTUAL_ENV"))}
    run([*pip, "wheel", "--no-deps", "-w", str(base / "dist"), str(source)], base, env)
    wheel = next((base / "dist").glob("cronbridge-*.whl"))
    venv.EnvBuilder(with_pip=False).create(base / "venv")
    python = base / "venv" / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    base, env).strip())
    (site / "cronbridge_walk_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([*pip, "--python", str(python), "install", "--no-deps", str(wheel), "humanize"],
        base, env)
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(base / "venv")
    return base, env


def test_a_new_project_tests_simulates_and_synthesizes(user_env):
    base, env = user_env
    pip = ["python", "-m", "pip", "--disable-pip-version-check", "-q"]
    run(["cronbridge", "init", "shop"], base, env)
    project = base / "shop"
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"cronbridge>=', '"humanize>=4",\n    "cronbridge>='))
    jobs = project / "shop" / "jobs.py"
    jobs.write_text(jobs.read_text() + GREETER)
    tests = project / "tests" / "test_jobs.py"
    tests.write_text(tests.read_text() + GREETER_TEST)
    app = project / "infra" / "app.py"
    app.write_text(app.read_text().replace("\napp.synth()\n", GRANT))
    run([*pip, "install", "--no-deps", "-e", "."], project, env)

    assert "3 passed" in run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                             project, env)

    run(["cronbridge", "local", "--simulate", "2h", "--start", "2026-11-30T00:00:00Z",
         "--summary-json", "summary.json"], project, env)
    summary = json.loads((project / "summary.json").read_text())
    assert set(summary["jobs"]) == {"heartbeat", "greeter"}
    assert summary["jobs"]["greeter"]["succeeded"] == 4
    assert summary["slots_accounted"] == summary["slots_expected"] == 12

    out = base / "cdk.out"
    run(["python", "app.py"], project / "infra", {**env, "CDK_OUTDIR": str(out)})
    code = assert_greeter_can_write_its_table(out)
    assert_asset_holds(out / f"asset.{code['S3Key'].removesuffix('.zip')}")


def assert_greeter_can_write_its_table(out: Path) -> dict[str, object]:
    """The greeter's role may put items into the greetings table, which lives in the parent
    stack; its ARN reaches the job's nested stack as a parameter. Returns the function's
    ``Code``."""
    from aws_cdk.assertions import Match, Template

    parent = json.loads((out / "Shop.template.json").read_text())
    table_id = next(k for k, r in parent["Resources"].items()
                    if r.get("Properties", {}).get("TableName") == "shop-greetings")
    templates = [Template.from_json(json.loads(path.read_text()))
                 for path in out.glob("*.nested.template.json")]
    template = next(t for t in templates if t.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": "shop-greeter"}}))
    table_arn = {"Fn::GetAtt": [table_id, "Arn"]}
    parameter = next(name for nested in parent["Resources"].values()
                     if nested["Type"] == "AWS::CloudFormation::Stack"
                     for name, value in nested["Properties"].get("Parameters", {}).items()
                     if value == table_arn and name in template.to_json()["Parameters"])
    function = next(iter(template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": "shop-greeter"}}).values()))
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    template.has_resource_properties("AWS::IAM::Policy", {
        "Roles": [{"Ref": role}],
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Action": Match.array_with(["dynamodb:PutItem"]), "Effect": "Allow",
            "Resource": Match.array_with([{"Ref": parameter}])})])}})
    return function["Properties"]["Code"]


def assert_asset_holds(asset: Path) -> None:
    """The greeter's asset holds the third-party package, the project's and cronbridge."""
    for path in ("humanize/__init__.py", "shop/jobs.py", "cronbridge/service.py"):
        assert (asset / path).is_file(), (path, sorted(p.name for p in asset.iterdir()))


def test_the_wheel_ships_the_templates_and_the_plugin_but_not_the_demo(user_env):
    base, env = user_env
    listing = run(["python", "-c", textwrap.dedent("""
        from importlib import metadata, resources
        dist = metadata.distribution("cronbridge")
        print(*sorted(str(f) for f in dist.files), sep="\\n")
        print(*[ep.value for ep in dist.entry_points if ep.group == "pytest11"])
    """)], base, env)
    assert "cronbridge/templates/project/PACKAGE/jobs.py.tmpl" in listing
    assert "cronbridge/py.typed" in listing
    assert "cronbridge_examples" not in listing
    assert listing.strip().endswith("cronbridge.testing")
