"""The embedded AWS: moto in process (simulations) or as a server on 127.0.0.1 (``--serve``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cronbridge.local.clock import SimulatedClock

LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
LOCAL_ACCOUNT = "123456789012"  # moto's default account


@contextmanager
def local_environment(extra: dict[str, str] | None = None) -> Iterator[None]:
    """Fake credentials and region (and ``extra``) for the duration; restored afterwards, so
    nothing local ever reaches a real account."""
    values = {**LOCAL_ENV, **(extra or {})}
    saved = {key: os.environ.get(key) for key in [*values, "AWS_PROFILE", "AWS_ENDPOINT_URL"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def embedded_aws(clock: SimulatedClock | None = None) -> Iterator[None]:
    """moto in process, with :func:`moto_speedups` (``clock`` included)."""
    from moto import mock_aws

    with local_environment(), mock_aws(), moto_speedups(clock):
        yield


@contextmanager
def moto_speedups(clock: SimulatedClock | None = None) -> Iterator[None]:
    """Adapt moto (in this process) for local mode for the duration.

    Its transactional writes use :func:`fast_transact_write_items`. With ``clock``, its SQS
    keeps time by it: moto has no clock hook, and SQS visibility, delays and retention must
    follow the simulated clock or a day of backoffs would take a day; so its time functions
    in ``moto.sqs.models`` are replaced.
    """
    import moto.dynamodb.models as dynamodb_models
    import moto.sqs.models as sqs_models

    patches: list[tuple[Any, str, Any]] = [
        (dynamodb_models.DynamoDBBackend, "transact_write_items", fast_transact_write_items)]
    if clock is not None:
        patches += [(sqs_models, "unix_time", lambda *args: clock.epoch()),
                    (sqs_models, "unix_time_millis", lambda *args: clock.epoch_millis())]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def fast_transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems without its whole-table copies.

    moto deep-copies every table a transaction touches so it can roll back, which makes each
    claim O(table size) and a simulated day quadratic. DynamoDB evaluates every condition
    against the state before the transaction and the items must be distinct, so checking all
    conditions first and then applying all writes is the same semantics with nothing to roll
    back. Cancellation reasons (with ``ALL_OLD`` items) match moto's.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (MultipleTransactionsException,
                                          TooManyTransactionsException,
                                          TransactionCanceledException)

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    keys: list[dict[str, Any]] = []
    reasons: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        identity = (op["TableName"], str(sorted(key.items())))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        keys.append(key)
        condition = op.get("ConditionExpression")
        current = backend.get_item(op["TableName"], key)
        if condition is not None and not get_filter_expression(
                condition, op.get("ExpressionAttributeNames"),
                op.get("ExpressionAttributeValues")).expr(current):
            old = (current.to_json()["Attributes"]
                   if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                   else None)
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            reasons.append((None, None, None))
    if any(code for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    for entry, key in zip(transact_items, keys):
        op_type, op = next(iter(entry.items()))
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            backend.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            backend.delete_item(op["TableName"], key)
        elif op_type == "Update":
            backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                                expression_attribute_names=names,
                                expression_attribute_values=values)
