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
from datetime import datetime, timedelta, timezone

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
# EventBridge's cron year field runs 1970-2199: no schedule fires outside it, and inside it
# every slot id is the same 20 characters (strftime does not pad a year before 1000, whose
# ids would neither sort nor parse back).
FIRST_YEAR, LAST_YEAR = 1970, 2199
# A manual id keys a DynamoDB item (sort key <= 1,024 bytes) and travels in an SQS message
# attribute: a short, printable ASCII id keeps both far inside their limits.
MANUAL_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")
# How far ahead of the worker's clock a scheduled event's time may be: EventBridge stamps
# the fire time and delivers after it, so a later stamp is clock skew between the two, and
# beyond this bound a stamp is not trusted (it would run a future slot now and make the
# real delivery a duplicate).
MAX_CLOCK_SKEW = timedelta(minutes=5)


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
    slot.

    Raises:
        BadMessageError: not a manual slot and not an instant in the years a schedule fires.
    """
    if slot.startswith(MANUAL_PREFIX):
        return None
    return check_slot_time(parse_time(slot.partition(KEY_SEPARATOR)[0]))


def check_slot_time(when: datetime) -> datetime:
    """``when`` itself if a schedule can fire then (years 1970-2199, UTC).

    Raises:
        BadMessageError: outside that range.
    """
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise BadMessageError(f"time {when.isoformat()} is outside the years schedules fire "
                              f"in ({FIRST_YEAR}-{LAST_YEAR})")
    return when


def check_manual_slot(slot: str) -> str:
    """``slot`` itself if it is ``manual:`` and a usable id (1-128 of ``A-Z a-z 0-9 . _ :
    @ + = -``).

    Raises:
        BadMessageError: naming what is wrong.
    """
    if not slot.startswith(MANUAL_PREFIX) or not MANUAL_ID.fullmatch(slot[len(MANUAL_PREFIX):]):
        raise BadMessageError(f"a manual slot must be {MANUAL_PREFIX!r} followed by 1-128 of "
                              f"A-Z a-z 0-9 . _ : @ + = -, got {slot[:80]!r}"
                              + ("..." if len(slot) > 80 else ""))
    return slot


def ahead_of_clock(scheduled: datetime, now: datetime) -> float:
    """Seconds a scheduled event's slot lies beyond ``now`` plus :data:`MAX_CLOCK_SKEW`
    (0 when within the bound)."""
    return max(0.0, (scheduled - now - MAX_CLOCK_SKEW).total_seconds())


def snap_to_schedule(schedule: Schedule, event_time: datetime) -> datetime:
    """The slot an event stamped ``event_time`` belongs to.

    Raises:
        BadMessageError: the schedule has no fire time at or before ``event_time``.
    """
    check_slot_time(event_time)
    minute = event_time.astimezone(timezone.utc).replace(second=0, microsecond=0)
    if schedule.kind == "rate":
        return minute
    fired = schedule.previous_fire_time(event_time)
    if fired is None:
        raise BadMessageError(f"schedule {schedule.expression} has no fire time at or before "
                              f"{format_slot(minute)}")
    return fired


def manual_slot(trigger_id: str) -> str:
    """The slot id of a manual trigger (``manual:<id>``; see :func:`check_manual_slot`)."""
    return f"{MANUAL_PREFIX}{trigger_id}"
