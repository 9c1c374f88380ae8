"""EventBridge schedule expressions: parse, validate and evaluate ``cron()``, ``rate()``, ``at()``.

The rules are those of the AWS EventBridge User Guide, "Cron expressions reference" and "Rate
expressions reference" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html)
and, for ``at()`` and time zones, the EventBridge Scheduler User Guide, "Schedule types"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), as pinned down
in ``shared/cron/SPEC.md``. ``docs/schedules.md`` records every decision where the docs are
silent.

This is a hand-written evaluator, not a wrapper around croniter: croniter reads day-of-week 2
as Tuesday (AWS: Monday), treats ``8-8`` like ``*``, clamps ``30W`` into February and rejects
``6L``, so none of its matching can be reused. Evaluation walks the calendar month by month
over precomputed sorted value lists, so a step costs about one datetime construction and a
schedule that never fires again answers without scanning.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as _dt_timezone, tzinfo
from itertools import islice
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AtSchedule",
    "CronSchedule",
    "FireTime",
    "RateSchedule",
    "Schedule",
    "ScheduleExpressionError",
    "longest_gap",
    "parse_schedule",
]

UTC = _dt_timezone.utc
FIRST_YEAR = 1970
LAST_YEAR = 2199
# AWS documents years up to 2199; nothing fires after the last minute of that year.
HORIZON = datetime(LAST_YEAR, 12, 31, 23, 59, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # AWS numbering: SUN=1 ... SAT=7


class ScheduleExpressionError(ValueError):
    """An invalid schedule expression (or time zone).

    Attributes:
        field: ``minutes``, ``hours``, ``day-of-month``, ``month``, ``day-of-week``, ``year``,
            ``rate``, ``at``, ``expression`` (the overall shape) or ``timezone``.
        token: the offending text.
        column: 1-based column of ``token`` in the full expression string; ``None`` when the
            problem is not in the expression (``timezone``).
        reason: the rule the token breaks.

    ``str()`` reads ``day-of-week '2#6' at column 14: the occurrence after '#' must be 1-5``.
    """

    def __init__(self, field: str, token: str, column: int | None, reason: str) -> None:
        self.field = field
        self.token = token
        self.column = column
        self.reason = reason
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{field} '{token}'{where}: {reason}")

    def __reduce__(self):  # keep the attributes across pickling (multiprocessing, pytest-xdist)
        return (type(self), (self.field, self.token, self.column, self.reason))


@dataclass(frozen=True)
class FireTime:
    """One entry of :meth:`Schedule.preview`.

    Attributes:
        utc: the aware UTC instant it fires; ``None`` for a ``skipped`` entry.
        local: the wall-clock time in the schedule's zone (naive; equals ``utc`` for UTC).
        status: ``fires``; ``ambiguous`` (an autumn repeated local time: fires once, at the
            first occurrence); ``skipped`` (a spring-forward local time that does not exist:
            does not fire).
        note: a one-line explanation for ``ambiguous`` and ``skipped``, else ``None``.
    """

    utc: datetime | None
    local: datetime
    status: Literal["fires", "ambiguous", "skipped"] = "fires"
    note: str | None = None


class Schedule:
    """A parsed schedule expression. Build one with :func:`parse_schedule`.

    Attributes:
        expression: the original string, byte for byte.
        kind: ``cron``, ``rate`` or ``at``.
        timezone: the IANA zone name (EventBridge Scheduler only), ``None`` for UTC.
    """

    kind: str

    def __init__(self, expression: str, zone: ZoneInfo | None) -> None:
        self.expression = expression
        self._zone = zone
        self.timezone: str | None = zone.key if zone is not None else None

    def next_fire_times(self, after: datetime, count: int) -> list[datetime]:
        """The next ``count`` fire times strictly after ``after``.

        Returns aware UTC datetimes in increasing order; fewer than ``count`` when the schedule
        ends (no fire time after 2199-12-31T23:59), ``[]`` when it is exhausted.

        Raises:
            ValueError: ``after`` is naive (no time zone is guessed) or ``count`` is negative.
        """
        start = _as_utc(after, "after")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        return [ft.utc for ft in islice(self._fires_after(start), count)]  # type: ignore[misc]

    def previous_fire_time(self, at_or_before: datetime) -> datetime | None:
        """The latest fire time at or before ``at_or_before`` (aware UTC), or ``None``.

        Used to snap a delivered event's ``time`` onto the schedule's grid.

        Raises:
            ValueError: ``at_or_before`` is naive.
        """
        return self._previous(_as_utc(at_or_before, "at_or_before"))

    def preview(self, after: datetime, count: int) -> list[FireTime]:
        """Like :meth:`next_fire_times`, with the local wall time and DST notes.

        ``count`` counts firings; ``skipped`` entries (nonexistent spring-forward local times)
        are included in between and do not count.

        Raises:
            ValueError: ``after`` is naive or ``count`` is negative.
        """
        start = _as_utc(after, "after")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        out: list[FireTime] = []
        fired = 0
        if count == 0:
            return out
        for entry in self._entries_after(start):
            out.append(entry)
            if entry.utc is not None:
                fired += 1
                if fired == count:
                    break
        return out

    def _fires_after(self, after: datetime) -> Iterator[FireTime]:
        return (e for e in self._entries_after(after) if e.utc is not None)

    def _entries_after(self, after: datetime) -> Iterator[FireTime]:
        raise NotImplementedError

    def _previous(self, at_or_before: datetime) -> datetime | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        zone = f", timezone={self.timezone!r}" if self.timezone else ""
        return f"{type(self).__name__}({self.expression!r}{zone})"


# --------------------------------------------------------------------------- cron


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    max_step: int
    names: tuple[str, ...] = ()  # names[i] stands for lo + i


_MINUTES = _Field("minutes", 0, 59, 59)
_HOURS = _Field("hours", 0, 23, 23)
_DOM = _Field("day-of-month", 1, 31, 31)
_MONTH = _Field("month", 1, 12, 12, MONTH_NAMES)
_DOW = _Field("day-of-week", 1, 7, 7, DAY_NAMES)
# AWS states no maximum increment for years; the span of valid years is the only useful one.
_YEAR = _Field("year", FIRST_YEAR, LAST_YEAR, LAST_YEAR - FIRST_YEAR)
_FIELDS = (_MINUTES, _HOURS, _DOM, _MONTH, _DOW, _YEAR)
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: +1 in leap years
# `*` in a plain field: every value, built once (the year field alone has 230).
_EVERY = {f: tuple(range(f.lo, f.hi + 1)) for f in _FIELDS}
_DIGITS = re.compile(r"[0-9]+")

# A day rule maps (AWS weekday of the 1st, days in month) to the sorted matching days.
DayRule = Callable[[int, int], tuple[int, ...]]


def _aws_weekday(first: int, day: int) -> int:
    return (first + day - 2) % 7 + 1


def _days_in_set(days: tuple[int, ...]) -> DayRule:
    return lambda first, mlen: tuple(d for d in days if d <= mlen)


def _every_day(first: int, mlen: int) -> tuple[int, ...]:
    return _EVERY[_DOM][:mlen]


def _weekdays_in_set(weekdays: frozenset[int]) -> DayRule:
    def rule(first: int, mlen: int) -> tuple[int, ...]:
        # The days of the first week that match, then the same days of each later week: in
        # order, with no per-day weekday test and no sort.
        offsets = sorted((w - first) % 7 + 1 for w in weekdays)
        return tuple(d + week for week in range(0, mlen, 7) for d in offsets
                     if d + week <= mlen)
    return rule


def _last_minus(offset: int) -> DayRule:
    return lambda first, mlen: (mlen - offset,) if mlen - offset >= 1 else ()


def _last_weekday(first: int, mlen: int) -> tuple[int, ...]:
    wd = _aws_weekday(first, mlen)
    return (mlen - 1,) if wd == 7 else (mlen - 2,) if wd == 1 else (mlen,)


def _nearest_weekday(n: int) -> DayRule:
    def rule(first: int, mlen: int) -> tuple[int, ...]:
        if n > mlen:  # `31W` in April does not fire: W never leaves the month
            return ()
        wd = _aws_weekday(first, n)
        if wd == 7:  # Saturday: Friday before, unless that is the previous month
            return (3,) if n == 1 else (n - 1,)
        if wd == 1:  # Sunday: Monday after, unless that is the next month
            return (n - 2,) if n == mlen else (n + 1,)
        return (n,)
    return rule


def _last_of_weekday(weekday: int) -> DayRule:
    return lambda first, mlen: (mlen - (_aws_weekday(first, mlen) - weekday) % 7,)


def _nth_weekday(weekday: int, nth: int) -> DayRule:
    def rule(first: int, mlen: int) -> tuple[int, ...]:
        day = 1 + (weekday - first) % 7 + 7 * (nth - 1)
        return (day,) if day <= mlen else ()
    return rule


class _Token:
    __slots__ = ("text", "column")

    def __init__(self, text: str, column: int) -> None:
        self.text = text
        self.column = column


class _Parser:
    """Parses the six fields of a ``cron(...)`` body; every error names its token's column."""

    def __init__(self, expression: str, body_start: int) -> None:
        self.expression = expression
        self.body_start = body_start

    def fail(self, field: str, token: _Token, reason: str) -> ScheduleExpressionError:
        return ScheduleExpressionError(field, token.text, token.column, reason)

    def split_fields(self) -> list[_Token]:
        body = self.expression[self.body_start:-1]
        tokens: list[_Token] = []
        pos = 0
        for text in body.split(" "):
            if not text:
                # Strict reading: AWS shows single spaces only and says nothing of runs.
                raise ScheduleExpressionError(
                    "expression", body, self.body_start + 1,
                    "fields must be separated by exactly one space (no leading, trailing or "
                    "repeated spaces)")
            tokens.append(_Token(text, self.body_start + pos + 1))
            pos += len(text) + 1
        if len(tokens) != 6:
            hint = {
                5: "; a 5-field Unix expression has no year: add one, or run "
                   "`cronbridge convert`",
                7: "; EventBridge has no seconds field: run `cronbridge convert` to drop it",
            }.get(len(tokens), "")
            raise ScheduleExpressionError(
                "expression", body, self.body_start + 1,
                f"expected 6 fields (minutes hours day-of-month month day-of-week year), "
                f"got {len(tokens)}{hint}")
        return tokens

    @staticmethod
    def items(token: _Token) -> list[_Token]:
        out: list[_Token] = []
        pos = 0
        for text in token.text.split(","):
            if text:  # empty list items are dropped, as AWS does (`0/5,`)
                out.append(_Token(text, token.column + pos))
            pos += len(text) + 1
        return out

    def value(self, f: _Field, text: str, item: _Token) -> int:
        if text.isascii() and text.isdigit():  # as _DIGITS, without the regex
            v = int(text)
        elif f.names and text.upper() in f.names:
            return f.lo + f.names.index(text.upper())
        else:
            names = f" or {f.names[0]}-{f.names[-1]}" if f.names else ""
            raise self.fail(f.name, item, f"expected a number {f.lo}-{f.hi}{names}, got '{text}'")
        if not f.lo <= v <= f.hi:
            hint = ""
            if f is _DOW and v == 0:
                hint = " (SUN=1 ... SAT=7); 0 is Unix Sunday: write 1 or SUN"
            elif f is _DOW:
                hint = " (SUN=1 ... SAT=7)"
            raise self.fail(f.name, item, f"value must be {f.lo}-{f.hi}{hint}")
        return v

    def values(self, f: _Field, item: _Token) -> range | set[int]:
        """Values of one list item: ``*``, ``v``, ``a-b``, ``*/n``, ``v/n`` or ``a-b/n``
        (ascending when a ``range``)."""
        text = item.text
        step: int | None = None
        if "/" in text:
            if f is _DOW:
                # Strict reading: AWS lists `/` for every field except day-of-week.
                raise self.fail(f.name, item, "'/' is not allowed in day-of-week (AWS allows "
                                              "only , - * ? L # there); list the days instead")
            text, step_text = text.split("/", 1)
            if not _DIGITS.fullmatch(step_text):
                raise self.fail(f.name, item, "the increment after '/' must be a whole number")
            step = int(step_text)
            if not 1 <= step <= f.max_step:
                raise self.fail(f.name, item, f"the increment must be 1-{f.max_step}")
            if not text:
                raise self.fail(f.name, item, "'/' needs a start value or '*' before it")
        if text == "*":
            start, end = f.lo, f.hi
        elif text.startswith("-"):
            raise self.fail(f.name, item,
                            f"negative values are not allowed; values must be {f.lo}-{f.hi}")
        elif "-" in text:
            a, b = text.split("-", 1)
            if not b:
                raise self.fail(f.name, item, "a range needs an end value after '-'")
            start, end = self.value(f, a, item), self.value(f, b, item)
            if start > end and f is _YEAR:
                raise self.fail(f.name, item, f"year ranges cannot wrap around: {start} is "
                                              f"after {end}")
        else:
            start = self.value(f, text, item)
            end = f.hi if step is not None else start
        if end >= start:
            return range(start, end + 1, step or 1)
        # A wrap-around range (`20-2`, `NOV-FEB`), stepping on through the wrap.
        span = f.hi - f.lo + 1
        return {f.lo + (v - f.lo) % span for v in range(start, end + span + 1, step or 1)}

    def plain_field(self, f: _Field, token: _Token) -> tuple[int, ...]:
        text = token.text
        if text == "*":
            return _EVERY[f]
        if text.isascii() and text.isdigit() and f.lo <= int(text) <= f.hi:
            return (int(text),)  # one plain value: the other common case
        items = self.items(token)
        if not items:
            raise self.fail(f.name, token, "the field has no values")
        out: set[int] = set()
        for item in items:
            if item.text == "?":
                raise self.fail(f.name, item,
                                "'?' is only allowed in day-of-month or day-of-week")
            if item.text == "*" and len(items) > 1:
                raise self.fail(f.name, item, "'*' cannot be combined with other list items")
            values = self.values(f, item)
            if len(items) == 1 and isinstance(values, range):
                return tuple(values)  # the common case, already sorted: no set, no sort
            out.update(values)
        return tuple(sorted(out))

    def day_field(self, f: _Field, token: _Token) -> DayRule | None:
        """The field's day rule, or ``None`` for ``?``."""
        if token.text == "?":
            return None
        if token.text == "*":
            return _every_day if f is _DOM else _weekdays_in_set(frozenset(_EVERY[_DOW]))
        items = self.items(token)
        if not items:
            raise self.fail(f.name, token, "the field has no values")
        special = [i for i in items if i.text == "?" or self.is_special(f, i.text)]
        for item in special:
            if len(items) > 1:
                what = "'?'" if item.text == "?" else f"'{item.text}'"
                raise self.fail(f.name, item, f"{what} must be the only item in {f.name}")
        if special:
            item = special[0]
            return None if item.text == "?" else self.special(f, item)
        for item in items:
            if item.text == "*" and len(items) > 1:
                raise self.fail(f.name, item, "'*' cannot be combined with other list items")
            if item.text.upper().endswith("W"):  # not `in`: WED is a day name
                raise self.fail(f.name, item, "'W' is only allowed in day-of-month")
        values: set[int] = set()
        for item in items:
            values.update(self.values(f, item))
        if f is _DOM:
            return _days_in_set(tuple(sorted(values)))
        return _weekdays_in_set(frozenset(values))

    @staticmethod
    def is_special(f: _Field, text: str) -> bool:
        up = text.upper()
        return "L" in up or ("W" in up if f is _DOM else "#" in up)

    def special(self, f: _Field, item: _Token) -> DayRule:
        up = item.text.upper()
        if f is _DOM:
            if up == "L":
                return _last_minus(0)
            if up == "LW":
                return _last_weekday
            if up.startswith("L-"):
                offset = up[2:]
                if not _DIGITS.fullmatch(offset) or not 1 <= int(offset) <= 30:
                    raise self.fail(f.name, item, "the offset after 'L-' must be 1-30 "
                                                  "(write 'L' for the last day)")
                return _last_minus(int(offset))
            if up.endswith("W") and not up.startswith("L"):
                day = up[:-1]
                if not _DIGITS.fullmatch(day) or not 1 <= int(day) <= 31:
                    raise self.fail(f.name, item, "'W' needs one day 1-31 before it "
                                                  "(no lists, ranges or steps)")
                return _nearest_weekday(int(day))
            raise self.fail(f.name, item, "'L' must be 'L', 'L-n' or 'LW' in day-of-month")
        if "#" in up:
            day, _, nth = up.partition("#")
            weekday = self.value(f, day, item)
            if not _DIGITS.fullmatch(nth) or not 1 <= int(nth) <= 5:
                raise self.fail(f.name, item, "the occurrence after '#' must be 1-5")
            return _nth_weekday(weekday, int(nth))
        if up == "L":  # bare L is the last day of the week: every Saturday
            return _weekdays_in_set(frozenset({7}))
        if not up.endswith("L") or "-" in up or "/" in up:
            raise self.fail(f.name, item, "'L' must be 'L' (Saturday) or 'nL' (the last "
                                          "weekday n of the month) in day-of-week")
        return _last_of_weekday(self.value(f, up[:-1], item))

    def parse(self) -> tuple[tuple[int, ...], tuple[int, ...], DayRule, tuple[int, ...],
                             tuple[int, ...]]:
        minute_t, hour_t, dom_t, month_t, dow_t, year_t = self.split_fields()
        minutes = self.plain_field(_MINUTES, minute_t)
        hours = self.plain_field(_HOURS, hour_t)
        dom = self.day_field(_DOM, dom_t)
        months = self.plain_field(_MONTH, month_t)
        dow = self.day_field(_DOW, dow_t)
        years = self.plain_field(_YEAR, year_t)
        if (dom is None) == (dow is None):
            got = "both are '?'" if dom is None else "neither is '?'"
            raise self.fail(_DOW.name, dow_t,
                            f"exactly one of day-of-month and day-of-week must be '?' ({got}); "
                            f"the other field is the day rule")
        rule = dom if dom is not None else dow
        assert rule is not None
        # Every month has every weekday and a first day: only a day-of-month rule or a
        # special day-of-week (L, #) can name a day that never comes.
        if dom is not None and rule is not _every_day:
            self.check_possible(rule, months, dom_t, _DOM)
        elif dom is None and self.is_special(_DOW, dow_t.text):
            self.check_possible(rule, months, dow_t, _DOW)
        return minutes, hours, rule, months, years

    def check_possible(self, rule: DayRule, months: tuple[int, ...], token: _Token,
                       f: _Field) -> None:
        # Strict reading: AWS is silent on dates that can never occur (`30 2`); a schedule
        # that can never run is almost certainly a mistake, so it is rejected here.
        for month in months:
            lengths = (28, 29) if month == 2 else (30,) if month in (4, 6, 9, 11) else (31,)
            if any(rule(first, mlen) for first in range(1, 8) for mlen in lengths):
                return
        names = ", ".join(MONTH_NAMES[m - 1] for m in months)
        raise self.fail(f.name, token, f"no such day in {names}: the schedule could never fire "
                                       f"(cronbridge rejects impossible dates)")


class CronSchedule(Schedule):
    """A ``cron(minutes hours day-of-month month day-of-week year)`` schedule.

    Fire times are whole minutes. With a Scheduler time zone they are computed on the zone's
    wall clock: a nonexistent spring-forward time is skipped, a repeated autumn time fires
    once, at its first occurrence.
    """

    kind = "cron"

    def __init__(self, expression: str, zone: ZoneInfo | None) -> None:
        super().__init__(expression, zone)
        self._minutes, self._hours, self._rule, self._months, self._years = _Parser(
            expression, len("cron(")).parse()
        self._by_shape: dict[tuple[int, int], tuple[int, ...]] = {}
        self._by_month: dict[tuple[int, int], tuple[int, ...]] = {}

    def _days(self, year: int, month: int) -> tuple[int, ...]:
        days = self._by_month.get((year, month))
        if days is None:
            mlen = _MONTH_DAYS[month] + (month == 2 and calendar.isleap(year))
            shape = (date(year, month, 1).weekday() + 1) % 7 + 1, mlen
            days = self._by_shape.get(shape)
            if days is None:
                days = self._by_shape[shape] = self._rule(*shape)
            self._by_month[(year, month)] = days
        return days

    def _forward(self, start: datetime, tz: tzinfo | None) -> Iterator[datetime]:
        """Matching wall times >= ``start`` (naive, whole minute), built with ``tz``."""
        years, months, hours, minutes = self._years, self._months, self._hours, self._minutes
        sy, sm, sd, sh, smin = start.year, start.month, start.day, start.hour, start.minute
        for y in years[bisect_left(years, sy):]:
            for m in (months[bisect_left(months, sm):] if y == sy else months):
                days = self._days(y, m)
                first_month = y == sy and m == sm
                if first_month:
                    days = days[bisect_left(days, sd):]
                for d in days:
                    if first_month and d == sd:
                        for h in hours[bisect_left(hours, sh):]:
                            for mi in (minutes[bisect_left(minutes, smin):] if h == sh
                                       else minutes):
                                yield datetime(y, m, d, h, mi, 0, 0, tz)
                    else:
                        for h in hours:
                            for mi in minutes:
                                yield datetime(y, m, d, h, mi, 0, 0, tz)

    def _backward(self, start: datetime, tz: tzinfo | None) -> Iterator[datetime]:
        """Matching wall times <= ``start`` (naive, whole minute), latest first."""
        years, months, hours, minutes = self._years, self._months, self._hours, self._minutes
        sy, sm, sd, sh, smin = start.year, start.month, start.day, start.hour, start.minute
        for y in reversed(years[:bisect_right(years, sy)]):
            for m in reversed(months[:bisect_right(months, sm)] if y == sy else months):
                days = self._days(y, m)
                first_month = y == sy and m == sm
                if first_month:
                    days = days[:bisect_right(days, sd)]
                for d in reversed(days):
                    if first_month and d == sd:
                        for h in reversed(hours[:bisect_right(hours, sh)]):
                            for mi in reversed(minutes[:bisect_right(minutes, smin)]
                                               if h == sh else minutes):
                                yield datetime(y, m, d, h, mi, 0, 0, tz)
                    else:
                        for h in reversed(hours):
                            for mi in reversed(minutes):
                                yield datetime(y, m, d, h, mi, 0, 0, tz)

    def next_fire_times(self, after: datetime, count: int) -> list[datetime]:
        if self._zone is not None:
            return super().next_fire_times(after, count)
        start = _as_utc(after, "after")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if start >= HORIZON:
            return []
        first = start.replace(second=0, microsecond=0, tzinfo=None) + _MINUTE
        return list(islice(self._forward(first, UTC), count))

    def _entries_after(self, after: datetime) -> Iterator[FireTime]:
        zone = self._zone
        if zone is None:
            if after >= HORIZON:
                return
            first = after.replace(second=0, microsecond=0, tzinfo=None) + _MINUTE
            for t in self._forward(first, UTC):
                yield FireTime(t, t.replace(tzinfo=None))
            return
        # Local wall time is monotonic in UTC once repeated times take their first occurrence,
        # so everything before the first candidate later than `after` is a short prefix.
        if after > HORIZON + timedelta(days=2):  # past the last local minute of any zone
            return
        wall = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0, fold=0)
        for local in self._forward(wall, zone):
            entry = _classify(local, zone)
            if entry.utc is None or entry.utc > after:
                yield entry

    def _previous(self, at_or_before: datetime) -> datetime | None:
        zone = self._zone
        if zone is None:
            start = at_or_before.replace(second=0, microsecond=0, tzinfo=None)
            return next(self._backward(start, UTC), None)
        local = at_or_before.astimezone(zone)
        wall = local.replace(tzinfo=None, second=0, microsecond=0, fold=0)
        if local.fold:
            # In the second pass of a repeated hour, later wall times of the first pass are
            # still earlier instants: start from the end of the repeated span.
            wall += local.replace(fold=0).utcoffset() - local.utcoffset()  # type: ignore[operator]
        for candidate in self._backward(wall, zone):
            entry = _classify(candidate, zone)
            if entry.utc is not None and entry.utc <= at_or_before:
                return entry.utc
        return None


def _classify(local: datetime, zone: ZoneInfo) -> FireTime:
    """The firing of an aware wall time (fold=0) in ``zone``: fires, ambiguous or skipped."""
    utc = local.astimezone(UTC)
    wall = local.replace(tzinfo=None)
    if utc.astimezone(zone).replace(tzinfo=None) != wall:
        return FireTime(None, wall, "skipped",
                        f"skipped: {wall:%Y-%m-%d %H:%M} does not exist in {zone.key} "
                        f"(clocks spring forward)")
    if local.replace(fold=1).utcoffset() != local.utcoffset():
        return FireTime(utc, wall, "ambiguous",
                        f"ambiguous: {wall:%Y-%m-%d %H:%M} occurs twice in {zone.key} "
                        f"(clocks fall back); fires once, at the first occurrence")
    return FireTime(utc, wall)


# --------------------------------------------------------------------------- rate

_RATE_BODY = re.compile(r"([0-9]+) ([A-Za-z]+)")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
               "day": timedelta(days=1)}


class RateSchedule(Schedule):
    """A ``rate(value unit)`` schedule: fire times are ``anchor + k * interval`` for k >= 0.

    A rule's rate has no calendar anchor on AWS: it starts counting when the rule is created.
    Locally it is anchored at provisioning time (:meth:`anchored`); the default anchor is
    1970-01-01T00:00Z, so when the true anchor is unknown snap a delivered event's time to the
    minute rather than to this grid. ``rate(n days)`` is n x 24 h, regardless of DST.

    Attributes:
        value: the positive integer.
        unit: ``minute(s)``, ``hour(s)`` or ``day(s)``, as written.
        interval: ``value`` units as a timedelta.
        anchor: aware UTC datetime, whole minute.
    """

    kind = "rate"

    def __init__(self, expression: str, zone: ZoneInfo | None,
                 anchor: datetime = EPOCH) -> None:
        super().__init__(expression, zone)
        self.value, self.unit, self.interval = _parse_rate(expression)
        self.anchor = anchor

    def anchored(self, at: datetime) -> RateSchedule:
        """A copy whose grid starts at ``at`` floored to the minute.

        Raises:
            ValueError: ``at`` is naive.
        """
        anchor = _as_utc(at, "at").replace(second=0, microsecond=0)
        return RateSchedule(self.expression, self._zone, anchor)

    def _entries_after(self, after: datetime) -> Iterator[FireTime]:
        k = max(0, (after - self.anchor) // self.interval + 1)
        t = self.anchor + k * self.interval
        while t <= HORIZON:
            yield FireTime(t, t.replace(tzinfo=None))
            t += self.interval

    def _previous(self, at_or_before: datetime) -> datetime | None:
        if at_or_before < self.anchor:
            return None
        t = self.anchor + (at_or_before - self.anchor) // self.interval * self.interval
        return t if t <= HORIZON else None

    def __repr__(self) -> str:
        return f"RateSchedule({self.expression!r}, anchor={self.anchor.isoformat()})"


def _parse_rate(expression: str) -> tuple[int, str, timedelta]:
    body_start = len("rate(")
    body = expression[body_start:-1]

    def fail(token: str, offset: int, reason: str) -> ScheduleExpressionError:
        return ScheduleExpressionError("rate", token, body_start + offset + 1, reason)

    if body != body.strip() or "  " in body:
        raise fail(body, 0, "write rate(<value> <unit>) with exactly one space and no spaces "
                            "inside the parentheses")
    match = _RATE_BODY.fullmatch(body)
    if match is None:
        raise fail(body, 0, "expected rate(<positive integer> <unit>), unit minute(s), hour(s) "
                            "or day(s)")
    value_text, unit = match.groups()
    unit_col = len(value_text) + 1
    value = int(value_text)
    if value == 0 or value_text.startswith("0"):
        raise fail(value_text, 0, "the value must be a positive integer without leading zeros")
    lower = unit.lower()
    singular = lower[:-1] if lower.endswith("s") else lower
    if singular in _RATE_UNITS and unit != lower:
        raise fail(unit, unit_col, "units are lower-case: minute(s), hour(s), day(s)")
    if singular not in _RATE_UNITS:
        raise fail(unit, unit_col, "the unit must be minute(s), hour(s) or day(s)")
    if value == 1 and unit != singular:
        raise fail(unit, unit_col, f"a value of 1 takes the singular unit '{singular}'")
    if value > 1 and unit == singular:
        raise fail(unit, unit_col, f"a value above 1 takes the plural unit '{singular}s'")
    try:
        interval = value * _RATE_UNITS[singular]
    except OverflowError:
        raise fail(value_text, 0, "the value is too large") from None
    return value, unit, interval


# --------------------------------------------------------------------------- at

_AT_BODY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})")


class AtSchedule(Schedule):
    """An EventBridge Scheduler one-time ``at(yyyy-mm-ddThh:mm:ss)`` schedule.

    The time is wall time in the schedule's zone (UTC by default). A time that does not exist
    there (spring forward) never fires; a repeated one fires at its first occurrence.

    Attributes:
        local: the naive wall time written in the expression.
        fire_time: the aware UTC instant, or ``None`` when the wall time does not exist.
    """

    kind = "at"

    def __init__(self, expression: str, zone: ZoneInfo | None) -> None:
        super().__init__(expression, zone)
        self.local = _parse_at(expression)
        self._entry = (_classify(self.local.replace(tzinfo=zone), zone) if zone is not None
                       else FireTime(self.local.replace(tzinfo=UTC), self.local))
        self.fire_time = self._entry.utc

    def _entries_after(self, after: datetime) -> Iterator[FireTime]:
        if self._entry.utc is None or self._entry.utc > after:
            yield self._entry

    def _previous(self, at_or_before: datetime) -> datetime | None:
        t = self.fire_time
        return t if t is not None and t <= at_or_before else None


def _parse_at(expression: str) -> datetime:
    body_start = len("at(")
    body = expression[body_start:-1]
    col = body_start + 1
    match = _AT_BODY.fullmatch(body)
    if match is None:
        if body.endswith("Z") or re.search(r"[+-][0-9]{2}:?[0-9]{2}$", body):
            reason = ("no time-zone suffix is allowed: the time is in the schedule's time zone "
                      "(ScheduleExpressionTimezone)")
        else:
            reason = "expected at(yyyy-mm-ddThh:mm:ss), date and time"
        raise ScheduleExpressionError("at", body, col, reason)
    try:
        return datetime(*(int(g) for g in match.groups()))  # type: ignore[misc]
    except ValueError as exc:
        raise ScheduleExpressionError("at", body, col,
                                      f"not a real date and time ({exc})") from None


# --------------------------------------------------------------------------- gaps

# Fire times longest_gap() looks at by default: an hourly schedule's whole year (8,784 in a
# leap year) and about a week of a minutely one, in a few milliseconds.
LONGEST_GAP_MAX_FIRES = 10_000


def longest_gap(schedule: Schedule, after: datetime, horizon: timedelta, *,
                max_fires: int = LONGEST_GAP_MAX_FIRES) -> timedelta | None:
    """The longest stretch without a fire time from ``after`` over ``horizon``.

    That is the longest interval between consecutive fire times in ``(after, after +
    horizon]``, counting ``after`` itself as the start of the first one and including the
    interval that closes with the first fire time past the horizon. A ``rate()`` schedule
    answers its interval without scanning (AWS anchors its grid when the rule is created).
    A schedule firing more than ``max_fires`` times in the horizon is scanned only that far
    (its first ``max_fires + 1`` fire times).

    Returns ``None`` when the schedule stops firing before ``after + horizon`` (it never fires
    again, or its years run out): the stretch after its last fire time never ends.

    Raises:
        ValueError: ``after`` is naive, or ``horizon`` or ``max_fires`` is not positive.
    """
    start = _as_utc(after, "after")
    if horizon <= timedelta(0) or max_fires < 1:
        raise ValueError(f"horizon and max_fires must be positive, got {horizon} and {max_fires}")
    if isinstance(schedule, RateSchedule):
        return schedule.interval if schedule.next_fire_times(start + horizon, 1) else None
    end = start + horizon
    longest = timedelta(0)
    previous = start
    # One list call: CronSchedule's UTC fast path is many times quicker than iterating.
    fires = schedule.next_fire_times(start, max_fires + 1)
    for fire in fires:
        longest = max(longest, fire - previous)
        if fire > end:
            return longest
        previous = fire
    # Every fire time is inside the horizon: either more than max_fires of them, or the
    # schedule ends there.
    return longest if len(fires) > max_fires else None


# --------------------------------------------------------------------------- entry point

_SHAPE = re.compile(r"(cron|rate|at)\((.*)\)", re.DOTALL)


def parse_schedule(expression: str, *, timezone: str | None = None,
                   scheduler: bool = False) -> Schedule:
    """Parse and validate an EventBridge schedule expression.

    Args:
        expression: ``cron(...)`` or ``rate(...)`` (EventBridge rules, UTC), or with
            ``scheduler=True`` also ``at(...)``.
        timezone: an IANA zone for ``cron()``/``at()`` (EventBridge Scheduler's
            ``ScheduleExpressionTimezone``); only with ``scheduler=True``. ``rate()`` ignores
            it (a day is 24 h).
        scheduler: accept EventBridge Scheduler-only forms (``at()``, ``timezone``).

    Returns a :class:`CronSchedule`, :class:`RateSchedule` or :class:`AtSchedule`.

    Raises:
        ScheduleExpressionError: the expression or zone is invalid; the message names the
            field, token, column and rule.
    """
    if not isinstance(expression, str):
        raise TypeError(f"expression must be a str, got {type(expression).__name__}")
    zone = _load_zone(timezone, scheduler)
    match = _SHAPE.fullmatch(expression)
    if match is None:
        raise _shape_error(expression, scheduler)
    kind = match.group(1)
    if kind == "cron":
        return CronSchedule(expression, zone)
    if kind == "rate":
        return RateSchedule(expression, zone)
    if not scheduler:
        raise ScheduleExpressionError(
            "expression", "at(", 1, "at() one-time schedules exist only in EventBridge "
                                    "Scheduler; rules accept cron() and rate()")
    return AtSchedule(expression, zone)


def _load_zone(timezone: str | None, scheduler: bool) -> ZoneInfo | None:
    if timezone is None:
        return None
    if not scheduler:
        raise ScheduleExpressionError(
            "timezone", timezone, None,
            "a time zone is EventBridge Scheduler-only; rules always run in UTC")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleExpressionError(
            "timezone", timezone, None,
            "not an IANA time zone name (e.g. Europe/Paris, America/New_York, UTC)") from None


def _shape_error(expression: str, scheduler: bool) -> ScheduleExpressionError:
    forms = "cron(...), rate(...) or at(...)" if scheduler else "cron(...) or rate(...)"
    stripped = expression.strip()
    if stripped != expression and _SHAPE.fullmatch(stripped):
        column = 1 if expression[:1].isspace() else len(expression.rstrip()) + 1
        return ScheduleExpressionError("expression", expression, column,
                                       "leading or trailing whitespace is not allowed")
    lowered = re.match(r"(cron|rate|at)\(", expression, re.IGNORECASE)
    if lowered and _SHAPE.fullmatch(expression[:lowered.end()].lower()
                                    + expression[lowered.end():]):
        return ScheduleExpressionError(
            "expression", lowered.group(0), 1,
            f"'{lowered.group(0)}' must be lower-case '{lowered.group(0).lower()}' (AWS "
            f"documents only lower case; cronbridge reads it strictly)")
    return ScheduleExpressionError("expression", expression, 1, f"expected {forms}")


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()}); "
                         f"cronbridge does not guess a zone")
    return value.astimezone(UTC)
