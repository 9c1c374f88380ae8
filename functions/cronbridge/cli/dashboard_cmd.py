"""``cronbridge dashboard``: the web dashboard on the target the other commands act on."""

from __future__ import annotations

import signal
import threading

import click

from cronbridge.cli.target import Target, target_command

DEFAULT_PORT = 5056
HOST = "127.0.0.1"


def start_dashboard(target: Target, port: int) -> str:
    """Serve the dashboard of ``target`` on 127.0.0.1:``port`` in the background; returns
    its URL.

    Raises:
        click.UsageError: the port is taken, or Jinja2 is not installed.
    """
    try:
        from cronbridge.dashboard.server import start
    except ModuleNotFoundError as exc:
        raise click.UsageError(f"the dashboard needs {exc.name}: "
                               f"pip install 'cronbridge[dashboard]'") from None
    try:
        start(target, HOST, port)
    except (OSError, OverflowError) as exc:
        raise click.UsageError(f"cannot serve the dashboard on {HOST}:{port} ({exc}): pick "
                               f"another port") from None
    return f"http://{HOST}:{port}/"


@click.command("dashboard")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1.")
@target_command
def dashboard_cmd(target: Target, port: int) -> None:
    """Serve the web dashboard until Ctrl-C: jobs, slot timelines, runs, dead letters, and
    trigger, pause, resume, backfill and redrive buttons, on the same AWS as the other
    commands (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)."""
    url = start_dashboard(target, port)
    click.echo(f"cronbridge dashboard on {target.describe()}: {url}  (Ctrl-C stops)")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("\nstopped")
