"""``cronbridge local --serve``: the embedded AWS and the EventBridge clock, in real time.

A moto server on 127.0.0.1 holds the deployment plan's resources (run table, per job a
queue, a DLQ and a rule or Scheduler schedule) and the project's own (made by its
``@local_resources`` hooks). Every second the clock sends the scheduled events of the slots
that came due, reading the rule's state as it fires so ``cronbridge disable`` takes effect at
once; it reads the Scheduler schedules back too (moto serves the Scheduler API but never
fires), so a schedule created with ``cronbridge schedules create`` or
``cronbridge.schedules`` while serving fires within its minute. The emulated event source
mappings drain the job queues into the real Lambda handler. Other processes
(the operator commands, any AWS SDK) reach it through ``AWS_ENDPOINT_URL``.

Like EventBridge, the clock does not catch up: slots that come due while a rule is disabled
are never fired (``cronbridge backfill`` runs them).
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

import boto3

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.adapters.eventbridge import ENABLED, EventBridgeRules
from cronbridge.core.jobs import load_job_modules
from cronbridge.core.messages import scheduled_event
from cronbridge.core.plan import DEFAULT_APP, build_plan
from cronbridge.core.schedule import RateSchedule, Schedule, parse_schedule
from cronbridge.local.clock import WallClock
from cronbridge.local.embedded import LOCAL_ACCOUNT, LOCAL_ENV, local_environment, moto_speedups
from cronbridge.local.esm import EventSourceMapping, ObservedWorker
from cronbridge.local.provision import JobResources, alarm_topic, provision
from cronbridge.local.scheduler import Firing, LocalScheduler
from cronbridge.local_resources import run_local_resources
from cronbridge.project import load_project
from cronbridge.runtime.auditor import Auditor, queue_sender
from cronbridge.runtime.settings import ENV_APP, ENV_JOB_MODULES, Settings
from cronbridge.service import Ack, Result

DEFAULT_PORT = 5055
HOST = "127.0.0.1"
TICK_SECONDS = 1.0
AUDIT_EVERY_TICKS = 60  # the auditor's schedule, compressed from 15 minutes
# The local-resources hooks seed data for this long from the start (e.g. the demo's emails).
SEED_WINDOW = timedelta(days=1)


class PortInUse(OSError):
    """The port is taken (maybe by another ``local --serve``)."""


@dataclass
class _Rule:
    """One job's rule as the clock fires it."""

    resources: JobResources
    schedule: Schedule
    fired_through: datetime  # every slot at or before this was fired (or passed, disabled)


def _echo(out: TextIO) -> Callable[[Any, Result], None]:
    """Print one line per message handled."""

    def echo(record: Any, result: Result) -> None:
        if result.ack is Ack.RETURN:
            queue = record.event_source_arn.rsplit(":", 1)[-1]
            text = f"{queue}: message {record.message_id} returned to the queue ({result.outcome})"
        else:
            attempt = f" (attempt {result.attempt})" if result.attempt else ""
            text = f"{result.job or '?':<18} {result.slot or '-':<24} {result.outcome}{attempt}"
        print(f"{datetime.now(timezone.utc):%H:%M:%S}  {text}", file=out, flush=True)

    return echo


def _one_line_not_implemented(record: logging.LogRecord) -> bool:
    """A call moto does not implement (e.g. ``redrive`` trying StartMessageMoveTask before
    its fallback) is answered 500; log it in one line, not with a traceback (werkzeug puts
    the traceback in the message)."""
    text = record.getMessage()
    if "NotImplementedError: " in text:
        record.msg = "moto: " + text.rsplit("NotImplementedError: ", 1)[1].strip()
        record.args, record.exc_info = (), None
    return True


def check_port(port: int) -> None:
    """Raise :class:`PortInUse` unless ``127.0.0.1:port`` is free (the moto server thread
    would otherwise fail where nobody sees it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server will (werkzeug reuses addresses): only a listener makes it busy, not
        # the TIME_WAIT connections of a server that just stopped.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(f"port {port} on {HOST} is in use") from None
            raise


def export_line(endpoint: str, app: str, job_modules: tuple[str, ...]) -> str:
    """The shell line that points another terminal's commands at this server."""
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": LOCAL_ENV["AWS_REGION"],
           "AWS_DEFAULT_REGION": LOCAL_ENV["AWS_DEFAULT_REGION"],
           "AWS_ACCESS_KEY_ID": LOCAL_ENV["AWS_ACCESS_KEY_ID"],
           "AWS_SECRET_ACCESS_KEY": LOCAL_ENV["AWS_SECRET_ACCESS_KEY"]}
    # Both, so the commands find the same jobs from any directory.
    env[ENV_APP] = app
    env[ENV_JOB_MODULES] = ",".join(job_modules)
    return "export " + " ".join(f"{key}={value}" for key, value in env.items())


def serve(port: int = DEFAULT_PORT, *, job_modules: tuple[str, ...] | None = None,
          app: str = DEFAULT_APP, log_path: Path = Path(".cronbridge/local/serve.log"),
          out: TextIO | None = None, ticks: int | None = None,
          dashboard_port: int | None = None) -> None:
    """Serve the embedded AWS on ``127.0.0.1:port`` and run the clock until interrupted.

    Prints the endpoint, the ``export`` line and the dashboard's URL, then one line per
    handled message, to ``out`` (default stdout); the worker's JSON logs and EMF metrics go
    to ``log_path``. Auto-pause notifications go to the SNS topic ``<app>-alarms``.

    Args:
        ticks: stop after this many one-second ticks (tests); ``None`` runs until Ctrl-C.
        dashboard_port: serve the web dashboard on this port; ``None`` for none.

    Raises:
        PortInUse: the port is taken.
        KeyboardInterrupt: Ctrl-C; the server is stopped first.
    """
    from moto.server import ThreadedMotoServer

    out = out or sys.stdout
    check_port(port)
    # werkzeug logs every request at INFO: thousands of lines a minute, none of them useful.
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.WARNING)
    werkzeug.addFilter(_one_line_not_implemented)
    endpoint = f"http://{HOST}:{port}"
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # The server runs in this process, so the simulation's speed-up applies to it too.
        with local_environment({"AWS_ENDPOINT_URL": endpoint}), moto_speedups(), \
                log_path.open("a") as log:
            modules = job_modules or load_project().job_modules
            registry = load_job_modules(modules)
            plan = build_plan(registry, app=app, job_modules=modules)
            resources = provision(plan)
            settings = Settings(app=app, table_name=plan.table_name, job_modules=modules,
                                alarm_topic_arn=alarm_topic(plan))
            start = WallClock().now().replace(second=0, microsecond=0)
            run_local_resources(settings.job_modules, start, start + SEED_WINDOW)
            mappings = _install_worker(settings, plan, registry, resources, log, out)
            print(f"cronbridge local --serve: embedded AWS (moto) on {endpoint}, app {app!r}, "
                  f"{len(plan.jobs)} jobs: {', '.join(j.job for j in plan.jobs)}\n"
                  f"In another shell:\n  {export_line(endpoint, app, settings.job_modules)}\n"
                  f"  cronbridge jobs\n"
                  + (f"Dashboard: {_dashboard(app, modules, dashboard_port)}\n"
                     if dashboard_port else "")
                  + f"Worker logs: {log_path}. Ctrl-C stops.", file=out, flush=True)
            auditor = Auditor(plan, registry, DynamoRunStore(plan.table_name),
                              handler_telemetry(), queue_sender(boto3.client("sqs")))
            _run_clock(plan, resources, mappings, start, log, ticks, auditor)
    finally:
        server.stop()


def _dashboard(app: str, modules: tuple[str, ...], port: int) -> str:
    """Start the dashboard on this server (its environment points the SDK here)."""
    from cronbridge.cli.dashboard_cmd import start_dashboard
    from cronbridge.cli.target import Target

    return start_dashboard(Target.load(load_project(app=app, job_modules=modules)), port)


def _install_worker(settings: Settings, plan: Any, registry: Any,
                    resources: dict[str, JobResources], log: TextIO,
                    out: TextIO) -> list[EventSourceMapping]:
    from cronbridge.runtime import handler
    from cronbridge.runtime.wiring import Worker

    handler.telemetry.logger.registered_handler.setStream(log)
    handler.use_worker(ObservedWorker(Worker(settings, handler.telemetry, plan=plan,  # type: ignore[arg-type]
                                             registry=registry), _echo(out)))
    sqs = boto3.client("sqs")
    return [EventSourceMapping(sqs, res, handler.lambda_handler, WallClock(),  # type: ignore[arg-type]
                               LOCAL_ENV["AWS_REGION"]) for res in resources.values()]


def handler_telemetry() -> Any:
    """The worker's telemetry (its logs and metrics go to the serve log)."""
    from cronbridge.runtime import handler

    return handler.telemetry


def _run_clock(plan: Any, resources: dict[str, JobResources],
               mappings: list[EventSourceMapping], start: datetime, log: TextIO,
               ticks: int | None, auditor: Auditor) -> None:
    sqs = boto3.client("sqs")
    rules = EventBridgeRules(boto3.client("events"))
    scheduler = LocalScheduler(plan, boto3.client("scheduler"), sqs)
    clock = WallClock()
    before_start = start - timedelta(microseconds=1)  # the start minute's slots fire too
    firing = [_Rule(res, _schedule(res, start), before_start) for res in resources.values()
              if res.rule_arn is not None]
    held: list[Firing] = []  # Scheduler firings waiting out a flexible window's offset
    count = 0
    while ticks is None or count < ticks:
        count += 1
        now = clock.now()
        for rule in firing:
            _fire_due(rule, now, rules, sqs)
        held = sorted(held + scheduler.due(before_start, now))
        while held and held[0].deliver_at <= now:
            sent = held.pop(0)
            sqs.send_message(QueueUrl=sent.queue_url, MessageBody=sent.body)
        with redirect_stdout(log):  # EMF metrics are printed to stdout
            for mapping in mappings:
                while mapping.poll():
                    pass
            if count % AUDIT_EVERY_TICKS == 0:
                # Only slots since the server started: before it nothing could have run.
                auditor.run(now, not_before=start)
        time.sleep(max(0.0, TICK_SECONDS - (clock.now() - now).total_seconds()))


def _schedule(res: JobResources, start: datetime) -> Schedule:
    plan = res.plan
    schedule = parse_schedule(plan.schedule_expression, timezone=plan.timezone,
                              scheduler=plan.timezone is not None)
    # A rate() rule counts from its creation: here, the minute the server started.
    return schedule.anchored(start) if isinstance(schedule, RateSchedule) else schedule


def _fire_due(rule: _Rule, now: datetime, rules: EventBridgeRules, sqs: Any) -> None:
    due = [t for t in rule.schedule.next_fire_times(rule.fired_through, 100) if t <= now]
    if not due:
        return
    rule.fired_through = due[-1]
    # Read every time: `cronbridge disable` in another shell must stop the next firing.
    if rules.state(rule.resources.plan.rule_name) != ENABLED:
        return
    for when in due:
        event = scheduled_event(rule_arn=rule.resources.rule_arn or "", time=when,
                                account=LOCAL_ACCOUNT, region=LOCAL_ENV["AWS_REGION"])
        sqs.send_message(QueueUrl=rule.resources.queue_url, MessageBody=json.dumps(event))
