"""The Lambda entry point's logs, metrics and batch responses (Powertools), on moto."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from cronbridge.local.esm import LambdaContext, lambda_record
from cronbridge.runtime import handler
from cronbridge.runtime.observability import PowertoolsTelemetry
from cronbridge.runtime.settings import Settings
from cronbridge.runtime.wiring import Worker
from run_harness import START, spec

SECRET = "s3cr3t-payload-value"


def fails_on_odd_minutes(ctx):
    if ctx.scheduled_time.minute % 2:
        raise ConnectionError("upstream timeout")
    ctx.logger.append_keys(customer_id=f"c-{ctx.slot}")   # job code's own key
    ctx.logger.info("working")
    return {"rows": 3}


@pytest.fixture
def lambda_env(harness, moto_clock, monkeypatch):
    """The real handler serving one job on moto; its JSON logs captured."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    h = harness(spec(schedule="cron(* * * * ? *)", func=fails_on_odd_minutes,
                     payload={"secret": SECRET}))
    stream = io.StringIO()
    logger_handler = handler.telemetry.logger.registered_handler
    previous = logger_handler.setStream(stream)
    settings = Settings(app="t", table_name=h.plan.table_name)

    def fresh_worker():
        handler.use_worker(Worker(settings, handler.telemetry, clock=moto_clock,
                                  sqs_client=h.sqs, store=h.store, plan=h.plan,
                                  registry=h.registry))

    def invoke(*minutes_or_bodies):
        for item in minutes_or_bodies:
            if isinstance(item, int):       # a slot's event arrives when it fires
                moto_clock.advance_to(max(moto_clock.now(), START + timedelta(minutes=item)))
            h.send(START + timedelta(minutes=item) if isinstance(item, int) else item)
        messages = h.receive()
        event = {"Records": [lambda_record(m, h.res.queue_arn, "us-east-1") for m in messages]}
        context = LambdaContext("t-fn", 60, moto_clock,
                                deadline_ms=moto_clock.epoch_millis() + 60_000)
        return messages, handler.lambda_handler(event, context)

    fresh_worker()
    yield h, invoke, stream, fresh_worker
    logger_handler.setStream(previous)
    handler.use_worker(None)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_each_record_logs_its_own_keys_and_nothing_from_the_previous_one(lambda_env):
    h, invoke, stream, _ = lambda_env
    invoke(0, 1)
    logs = records(stream)
    done = next(r for r in logs if r["message"] == "run succeeded")
    failed = next(r for r in logs if r["message"].startswith("attempt failed"))
    working = next(r for r in logs if r["message"] == "working")
    assert (done["job"], done["slot"], done["attempt"], done["status"]) == (
        "nightly", "2026-11-30T02:00:00Z", 1, "SUCCEEDED")
    assert working["slot"] == done["slot"] and working["status"] == "RUNNING"
    assert (failed["slot"], failed["status"], failed["error_type"]) == (
        "2026-11-30T02:01:00Z", "FAILED", "ConnectionError")
    assert "duration_ms" not in failed                 # bound by the first record only
    # Issue 11 (6): a key the job appended leaked into the next record's logs.
    assert working["customer_id"] == "c-2026-11-30T02:00:00Z" and "customer_id" not in failed
    for record in (done, failed, working):
        assert record["request_id"] == record["function_request_id"]
        assert record["message_id"]
    stream.truncate(0)
    stream.seek(0)
    invoke("not json")                                   # next invocation: a poison message
    [bad] = [r for r in records(stream) if r["message"].startswith("malformed")]
    assert not {"slot", "attempt", "status", "error_type", "duration_ms"} & set(bad)


def test_logs_carry_no_payload_or_message_bodies(lambda_env):
    h, invoke, stream, _ = lambda_env
    invoke(0, 1, json.dumps({"poison": SECRET}))
    assert stream.getvalue() and SECRET not in stream.getvalue()


def test_payloads_are_logged_only_when_asked_for(lambda_env, moto_clock):
    h, invoke, stream, _ = lambda_env
    handler.use_worker(Worker(Settings(app="t", table_name=h.plan.table_name, log_payloads=True),
                              handler.telemetry, clock=moto_clock, sqs_client=h.sqs,
                              store=h.store, plan=h.plan, registry=h.registry))
    invoke(0)
    [started] = [r for r in records(stream) if r["message"] == "run started"]
    assert started["payload"] == {"secret": SECRET}
    assert Settings.from_env({"CRONBRIDGE_LOG_PAYLOADS": "1"}).log_payloads


def test_partial_batch_response_lists_exactly_the_failed_ids_cold_and_warm(lambda_env):
    h, invoke, _, fresh_worker = lambda_env
    for first_minute in (0, 10):                       # cold, then warm
        if first_minute == 0:
            fresh_worker()
        messages, response = invoke(first_minute, first_minute + 1, "poison")
        # The odd minutes fail (the clock moved on, so minute 1's retry is due again too).
        failing = [m["MessageId"] for m in messages if m["Body"].startswith("{")
                   and int(json.loads(m["Body"])["time"][14:16]) % 2]
        assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in failing]}
    # The poison messages, with a reason (the first round's twice: nothing here deletes
    # what the handler finished, and the clock moved past its visibility).
    bad = [letter["Body"] for letter in h.dead_letters()
           if letter["MessageAttributes"]["cronbridge-error-type"]["StringValue"]
           == "BadMessageError"]
    assert len(bad) >= 2 and set(bad) == {"poison"}


def test_metrics_are_emf_in_the_cronbridge_namespace_with_the_job_dimension(lambda_env, capsys):
    h, invoke, _, _ = lambda_env
    invoke(0, 1)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()
                 if line.startswith("{") and '"_aws"' in line]
    names = set()
    for doc in documents:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "cronbridge"
        assert ["job", "service"] == sorted(directive["Dimensions"][0])
        assert doc["job"] == "nightly"
        names |= {metric["Name"] for metric in directive["Metrics"]}
    assert {"RunSucceeded", "RunFailed", "RunDuration", "StartLag", "Attempts"} <= names


def test_tracing_is_disabled_cleanly(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    telemetry = PowertoolsTelemetry()
    with telemetry.span("run nightly", job="nightly", slot="s"):
        pass

