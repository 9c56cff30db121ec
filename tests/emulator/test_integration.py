"""The real OrdersStack, deployed by cdklocal to the emulator, driven end to end."""

import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.emulator.conftest import Deployed

pytestmark = pytest.mark.integration


def eventually(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"not true within {timeout}s")


def order_message(order_id: str, amount: str = "10.5", currency: str = "EUR") -> str:
    return json.dumps(
        {"orderId": order_id, "amount": amount, "currency": currency, "createdAt": "2026-11-24T20:00:00.000Z"}
    )


def test_post_then_get_keeps_the_exact_amount(deployed: Deployed) -> None:
    created = requests.post(
        f"{deployed.api}/orders",
        data='{"amount": 123456.78, "currency": "EUR"}',
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert created.status_code == 202, created.text
    order_id = created.json()["orderId"]
    assert created.headers["Location"] == f"/orders/{order_id}"

    found = eventually(
        lambda: (r := requests.get(f"{deployed.api}/orders/{order_id}", timeout=10)).status_code == 200 and r
    )
    assert '"amount":123456.78,' in found.text
    body = json.loads(found.text, parse_float=Decimal)
    assert (
        body["orderId"] == order_id
        and body["amount"] == Decimal("123456.78")
        and body["status"] == "PROCESSED"
    )


def test_host_header_form_and_error_mapping(deployed: Deployed) -> None:
    host = f"{deployed.outputs.api_id}.execute-api.localhost.localstack.cloud:{deployed.endpoint.rsplit(':', 1)[1]}"
    response = requests.get(f"{deployed.endpoint}/orders/not-a-uuid", headers={"Host": host}, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"] == "orderId must be a UUID"
    assert requests.delete(f"{deployed.api}/orders", timeout=10).json() == {"message": "Not Found"}
    assert (
        requests.get(f"{deployed.endpoint}/_aws/execute-api/nosuchapi/orders", timeout=10).status_code == 404
    )
    bad = requests.post(
        f"{deployed.api}/orders", data="[1]", headers={"content-type": "application/json"}, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["message"] == "Request body must be a JSON object"


def test_poison_message_reaches_the_dlq_after_exactly_five_receives(deployed: Deployed) -> None:
    sqs = deployed.client("sqs")
    marker = f"poison-{uuid.uuid4()}"
    message_id = sqs.send_message(QueueUrl=deployed.outputs.queue_url, MessageBody=marker)["MessageId"]

    def in_dlq() -> list[dict[str, Any]]:
        got = sqs.receive_message(
            QueueUrl=deployed.outputs.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [m for m in got.get("Messages", []) if m["Body"] == marker]

    started = time.monotonic()
    [dead] = eventually(in_dlq, timeout=40, every=0.5)
    print(f"poison message reached the DLQ after {time.monotonic() - started:.1f}s")
    assert dead["MessageId"] == message_id

    logs = deployed.client("logs")
    group_name = _log_group(deployed, _function(deployed, "process_order"))
    events = logs.filter_log_events(logGroupName=group_name, filterPattern=message_id)["events"]
    attempts = [e for e in events if "Invalid order message" in e["message"] and message_id in e["message"]]
    assert len(attempts) == 5


def test_duplicate_delivery_stores_one_item(deployed: Deployed) -> None:
    sqs, dynamodb = deployed.client("sqs"), deployed.client("dynamodb")
    order_id = str(uuid.uuid4())
    for _ in range(2):
        sqs.send_message(QueueUrl=deployed.outputs.queue_url, MessageBody=order_message(order_id))
    key = {"PK": {"S": f"ORDER#{order_id}"}, "SK": {"S": f"ORDER#{order_id}"}}
    eventually(lambda: dynamodb.get_item(TableName=deployed.outputs.table_name, Key=key).get("Item"))
    time.sleep(1.0)  # let the second copy be processed too
    items = dynamodb.query(
        TableName=deployed.outputs.table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ORDER#{order_id}"}},
    )["Items"]
    assert len(items) == 1
    eventually(lambda: _queue_empty(deployed), timeout=10)


def test_lambda_invoke_api_runs_the_same_runtime(deployed: Deployed) -> None:
    client = deployed.client("lambda")
    event = {"version": "2.0", "routeKey": "GET /orders/{orderId}", "rawPath": "/orders/x", "headers": {}, "pathParameters": {"orderId": "x"},
             "requestContext": {"http": {"method": "GET", "path": "/orders/x"}, "requestId": "r", "stage": "$default"}, "isBase64Encoded": False}  # fmt: skip
    result = client.invoke(
        FunctionName=_function(deployed, "get_order"), Payload=json.dumps(event), LogType="Tail"
    )
    payload = json.loads(result["Payload"].read())
    assert payload["statusCode"] == 400
    assert "FunctionError" not in result
    import base64

    assert "REPORT RequestId" in base64.b64decode(result["LogResult"]).decode()


def _function(deployed: Deployed, module: str) -> str:
    client = deployed.client("lambda")
    for fn in client.list_functions()["Functions"]:
        if fn["Handler"] == f"{module}.handler":
            return str(fn["FunctionName"])
    raise AssertionError(f"no function with handler {module}.handler")


def _log_group(deployed: Deployed, function_name: str) -> str:
    config = deployed.client("lambda").get_function(FunctionName=function_name)["Configuration"]
    return str(config["LoggingConfig"]["LogGroup"])


def _queue_empty(deployed: Deployed) -> bool:
    attributes = deployed.client("sqs").get_queue_attributes(
        QueueUrl=deployed.outputs.queue_url, AttributeNames=["All"]
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )
