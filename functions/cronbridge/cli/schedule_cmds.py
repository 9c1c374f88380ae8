"""``cronbridge validate | next | convert | describe``: schedule expressions from the shell.

Each command takes an expression or a job name; a job name uses that job's schedule (and its
Scheduler time zone). An invalid expression exits with status 2 and prints the error with a
caret under the offending token.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table

from cronbridge.core.convert import ConversionError, convert_expression
from cronbridge.core.describe import describe_schedule
from cronbridge.core.schedule import (RateSchedule, Schedule, ScheduleExpressionError,
                                      parse_schedule)

__all__ = ["convert_cmd", "describe_cmd", "next_cmd", "resolve_expression", "validate_cmd"]

INVALID_EXIT = 2
# Job names are lower-case words joined by hyphens; anything else is read as an expression.
_JOB_NAME = re.compile(r"[a-z][a-z0-9-]*")


def resolve_expression(arg: str) -> tuple[str, str | None]:
    """``(expression, timezone)`` for an expression or a registered job's name.

    A job name is looked up among the project's jobs (``[tool.cronbridge]``, or
    ``CRONBRIDGE_JOB_MODULES``).

    Raises:
        cronbridge.core.errors.UnknownJobError: ``arg`` looks like a job name but no job has it.
        cronbridge.core.errors.CronbridgeError: no project is configured, or its job modules
            cannot be loaded.
    """
    if not _JOB_NAME.fullmatch(arg):
        return arg, None
    from cronbridge.project import load_project

    spec = load_project().load_jobs().get(arg)
    return spec.schedule, spec.timezone


def _resolve(arg: str) -> tuple[str, str | None]:
    from cronbridge.core.errors import CronbridgeError, UnknownJobError

    try:
        return resolve_expression(arg)
    except UnknownJobError as exc:
        _fail(f"'{arg}' is neither a schedule expression nor a known job: {exc}")
    except CronbridgeError as exc:
        _fail(f"'{arg}' looks like a job name, but {exc}")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(INVALID_EXIT)


def _parse(expression: str, zone: str | None, scheduler: bool) -> Schedule:
    try:
        return parse_schedule(expression, timezone=zone, scheduler=scheduler or zone is not None)
    except ScheduleExpressionError as exc:
        lines = [f"invalid: {exc}"]
        if exc.column is not None:
            width = max(1, min(len(exc.token), len(expression) - exc.column + 1))
            lines += [f"  {expression}", "  " + " " * (exc.column - 1) + "^" * width]
        if not expression.lstrip().startswith(("cron(", "rate(", "at(")):
            lines.append(f"hint: for a Unix or Quartz expression, try: cronbridge convert "
                         f"'{expression}'")
        click.echo("\n".join(lines), err=True)
        raise SystemExit(INVALID_EXIT) from None


_expr_arg = click.argument("expr", metavar="EXPR|JOB")
_tz_opt = click.option("--tz", "zone", metavar="ZONE",
                       help="IANA time zone (EventBridge Scheduler only); overrides a job's.")
_scheduler_opt = click.option("--scheduler", is_flag=True,
                              help="Read EXPR as an EventBridge Scheduler expression (allows "
                                   "at() and --tz).")


@click.command("validate")
@_expr_arg
@_tz_opt
@_scheduler_opt
def validate_cmd(expr: str, zone: str | None, scheduler: bool) -> None:
    """Check a schedule expression: exit 0 when valid, 2 when invalid (with the reason)."""
    expression, job_zone = _resolve(expr)
    schedule = _parse(expression, zone or job_zone, scheduler)
    click.echo(f"valid {schedule.kind}(): {describe_schedule(schedule)}")


@click.command("next")
@_expr_arg
@click.option("-n", "count", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="How many fire times.")
@click.option("--after", metavar="ISO",
              help="Start instant with an offset, e.g. 2026-03-01T00:00Z (default: now).")
@_tz_opt
@_scheduler_opt
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def next_cmd(expr: str, count: int, after: str | None, zone: str | None, scheduler: bool,
             as_json: bool) -> None:
    """Show the next fire times (UTC, and local time under --tz), marking DST skips/repeats."""
    expression, job_zone = _resolve(expr)
    zone = zone or job_zone
    schedule = _parse(expression, zone, scheduler)
    start = _parse_after(after)
    notes: list[str] = []
    if isinstance(schedule, RateSchedule):
        schedule = schedule.anchored(start)
        notes.append("rate() has no calendar anchor on AWS (it counts from the rule's creation); "
                     f"shown as if created at {_iso(schedule.anchor)}")
    entries = schedule.preview(start, count)
    if as_json:
        click.echo(json.dumps({
            "expression": expression, "timezone": zone, "after": _iso(start), "notes": notes,
            "fire_times": [{"utc": _iso(e.utc) if e.utc else None,
                            "local": e.local.isoformat(), "status": e.status, "note": e.note}
                           for e in entries],
        }, indent=2))
        return
    console = Console()
    if not entries:
        console.print(f"no fire times after {_iso(start)}: the schedule is exhausted")
        return
    table = Table(title=f"{expression}" + (f"  ({zone})" if zone else ""))
    table.add_column("#", justify="right")
    table.add_column("UTC")
    if zone:
        table.add_column(f"local ({zone})")
    table.add_column("note")
    fired = 0
    for e in entries:
        fired += e.utc is not None
        row = [str(fired) if e.utc else "-", _iso(e.utc) if e.utc else "(does not fire)"]
        if zone:
            row.append(f"{e.local:%Y-%m-%d %H:%M}")
        row.append(e.note or "")
        table.add_row(*row)
    console.print(table)
    for note in notes:
        console.print(f"note: {note}")


@click.command("convert")
@_expr_arg
@click.option("--dialect", type=click.Choice(["auto", "unix", "quartz", "spring"]),
              default="auto", show_default=True, help="How to read EXPR.")
def convert_cmd(expr: str, dialect: str) -> None:
    """Turn a Unix (5 fields, @daily...) or Quartz/Spring (6/7 fields) cron into cron(...)."""
    expression = _resolve(expr)[0]
    try:
        result = convert_expression(expression, dialect=dialect)  # type: ignore[arg-type]
    except ConversionError as exc:
        _fail(str(exc))
    click.echo(result.expression)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


@click.command("describe")
@_expr_arg
@_tz_opt
@_scheduler_opt
def describe_cmd(expr: str, zone: str | None, scheduler: bool) -> None:
    """Describe a schedule in plain language."""
    expression, job_zone = _resolve(expr)
    click.echo(describe_schedule(_parse(expression, zone or job_zone, scheduler)))


def _parse_after(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        _fail(f"--after '{text}' is not an ISO-8601 date-time")
    if value.tzinfo is None:
        _fail(f"--after '{text}' needs an offset or Z (e.g. {text}Z); cronbridge does not guess "
              f"a time zone")
    return value


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
