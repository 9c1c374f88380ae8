"""``dlq`` and ``redrive`` against a moto server in a subprocess: dead letters are listed
without being consumed, redriven DEAD slots run once more, succeeded slots are left out, and
a redrive whose send fails midway loses nothing and names the message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cli_support import Deployed, deployed
from cronbridge.adapters import dlq
from cronbridge.adapters.sqs import string_attributes
from cronbridge.cli.target import Target
from cronbridge.core.messages import command_body
from cronbridge.core.runstate import Trigger
from cronbridge.service import ATTR_ERROR_TYPE, ATTR_JOB, ATTR_SLOT
from cronbridge_examples.resources import DemoResources

CONFIG = DemoResources().config_param


@pytest.fixture(scope="module")
def app() -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as monkeypatch, deployed(monkeypatch) as target:
        # moto answers a short poll from the whole queue; the long poll that guards against
        # SQS's sampled short polls would only add a second to every peek here.
        monkeypatch.setattr(dlq, "DRAINED_WAIT_SECONDS", 0)
        yield target


def without_age(letters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in letter.items() if k != "age_seconds"} for letter in letters]


def break_email_outbox(app: Deployed, *slots: str) -> None:
    """Dead-letter ``slots`` of email-outbox: a bad payload is a permanent error."""
    for slot in slots:
        assert app.cb("trigger", "email-outbox", "--slot", slot, "--payload",
                      '{"batch_size": 0}').exit_code == 0
    app.drain("email-outbox")


def dlq_depth(app: Deployed, job: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=app.resources[job].dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


def test_a_dead_slot_is_listed_then_redriven_after_the_fix_and_runs_once(app: Deployed) -> None:
    ssm = boto3.client("ssm")
    good = ssm.get_parameter(Name=CONFIG)["Parameter"]["Value"]
    ssm.put_parameter(Name=CONFIG, Value="{not json", Overwrite=True)  # the outage
    app.cb_json("trigger", "cache-refresh", "--slot", "fix-1", "--payload",
                '{"simulate_failures": false}')
    app.drain("cache-refresh")

    letters = app.cb_json("dlq", "cache-refresh")
    assert without_age(app.cb_json("dlq", "cache-refresh")) == without_age(letters)  # a peek
    assert len(letters) == 1
    letter = letters[0]
    assert (letter["job"], letter["slot"], letter["error_type"], letter["attempts"]) == (
        "cache-refresh", "manual:fix-1", "PermanentError", 1)
    assert "is not valid JSON" in letter["error_message"] and letter["age_seconds"] >= 0
    assert next(r for r in app.cb_json("jobs") if r["job"] == "cache-refresh")["dlq_depth"] == 1

    dry = app.cb_json("redrive", "cache-refresh", "--dry-run")
    assert [r["slot"] for r in dry["would_move"]] == ["manual:fix-1"] and dry["moved"] == []
    assert dlq_depth(app, "cache-refresh") == 1

    ssm.put_parameter(Name=CONFIG, Value=good, Overwrite=True)  # the fix
    moved = app.cb_json("redrive", "cache-refresh")
    app.drain("cache-refresh")

    assert moved["method"] == "send-delete"  # moto has no StartMessageMoveTask
    assert "StartMessageMoveTask is not available" in moved["note"]
    assert [r["slot"] for r in moved["moved"]] == ["manual:fix-1"]
    assert app.cb_json("dlq", "cache-refresh") == []
    run = next(r for r in app.cb_json("history", "cache-refresh") if r["slot"] == "manual:fix-1")
    assert (run["status"], run["trigger"], run["attempt"]) == ("SUCCEEDED", "redrive", 2)
    assert [a["outcome"] for a in run["attempts"]] == ["DEAD", "SUCCEEDED"]


def test_a_succeeded_slot_is_left_in_the_dlq_unless_forced(app: Deployed) -> None:
    app.cb_json("trigger", "health-report", "--slot", "done-1")
    app.drain("health-report")
    # A stray copy of a slot that has since succeeded (e.g. a dead letter redriven twice).
    boto3.client("sqs").send_message(
        QueueUrl=app.resources["health-report"].dlq_url,
        MessageBody=command_body("health-report", Trigger.MANUAL, slot="manual:done-1"),
        MessageAttributes=string_attributes({ATTR_JOB: "health-report",
                                             ATTR_SLOT: "manual:done-1",
                                             ATTR_ERROR_TYPE: "ConnectionError"}))

    kept = app.cb_json("redrive", "health-report")
    table = app.cb("redrive", "health-report", "--dry-run")
    assert kept["moved"] == [] and [r["slot"] for r in kept["left_out"]] == ["manual:done-1"]
    assert "already SUCCEEDED" in kept["left_out"][0]["reason"]
    assert "left out: slot already SUCCEEDED" in table.stdout
    assert dlq_depth(app, "health-report") == 1

    forced = app.cb_json("redrive", "health-report", "--force")
    app.drain("health-report")
    assert [r["slot"] for r in forced["moved"]] == ["manual:done-1"]
    assert dlq_depth(app, "health-report") == 0
    assert [r["attempt"] for r in app.cb_json("history", "health-report")
            if r["slot"] == "manual:done-1"] == [1]  # acknowledged, not run again


class FailingSecondSend:
    """An SQS client whose second ``send_message`` fails (the target goes away midway)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.sends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message(self, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends == 2:
            raise ConnectionError("connection reset by peer")
        return self._client.send_message(**kwargs)


def test_a_redrive_whose_send_fails_midway_loses_nothing_and_names_the_message(
        app: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    break_email_outbox(app, "mid-1", "mid-2", "mid-3")
    before = {d["message_id"]: d["slot"] for d in app.cb_json("dlq", "email-outbox")}
    assert sorted(before.values()) == ["manual:mid-1", "manual:mid-2", "manual:mid-3"]
    real_client = Target.client

    def client(self: Target, service: str, **kwargs: Any) -> Any:
        made = real_client(self, service, **kwargs)
        return FailingSecondSend(made) if service == "sqs" else made

    monkeypatch.setattr(Target, "client", client)
    result = app.cb("redrive", "email-outbox", "--json")
    monkeypatch.undo()

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert len(report["moved"]) == 1 and len(report["not_attempted"]) == 1
    failed = report["failed"]
    assert failed["stage"] == "send" and "connection reset by peer" in failed["cause"]
    assert f"message {failed['message_id']} (slot {failed['slot']}) send failed" in result.stderr
    assert "still in the DLQ" in result.stderr
    left = {d["message_id"]: d["slot"] for d in app.cb_json("dlq", "email-outbox")}
    assert set(left) == set(before) - {report["moved"][0]["message_id"]}
    assert failed["message_id"] in left

    # The rest goes with the next redrive; each DEAD slot runs once more (and, the payload
    # still being bad, is dead again: redrive cannot fix a bad payload).
    assert len(app.cb_json("redrive", "email-outbox")["moved"]) == 2
    app.drain("email-outbox")
    runs = {r["slot"]: r for r in app.cb_json("history", "email-outbox", "--status", "DEAD")}
    assert {runs[f"manual:mid-{i}"]["attempt"] for i in (1, 2, 3)} == {2}
    assert {runs[f"manual:mid-{i}"]["trigger"] for i in (1, 2, 3)} == {"redrive"}


class MoveTaskClient:
    """An SQS client of a target that has StartMessageMoveTask (real SQS)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.tasks: list[dict[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def start_message_move_task(self, **kwargs: str) -> dict[str, str]:
        self.tasks.append(kwargs)
        return {"TaskHandle": "task-handle-1"}


def test_redrive_uses_a_message_move_task_where_the_target_has_one(
        app: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    app.cb_json("trigger", "daily-aggregation", "--slot", "task-1", "--payload",
                '{"date": "yesterday"}')  # a permanent error: the date must be YYYY-MM-DD
    app.drain("daily-aggregation")
    stub = MoveTaskClient(boto3.client("sqs"))
    real_client = Target.client
    monkeypatch.setattr(Target, "client", lambda self, service, **kw: stub
                        if service == "sqs" else real_client(self, service, **kw))

    result = app.cb_json("redrive", "daily-aggregation")
    monkeypatch.undo()

    resources = app.resources["daily-aggregation"]
    assert result["method"] == "message-move-task" and result["task_handle"] == "task-handle-1"
    assert stub.tasks == [{"SourceArn": resources.dlq_arn, "DestinationArn": resources.queue_arn}]
    assert [r["slot"] for r in result["moved"]] == ["manual:task-1"]
    assert dlq_depth(app, "daily-aggregation") == 1  # the (stubbed) task moves it, not the CLI


def test_a_dead_letter_without_its_dead_token_is_recovered_by_redrive(app: Deployed) -> None:
    # Issue 11 (1): the worker wrote DEAD and died before its DLQ send on the last receive;
    # SQS moved the message with no attributes, and a redrive was acknowledged as a
    # duplicate: the slot stayed DEAD for good.
    ssm = boto3.client("ssm")
    good = ssm.get_parameter(Name=CONFIG)["Parameter"]["Value"]
    ssm.put_parameter(Name=CONFIG, Value="{not json", Overwrite=True)
    app.cb_json("trigger", "cache-refresh", "--slot", "lost-1", "--payload",
                '{"simulate_failures": false}')
    app.drain("cache-refresh")
    sqs = boto3.client("sqs")
    dlq_url = app.resources["cache-refresh"].dlq_url
    [sent] = [m for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]]
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=sent["ReceiptHandle"])
    sqs.send_message(QueueUrl=dlq_url, MessageBody=sent["Body"])       # as SQS moves it
    ssm.put_parameter(Name=CONFIG, Value=good, Overwrite=True)

    dry = app.cb("redrive", "cache-refresh", "--dry-run")
    assert "1 dead letter(s) had no dead token" in dry.stdout and "(on the redrive)" in dry.stdout
    moved = app.cb_json("redrive", "cache-refresh")
    app.drain("cache-refresh")
    assert moved["recovered_dead_tokens"] == 1
    assert [r["slot"] for r in moved["moved"]] == ["manual:lost-1"]
    run = next(r for r in app.cb_json("history", "cache-refresh") if r["slot"] == "manual:lost-1")
    assert (run["status"], run["trigger"]) == ("SUCCEEDED", "redrive")
