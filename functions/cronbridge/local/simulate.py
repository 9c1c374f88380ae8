"""``cronbridge local --simulate``: a window of schedules on the embedded AWS, in seconds.

Each enabled rule fires its slots as EventBridge would (the scheduled-event shape, sent to
the rule's target queue), each enabled Scheduler schedule, job-level or per key, as
Scheduler would (:mod:`cronbridge.local.scheduler`), and each job queue is drained by an emulated event source mapping
into the real Lambda handler. Time is simulated: nothing sleeps.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from cronbridge.adapters.dlq import peek
from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core.jobs import JobRegistry, load_job_modules
from cronbridge.core.messages import scheduled_event
from cronbridge.core.plan import DeploymentPlan, build_plan
from cronbridge.core.runstate import Outcome, Status
from cronbridge.core.schedule import parse_schedule
from cronbridge.core.slots import format_slot
from cronbridge.local.chaos import (
    Chaos,
    ChaosStore,
    CrashingSqs,
    Ledger,
    RunRecord,
    account,
    instrument,
)
from cronbridge.local.clock import SimulatedClock
from cronbridge.local.embedded import LOCAL_ACCOUNT, embedded_aws, queue_has_visible_messages
from cronbridge.local.esm import EventSourceMapping, ObservedWorker
from cronbridge.local.provision import JobResources, provision
from cronbridge.local.scheduler import Firing, LocalScheduler
from cronbridge.local_resources import run_local_resources
from cronbridge.project import load_project
from cronbridge.runtime.settings import Settings
from cronbridge.service import ATTR_DEAD_TOKEN, ATTR_JOB, ATTR_SLOT, Result

TICK = timedelta(minutes=1)
# After the window, keep the clock running until retries and backoffs settle (bounded).
DRAIN_LIMIT = timedelta(hours=12)
MAX_LATE = timedelta(hours=3)
REGION = "us-east-1"


@dataclass
class JobSummary:
    expected: int = 0
    succeeded: int = 0
    failed_attempts: int = 0
    skipped: int = 0
    dead: int = 0
    duplicates_suppressed: int = 0


@dataclass
class Simulation:
    """What a simulation did, in the ``--summary-json`` shape (see :meth:`to_json`)."""

    start: datetime
    end: datetime
    jobs: dict[str, JobSummary] = field(default_factory=dict)
    slots_expected: int = 0
    slots_accounted: int = 0
    invariants: dict[str, int] = field(default_factory=dict)
    chaos: Chaos = field(default_factory=Chaos)
    seed: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": format_slot(self.start), "end": format_slot(self.end),
            "jobs": {name: vars(summary) for name, summary in self.jobs.items()},
            "slots_expected": self.slots_expected, "slots_accounted": self.slots_accounted,
            "invariants": self.invariants,
        }
        if self.chaos.active():
            out["chaos"] = vars(self.chaos) | {"seed": self.seed}
        out["stats"] = self.stats
        return out

    def ok(self) -> bool:
        return self.slots_accounted == self.slots_expected and not any(self.invariants.values())


def fire_times(plan: DeploymentPlan, resources: dict[str, JobResources], start: datetime,
               end: datetime, seed: int = 0) -> list[Firing]:
    """Every firing in ``[start, end)``: the enabled rules' (read back from EventBridge,
    ``rate()`` anchored at ``start``, the provisioning time) and the enabled Scheduler
    schedules' (:class:`~cronbridge.local.scheduler.LocalScheduler`), by delivery time."""
    events = boto3.client("events")
    fires: list[tuple[datetime, str]] = []
    for name, res in resources.items():
        if res.rule_arn is None:
            continue
        rule = events.describe_rule(Name=res.plan.rule_name)
        if rule["State"] != "ENABLED":
            continue
        schedule = parse_schedule(rule["ScheduleExpression"], timezone=res.plan.timezone,
                                  scheduler=res.plan.timezone is not None)
        if schedule.kind == "rate":
            schedule = schedule.anchored(start)  # type: ignore[attr-defined]
        after = start - timedelta(microseconds=1)
        while True:
            batch = schedule.next_fire_times(after, 500)
            fires += [(t, name) for t in batch if t < end]
            if len(batch) < 500 or batch[-1] >= end:
                break
            after = batch[-1]
    firings = [_rule_firing(resources[job], when) for when, job in fires]
    before = timedelta(microseconds=1)
    firings += LocalScheduler(plan, boto3.client("scheduler"), boto3.client("sqs"), seed=seed,
                              anchor=start).due(start - before, end - before)
    return sorted(firings)


def _rule_firing(res: JobResources, when: datetime) -> Firing:
    event = scheduled_event(rule_arn=res.rule_arn or "", time=when, account=LOCAL_ACCOUNT,
                            region=REGION)
    return Firing(when, when, res.plan.job, format_slot(when), res.queue_url, json.dumps(event))


def run_simulation(start: datetime, duration: timedelta, *, chaos: Chaos | None = None,
                   seed: int = 7, job_modules: tuple[str, ...] | None = None,
                   log_path: Path | None = None, app: str = "cronbridge",
                   registry: JobRegistry | None = None) -> Simulation:
    """Simulate ``duration`` of schedules from ``start`` (aware UTC) on an embedded moto.

    ``job_modules``: default the project's (``[tool.cronbridge]``, see :mod:`cronbridge.project`).
    ``registry`` holds the jobs to run (default: every job the job modules register).
    Returns the per-job counts and invariants. Deterministic for a given ``seed``.

    Raises:
        ValueError: a naive ``start`` or a non-positive ``duration``.
    """
    if duration <= timedelta(0):
        raise ValueError("the simulated duration must be positive")
    chaos = chaos or Chaos()
    end = start + duration
    clock = SimulatedClock(start)
    rng = random.Random(seed)
    ledger = Ledger()
    settings = Settings(app=app, table_name=f"{app}-runs",
                        job_modules=job_modules or load_project().job_modules)
    log_path = log_path or Path(".cronbridge/local/worker.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    from cronbridge.runtime import handler

    with embedded_aws(clock), log_path.open("w") as log, redirect_stdout(log), \
            handler_logs_to(handler, log):
        registry = registry or load_job_modules(settings.job_modules)
        plan = build_plan(registry, app=app, job_modules=settings.job_modules)
        resources = provision(plan)
        run_local_resources(settings.job_modules, start, end)
        worker, results = install_worker(settings, plan,
                                         instrument(registry, ledger, chaos, rng),
                                         clock, rng, chaos, ledger)
        sqs = boto3.client("sqs")
        mappings = [EventSourceMapping(sqs, res, handler.lambda_handler, clock, REGION,
                                       ready=queue_has_visible_messages)
                    for res in resources.values()]
        fires = fire_times(plan, resources, start, end, seed)
        _drive(clock, fires, resources, mappings, sqs, chaos, rng, end)
        result = _summarise(plan, resources, clock, results, ledger, fires, start, end,
                            registry)
    result.chaos, result.seed = chaos, seed
    result.stats = {"invocations": sum(m.invocations for m in mappings),
                    "crashes": sum(m.crashes for m in mappings),
                    "crashes_after_finish": worker.store.crashes,
                    "crashes_before_dead_letter": worker.sqs.crashes,
                    "throttled_writes": worker.store.throttled}
    return result


@contextmanager
def handler_logs_to(handler: Any, log: Any) -> Iterator[None]:
    """Send the Lambda handler's logs to ``log`` for the duration; afterwards the handler
    builds a fresh worker (whatever :func:`install_worker` put in is dropped)."""
    # The handler's Powertools logger writes to the stream it was created with; point it at
    # the log file so the terminal shows only the summary, and give both back afterwards.
    previous = handler.telemetry.logger.registered_handler.setStream(log)
    try:
        yield
    finally:
        handler.telemetry.logger.registered_handler.setStream(previous)
        handler.use_worker(None)


def install_worker(settings: Settings, plan: DeploymentPlan, registry: Any,
                   clock: SimulatedClock, rng: random.Random, chaos: Chaos,
                   ledger: Ledger | None = None) -> tuple[Any, list[Result]]:
    """Serve the Lambda handler with a worker on ``clock`` whose run store and SQS suffer
    ``chaos``; returns it and the list every handled message's :class:`Result` is added to.
    ``ledger``: the chaos check's outside record of what ran (``None``: none kept)."""
    from cronbridge.runtime import handler
    from cronbridge.runtime.wiring import Worker

    store = ChaosStore(DynamoRunStore(settings.table_name), chaos, rng, ledger)
    sqs = CrashingSqs(boto3.client("sqs"), chaos.crash, rng)
    worker = Worker(settings, handler.telemetry, clock=clock, store=store, sqs_client=sqs,
                    rng=random.Random(rng.random()), plan=plan, registry=registry)
    results: list[Result] = []
    handler.use_worker(ObservedWorker(worker, lambda record, result: results.append(result)))
    return worker, results


def _drive(clock: SimulatedClock, fires: list[Firing],
           resources: dict[str, JobResources], mappings: list[EventSourceMapping], sqs: Any,
           chaos: Chaos, rng: random.Random, end: datetime) -> None:
    counter = itertools.count()
    pending: list[tuple[datetime, int, Firing]] = []  # (deliver at, seq, firing)
    for firing in fires:
        delays = [timedelta(0)]
        if rng.random() < chaos.duplicate:
            delays.append(timedelta(seconds=rng.randint(0, 600)))
        if rng.random() < chaos.late:
            delays[0] = timedelta(seconds=rng.randint(60, int(MAX_LATE.total_seconds())))
        for delay in delays:
            heapq.heappush(pending, (firing.deliver_at + delay, next(counter), firing))
    now = clock.now()
    while True:
        while pending and pending[0][0] <= now:
            _, _, firing = heapq.heappop(pending)
            sqs.send_message(QueueUrl=firing.queue_url, MessageBody=firing.body)
        for mapping in mappings:
            while mapping.poll():
                pass
        if now >= end and not pending and _queues_empty(sqs, resources):
            return
        if now >= end + DRAIN_LIMIT:
            return
        now = now + TICK
        clock.advance_to(now)


def _queues_empty(sqs: Any, resources: dict[str, JobResources]) -> bool:
    for res in resources.values():
        attrs = sqs.get_queue_attributes(QueueUrl=res.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        if any(int(v) for v in attrs.values()):
            return False
    return True


def _summarise(plan: DeploymentPlan, resources: dict[str, JobResources],
               clock: SimulatedClock, results: list[Result], ledger: Ledger,
               fires: list[Firing], start: datetime, end: datetime,
               registry: Any) -> Simulation:
    """Counts from the run table, and the invariants checked against evidence outside it
    (the ledger, the dead letters, the schedule: see :func:`chaos.account`)."""
    sqs = boto3.client("sqs")
    store = DynamoRunStore(plan.table_name)
    now = clock.now().timestamp()
    duplicates = Counter(r.job for r in results if r.outcome == "duplicate")
    expected = {(firing.job, firing.slot) for firing in fires}
    sim = Simulation(start=start, end=end)
    records: list[RunRecord] = []
    dead_tokens: set[tuple[str, str, str]] = set()
    for job_plan in plan.jobs:
        name = job_plan.job
        dead_tokens |= {(letter.attributes.get(ATTR_JOB, ""), letter.attributes.get(ATTR_SLOT, ""),
                         letter.attributes.get(ATTR_DEAD_TOKEN, ""))
                        for letter in peek(sqs, resources[name].dlq_url, drained_wait=0)}
        summary = JobSummary(expected=sum(1 for job, _ in expected if job == name),
                             duplicates_suppressed=duplicates[name])
        for run in store.runs(name, now=now, newest_first=False):
            records.append(RunRecord(name, run.slot, run.status, run.skip_reason,
                                     run.finished_at, run.dead_token))
            summary.failed_attempts += sum(1 for a in run.attempts or []
                                           if a.outcome in (Outcome.FAILED.value,
                                                            Outcome.TIMED_OUT.value))
            summary.succeeded += run.status == Status.SUCCEEDED.value
            summary.skipped += run.status == Status.SKIPPED.value
            summary.dead += run.status == Status.DEAD.value
        sim.jobs[name] = summary
    checked = account(expected, records, dead_tokens, ledger, {spec.name: spec for spec in registry},
                      {j.job: j.lease_seconds for j in plan.jobs})
    sim.slots_expected = len(expected)
    sim.slots_accounted = len(expected & checked.accounted)
    sim.invariants = {
        "slots_succeeded_more_than_once": ledger.succeeded_more_than_once(),
        "slots_unaccounted": len(expected - checked.accounted),
        "stuck_running": checked.stuck_running,
        "skips_unconfirmed": checked.skips_unconfirmed,
        "dead_not_redrivable": checked.dead_not_redrivable,
        "executed_nothing": int(checked.executed_nothing),
    }
    return sim
