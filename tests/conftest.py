"""Fixtures for the run-semantics tests (helpers in ``run_harness.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest_plugins = ("pytester",)

from run_harness import START, MotoHarness


@pytest.fixture
def moto_clock() -> Iterator[Any]:
    """moto (DynamoDB, SQS, EventBridge) whose SQS keeps time by a simulated clock."""
    from cronbridge.local.clock import SimulatedClock
    from cronbridge.local.embedded import embedded_aws

    clock = SimulatedClock(START)
    with embedded_aws(clock):
        yield clock


@pytest.fixture
def harness(moto_clock) -> Callable[..., MotoHarness]:
    return lambda job: MotoHarness(job, moto_clock)
