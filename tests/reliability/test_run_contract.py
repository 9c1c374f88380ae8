"""A model test of the run-state contract (DESIGN.md §3), over any run store.

A hypothesis ``RuleBasedStateMachine`` drives the real :class:`SlotService` through a model
SQS queue (visibility, receive counts, the ``maxReceiveCount`` redrive policy, retention)
and interleaves scheduled deliveries, duplicates, backfills, manual triggers, crashes before
and after every store write and message action, throttles, job failures, lease expiry,
pauses, TTL deletion and operator redrives. A ledger outside the store counts every job
body that succeeded.

After every step: no slot's body succeeded twice; every SUCCEEDED record was run once,
every SKIPPED one never; a dead letter without a reason exists only where the worker died
on the message's last receive. At the end a fault-free drain, with operator redrives of
whatever is DEAD, must leave nothing queued or RUNNING and every slot SUCCEEDED once or
SKIPPED.

The same machine runs over the in-memory store and over DynamoDB (moto): the contract is
the store's, whatever writes implement it.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from cronbridge.adapters.memory import MemoryRunStore
from cronbridge.core.errors import BadMessageError, PermanentError, StoreBusyError
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.messages import command_body, parse_body, scheduled_event
from cronbridge.core.plan import build_plan
from cronbridge.core.runstate import Status, Trigger
from cronbridge.service import (ATTR_ERROR_TYPE, CLOCK_SKEW, RETENTION_PASSED, Ack, Message,
                                SlotService, redrive_attributes)
from run_harness import ModelQueue, MutableClock, RecordingTelemetry

START = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
SLOTS = [START + timedelta(minutes=i) for i in range(4)]
MANUAL_IDS = ["a", "b"]
RETENTION_DAYS = 16               # the shortest the plan allows
NOT_REDRIVABLE = {BadMessageError.__name__, CLOCK_SKEW, RETENTION_PASSED}
_names = itertools.count()


class Crash(BaseException):
    """The worker dies (nothing in the worker catches a BaseException)."""


# -- stores ---------------------------------------------------------------------------------

class MemoryBackend:
    """The in-memory store, with TTL deletion and pausing."""

    def __init__(self) -> None:
        self.store = MemoryRunStore()

    def records(self, job: str) -> dict[str, dict[str, Any]]:
        return {slot: run for (name, slot), run in self.store.runs.items() if name == job}

    def expire(self, job: str, now: float) -> dict[str, str]:
        gone = {slot: run["status"] for slot, run in self.records(job).items()
                if run.get("expires_at") is not None and run["expires_at"] <= now}
        for slot in gone:
            del self.store.runs[(job, slot)]
        return gone

    def set_paused(self, job: str, paused: bool, now: float) -> None:
        self.store.set_paused(job, paused)


class DynamoBackend:
    """The DynamoDB store on moto. moto keeps expired items, so :meth:`expire` deletes
    them as DynamoDB's TTL sweeper would."""

    def __init__(self, table: str) -> None:
        from cronbridge.adapters.dynamodb import RUN_PREFIX, DynamoRunStore

        self.store = DynamoRunStore(table)
        self._prefix = RUN_PREFIX

    def _items(self, job: str) -> Iterator[Any]:
        return self.store.Run.query(job, self.store.Run.sk.startswith(self._prefix),
                                    consistent_read=True)

    def records(self, job: str) -> dict[str, dict[str, Any]]:
        return {item.slot: {"status": item.status, "dead_token": item.dead_token,
                            "expires_at": item.expires_at} for item in self._items(job)}

    def expire(self, job: str, now: float) -> dict[str, str]:
        gone = {}
        for item in self._items(job):
            if item.expires_at is not None and item.expires_at <= now:
                gone[item.slot] = item.status
                item.delete()
        return gone

    def set_paused(self, job: str, paused: bool, now: float) -> None:
        self.store.set_paused(job, paused, now=now)


# -- faults ---------------------------------------------------------------------------------

@dataclass
class Fault:
    """Strike at the ``at``-th port call of the next delivery, ``before`` or after it."""

    at: int
    before: bool
    kind: str                    # "crash" or "throttle" (store calls only)


class Faulty:
    """Wraps a port; counts calls across the store and the message actions of a delivery
    and strikes where the armed :class:`Fault` says."""

    def __init__(self, target: Any, names: tuple[str, ...], counter: Callable[[str], Fault | None]
                 ) -> None:
        self._target, self._names, self._counter = target, names, counter

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._target, name)
        if name not in self._names:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            fault = self._counter(name)
            if fault and fault.before:
                _strike(fault)
            result = target(*args, **kwargs)
            if fault and not fault.before:
                _strike(fault)
            return result

        return call


def _strike(fault: Fault) -> None:
    if fault.kind == "throttle":
        raise StoreBusyError("model: throttled")
    raise Crash()


# -- the machine ----------------------------------------------------------------------------

class RunContract(RuleBasedStateMachine):
    """See the module docstring. ``make_backend`` gives a fresh backend per example."""

    make_backend: Callable[[], Any] = MemoryBackend

    def __init__(self) -> None:
        super().__init__()
        self.clock = MutableClock(START)
        self.job = f"job{next(_names)}"
        self.behaviours: list[str] = []
        self.ledger: Counter[str] = Counter()
        self.fault: Fault | None = None
        self.calls = 0
        self.expired: dict[str, str] = {}
        self.sent: set[str] = set()
        self.dropped: set[str] = set()
        self.backend = type(self).make_backend()

    @initialize(overlap=st.sampled_from(["skip", "allow", "buffer"]),
                deadline=st.sampled_from([None, 600]))
    def setup(self, overlap: str, deadline: int | None) -> None:
        def body(ctx: Any) -> None:
            what = self.behaviours.pop(0) if self.behaviours else "ok"
            if what == "crash":
                raise Crash()
            if what == "fail":
                raise ConnectionError("transient")
            if what == "permanent":
                raise PermanentError("bad")
            if what == "slow":
                self.clock.advance(120)          # the lease (60 + 30 s) runs out meanwhile
            self.ledger[ctx.slot] += 1

        self.registry = JobRegistry()
        self.registry.add(JobSpec(name=self.job, schedule="cron(* * * * ? *)", func=body,
                                  timeout_seconds=60, max_attempts=3, overlap=overlap,
                                  backoff_base_seconds=5, retention_days=RETENTION_DAYS,
                                  starting_deadline_seconds=deadline))
        plan = build_plan(self.registry, app="m")
        job_plan = plan.jobs[0]
        self.rule_arn = f"arn:aws:events:us-east-1:123456789012:rule/{job_plan.rule_name}"
        self.queue = ModelQueue(self.clock, job_plan.visibility_timeout_seconds,
                           job_plan.max_receive_count, job_plan.queue_retention_seconds,
                           job_plan.dlq_retention_seconds)
        self.service = SlotService(
            registry=self.registry, plan=plan,
            store=Faulty(self.backend.store, ("claim", "finish", "skip", "checkpoint",
                                              "consecutive_failures"), self._next_call),
            actions=Faulty(self.queue, ("change_visibility", "send_to_dlq"), self._next_call),
            telemetry=RecordingTelemetry(), clock=self.clock, serves=self.job,
            rng=random.Random(0))

    def _next_call(self, name: str) -> Fault | None:
        self.calls += 1
        fault = self.fault
        if fault is None or fault.at != self.calls:
            return None
        if fault.kind == "throttle" and name in ("change_visibility", "send_to_dlq"):
            return None
        return fault

    # -- deliveries --------------------------------------------------------------------

    def _event(self, slot: datetime, stamp_seconds: int = 0) -> str:
        return json.dumps(scheduled_event(rule_arn=self.rule_arn,
                                          time=slot + timedelta(seconds=stamp_seconds),
                                          account="123456789012", region="us-east-1"))

    @precondition(lambda self: self.clock.now() - START < timedelta(hours=23))
    @rule(index=st.integers(0, len(SLOTS) - 1), stamp=st.sampled_from([0, 8, 59]))
    def fire(self, index: int, stamp: int) -> None:
        """EventBridge delivers a slot (again: a duplicate), stamped up to 59 s late, within
        its 24 h of retries."""
        self.queue.send(self._event(SLOTS[index], stamp))
        self.sent.add(SLOTS[index].strftime("%Y-%m-%dT%H:%M:00Z"))

    @rule(index=st.integers(0, len(SLOTS) - 1))
    def backfill(self, index: int) -> None:
        slot = SLOTS[index].strftime("%Y-%m-%dT%H:%M:00Z")
        self.queue.send(command_body(self.job, Trigger.BACKFILL, slot=slot))
        self.sent.add(slot)

    @rule(trigger_id=st.sampled_from(MANUAL_IDS))
    def trigger(self, trigger_id: str) -> None:
        self.queue.send(command_body(self.job, Trigger.MANUAL, slot=f"manual:{trigger_id}"))
        self.sent.add(f"manual:{trigger_id}")

    @rule(pick=st.integers(0, 7),
          behaviour=st.sampled_from(["ok", "ok", "fail", "crash", "permanent", "slow"]),
          fault=st.none() | st.builds(Fault, at=st.integers(1, 6), before=st.booleans(),
                                      kind=st.sampled_from(["crash", "throttle"])))
    def deliver(self, pick: int, behaviour: str, fault: Fault | None) -> None:
        """The event source mapping receives one visible message and invokes the worker,
        which may die (or be throttled) at any store write or message action."""
        visible = self.queue.visible()
        if not visible:
            return
        self.behaviours[:0] = [behaviour]
        self._process(visible[pick % len(visible)], fault)
        self.behaviours.clear()

    @rule(pick=st.integers(0, 7))
    def worn(self, pick: int) -> None:
        """A message was received all but once by workers that died before their first
        write (nothing else changes), so the next delivery is its last."""
        if self.queue.messages:
            mids = list(self.queue.messages)
            msg = self.queue.messages[mids[pick % len(mids)]]
            msg["receives"] = max(msg["receives"], self.queue.max_receive_count - 1)
            msg["crashed"] = True

    def _process(self, mid: str, fault: Fault | None) -> None:
        msg = self.queue.messages[mid]
        if msg["receives"] >= self.queue.max_receive_count:
            # SQS's redrive policy: moved as it is, with no cronbridge attributes.
            del self.queue.messages[mid]
            self.queue.dlq.append({"body": msg["body"], "attrs": dict(msg["attrs"]),
                                   "enqueued": msg["enqueued"], "crashed": msg["crashed"]})
            return
        msg["receives"] += 1
        msg["visible_at"] = self.queue.now() + self.queue.visibility
        self.fault, self.calls = fault, 0
        try:
            result = self.service.handle(Message(mid, msg["body"], mid, msg["attrs"],
                                                 receive_count=msg["receives"]))
        except Crash:
            msg["crashed"] = True
            return
        finally:
            self.fault = None
        msg["crashed"] = False
        if result.ack is Ack.DONE:
            del self.queue.messages[mid]

    # -- time, operators ---------------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 5, 30, 91, 400, 3600]))
    def tick(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(days=st.sampled_from([2, RETENTION_DAYS + 1]))
    def age(self, days: int) -> None:
        """Days pass with the workers stopped: SQS drops what outlived its retention, and
        DynamoDB's TTL deletes expired run records."""
        self.clock.advance(days * 86400)
        self.dropped |= {self._slot(body) for body in self.queue.expire()}
        gone = self.backend.expire(self.job, self.queue.now())
        self.expired.update(gone)
        for slot in gone:
            if slot.startswith("manual:"):
                # Its id is free again: the same id later is a new request, not a copy (no
                # copy outlives the record, which the plan's retention rule guarantees).
                self.ledger.pop(slot, None)

    @rule(paused=st.booleans())
    def pause(self, paused: bool) -> None:
        self.backend.set_paused(self.job, paused, self.queue.now())

    @rule(pick=st.integers(0, 7))
    def redrive(self, pick: int) -> None:
        """An operator redrives one dead letter (as ``cronbridge redrive`` does)."""
        if self.queue.dlq:
            self._redrive(self.queue.dlq[pick % len(self.queue.dlq)])

    def _redrive(self, letter: dict[str, Any]) -> bool:
        attrs = letter["attrs"]
        if attrs.get(ATTR_ERROR_TYPE) in NOT_REDRIVABLE:
            return False
        slot = self._slot(letter["body"])
        run = self.backend.records(self.job).get(slot)
        if run is not None and run["status"] in (Status.SUCCEEDED.value, Status.SKIPPED.value):
            return False
        self.queue.dlq.remove(letter)
        self.queue.send(letter["body"], redrive_attributes(
            attrs, job=self.job, slot=slot, run_status=run and run["status"],
            run_dead_token=run and run.get("dead_token")))
        return True

    def _slot(self, body: str) -> str:
        return parse_body(body, job_for_rule=lambda rule: self.registry.get(self.job),
                          get_job=self.registry.get).slot

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def at_most_one_success_per_slot(self) -> None:
        assert not [slot for slot, count in self.ledger.items() if count > 1], self.ledger

    @invariant()
    def records_agree_with_the_ledger(self) -> None:
        for slot, run in self.backend.records(self.job).items():
            if run["status"] == Status.SUCCEEDED.value:
                assert self.ledger[slot] == 1, (slot, run)
            elif run["status"] in (Status.SKIPPED.value, Status.DEAD.value):
                assert self.ledger[slot] == 0, (slot, run)

    @invariant()
    def a_dead_letter_without_a_reason_follows_a_crash_on_the_last_receive(self) -> None:
        for letter in self.queue.dlq:
            assert letter["attrs"].get(ATTR_ERROR_TYPE) or letter["crashed"], letter

    def teardown(self) -> None:
        if not hasattr(self, "queue"):
            return
        self.behaviours.clear()
        self.backend.set_paused(self.job, False, self.queue.now())
        for _ in range(400):
            if self.queue.messages:
                visible = self.queue.visible()
                if visible:
                    self._process(visible[0], None)
                else:
                    self.clock.advance(max(1, min(m["visible_at"] for m in
                                                  self.queue.messages.values())
                                           - self.queue.now()))
            else:
                moved = [self._redrive(letter) for letter in list(self.queue.dlq)]
                if not any(moved):
                    break
        assert not self.queue.messages
        self.at_most_one_success_per_slot()
        records = self.backend.records(self.job)
        for slot in self.sent:
            run = records.get(slot)
            if run is None or (slot in self.dropped
                               and run["status"] in ("FAILED", "RUNNING", "DEAD")):
                # Expired by TTL, or never recorded because every copy was refused (past
                # retention), or its copies outlived SQS's retention while the workers
                # were stopped (beyond the contract: SQS deleted the slot's only message).
                continue
            assert (run["status"] == Status.SUCCEEDED.value and self.ledger[slot] == 1
                    or run["status"] == Status.SKIPPED.value and self.ledger[slot] == 0), (
                slot, run, self.queue.dlq)
        for letter in self.queue.dlq:   # what an operator's redrive leaves, and why
            run = records.get(self._slot(letter["body"]))
            assert (letter["attrs"].get(ATTR_ERROR_TYPE) in NOT_REDRIVABLE
                    or run is not None and run["status"] in ("SUCCEEDED", "SKIPPED")), letter


@contextmanager
def moto_table() -> Iterator[str]:
    from cronbridge.local.clock import SimulatedClock
    from cronbridge.local.embedded import embedded_aws
    from cronbridge.local.provision import provision

    with embedded_aws(SimulatedClock(START)):
        registry = JobRegistry()
        registry.add(JobSpec(name="seed", schedule="rate(1 hour)", func=print))
        plan = build_plan(registry, app="m")
        provision(plan)
        yield plan.table_name


def test_run_contract_over_the_memory_store() -> None:
    run_state_machine_as_test(RunContract, settings=settings(
        max_examples=150, stateful_step_count=40, deadline=None,
        suppress_health_check=list(HealthCheck)))


def test_run_contract_over_dynamodb_on_moto() -> None:
    with moto_table() as table:
        machine = type("RunContractDynamo", (RunContract,),
                       {"make_backend": staticmethod(lambda: DynamoBackend(table))})
        run_state_machine_as_test(machine, settings=settings(
            max_examples=25, stateful_step_count=30, deadline=None,
            suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("store", ["memory", "dynamodb"])
def test_a_slot_dead_lettered_by_sqs_after_its_dead_write_is_recovered_by_redrive(store):
    # Issue 11 (1): the worker wrote DEAD, then died before its DLQ send on the receive
    # that reached maxReceiveCount; SQS moved the message without a dead token, the redrive
    # was acknowledged as a duplicate and the slot stayed DEAD for good.
    with moto_table() as table:
        machine = type("Machine", (RunContract,), {"make_backend": staticmethod(
            MemoryBackend if store == "memory" else lambda: DynamoBackend(table))})()
        machine.setup(overlap="skip", deadline=None)
        machine.backfill(0)
        machine.worn(0)
        # The third port call is the DLQ send (after the claim and the DEAD finish).
        machine.deliver(0, "permanent", Fault(at=3, before=True, kind="crash"))
        slot = "2026-11-30T02:00:00Z"
        assert machine.backend.records(machine.job)[slot]["status"] == "DEAD"
        machine.tick(3600)
        machine.deliver(0, "ok", None)                    # SQS's redrive policy moves it
        [letter] = machine.queue.dlq
        assert letter["attrs"] == {}
        machine.teardown()                                # redrives it, recovering the token
        assert machine.backend.records(machine.job)[slot]["status"] == "SUCCEEDED"
        assert machine.ledger[slot] == 1


def test_a_retry_blocked_by_another_slots_crashed_run_waits_instead_of_dead_lettering():
    # Found by the earlier property test: slot 0's retry, blocked by slot 1's crashed run,
    # looped skip/claim until maxReceiveCount dead-lettered it with its run still FAILED.
    machine = RunContract()
    machine.setup(overlap="skip", deadline=None)
    machine.fire(0, 0)
    machine.fire(1, 0)
    machine.deliver(0, "fail", None)
    machine.tick(30)
    machine.deliver(1, "crash", None)
    for _ in range(12):
        machine.tick(30)
        machine.deliver(0, "ok", None)
        machine.a_dead_letter_without_a_reason_follows_a_crash_on_the_last_receive()
    machine.teardown()
