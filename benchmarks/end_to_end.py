"""One run end to end through the real Lambda handler on a moto server, against the floor.

Run: ``.venv/bin/python benchmarks/end_to_end.py``. A moto server on 127.0.0.1 holds the
deployment plan's resources for one job (``overlap="skip"``) and one for ``overlap="allow"``.
Per scheduled slot, a run is: send the scheduled event to the job's queue, receive it as
the event source mapping does, invoke ``cronbridge.runtime.handler.lambda_handler`` with the
SQS event, delete the message. The floor is the least any run-once design must do over
HTTP: send, receive, one ``PutItem`` and one ``UpdateItem`` on the run table, delete (5
calls). Rounds interleave the three, and each figure is the best round's mean wall time per
run; the ratios are within this one run.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from typing import Any

RUNS = 40
ROUNDS = 5
START = datetime(2026, 11, 30, tzinfo=timezone.utc)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    from moto.server import ThreadedMotoServer

    from cronbridge.local.embedded import local_environment, moto_speedups

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with local_environment({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}), \
                moto_speedups(), redirect_stdout(io.StringIO()):
            results = _measure()
    finally:
        server.stop()
    floor = results["floor (5 calls)"]
    print(f"{'path':34} {'ms per run':>10} {'/ floor':>8}")
    for name, seconds in results.items():
        print(f"{name:34} {seconds * 1000:>10.2f} {seconds / floor:>7.2f}x")


def _measure() -> dict[str, float]:
    import boto3

    from cronbridge.core.jobs import JobRegistry, JobSpec
    from cronbridge.core.messages import scheduled_event
    from cronbridge.core.plan import build_plan
    from cronbridge.local.clock import WallClock
    from cronbridge.local.esm import LambdaContext, lambda_record
    from cronbridge.local.provision import provision
    from cronbridge.runtime import handler
    from cronbridge.runtime.settings import Settings
    from cronbridge.runtime.wiring import Worker

    registry = JobRegistry()
    for name, overlap in (("bench-skip", "skip"), ("bench-allow", "allow")):
        registry.add(JobSpec(name=name, schedule="cron(* * * * ? *)", overlap=overlap,
                             func=lambda ctx: None))
    plan = build_plan(registry, app="e2e")
    resources = provision(plan)
    settings = Settings(app="e2e", table_name=plan.table_name)
    handler.telemetry.logger.registered_handler.setStream(io.StringIO())
    handler.use_worker(Worker(settings, handler.telemetry, plan=plan, registry=registry))
    sqs, ddb = boto3.client("sqs"), boto3.client("dynamodb")
    clock = WallClock()
    minutes = iter(range(10**6))

    def through_handler(job: str) -> Callable[[], None]:
        res = resources[job]

        def run() -> None:
            # Slots a minute apart in the past: each run is a fresh slot, never an overlap.
            slot = START + timedelta(minutes=next(minutes))
            event = scheduled_event(rule_arn=res.rule_arn, time=slot, account="123456789012",
                                    region="us-east-1")
            sqs.send_message(QueueUrl=res.queue_url, MessageBody=json.dumps(event))
            message = sqs.receive_message(QueueUrl=res.queue_url, MaxNumberOfMessages=1,
                                          AttributeNames=["All"],
                                          MessageAttributeNames=["All"])["Messages"][0]
            context = LambdaContext(res.plan.function_name, res.plan.timeout_seconds, clock,
                                    deadline_ms=clock.epoch_millis() + 60_000)
            response = handler.lambda_handler(
                {"Records": [lambda_record(message, res.queue_arn, "us-east-1")]}, context)
            assert not response["batchItemFailures"], response
            sqs.delete_message(QueueUrl=res.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return run

    floor_queue = resources["bench-allow"].queue_url

    def floor() -> None:
        key = {"pk": {"S": "floor"}, "sk": {"S": f"RUN#{next(minutes)}"}}
        sqs.send_message(QueueUrl=floor_queue, MessageBody="{}")
        message = sqs.receive_message(QueueUrl=floor_queue, MaxNumberOfMessages=1)["Messages"][0]
        ddb.put_item(TableName=plan.table_name, Item={**key, "status": {"S": "RUNNING"}},
                     ConditionExpression="attribute_not_exists(pk)")
        ddb.update_item(TableName=plan.table_name, Key=key, UpdateExpression="SET #s = :s",
                        ConditionExpression="#s = :r",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":s": {"S": "SUCCEEDED"},
                                                   ":r": {"S": "RUNNING"}})
        sqs.delete_message(QueueUrl=floor_queue, ReceiptHandle=message["ReceiptHandle"])

    paths = {"floor (5 calls)": floor,
             "handler, overlap=skip": through_handler("bench-skip"),
             "handler, overlap=allow": through_handler("bench-allow")}
    for run in paths.values():
        run()  # warm: clients, connections, the worker's first service
    best = {name: float("inf") for name in paths}
    for _ in range(ROUNDS):
        for name, run in paths.items():
            t0 = time.perf_counter()
            for _ in range(RUNS):
                run()
            best[name] = min(best[name], (time.perf_counter() - t0) / RUNS)
    return best


if __name__ == "__main__":
    sys.exit(main())
