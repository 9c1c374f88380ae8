"""Seeded fuzzing of the worker with malformed and hostile records (issue 11).

2,400 records: bad JSON, wrong types, huge and deeply nested bodies, unknown jobs and
rules, odd and out-of-range times, unicode, bad commands, mixed with valid deliveries. Each
is delivered until it gets a verdict, as SQS would redeliver it, in batches of 10.

Properties, each counted as violations (all must be 0):
1. the batch never crashes (no exception escapes ``SlotService.handle``);
2. no record is acknowledged without a recorded outcome (a run record for its slot, or a
   dead letter sent while handling it);
3. no job runs without a valid slot key;
4. no record reaches the DLQ without a reason (through ``maxReceiveCount``, or without the
   ``cronbridge-error-type`` attribute).
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections import Counter
from datetime import timedelta
from typing import Any

from cronbridge.adapters.memory import MemoryRunStore
from cronbridge.core.jobs import JobRegistry, JobSpec
from cronbridge.core.plan import build_plan
from cronbridge.service import ATTR_ERROR_TYPE, Ack, Message, SlotService
from run_harness import START, ModelQueue, MutableClock, RecordingTelemetry

RECORDS = 2400
SEED = 11
SLOT_KEY = re.compile(r"(19[7-9]\d|2[01]\d\d)-\d\d-\d\dT\d\d:\d\d:00Z"
                      r"|manual:[A-Za-z0-9._:@+=-]{1,128}")
ODD_TEXT = ["", " ", "\u0000", "\ud83d\ude00", "\u202e", "null", "0", "-1", "1e309", "NaN",
            "\u00e9\u0301", "x" * 2000, "../../etc/passwd", "${jndi:x}", "\\u0000", "Z"]
ODD_TIMES = ["2026-11-30T02:00:00Z", "2026-11-30T01:59:59.999999Z", "2026-11-30T07:00:00Z",
             "2096-11-30T02:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
             "1969-12-31T23:59:00Z", "2026-11-30T02:00:00", "2026-11-30T02:00:00+14:00",
             "2026-11-30T02:00:00-12:00", "2026-02-30T00:00:00Z", "2026-11-30 02:00Z",
             "20261130T020000Z", "2026-11-29T02:00:00Z", "2026-11-30T01:00:00.5+00:00"]


def registry_and_ledger() -> tuple[JobRegistry, Counter[str], list[str]]:
    runs: Counter[str] = Counter()
    bad_slots: list[str] = []

    def body(ctx: Any) -> dict[str, int]:
        if not SLOT_KEY.fullmatch(ctx.slot):
            bad_slots.append(ctx.slot)
        runs[f"{ctx.job}|{ctx.slot}"] += 1
        if zlib.crc32(ctx.slot.encode()) % 5 == 0 and ctx.attempt == 1:
            raise ConnectionError("fuzz: transient")
        return {"ok": 1}

    registry = JobRegistry()
    registry.add(JobSpec(name="hourly", schedule="cron(0 * * * ? *)", func=body,
                         max_attempts=2, backoff_base_seconds=5, backoff_cap_seconds=30))
    registry.add(JobSpec(name="every5", schedule="rate(5 minutes)", func=body,
                         max_attempts=2, backoff_base_seconds=5, backoff_cap_seconds=30))
    return registry, runs, bad_slots


def odd_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9)
    if pick == 0 or depth > 3:
        return rng.choice(ODD_TEXT)
    if pick == 1:
        return rng.choice([None, True, False, 0, -1, 2**70, 1.5, float("1e308")])
    if pick == 2:
        return [odd_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 3:
        return {rng.choice(ODD_TEXT): odd_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    if pick == 4:
        return rng.choice(ODD_TIMES)
    if pick == 5:
        return "manual:" + "".join(rng.choice("ab \t\u00e9:/#-_")
                                   for _ in range(rng.randrange(300)))
    return rng.choice(["hourly", "every5", "nope", "manual", "backfill", "redrive", 1])


def record(rng: random.Random, rules: dict[str, str]) -> str:
    """One hostile or valid body."""
    kind = rng.randrange(12)
    event = {"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": rng.choice(ODD_TIMES), "region": "us-east-1",
             "resources": [rules[rng.choice(list(rules))]], "detail": {}}
    command = {"cronbridge": 1, "job": rng.choice(["hourly", "every5"]),
               "trigger": rng.choice(["manual", "backfill"]),
               "slot": rng.choice(["manual:ok-1", "manual:ok-2", *ODD_TIMES]), "payload": {}}
    if kind == 0:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 200)))
    if kind == 1:
        return json.dumps(odd_value(rng))
    if kind == 2:
        depth = rng.choice([50, 900, 5000, 100_000])
        if rng.random() < 0.5:
            return "[" * depth + "]" * depth
        return '{"a":' * depth + "1" + "}" * depth
    if kind == 3:
        return json.dumps({**event, "detail": {"blob": "x" * rng.randrange(100_000, 200_000)}})
    if kind in (4, 5):
        field = rng.choice(["time", "resources", "detail-type", "source", "time", "resources"])
        return json.dumps({**event, field: odd_value(rng)})
    if kind == 6:
        return json.dumps({**event, "resources": ["arn:aws:events:us-east-1:1:rule/unknown",
                                                   rng.choice(ODD_TEXT)]})
    if kind in (7, 8):
        field = rng.choice(["job", "trigger", "slot", "payload", "cronbridge", "slot"])
        return json.dumps({**command, field: odd_value(rng)}, allow_nan=True)
    if kind == 9:
        return json.dumps({**command, "payload": {"nested": odd_value(rng),
                                                  "big": "y" * rng.randrange(50_000)}})
    return json.dumps(event if kind == 10 else command)    # mostly valid deliveries


def test_fuzzed_records_all_get_a_verdict() -> None:
    rng = random.Random(SEED)
    clock = MutableClock(START + timedelta(minutes=1))
    registry, runs, bad_slots = registry_and_ledger()
    plan = build_plan(registry, app="fz")
    rules = {j.job: f"arn:aws:events:us-east-1:123456789012:rule/{j.rule_name}" for j in plan.jobs}
    job_plan = plan.jobs[0]
    queue = ModelQueue(clock, job_plan.visibility_timeout_seconds, job_plan.max_receive_count,
                       job_plan.queue_retention_seconds, job_plan.dlq_retention_seconds)
    store = MemoryRunStore()
    service = SlotService(registry=registry, plan=plan, store=store, actions=queue,
                          telemetry=RecordingTelemetry(), clock=clock, rng=random.Random(SEED))
    for _ in range(RECORDS):
        queue.send(record(rng, rules))
    violations: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    for _ in range(100_000):
        if not queue.messages:
            break
        batch = queue.visible()[:10]
        if not batch:
            clock.advance(max(1.0, min(m["visible_at"] for m in queue.messages.values())
                              - queue.now()))
            continue
        for mid in batch:
            msg = queue.messages[mid]
            if msg["receives"] >= queue.max_receive_count:
                violations["dead-lettered by maxReceiveCount"] += 1
                del queue.messages[mid]
                continue
            msg["receives"] += 1
            msg["visible_at"] = queue.now() + queue.visibility
            letters = len(queue.dlq)
            try:
                result = service.handle(Message(mid, msg["body"], mid, msg["attrs"],
                                                 receive_count=msg["receives"]))
            except Exception:  # noqa: BLE001 - the property under test
                violations["batch crashed"] += 1
                continue
            if result.ack is Ack.RETURN:
                continue
            del queue.messages[mid]
            verdicts[result.outcome] += 1
            recorded = (result.job, result.slot) in store.runs or len(queue.dlq) > letters
            violations["acknowledged without an outcome"] += not recorded
    assert not queue.messages
    violations["job ran without a valid slot key"] = len(bad_slots)
    violations["dead letter without a reason"] = sum(1 for letter in queue.dlq
                                                     if not letter["attrs"].get(ATTR_ERROR_TYPE))
    violations["slot succeeded twice"] = sum(
        1 for (job, slot), run in store.runs.items()
        if run["status"] == "SUCCEEDED"
        and sum(1 for a in run["attempts"] if a["outcome"] == "SUCCEEDED") > 1)
    print(f"fuzz: {RECORDS} records, verdicts {dict(verdicts)}, violations "
          f"{sum(violations.values())}")
    assert +violations == Counter(), violations
    # The fuzz reached the interesting paths, not only the parser.
    assert verdicts["bad_message"] > 500 and verdicts["refused"] > 20
    assert verdicts["succeeded"] >= 10 and verdicts["duplicate"] > 100 and runs
