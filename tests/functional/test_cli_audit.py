"""``cronbridge audit`` and the auto-pause against a moto server: a verdict per due slot
that agrees with ``history``, MISSED records claimable by a backfill, and a job that keeps
failing pausing itself with the reason shown by ``jobs`` and sent to the alarm topic."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import boto3
from run_harness import READY_SECONDS
import pytest
from cli_support import APP, Deployed, deployed, hour_floor, iso

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core.messages import scheduled_event


@pytest.fixture(scope="module")
def app() -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as monkeypatch, deployed(monkeypatch) as target:
        yield target


def fire(app: Deployed, job: str, *slots: str) -> None:
    res = app.resources[job]
    for slot in slots:
        event = scheduled_event(rule_arn=res.rule_arn, time=_time(slot),
                                account="123456789012", region="us-east-1")
        app.sqs().send_message(QueueUrl=res.queue_url, MessageBody=json.dumps(event))
    app.drain(job)


def _time(slot: str):
    from cronbridge.core.slots import parse_time
    return parse_time(slot)


def test_audit_gives_each_due_slot_a_verdict_that_agrees_with_history(app: Deployed) -> None:
    since = hour_floor(-4)
    slots = [iso(since + timedelta(hours=h)) for h in range(5)]  # the last one is this hour
    fire(app, "health-report", slots[0], slots[2])
    app.cb_json("trigger", "health-report", "--slot", "audit-manual")
    app.drain("health-report")

    report = app.cb_json("audit", "health-report", "--since", iso(since))

    verdicts = {s["slot"]: s["verdict"] for s in report["slots"]}
    assert list(verdicts) == slots
    assert verdicts[slots[0]] == verdicts[slots[2]] == "succeeded"
    assert verdicts[slots[1]] == verdicts[slots[3]] == "missed"
    assert report["slots"][0]["attempts"] == 1 and report["slots"][0]["trigger"] == "schedule"
    assert [r["slot"] for r in report["unscheduled"]] == ["manual:audit-manual"]
    assert sum(report["summary"].values()) == len(slots)
    history = app.cb_json("history", "health-report", "--since", iso(since), "--limit", "100")
    scheduled = Counter(r["status"] for r in history if not r["slot"].startswith("manual:"))
    assert report["summary"]["succeeded"] == scheduled["SUCCEEDED"] == 2
    table = app.cb("audit", "health-report", "--since", iso(since))
    assert table.exit_code == 0 and "summary: succeeded 2" in table.stdout


def test_a_missed_record_is_backfilled_and_runs(app: Deployed) -> None:
    slot = iso(hour_floor(-6))
    store = DynamoRunStore(app.plan.table_name, host=app.endpoint)
    assert store.record_missed("health-report", slot, now=0, expires_at=2**31)
    report = app.cb_json("audit", "health-report", "--since", slot, "--until",
                         iso(hour_floor(-5)))
    assert report["slots"] == [{"slot": slot, "verdict": "missed", "attempts": None,
                                "trigger": "schedule", "reason": "recorded by the auditor"}]

    backfill = app.cb_json("backfill", "health-report", "--since", slot, "--until",
                           iso(hour_floor(-5)))
    assert backfill["slots"] == [slot] and backfill["enqueued"] == 1
    app.drain("health-report")
    [run] = [r for r in app.cb_json("history", "health-report", "--limit", "100")
             if r["slot"] == slot]
    assert (run["status"], run["trigger"], run["attempt"]) == ("SUCCEEDED", "backfill", 1)


@pytest.mark.parametrize("args, message", [
    (("--since", "2026-11-30T10:00Z", "--until", "2026-11-30T09:00Z"), "is not before"),
    (("--key", "acme"), "no per-key schedules"),
    (("--since", "yesterday"), "not ISO-8601"),
])
def test_audit_bad_input_exits_2(app: Deployed, args: tuple[str, ...], message: str) -> None:
    result = app.cb("audit", "health-report", *args)
    assert result.exit_code == 2 and message in result.stderr


@pytest.fixture
def fresh_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    # A deployment of its own: the streak must start from slots no other test touched.
    with deployed(monkeypatch) as target:
        yield target


def test_a_job_failing_n_times_in_a_row_pauses_itself(fresh_app: Deployed,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    app = fresh_app
    from cronbridge.runtime import handler

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=f"{APP}-alarms")["TopicArn"]
    inbox = sqs.create_queue(QueueName="operators")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs",
                  Endpoint=inbox_arn["Attributes"]["QueueArn"])
    monkeypatch.setattr(handler._worker.pauser, "topic_arn", topic)

    for n in range(3):  # a permanent error each: the date must be YYYY-MM-DD
        app.cb_json("trigger", "daily-aggregation", "--slot", f"bad-{n}", "--payload",
                    '{"date": "yesterday"}')
        # Poll: under load a drain can end before the last finish write is visible.
        deadline = time.monotonic() + READY_SECONDS
        while True:
            app.drain("daily-aggregation")
            row = next(r for r in app.cb_json("jobs") if r["job"] == "daily-aggregation")
            if row["consecutive_failures"] == n + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert row["consecutive_failures"] == n + 1
        assert row["paused"] is (n == 2)

    assert row["state"] == "paused" and row["switch"]["by"] == "auto-pause"
    assert row["switch"]["reason"] == "3 slots in a row ended DEAD (pause_after_failures=3)"
    assert boto3.client("events").describe_rule(
        Name=f"{APP}-daily-aggregation")["State"] == "DISABLED"
    table = app.cb("jobs")
    assert "paused by auto-pause" in table.stdout
    [note] = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1)["Messages"]
    message = json.loads(json.loads(note["Body"])["Message"])
    assert message["job"] == "daily-aggregation" and message["paused_by"] == "auto-pause"

    resumed = app.cb_json("enable", "daily-aggregation")
    assert resumed["state"] == "enabled"
    row = next(r for r in app.cb_json("jobs") if r["job"] == "daily-aggregation")
    assert row["switch"]["action"] == "resumed" and row["switch"]["by"].startswith("cli")
    assert app.cb_json("disable", "daily-aggregation", "--reason", "vendor outage")["state"] \
        == "paused"
    row = next(r for r in app.cb_json("jobs") if r["job"] == "daily-aggregation")
    assert row["switch"]["reason"] == "vendor outage"
    app.cb_json("enable", "daily-aggregation")


def test_the_auditor_records_missed_slots_and_catches_up_the_latest(app: Deployed) -> None:
    from dataclasses import replace

    from run_harness import RecordingTelemetry

    from cronbridge.core.jobs import JobRegistry, load_job_modules
    from cronbridge.core.plan import build_plan
    from cronbridge.runtime.auditor import Auditor, queue_sender

    registry = JobRegistry()  # log-purge alone, catching up its latest missed slot
    registry.add(replace(load_job_modules(("cronbridge_examples",)).get("log-purge"),
                         catchup="latest"))
    plan = build_plan(registry, app=APP, job_modules=("cronbridge_examples",))
    store = DynamoRunStore(app.plan.table_name, host=app.endpoint)
    telemetry = RecordingTelemetry()
    auditor = Auditor(plan, registry, store, telemetry, queue_sender(app.sqs()),
                      lookback=timedelta(days=3))
    now = hour_floor(-24).replace(hour=12)  # yesterday noon: 3 days hold 3 log-purge slots
    first = auditor.run(now)
    purge = first["log-purge"]  # 03:00 daily, none ran here
    assert len(purge["missed"]) == 3 and purge["caught_up"] == purge["missed"][-1:]
    assert telemetry.count("MissedSlots") == 3
    again = auditor.run(now)
    assert again["log-purge"] == {"missed": [], "caught_up": []}  # recorded once

    app.drain("log-purge")
    runs = {r["slot"]: r for r in app.cb_json("history", "log-purge", "--limit", "100")}
    assert runs[purge["missed"][-1]]["status"] == "SUCCEEDED"
    assert runs[purge["missed"][-1]]["trigger"] == "backfill"
    assert {runs[s]["status"] for s in purge["missed"][:-1]} <= {"MISSED"}
    report = app.cb_json("audit", "log-purge", "--since", iso(now - timedelta(days=3)),
                         "--until", iso(now))
    assert report["summary"]["missed"] == len(purge["missed"]) - 1
    assert report["summary"]["succeeded"] >= 1
