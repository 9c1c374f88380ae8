"""The schedule engine beyond the reference cases: errors, rate(), at(), time zones, speed."""

from __future__ import annotations

import pickle
import time
from datetime import datetime, timedelta, timezone

import pytest

from cronbridge.core.schedule import (AtSchedule, CronSchedule, RateSchedule,
                                      ScheduleExpressionError, longest_gap, parse_schedule)

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def error(expression: str, **kwargs) -> ScheduleExpressionError:
    with pytest.raises(ScheduleExpressionError) as info:
        parse_schedule(expression, **kwargs)
    return info.value


# ----------------------------------------------------------------------------- errors

def test_error_message_names_field_token_column_and_rule() -> None:
    err = error("cron(0 9 ? * 2#6 *)")
    assert (err.field, err.token, err.column) == ("day-of-week", "2#6", 14)
    assert err.reason == "the occurrence after '#' must be 1-5"
    assert str(err) == "day-of-week '2#6' at column 14: the occurrence after '#' must be 1-5"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("expression, field, token, column", [
    ("cron(71 8 1 * ? *)", "minutes", "71", 6),
    ("cron(0/5,71 8 1 * ? *)", "minutes", "71", 10),
    ("cron(0 8 1 * ? 2020,2200)", "year", "2200", 21),
    ("cron(0 8 1 FOO ? *)", "month", "FOO", 12),
    ("cron(0 0 ? * MON/2 *)", "day-of-week", "MON/2", 14),
    ("cron(0 0 5L * ? *)", "day-of-month", "5L", 10),
    ("cron(0 0 1-5W * ? *)", "day-of-month", "1-5W", 10),
    ("cron(0 0 15W,20 * ? *)", "day-of-month", "15W", 10),
    ("cron(0 0 L-0 * ? *)", "day-of-month", "L-0", 10),
    ("cron(0 0 ? * 8 *)", "day-of-week", "8", 14),
    ("cron(*,5 0 * * ? *)", "minutes", "*", 6),
    ("cron(0 0 * * ? 2026-)", "year", "2026-", 16),
    ("cron(0 */0 * * ? *)", "hours", "*/0", 8),
    ("cron(0 /5 * * ? *)", "hours", "/5", 8),
    ("cron(0 0 ? * ,, *)", "day-of-week", ",,", 14),
    ("cron(0 0 30 2 ? *)", "day-of-month", "30", 10),
    ("cron(0 0 31 APR,JUN ? *)", "day-of-month", "31", 10),
    ("CRON(0 0 * * ? *)", "expression", "CRON(", 1),
    ("cron(0 0  * * ? *)", "expression", "0 0  * * ? *", 6),
    ("cron(0 0 * * ? *) ", "expression", "cron(0 0 * * ? *) ", 18),
    ("cron(0 0 0 * * ? *)", "expression", "0 0 0 * * ? *", 6),
    ("rate(0 minutes)", "rate", "0", 6),
    ("rate(5 hour)", "rate", "hour", 8),
    ("rate(10 seconds)", "rate", "seconds", 9),
    ("rate(1 week)", "rate", "week", 8),
    ("rate(007 minutes)", "rate", "007", 6),
    ("every(5 minutes)", "expression", "every(5 minutes)", 1),
])
def test_errors_point_at_the_offending_token(expression: str, field: str, token: str,
                                             column: int) -> None:
    err = error(expression)
    assert (err.field, err.token, err.column) == (field, token, column), str(err)
    assert expression[column - 1:].startswith(token.rstrip()) or field == "expression"


def test_reasons_explain_the_rule() -> None:
    assert "0 is Unix Sunday" in error("cron(0 0 ? * 0 *)").reason
    assert "Unix expression has no year" in error("cron(0/10 * ? * *)").reason
    assert "no seconds field" in error("cron(0 0 0 * * ? *)").reason
    assert "could never fire" in error("cron(0 0 30 2 ? *)").reason
    assert "not allowed in day-of-week" in error("cron(0 0 ? * */2 *)").reason
    assert "singular unit 'minute'" in error("rate(1 minutes)").reason
    assert "lower-case" in error("rate(5 MINUTES)").reason
    assert "exactly one of day-of-month and day-of-week" in error("cron(0 1 * * * *)").reason


def test_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(error("cron(0 9 ? * 2#6 *)")))
    assert (err.field, err.token, err.column) == ("day-of-week", "2#6", 14)


# ----------------------------------------------------------------------------- cron details

def test_day_names_containing_w_or_l_are_not_special() -> None:
    s = parse_schedule("cron(0 12 ? * WED,TUE-WED *)")
    assert s.next_fire_times(utc(2026, 3, 1), 2) == [utc(2026, 3, 3, 12), utc(2026, 3, 4, 12)]


def test_trailing_commas_and_lower_case_names_are_accepted() -> None:
    s = parse_schedule("cron(0/5, 9-18, ?, *, mon-fri, *)")
    assert s.next_fire_times(utc(2026, 3, 6, 18, 55), 2) == [utc(2026, 3, 9, 9, 0),
                                                             utc(2026, 3, 9, 9, 5)]


def test_wrapping_range_with_step_continues_through_the_wrap() -> None:
    s = parse_schedule("cron(0 20-2/3 * * ? *)")  # 20, 23, 2 (Quartz)
    assert [t.hour for t in s.next_fire_times(utc(2026, 3, 1), 3)] == [2, 20, 23]


def test_name_before_L_is_accepted() -> None:
    assert parse_schedule("cron(0 0 ? * FRIL *)").next_fire_times(utc(2026, 1, 1), 1) == [
        utc(2026, 1, 30)]


def test_nearest_weekday_when_the_last_day_is_a_sunday() -> None:
    # 2026-05-31 is a Sunday: 31W moves back to Friday the 29th, never into June.
    assert parse_schedule("cron(0 0 31W * ? *)").next_fire_times(utc(2026, 5, 1), 1) == [
        utc(2026, 5, 29)]
    # LW: the last weekday; 2026-05-31 Sunday -> Friday 29th.
    assert parse_schedule("cron(0 0 LW * ? *)").next_fire_times(utc(2026, 5, 1), 1) == [
        utc(2026, 5, 29)]


def test_seconds_and_microseconds_of_after_are_respected() -> None:
    s = parse_schedule("cron(* * * * ? *)")
    assert s.next_fire_times(utc(2026, 1, 1, 0, 0, 0), 1) == [utc(2026, 1, 1, 0, 1)]
    assert s.next_fire_times(datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 1) == [
        utc(2026, 1, 1, 0, 1)]


def test_after_in_another_zone_is_converted_not_misread() -> None:
    paris = timezone(timedelta(hours=1))
    s = parse_schedule("cron(0 10 * * ? *)")
    assert s.next_fire_times(datetime(2026, 3, 1, 10, 30, tzinfo=paris), 1) == [
        utc(2026, 3, 1, 10)]


def test_naive_datetimes_are_rejected() -> None:
    s = parse_schedule("cron(0 10 * * ? *)")
    with pytest.raises(ValueError, match="timezone-aware"):
        s.next_fire_times(datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        s.previous_fire_time(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        s.next_fire_times(utc(2026, 1, 1), -1)
    assert s.next_fire_times(utc(2026, 1, 1), 0) == []


def test_previous_fire_time_snaps_to_the_slot() -> None:
    s = parse_schedule("cron(0/15 * * * ? *)")
    assert s.previous_fire_time(utc(2026, 3, 1, 10, 14, 59)) == utc(2026, 3, 1, 10, 0)
    assert s.previous_fire_time(utc(2026, 3, 1, 10, 15, 30)) == utc(2026, 3, 1, 10, 15)
    assert s.previous_fire_time(utc(2026, 1, 1)) == utc(2026, 1, 1)
    assert parse_schedule("cron(0 0 1 1 ? 2030)").previous_fire_time(utc(2029, 1, 1)) is None


def test_schedule_exhausts_after_2199() -> None:
    s = parse_schedule("cron(59 23 31 12 ? *)")
    assert s.next_fire_times(utc(2199, 1, 1), 5) == [utc(2199, 12, 31, 23, 59)]
    assert s.next_fire_times(utc(2199, 12, 31, 23, 59), 5) == []
    assert s.next_fire_times(datetime.max.replace(tzinfo=UTC), 5) == []


def test_attributes() -> None:
    s = parse_schedule("cron(0 10 * * ? *)")
    assert isinstance(s, CronSchedule)
    assert (s.kind, s.expression, s.timezone) == ("cron", "cron(0 10 * * ? *)", None)


# ----------------------------------------------------------------------------- speed

@pytest.mark.parametrize("expression", [
    "cron(0 0 1 1 ? 1970)", "cron(15 10 ? * 6L 2002-2005)", "cron(0 0 29 2 ? 2027)",
    "cron(0 10 ? FEB 5#5 2026)", "cron(0 0 31W * ? 2025)",
])
def test_a_schedule_that_never_fires_again_answers_in_under_a_millisecond(
        expression: str) -> None:
    s = parse_schedule(expression)
    best = min(_timed(lambda: s.next_fire_times(utc(2026, 1, 1), 5)) for _ in range(5))
    assert s.next_fire_times(utc(2026, 1, 1), 5) == []
    assert best < 0.001


def test_sparse_schedule_to_the_end_of_time_is_fast() -> None:
    s = parse_schedule("cron(0 0 29 2 ? *)")
    elapsed = _timed(lambda: s.next_fire_times(utc(2026, 1, 1), 1000))
    assert len(s.next_fire_times(utc(2026, 1, 1), 1000)) == 42  # 2028 ... 2196, no 2100
    assert elapsed < 0.05


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- rate()

def test_rate_grid_and_anchor() -> None:
    s = parse_schedule("rate(5 minutes)")
    assert isinstance(s, RateSchedule)
    assert (s.value, s.unit, s.interval) == (5, "minutes", timedelta(minutes=5))
    assert s.anchor == utc(1970, 1, 1)
    assert s.next_fire_times(utc(2026, 1, 1, 0, 2), 2) == [utc(2026, 1, 1, 0, 5),
                                                          utc(2026, 1, 1, 0, 10)]
    anchored = s.anchored(utc(2026, 1, 1, 0, 2, 40))
    assert anchored.anchor == utc(2026, 1, 1, 0, 2)
    assert anchored.next_fire_times(utc(2026, 1, 1, 0, 0), 2) == [utc(2026, 1, 1, 0, 2),
                                                                 utc(2026, 1, 1, 0, 7)]
    assert anchored.previous_fire_time(utc(2026, 1, 1, 0, 11)) == utc(2026, 1, 1, 0, 7)
    assert anchored.previous_fire_time(utc(2026, 1, 1, 0, 1)) is None
    with pytest.raises(ValueError):
        s.anchored(datetime(2026, 1, 1))


def test_rate_days_are_24_hours_even_in_a_zone() -> None:
    s = parse_schedule("rate(1 day)", timezone="Europe/Paris", scheduler=True)
    anchored = s.anchored(utc(2026, 3, 28, 12))
    assert anchored.next_fire_times(utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 12),
                                                                utc(2026, 3, 30, 12)]


@pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(2 minutes)", "rate(1 hour)",
                                        "rate(3 hours)", "rate(1 day)", "rate(30 days)"])
def test_valid_rates(expression: str) -> None:
    assert parse_schedule(expression).kind == "rate"


@pytest.mark.parametrize("expression", [
    "rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "rate(-5 minutes)", "rate(5)",
    "rate(minutes)", "rate(5  minutes)", "rate(5 Minutes)", "rate(1.5 hours)", "rate(5 weeks)",
    "rate(5 minutes) ", "Rate(5 minutes)", "rate(5 minutes)x", "rate(99999999999 days)",
])
def test_invalid_rates(expression: str) -> None:
    err = error(expression)
    assert err.field in ("rate", "expression")


# ----------------------------------------------------------------------------- at() and zones

def test_at_is_scheduler_only() -> None:
    assert "Scheduler" in error("at(2026-05-01T10:00:00)").reason
    s = parse_schedule("at(2026-05-01T10:00:00)", scheduler=True)
    assert isinstance(s, AtSchedule)
    assert s.next_fire_times(utc(2026, 1, 1), 3) == [utc(2026, 5, 1, 10)]
    assert s.next_fire_times(utc(2026, 5, 1, 10), 3) == []
    assert s.previous_fire_time(utc(2026, 6, 1)) == utc(2026, 5, 1, 10)


@pytest.mark.parametrize("body", ["2026-05-01T10:00:00Z", "2026-05-01", "2026-05-01T10:00",
                                  "2026-05-01 10:00:00", "2026-02-30T10:00:00",
                                  "2026-05-01T10:00:00+02:00"])
def test_invalid_at(body: str) -> None:
    assert error(f"at({body})", scheduler=True).field == "at"


def test_at_in_a_zone() -> None:
    s = parse_schedule("at(2026-07-01T09:00:00)", timezone="Europe/Paris", scheduler=True)
    assert s.fire_time == utc(2026, 7, 1, 7)
    gap = parse_schedule("at(2026-03-29T02:30:00)", timezone="Europe/Paris", scheduler=True)
    assert gap.fire_time is None and gap.next_fire_times(utc(2026, 1, 1), 1) == []
    assert gap.preview(utc(2026, 1, 1), 1)[0].status == "skipped"


def test_timezone_is_scheduler_only_and_must_exist() -> None:
    assert error("cron(0 0 * * ? *)", timezone="Europe/Paris").field == "timezone"
    err = error("cron(0 0 * * ? *)", timezone="Mars/Olympus", scheduler=True)
    assert (err.field, err.column) == ("timezone", None)
    assert str(err).startswith("timezone 'Mars/Olympus': ")


def test_spring_forward_time_is_skipped_and_marked() -> None:
    s = parse_schedule("cron(30 2 * * ? *)", timezone="Europe/Paris", scheduler=True)
    # 2026-03-29 02:30 does not exist in Paris.
    assert s.next_fire_times(utc(2026, 3, 28, 2), 2) == [utc(2026, 3, 30, 0, 30),
                                                        utc(2026, 3, 31, 0, 30)]
    preview = s.preview(utc(2026, 3, 28, 2), 2)
    assert [p.status for p in preview] == ["skipped", "fires", "fires"]
    assert preview[0].utc is None and "does not exist" in (preview[0].note or "")
    assert preview[0].local == datetime(2026, 3, 29, 2, 30)


def test_autumn_repeated_time_fires_once_at_the_first_occurrence() -> None:
    s = parse_schedule("cron(30 1 * * ? *)", timezone="America/New_York", scheduler=True)
    # 2026-11-01 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    times = s.next_fire_times(utc(2026, 10, 31, 12), 3)
    assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]
    assert s.preview(utc(2026, 10, 31, 12), 1)[0].status == "ambiguous"
    # Between the two occurrences nothing more fires that day.
    assert s.next_fire_times(utc(2026, 11, 1, 5, 30), 1) == [utc(2026, 11, 2, 6, 30)]
    assert s.previous_fire_time(utc(2026, 11, 1, 6, 45)) == utc(2026, 11, 1, 5, 30)


def test_every_minute_across_fall_back_does_not_repeat() -> None:
    s = parse_schedule("cron(0/20 * * * ? *)", timezone="America/New_York", scheduler=True)
    times = s.next_fire_times(utc(2026, 11, 1, 5, 30), 3)
    assert times == [utc(2026, 11, 1, 5, 40), utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 20)]
    # In the second pass of 01:xx, the latest fire is still the first pass's 01:40.
    assert s.previous_fire_time(utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 1, 5, 40)


def test_zone_times_are_returned_in_utc() -> None:
    s = parse_schedule("cron(0 9 ? * MON-FRI *)", timezone="Asia/Tokyo", scheduler=True)
    assert s.timezone == "Asia/Tokyo"
    [t] = s.next_fire_times(utc(2026, 3, 1), 1)
    assert t == utc(2026, 3, 2, 0) and t.tzinfo is UTC


# ----------------------------------------------------------------------------- longest gap

YEAR = timedelta(days=366)


@pytest.mark.parametrize("expression, gap", [
    ("cron(0 9 ? * MON-FRI *)", timedelta(days=3)),          # Friday 09:00 to Monday 09:00
    ("cron(0 * * * ? *)", timedelta(hours=1)),
    ("rate(15 minutes)", timedelta(minutes=15)),
    ("cron(0/5 8-17 ? * MON-FRI *)", timedelta(days=2, hours=14, minutes=5)),
    ("cron(0 0 L * ? *)", timedelta(days=31)),                # the longest month
    ("cron(* * * * ? *)", timedelta(minutes=1)),             # cut at max_fires, still right
])
def test_longest_gap(expression: str, gap: timedelta) -> None:
    assert longest_gap(parse_schedule(expression), utc(2026, 6, 3, 10, 30), YEAR) == gap


def test_longest_gap_counts_the_wait_from_after_and_past_the_horizon() -> None:
    # 29 February: the next one is in 2028, far past a year's horizon.
    assert longest_gap(parse_schedule("cron(0 0 29 2 ? *)"), utc(2026, 6, 1), YEAR) == (
        utc(2028, 2, 29) - utc(2026, 6, 1))
    # A schedule that starts later: the wait until its first fire time is the longest gap.
    assert longest_gap(parse_schedule("cron(0 12 * * ? 2027-2030)"), utc(2026, 12, 29),
                       YEAR) == timedelta(days=3, hours=12)


@pytest.mark.parametrize("expression", ["cron(0 0 1 1 ? 2020)", "cron(0 0 * * ? 2026)"])
def test_longest_gap_is_none_when_the_schedule_stops_firing(expression: str) -> None:
    # Never again, or its years run out inside the horizon: the last gap never closes.
    assert longest_gap(parse_schedule(expression), utc(2026, 6, 3), YEAR) is None


def test_longest_gap_checks_its_arguments() -> None:
    schedule = parse_schedule("rate(1 hour)")
    with pytest.raises(ValueError, match="timezone-aware"):
        longest_gap(schedule, datetime(2026, 1, 1), YEAR)
    with pytest.raises(ValueError, match="must be positive"):
        longest_gap(schedule, utc(2026, 1, 1), timedelta(0))
