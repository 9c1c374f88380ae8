"""The ``@local_resources`` hook: registration, which hooks a project's modules own, errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cronbridge import local_resources
from cronbridge.local_resources import LocalResourcesError, hooks_in, run_local_resources

START = datetime(2026, 11, 30, tzinfo=timezone.utc)
END = START + timedelta(hours=2)


def hook_in(module_name: str, body=None):
    """A hook defined (as far as ``__module__`` says) in ``module_name``."""
    calls: list[tuple[datetime, datetime]] = []

    def create(start, end):
        calls.append((start, end))
        if body:
            body()

    create.__module__ = module_name
    return local_resources(create), calls


def test_a_project_runs_only_the_hooks_of_its_own_modules():
    mine, my_calls = hook_in("shop.jobs.local")
    theirs, their_calls = hook_in("other.jobs")
    assert hooks_in(["shop.jobs"]) == [mine]
    run_local_resources(["shop.jobs"], START, END)
    assert my_calls == [(START, END)] and their_calls == []


def test_registering_twice_calls_once():
    hook, calls = hook_in("twice.jobs")
    local_resources(hook)
    run_local_resources(["twice.jobs"], START, END)
    assert calls == [(START, END)]


def test_a_hook_that_cannot_take_start_and_end_fails_at_definition():
    with pytest.raises(LocalResourcesError, match=r"hook .*setup must accept \(start, end\)"):
        @local_resources
        def setup():
            pass


def test_a_failing_hook_is_named_with_its_error():
    def boom():
        raise RuntimeError("table quota")

    hook_in("broken.jobs", boom)
    with pytest.raises(LocalResourcesError,
                       match=r"hook broken\.jobs\..*create failed: RuntimeError: table quota"):
        run_local_resources(["broken.jobs"], START, END)


def test_the_demo_creates_its_resources_with_the_public_hook():
    import cronbridge_examples
    from cronbridge_examples.customer_digest import create_schedules
    from cronbridge_examples.seed import seed_demo

    # The customers' digest schedules, then the data (modules in import order).
    assert hooks_in(["cronbridge_examples"]) == [create_schedules, seed_demo]
    assert not hasattr(cronbridge_examples, "local_setup")
