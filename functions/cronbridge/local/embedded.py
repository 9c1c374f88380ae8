"""The embedded AWS: moto in process (simulations) or as a server on 127.0.0.1 (``--serve``)."""

from __future__ import annotations

import copy
import functools
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

    Its transactional writes use :func:`fast_transact_write_items`. Its DynamoDB items and
    SQS messages are not tracked (see :class:`_Untracked`). With ``clock``, its SQS keeps
    time by it: moto has no clock hook, and SQS visibility, delays and retention must follow
    the simulated clock or a day of backoffs would take a day; so its time functions in
    ``moto.sqs.models`` are replaced.
    """
    import moto.dynamodb.models as dynamodb_models
    import moto.sqs.models as sqs_models
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    patches: list[tuple[Any, str, Any]] = [
        (dynamodb_models.DynamoDBBackend, "transact_write_items", fast_transact_write_items),
        (Item, "instances_tracked", _Untracked()),
        (sqs_models.Message, "instances_tracked", _Untracked()),
        (DepthFirstTraverser, "traverse_node_recursively", _traverse_node_recursively),
        (Table, "query", _narrowed_index_query(Table.query)),
        (UpdateExpressionParser, "make", _parsed_once(UpdateExpressionParser.make)),
        (Node, "__deepcopy__", _copy_node)]
    if clock is not None:
        patches += [(sqs_models, "unix_time", lambda *args: clock.epoch()),
                    (sqs_models, "unix_time_millis", lambda *args: clock.epoch_millis())]
    # As stored on the owner (a classmethod stays one), or absent: deleted again after.
    originals = [(owner, name, vars(owner).get(name, _ABSENT)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in originals:
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


_ABSENT = object()


class _Untracked(list):  # type: ignore[type-arg]
    """A model class's ``instances_tracked`` that keeps nothing.

    moto appends every instance of a model class to a class-level list, for its server's
    dashboard, and never lets go. Every DynamoDB read, write and condition check copies the
    item, and every SQS receive copies the message, so a simulated week kept millions of
    dead copies alive: memory grew with the square of the window (3.9 GiB for 7 days) and
    the garbage collector walked them all again and again. Nothing in moto reads these two
    lists back except that dashboard.
    """

    def append(self, _instance: Any) -> None:
        return None


def _traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
    """moto's ``DepthFirstTraverser.traverse_node_recursively``, dispatching by node type.

    moto validates every update expression with ten traversals of its syntax tree, and for
    every node of each it rebuilt the traverser's processing map and ran ``isinstance``
    against abstract base classes: a third of a simulated day went there. Which processor
    (if any) handles a node depends only on the traverser's class and the node's type, so
    that answer is cached per class; the processors and the result are moto's own.
    """
    from moto.dynamodb.parsing.ast_nodes import Node

    dispatch = _DISPATCH.setdefault(type(self), {})
    node_type = type(node)
    try:
        key = dispatch[node_type]
    except KeyError:
        key = dispatch[node_type] = _processor_key(self, node_type, Node)
    if key is _NOT_A_NODE:
        return node
    parent_node = node.parent
    if node.children is not None:
        for i, child_node in enumerate(node.children):
            self.pre_processing_of_child(node, i)
            self.traverse_node_recursively(child_node, i)
    if key is not None:
        node = self._processing_map()[key](node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


def _parsed_once(make: Any) -> Any:
    """moto's ``UpdateExpressionParser.make``, parsing each distinct expression once.

    moto parses an update expression up to three times per write (request validation, the
    transaction's checks, the update itself), and a run table sees a few dozen distinct
    expressions. Every caller reads the tree or validates a deep copy of it
    (``Validator.__init__``), so one shared tree per expression is safe.
    """
    cached = functools.lru_cache(maxsize=512)(make)
    return classmethod(lambda cls, expression_str: cached(expression_str))


def _copy_node(self: Any, memo: dict[int, Any]) -> Any:
    """``Node.__deepcopy__``: the attributes copied one by one, without the generic
    ``__reduce_ex__`` round trip that made copying the syntax tree of every update a tenth of
    a simulated day. Parent links go through ``memo`` as in :func:`copy.deepcopy`."""
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    for name, value in vars(self).items():
        setattr(clone, name, copy.deepcopy(value, memo))
    return clone


_NOT_A_NODE = object()
_DISPATCH: dict[type, dict[type, Any]] = {}


def _processor_key(traverser: Any, node_type: type, node_class: type) -> Any:
    """The key of ``traverser``'s processing map that handles ``node_type`` (moto's rule:
    the first key it is a subclass of), ``None`` if none does, :data:`_NOT_A_NODE` if it
    is not a syntax tree node at all."""
    if not issubclass(node_type, node_class):
        return _NOT_A_NODE
    if not issubclass(node_type, traverser.nodes_to_be_processed()):
        return None
    return next(key for key in traverser._processing_map() if issubclass(node_type, key))


def _narrowed_index_query(query: Any) -> Any:
    """moto's ``Table.query``, given for a secondary index query only the items its key
    condition can match.

    moto answers an index query by sorting every item of the table that has the index's
    keys, then applying the key condition. The demo outbox's sparse ``pending`` index holds
    every email not yet sent, seeded for the whole window, so each run sorted all the
    emails still in the future and a window cost the square of its length. Selecting the
    items that satisfy the hash and range conditions first leaves moto the same work on
    the few that can be in the answer, and the same answer.
    """
    import inspect

    from moto.dynamodb.comparisons import get_comparison_func

    signature = inspect.signature(query)

    def narrowed(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        conditions = arguments.get("range_key_conditions") or []
        if not arguments.get("index_name") or not arguments.get("hash_key_conditions") \
                or len(conditions) != 1:
            return query(*bound.args, **bound.kwargs)
        hashes = arguments["hash_key_conditions"]
        (range_name, comparison, objs), = conditions
        compare = get_comparison_func(comparison)
        values = [obj.cast_value for obj in objs]

        def matches(item: Any) -> bool:
            found = item.attrs.get(range_name)
            return (found is not None and compare(found.cast_value, *values)
                    and all(item.attrs.get(name) == value for name, value in hashes))

        items = [item for item in self.all_items() if matches(item)]
        self.all_items = lambda: items
        try:
            return query(*bound.args, **bound.kwargs)
        finally:
            del self.all_items

    return narrowed


def queue_has_visible_messages(queue_url: str, region: str = LOCAL_ENV["AWS_REGION"]) -> bool:
    """Whether a receive on the embedded SQS queue at ``queue_url`` would find a message
    (to deliver, or to move to its DLQ past ``maxReceiveCount``), asked of moto directly.

    Lambda's pollers long-poll, so an idle queue costs them nothing; an emulated poller that
    sent an empty ``ReceiveMessage`` every simulated minute made a simulation cost jobs x
    minutes instead of slots (23 % of a day, 59 % with 40 jobs).
    """
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[LOCAL_ACCOUNT][region].get_queue(queue_url.rsplit("/", 1)[-1])
    return bool(queue.messages)


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
