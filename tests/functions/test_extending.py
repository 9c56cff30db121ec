"""docs/extending.md's two handlers against moto: CancelOrder's conditional write and its record,
ListOrders' index query."""

import json
from decimal import Decimal
from typing import Any

import boto3
import cancel_order
import list_orders
import pytest

from tests.functions.conftest import Aws
from tests.functions.events import FakeContext, http_event

ORDER_ID = "3f2b8c1e-9a4d-4e6b-8f0a-1c2d3e4f5a6b"


def stored(
    aws: Aws,
    order_id: str,
    currency: str = "EUR",
    status: str = "PROCESSED",
    at: str = "2026-12-01T10:00:00.000Z",
) -> None:
    key = f"ORDER#{order_id}"
    aws.table.put_item(Item={"PK": key, "SK": key, "orderId": order_id, "amount": Decimal("9.90"),
                             "currency": currency, "status": status, "createdAt": at})  # fmt: skip


def cancel(order_id: str) -> dict[str, Any]:
    event = http_event(
        "POST", f"/orders/{order_id}/cancel", route_key="POST /orders/{orderId}/cancel",
        path_parameters={"orderId": order_id},
    )  # fmt: skip
    return cancel_order.handler(event, FakeContext())


def listed(currency: str | None) -> dict[str, Any]:
    event = http_event("GET", "/orders", route_key="GET /orders")
    if currency is not None:
        event["rawQueryString"] = f"currency={currency}"
        event["queryStringParameters"] = {"currency": currency}
    return list_orders.handler(event, FakeContext())


def test_a_processed_order_is_cancelled_once_and_the_rest_are_refused(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cancel_order, "cancellations", None)
    stored(aws, ORDER_ID)
    answer = cancel(ORDER_ID)
    assert (answer["statusCode"], json.loads(answer["body"])) == (
        200,
        {"orderId": ORDER_ID, "status": "CANCELLED"},
    )
    assert (
        aws.table.get_item(Key={"PK": f"ORDER#{ORDER_ID}", "SK": f"ORDER#{ORDER_ID}"})["Item"]["status"]
        == "CANCELLED"
    )
    again = cancel(ORDER_ID)
    assert again["statusCode"] == 409 and json.loads(again["body"])["message"] == "Order is CANCELLED"
    assert cancel("7f2b8c1e-9a4d-4e6b-8f0a-1c2d3e4f5a6b")["statusCode"] == 404
    assert cancel("not-a-uuid")["statusCode"] == 400


def test_a_cancellation_is_recorded_in_its_table_when_there_is_one(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = boto3.resource("dynamodb")
    table = dynamodb.create_table(
        TableName="cancellations", KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    monkeypatch.setattr(cancel_order, "cancellations", table)
    stored(aws, ORDER_ID)
    assert cancel(ORDER_ID)["statusCode"] == 200
    assert table.get_item(Key={"orderId": ORDER_ID})["Item"]["cancelledAt"].endswith("Z")
    assert cancel(ORDER_ID)["statusCode"] == 409
    assert table.scan()["Count"] == 1, "a refused cancellation records nothing"


def test_orders_are_listed_by_currency_newest_first(aws: Aws) -> None:
    aws.table.meta.client.update_table(
        TableName=aws.table.name,
        AttributeDefinitions=[{"AttributeName": "currency", "AttributeType": "S"}, {"AttributeName": "createdAt", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "byCurrency", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "currency", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}],
        }}],
    )  # fmt: skip
    older, newer, other = (f"{n}f2b8c1e-9a4d-4e6b-8f0a-1c2d3e4f5a6b" for n in (1, 2, 3))
    stored(aws, older, at="2026-12-01T10:00:00.000Z")
    stored(aws, newer, at="2026-12-01T11:00:00.000Z")
    stored(aws, other, currency="JPY")
    answer = listed("EUR")
    assert answer["statusCode"] == 200
    orders = json.loads(answer["body"], parse_float=Decimal)["orders"]
    assert [o["orderId"] for o in orders] == [newer, older]
    assert orders[0] == {"orderId": newer, "amount": Decimal("9.9"), "currency": "EUR", "status": "PROCESSED",
                         "createdAt": "2026-12-01T11:00:00.000Z"}  # fmt: skip
    for bad in (None, "EURO", "eur"):
        refused = listed(bad)
        assert (
            refused["statusCode"] == 400 and json.loads(refused["body"])["errors"][0]["field"] == "currency"
        )
