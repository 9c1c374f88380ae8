"""One test per failure kind, each asserting the exact outcome; and chaos simulations of the
demo jobs whose invariants must hold (ledger kept outside the run table)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from moto.server import ThreadedMotoServer

from cronbridge.adapters.dynamodb import DynamoRunStore
from cronbridge.core.jobs import JobRegistry
from cronbridge.core.messages import scheduled_event
from cronbridge.core.plan import build_plan
from cronbridge.local.chaos import Chaos, ChaosStore
from cronbridge.local.embedded import local_environment
from cronbridge.local.esm import LambdaContext, lambda_record
from cronbridge.local.provision import provision
from cronbridge.local.simulate import run_simulation
from cronbridge.runtime import handler
from cronbridge.runtime.settings import Settings
from cronbridge.runtime.wiring import Worker
from cronbridge.service import Ack, Message, SlotService
from run_harness import READY_SECONDS, START, MutableClock, RecordingTelemetry, spec

CHAOS = Chaos.parse("failure=0.3,duplicate=0.2,crash=0.05,throttle=0.05,late=0.1")
SIM_START = datetime(2026, 11, 30, tzinfo=timezone.utc)
NO_VIOLATIONS = {"slots_succeeded_more_than_once": 0, "slots_unaccounted": 0, "stuck_running": 0,
                 "skips_unconfirmed": 0, "dead_not_redrivable": 0, "executed_nothing": 0}


@pytest.mark.parametrize("seed, hours", [(1, 6), (2, 4), (3, 4)])
def test_chaos_simulation_keeps_every_invariant(tmp_path, seed, hours):
    sim = run_simulation(SIM_START, timedelta(hours=hours), chaos=CHAOS, seed=seed,
                         log_path=tmp_path / "worker.log")
    assert sim.invariants == NO_VIOLATIONS
    assert sim.slots_accounted == sim.slots_expected > 0
    assert sim.stats["crashes"] > 0 and sim.stats["throttled_writes"] > 0
    assert sum(job.duplicates_suppressed for job in sim.jobs.values()) > 0


def test_same_seed_same_summary(tmp_path):
    first = run_simulation(SIM_START, timedelta(hours=1), chaos=CHAOS, seed=9,
                           log_path=tmp_path / "a.log")
    second = run_simulation(SIM_START, timedelta(hours=1), chaos=CHAOS, seed=9,
                            log_path=tmp_path / "b.log")
    assert first.to_json() == second.to_json()


@pytest.fixture
def batch(harness, moto_clock):
    """Invoke the real handler on what is visible, as the event source mapping would."""
    made = {}

    def setup(job):
        h = harness(job)
        handler.use_worker(Worker(Settings(app="t", table_name=h.plan.table_name),
                                  handler.telemetry, clock=moto_clock, sqs_client=h.sqs,
                                  store=h.store, plan=h.plan, registry=h.registry))
        made["h"] = h
        return h

    def invoke():
        h = made["h"]
        messages = h.receive()
        event = {"Records": [lambda_record(m, h.res.queue_arn, "us-east-1") for m in messages]}
        response = handler.lambda_handler(event, LambdaContext("t-fn", 60, moto_clock))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                h.sqs.delete_message(QueueUrl=h.res.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return messages, failed

    yield setup, invoke
    handler.use_worker(None)


def test_duplicates_in_one_batch_and_across_batches_run_once(batch, moto_clock):
    setup, invoke = batch
    runs = Counter()
    h = setup(spec(func=lambda ctx: runs.update([ctx.slot])))
    for stamp in (0, 8, 30):
        h.send(START + timedelta(seconds=stamp))
    messages, failed = invoke()
    assert len(messages) == 3 and failed == set()
    moto_clock.advance(timedelta(hours=1))
    h.send(START)
    _, failed = invoke()
    assert failed == set() and runs == {"2026-11-30T02:00:00Z": 1}


def test_an_all_failed_batch_returns_every_message(batch):
    setup, invoke = batch
    h = setup(spec(schedule="cron(* * * * ? *)", func=lambda ctx: 1 / 0))
    for minute in range(3):
        h.send(START + timedelta(minutes=minute))
    messages, failed = invoke()
    assert failed == {m["MessageId"] for m in messages} and len(failed) == 3


def test_visibility_shorter_than_the_job_runs_it_once(harness, moto_clock):
    """The message reappears while its job still runs: the redelivery is returned until the
    lease ends, then acknowledged as a duplicate."""
    runs = []
    results = []

    def slow(ctx):
        runs.append(ctx.attempt)
        moto_clock.advance(timedelta(seconds=40))
        h.sqs.change_message_visibility(QueueUrl=h.res.queue_url,
                                        ReceiptHandle=receipt[0], VisibilityTimeout=0)
        moto_clock.advance(timedelta(seconds=1))
        results.extend(h.deliver())                    # another worker gets the message

    h = harness(spec(func=slow))
    h.send(START)
    [message] = h.receive()
    receipt = [message["ReceiptHandle"]]
    assert h.handle(message).outcome == "succeeded"
    assert [r.outcome for r in results] == ["running"] and runs == [1]
    moto_clock.advance(timedelta(seconds=60))
    # moto deletes with the first receipt handle (SQS may not): gone, or a duplicate.
    assert [r.outcome for r in h.deliver()] in ([], ["duplicate"]) and runs == [1]


def test_throttling_returns_the_message_and_the_slot_runs_once_later(harness, moto_clock):
    runs = []
    h = harness(spec(func=runs.append))
    h.service.store = ChaosStore(h.store, Chaos(throttle=1.0), random.Random(0))
    h.send(START)
    assert [r.outcome for r in h.deliver()] == ["store_busy"]
    h.service.store = h.store
    moto_clock.advance(timedelta(seconds=6))
    outcomes = [r.outcome for r in h.deliver()]
    # The throttled claim may have gone through with its answer lost: its lease is then
    # waited out and the slot runs as attempt 2; either way it runs exactly once.
    if outcomes == ["running"]:
        moto_clock.advance(timedelta(seconds=400))
        outcomes = [r.outcome for r in h.deliver()]
    assert outcomes == ["succeeded"] and len(runs) == 1


def test_16_threads_claiming_the_same_slots_on_a_moto_server_run_each_once(monkeypatch):
    # moto applies a transaction in steps without a lock; DynamoDB serialises transactions on
    # an item (a concurrent one is cancelled with TransactionConflict), so serialise them.
    from moto.dynamodb.models import DynamoDBBackend

    from cronbridge.local.embedded import fast_transact_write_items

    serial = threading.Lock()

    def transact(backend, items):
        with serial:
            return fast_transact_write_items(backend, items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact)
    runs = Counter()
    outcomes = Counter()
    lock = threading.Lock()

    def body(ctx):
        with lock:
            runs[ctx.slot] += 1

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with local_environment({"AWS_ENDPOINT_URL": endpoint}):
            registry = JobRegistry()
            # overlap "allow": this is about claiming one slot, not about slots overlapping.
            registry.add(spec(name="racer", schedule="cron(* * * * ? *)", func=body,
                              overlap="allow"))
            plan = build_plan(registry, app="race")
            res = provision(plan)["racer"]
            store = DynamoRunStore(plan.table_name, host=endpoint)

            class Actions:
                def change_visibility(self, receipt_handle, seconds):
                    pass

                def send_to_dlq(self, body, attributes):
                    raise AssertionError("nothing is dead here")

            bodies = [json.dumps(scheduled_event(rule_arn=res.rule_arn,
                                                 time=START + timedelta(minutes=i),
                                                 account="123456789012", region="us-east-1"))
                      for i in range(5)]
            errors = []

            def worker(n):
                service = SlotService(registry=registry, plan=plan, store=store,
                                      actions=Actions(), telemetry=RecordingTelemetry(),
                                      clock=MutableClock(START), serves="racer")
                try:
                    for i, body_text in enumerate(bodies):
                        # A returned message (live lease, busy table) comes back: redeliver,
                        # however long a loaded machine keeps the lease holder busy.
                        deadline = time.monotonic() + READY_SECONDS
                        while True:
                            result = service.handle(Message(f"m{n}-{i}", body_text, f"r{n}-{i}"))
                            if result.ack is Ack.DONE or time.monotonic() > deadline:
                                break
                            time.sleep(0.01)
                        outcomes[result.outcome] += 1
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        server.stop()
    assert errors == []
    assert runs == {f"2026-11-30T02:0{i}:00Z": 1 for i in range(5)}
    assert outcomes == {"succeeded": 5, "duplicate": 16 * 5 - 5}
