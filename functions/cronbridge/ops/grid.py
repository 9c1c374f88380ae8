"""A job's fire-time grid as its rule really fires it, for listings, backfills and audits."""

from __future__ import annotations

from datetime import datetime

from cronbridge.core.jobs import JobSpec
from cronbridge.core.schedule import RateSchedule, Schedule
from cronbridge.core.slots import slot_time


def schedule_grid(spec: JobSpec, known_slot: str | None, not_after: datetime
                  ) -> Schedule | None:
    """The job's schedule with the fire times its rule has.

    A ``cron()`` schedule is returned as is. A ``rate()`` rule counts from when it was
    created, which nothing records, so its grid is anchored on ``known_slot``, a scheduled
    slot the job is known to have (a run's slot); the anchor is moved back by whole
    intervals to at or before ``not_after`` because a rate grid has no fire times before
    its anchor.

    Returns ``None`` for a ``rate()`` job without a known scheduled slot (``known_slot`` is
    ``None`` or a ``manual:`` slot).
    """
    schedule = spec.parsed_schedule
    if not isinstance(schedule, RateSchedule):
        return schedule
    anchor = slot_time(known_slot) if known_slot else None
    if anchor is None:
        return None
    if anchor > not_after:
        anchor += (not_after - anchor) // schedule.interval * schedule.interval  # floor: back
    return schedule.anchored(anchor)
