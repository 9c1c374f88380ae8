"""One synthesized demo app, shared by every infra test (synth is the slow part)."""

from __future__ import annotations

import pytest

# infra_support first: it puts functions/ and infra/ on sys.path when pytest's
# pythonpath setting is not in effect.
from infra_support import ALARM_EMAIL, Synthesized, synthesize  # noqa: I001
from cronbridge.cdk.asset import LambdaAsset
from cronbridge.cdk.scheduled_jobs import project_asset
from cronbridge.project import load_project
from infra_support import ROOT


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The demo jobs with an alarm topic, synthesized once with cdk-nag."""
    return synthesize(tmp_path_factory.mktemp("cdk-demo"),
                      {"cronbridge:alarm_email": ALARM_EMAIL}, nag=True)


@pytest.fixture(scope="session")
def asset() -> LambdaAsset:
    """The built Lambda asset for the demo jobs."""
    return project_asset(load_project(start=ROOT))
