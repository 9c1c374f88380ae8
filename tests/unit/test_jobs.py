"""The @job decorator and the registry."""

import pytest

from cronbridge.core.errors import JobDefinitionError, UnknownJobError
from cronbridge.core.jobs import JobRegistry, JobSpec, default_registry, job


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


def test_a_duplicate_job_name_says_where_the_other_job_is_defined():
    registry = JobRegistry()

    @job(name="nightly", schedule="rate(1 hour)", registry=registry)
    def first(ctx):
        """The first."""

    def second(ctx):
        """The second."""

    with pytest.raises(JobDefinitionError) as raised:
        job(name="nightly", schedule="rate(2 hours)", registry=registry)(second)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("job 'nightly': name is already used by ")
    assert f"{__name__}:test_a_duplicate_job_name_says_where_the_other_job_is_defined." \
           f"<locals>.first ({__file__}:{first.__code__.co_firstlineno})" in message
    assert f"this one is {__name__}:" in message and ".<locals>.second (" in message
    assert registry.get("nightly").func is first


def test_registering_the_same_function_twice_is_not_a_duplicate():
    registry = JobRegistry()

    def body(ctx):
        """Does nothing."""

    spec = job(name="nightly", schedule="rate(1 hour)", registry=registry)(body).cronbridge_job
    assert registry.add(spec) is spec


@pytest.mark.parametrize(("setting", "suggestion"), [
    ("max_attempt", "max_attempts"),
    ("timeout_seconds", "timeout"),
    ("overlap_policy", "overlap"),
    ("permanant", "permanent"),
    ("starting_deadline", "starting_deadline_seconds"),
])
def test_a_misspelled_setting_names_the_job_and_the_right_setting(setting, suggestion):
    with pytest.raises(JobDefinitionError) as raised:
        job(name="nightly", schedule="rate(1 hour)", registry=JobRegistry(), **{setting: 3})
    assert str(raised.value) == (f"job 'nightly': setting {setting!r} is not a @job setting; "
                                 f"did you mean {suggestion!r}?")


def test_an_unknown_setting_with_no_near_match_lists_the_settings():
    with pytest.raises(JobDefinitionError, match=r"^job 'nightly': setting 'colour' is not a "
                                                 r"@job setting; the settings are name, "
                                                 r"schedule, .*max_attempts.*timezone$"):
        job(name="nightly", schedule="rate(1 hour)", colour="red")


def _no_args():
    return None


def _two_args(ctx, other):
    return None


def _keyword_only(*, ctx):
    return None


@pytest.mark.parametrize(("func", "signature", "why"), [
    (_no_args, "()", "too many positional arguments"),
    (_two_args, "(ctx, other)", "missing a required argument: 'other'"),
    (_keyword_only, "(*, ctx)", "too many positional arguments"),
])
def test_a_function_that_cannot_take_the_context_fails_at_definition(func, signature, why):
    with pytest.raises(JobDefinitionError) as raised:
        job(name="nightly", schedule="rate(1 hour)", registry=JobRegistry())(func)
    line = func.__code__.co_firstlineno
    assert str(raised.value) == (
        f"job 'nightly': func {__name__}:{func.__name__} ({__file__}:{line}) must take the job "
        f"context as its one argument, but its signature is {signature}: {why}")


@pytest.mark.parametrize("func", [
    lambda ctx: None, lambda ctx, extra=1: None, lambda *args: None, lambda ctx, **kw: None,
    print,  # a builtin
])
def test_functions_that_can_take_the_context_are_accepted(func):
    assert JobSpec(name="nightly", schedule="rate(1 hour)", func=func).func is func
