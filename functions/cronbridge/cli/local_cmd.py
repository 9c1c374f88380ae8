"""``cronbridge local``: the whole system on an embedded AWS, no account needed."""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from cronbridge.cli.project_opts import app_option, modules_option, project_jobs, resolve_project
from cronbridge.project import Project

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``90m``, ``24h`` or ``7d`` as a timedelta.

    Raises:
        click.BadParameter: another shape, or zero.
    """
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(f"{text!r}: use a positive whole number with m, h or d, "
                                 "e.g. 90m, 24h, 7d", param_hint="--simulate")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_start(text: str | None) -> datetime:
    """An ISO-8601 instant (UTC if no offset is given); default: today 00:00 UTC."""
    if text is None:
        return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not ISO-8601, e.g. 2026-11-30T00:00:00Z") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


@click.command("local")
@click.option("--simulate", "duration", metavar="DURATION", default="24h", show_default=True,
              help="Simulated window to run, e.g. 90m, 24h, 7d.")
@click.option("--start", metavar="ISO-8601", help="Start of the window (default: today 00:00 UTC).")
@click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the summary as JSON here.")
@click.option("--chaos", metavar="SPEC",
              help="Inject faults: failure=0.3,duplicate=0.2,crash=0.05,throttle=0.05,late=0.1")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Seed for data, jitter and chaos: same seed, same result.")
@modules_option
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".cronbridge/local/worker.log"), show_default=True,
              help="Where the worker's JSON logs and EMF metrics go.")
@click.option("--serve", is_flag=True,
              help="Instead of simulating: serve the embedded AWS on 127.0.0.1 and run the "
                   "schedules in real time until Ctrl-C, for the other commands to act on.")
@click.option("--port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Port for --serve (default 5055).")
@click.option("--dashboard-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="Port of the web dashboard --serve also serves (default: --port + 1).")
@app_option
@click.pass_context
def local_cmd(ctx: click.Context, duration: str, start: str | None, summary_json: Path | None,
              chaos: str | None, seed: int, modules: tuple[str, ...], log_file: Path,
              serve: bool, port: int | None, dashboard_port: int | None,
              app: str | None) -> None:
    """Run the jobs on an embedded AWS (moto) over a simulated window, or serve it.

    Provisions the run table, and per job a queue, a DLQ and an EventBridge rule; fires each
    enabled rule's slots on a simulated clock; drives the real Lambda handler as the SQS
    event source mapping would. Prints a table per job. Exits 1 if a slot is unaccounted
    for or an invariant is broken.

    With --serve the clock is real and the embedded AWS listens on 127.0.0.1: export the
    line it prints in another shell and use `cronbridge jobs`, `trigger`, `history` ...,
    or open the dashboard at the URL it prints.
    """
    project = resolve_project(app, modules)
    project_jobs(project)  # a bad module or job: one line and exit 2, before anything starts
    if serve:
        _serve(ctx, port, dashboard_port, project, log_file)
        return
    for name in ("port", "dashboard_port"):
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            raise click.UsageError(f"--{name.replace('_', '-')} goes with --serve")
    from cronbridge.local.chaos import Chaos
    from cronbridge.local.simulate import run_simulation

    window = parse_duration(duration)
    begin = parse_start(start)
    try:
        faults = Chaos.parse(chaos)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--chaos") from None
    console = Console(width=max(Console().width, 110))
    console.print(f"cronbridge local: simulating {duration} from {begin:%Y-%m-%dT%H:%MZ} on an "
                  f"embedded AWS (moto); worker logs in {log_file}")
    clock_start = time.perf_counter()
    sim = run_simulation(begin, window, chaos=faults, seed=seed, app=project.app,
                         job_modules=project.job_modules, log_path=log_file)
    elapsed = time.perf_counter() - clock_start
    table = Table(title=f"Slots {sim.start:%Y-%m-%d %H:%M} to {sim.end:%Y-%m-%d %H:%M} UTC")
    for column in ("job", "expected", "succeeded", "failed attempts", "skipped", "dead",
                   "duplicates suppressed"):
        table.add_column(column, justify="left" if column == "job" else "right")
    for name, job in sim.jobs.items():
        table.add_row(name, *(str(v) for v in (job.expected, job.succeeded, job.failed_attempts,
                                               job.skipped, job.dead,
                                               job.duplicates_suppressed)))
    console.print(table)
    inv = sim.invariants
    console.print(f"slots accounted: {sim.slots_accounted}/{sim.slots_expected}   "
                  f"succeeded more than once: {inv['slots_succeeded_more_than_once']}   "
                  f"stuck running: {inv['stuck_running']}   "
                  f"({sim.stats['invocations']} invocations, {elapsed:.1f}s)")
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(sim.to_json(), indent=2) + "\n")
    if not sim.ok():
        console.print("[red]some slots are unaccounted for or an invariant is broken[/red]")
        sys.exit(1)


def _serve(ctx: click.Context, port: int | None, dashboard_port: int | None,
           project: Project, log_file: Path) -> None:
    from cronbridge.local.serve import DEFAULT_PORT, PortInUse, serve

    simulate_only = [f"--{name.replace('_', '-')}" for name in
                     ("duration", "start", "summary_json", "chaos", "seed")
                     if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
    if simulate_only:
        raise click.UsageError(f"{', '.join(simulate_only).replace('--duration', '--simulate')} "
                               f"cannot be combined with --serve (it runs in real time)")
    # A service manager or `kill` sends SIGTERM: stop as cleanly as on Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        serve(port or DEFAULT_PORT, job_modules=project.job_modules, app=project.app,
              dashboard_port=dashboard_port or (port or DEFAULT_PORT) + 1,
              log_path=log_file.with_name("serve.log")
              if ctx.get_parameter_source("log_file") is ParameterSource.DEFAULT else log_file)
    except PortInUse as exc:
        raise click.UsageError(f"{exc}: pick another with --port") from None
    except KeyboardInterrupt:
        click.echo("\nstopped: the embedded AWS and its state are gone")
