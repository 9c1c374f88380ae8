"""Physical names the stack derives beyond the deployment plan, and their AWS limits.

Alarm and dashboard names are deterministic so a dashboard can show alarms that live in
another nested stack without a cross-stack reference (each would cost a parameter and an
output, both capped at 200 per stack).
"""

from __future__ import annotations

import re

from cronbridge.core.errors import PlanError
from cronbridge.core.plan import ALARM_KINDS, MISSED_SLOT, DeploymentPlan, alarm_name

__all__ = ["ALARM_KINDS", "MISSED_SLOT", "alarm_name", "check_names", "dashboard_name"]

# (pattern, max length) of the names only the stack creates; the plan checks the rest.
_LIMITS: dict[str, tuple[re.Pattern[str], int]] = {
    "alarm": (re.compile(r"^[\x20-\x7e]+$"), 255),
    "dashboard": (re.compile(r"^[A-Za-z0-9_-]+$"), 255),
}


def dashboard_name(app: str, index: int, count: int) -> str:
    """``app`` when the app has one dashboard, else ``app-01``, ``app-02``, ... (1-based)."""
    return app if count == 1 else f"{app}-{index:02d}"


def check_names(plan: DeploymentPlan, dashboards: int) -> None:
    """Check the alarm and dashboard names (the plan checks its own names) against their AWS
    pattern and length.

    Raises:
        PlanError: naming the resource, the name and the limit it breaks.
    """
    names: list[tuple[str, str]] = [("dashboard", dashboard_name(plan.app, i, dashboards))
                                    for i in range(1, dashboards + 1)]
    for job in plan.jobs:
        names += [("alarm", alarm_name(plan.app, job.job, kind)) for kind in ALARM_KINDS]
    for kind, name in names:
        pattern, limit = _LIMITS[kind]
        if len(name) > limit or not pattern.match(name):
            raise PlanError(f"{kind} name {name!r} breaks AWS's limit of {limit} characters "
                            f"matching {pattern.pattern}: shorten the app name {plan.app!r} "
                            "or the job name")
