"""``cronbridge invoke``: run the Lambda handler in this process on an event file.

Like ``sam local invoke -e``: the real handler, settings and job code, with a fake Lambda
context. The run table, the queues and what the handler does to a message (change its
visibility for a retry, send it to the DLQ) are the target's, so the target must have the
job deployed (e.g. ``cronbridge local --serve``). The sample events are in ``events/``.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from contextlib import redirect_stdout
from typing import Any

import click

from cronbridge.cli.target import OperationFailed, Target, target_command
from cronbridge.core.errors import DeadlineExceeded
from cronbridge.local.clock import WallClock
from cronbridge.local.esm import LambdaContext, lambda_record
from cronbridge.runtime.settings import Settings


def sqs_event(event: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """``event`` as a Lambda SQS event: unchanged if it has ``Records``, else taken as one
    message body (a scheduled event or a cronbridge command) delivered from ``queue_arn``.

    A wrapped body gets a made-up receipt handle, so a retry's visibility change fails on
    the target; the run record still shows the attempt.
    """
    if "Records" in event:
        return event
    message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"invoke-{uuid.uuid4()}",
               "Body": json.dumps(event)}
    return {"Records": [lambda_record(message, queue_arn, region)]}


@click.command("invoke")
@click.argument("job")
@click.option("--event", "event_file", type=click.File("r"), required=True, metavar="FILE",
              help="A Lambda SQS event ({\"Records\": [...]}) or one message body (an "
                   "EventBridge scheduled event or a cronbridge command); see events/.")
@target_command
def invoke_cmd(target: Target, job: str, event_file: Any) -> None:
    """Run JOB's Lambda handler in this process on an event file; print the batch response.

    Logs and metrics go to standard error, the response ({"batchItemFailures": [...]}) to
    standard output. The handler works on the target's run table and queues.
    """
    try:
        event = json.load(event_file)
    except ValueError as exc:
        raise click.BadParameter(f"{event_file.name} is not JSON: {exc}",
                                 param_hint="--event") from None
    if not isinstance(event, dict):
        raise click.BadParameter(f"{event_file.name} must hold a JSON object",
                                 param_hint="--event")
    job_plan = target.job(job)
    queues = target.queues(job_plan)
    sources = {r.get("eventSourceARN", "").rsplit(":", 1)[-1] for r in event.get("Records", [])}
    if sources - {job_plan.queue_name}:
        # The function would dead-letter another job's messages: almost surely a mistake.
        raise click.BadParameter(f"{event_file.name} holds records from queue(s) "
                                 f"{', '.join(sorted(sources - {job_plan.queue_name}))}, not "
                                 f"{job_plan.queue_name}: invoke that job, or edit "
                                 f"eventSourceARN", param_hint="--event")

    from cronbridge.runtime import handler
    from cronbridge.runtime.wiring import Worker

    # As deployed: the function serves one job, with its queues (CRONBRIDGE_JOB ...).
    settings = Settings(app=target.plan.app, table_name=target.plan.table_name,
                        job_modules=target.plan.job_modules, job=job_plan.job,
                        queue_url=queues.queue_url, dlq_url=queues.dlq_url)
    handler.use_worker(Worker(settings, handler.telemetry, sqs_client=target.sqs,
                              store=target.store, plan=target.plan, registry=target.registry))
    clock = WallClock()
    context = LambdaContext(job_plan.function_name, job_plan.timeout_seconds, clock,  # type: ignore[arg-type]
                            job_plan.memory_mb,
                            deadline_ms=clock.epoch_millis() + job_plan.timeout_seconds * 1000)
    log_handler = handler.telemetry.logger.registered_handler
    previous = log_handler.setStream(sys.stderr)
    # Lambda sets both; job code using the default boto3 session reads AWS_DEFAULT_REGION.
    saved_region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = target.region
    try:
        with redirect_stdout(sys.stderr):  # EMF metrics are printed to stdout
            response = handler.lambda_handler(
                sqs_event(event, queues.queue_arn, target.region), context)
    except DeadlineExceeded as exc:
        raise OperationFailed(f"{exc}: Lambda would have killed this invocation; nothing was "
                              "written, and the slot's next delivery records the attempt "
                              "TIMED_OUT") from None
    finally:
        if previous is not None:  # None: it was already writing to this stream
            log_handler.setStream(previous)
        if saved_region is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved_region
    click.echo(json.dumps(response, indent=2))
