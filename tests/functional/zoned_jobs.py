"""Jobs on EventBridge Scheduler for the local-mode tests. Each test builds a registry of
just the jobs it needs (:func:`registry`), so no other test's plan ever sees them. ``RAN``
records every slot each job body ran."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cronbridge.core.jobs import JobRegistry, JobSpec

RAN: dict[str, list[str]] = defaultdict(list)


def _record(ctx: Any) -> None:
    RAN[ctx.job].append(ctx.slot)


SPECS = {name: JobSpec(name=name, schedule=expression, timezone=zone, func=_record)
         for name, expression, zone in (
             ("berlin-0230", "cron(30 2 * * ? *)", "Europe/Berlin"),
             ("berlin-hourly", "cron(0 * * * ? *)", "Europe/Berlin"),
             ("newyork-0130", "cron(30 1 * * ? *)", "America/New_York"),
             ("newyork-0230", "cron(30 2 * * ? *)", "America/New_York"))}


def registry(*names: str) -> JobRegistry:
    """A fresh registry of the named jobs (and a clean ``RAN`` for them)."""
    jobs = JobRegistry()
    for name in names:
        jobs.add(SPECS[name])
        RAN.pop(name, None)
    return jobs
