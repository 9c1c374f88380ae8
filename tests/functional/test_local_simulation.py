"""End to end on the embedded AWS: a few simulated hours, every slot accounted for."""

from datetime import datetime, timedelta, timezone

import pytest

from cronbridge.local.simulate import run_simulation

START = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    return run_simulation(START, timedelta(hours=4), seed=7,
                          log_path=tmp_path_factory.mktemp("local") / "worker.log")


def test_every_slot_is_accounted_for(simulation):
    assert simulation.slots_expected == sum(j.expected for j in simulation.jobs.values())
    assert simulation.slots_accounted == simulation.slots_expected
    assert simulation.invariants == {"slots_succeeded_more_than_once": 0,
                                     "slots_unaccounted": 0, "stuck_running": 0,
                                     "skips_unconfirmed": 0, "dead_not_redrivable": 0,
                                     "executed_nothing": 0}


def test_expected_slots_follow_the_schedules(simulation):
    jobs = simulation.jobs
    # 4 hours from midnight: email-outbox every 5 min, cache-refresh every 15, health hourly,
    # daily-aggregation at 00:15, log-purge at 03:00, regional-export at 03:00 Berlin
    # (02:00Z), customer-digest at 08:00 in Singapore (00:00Z) and Kolkata (02:30Z).
    assert {name: j.expected for name, j in jobs.items()} == {
        "cache-refresh": 16, "customer-digest": 2, "daily-aggregation": 1,
        "email-outbox": 48, "health-report": 4, "log-purge": 1, "regional-export": 1}


def test_every_job_succeeds_and_failures_are_retried(simulation):
    for name, job in simulation.jobs.items():
        assert job.succeeded > 0, name
        assert job.succeeded + job.skipped + job.dead == job.expected, name
    # cache-refresh fails deterministically on some slots' first attempts.
    assert simulation.jobs["cache-refresh"].failed_attempts > 0


def test_summary_json_shape(simulation):
    summary = simulation.to_json()
    assert set(summary["jobs"]["email-outbox"]) == {
        "expected", "succeeded", "failed_attempts", "skipped", "dead", "duplicates_suppressed"}
    assert summary["slots_accounted"] == summary["slots_expected"]


def test_same_seed_same_result(tmp_path):
    first = run_simulation(START, timedelta(hours=1), seed=11, log_path=tmp_path / "a.log")
    second = run_simulation(START, timedelta(hours=1), seed=11, log_path=tmp_path / "b.log")
    assert first.to_json()["jobs"] == second.to_json()["jobs"]


def test_dead_letters_older_than_12_hours_can_be_peeked():
    """moto refuses visibility changes 12 h after a send; a simulated day reaches that."""
    import boto3

    from cronbridge.adapters.dlq import peek
    from cronbridge.local.clock import SimulatedClock
    from cronbridge.local.embedded import embedded_aws

    clock = SimulatedClock(START)
    with embedded_aws(clock):
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="old-letters")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="dead")
        clock.advance(timedelta(hours=13))
        assert [letter.body for letter in peek(sqs, url, drained_wait=0)] == ["dead"]
        clock.advance(timedelta(minutes=1))  # the peek's short hold has ended
        assert [letter.body for letter in peek(sqs, url, drained_wait=0)] == ["dead"]
