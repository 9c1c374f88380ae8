"""The operator commands against a moto server in a subprocess, through AWS_ENDPOINT_URL:
jobs, enable/disable, trigger, history, backfill and invoke, with their error paths."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from cli_support import APP, ROOT, Deployed, deployed, hour_floor, iso


@pytest.fixture(scope="module")
def app() -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as monkeypatch, deployed(monkeypatch) as target:
        yield target


def test_jobs_lists_every_job_with_schedule_state_and_dlq_depth(app: Deployed) -> None:
    rows = {row["job"]: row for row in app.cb_json("jobs")}

    assert set(rows) == {"cache-refresh", "customer-digest", "daily-aggregation",
                         "email-outbox", "health-report", "log-purge", "regional-export"}
    # A job on Scheduler: its schedule's state, next times in UTC and in its zone.
    berlin = rows["regional-export"]
    assert (berlin["via"], berlin["timezone"], berlin["state"]) == (
        "scheduler", "Europe/Berlin", "enabled")
    assert [t["local"][11:] for t in berlin["next_local"]] == ["03:00"] * 3
    # A dynamic job fires per key only.
    assert rows["customer-digest"]["next_fire_times"] == []
    daily = rows["daily-aggregation"]
    assert daily["schedule"] == "cron(15 0 * * ? *)"
    assert daily["schedule_description"] == "at 00:15 UTC"
    assert daily["state"] == "enabled" and daily["dlq_depth"] == 0
    assert len(daily["next_fire_times"]) == 3 and daily["next_fire_times"][0].endswith("00:15:00Z")
    table = app.cb("jobs")
    assert table.exit_code == 0 and "log-purge" in table.stdout and "enabled" in table.stdout


def test_disable_and_enable_toggle_rule_and_pause_flag_idempotently(app: Deployed) -> None:
    events = boto3.client("events")
    cloudwatch = boto3.client("cloudwatch")
    rule = f"{APP}-log-purge"
    alarm = f"{APP}-log-purge-missed-slot"   # as the stack names it
    cloudwatch.put_metric_alarm(AlarmName=alarm, MetricName="RunSucceeded",
                                Namespace="cronbridge", Statistic="Sum", Period=3600,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="LessThanThreshold")

    def alarm_actions_enabled() -> bool:
        return cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["ActionsEnabled"]

    first = app.cb_json("disable", "log-purge")
    again = app.cb_json("disable", "log-purge")

    assert first == {"job": "log-purge", "state": "paused", "previous_state": "enabled",
                     "changed": True}
    assert again["changed"] is False and again["state"] == "paused"
    assert events.describe_rule(Name=rule)["State"] == "DISABLED"
    assert not alarm_actions_enabled()    # a paused job settles nothing: no missed-slot page
    # A redeploy re-enabling the rule does not resume a paused job; `jobs` shows the drift.
    events.enable_rule(Name=rule)
    row = next(r for r in app.cb_json("jobs") if r["job"] == "log-purge")
    assert row["state"] == "drift: paused, rule enabled (deliveries skipped)"
    assert row["next_fire_times"] == []

    assert app.cb_json("enable", "log-purge")["state"] == "enabled"
    assert events.describe_rule(Name=rule)["State"] == "ENABLED"
    assert alarm_actions_enabled()
    assert next(r for r in app.cb_json("jobs") if r["job"] == "log-purge")["paused"] is False


def test_trigger_runs_through_the_queue_once_per_slot(app: Deployed) -> None:
    first = app.cb_json("trigger", "health-report", "--slot", "ops-1")
    second = app.cb_json("trigger", "health-report", "--slot", "manual:ops-1")
    app.drain("health-report")

    assert first["slot"] == second["slot"] == "manual:ops-1"
    runs = [r for r in app.cb_json("history", "health-report") if r["slot"] == "manual:ops-1"]
    assert len(runs) == 1
    run = runs[0]
    assert (run["status"], run["trigger"], run["attempt"]) == ("SUCCEEDED", "manual", 1)
    assert run["duration_ms"] is not None and run["result"]["log_objects"] > 0
    # Triggering a finished slot again says so; the worker acknowledges it without running.
    third = app.cb("trigger", "health-report", "--slot", "ops-1")
    assert "already has a SUCCEEDED run" in third.stdout
    app.drain("health-report")
    assert [r["attempt"] for r in app.cb_json("history", "health-report")
            if r["slot"] == "manual:ops-1"] == [1]


def test_trigger_merges_the_payload_and_generates_a_slot(app: Deployed) -> None:
    sent = app.cb_json("trigger", "log-purge", "--payload", '{"days": 30}')
    app.drain("log-purge")

    assert sent["slot"].startswith("manual:") and len(sent["slot"]) > len("manual:")
    run = next(r for r in app.cb_json("history", "log-purge") if r["slot"] == sent["slot"])
    assert run["status"] == "SUCCEEDED" and run["result"]["deleted"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (("trigger", "nope"), "unknown job 'nope'; known jobs: cache-refresh, customer-digest"),
    (("trigger", "log-purge", "--payload", "{days: 3}"), "--payload: not JSON"),
    (("trigger", "log-purge", "--payload", "[3]"), "must be a JSON object, got list"),
    (("trigger", "log-purge", "--slot", "has space"), "followed by 1-128 of"),
    (("history", "log-purge", "--since", "last week"), "is not ISO-8601"),
    (("history", "log-purge", "--status", "LOST"), "'LOST' is not one of"),
    (("backfill", "health-report", "--since", "2026-13-01"), "is not ISO-8601"),
    (("backfill", "health-report", "--since", iso(hour_floor(-1)), "--until",
      iso(hour_floor(2))), "is in the future"),
    (("backfill", "health-report", "--since", iso(hour_floor(-1)), "--until",
      iso(hour_floor(-2))), "is not before --until"),
])
def test_bad_input_exits_2_saying_what_to_fix(app: Deployed, args: tuple[str, ...],
                                              message: str) -> None:
    result = app.cb(*args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_a_job_the_target_does_not_have_exits_1_naming_it(app: Deployed) -> None:
    result = app.cb("trigger", "health-report", "--app", "elsewhere")
    listing = app.cb("jobs", "--app", "elsewhere")

    assert result.exit_code == 1
    assert "job 'health-report' is not deployed" in result.stderr
    assert "queue 'elsewhere-health-report' not found" in result.stderr
    assert listing.exit_code == 1 and "not deployed" in listing.stdout


def test_a_bad_schedule_in_the_job_modules_exits_2(app: Deployed, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_jobs.py").write_text(textwrap.dedent("""
        from cronbridge import job

        @job(name="broken-job", schedule="cron(0 25 * * ? *)")
        def broken(ctx):
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))

    result = app.cb("jobs", "--jobs-module", "broken_jobs")
    missing = app.cb("jobs", "--jobs-module", "no_such_module")

    assert result.exit_code == 2
    assert "job 'broken-job': schedule is invalid: hours '25'" in result.stderr
    assert missing.exit_code == 2 and "cannot import job module 'no_such_module'" in missing.stderr


def test_history_is_newest_first_with_filters(app: Deployed) -> None:
    # Any 72 hours hold three daily slots.
    enqueued = app.cb_json("backfill", "daily-aggregation", "--since", iso(hour_floor(-72)))
    app.cb_json("trigger", "daily-aggregation", "--slot", "hist-1")
    app.drain("daily-aggregation")

    runs = app.cb_json("history", "daily-aggregation")
    assert len(enqueued["slots"]) == 3
    assert [r["slot"] for r in runs] == ["manual:hist-1", *reversed(enqueued["slots"])]
    assert {r["trigger"] for r in runs[1:]} == {"backfill"}
    assert [r["slot"] for r in app.cb_json("history", "daily-aggregation", "--limit", "2")] \
        == [r["slot"] for r in runs[:2]]
    newest_two = app.cb_json("history", "daily-aggregation", "--since", enqueued["slots"][1])
    assert [r["slot"] for r in newest_two] == [r["slot"] for r in runs[:3]]
    assert app.cb_json("history", "daily-aggregation", "--status", "dead") == []
    table = app.cb("history", "daily-aggregation")
    assert "manual:hist-1" in table.stdout and "SUCCEEDED" in table.stdout


def test_backfill_enqueues_only_slots_without_a_run(app: Deployed) -> None:
    since = hour_floor(-72)  # any 72 hours hold three of log-purge's daily 03:00 slots
    first = app.cb_json("backfill", "log-purge", "--since", iso(since), "--until",
                        iso(hour_floor(-48)))  # one slot runs first
    app.drain("log-purge")

    dry = app.cb_json("backfill", "log-purge", "--since", iso(since), "--dry-run")
    done = app.cb_json("backfill", "log-purge", "--since", iso(since))
    app.drain("log-purge")
    again = app.cb_json("backfill", "log-purge", "--since", iso(since))

    assert len(first["slots"]) == 1 and first["slots"][0].endswith("T03:00:00Z")
    assert (dry["expected"], dry["with_run"]) == (3, 1)
    assert len(dry["slots"]) == 2 and dry["slots"] == done["slots"]
    assert first["slots"][0] not in done["slots"]
    assert done["enqueued"] == 2 and again["slots"] == [] and again["enqueued"] == 0
    history = {r["slot"]: r for r in app.cb_json("history", "log-purge")}
    assert all(history[slot]["trigger"] == "backfill" and history[slot]["status"] == "SUCCEEDED"
               for slot in done["slots"] + first["slots"])


def test_backfill_over_max_needs_confirmation_or_yes(app: Deployed) -> None:
    since = iso(hour_floor(-100))  # 1,200 five-minute email-outbox slots
    queue = app.resources["email-outbox"].queue_url

    refused = app.cb("backfill", "email-outbox", "--since", since)
    dry = app.cb_json("backfill", "email-outbox", "--since", since, "--dry-run")
    raised = app.cb_json("backfill", "email-outbox", "--since", since, "--until",
                         iso(hour_floor(-99)), "--max", "12")

    assert refused.exit_code == 2 and "pass --max" in refused.stderr and "--yes" in refused.stderr
    assert len(dry["slots"]) >= 1200 and dry["enqueued"] == 0
    assert raised["enqueued"] == 12
    depth = int(boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
        "ApproximateNumberOfMessages"])
    assert depth == 12
    app.drain("email-outbox")


def test_invoke_runs_the_handler_on_the_sample_events(app: Deployed) -> None:
    poison = app.cb("invoke", "health-report", "--event", str(ROOT / "events" /
                                                              "batch-with-poison.json"))
    scheduled = app.cb("invoke", "health-report", "--event", str(ROOT / "events" /
                                                                 "scheduled-event.json"))

    assert poison.exit_code == 0, poison.output
    assert json.loads(poison.stdout) == {"batchItemFailures": []}
    assert json.loads(scheduled.stdout) == {"batchItemFailures": []}
    slots = {r["slot"]: r["status"] for r in app.cb_json("history", "health-report",
                                                         "--limit", "100")}
    assert slots["2026-11-30T02:00:00Z"] == slots["2026-11-30T03:00:00Z"] == "SUCCEEDED"
    letters = app.cb_json("dlq", "health-report")
    assert [(d["error_type"], d["slot"]) for d in letters] == [("BadMessageError", None)]


def test_invoke_rejects_an_event_for_another_job_and_bad_files(app: Deployed,
                                                                tmp_path: Path) -> None:
    other = app.cb("invoke", "health-report", "--event",
                   str(ROOT / "events" / "manual-trigger.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    unreadable = app.cb("invoke", "health-report", "--event", str(bad))

    assert other.exit_code == 2
    assert "queue(s) cronbridge-log-purge, not cronbridge-health-report" in other.stderr
    assert unreadable.exit_code == 2 and "is not JSON" in unreadable.stderr
