"""The Lambda asset: built on the host with pip for arm64, lean, precompiled, importable."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cronbridge.cdk.asset import (
    DEFAULT_PYTHON_VERSION,
    AssetBuildError,
    LambdaAsset,
    build_lambda_asset,
    requirement_name,
    runtime_dependencies,
    worker_dependencies,
)
from cronbridge.cdk.scheduled_jobs import project_asset
from cronbridge.project import load_project
from infra_support import ROOT, Synthesized


def test_worker_dependencies_leave_out_the_developer_extras() -> None:
    names = {requirement_name(r) for r in worker_dependencies()}
    assert {"aws-lambda-powertools", "pynamodb"} <= names
    assert not names & {"click", "rich", "cron-descriptor", "moto", "aws-cdk-lib"}
    # This repository is cronbridge itself: its dependencies are the worker's, not a project's.
    assert runtime_dependencies(ROOT / "pyproject.toml") == []


def test_asset_holds_the_packages_without_the_sdk_or_the_cli(asset: LambdaAsset) -> None:
    names = {p.name for p in asset.path.iterdir()}
    assert {"cronbridge", "cronbridge_examples", "aws_lambda_powertools", "aws_xray_sdk",
            "pynamodb"} <= names
    # boto3/botocore come from the Lambda runtime; click, rich, cron-descriptor are the CLI's.
    assert not names & {"boto3", "botocore", "s3transfer", "click", "rich", "cron_descriptor"}
    assert not [p for p in names if p.startswith(("boto3-", "botocore-"))]
    assert not {"cli", "local", "cdk", "testing.py", "templates"} & {
        p.name for p in (asset.path / "cronbridge").iterdir()}


def test_every_module_ships_bytecode_for_the_runtime(asset: LambdaAsset) -> None:
    tag = f"cpython-{asset.python_version.replace('.', '')}"
    sources = [p for p in asset.path.rglob("*.py")]
    missing = [p for p in sources
               if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").exists()]
    assert sources and not missing, missing[:5]
    pyc = asset.path / "cronbridge" / "runtime" / "__pycache__" / f"handler.{tag}.pyc"
    # Flags word 0b01: hash-based and unchecked, so Lambda never recompiles and no file time
    # is recorded (https://peps.python.org/pep-0552/).
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01


def test_binary_wheels_target_lambda_arm64(asset: LambdaAsset) -> None:
    tag = asset.python_version.replace(".", "")
    extensions = list(asset.path.rglob("*.so"))
    assert extensions, "expected at least one compiled dependency (wrapt)"
    for extension in extensions:
        assert f"cpython-{tag}-aarch64-linux-gnu" in extension.name, extension


def test_rebuild_reuses_the_cached_asset(asset: LambdaAsset) -> None:
    assert project_asset(load_project(start=ROOT)) == asset


def test_same_inputs_same_hash_in_another_build_dir(asset: LambdaAsset, tmp_path: Path) -> None:
    project = load_project(start=ROOT)
    again = build_lambda_asset(project.job_modules, build_dir=tmp_path)
    assert again.asset_hash == asset.asset_hash
    handler = Path("cronbridge/runtime/__pycache__") / f"handler.cpython-{DEFAULT_PYTHON_VERSION.replace('.', '')}.pyc"
    assert (again.path / handler).read_bytes() == (asset.path / handler).read_bytes()


def test_a_dependency_on_cronbridge_itself_is_not_sent_to_pip(tmp_path: Path) -> None:
    # Copied from the installed package instead: pip would look for it on PyPI.
    asset = build_lambda_asset(["cronbridge_examples"], build_dir=tmp_path,
                               requirements=["cronbridge @ file:///nowhere", "# a comment"])
    assert (asset.path / "cronbridge" / "runtime" / "handler.py").exists()


def test_unsupported_python_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AssetBuildError, match="no Lambda runtime"):
        build_lambda_asset(["cronbridge_examples"], build_dir=tmp_path, python_version="3.9")


def test_every_function_shares_one_asset(demo: Synthesized) -> None:
    manifest = json.loads((demo.outdir / "Cronbridge.assets.json").read_text())
    (zipped,) = [key for key, a in manifest["files"].items()
                 if a["source"]["packaging"] == "zip"]
    keys = [f["Properties"]["Code"]["S3Key"]
            for stack in set(demo.stack.jobs.job_stacks.values())
            for f in demo.template(stack).find_resources("AWS::Lambda::Function").values()]
    assert len(keys) == len(demo.stack.jobs.jobs) and set(keys) == {f"{zipped}.zip"}


def test_handler_imports_from_the_asset_and_the_sdk_alone(asset: LambdaAsset,
                                                          tmp_path: Path) -> None:
    # As on Lambda: the asset, then the runtime's SDK (here: links to the host's boto3 and
    # its dependencies), nothing else. -B: bytecode written into the asset would change it.
    sdk = tmp_path / "runtime-sdk"
    sdk.mkdir()
    for module in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"):
        origin = Path(importlib.util.find_spec(module).origin)  # type: ignore[union-attr, arg-type]
        if origin.name == "__init__.py":
            (sdk / module).symlink_to(origin.parent)
        else:
            (sdk / origin.name).symlink_to(origin)
    code = (f"import sys; sys.path[:0] = [{str(asset.path)!r}]; sys.path += [{str(sdk)!r}]; "
            "import cronbridge.runtime.handler as h; assert callable(h.lambda_handler); "
            "import cronbridge_examples; "
            # The batch path the handler takes, on the pruned Powertools.
            "from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType, "
            "process_partial_response); "
            "event = {'Records': [{'messageId': 'm1', 'body': '{}', 'receiptHandle': 'r', "
            "'attributes': {}, 'messageAttributes': {}, 'eventSource': 'aws:sqs'}]}; "
            "out = process_partial_response(event=event, record_handler=lambda record: record.body, "
            "processor=BatchProcessor(EventType.SQS)); "
            "assert out == {'batchItemFailures': []}, out; "
            "import click")
    result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], capture_output=True,
                            text=True, timeout=120, cwd=asset.path.parent)
    # click is not in the asset; everything before it imported.
    assert "No module named 'click'" in result.stderr, result.stderr
