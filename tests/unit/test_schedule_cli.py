"""`cronbridge validate | next | convert | describe`, driven through click's test runner."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from cronbridge.cli.schedule_cmds import (convert_cmd, describe_cmd, next_cmd,
                                          resolve_expression, validate_cmd)

CLI = click.Group(commands=[validate_cmd, next_cmd, convert_cmd, describe_cmd])


def run(*args: str):
    return CliRunner().invoke(CLI, list(args))


def test_validate_valid_expression_exits_0() -> None:
    result = run("validate", "cron(0 9 ? * 2#1 *)")
    assert result.exit_code == 0
    assert "on the first Monday of the month" in result.output


def test_validate_invalid_expression_exits_2_with_a_caret() -> None:
    result = run("validate", "cron(0 9 ? * 2#6 *)")
    assert result.exit_code == 2
    assert "day-of-week '2#6' at column 14: the occurrence after '#' must be 1-5" in result.output
    lines = result.output.splitlines()
    assert lines[-1] == "  " + " " * 13 + "^^^"


def test_validate_at_needs_scheduler() -> None:
    assert run("validate", "at(2026-01-01T00:00:00)").exit_code == 2
    assert run("validate", "at(2026-01-01T00:00:00)", "--scheduler").exit_code == 0
    assert run("validate", "cron(0 0 * * ? *)", "--tz", "Mars/Olympus").exit_code == 2


def test_next_prints_a_table() -> None:
    result = run("next", "cron(0 10 * * ? *)", "--after", "2026-03-01T09:59Z", "-n", "2")
    assert result.exit_code == 0, result.output
    assert "2026-03-01T10:00:00Z" in result.output and "2026-03-02T10:00:00Z" in result.output
    assert "2026-03-03" not in result.output


def test_next_json_marks_dst_skips_and_repeats() -> None:
    result = run("next", "cron(30 2 * * ? *)", "--tz", "Europe/Paris",
                 "--after", "2026-03-28T12:00Z", "-n", "1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [e["status"] for e in data["fire_times"]] == ["skipped", "fires"]
    assert data["fire_times"][0]["utc"] is None
    assert data["fire_times"][1]["utc"] == "2026-03-30T00:30:00Z"
    result = run("next", "cron(30 1 * * ? *)", "--tz", "America/New_York",
                 "--after", "2026-10-31T12:00Z", "-n", "1", "--json")
    [entry] = json.loads(result.output)["fire_times"]
    assert entry["status"] == "ambiguous" and entry["utc"] == "2026-11-01T05:30:00Z"


def test_next_table_marks_skipped_times() -> None:
    result = run("next", "cron(30 2 * * ? *)", "--tz", "Europe/Paris",
                 "--after", "2026-03-28T12:00Z", "-n", "1")
    assert "does not fire" in result.output and "skipped" in result.output


def test_next_rate_is_anchored_at_after_and_says_so() -> None:
    result = run("next", "rate(5 minutes)", "--after", "2026-03-27T00:00:30Z", "-n", "2",
                 "--json")
    data = json.loads(result.output)
    assert [e["utc"] for e in data["fire_times"]] == ["2026-03-27T00:05:00Z",
                                                     "2026-03-27T00:10:00Z"]
    assert "no calendar anchor" in data["notes"][0]


def test_next_exhausted_and_bad_after() -> None:
    result = run("next", "cron(0 0 1 1 ? 2020)", "--after", "2026-01-01T00:00Z")
    assert result.exit_code == 0 and "exhausted" in result.output
    result = run("next", "cron(0 0 1 1 ? *)", "--after", "2026-01-01T00:00")
    assert result.exit_code == 2 and "needs an offset" in result.output
    assert run("next", "cron(0 0 1 1 ? *)", "--after", "yesterday").exit_code == 2


def test_next_defaults_to_now() -> None:
    result = run("next", "cron(* * * * ? *)", "-n", "1", "--json")
    assert result.exit_code == 0 and len(json.loads(result.output)["fire_times"]) == 1


def test_convert() -> None:
    result = run("convert", "0 9 * * 1-5")
    assert result.exit_code == 0 and result.output.strip() == "cron(0 9 ? * MON-FRI *)"
    result = run("convert", "0 9 1 * 1")
    assert result.exit_code == 2 and "EventBridge cannot express" in result.output
    result = run("convert", "0 0 12 * * 1-5", "--dialect", "spring")
    assert result.output.strip() == "cron(0 12 ? * MON-FRI *)"


def test_describe() -> None:
    result = run("describe", "cron(0 2 ? * MON-FRI *)")
    assert result.exit_code == 0
    assert result.output.strip() == "at 02:00 UTC, Monday through Friday"


def test_an_expression_is_not_looked_up_as_a_job() -> None:
    assert resolve_expression("cron(0 2 ? * MON-FRI *)") == ("cron(0 2 ? * MON-FRI *)", None)
    assert resolve_expression("0 9 * * 1-5") == ("0 9 * * 1-5", None)
    assert resolve_expression("@daily") == ("@daily", None)


# ----------------------------------------------------------------------------- job names

def _registered_job():
    from cronbridge.core.jobs import load_job_modules

    return load_job_modules(["cronbridge_examples"]).get("health-report")


def test_a_job_name_uses_that_jobs_schedule() -> None:
    spec = _registered_job()
    assert resolve_expression(spec.name) == (spec.schedule, spec.timezone)
    result = run("describe", spec.name)
    assert result.exit_code == 0, result.output
    expected = run("describe", spec.schedule, *(["--tz", spec.timezone] if spec.timezone
                                               else []))
    assert result.output == expected.output
    assert run("validate", spec.name).exit_code == 0


def test_an_unknown_job_exits_2() -> None:
    _registered_job()
    result = run("validate", "no-such-job")
    assert result.exit_code == 2
    assert "neither a schedule expression nor a known job" in result.output
