"""Random valid cron expressions checked against a deliberately naive oracle.

The oracle is written from SPEC.md alone, without sharing code with the engine: it expands
each field to a set by brute force and scans minute by minute with a ``matches(t)``
predicate that recomputes the calendar (last day, nearest weekday, n-th weekday) from
``datetime`` arithmetic every time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cronbridge.core.schedule import ScheduleExpressionError, parse_schedule

UTC = timezone.utc
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ----------------------------------------------------------------------------- oracle

@lru_cache(maxsize=None)  # only to keep the minute scan fast; the expansion stays naive
def _expand(text: str, lo: int, hi: int, names: tuple[str, ...] = ()) -> frozenset[int]:
    def num(s: str) -> int:
        return names.index(s.upper()) + lo if names and s.upper() in names else int(s)

    out: set[int] = set()
    for item in filter(None, text.split(",")):
        base, _, step = item.partition("/")
        inc = int(step) if step else 1
        if base == "*":
            a, b = lo, hi
        elif "-" in base:
            a, b = (num(x) for x in base.split("-"))
        else:
            a = num(base)
            b = hi if step else a
        v, n = a, 0
        # Walk the cycle one value at a time so wrap-around needs no arithmetic trick.
        while True:
            if n % inc == 0:
                out.add(v)
            if v == b:
                break
            v = lo if v == hi else v + 1
            n += 1
    return frozenset(out)


def _last_day(d: date) -> int:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _aws_dow(d: date) -> int:
    return d.isoweekday() % 7 + 1  # Sunday (isoweekday 7) -> 1


def _day_matches(dom: str, dow: str, d: date) -> bool:
    last = _last_day(d)
    if dow == "?":
        if dom == "L":
            return d.day == last
        if dom.startswith("L-"):
            return d.day == last - int(dom[2:])
        if dom == "LW":
            target = date(d.year, d.month, last)
            while _aws_dow(target) in (1, 7):
                target -= timedelta(days=1)
            return d == target
        if dom.endswith("W"):
            n = int(dom[:-1])
            if n > last:
                return False
            target = date(d.year, d.month, n)
            if _aws_dow(target) == 7:
                target = target + timedelta(days=2) if n == 1 else target - timedelta(days=1)
            elif _aws_dow(target) == 1:
                target = target - timedelta(days=2) if n == last else target + timedelta(days=1)
            return d == target
        return d.day in _expand(dom, 1, 31)
    if "#" in dow:
        day, nth = dow.split("#")
        (wanted,) = _expand(day, 1, 7, DAYS)
        same = [x for x in range(1, d.day + 1) if _aws_dow(date(d.year, d.month, x)) == wanted]
        return _aws_dow(d) == wanted and len(same) == int(nth)
    if dow == "L":
        return _aws_dow(d) == 7
    if dow.endswith("L"):
        (wanted,) = _expand(dow[:-1], 1, 7, DAYS)
        return _aws_dow(d) == wanted and d.day + 7 > last
    return _aws_dow(d) in _expand(dow, 1, 7, DAYS)


def matches(fields: list[str], t: datetime) -> bool:
    minute, hour, dom, month, dow, year = fields
    return (t.minute in _expand(minute, 0, 59) and t.hour in _expand(hour, 0, 23)
            and t.month in _expand(month, 1, 12, MONTHS)
            and t.year in _expand(year, 1970, 2199) and _day_matches(dom, dow, t.date()))


def oracle_next(fields: list[str], after: datetime, count: int, limit: datetime) -> list[datetime]:
    out: list[datetime] = []
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t <= limit and len(out) < count:
        if matches(fields, t):
            out.append(t)
        t += timedelta(minutes=1)
    return out


# ----------------------------------------------------------------------------- generators

def _plain(lo: int, hi: int, max_step: int, names: tuple[str, ...] = ()):
    value = st.integers(lo, hi)
    shown = (value.flatmap(lambda v: st.sampled_from([str(v), names[v - lo]]))
             if names else value.map(str))
    step = st.integers(1, max_step).map(str)
    item = st.one_of(
        shown,
        st.tuples(shown, shown).map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(shown, step).map(lambda a: f"{a[0]}/{a[1]}"),
        st.tuples(shown, shown, step).map(lambda a: f"{a[0]}-{a[1]}/{a[2]}"),
        step.map(lambda s: f"*/{s}"),
    )
    return st.one_of(st.just("*"), st.lists(item, min_size=1, max_size=3).map(",".join))


def _years():
    year = st.integers(2024, 2031).map(str)
    item = st.one_of(year, st.tuples(st.integers(2024, 2027), st.integers(2027, 2031))
                     .map(lambda ab: f"{ab[0]}-{ab[1]}"))
    return st.one_of(st.just("*"), st.lists(item, min_size=1, max_size=2).map(",".join))


def _dom():
    return st.one_of(
        _plain(1, 31, 31), st.just("L"), st.just("LW"),
        st.integers(1, 30).map(lambda n: f"L-{n}"), st.integers(1, 31).map(lambda n: f"{n}W"))


def _dow():
    day = st.one_of(st.integers(1, 7).map(str), st.sampled_from(DAYS))
    plain = st.lists(st.one_of(day, st.tuples(day, day).map(lambda ab: f"{ab[0]}-{ab[1]}")),
                     min_size=1, max_size=3).map(",".join)
    return st.one_of(st.just("*"), plain, st.just("L"), day.map(lambda d: f"{d}L"),
                     st.tuples(day, st.integers(1, 5)).map(lambda a: f"{a[0]}#{a[1]}"))


@st.composite
def cron_fields(draw) -> list[str]:
    minute = draw(_plain(0, 59, 59))
    hour = draw(_plain(0, 23, 23))
    month = draw(_plain(1, 12, 12, MONTHS))
    year = draw(_years())
    if draw(st.booleans()):
        dom, dow = draw(_dom()), "?"
    else:
        dom, dow = "?", draw(_dow())
    return [minute, hour, dom, month, dow, year]


# ----------------------------------------------------------------------------- properties

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=cron_fields(),
       start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 1),
                          timezones=st.just(UTC)))
def test_engine_agrees_with_naive_oracle(fields: list[str], start: datetime) -> None:
    expression = f"cron({' '.join(fields)})"
    try:
        schedule = parse_schedule(expression)
    except ScheduleExpressionError as exc:
        # The only valid-looking rejection is a date that never exists (`30 FEB`): then the
        # oracle must find no day in any selected month over a full 28-year cycle.
        assert "could never fire" in exc.reason, str(exc)
        return
    window_end = start + timedelta(days=3)
    got = [t for t in schedule.next_fire_times(start, 20) if t <= window_end]
    assert got == oracle_next(fields, start, 20, window_end), expression


@settings(max_examples=60, deadline=None)
@given(fields=cron_fields(),
       at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 1),
                       timezones=st.just(UTC)))
def test_previous_is_the_latest_fire_at_or_before(fields: list[str], at: datetime) -> None:
    try:
        schedule = parse_schedule(f"cron({' '.join(fields)})")
    except ScheduleExpressionError:
        return
    prev = schedule.previous_fire_time(at)
    if prev is None:
        first = schedule.next_fire_times(EPOCH - timedelta(minutes=1), 1)
        assert not first or first[0] > at
        return
    assert prev <= at
    assert matches(fields, prev)
    following = schedule.next_fire_times(prev, 1)
    assert not following or following[0] > at


@settings(max_examples=40, deadline=None)
@given(fields=cron_fields(),
       start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 1),
                          timezones=st.just(UTC)))
def test_fire_times_are_increasing_whole_minutes_and_matching(fields: list[str],
                                                             start: datetime) -> None:
    try:
        schedule = parse_schedule(f"cron({' '.join(fields)})")
    except ScheduleExpressionError:
        return
    times = schedule.next_fire_times(start, 30)
    assert all(a < b for a, b in zip(times, times[1:]))
    assert all(t > start and t.second == 0 and t.microsecond == 0 for t in times)
    assert all(matches(fields, t) for t in times)


@settings(max_examples=80, deadline=None)
@given(fields=cron_fields(), minute=st.integers(0, 59), hour=st.integers(0, 23),
       start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 6, 1),
                          timezones=st.just(UTC)))
def test_day_rules_agree_with_oracle_over_months(fields: list[str], minute: int, hour: int,
                                                 start: datetime) -> None:
    # One firing per day keeps a day-by-day scan exact while covering L, W, # over months.
    fields = [str(minute), str(hour), *fields[2:]]
    try:
        schedule = parse_schedule(f"cron({' '.join(fields)})")
    except ScheduleExpressionError as exc:
        assert "could never fire" in exc.reason, str(exc)
        return
    end = start + timedelta(days=190)
    expected = []
    day = start.replace(hour=hour, minute=minute, second=0, microsecond=0)
    while day <= end and len(expected) < 8:
        if day > start and matches(fields, day):
            expected.append(day)
        day += timedelta(days=1)
    got = [t for t in schedule.next_fire_times(start, 8) if t <= end]
    assert got == expected
