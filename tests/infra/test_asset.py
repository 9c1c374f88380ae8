"""The Lambda asset: built on the host with pip for arm64, self-contained, importable."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from cronbridge.cdk.asset import (
    LAMBDA_PYTHON_VERSION,
    LambdaAsset,
    build_lambda_asset,
    runtime_dependencies,
)
from infra_support import ROOT, Synthesized

HANDLER_SOURCE = ROOT / "functions" / "cronbridge" / "runtime" / "handler.py"


def test_dependencies_come_from_pyproject() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        expected = tomllib.load(handle)["project"]["dependencies"]
    assert runtime_dependencies() == expected
    assert any(d.startswith("aws-lambda-powertools") for d in expected)


def test_asset_holds_the_packages_and_their_dependencies(asset: LambdaAsset) -> None:
    names = {p.name for p in asset.path.iterdir()}
    assert {"cronbridge", "cronbridge_examples", "boto3", "botocore", "aws_lambda_powertools",
            "aws_xray_sdk", "pynamodb", "cron_descriptor"} <= names
    assert not list(asset.path.rglob("__pycache__")), "host bytecode must not be shipped"


def test_binary_wheels_target_lambda_arm64(asset: LambdaAsset) -> None:
    tag = LAMBDA_PYTHON_VERSION.replace(".", "")
    extensions = list(asset.path.rglob("*.so"))
    assert extensions, "expected at least one compiled dependency (wrapt)"
    for extension in extensions:
        assert f"cpython-{tag}-aarch64-linux-gnu" in extension.name, extension


def test_rebuild_reuses_the_cached_asset(asset: LambdaAsset) -> None:
    again = build_lambda_asset(["cronbridge_examples"])
    assert again == asset


def test_every_function_shares_one_asset(demo: Synthesized) -> None:
    manifest = json.loads((demo.outdir / "Cronbridge.assets.json").read_text())
    (zipped,) = [key for key, a in manifest["files"].items()
                 if a["source"]["packaging"] == "zip"]
    keys = [f["Properties"]["Code"]["S3Key"]
            for stack in set(demo.stack.jobs.job_stacks.values())
            for f in demo.template(stack).find_resources("AWS::Lambda::Function").values()]
    assert len(keys) == 7 and set(keys) == {f"{zipped}.zip"}


@pytest.mark.skipif(not HANDLER_SOURCE.exists(), reason="runtime/handler.py not written yet")
def test_handler_imports_from_the_asset_alone(asset: LambdaAsset) -> None:
    # -I -S: no site-packages, no user site, no PYTHONPATH: only the asset and the stdlib.
    # -B: the asset is the cached CDK source; bytecode written into it would change it.
    code = (f"import sys; sys.path.insert(0, {str(asset.path)!r}); "
            "import cronbridge.runtime.handler as h; assert callable(h.lambda_handler); "
            "import cronbridge_examples")
    result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], capture_output=True,
                            text=True, timeout=120, cwd=asset.path.parent)
    assert result.returncode == 0, result.stderr
