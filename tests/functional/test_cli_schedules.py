"""``cronbridge schedules ...``, ``history --key`` and ``backfill --key`` against a moto
server, and ``enable``/``disable`` of a job on Scheduler."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from cli_support import Deployed, deployed, hour_floor, iso

JOB = "customer-digest"


@pytest.fixture(scope="module")
def app() -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as monkeypatch, deployed(monkeypatch) as target:
        yield target


def test_schedules_commands_mirror_the_api(app: Deployed) -> None:
    # The demo's setup created one schedule per customer.
    keys = {s["key"]: s for s in app.cb_json("schedules", "list", JOB)}
    assert keys["acme-sg"]["timezone"] == "Asia/Singapore"
    assert keys["acme-sg"]["payload"] == {"to": "ops@acme.example"}

    created = app.cb_json("schedules", "create", JOB, "walk-in", "--timezone", "Europe/Berlin",
                          "--payload", '{"to": "w@example.com"}')
    assert created == {"job": JOB, "key": "walk-in", "expression": "cron(0 8 * * ? *)",
                       "timezone": "Europe/Berlin", "payload": {"to": "w@example.com"},
                       "start": None, "end": None, "state": "ENABLED"}
    again = app.cb("schedules", "create", JOB, "walk-in")
    assert again.exit_code == 1 and "already has a schedule for key 'walk-in'" in again.output
    updated = app.cb_json("schedules", "update", JOB, "walk-in", "--expression",
                          "cron(30 9 * * ? *)")
    assert (updated["expression"], updated["timezone"]) == ("cron(30 9 * * ? *)",
                                                            "Europe/Berlin")
    assert app.cb_json("schedules", "pause", JOB, "walk-in")["state"] == "DISABLED"
    assert app.cb_json("schedules", "resume", JOB, "walk-in")["state"] == "ENABLED"
    assert app.cb_json("schedules", "delete", JOB, "walk-in")["deleted"] is True
    gone = app.cb("schedules", "delete", JOB, "walk-in")
    assert gone.exit_code == 1 and "no schedule for key 'walk-in'" in gone.output


@pytest.mark.parametrize("args, error", [
    (("create", JOB, "bad key"), "key 'bad key' must be 1-64 letters"),
    (("create", JOB, "k", "--expression", "cron(0 8 * * *)"), "key 'k': expression"),
    (("create", JOB, "k", "--payload", "[1]"), "must be a JSON object"),
    (("create", "health-report", "k"), "health-report has no per-key schedules"),
    (("update", JOB, "k"), "nothing to change"),
])
def test_bad_input_is_one_line_and_exit_2(app: Deployed, args, error) -> None:
    result = app.cb("schedules", *args)
    assert result.exit_code == 2, result.output
    assert error in result.output and "Traceback" not in result.output


def test_backfill_and_history_by_key(app: Deployed) -> None:
    app.cb_json("schedules", "create", JOB, "hourly", "--expression", "cron(0 * * * ? *)",
                "--payload", '{"to": "h@example.com"}')
    since, until = hour_floor(-3), hour_floor(-1)
    result = app.cb_json("backfill", JOB, "--key", "hourly", "--since", iso(since),
                         "--until", iso(until))
    slots = [f"{iso(since)}#hourly", f"{iso(hour_floor(-2))}#hourly"]
    assert (result["slots"], result["enqueued"]) == (slots, 2)
    app.drain(JOB)
    runs = app.cb_json("history", JOB, "--key", "hourly")
    assert [(r["slot"], r["status"], r["trigger"]) for r in runs] == [
        (slots[1], "SUCCEEDED", "backfill"), (slots[0], "SUCCEEDED", "backfill")]
    assert app.cb_json("history", JOB, "--key", "acme-sg") == []
    # Done slots are not enqueued again; a dynamic job needs --key.
    assert app.cb_json("backfill", JOB, "--key", "hourly", "--since", iso(since),
                       "--until", iso(until))["slots"] == []
    assert app.cb("backfill", JOB, "--since", iso(since)).exit_code == 2
    assert app.cb("disable", JOB).exit_code == 2


def test_disable_and_enable_switch_a_scheduler_jobs_schedule(app: Deployed) -> None:
    scheduler = boto3.client("scheduler")

    def state() -> str:
        return scheduler.get_schedule(GroupName="cronbridge", Name="regional-export")["State"]

    assert app.cb_json("disable", "regional-export")["state"] == "paused"
    assert state() == "DISABLED"
    assert app.cb_json("enable", "regional-export")["state"] == "enabled"
    assert state() == "ENABLED"
