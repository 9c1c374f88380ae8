"""``cronbridge audit``: did every due slot of a job run, and if not, why?"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from cronbridge.cli.target import INSTANT, Target, json_option, output, target_command
from cronbridge.ops.audit import audit

DEFAULT_WINDOW = timedelta(hours=24)
COLOURS = {"succeeded": "green", "dead": "red", "skipped": "dim", "running": "cyan",
           "retrying": "yellow", "pending": "blue", "missed": "magenta"}


@click.command("audit")
@click.argument("job")
@click.option("--since", type=INSTANT,
              help="Start of the window, inclusive (UTC if no offset; default: 24 h ago).")
@click.option("--until", type=INSTANT, help="End of the window, exclusive (default: now).")
@click.option("--key", metavar="K", help="One key of a job with per-key (dynamic) schedules.")
@json_option
@target_command
def audit_cmd(target: Target, job: str, since: datetime | None, until: datetime | None,
              key: str | None, as_json: bool) -> None:
    """Give every slot JOB's schedule says was due in [--since, --until) one verdict:
    succeeded (with its attempts), dead, skipped (with its reason), running, retrying,
    pending (no run yet, still inside its starting deadline or grace) or missed (no run,
    and none can come any more). Then the runs outside the schedule (manual), and a count
    per verdict.
    """
    now = datetime.now(timezone.utc)
    report = audit(target, job, since=since or now - DEFAULT_WINDOW, until=until, now=now,
                   key=key)
    output(as_json, report, lambda: _render(report))


def _render(report: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 120))
    table = Table(title=f"audit of {report['job']} ({report['schedule']}) "
                        f"[{report['since']}, {report['until']})")
    for column in ("slot", "verdict", "attempts", "trigger", "reason"):
        table.add_column(column)
    for s in report["slots"]:
        colour = COLOURS[s["verdict"]]
        table.add_row(s["slot"], f"[{colour}]{s['verdict']}[/{colour}]",
                      "-" if s["attempts"] is None else str(s["attempts"]),
                      s["trigger"] or "-", s["reason"] or "")
    if report["slots"]:
        console.print(table)
    else:
        click.echo(f"no slot of {report['job']} was due in [{report['since']}, "
                   f"{report['until']})")
    for run in report["unscheduled"]:
        click.echo(f"outside the schedule: {run['slot']} {run['status']} ({run['trigger']}, "
                   f"{run['attempts']} attempt(s))")
    for note in report["notes"]:
        click.echo(f"note: {note}")
    click.echo("summary: " + ", ".join(f"{verdict} {count}"
                                       for verdict, count in report["summary"].items()))
