"""Plain-language descriptions of EventBridge schedule expressions.

``cron()`` text comes from cron-descriptor (a pure-Python, non-AWS library), fed a Quartz
form of the expression with 1-based day-of-week numbering, which is AWS's (SUN=1 ... SAT=7,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
cron-descriptor's Unix default (0 = Sunday) would name every day one off.
"""

from __future__ import annotations

import re

from cron_descriptor import ExpressionDescriptor, FormatException, Options

from cronbridge.core.schedule import (AtSchedule, CronSchedule, RateSchedule, Schedule,
                                      parse_schedule)

__all__ = ["describe_schedule"]

_TIME = re.compile(r"\b([01][0-9]|2[0-3]):[0-5][0-9]\b")


def describe_schedule(expression: str | Schedule, *, timezone: str | None = None) -> str:
    """Describe a schedule, e.g. ``at 02:00 UTC, Monday through Friday``.

    Args:
        expression: a schedule expression or an already parsed :class:`Schedule`.
        timezone: an EventBridge Scheduler zone for a string expression (times are then
            local to it); ``None`` = UTC.

    Raises:
        ScheduleExpressionError: the expression is invalid.
    """
    if isinstance(expression, Schedule):
        schedule = expression
    else:
        schedule = parse_schedule(expression, timezone=timezone,
                                  scheduler=timezone is not None or expression.startswith("at("))
    zone = schedule.timezone or "UTC"
    if isinstance(schedule, RateSchedule):
        unit = schedule.unit.rstrip("s")
        return f"every {unit}" if schedule.value == 1 else f"every {schedule.value} {unit}s"
    if isinstance(schedule, AtSchedule):
        return f"once at {schedule.local:%Y-%m-%d %H:%M:%S} {zone}"
    assert isinstance(schedule, CronSchedule)
    return _describe_cron(schedule.expression, zone)


def _describe_cron(expression: str, zone: str) -> str:
    fields = [_normalise(f) for f in expression[len("cron("):-1].split(" ")]
    fields[5] = ",".join(_close_year_step(i) for i in fields[5].split(","))
    if fields[4] == "L":  # bare L is Saturday; cron-descriptor does not accept it alone
        fields[4] = "7"
    options = Options()
    options.use_24hour_time_format = True
    options.day_of_week_start_index_zero = False
    options.verbose = False
    try:
        text = ExpressionDescriptor("0 " + " ".join(fields), options).get_description()
    except (FormatException, ValueError, IndexError, KeyError):
        # cron-descriptor gives up on some valid combinations; the fields still say it all.
        names = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
        text = "; ".join(f"{n} {v}" for n, v in zip(names, fields) if v not in ("*", "?"))
        return f"cron schedule ({zone}): {text or 'every minute'}"
    if _TIME.search(text):
        text = _TIME.sub(lambda m: f"{m.group(0)} {zone}", text)
    else:
        text = f"{text} ({zone})"
    return text[:1].lower() + text[1:]


def _normalise(field: str) -> str:
    """Drop empty list items (AWS accepts `0/5,`), collapse `8-8`, sort plain numeric lists."""
    items = [re.sub(r"^(\w+)-\1$", r"\1", i, flags=re.IGNORECASE) for i in field.split(",") if i]
    if all(i.isdigit() for i in items):
        items.sort(key=int)
    return ",".join(items)


def _close_year_step(item: str) -> str:
    """``2026/2`` -> ``2026-2199/2``: cron-descriptor runs an open year step to 9999."""
    start, slash, step = item.partition("/")
    if not slash or "-" in start:
        return item
    return f"{'1970' if start == '*' else start}-2199/{step}"
