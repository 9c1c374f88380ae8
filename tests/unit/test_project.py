"""Project configuration: [tool.cronbridge], its overrides, and one-line errors for mistakes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cronbridge.project import (ADD_CONFIG_HINT, JobModuleError, ProjectConfigError,
                                load_project)

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, table: str, jobs_source: str | None = None) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "demo"\n\n{table}')
    if jobs_source is not None:
        (tmp_path / "myjobs.py").write_text(textwrap.dedent(jobs_source))
    return tmp_path


JOB = """
    from cronbridge import job

    @job(name="tick", schedule="rate(5 minutes)")
    def tick(ctx):
        return None
"""


def test_settings_come_from_the_nearest_configured_pyproject(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.cronbridge]\napp = "acme"\njobs = ["myjobs"]\n')
    nested = tmp_path / "src" / "deep"
    nested.mkdir(parents=True)
    project = load_project(start=nested, environ={})
    assert project.root == tmp_path
    assert (project.app, project.job_modules) == ("acme", ("myjobs",))
    assert project.python_paths == (tmp_path.resolve(),)


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.cronbridge]\napp = "file"\njobs = ["from_file"]\n')
    env = {"CRONBRIDGE_APP": "env", "CRONBRIDGE_JOB_MODULES": "a, b"}
    assert load_project(start=tmp_path, environ=env).job_modules == ("a", "b")
    assert load_project(start=tmp_path, environ=env).app == "env"
    flagged = load_project(app="flag", job_modules=["c"], start=tmp_path, environ=env)
    assert (flagged.app, flagged.job_modules) == ("flag", ("c",))


def test_no_configuration_says_exactly_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(ProjectConfigError) as info:
        load_project(start=tmp_path, environ={})
    assert str(info.value) == f"no cronbridge project found: {ADD_CONFIG_HINT}"
    assert '[tool.cronbridge] with jobs = ["your_package.jobs"]' in str(info.value)


@pytest.mark.parametrize(("table", "message"), [
    ('[tool.cronbridge]\njob = ["x"]\n', "unknown key 'job' (did you mean 'jobs'?)"),
    ('[tool.cronbridge]\njobs = "x"\n', "jobs must be a list of strings, got 'x'"),
    ('[tool.cronbridge]\napp = 3\njobs = ["x"]\n', "app must be a string, got 3"),
    ('[tool.cronbridge]\napp = "x"\n', "has no jobs"),
])
def test_malformed_configuration_names_the_key(tmp_path: Path, table: str,
                                               message: str) -> None:
    _project(tmp_path, table)
    with pytest.raises(ProjectConfigError) as info:
        load_project(start=tmp_path, environ={})
    assert message in str(info.value)


def test_the_project_directory_can_be_named(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.cronbridge]\njobs = ["myjobs"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"CRONBRIDGE_PROJECT": str(tmp_path)}
    assert load_project(start=elsewhere, environ=env).root == tmp_path
    with pytest.raises(ProjectConfigError, match="no pyproject.toml there"):
        load_project(environ={"CRONBRIDGE_PROJECT": str(elsewhere)})


def test_load_jobs_returns_only_the_projects_jobs(tmp_path: Path) -> None:
    project = load_project(start=_project(tmp_path, '[tool.cronbridge]\njobs = ["myjobs"]\n',
                                          JOB), environ={})
    # Module names are process-wide: keep this test's module from leaking into others.
    try:
        assert project.load_jobs().names() == ["tick"]
    finally:
        sys.modules.pop("myjobs", None)


@pytest.mark.parametrize(("source", "message"), [
    (None, "cannot import job module 'nothere'"),
    ("import not_installed_pkg\n", "it imports 'not_installed_pkg', which is not installed"),
    ("def broken(:\n", "has a syntax error at"),
    ("raise RuntimeError('boom')\n", "importing job module 'nothere' failed: RuntimeError: boom"),
])
def test_an_unimportable_module_is_one_line(tmp_path: Path, source: str | None,
                                            message: str) -> None:
    if source is not None:
        (tmp_path / "nothere.py").write_text(source)
    project = load_project(job_modules=["nothere"], start=tmp_path, environ={})
    try:
        with pytest.raises(JobModuleError) as info:
            project.load_jobs()
    finally:
        sys.modules.pop("nothere", None)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("argv", [["jobs"], ["local", "--simulate", "1h"], ["next", "tick"],
                                  ["history", "tick"]])
def test_every_command_outside_a_project_exits_2_with_one_line(tmp_path: Path,
                                                               argv: list[str]) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-m", "cronbridge.cli", *argv], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "[tool.cronbridge]" in result.stderr and "Traceback" not in result.stderr


def test_local_with_a_broken_job_module_exits_2_without_a_traceback(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.cronbridge]\njobs = ["myjobs"]\n',
             'from cronbridge import job\n\n@job(name="bad", schedule="cron(0 25 * * ? *)")\n'
             'def bad(ctx):\n    pass\n')
    result = subprocess.run([sys.executable, "-m", "cronbridge.cli", "local", "--simulate", "1h"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "job 'bad': schedule is invalid" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
