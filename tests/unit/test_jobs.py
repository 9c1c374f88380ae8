"""The @job decorator and the registry."""

import pytest

from cronbridge.core.errors import JobDefinitionError, UnknownJobError
from cronbridge.core.jobs import JobRegistry, default_registry, job


def test_an_empty_explicit_registry_is_used_not_the_default():
    registry = JobRegistry()

    @job(name="only-here", schedule="rate(1 hour)", registry=registry)
    def body(ctx):
        """Does nothing."""

    assert registry.names() == ["only-here"]
    assert "only-here" not in default_registry()
    assert registry.get("only-here").description == "Does nothing."


@pytest.mark.parametrize(("settings", "field"), [
    ({"schedule": "cron(0 2 * * * *)"}, "schedule"),
    ({"schedule": "rate(5 minute)"}, "schedule"),
    ({"timeout": 901}, "timeout"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"overlap": "queue"}, "overlap"),
    ({"name": "Bad_Name"}, "name"),
])
def test_bad_settings_fail_at_definition_naming_the_field(settings, field):
    kwargs = {"name": "some-job", "schedule": "rate(1 hour)", "registry": JobRegistry(), **settings}
    with pytest.raises(JobDefinitionError) as raised:
        job(**kwargs)(lambda ctx: None)
    assert raised.value.field == field
    assert field in str(raised.value)


def test_unknown_job_lists_the_known_ones():
    registry = JobRegistry()
    job(name="known-job", schedule="rate(1 hour)", registry=registry)(lambda ctx: None)
    with pytest.raises(UnknownJobError, match="known-job"):
        registry.get("missing-job")


def test_max_receive_count_leaves_room_for_every_attempt_and_a_wait_each():
    from cronbridge.core.plan import build_plan

    registry = JobRegistry()
    job(name="many-attempts", schedule="rate(1 hour)", max_attempts=20,
        registry=registry)(lambda ctx: None)
    job(name="few-attempts", schedule="rate(1 hour)", max_attempts=2,
        registry=registry)(lambda ctx: None)
    plan = build_plan(registry)
    assert plan.job("many-attempts").max_receive_count == 44
    assert plan.job("few-attempts").max_receive_count == 10


def test_settle_seconds_is_every_attempt_at_its_longest():
    from cronbridge.core.plan import build_plan

    registry = JobRegistry()
    # Short timeout: a failure and the longest backoff (60 + 900 s) outlast the visibility
    # timeout (6 x 60 s); long timeout: a timeout kill waits out the visibility (6 x 600 s).
    job(name="short", schedule="rate(1 hour)", timeout=60, registry=registry)(lambda ctx: None)
    job(name="long", schedule="rate(1 hour)", timeout=600, max_attempts=2,
        registry=registry)(lambda ctx: None)
    plan = build_plan(registry)
    assert plan.job("short").settle_seconds == 3 * (60 + 900)
    assert plan.job("long").settle_seconds == 2 * 6 * 600
