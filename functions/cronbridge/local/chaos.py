"""Fault injection for local simulations, and the execution ledger that checks the result.

The ledger is kept outside the run table on purpose: it records what the job bodies really
did, so it can catch the run table being wrong.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cronbridge.core.context import JobContext
from cronbridge.core.errors import StoreBusyError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.ports import RunStore
from cronbridge.core.slots import slot_time
from cronbridge.local.esm import SimulatedCrash

CHAOS_KINDS = ("failure", "duplicate", "crash", "throttle", "late")


@dataclass(frozen=True)
class Chaos:
    """Probabilities (0-1) of each injected fault.

    failure: a job attempt raises a transient error; duplicate: EventBridge delivers an event
    twice; crash: the worker dies mid-run without writing (and, with the same probability,
    right after writing a finish and right before sending a dead letter); throttle: a
    run-table write is throttled past the SDK's retries (see :class:`ChaosStore`); late: an
    event arrives up to 3 hours late.
    """

    failure: float = 0.0
    duplicate: float = 0.0
    crash: float = 0.0
    throttle: float = 0.0
    late: float = 0.0

    @classmethod
    def parse(cls, text: str | None) -> Chaos:
        """Parse ``failure=0.3,duplicate=0.2,...``.

        Raises:
            ValueError: an unknown kind or a probability outside 0-1, naming it.
        """
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in (text or "").split(","))):
            name, sep, raw = part.partition("=")
            if not sep or name not in CHAOS_KINDS:
                raise ValueError(f"chaos item {part!r}: expected KIND=PROBABILITY with KIND one "
                                 f"of {', '.join(CHAOS_KINDS)}")
            try:
                probability = float(raw)
            except ValueError:
                raise ValueError(f"chaos item {part!r}: {raw!r} is not a number") from None
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"chaos item {part!r}: probability must be between 0 and 1")
            values[name] = probability
        return cls(**values)

    def active(self) -> bool:
        return any(dataclasses.astuple(self))


@dataclass
class Ledger:
    """What really happened, kept outside the run table by the job bodies and the injector.

    Attributes:
        executions: every execution of a job body, ``(job, slot) -> outcomes``.
        claims: every claim the store accepted, ``job -> [(epoch seconds, slot)]`` (a
            claimed slot holds the job's overlap lease even if its body never ran).
        paused: the jobs an operator paused during the run.
    """

    executions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    claims: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)

    def record(self, job: str, slot: str, outcome: str) -> None:
        self.executions.setdefault((job, slot), []).append(outcome)

    def claimed(self, job: str, slot: str, at: float) -> None:
        self.claims.setdefault(job, []).append((at, slot))

    def succeeded_more_than_once(self) -> int:
        return sum(1 for outcomes in self.executions.values()
                   if Counter(outcomes)["succeeded"] > 1)

    def successes(self) -> set[tuple[str, str]]:
        return {key for key, outcomes in self.executions.items() if "succeeded" in outcomes}

    def another_slot_claimed(self, job: str, slot: str, since: float, until: float) -> bool:
        """Whether a slot other than ``slot`` was claimed in ``[since, until]``."""
        return any(since <= at <= until and other != slot
                   for at, other in self.claims.get(job, []))


@dataclass(frozen=True)
class RunRecord:
    """What the run table says about one slot (times in epoch seconds)."""

    job: str
    slot: str
    status: str
    skip_reason: str | None = None
    finished_at: float | None = None
    dead_token: str | None = None


@dataclass
class Accounting:
    """Which expected slots the evidence accounts for, and what broke the contract."""

    accounted: set[tuple[str, str]] = field(default_factory=set)
    skips_unconfirmed: int = 0
    dead_not_redrivable: int = 0
    stuck_running: int = 0
    executed_nothing: bool = False


def account(expected: set[tuple[str, str]], runs: list[RunRecord],
            dead_tokens: set[tuple[str, str, str]], ledger: Ledger, specs: dict[str, JobSpec],
            lease_seconds: dict[str, int]) -> Accounting:
    """Check the run table against evidence kept outside it.

    A slot is accounted for when it is SUCCEEDED and the ledger saw its body succeed; DEAD,
    never succeeded, with a dead letter carrying the run's dead token (so a redrive can run
    it); or SKIPPED, never run, for a reason the ledger or the schedule confirms: ``overlap``
    if the job skips overlaps and another of its slots was claimed within a lease before
    the skip, ``late`` if the skip came past the job's starting deadline, ``paused`` if an
    operator paused the job. A run in which slots were expected but no job body executed
    proves nothing, whatever the table says (``executed_nothing``).

    Args:
        expected: ``(job, slot)`` of every slot the schedules fired.
        dead_tokens: ``(job, slot, dead token)`` of every dead letter.
        lease_seconds: per job.
    """
    result = Accounting(executed_nothing=bool(expected) and not ledger.executions)
    succeeded = ledger.successes()
    for run in runs:
        key = (run.job, run.slot)
        if run.status == "RUNNING":
            result.stuck_running += 1
        elif run.status == "SUCCEEDED" and key in succeeded:
            result.accounted.add(key)
        elif run.status == "DEAD" and key not in succeeded:
            if run.dead_token and (run.job, run.slot, run.dead_token) in dead_tokens:
                result.accounted.add(key)
            else:
                result.dead_not_redrivable += 1
        elif run.status == "SKIPPED" and key not in succeeded:
            if _skip_confirmed(run, ledger, specs[run.job], lease_seconds[run.job]):
                result.accounted.add(key)
            else:
                result.skips_unconfirmed += 1
    return result


def _skip_confirmed(run: RunRecord, ledger: Ledger, spec: JobSpec, lease: int) -> bool:
    at = run.finished_at or 0.0
    if run.skip_reason == "overlap":
        return spec.overlap == "skip" and ledger.another_slot_claimed(run.job, run.slot,
                                                                       at - lease, at)
    if run.skip_reason == "late":
        scheduled = slot_time(run.slot)
        return (spec.starting_deadline_seconds is not None and scheduled is not None
                and at - scheduled.timestamp() > spec.starting_deadline_seconds)
    return run.skip_reason == "paused" and run.job in ledger.paused


class InjectedFailure(ConnectionError):
    """A transient failure injected by the chaos settings (retryable)."""


def instrument(registry: JobRegistry, ledger: Ledger, chaos: Chaos,
               rng: random.Random) -> JobRegistry:
    """A copy of ``registry`` whose job bodies record to ``ledger`` and suffer ``chaos``."""
    wrapped = JobRegistry()
    for spec in registry:
        wrapped.add(dataclasses.replace(spec, func=_wrap(spec, ledger, chaos, rng)))
    return wrapped


def _wrap(spec: JobSpec, ledger: Ledger, chaos: Chaos, rng: random.Random):
    def run(ctx: JobContext) -> Any:
        roll = rng.random()
        if roll < chaos.crash:
            ledger.record(spec.name, ctx.slot, "crashed")
            raise SimulatedCrash(f"chaos: worker died running {spec.name} {ctx.slot}")
        if roll < chaos.crash + chaos.failure:
            ledger.record(spec.name, ctx.slot, "failed")
            raise InjectedFailure("chaos: injected transient failure")
        try:
            result = spec.func(ctx)
        except Exception:
            ledger.record(spec.name, ctx.slot, "failed")
            raise
        ledger.record(spec.name, ctx.slot, "succeeded")
        return result

    run.__name__ = getattr(spec.func, "__name__", spec.name)
    return run


class ChaosStore:
    """A run store suffering ``chaos`` on its writes.

    throttle: a write fails with :class:`StoreBusyError` (as if the SDK's retries were
    exhausted), half of the time before it reaches DynamoDB and half of the time after it
    went through with its answer lost, so the service meets its own writes again.
    crash: the worker dies right after a finish is written, before it acknowledges, sends
    the dead letter or sets the retry's visibility.
    """

    def __init__(self, store: RunStore, chaos: Chaos, rng: random.Random,
                 ledger: Ledger | None = None) -> None:
        self._store = store
        self._chaos = chaos
        self._rng = rng
        self._ledger = ledger
        self.throttled = 0
        self.crashes = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if name not in ("claim", "finish", "skip", "checkpoint"):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            roll = self._rng.random()
            if roll < self._chaos.throttle / 2:
                self._throttle()
            result = target(*args, **kwargs)
            if name == "claim" and result is None and self._ledger is not None:
                claim = args[0]
                self._ledger.claimed(claim.job, claim.slot, claim.now)
            if roll < self._chaos.throttle:
                self._throttle()
            if name == "finish" and self._rng.random() < self._chaos.crash:
                self.crashes += 1
                raise SimulatedCrash("chaos: worker died after writing a finish")
            return result

        return call

    def _throttle(self) -> None:
        self.throttled += 1
        raise StoreBusyError("chaos: ProvisionedThroughputExceededException")


class CrashingSqs:
    """An SQS client whose dead-letter sends are preceded by a worker crash with
    probability ``p`` (the DEAD write went through; the message was not yet sent)."""

    def __init__(self, client: Any, p: float, rng: random.Random) -> None:
        self._client = client
        self._p = p
        self._rng = rng
        self.crashes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message(self, **kwargs: Any) -> Any:
        if self._rng.random() < self._p:
            self.crashes += 1
            raise SimulatedCrash("chaos: worker died before sending a dead letter")
        return self._client.send_message(**kwargs)
