"""The three handlers end to end against moto: HTTP API 2.0 in, SQS/DynamoDB effects out."""

import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import create_order
import get_order
import process_order
import pytest

from tests.functions.conftest import Aws
from tests.functions.events import FakeContext, http_event, post_order, sqs_event, sqs_record
from tests.functions.events import get_order as get_event


def body(response: dict[str, Any]) -> Any:
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"], parse_float=Decimal)


def create(payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return create_order.handler(post_order(payload, headers), FakeContext())


def process(*bodies: str) -> dict[str, Any]:
    return process_order.handler(sqs_event(*bodies), FakeContext())


def read(order_id: str) -> dict[str, Any]:
    return get_order.handler(get_event(order_id), FakeContext())


def test_post_process_get_keeps_every_digit(aws: Aws) -> None:
    raw = '{"amount": 123456789.12, "currency": "EUR"}'
    response = create_order.handler(post_order(raw, raw=True), FakeContext())
    assert response["statusCode"] == 202
    order_id = body(response)["orderId"]
    assert response["headers"]["Location"] == f"/orders/{order_id}"

    [message] = aws.queued_bodies()
    created_at = json.loads(message)["createdAt"]
    assert json.loads(message) == {
        "orderId": order_id,
        "amount": "123456789.12",
        "currency": "EUR",
        "createdAt": created_at,
    }
    age = datetime.now(UTC) - datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    assert timedelta(0) <= age < timedelta(seconds=5) and created_at.endswith("Z")

    assert read(order_id)["statusCode"] == 404
    assert process(message) == {"batchItemFailures": []}

    found = read(order_id)
    assert found["statusCode"] == 200
    assert '"amount":123456789.12,' in found["body"]
    order = body(found)
    assert order == {
        "orderId": order_id,
        "amount": Decimal("123456789.12"),
        "currency": "EUR",
        "status": "PROCESSED",
        "createdAt": created_at,  # the time it was accepted, carried through the queue
    }
    item = aws.table.get_item(Key={"PK": f"ORDER#{order_id}", "SK": f"ORDER#{order_id}"})["Item"]
    assert item["amount"] == Decimal("123456789.12")
    assert set(item) == {"PK", "SK", "orderId", "amount", "currency", "status", "createdAt", "processedAt"}


@pytest.mark.parametrize(
    ("raw", "digits"), [("99.99", "99.99"), ("5000", "5000"), ("0.125", "0.125"), ("1E+3", "1000")]
)
def test_amount_digits_round_trip_per_currency(aws: Aws, raw: str, digits: str) -> None:
    currency = {"99.99": "EUR", "5000": "JPY", "0.125": "KWD", "1E+3": "JPY"}[raw]
    order_id = body(
        create_order.handler(
            post_order(f'{{"amount": {raw}, "currency": "{currency}"}}', raw=True), FakeContext()
        )
    )["orderId"]
    process(*aws.queued_bodies())
    assert f'"amount":{digits},' in read(order_id)["body"]


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (post_order("", raw=True), 400),
        (post_order("{", raw=True), 400),
        (post_order({"amount": "1", "currency": "EUR"}), 400),
        (
            post_order('{"amount": 1, "currency": "EUR"}', headers={"content-type": "text/plain"}, raw=True),
            415,
        ),
        (post_order("x" * 9000, raw=True), 413),
        (post_order('{"amount": 1, "currency": "EUR"}', headers={"idempotency-key": ""}, raw=True), 400),
        (http_event("POST", "/orders", b"\x00\x01binary", {"content-type": "application/json"}), 400),
        (http_event("POST", "/orders", None), 400),
    ],
)
def test_bad_requests_get_json_4xx_and_enqueue_nothing(aws: Aws, event: dict[str, Any], status: int) -> None:
    response = create_order.handler(event, FakeContext())
    assert response["statusCode"] == status
    assert isinstance(body(response)["message"], str)
    assert aws.queued_bodies() == []


def test_base64_json_body_is_accepted(aws: Aws) -> None:
    event = http_event(
        "POST", "/orders", b'{"amount": 10, "currency": "USD"}', {"content-type": "application/json"}
    )
    assert create_order.handler(event, FakeContext())["statusCode"] == 202
    assert len(aws.queued_bodies()) == 1


def test_idempotency_key_replays_the_same_order_and_sends_once(aws: Aws) -> None:
    headers = {"idempotency-key": "client-key-1"}
    first = create({"amount": 10, "currency": "EUR"}, headers)
    again = create({"amount": 10.00, "currency": "EUR"}, headers)
    assert first["statusCode"] == again["statusCode"] == 202
    assert body(first)["orderId"] == body(again)["orderId"]
    assert again["headers"]["Location"] == first["headers"]["Location"]
    assert len(aws.queued_bodies()) == 1

    conflict = create({"amount": 11, "currency": "EUR"}, headers)
    assert conflict["statusCode"] == 422
    assert body(conflict) == {
        "message": "Idempotency-Key was already used with a different order body",
        "errors": [{"field": "Idempotency-Key", "problem": "was already used with a different body"}],
    }

    other_key = create({"amount": 10, "currency": "EUR"}, {"idempotency-key": "client-key-2"})
    assert body(other_key)["orderId"] != body(first)["orderId"]
    assert len(aws.queued_bodies()) == 1  # one more message, the earlier one was already drained


def test_without_idempotency_key_every_post_is_a_new_order(aws: Aws) -> None:
    ids = {body(create({"amount": 1, "currency": "EUR"}))["orderId"] for _ in range(3)}
    assert len(ids) == 3
    assert len(aws.queued_bodies()) == 3


def test_duplicate_delivery_writes_one_item(aws: Aws) -> None:
    create({"amount": 5, "currency": "GBP"})
    [message] = aws.queued_bodies()
    assert process(message, message) == {"batchItemFailures": []}
    assert process(message) == {"batchItemFailures": []}
    orders = aws.table.scan()["Items"]
    assert len(orders) == 1
    assert orders[0]["amount"] == Decimal(5)


def test_invalid_records_fail_alone(aws: Aws) -> None:
    create({"amount": 7.5, "currency": "EUR"})
    [good] = aws.queued_bodies()
    event = sqs_event("poison", good, '{"orderId": "x"}')
    result = process_order.handler(event, FakeContext())
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert failed == [event["Records"][0]["messageId"], event["Records"][2]["messageId"]]
    assert len(aws.table.scan()["Items"]) == 1


def test_an_invalid_record_is_visible_again_at_once_and_a_storage_error_waits_out_the_visibility(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    create({"amount": 1, "currency": "EUR"})
    aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="poison")
    received = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    records = [
        sqs_record(m["Body"], m["MessageId"], receipt_handle=m["ReceiptHandle"]) for m in received["Messages"]
    ]
    assert len(records) == 2

    def throttled(**_: Any) -> None:
        raise RuntimeError("throttled")

    monkeypatch.setattr(process_order.table, "put_item", throttled)  # may pass on retry: a backoff
    result = process_order.handler({"Records": records}, FakeContext())
    assert len(result["batchItemFailures"]) == 2
    assert aws.queued_bodies() == ["poison"]


def test_a_storage_error_fails_only_that_record(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    create({"amount": 1, "currency": "EUR"})
    create({"amount": 2, "currency": "EUR"})
    first, second = aws.queued_bodies()
    real_put = process_order.table.put_item

    def flaky_put(**kwargs: Any) -> Any:
        if kwargs["Item"]["orderId"] == json.loads(first)["orderId"]:
            raise RuntimeError("throttled")
        return real_put(**kwargs)

    monkeypatch.setattr(process_order.table, "put_item", flaky_put)
    event = sqs_event(first, second)
    logged = Records()
    logging.getLogger(process_order.logger.name).addHandler(logged)
    try:
        result = process_order.handler(event, FakeContext())
    finally:
        logging.getLogger(process_order.logger.name).removeHandler(logged)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert [item["orderId"] for item in aws.table.scan()["Items"]] == [json.loads(second)["orderId"]]
    # why it failed is in the log (the batch processor keeps it to itself)
    [failure] = [r for r in logged.records if r.getMessage() == "Order not stored"]
    assert getattr(failure, "orderId", None) == json.loads(first)["orderId"]
    assert failure.exc_info is not None and str(failure.exc_info[1]) == "throttled"


@pytest.mark.parametrize("order_id", ["not-a-uuid", "123", "6f1c2a8e3b7d4c2e9a510d2f4b6c8e10", "' OR 1=1 --"])
def test_get_malformed_id_is_400(aws: Aws, order_id: str) -> None:
    response = read(order_id)
    assert response["statusCode"] == 400
    assert body(response)["message"] == "orderId must be a UUID"


def test_get_unknown_is_404(aws: Aws) -> None:
    response = read("6f1c2a8e-3b7d-4c2e-9a51-0d2f4b6c8e10")
    assert response["statusCode"] == 404
    assert body(response) == {
        "message": "Order not found",
        "errors": [{"field": "orderId", "problem": "no such order"}],
        "orderId": "6f1c2a8e-3b7d-4c2e-9a51-0d2f4b6c8e10",
    }


def test_get_never_exposes_idempotency_records(aws: Aws) -> None:
    create({"amount": 1, "currency": "EUR"}, {"idempotency-key": "k"})
    items = aws.table.scan()["Items"]
    assert [i["PK"] for i in items] == ["IDEMPOTENCY#create_order"]


class Records(logging.Handler):
    """What the handlers log, as records (Powertools writes JSON to the stdout it saw at import)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_redelivered_order_keeps_its_first_write(aws: Aws) -> None:
    create({"amount": 5, "currency": "GBP"})
    [message] = aws.queued_bodies()
    order_id = json.loads(message)["orderId"]
    logged = Records()
    logging.getLogger(process_order.logger.name).addHandler(logged)
    try:
        process(message)
        [first] = aws.table.scan()["Items"]
        time.sleep(0.01)  # a second write would carry a later processedAt
        assert process(message) == {"batchItemFailures": []}
    finally:
        logging.getLogger(process_order.logger.name).removeHandler(logged)
    [again] = aws.table.scan()["Items"]
    assert again == first  # the conditional write refused to overwrite: processedAt is the first one
    assert [r.getMessage() for r in logged.records if getattr(r, "orderId", None) == order_id] == [
        "Order processed",
        "Order already processed",
    ]


def test_an_all_poison_batch_is_a_partial_response_not_a_function_error(aws: Aws) -> None:
    event = sqs_event("poison-1", '{"orderId": "x"}')
    result = process_order.handler(event, FakeContext())  # raising here would trip the Errors alarm
    assert result == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def idempotency_records(aws: Aws) -> list[dict[str, Any]]:
    return [i for i in aws.table.scan()["Items"] if i["PK"] == os.environ["IDEMPOTENCY_PARTITION"]]


def test_an_idempotency_key_lives_24_hours(aws: Aws) -> None:
    create({"amount": 1, "currency": "EUR"}, {"idempotency-key": "day"})
    [record] = idempotency_records(aws)
    assert record["status"] == "COMPLETED"
    assert abs(int(record["expiration"]) - (time.time() + 24 * 3600)) < 60


def test_a_key_still_in_progress_is_a_409(aws: Aws) -> None:
    headers = {"idempotency-key": "slow"}
    create({"amount": 1, "currency": "EUR"}, headers)
    [record] = idempotency_records(aws)
    # as if the first request were still running: Powertools marks it INPROGRESS until it ends
    aws.table.update_item(
        Key={"PK": record["PK"], "SK": record["SK"]},
        UpdateExpression="SET #s = :s, in_progress_expiration = :t",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "INPROGRESS", ":t": int(time.time() * 1000) + 60_000},
    )
    conflict = create({"amount": 1, "currency": "EUR"}, headers)
    assert conflict["statusCode"] == 409
    assert body(conflict) == {
        "message": "An order with this Idempotency-Key is still being created; retry shortly",
        "errors": [{"field": "Idempotency-Key", "problem": "is in progress"}],
    }
    assert len(aws.queued_bodies()) == 1  # only the first request's message
