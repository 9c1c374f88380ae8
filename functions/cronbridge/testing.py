"""Testing helpers for a cronbridge project, as a pytest plugin.

Installing cronbridge registers this module with pytest (entry point ``pytest11``), so a
project's tests can use its fixtures without importing anything:

``cronbridge_project`` (session)
    The :class:`~cronbridge.project.Project` of ``[tool.cronbridge]``, found from pytest's
    root directory. Override the fixture in ``conftest.py`` to test another project.
``cronbridge_aws``
    A :class:`LocalAws`: the embedded AWS (moto, in process) with the project deployed on
    it (run table, and per job a queue, a DLQ and a rule) and its ``@local_resources`` hooks
    called for the day from today 00:00 UTC. boto3 clients made during the test reach it.
``run_job``
    ``run_job(job, slot=None, *, payload=None) -> JobRun``: one delivery of a slot to the
    real Lambda handler on that embedded AWS (see :meth:`LocalAws.run_job`).
``simulate``
    ``simulate(duration="2h", *, start=None, chaos=None, seed=7) -> Simulation``: the
    project's jobs over a simulated window, exactly as ``cronbridge local --simulate``
    (``.to_json()`` is its ``--summary-json``). It brings its own embedded AWS: do not
    combine it with ``cronbridge_aws`` in one test.

See docs/testing.md. Importing this module is cheap (pytest loads it in every session):
moto and the worker are imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cronbridge.adapters.dynamodb import RunItem
    from cronbridge.core.jobs import JobRegistry
    from cronbridge.core.plan import DeploymentPlan
    from cronbridge.local.chaos import Chaos
    from cronbridge.local.clock import SimulatedClock
    from cronbridge.local.provision import JobResources
    from cronbridge.local.simulate import Simulation
    from cronbridge.project import Project

# How far ahead the local-resources hooks are asked to prepare (as `local --serve` does).
SETUP_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class JobRun:
    """What one delivery of a slot did.

    Attributes:
        job / slot: the job and the slot id (``2026-11-30T02:00:00Z``).
        outcome: the worker's verdict on the message: ``succeeded``, ``failed`` (a retry is
            due), ``dead`` (in the DLQ), ``skipped_overlap`` / ``skipped_late`` /
            ``skipped_paused``, ``duplicate`` (the slot had already finished), ...
        status: the run record's status (``SUCCEEDED``, ``FAILED``, ``DEAD``, ``SKIPPED``),
            ``None`` without a record.
        attempt: the attempt the record holds (1 for the first).
        result: the body's return value as stored on the record (JSON).
        checkpoint: the last state the body saved with ``ctx.checkpoint``.
        error_type / error_message: the last failed attempt's error.
        record: the run record itself (a pynamodb item), ``None`` if there is none.
    """

    job: str
    slot: str
    outcome: str
    status: str | None
    attempt: int | None
    result: Any
    checkpoint: Any
    error_type: str | None
    error_message: str | None
    record: RunItem | None = field(repr=False)


@dataclass
class LocalAws:
    """The embedded AWS of one test, with a project deployed on it (see :func:`embedded`).

    Attributes:
        project / registry / plan: the project, its jobs and their deployment plan.
        resources: each job's queue, DLQ and rule, by job name.
        clock: the simulated clock the worker and SQS keep time by; it starts at the window
            start and :meth:`run_job` moves it forward to the slot it runs.
        log_path: where the worker's JSON logs and EMF metrics go.
    """

    project: Project
    registry: JobRegistry
    plan: DeploymentPlan
    resources: dict[str, JobResources]
    clock: SimulatedClock
    log_path: Path
    _windows: list[tuple[datetime, datetime]] = field(default_factory=list)

    def setup(self, start: datetime, end: datetime) -> None:
        """Call the project's ``@local_resources`` hooks for ``[start, end)`` (aware UTC),
        unless a window already set up covers it."""
        from cronbridge.local_resources import run_local_resources

        if any(lo <= start and end <= hi for lo, hi in self._windows):
            return
        run_local_resources(self.project.job_modules, start, end)
        self._windows.append((start, end))

    def run_job(self, job: str, slot: datetime | str | None = None, *,
                payload: dict[str, Any] | None = None) -> JobRun:
        """Deliver one message for ``job``'s slot to the real Lambda handler and return what
        it did. The body gets a real ``JobContext``: its checkpoints are fenced writes to
        the run table, and running the same slot again after a failure is the next attempt,
        with ``ctx.resume_state`` from the last checkpoint.

        Args:
            job: the job name.
            slot: any instant (a datetime or ISO-8601 text; UTC when it has no offset); the
                slot is the schedule's fire time at or before it. Default: the job's next fire
                time at or after the clock.
            payload: merged over the job's payload; the message is then a backfill command
                of the slot (``ctx.trigger == "backfill"``), as ``cronbridge backfill``
                sends, instead of the scheduled event.

        Raises:
            UnknownJobError: no such job in the project.
            LocalResourcesError: a hook failed while preparing the slot's window.
        """
        import json
        import random

        import boto3

        from cronbridge.adapters.dynamodb import DynamoRunStore
        from cronbridge.core.messages import command_body, scheduled_event
        from cronbridge.core.runstate import Trigger
        from cronbridge.core.slots import format_slot, snap_to_schedule
        from cronbridge.local.chaos import Chaos
        from cronbridge.local.embedded import LOCAL_ACCOUNT
        from cronbridge.local.esm import EventSourceMapping
        from cronbridge.local.simulate import REGION, handler_logs_to, install_worker
        from cronbridge.runtime import handler
        from cronbridge.runtime.settings import Settings
        from cronbridge.service import Ack

        spec = self.registry.get(job)
        if slot is None:
            when = spec.parsed_schedule.next_fire_times(
                self.clock.now() - timedelta(microseconds=1), 1)[0]
        else:
            when = snap_to_schedule(spec.parsed_schedule, _instant(slot))
        slot_id = format_slot(when)
        self.setup(when, when + SETUP_WINDOW)
        if when > self.clock.now():
            self.clock.advance_to(when)
        res = self.resources[job]
        body = (json.dumps(scheduled_event(rule_arn=res.rule_arn, time=when,
                                           account=LOCAL_ACCOUNT, region=REGION))
                if payload is None else
                command_body(job, Trigger.BACKFILL, slot=slot_id, payload=payload))
        settings = Settings(app=self.plan.app, table_name=self.plan.table_name,
                            job_modules=self.project.job_modules)
        sqs = _Receipts(boto3.client("sqs"))
        with self.log_path.open("a") as log, redirect_stdout(log), \
                handler_logs_to(handler, log):
            _, results = install_worker(settings, self.plan, self.registry, self.clock,
                                        random.Random(0), Chaos())
            sqs.send_message(QueueUrl=res.queue_url, MessageBody=body)
            EventSourceMapping(sqs, res, handler.lambda_handler, self.clock, REGION).poll()
        if results[-1].ack is Ack.RETURN:
            # One delivery per call: a message returned for a retry must not come back in a
            # later call (calling again for the slot is the retry).
            for handle in sqs.handles:
                sqs.delete_message(QueueUrl=res.queue_url, ReceiptHandle=handle)
        record = DynamoRunStore(self.plan.table_name).get_run(job, slot_id,
                                                              now=self.clock.epoch())
        return JobRun(job=job, slot=slot_id, outcome=results[-1].outcome,
                      status=record.status if record else None,
                      attempt=int(record.attempt) if record and record.attempt else None,
                      result=record.result if record else None,
                      checkpoint=record.checkpoint if record else None,
                      error_type=record.error_type if record else None,
                      error_message=record.error_message if record else None,
                      record=record)


class _Receipts:
    """An SQS client that remembers the receipt handles of the messages it received."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.handles: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        response = self._sqs.receive_message(**kwargs)
        self.handles += [m["ReceiptHandle"] for m in response.get("Messages", [])]
        return response


def today() -> datetime:
    """Today 00:00 UTC: where ``cronbridge local`` and these helpers start by default."""
    from cronbridge.cli.local_cmd import parse_start

    return parse_start(None)


def _instant(value: datetime | str) -> datetime:
    """``value`` in UTC; a naive datetime or text without an offset is taken as UTC."""
    from cronbridge.cli.local_cmd import parse_start

    if isinstance(value, str):
        return parse_start(value)
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(
        timezone.utc)


@contextmanager
def embedded(project: Project, *, start: datetime | None = None,
             log_path: Path = Path(".cronbridge/local/test-worker.log")) -> Iterator[LocalAws]:
    """The embedded AWS with ``project`` deployed and its hooks called for
    ``[start, start + 1 day)``; everything is gone on exit.

    Args:
        start: the window start and the clock's (aware UTC); default today 00:00 UTC.

    Raises:
        JobModuleError / JobDefinitionError: the project's jobs cannot be loaded.
        LocalResourcesError: a hook failed.
    """
    from cronbridge.core.plan import build_plan
    from cronbridge.local.clock import SimulatedClock
    from cronbridge.local.embedded import embedded_aws
    from cronbridge.local.provision import provision

    start = start or today()
    registry = project.load_jobs()
    plan = build_plan(registry, app=project.app, job_modules=project.job_modules)
    clock = SimulatedClock(start)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with embedded_aws(clock):
        aws = LocalAws(project, registry, plan, provision(plan), clock, log_path)
        aws.setup(start, start + SETUP_WINDOW)
        yield aws


def simulate(project: Project, duration: timedelta | str = "2h", *,
             start: datetime | None = None, chaos: Chaos | str | None = None, seed: int = 7,
             log_path: Path = Path(".cronbridge/local/worker.log")) -> Simulation:
    """``cronbridge local --simulate DURATION`` for ``project``, returning its summary.

    Args:
        duration: a timedelta or ``90m`` / ``2h`` / ``7d``.
        start: aware UTC; default today 00:00 UTC.
        chaos: faults to inject (a ``Chaos`` or ``"failure=0.3,crash=0.05"``).
        seed: same seed, same summary.

    Returns the :class:`~cronbridge.local.simulate.Simulation`: ``.jobs`` (counts per job),
    ``.slots_expected``, ``.slots_accounted``, ``.invariants``, ``.ok()`` and ``.to_json()``
    (the ``--summary-json`` document).

    Raises:
        ValueError: a bad duration or chaos spec.
        JobModuleError / JobDefinitionError / LocalResourcesError: as ``cronbridge local``.
    """
    from cronbridge.local.chaos import Chaos
    from cronbridge.local.simulate import run_simulation

    if isinstance(duration, str):
        from cronbridge.cli.local_cmd import parse_duration

        duration = parse_duration(duration)
    faults = chaos if isinstance(chaos, Chaos) else Chaos.parse(chaos)
    project.load_jobs()  # the import paths, and one-line errors for a broken job module
    return run_simulation(start or today(), duration, chaos=faults, seed=seed,
                          job_modules=project.job_modules, log_path=log_path, app=project.app)


@pytest.fixture(scope="session")
def cronbridge_project(pytestconfig: pytest.Config) -> Project:
    """The project whose ``pyproject.toml`` is at or above pytest's root directory."""
    from cronbridge.project import load_project

    return load_project(start=pytestconfig.rootpath)


@pytest.fixture
def cronbridge_aws(cronbridge_project: Project, tmp_path: Path) -> Iterator[LocalAws]:
    """The embedded AWS with the project deployed and its local resources created."""
    with embedded(cronbridge_project, log_path=tmp_path / "worker.log") as aws:
        yield aws


@pytest.fixture
def run_job(cronbridge_aws: LocalAws) -> Callable[..., JobRun]:
    """``run_job(job, slot=None, *, payload=None) -> JobRun`` (see :meth:`LocalAws.run_job`)."""
    return cronbridge_aws.run_job


@pytest.fixture(name="simulate")
def simulate_fixture(cronbridge_project: Project, tmp_path: Path) -> Callable[..., Simulation]:
    """``simulate(duration="2h", *, start=None, chaos=None, seed=7) -> Simulation`` for the
    project (see :func:`simulate`)."""

    def run(duration: timedelta | str = "2h", **options: Any) -> Simulation:
        return simulate(cronbridge_project, duration, log_path=tmp_path / "worker.log",
                        **options)

    return run
