"""Unix and Quartz/Spring cron -> EventBridge cron(), and plain-language descriptions."""

from __future__ import annotations

import pytest

from cronbridge.core.convert import ConversionError, convert_expression
from cronbridge.core.describe import describe_schedule
from cronbridge.core.schedule import ScheduleExpressionError


@pytest.mark.parametrize("source, expected", [
    ("@yearly", "cron(0 0 1 1 ? *)"),
    ("@annually", "cron(0 0 1 1 ? *)"),
    ("@monthly", "cron(0 0 1 * ? *)"),
    ("@weekly", "cron(0 0 ? * SUN *)"),
    ("@daily", "cron(0 0 * * ? *)"),
    ("@midnight", "cron(0 0 * * ? *)"),
    ("@hourly", "cron(0 * * * ? *)"),
    ("*/5 * * * *", "cron(*/5 * * * ? *)"),
    ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
    ("0 9 * * 0", "cron(0 9 ? * SUN *)"),
    ("0 9 * * 7", "cron(0 9 ? * SUN *)"),
    ("0 9 * * 5-7", "cron(0 9 ? * SUN,FRI,SAT *)"),
    ("0 9 * * */2", "cron(0 9 ? * SUN,TUE,THU,SAT *)"),
    ("0 9 * * sat,sun", "cron(0 9 ? * SUN,SAT *)"),
    ("0 0 * * 5L", "cron(0 0 ? * 6L *)"),
    ("0 9 * * 1#2", "cron(0 9 ? * 2#2 *)"),
    ("30 4 1,15 * *", "cron(30 4 1,15 * ? *)"),
    ("0 0 L * *", "cron(0 0 L * ? *)"),
    ("0 0 12 ? * MON-FRI", "cron(0 12 ? * MON-FRI *)"),
    ("0 0 12 ? * 6L 2026", "cron(0 12 ? * 6L 2026)"),
    ("0 0 12 ? * 2/2 *", "cron(0 12 ? * MON,WED,FRI *)"),
    ("0 0 12 * * *", "cron(0 12 * * ? *)"),
    ("0 0 12 * * 0", "cron(0 12 ? * SUN *)"),
    ("0 10 * * ? *", "cron(0 10 * * ? *)"),
    ("cron(0 10 * * ? *)", "cron(0 10 * * ? *)"),
])
def test_converts(source: str, expected: str) -> None:
    assert convert_expression(source).expression == expected


def test_spring_numbering_on_request() -> None:
    result = convert_expression("0 0 12 * * 1-5", dialect="spring")
    assert (result.expression, result.dialect) == ("cron(0 12 ? * MON-FRI *)", "spring")
    quartz = convert_expression("0 0 12 ? * 2-6")
    assert quartz.expression == "cron(0 12 ? * 2-6 *)"
    assert any("Quartz numbering" in note for note in quartz.notes)


@pytest.mark.parametrize("source, words", [
    ("0 9 1 * 1", "either matches, which EventBridge cannot express"),
    ("30 0 12 * * ?", "seconds must be 0"),
    ("0 0 12 1 * MON", "restricts both day-of-month and day-of-week"),
    ("@reboot", "unknown macro"),
    ("0 0 31 2 *", "could never fire"),
    ("0 0 * * 8", "must be 0-7"),
    ("1 2 3", "expected 5 fields"),
    ("cron(0 0 * * * *)", "already EventBridge syntax but invalid"),
])
def test_explains_what_cannot_be_expressed(source: str, words: str) -> None:
    with pytest.raises(ConversionError) as info:
        convert_expression(source)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("expression, text", [
    ("cron(0 2 ? * MON-FRI *)", "at 02:00 UTC, Monday through Friday"),
    ("cron(0 2 ? * 2-6 *)", "at 02:00 UTC, Monday through Friday"),
    ("cron(0 0 ? * 1,4,7 *)", "at 00:00 UTC, only on Sunday, Wednesday, and Saturday"),
    ("cron(0 0 ? * L *)", "at 00:00 UTC, only on Saturday"),
    ("cron(15 10 ? * 6L 2019-2022)",
     "at 10:15 UTC, on the last Friday of the month, 2019 through 2022"),
    ("cron(0 9 ? * 2#1 *)", "at 09:00 UTC, on the first Monday of the month"),
    ("cron(30-30 13-13 ? * 2,4,6 *)", "at 13:30 UTC, only on Monday, Wednesday, and Friday"),
    ("cron(0/15 * * * ? *)", "every 15 minutes (UTC)"),
    ("cron(*/7 * * * ? 2026/2)", "every 7 minutes, every 2 years, 2026 through 2199 (UTC)"),
    ("rate(1 minute)", "every minute"),
    ("rate(5 minutes)", "every 5 minutes"),
    ("rate(7 days)", "every 7 days"),
])
def test_describes(expression: str, text: str) -> None:
    assert describe_schedule(expression) == text


def test_describes_in_a_zone() -> None:
    assert describe_schedule("cron(0 2 ? * MON-FRI *)", timezone="Europe/Paris") == (
        "at 02:00 Europe/Paris, Monday through Friday")
    assert describe_schedule("at(2026-12-31T23:59:59)", timezone="Europe/Paris") == (
        "once at 2026-12-31 23:59:59 Europe/Paris")


def test_describe_rejects_invalid_expressions() -> None:
    with pytest.raises(ScheduleExpressionError):
        describe_schedule("cron(0 2 * * * *)")
