"""The README's run command, as `make run` runs it: a simulated day, every slot accounted."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_day_accounts_for_every_slot(tmp_path):
    # A process of its own, as `make run` is: jobs other tests registered in this process's
    # registry must not be counted.
    summary = tmp_path / "summary.json"
    result = subprocess.run([
        sys.executable, "-m", "cronbridge.cli", "local", "--simulate", "24h",
        "--start", "2026-11-30T00:00:00Z", "--summary-json", str(summary),
        "--log-file", str(tmp_path / "worker.log")], cwd=ROOT, capture_output=True, text=True,
        timeout=1200)
    result.output = result.stdout + result.stderr
    assert result.returncode == 0, result.output
    data = json.loads(summary.read_text())
    assert data["slots_accounted"] == data["slots_expected"] == 414  # + Scheduler jobs
    assert all(job["succeeded"] > 0 for job in data["jobs"].values())
    # cache-refresh fails on purpose: retries and dead letters are part of the demo.
    assert data["jobs"]["cache-refresh"]["dead"] > 0
    assert "cache-refresh" in result.output and "414/414" in result.output
