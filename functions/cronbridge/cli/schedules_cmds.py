"""``cronbridge schedules list|create|update|pause|resume|delete JOB ...``: a dynamic job's
per-key schedules, through :mod:`cronbridge.schedules` (the same API application code uses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cronbridge.cli.target import (
    INSTANT,
    OperationFailed,
    Target,
    json_option,
    output,
    target_command,
)
from cronbridge.ops.jobs import parse_payload
from cronbridge.schedules import (
    KeySchedule,
    ScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    Schedules,
)


@click.group("schedules")
def schedules_cmd() -> None:
    """A dynamic job's runtime schedules, one per key (e.g. a customer id)."""


def _schedules(target: Target, job: str) -> Schedules:
    job_plan = target.job(job)
    if job_plan.via != "dynamic":
        raise click.BadParameter(f"{job_plan.job} has no per-key schedules (declare it with "
                                 "dynamic=True)", param_hint="JOB")
    return Schedules(job_plan.job, app=target.plan.app, session=target.session)


def _act(action: Callable[[], Any]) -> Any:
    """Run an API call: invalid input exits 2, a missing or existing key exits 1."""
    try:
        return action()
    except ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    except (ScheduleNotFoundError, ScheduleExistsError) as exc:
        raise OperationFailed(str(exc)) from None


def _show(as_json: bool, schedule: KeySchedule, verb: str) -> None:
    data = schedule.to_json()
    output(as_json, data, lambda: click.echo(
        f"{verb} {schedule.job}/{schedule.key}: {schedule.expression}"
        f"{' ' + schedule.timezone if schedule.timezone else ''}, "
        f"{'enabled' if schedule.enabled else 'paused'}"))


_settings = [
    click.option("--timezone", metavar="ZONE", help="IANA zone, e.g. Europe/Berlin (UTC if "
                                                    "omitted)."),
    click.option("--payload", metavar="JSON", help="JSON object merged over the job's payload "
                                                   "in this key's runs."),
    click.option("--start", type=INSTANT, help="No slot before this instant."),
    click.option("--end", type=INSTANT, help="No slot after this instant."),
]


def _with_settings(func: Any) -> Any:
    for option in reversed(_settings):
        func = option(func)
    return func


@schedules_cmd.command("list")
@click.argument("job")
@json_option
@target_command
def list_cmd(target: Target, job: str, as_json: bool) -> None:
    """List JOB's per-key schedules."""
    rows = [s.to_json() for s in _schedules(target, job).list()]

    def render() -> None:
        if not rows:
            click.echo(f"no schedules for {job}")
            return
        table = Table(title=f"{job}: schedules by key")
        for column in ("key", "expression", "timezone", "state", "payload"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["key"], r["expression"], r["timezone"] or "UTC", r["state"],
                          str(r["payload"] or ""))
        Console(width=max(Console().width, 120)).print(table)

    output(as_json, rows, render)


@schedules_cmd.command("create")
@click.argument("job")
@click.argument("key")
@click.option("--expression", metavar="EXPR",
              help="cron(...), rate(...) or at(...); default: the job's schedule.")
@_with_settings
@click.option("--paused", is_flag=True, help="Create it disabled.")
@json_option
@target_command
def create_cmd(target: Target, job: str, key: str, expression: str | None,
               timezone: str | None, payload: str | None, start: datetime | None,
               end: datetime | None, paused: bool, as_json: bool) -> None:
    """Create KEY's schedule for JOB (default expression and zone: the job's)."""
    schedules = _schedules(target, job)
    spec = target.spec(job)
    created = _act(lambda: schedules.create(
        key, expression or spec.schedule,
        timezone=timezone or (None if expression else spec.timezone),
        payload=parse_payload(payload), start=start, end=end, enabled=not paused))
    _show(as_json, created, "created")


@schedules_cmd.command("update")
@click.argument("job")
@click.argument("key")
@click.option("--expression", metavar="EXPR", help="A new expression.")
@_with_settings
@json_option
@target_command
def update_cmd(target: Target, job: str, key: str, expression: str | None,
               timezone: str | None, payload: str | None, start: datetime | None,
               end: datetime | None, as_json: bool) -> None:
    """Change KEY's schedule for JOB (only the options given)."""
    changes = {name: value for name, value in (
        ("expression", expression), ("timezone", timezone), ("start", start), ("end", end))
        if value is not None}
    if payload is not None:
        changes["payload"] = parse_payload(payload)
    if not changes:
        raise click.UsageError("nothing to change: give --expression, --timezone, --payload, "
                               "--start or --end")
    schedules = _schedules(target, job)
    _show(as_json, _act(lambda: schedules.update(key, **changes)), "updated")


def _switch(name: str, enabled: bool, doc: str) -> None:
    """Register ``schedules pause`` or ``schedules resume``."""

    @schedules_cmd.command(name, help=doc)
    @click.argument("job")
    @click.argument("key")
    @json_option
    @target_command
    def command(target: Target, job: str, key: str, as_json: bool) -> None:
        schedules = _schedules(target, job)
        changed = _act(lambda: schedules.update(key, enabled=enabled))
        _show(as_json, changed, "resumed" if enabled else "paused")


_switch("pause", False, "Stop KEY's schedule for JOB from firing (State DISABLED).")
_switch("resume", True, "Let KEY's schedule for JOB fire again (slots passed while paused "
                        "are not run).")


@schedules_cmd.command("delete")
@click.argument("job")
@click.argument("key")
@json_option
@target_command
def delete_cmd(target: Target, job: str, key: str, as_json: bool) -> None:
    """Delete KEY's schedule for JOB; its run history stays (`history JOB --key KEY`)."""
    schedules = _schedules(target, job)
    _act(lambda: schedules.delete(key))
    output(as_json, {"job": job, "key": key, "deleted": True},
           lambda: click.echo(f"deleted {job}/{key}; its runs stay in history"))
