"""DynamoDB round trips and write units per delivery outcome, counted on moto.

Every DynamoDB request the run store makes goes through pynamodb's botocore client; a
``before-parameter-build.dynamodb`` hook on it counts them by operation and adds up their write units
by DynamoDB's pricing rules for items up to 1 KB (run and job records are smaller): a
``PutItem``, ``UpdateItem`` or ``DeleteItem`` costs 1, a transactional write 2 per item, and a
write whose condition fails costs the same as one that succeeds. Each scenario runs the
real :class:`~cronbridge.service.SlotService` on a fresh slot and prints what one delivery
cost. The same count for Powertools' idempotency utility (``idempotent_function`` on its
DynamoDB persistence layer), which keeps no run history, is printed for comparison.

Run: ``.venv/bin/python benchmarks/dynamodb_calls.py``
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
_SINGLE_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


class Meter:
    """Round trips by operation and write units of the DynamoDB calls it is hooked into."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.write_units = 0

    def hook(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.update([model.name])
        if model.name in _SINGLE_WRITES:
            self.write_units += 1
        elif model.name == "TransactWriteItems":
            self.write_units += 2 * len(params["TransactItems"])

    def take(self) -> tuple[Counter, int]:
        taken = (Counter(self.calls), self.write_units)
        self.calls.clear()
        self.write_units = 0
        return taken


class Telemetry:
    def __init__(self) -> None:
        import logging

        self.logger = logging.getLogger("benchmark")
        self.logger.propagate = False
        self.logger.addHandler(logging.NullHandler())

    def bind(self, **keys: Any) -> None: ...
    def reset(self) -> None: ...
    def metric(self, *args: Any, **kwargs: Any) -> None: ...

    def span(self, name: str, **annotations: str) -> Any:
        return nullcontext()


class Actions:
    def change_visibility(self, receipt_handle: str, seconds: int) -> None: ...
    def send_to_dlq(self, body: str, attributes: Any) -> None: ...


def main() -> None:
    import json

    from cronbridge.adapters.dynamodb import DynamoRunStore
    from cronbridge.core.jobs import JobRegistry, JobSpec
    from cronbridge.core.messages import scheduled_event
    from cronbridge.core.plan import build_plan
    from cronbridge.local.clock import SimulatedClock
    from cronbridge.local.embedded import embedded_aws
    from cronbridge.core.runstate import Claim, Expect
    from cronbridge.local.provision import provision
    from cronbridge.service import Message, SlotService

    clock = SimulatedClock(START)
    meter = Meter()
    with embedded_aws(clock):
        registry = JobRegistry()
        fail = set()
        registry.add(JobSpec(name="bench", schedule="cron(* * * * ? *)", max_attempts=3,
                             func=lambda ctx: (_ for _ in ()).throw(ConnectionError())
                             if ctx.slot in fail else None))
        plan = build_plan(registry, app="bench")
        rule = provision(plan)["bench"].rule_arn
        store = DynamoRunStore(plan.table_name)
        meter.hook(store.Run._get_connection().connection.client)
        service = SlotService(registry=registry, plan=plan, store=store, actions=Actions(),
                              telemetry=Telemetry(), clock=clock, serves="bench",
                              rng=random.Random(1))
        ids = iter(range(10**6))

        def deliver(minute: int) -> tuple[str, Counter, int]:
            meter.take()
            body = json.dumps(scheduled_event(rule_arn=rule, time=START + timedelta(
                minutes=minute), account="123456789012", region="us-east-1"))
            n = next(ids)
            outcome = service.handle(Message(f"m{n}", body, f"r{n}")).outcome
            return outcome, *meter.take()

        rows = []
        rows.append(("success (first delivery)", *deliver(0)))
        rows.append(("duplicate of a finished slot", *deliver(0)))
        fail.add("2026-11-30T02:01:00Z")
        rows.append(("retryable failure (FAILED)", *deliver(1)))
        fail.clear()
        rows.append(("retry that succeeds", *deliver(1)))
        # A slot whose run holds a live lease: claim it as another worker.
        now = clock.now().timestamp()
        store.claim(Claim(job="bench", slot="2026-11-30T02:02:00Z", expect=Expect.ABSENT,
                          attempt=1, max_attempts=3, token="other", now=now,
                          lease_expires_at=now + 90, trigger="schedule",
                          expires_at=int(now) + 86400))
        rows.append(("duplicate under a live lease", *deliver(2)))
        rows.append(("skip (overlap)", *deliver(3)))
        clock.advance(timedelta(seconds=91))
        rows.append(("lease expired: re-claim + success", *deliver(2)))
        rows += powertools_idempotency(meter)
    print(f"{'outcome':42} {'result':16} {'round trips':>11} {'write units':>11}  by operation")
    for label, outcome, counted, units in rows:
        detail = ", ".join(f"{op} {n}" for op, n in sorted(counted.items()))
        print(f"{label:42} {outcome:16} {sum(counted.values()):>11} {units:>11}  {detail}")


def powertools_idempotency(meter: Meter) -> list[tuple[str, str, Counter, int]]:
    """A first call and a repeated call of a Powertools ``idempotent_function`` (inside the
    caller's embedded AWS)."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer,
                                                             idempotent_function)

    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="idempotency", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    meter.hook(ddb)
    layer = DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=ddb)

    @idempotent_function(data_keyword_argument="slot", persistence_store=layer)
    def run(slot: str) -> dict[str, str]:
        return {"ran": slot}

    meter.take()
    rows = []
    warnings.filterwarnings("ignore", "Couldn't determine the remaining time")  # no Lambda context
    for label in ("Powertools idempotency: first call", "Powertools idempotency: repeat"):
        run(slot="2026-11-30T02:00:00Z")
        rows.append((label, "-", *meter.take()))
    return rows


if __name__ == "__main__":
    main()
