"""Convert Unix and Quartz/Spring cron expressions to EventBridge ``cron(...)``.

Source dialects:

* Unix (5 fields ``minute hour day-of-month month day-of-week``, or a macro such as
  ``@daily``): day-of-week 0-7 with 0 and 7 = Sunday; when both day fields are restricted a
  job runs when *either* matches, which EventBridge cannot express.
* Quartz (6 or 7 fields ``second minute hour day-of-month month day-of-week [year]``):
  day-of-week 1-7 with 1 = Sunday, as in EventBridge.
* Spring (6 fields, same order as Quartz without the year): day-of-week 0-7 with 0 and 7 =
  Sunday, 1 = Monday, as in Unix.

EventBridge fires on whole minutes, so seconds must be 0. The result is validated with
:func:`cronbridge.core.schedule.parse_schedule`, so it is always accepted by EventBridge
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from cronbridge.core.schedule import DAY_NAMES, ScheduleExpressionError, parse_schedule

__all__ = ["ConversionError", "Conversion", "convert_expression"]

Dialect = Literal["auto", "unix", "quartz", "spring"]

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_UNIX_DAY_NAMES = DAY_NAMES  # Unix 0 = SUN ... 6 = SAT: the same order, shifted by one


class ConversionError(ValueError):
    """An expression that cannot be turned into an EventBridge ``cron(...)``.

    Attributes:
        reason: what cannot be expressed and, where there is one, what to do instead.
    """

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"cannot convert '{expression}': {reason}")


@dataclass(frozen=True)
class Conversion:
    """The result of :func:`convert_expression`.

    Attributes:
        expression: the EventBridge ``cron(...)`` (or the input, when it already was one).
        dialect: the dialect the input was read as: ``unix``, ``quartz``, ``spring`` or
            ``eventbridge``.
        notes: assumptions made on the way (e.g. which day-of-week numbering was used).
    """

    expression: str
    dialect: str
    notes: tuple[str, ...] = field(default=())


def convert_expression(expression: str, *, dialect: Dialect = "auto") -> Conversion:
    """Convert a Unix, Quartz or Spring cron expression to EventBridge's ``cron(...)``.

    ``auto`` reads a macro or 5 fields as Unix, 7 fields as Quartz, and 6 fields as Quartz
    unless day-of-week uses 0 (then Spring) or the last field is a year (then it is already an
    EventBridge body and is wrapped in ``cron(...)``).

    Raises:
        ConversionError: the expression cannot be expressed in EventBridge (seconds other than
            0, both day fields restricted in Unix, an unknown macro, a result EventBridge would
            reject); the message says why.
    """
    text = expression.strip()
    if dialect not in ("auto", "unix", "quartz", "spring"):
        raise ValueError(f"dialect must be auto, unix, quartz or spring, got {dialect!r}")
    if text.startswith(("cron(", "rate(", "at(")):
        try:
            parse_schedule(text, scheduler=text.startswith("at("))
        except ScheduleExpressionError as exc:
            raise ConversionError(expression, f"it is already EventBridge syntax but invalid: "
                                              f"{exc}") from None
        return Conversion(text, "eventbridge")
    notes: list[str] = []
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            raise ConversionError(expression, f"unknown macro; EventBridge equivalents exist "
                                              f"for {', '.join(MACROS)} (not @reboot)")
        notes.append(f"{text} is '{macro}' in Unix cron")
        fields, dialect = macro.split(), "unix"
    else:
        fields = text.split()
    source = _detect(fields, notes) if dialect == "auto" else dialect
    if source == "eventbridge":
        body = " ".join(fields)
    elif source == "unix":
        body = _from_unix(expression, fields)
    else:
        body = _from_quartz(expression, fields, spring=source == "spring")
    result = f"cron({body})"
    try:
        parse_schedule(result)
    except ScheduleExpressionError as exc:
        raise ConversionError(expression, f"the EventBridge form {result} is invalid: "
                                          f"{exc}") from None
    return Conversion(result, source, tuple(notes))


def _detect(fields: list[str], notes: list[str]) -> str:
    if len(fields) == 5:
        return "unix"
    if len(fields) == 7:
        return "quartz"
    if len(fields) == 6:
        # An EventBridge body has '?' in field 3 or 5 (Quartz: 4 or 6) and may end in a year.
        if "?" in (fields[2], fields[4]) or re.search(r"(19[7-9][0-9]|2[01][0-9][0-9])",
                                                      fields[5]):
            notes.append("6 fields in EventBridge order (minute ... year): wrapped in cron(...)")
            return "eventbridge"
        if re.search(r"(^|[^0-9])0([^0-9]|$)", fields[5]):
            notes.append("day-of-week 0 only exists in Spring: read as Spring (0/7 = SUN)")
            return "spring"
        if re.search(r"[0-9]", fields[5]):
            notes.append("numeric day-of-week read with Quartz numbering (1 = SUN ... 7 = SAT); "
                         "use dialect 'spring' for Spring's (0/7 = SUN, 1 = MON)")
        return "quartz"
    raise ConversionError(" ".join(fields), f"expected 5 fields (Unix), 6 (Quartz/Spring) or 7 "
                                            f"(Quartz with year), got {len(fields)}")


def _from_unix(expression: str, fields: list[str]) -> str:
    if len(fields) != 5:
        raise ConversionError(expression, f"a Unix expression has 5 fields, got {len(fields)}")
    minute, hour, dom, month, dow = fields
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else dow
    if dom != "*" and dow != "*":
        raise ConversionError(
            expression, f"it restricts both day-of-month ({dom}) and day-of-week ({dow}); Unix "
                        f"cron then runs when either matches, which EventBridge cannot express "
                        f"(exactly one day field may be set). Split it into two jobs, one per "
                        f"day rule")
    if dow == "*":
        return f"{minute} {hour} {dom} {month} ? *"
    return f"{minute} {hour} ? {month} {_weekdays(expression, dow, sunday=0)} *"


def _from_quartz(expression: str, fields: list[str], *, spring: bool) -> str:
    name = "Spring" if spring else "Quartz"
    if len(fields) not in ((6,) if spring else (6, 7)):
        raise ConversionError(expression, f"a {name} expression has "
                                          f"{'6' if spring else '6 or 7'} fields, got "
                                          f"{len(fields)}")
    second, minute, hour, dom, month, dow = fields[:6]
    year = fields[6] if len(fields) == 7 else "*"
    if not re.fullmatch(r"0+", second):
        hint = (" (if you meant an EventBridge body, wrap it in cron(...))"
                if len(fields) == 6 else "")
        raise ConversionError(expression, f"seconds must be 0, got '{second}': EventBridge fires "
                                          f"on whole minutes{hint}")
    if spring or "/" in dow:
        dow = "?" if dow == "?" else _weekdays(expression, dow, sunday=0 if spring else 1)
    if dom == "*" and dow == "*":  # Quartz itself insists on '?'; the intent is plain
        dow = "?"
    if dom != "?" and dow != "?":
        if dom != "*" and dow != "*":
            raise ConversionError(expression, "it restricts both day-of-month and day-of-week; "
                                              "EventBridge needs '?' in one of them")
        dom, dow = ("?", dow) if dom == "*" else (dom, "?")
    return f"{minute} {hour} {dom} {month} {dow} {year}"


def _weekdays(expression: str, text: str, *, sunday: int) -> str:
    """Rewrite a day-of-week field numbered from ``sunday`` (0 or 1) in EventBridge terms.

    ``/`` is expanded to a list because EventBridge has no steps in day-of-week.
    """
    if text == "*":
        return "*"
    single = re.fullmatch(r"([0-9]+|[A-Za-z]{3})([#L].*)", text)
    if single:
        day, rest = single.groups()
        # Numeric, as the AWS docs write `6L` and `2#1`.
        return f"{(_day_index(expression, day, sunday) - sunday) % 7 + 1}{rest}"
    days: set[int] = set()
    for item in filter(None, text.split(",")):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ConversionError(expression, f"day-of-week step '{item}' is not a positive "
                                              f"number")
        if base == "*":
            lo, hi = sunday, sunday + 6
        elif "-" in base:
            a, b = base.split("-", 1)
            lo, hi = _day_index(expression, a, sunday), _day_index(expression, b, sunday)
            if hi < lo:
                hi += 7
        else:
            lo = _day_index(expression, base, sunday)
            hi = sunday + 6 if step else lo
        days.update((d - sunday) % 7 + 1 for d in range(lo, hi + 1, step or 1))
    return _render_days(days)


def _day_index(expression: str, token: str, sunday: int) -> int:
    """The day as a number in the source numbering (Sunday = ``sunday``)."""
    if token.upper() in _UNIX_DAY_NAMES:
        return _UNIX_DAY_NAMES.index(token.upper()) + sunday
    if token.isdigit() and sunday <= int(token) <= 7:
        # 7 is Sunday again in Unix/Spring; in Quartz it is Saturday and within range.
        return int(token)
    first = "0-7 (0 and 7 = Sunday)" if sunday == 0 else "1-7 (1 = Sunday)"
    raise ConversionError(expression, f"day-of-week '{token}' must be {first} or SUN-SAT")


def _render_days(days: set[int]) -> str:
    if len(days) == 7:
        return "*"
    ordered = sorted(days)
    parts: list[str] = []
    run: list[int] = []
    for day in ordered + [99]:
        if run and day == run[-1] + 1:
            run.append(day)
            continue
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0] - 1]}-{DAY_NAMES[run[-1] - 1]}")
        else:
            parts.extend(DAY_NAMES[d - 1] for d in run)
        run = [day]
    return ",".join(parts)
