"""DynamoDB round trips per delivery outcome, counted on moto.

Every DynamoDB request the run store makes goes through pynamodb's botocore client; a
``before-call.dynamodb`` hook on it counts them by operation. Each scenario runs the real
:class:`~cronbridge.service.SlotService` on a fresh slot and prints what one delivery cost.

Run: ``PYTHONPATH=functions python benchmarks/dynamodb_calls.py``
"""

from __future__ import annotations

import random
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


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
    calls: Counter = Counter()
    with embedded_aws(clock):
        registry = JobRegistry()
        fail = set()
        registry.add(JobSpec(name="bench", schedule="cron(* * * * ? *)", max_attempts=3,
                             func=lambda ctx: (_ for _ in ()).throw(ConnectionError())
                             if ctx.slot in fail else None))
        plan = build_plan(registry, app="bench")
        rule = provision(plan)["bench"].rule_arn
        store = DynamoRunStore(plan.table_name)
        store.Run._get_connection().connection.client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: calls.update([model.name]))
        service = SlotService(registry=registry, plan=plan, store=store, actions=Actions(),
                              telemetry=Telemetry(), clock=clock, serves="bench",
                              rng=random.Random(1))
        ids = iter(range(10**6))

        def deliver(minute: int) -> tuple[str, Counter]:
            calls.clear()
            body = json.dumps(scheduled_event(rule_arn=rule, time=START + timedelta(
                minutes=minute), account="123456789012", region="us-east-1"))
            n = next(ids)
            outcome = service.handle(Message(f"m{n}", body, f"r{n}")).outcome
            return outcome, Counter(calls)

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
    print(f"{'outcome':36} {'service result':18} {'round trips':>11}  by operation")
    for label, outcome, counted in rows:
        detail = ", ".join(f"{op} {n}" for op, n in sorted(counted.items()))
        print(f"{label:36} {outcome:18} {sum(counted.values()):>11}  {detail}")


if __name__ == "__main__":
    main()
