"""Synthetic jobs for scale tests: ``synthetic-0001`` ... each ``rate(1 hour)``, doing nothing.

The CDK app registers them from ``-c cronbridge:synthetic_jobs=N`` and sets
``CRONBRIDGE_SYNTHETIC_JOBS=N`` on the functions, so the worker, which imports this module
as a job module, registers the same jobs at cold start and can run them.
"""

from __future__ import annotations

import os

from cronbridge.core.context import JobContext
from cronbridge.core.jobs import JobRegistry, JobSpec, default_registry

ENV_SYNTHETIC_JOBS = "CRONBRIDGE_SYNTHETIC_JOBS"
SCHEDULE = "rate(1 hour)"


def synthetic_name(index: int) -> str:
    """The name of synthetic job ``index`` (1-based): ``synthetic-0001``."""
    return f"synthetic-{index:04d}"


def register(count: int, registry: JobRegistry | None = None) -> list[str]:
    """Register synthetic jobs 1..``count`` (idempotent) and return their names."""
    target = registry if registry is not None else default_registry()
    names = [synthetic_name(i) for i in range(1, count + 1)]
    for name in names:
        if name not in target:
            target.add(JobSpec(name=name, schedule=SCHEDULE, func=_noop,
                               description="synthetic scale-test job"))
    return names


def _noop(ctx: JobContext) -> None:
    ctx.logger.info("synthetic job ran")


register(int(os.environ.get(ENV_SYNTHETIC_JOBS) or 0))
