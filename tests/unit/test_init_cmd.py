"""``cronbridge init``: what it writes, and the one-line refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from cronbridge.cli import cli

FILES = {".gitignore", "README.md", "infra/cdk.json", "pyproject.toml", "infra/app.py",
         "billing_jobs/__init__.py", "billing_jobs/jobs.py", "tests/test_jobs.py"}


def init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", *args])
    return result.exit_code, result.output


def test_init_scaffolds_a_project_configured_for_cronbridge(tmp_path: Path):
    target = tmp_path / "billing-jobs"
    code, out = init(str(target))
    assert code == 0, out
    assert {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()} == FILES
    config = tomllib.loads((target / "pyproject.toml").read_text())
    assert config["tool"]["cronbridge"] == {"app": "billing-jobs", "jobs": ["billing_jobs.jobs"]}
    assert config["project"]["dependencies"][0].startswith("cronbridge>=")
    app = (target / "infra/app.py").read_text()
    assert "from cronbridge.cdk import ScheduledJobs" in app
    assert 'grant_write_data(jobs.function("heartbeat"))' in app
    assert "@local_resources" in (target / "billing_jobs/jobs.py").read_text()
    assert "$" not in "".join(p.read_text() for p in target.rglob("*") if p.is_file())


def test_init_takes_an_app_name(tmp_path: Path):
    code, _ = init(str(tmp_path / "x-jobs"), "--app", "billing")
    assert code == 0
    text = (tmp_path / "x-jobs/pyproject.toml").read_text()
    assert tomllib.loads(text)["tool"]["cronbridge"]["app"] == "billing"


def test_init_refuses_a_non_empty_directory_in_one_line(tmp_path: Path):
    (tmp_path / "keep.txt").write_text("mine")
    code, out = init(str(tmp_path))
    assert (code, out) == (2, f"Error: {tmp_path} is not empty: give a new or empty directory\n")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_init_refuses_names_that_make_no_package_or_app(tmp_path: Path):
    code, out = init(str(tmp_path / "2024"))
    assert code == 2 and out.count("\n") == 1 and "gives no Python package name" in out
    code, out = init(str(tmp_path / "ok"), "--app", "Bad_App")
    assert code == 2 and out.count("\n") == 1 and "pass --app NAME" in out
