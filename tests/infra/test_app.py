"""`infra/app.py`, the command `cdk synth` runs (see infra/cdk.json), in a clean process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from infra_support import ROOT


def _run_app(tmp_path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The CDK CLI passes the output directory and the -c values through these variables.
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps(context)}
    env.pop("PYTHONPATH", None)  # app.py must find the packages by itself
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT / "infra", env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_app_synthesizes_the_demo_with_cdk_nag(tmp_path) -> None:
    result = _run_app(tmp_path, {})
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["Cronbridge"]["type"] == "aws:cloudformation:stack"
    # Environment-agnostic: synthesizes with no account and no credentials.
    assert manifest["artifacts"]["Cronbridge"]["environment"] == (
        "aws://unknown-account/unknown-region")
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_app_reports_a_bad_setting_without_a_traceback(tmp_path) -> None:
    result = _run_app(tmp_path, {"cronbridge:max_receive_count": "2"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "cronbridge: maxReceiveCount 2 is below 5; throttled batches would be dead-lettered")
    assert "Traceback" not in result.stderr
