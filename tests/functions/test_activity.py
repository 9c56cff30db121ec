"""docs/extending.md steps 5-7: what the activity table records of each trigger's event (pure:
orders/activity.py), and the handler writing it."""

from typing import Any

import boto3
from orders.activity import entries

from tests.functions.conftest import Aws
from tests.functions.events import FakeContext


def stream_record(event_name: str, key: str, status: str | None, sequence: str = "100") -> dict[str, Any]:
    image = {"PK": {"S": key}, **({"status": {"S": status}} if status else {})}
    change: dict[str, Any] = {"Keys": {"PK": {"S": key}, "SK": {"S": key}}, "SequenceNumber": sequence}
    change["OldImage" if event_name == "REMOVE" else "NewImage"] = image
    return {"eventSource": "aws:dynamodb", "eventName": event_name, "dynamodb": change}


def test_order_changes_are_recorded_and_idempotency_records_are_not() -> None:
    event = {"Records": [
        stream_record("INSERT", "ORDER#a1", "PROCESSED", "101"),
        stream_record("MODIFY", "ORDER#a1", "CANCELLED", "102"),
        stream_record("INSERT", "IDEMPOTENCY#x", None, "103"),
        stream_record("REMOVE", "ORDER#a1", "CANCELLED", "104"),
    ]}  # fmt: skip
    assert entries(event) == [
        {"source": "aws:dynamodb", "id": "a1 101", "what": "INSERT PROCESSED"},
        {"source": "aws:dynamodb", "id": "a1 102", "what": "MODIFY CANCELLED"},
        {"source": "aws:dynamodb", "id": "a1 104", "what": "REMOVE CANCELLED"},
    ]


def test_an_eventbridge_event_is_one_entry_and_a_schedule_is_named_by_its_detail_type() -> None:
    shipped = {"source": "orders.shipping", "detail-type": "OrderShipped", "id": "e-1", "detail": {}}
    nightly = {"source": "aws.events", "detail-type": "Scheduled Event", "id": "e-2", "detail": {}}
    assert entries(shipped) == [{"source": "orders.shipping", "id": "e-1", "what": "OrderShipped"}]
    assert entries(nightly) == [{"source": "aws.events", "id": "e-2", "what": "Scheduled Event"}]


def test_s3_records_name_the_object_with_its_key_decoded() -> None:
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": "imports"}, "object": {"key": "incoming/orders+1%2B.json"}}}  # fmt: skip
    assert entries({"Records": [record]}) == [
        {"source": "aws:s3", "id": "imports/incoming/orders 1+.json", "what": "ObjectCreated:Put"}
    ]
    assert entries({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}) == []


def test_the_handler_records_each_entry_once_with_when_it_was_seen(aws: Aws) -> None:
    import record_activity

    table = boto3.resource("dynamodb").create_table(
        TableName="activity-test", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "source", "AttributeType": "S"},
                              {"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    event = {"Records": [stream_record("INSERT", "ORDER#a1", "PROCESSED", "101")]}
    assert record_activity.handler(event, FakeContext()) == {"batchItemFailures": []}
    assert record_activity.handler(event, FakeContext()) == {"batchItemFailures": []}  # a retried batch
    [item] = table.scan()["Items"]
    assert (item["source"], item["id"], item["what"]) == ("aws:dynamodb", "a1 101", "INSERT PROCESSED")
    assert item["seenAt"].endswith("Z")
