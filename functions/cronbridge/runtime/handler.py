"""Lambda entry point: ``cronbridge.runtime.handler.lambda_handler``.

Consumes SQS records carrying EventBridge scheduled events (or cronbridge commands) with
Powertools batch processing, answering with partial batch responses
(``batchItemFailures``) so only the failed or deferred messages stay on the queue
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).

Settings are read once at cold start; AWS clients are created on first use, never at
import time.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import (BatchProcessor, EventType,
                                                   process_partial_response)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from cronbridge.runtime.observability import PowertoolsTelemetry
from cronbridge.runtime.settings import Settings
from cronbridge.runtime.wiring import ReturnToQueue, Worker

settings = Settings.from_env()
telemetry = PowertoolsTelemetry()
# Not raising on a batch where every record was deferred: deferring (a retry with backoff,
# a live lease) is normal operation, not an invocation error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_worker: Worker | None = None


def _get_worker() -> Worker:
    global _worker
    if _worker is None:
        _worker = Worker(settings, telemetry)
    return _worker


def use_worker(worker: Worker | None) -> None:
    """Serve with ``worker`` from now on (local mode injects its simulated clock this way);
    ``None`` builds a fresh one from the settings on the next invocation."""
    global _worker
    _worker = worker


@telemetry.logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process one SQS batch.

    Args:
        event: the SQS event (``{"Records": [...]}``).
        context: the Lambda context.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": "<message id>"}, ...]}``.
    """
    telemetry.mark_invocation()
    worker = _get_worker()
    trace_id = os.environ.get("_X_AMZN_TRACE_ID")

    def record_handler(record: SQSRecord) -> None:
        worker.process(record, remaining_ms=context.get_remaining_time_in_millis,
                       request_id=context.aws_request_id, trace_id=trace_id)

    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=processor, context=context)


__all__ = ["lambda_handler", "ReturnToQueue"]
