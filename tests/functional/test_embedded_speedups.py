"""The embedded AWS's adaptations of moto keep moto's answers and drop what grew with history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TABLE = "speedups"


def _table(ddb: Any) -> None:
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                              for n in ("pk", "sk", "due")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-due", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "due", "KeyType": "RANGE"}]}])


def test_items_and_messages_are_not_kept_alive_by_moto(moto_clock):
    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    _table(ddb)
    url = sqs.create_queue(QueueName="tracked")["QueueUrl"]
    for i in range(20):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": str(i)}})
        ddb.update_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": str(i)}},
                        UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}})
        sqs.send_message(QueueUrl=url, MessageBody="m")
        sqs.receive_message(QueueUrl=url)
    assert len(Item.instances_tracked) == 0
    assert len(Message.instances_tracked) == 0


def test_update_expressions_keep_moto_semantics(moto_clock):
    ddb = boto3.client("dynamodb")
    _table(ddb)
    key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    ddb.put_item(TableName=TABLE, Item={**key, "gone": {"S": "x"}, "n": {"N": "1"}})
    ddb.update_item(
        TableName=TABLE, Key=key,
        UpdateExpression="SET n = n + :one, l = list_append(if_not_exists(l, :empty), :e), "
                         "m = :m REMOVE gone",
        ExpressionAttributeValues={":one": {"N": "1"}, ":empty": {"L": []},
                                   ":e": {"L": [{"S": "a"}]}, ":m": {"M": {"k": {"S": "v"}}}})
    item = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert item == {**key, "n": {"N": "2"}, "l": {"L": [{"S": "a"}]},
                    "m": {"M": {"k": {"S": "v"}}}}
    with pytest.raises(ddb.exceptions.ClientError, match="key"):
        ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET sk = :v",
                        ExpressionAttributeValues={":v": {"S": "other"}})


@settings(max_examples=25, deadline=None)
@given(dues=st.lists(st.sampled_from(["a", "b", "c", "d", None]), max_size=12),
       comparison=st.sampled_from(["<", "<=", ">", ">=", "=", "BETWEEN", "BEGINS"]),
       bound=st.sampled_from(["a", "b", "c", "d"]), forward=st.booleans())
def test_index_queries_answer_as_moto_does(dues, comparison, bound, forward):
    """The narrowed index query against moto's own (outside the speedups)."""
    from moto import mock_aws

    from cronbridge.local.embedded import local_environment, moto_speedups

    condition = {"BETWEEN": "pk = :pk AND due BETWEEN :lo AND :b",
                 "BEGINS": "pk = :pk AND begins_with(due, :b)"}.get(
        comparison, f"pk = :pk AND due {comparison} :b")
    values = {":pk": {"S": "p"}, ":b": {"S": bound}}
    if comparison == "BETWEEN":
        values[":lo"] = {"S": "a"}

    def answers() -> list[Any]:
        ddb = boto3.client("dynamodb")
        return ddb.query(TableName=TABLE, IndexName="by-due", KeyConditionExpression=condition,
                         ExpressionAttributeValues=values, ScanIndexForward=forward)["Items"]

    with local_environment(), mock_aws():
        ddb = boto3.client("dynamodb")
        _table(ddb)
        for i, due in enumerate(dues):
            for pk in ("p", "q"):
                ddb.put_item(TableName=TABLE, Item={
                    "pk": {"S": pk}, "sk": {"S": f"{i:02d}"},
                    **({"due": {"S": due}} if due else {})})
        expected = answers()
        with moto_speedups():
            assert answers() == expected


def test_an_idle_queue_is_not_polled(moto_clock):
    from cronbridge.local.embedded import queue_has_visible_messages

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="idle")["QueueUrl"]
    assert not queue_has_visible_messages(url)
    sqs.send_message(QueueUrl=url, MessageBody="m", DelaySeconds=60)
    assert not queue_has_visible_messages(url)  # delayed
    moto_clock.advance(timedelta(seconds=61))
    assert queue_has_visible_messages(url)
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)
    assert not queue_has_visible_messages(url)  # in flight
    moto_clock.advance(timedelta(seconds=31))
    assert queue_has_visible_messages(url)
