"""The demo jobs do real work on moto: seeded data in, the AWS effect checked out."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import cronbridge_examples  # noqa: F401  (registers the jobs)
from cronbridge.core.context import JobContext
from cronbridge.core.jobs import default_registry
from cronbridge_examples import aws
from cronbridge_examples.cache_refresh import failure_mode
from cronbridge_examples.daily_aggregation import count_lines, parse_status
from cronbridge_examples.email_outbox import is_valid_address
from cronbridge_examples.resources import METRIC_NAMESPACE, DemoResources
from cronbridge_examples.seed import HOSTS, access_log_lines, seed_demo

START = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=3)
RES = DemoResources()
FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch):
    """Fake credentials, us-east-1, moto, and no clients left over from another test."""
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CRONBRIDGE_DEMO_BUCKET",
                "CRONBRIDGE_DEMO_TABLE", "CRONBRIDGE_DEMO_CONFIG_PARAM", "CRONBRIDGE_DEMO_SENDER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset_clients()
    with mock_aws():
        yield
    aws.reset_clients()


@pytest.fixture
def seeded(aws_env) -> dict[str, Any]:
    return seed_demo(START, END)


def run(name: str, when: datetime | None, *, attempt: int = 1, payload: dict | None = None,
        resume_state: Any = None, checkpoint=lambda state: None) -> Any:
    """Call job ``name``'s body directly, as the worker would for the slot at ``when``."""
    spec = default_registry().get(name)
    ctx = JobContext(
        job=name, slot=when.strftime("%Y-%m-%dT%H:%M:00Z") if when else "manual:t",
        scheduled_time=when, attempt=attempt, trigger="schedule" if when else "manual",
        payload={**spec.payload, **(payload or {})}, logger=logging.getLogger("t"),
        resume_state=resume_state, _checkpoint=checkpoint)
    return spec.func(ctx)


def log_keys() -> list[str]:
    pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=RES.bucket)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def outbox() -> list[dict[str, Any]]:
    resp = aws.client("dynamodb").query(
        TableName=RES.table, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "outbox"}})
    return resp["Items"]


def item(pk: str, sk: str) -> dict[str, Any] | None:
    return aws.client("dynamodb").get_item(
        TableName=RES.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


def slot_with(mode: str) -> datetime:
    """The first 15-minute slot from START whose simulated failure mode is ``mode``."""
    t = START
    while failure_mode(t.strftime("%Y-%m-%dT%H:%M:00Z")) != mode:
        t += timedelta(minutes=15)
    return t


# --- registration -------------------------------------------------------------------------

def test_demo_jobs_are_registered_with_their_schedules():
    specs = {spec.name: spec for spec in default_registry()}
    assert {n: specs[n].schedule for n in ("log-purge", "daily-aggregation", "cache-refresh",
                                           "email-outbox", "health-report")} == {
        "log-purge": "cron(0 3 * * ? *)",
        "daily-aggregation": "cron(15 0 * * ? *)",
        "cache-refresh": "rate(15 minutes)",
        "email-outbox": "rate(5 minutes)",
        "health-report": "cron(0 * * * ? *)",
    }
    assert specs["cache-refresh"].max_attempts == 3
    assert specs["log-purge"].payload == {"days": 7}


def test_importing_the_jobs_creates_no_aws_client():
    code = ("import boto3\n"
            "def refuse(*a, **k): raise AssertionError('client created at import time')\n"
            "boto3.client = boto3.Session.client = refuse\n"
            "import cronbridge_examples, cronbridge_examples.seed\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(FUNCTIONS)})


def test_resources_come_from_the_environment():
    assert DemoResources.from_env({}) == DemoResources(
        "cronbridge-demo-logs", "cronbridge-demo-data", "/cronbridge/demo/config",
        "noreply@cronbridge.example")
    assert DemoResources.from_env({"CRONBRIDGE_DEMO_BUCKET": "b", "CRONBRIDGE_DEMO_TABLE": "t",
                                   "CRONBRIDGE_DEMO_CONFIG_PARAM": "/p",
                                   "CRONBRIDGE_DEMO_SENDER": "s@x.example"}) == \
        DemoResources("b", "t", "/p", "s@x.example")


# --- seeding ------------------------------------------------------------------------------

def test_seed_creates_everything_and_is_idempotent(seeded):
    # 10 days of history before START's day, through END's day: 11 days x 3 hosts.
    assert seeded["log_objects"] == 11 * len(HOSTS) == len(log_keys())
    assert seeded["malformed_lines"] > 0
    # One email per 5-minute interval of the 3 h window, plus one due just before it.
    assert seeded["emails"] == 37 == len(outbox())
    assert seeded["invalid_emails"] >= 1
    assert aws.client("ssm").get_parameter(Name=RES.config_param)["Parameter"]["Version"] == 1
    assert RES.sender in aws.client("ses").list_identities()["Identities"]

    run("email-outbox", START + timedelta(minutes=30))
    sent_before = sum(i["status"]["S"] == "SENT" for i in outbox())
    assert seed_demo(START, END) == seeded
    assert sum(i["status"]["S"] == "SENT" for i in outbox()) == sent_before  # not reset
    assert aws.client("ssm").get_parameter(Name=RES.config_param)["Parameter"]["Version"] == 1


def test_seed_works_outside_us_east_1(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws.reset_clients()
    seed_demo(START, START + timedelta(minutes=10))
    loc = aws.client("s3").get_bucket_location(Bucket=RES.bucket)["LocationConstraint"]
    assert loc == "eu-west-1"


def test_seeded_lines_parse_as_the_generator_intended():
    for day in (date(2026, 11, 1), date(2026, 11, 29)):
        for host in HOSTS:
            for line, status in access_log_lines(day, host):
                assert parse_status(line) == status, line


# --- log-purge ----------------------------------------------------------------------------

def test_log_purge_deletes_objects_older_than_the_cutoff(seeded):
    result = run("log-purge", START + timedelta(hours=3))
    # Slot day 2026-11-30, 7 days: keep 11-23 onwards; 11-20, 11-21, 11-22 go.
    assert result == {"cutoff": "2026-11-23", "deleted": 9, "unrecognised": 0}
    keys = log_keys()
    assert len(keys) == seeded["log_objects"] - 9
    assert min(keys).startswith("access-logs/2026/11/23/")
    assert run("log-purge", START + timedelta(hours=3))["deleted"] == 0  # a retry is a no-op
    assert run("log-purge", START + timedelta(hours=3), payload={"days": 1})["deleted"] == 18


def test_log_purge_pages_through_more_than_a_thousand_objects(seeded):
    s3 = aws.client("s3")
    for n in range(1100):  # more than one list page (1000 keys) of old objects
        s3.put_object(Bucket=RES.bucket, Key=f"access-logs/2026/10/01/x{n:04d}.log", Body=b"")
    assert run("log-purge", START + timedelta(hours=3))["deleted"] == 1100 + 9
    assert len(log_keys()) == seeded["log_objects"] - 9


def test_log_purge_rejects_a_bad_payload_as_permanent(seeded):
    from cronbridge import PermanentError
    with pytest.raises(PermanentError):
        run("log-purge", START, payload={"days": "seven"})


# --- daily-aggregation --------------------------------------------------------------------

def hand_count(day: date) -> tuple[Counter, int]:
    counts: Counter = Counter()
    malformed = 0
    for host in HOSTS:
        for _, status in access_log_lines(day, host):
            if status is None:
                malformed += 1
            else:
                counts[str(status)] += 1
    return counts, malformed


def test_parse_status_reads_common_log_format():
    ok = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
    assert parse_status(ok) == 200
    assert parse_status('h - - [01/Feb/2026:00:00:00 +0000] "GET /\\"q\\" HTTP/1.1" 304 -') == 304
    for bad in (ok[:-6], "garbage", ok.replace("Oct", "Foo"), ok.replace("10/Oct", "31/Feb"),
                ok.replace(" 200 ", " 700 "), ok.replace(" 200 ", " OK "),
                ok.replace("-0700", "-2500"), ok + " trailing"):
        assert parse_status(bad) is None, bad
    assert count_lines([ok, "", "junk", ok.replace(" 200 ", " 404 ")]) == (
        Counter({"200": 1, "404": 1}), 1)


def test_daily_aggregation_counts_yesterdays_lines_per_status(seeded):
    result = run("daily-aggregation", START + timedelta(minutes=15))
    counts, malformed = hand_count(date(2026, 11, 29))
    assert result == {"day": "2026-11-29", "objects": 3, "total": sum(counts.values()),
                      "malformed": malformed}
    stats = item("stats", "2026-11-29")
    assert {code: int(v["N"]) for code, v in stats["counts"]["M"].items()} == counts
    assert int(stats["malformed"]["N"]) == malformed
    assert int(stats["total"]["N"]) == sum(counts.values())


def test_daily_aggregation_resumes_from_its_checkpoint(seeded):
    saved: list[Any] = []

    def checkpoint_then_die(state):
        saved.append(state)
        raise TimeoutError("attempt 1 dies after its first object")

    with pytest.raises(TimeoutError):
        run("daily-aggregation", START + timedelta(minutes=15), checkpoint=checkpoint_then_die)
    assert saved[0]["done"] == ["access-logs/2026/11/29/web-1.log"]
    assert item("stats", "2026-11-29") is None

    read: list[str] = []
    aws.client("s3").meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: read.append(params["Key"]))
    result = run("daily-aggregation", START + timedelta(minutes=15), attempt=2,
                 resume_state=json.loads(json.dumps(saved[0])))
    assert read == ["access-logs/2026/11/29/web-2.log", "access-logs/2026/11/29/web-3.log"]
    counts, malformed = hand_count(date(2026, 11, 29))
    assert (result["total"], result["malformed"]) == (sum(counts.values()), malformed)


def test_daily_aggregation_ignores_a_checkpoint_of_another_day(seeded):
    stale = {"day": "2026-11-01", "done": ["access-logs/2026/11/29/web-1.log"], "counts": {},
             "malformed": 0}
    result = run("daily-aggregation", START + timedelta(minutes=15), resume_state=stale)
    assert result["objects"] == 3


# --- cache-refresh ------------------------------------------------------------------------

def test_cache_refresh_copies_the_parameter_and_never_rolls_back(seeded):
    ssm = aws.client("ssm")
    first = slot_with("none")
    assert run("cache-refresh", first) == {"version": 1, "written": True}
    cached = item("config", "current")
    assert json.loads(cached["config"]["S"]) == json.loads(
        ssm.get_parameter(Name=RES.config_param)["Parameter"]["Value"])
    assert cached["refreshed_at"]["S"] == first.strftime("%Y-%m-%dT%H:%M:%SZ")

    ssm.put_parameter(Name=RES.config_param, Type="String", Value='{"banner": "v2"}',
                      Overwrite=True)
    later = first + timedelta(hours=1)
    assert run("cache-refresh", later, payload={"simulate_failures": False})["version"] == 2
    # A backfilled earlier slot sees the same version but must not move the time back.
    assert run("cache-refresh", first)["written"] is False
    assert item("config", "current")["refreshed_at"]["S"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_cache_refresh_fails_as_its_slot_dictates(seeded):
    spec = default_registry().get("cache-refresh")
    flaky, dead = slot_with("first-attempt"), slot_with("always")
    with pytest.raises(ConnectionError, match="simulated upstream timeout") as exc:
        run("cache-refresh", flaky, attempt=1)
    assert not spec.is_permanent(exc.value)  # retried, not sent straight to the DLQ
    assert run("cache-refresh", flaky, attempt=2)["written"] is True
    for attempt in range(1, spec.max_attempts + 1):
        with pytest.raises(ConnectionError):
            run("cache-refresh", dead, attempt=attempt)
    assert run("cache-refresh", dead, payload={"simulate_failures": False})["written"] is True


def test_cache_refresh_failure_schedule_is_deterministic_and_proportioned():
    day = [(START + timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:00Z") for i in range(96)]
    modes = Counter(failure_mode(slot) for slot in day)
    assert modes == Counter(failure_mode(slot) for slot in day)  # same answer every time
    # About 1/4 of slots fail attempt 1 (24 of 96), about 1/20 always (4.8 of 96).
    assert 14 <= modes["first-attempt"] + modes["always"] <= 34, modes
    assert 1 <= modes["always"] <= 10, modes
    # Over a month of slots the fractions are close to the stated ones.
    month = Counter(failure_mode((START + timedelta(minutes=15 * i)).strftime(
        "%Y-%m-%dT%H:%M:00Z")) for i in range(96 * 30))
    assert 0.22 <= (month["first-attempt"] + month["always"]) / (96 * 30) <= 0.28
    assert 0.035 <= month["always"] / (96 * 30) <= 0.065
    # A fresh interpreter (another hash seed) agrees: no salted hash() involved.
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from cronbridge_examples.cache_refresh import "
         "failure_mode as f; print(','.join(f(s) for s in sys.argv[1:]))", *day],
        check=True, capture_output=True, text=True,
        env={"PYTHONPATH": str(FUNCTIONS), "PYTHONHASHSEED": "12345"}).stdout.strip()
    assert out.split(",") == [failure_mode(slot) for slot in day]


# --- email-outbox -------------------------------------------------------------------------

def sent_last_24h() -> int:
    return int(aws.client("ses").get_send_quota()["SentLast24Hours"])


def test_email_outbox_sends_due_emails_once_and_fails_bad_addresses(seeded):
    slot = START + timedelta(hours=3)
    due = [i for i in outbox() if i["sk"]["S"] < "2026-11-30T03:00:01Z"]
    valid = [i for i in due if is_valid_address(i["to"]["S"])]
    assert len(due) > len(valid) > 0  # the window holds at least one invalid recipient
    assert run("email-outbox", slot) == {"sent": len(valid), "failed": len(due) - len(valid),
                                         "conflicts": 0}
    by_sk = {i["sk"]["S"]: i for i in outbox()}
    for email in due:
        marked = by_sk[email["sk"]["S"]]
        if is_valid_address(email["to"]["S"]):
            assert marked["status"]["S"] == "SENT" and marked["message_id"]["S"]
        else:
            assert marked["status"]["S"] == "FAILED"
            assert marked["error"]["S"] == "invalid recipient address"
    assert sent_last_24h() == len(valid)

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert sorted(m.destinations["ToAddresses"][0] for m in sent) == sorted(
        i["to"]["S"] for i in valid)
    assert all(m.source == RES.sender for m in sent)

    # A retried attempt of the same slot finds nothing pending: no email goes out twice.
    assert run("email-outbox", slot, attempt=2) == {"sent": 0, "failed": 0, "conflicts": 0}
    assert sent_last_24h() == len(valid)


def test_email_outbox_leaves_future_emails_and_honours_the_batch_size(seeded):
    assert run("email-outbox", START, payload={"batch_size": 100})["sent"] == 1  # the early one
    assert run("email-outbox", START + timedelta(hours=2), payload={"batch_size": 5}) == {
        "sent": 5, "failed": 0, "conflicts": 0}
    pending = [i for i in outbox() if i["status"]["S"] == "PENDING"]
    assert len(pending) == seeded["emails"] - 6


def test_email_outbox_retries_when_ses_rejects_the_sender(seeded, monkeypatch):
    monkeypatch.setenv("CRONBRIDGE_DEMO_SENDER", "unverified@cronbridge.example")
    with pytest.raises(ClientError):
        run("email-outbox", START + timedelta(minutes=30))
    assert all(i["status"]["S"] in ("PENDING", "FAILED") for i in outbox())
    assert sent_last_24h() == 0


# --- health-report ------------------------------------------------------------------------

def test_health_report_publishes_real_figures(seeded):
    refreshed = slot_with("none")
    run("cache-refresh", refreshed)
    run("email-outbox", START + timedelta(hours=1))
    slot = refreshed + timedelta(hours=1)
    pending = sum(i["status"]["S"] == "PENDING" for i in outbox())
    figures = run("health-report", slot)
    assert figures == {"log_objects": seeded["log_objects"], "outbox_pending": pending,
                       "config_age_seconds": 3600}

    cw = aws.client("cloudwatch")
    names = {m["MetricName"] for m in cw.list_metrics(Namespace=METRIC_NAMESPACE)["Metrics"]}
    assert names == {"LogObjects", "OutboxPending", "ConfigAgeSeconds"}
    stats = cw.get_metric_statistics(
        Namespace=METRIC_NAMESPACE, MetricName="OutboxPending", Statistics=["Maximum"],
        StartTime=START - timedelta(days=1), EndTime=datetime.now(timezone.utc) + timedelta(days=1),
        Period=86400 * 3)
    assert [p["Maximum"] for p in stats["Datapoints"]] == [float(pending)]


def test_health_report_without_a_cached_config_omits_its_age(seeded):
    assert run("health-report", None)["config_age_seconds"] is None  # a manual trigger
    names = {m["MetricName"] for m in aws.client("cloudwatch").list_metrics(
        Namespace=METRIC_NAMESPACE)["Metrics"]}
    assert names == {"LogObjects", "OutboxPending"}
