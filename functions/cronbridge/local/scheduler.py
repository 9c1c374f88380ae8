"""Local mode's EventBridge Scheduler: fires the schedules the embedded AWS holds.

moto stores Scheduler schedules but never fires them. This reads them back (every tick under
``--serve``, so a schedule created, paused or deleted through ``cronbridge.schedules`` or the
CLI takes effect at once) and sends each due slot's target input to the target queue as
Scheduler does:

* ``<aws.scheduler.scheduled-time>`` becomes the nominal fire time, so the slot never moves;
* DST as the schedule engine evaluates it: a local time that does not exist (spring) is
  skipped, a repeated one (autumn) fires once, ``rate(n days)`` is n x 24 h;
* with a flexible window, delivery is delayed by an offset inside the window, seeded by the
  schedule and slot (same seed, same offsets);
* ``StartDate``/``EndDate`` bound the fire times; a disabled schedule's slots pass unfired
  (no catch-up); a completed one-time schedule with ``ActionAfterCompletion: DELETE`` is
  deleted.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cronbridge.adapters.scheduler import ENABLED, SchedulerSchedules
from cronbridge.core.messages import SCHEDULED_TIME
from cronbridge.core.plan import DeploymentPlan
from cronbridge.core.schedule import RateSchedule, Schedule, parse_schedule
from cronbridge.core.slots import format_slot, keyed_slot

_BATCH = 500


@dataclass(frozen=True, order=True)
class Firing:
    """One delivery to send: ``body`` to ``queue_url`` at ``deliver_at`` (aware UTC), for
    slot ``slot`` of ``job`` whose nominal time is ``nominal``."""

    deliver_at: datetime
    nominal: datetime
    job: str
    slot: str
    queue_url: str = field(compare=False)
    body: str = field(compare=False)


class LocalScheduler:
    """The schedules of the plan's schedule groups on the embedded AWS, fired on demand.

    Args:
        plan: whose groups to read (the app's and each dynamic job's).
        scheduler / sqs: boto3 clients on the embedded AWS.
        seed: seeds the flexible-window offsets.
        anchor: where a ``rate()`` schedule's grid starts when it has no ``StartDate``
            (``None``: its creation time, as on AWS).
    """

    def __init__(self, plan: DeploymentPlan, scheduler: Any, sqs: Any, *, seed: int = 0,
                 anchor: datetime | None = None) -> None:
        self.groups = sorted({j.schedule_group for j in plan.jobs if j.schedule_group})
        self.schedules = SchedulerSchedules(scheduler)
        self.sqs = sqs
        self.seed = seed
        self.anchor = anchor
        self.fired_through: dict[str, datetime] = {}  # schedule ARN -> handled up to
        self._queue_urls: dict[str, str] = {}

    def due(self, since: datetime, until: datetime) -> list[Firing]:
        """The firings with a nominal time in ``(since, until]``, sorted by delivery time.

        A schedule seen for the first time starts at ``since`` (or, with no ``anchor``, at
        its creation if later: a schedule created while serving fires from then on). The
        next call continues each schedule from ``until``.
        """
        firings: list[Firing] = []
        for group in self.groups:
            for name in list(self.schedules.names(group)):
                found = self.schedules.get(group, name)
                if found is not None:
                    firings += self._fire(found, since, until)
        return sorted(firings)

    def _fire(self, found: dict[str, Any], since: datetime, until: datetime) -> list[Firing]:
        arn = found["Arn"]
        start = self.fired_through.get(arn)
        if start is None:
            created = _aware(found.get("CreationDate"))
            start = since if self.anchor is not None or created is None else max(
                since, created - timedelta(microseconds=1))
        self.fired_through[arn] = max(start, until)
        if found["State"] != ENABLED:
            return []
        schedule = self._schedule(found)
        begin, end = _aware(found.get("StartDate")), _aware(found.get("EndDate"))
        target = found["Target"]
        body = json.loads(target["Input"])
        window = found.get("FlexibleTimeWindow", {}).get("MaximumWindowInMinutes")
        firings = []
        for nominal in _between(schedule, start, until):
            if (begin and nominal < begin) or (end and nominal > end):
                continue
            offset = 0
            if window and found["FlexibleTimeWindow"].get("Mode") == "FLEXIBLE":
                offset = random.Random(f"{self.seed}:{arn}:{nominal.isoformat()}").randrange(
                    window * 60)
            stamp = nominal.strftime("%Y-%m-%dT%H:%M:%SZ")
            firings.append(Firing(
                nominal + timedelta(seconds=offset), nominal, body["job"],
                keyed_slot(format_slot(nominal), body.get("key")), self._queue_url(target["Arn"]),
                target["Input"].replace(SCHEDULED_TIME, stamp)))
        if (firings and schedule.kind == "at"
                and found.get("ActionAfterCompletion") == "DELETE"):
            self.schedules.client.delete_schedule(GroupName=found["GroupName"],
                                                  Name=found["Name"])
        return firings

    def _schedule(self, found: dict[str, Any]) -> Schedule:
        zone = found.get("ScheduleExpressionTimezone")
        schedule = parse_schedule(found["ScheduleExpression"], scheduler=True,
                                  timezone=None if zone in (None, "UTC") else zone)
        if isinstance(schedule, RateSchedule):
            anchor = (_aware(found.get("StartDate")) or self.anchor
                      or _aware(found.get("CreationDate")))
            if anchor is not None:
                schedule = schedule.anchored(anchor)
        return schedule

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            self._queue_urls[arn] = self.sqs.get_queue_url(
                QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        return self._queue_urls[arn]


def _between(schedule: Schedule, since: datetime, until: datetime) -> list[datetime]:
    out: list[datetime] = []
    after = since
    while True:
        batch = schedule.next_fire_times(after, _BATCH)
        out += [t for t in batch if t <= until]
        if len(batch) < _BATCH or batch[-1] > until:
            return out
        after = batch[-1]


def _aware(value: Any) -> datetime | None:
    """A Scheduler date (boto3 gives aware datetimes; moto may give epoch seconds)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
