"""Slot ids: which scheduled firing a delivery stands for.

A scheduled slot's id is the schedule's latest fire time at or before the event's ``time``,
in UTC at minute precision (``2026-11-30T02:00:00Z``): EventBridge may stamp seconds and may
deliver late, so the receive time is never used. A ``rate()`` slot snaps to the minute.

A run of a dynamic (per-key) schedule has a keyed slot id, ``<time>#<key>``
(``2026-11-30T08:00:00Z#cust-42``): runs are claimed per ``(job, key, slot)``, and the time
comes first so a job's runs of every key still sort by time.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from cronbridge.core.errors import BadMessageError
from cronbridge.core.schedule import Schedule

MANUAL_PREFIX = "manual:"
SLOT_FORMAT = "%Y-%m-%dT%H:%M:00Z"
KEY_SEPARATOR = "#"
# A key names its EventBridge Scheduler schedule, so it takes the schedule name's rules
# (CreateSchedule: 1-64 of [0-9a-zA-Z-_.]); '#' can never occur in one.
KEY_PATTERN = re.compile(r"^[0-9A-Za-z._-]{1,64}$")


def check_key(key: object) -> str:
    """``key`` if it is a valid schedule key (1-64 letters, digits, ``.``, ``_``, ``-``).

    Raises:
        ValueError: naming the key and the rule.
    """
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(f"key {key!r} must be 1-64 letters, digits, '.', '_' or '-' (it "
                         "names an EventBridge Scheduler schedule)")
    return key


def keyed_slot(slot: str, key: str | None) -> str:
    """The slot id of ``slot`` for ``key`` (``slot`` itself for no key)."""
    return slot if key is None else f"{slot}{KEY_SEPARATOR}{key}"


def slot_key(slot: str) -> str | None:
    """The key of a keyed slot id, ``None`` for a job-level slot."""
    return slot.partition(KEY_SEPARATOR)[2] or None


def format_slot(when: datetime) -> str:
    """``when`` (aware) as a slot id in UTC, minute precision.

    Raises:
        ValueError: ``when`` is naive.
    """
    if when.tzinfo is None:
        raise ValueError("slot times must be timezone-aware (UTC)")
    return when.astimezone(timezone.utc).strftime(SLOT_FORMAT)


def parse_time(text: str) -> datetime:
    """An ISO-8601 instant (``Z`` or an offset) as an aware UTC datetime.

    Raises:
        BadMessageError: not an ISO-8601 instant with a time zone.
    """
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise BadMessageError(f"time {text!r} is not an ISO-8601 instant") from None
    if parsed.tzinfo is None:
        raise BadMessageError(f"time {text!r} has no time zone; EventBridge sends UTC with 'Z'")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: no such instant in UTC
        raise BadMessageError(f"time {text!r} is not an ISO-8601 instant in datetime's "
                              f"range") from None


def slot_time(slot: str) -> datetime | None:
    """The scheduled time a slot id (keyed or not) stands for, or ``None`` for a manual
    slot."""
    if slot.startswith(MANUAL_PREFIX):
        return None
    return parse_time(slot.partition(KEY_SEPARATOR)[0])


def snap_to_schedule(schedule: Schedule, event_time: datetime) -> datetime:
    """The slot an event stamped ``event_time`` belongs to.

    Raises:
        BadMessageError: the schedule has no fire time at or before ``event_time``.
    """
    minute = event_time.astimezone(timezone.utc).replace(second=0, microsecond=0)
    if schedule.kind == "rate":
        return minute
    fired = schedule.previous_fire_time(event_time)
    if fired is None:
        raise BadMessageError(f"schedule {schedule.expression} has no fire time at or before "
                              f"{format_slot(minute)}")
    return fired


def manual_slot(trigger_id: str) -> str:
    """The slot id of a manual trigger (``manual:<id>``)."""
    return f"{MANUAL_PREFIX}{trigger_id}"
