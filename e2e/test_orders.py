"""Scenarios 1-6: the API contract, exact money, validation, errors, idempotency, duplicates."""

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from e2e.conftest import RecordingSession
from e2e.waiting import eventually
from workspace.deployment import Deployment

JSON = {"content-type": "application/json"}


def post(
    http: RecordingSession, deployment: Deployment, body: str, headers: dict[str, str] | None = None
) -> Any:
    return http.post(f"{deployment.api_url}/orders", data=body, headers={**JSON, **(headers or {})})


def wait_for_order(http: RecordingSession, deployment: Deployment, order_id: str) -> tuple[Any, float]:
    def found() -> Any:
        response = http.get(f"{deployment.api_url}/orders/{order_id}")
        assert response.status_code in (200, 404), response.text
        return response if response.status_code == 200 else None

    return eventually(found, timeout=30, every=0.1, what=f"order {order_id} visible")


def test_contract_post_then_get(http: RecordingSession, deployment: Deployment, record_property: Any) -> None:
    created = post(http, deployment, '{"amount": 99.99, "currency": "EUR"}')
    assert created.status_code == 202
    order_id = created.json()["orderId"]
    assert uuid.UUID(order_id).version == 4
    assert created.headers["Location"] == f"/orders/{order_id}"
    assert created.headers["Content-Type"].startswith("application/json")

    response, waited = wait_for_order(http, deployment, order_id)
    record_property("visible_after_s", round(waited, 3))
    print(f"order visible after {waited:.2f}s")
    order = json.loads(response.text, parse_float=Decimal)
    assert set(order) == {"orderId", "amount", "currency", "status", "createdAt"}
    assert (order["orderId"], order["amount"], order["currency"], order["status"]) == (
        order_id,
        Decimal("99.99"),
        "EUR",
        "PROCESSED",
    )


@pytest.mark.parametrize(
    ("amount", "currency", "returned"),
    [
        ("99.99", "EUR", "99.99"),
        ("0.01", "USD", "0.01"),
        ("5000", "JPY", "5000"),
        ("12.345", "KWD", "12.345"),
        ("0.001", "BHD", "0.001"),
        ("1000000000", "EUR", "1000000000"),
        ("123456789.12", "GBP", "123456789.12"),
        ("0.1234", "CLF", "0.1234"),
        ("10.50", "EUR", "10.5"),
    ],
)
def test_money_round_trips_digit_for_digit(
    http: RecordingSession, deployment: Deployment, amount: str, currency: str, returned: str
) -> None:
    created = post(http, deployment, f'{{"amount": {amount}, "currency": "{currency}"}}')
    assert created.status_code == 202, created.text
    response, _ = wait_for_order(http, deployment, created.json()["orderId"])
    assert f'"amount":{returned},' in response.text.replace(" ", "")


BAD_BODIES = [
    ("", 400),
    ("not json", 400),
    ("{", 400),
    ('{"amount": 1, "currency": "EUR",}', 400),
    ("[]", 400),
    ("null", 400),
    ('"order"', 400),
    ("{}", 400),
    ('{"amount": 1}', 400),
    ('{"currency": "EUR"}', 400),
    ('{"amount": "99.99", "currency": "EUR"}', 400),
    ('{"amount": true, "currency": "EUR"}', 400),
    ('{"amount": null, "currency": "EUR"}', 400),
    ('{"amount": [1], "currency": "EUR"}', 400),
    ('{"amount": {"v": 1}, "currency": "EUR"}', 400),
    ('{"amount": NaN, "currency": "EUR"}', 400),
    ('{"amount": Infinity, "currency": "EUR"}', 400),
    ('{"amount": -Infinity, "currency": "EUR"}', 400),
    ('{"amount": 1e400, "currency": "EUR"}', 400),
    ('{"amount": 0, "currency": "EUR"}', 400),
    ('{"amount": -1, "currency": "EUR"}', 400),
    ('{"amount": 1000000000.01, "currency": "EUR"}', 400),
    ('{"amount": 1.999, "currency": "EUR"}', 400),
    ('{"amount": 1.5, "currency": "JPY"}', 400),
    ('{"amount": 1.0001, "currency": "KWD"}', 400),
    ('{"amount": 1, "currency": "eur"}', 400),
    ('{"amount": 1, "currency": "XXX"}', 400),
    ('{"amount": 1, "currency": 978}', 400),
    ('{"amount": 1, "currency": "EUR", "extra": 1}', 400),
    ('{"amount": 1, "amount": 2, "currency": "EUR"}', 400),
    ('{"amount": 1, "currency": "EUR", "pad": "' + "x" * 9000 + '"}', 413),
]


@pytest.mark.parametrize(
    ("body", "status"), BAD_BODIES, ids=[f"{i}-{s}" for i, (_, s) in enumerate(BAD_BODIES)]
)
def test_validation_matrix(http: RecordingSession, deployment: Deployment, body: str, status: int) -> None:
    response = post(http, deployment, body)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert_function_error(response.json())


def assert_function_error(answer: dict[str, object]) -> None:
    """The functions' one error shape: a message and at least one {field, problem}."""
    assert isinstance(answer["message"], str)
    errors = answer["errors"]
    assert isinstance(errors, list) and errors
    assert all(isinstance(e, dict) and set(e) == {"field", "problem"} for e in errors)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-type": "text/plain"}, 415),
        ({"content-type": "application/x-www-form-urlencoded"}, 415),
        ({"idempotency-key": ""}, 400),
    ],
)
def test_header_errors(
    http: RecordingSession, deployment: Deployment, headers: dict[str, str], status: int
) -> None:
    response = http.post(
        f"{deployment.api_url}/orders", data='{"amount": 1, "currency": "EUR"}', headers={**JSON, **headers}
    )
    assert response.status_code == status
    assert_function_error(response.json())


def test_binary_body_is_a_4xx_not_a_5xx(http: RecordingSession, deployment: Deployment) -> None:
    response = http.post(
        f"{deployment.api_url}/orders",
        data=bytes(range(256)),
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 415


def test_get_errors_and_unrouted(http: RecordingSession, deployment: Deployment) -> None:
    unknown = str(uuid.uuid4())
    response = http.get(f"{deployment.api_url}/orders/{unknown}")
    assert response.status_code == 404 and response.json()["message"] == "Order not found"
    assert_function_error(response.json())
    malformed = http.get(f"{deployment.api_url}/orders/not-a-uuid")
    assert malformed.status_code == 400
    assert_function_error(malformed.json())
    # API Gateway's own answers (no route, throttled) carry only a message, on AWS as here
    for method, path in (
        ("DELETE", "/orders"),
        ("PUT", "/orders/x"),
        ("GET", "/orders"),
        ("GET", "/nothing"),
    ):
        unrouted = http.request(method, f"{deployment.api_url}{path}")
        assert unrouted.status_code == 404, (method, path)
        assert unrouted.json() == {"message": "Not Found"}


def test_idempotency_key(http: RecordingSession, deployment: Deployment) -> None:
    key = {"idempotency-key": f"e2e-{uuid.uuid4()}"}
    first = post(http, deployment, '{"amount": 42.5, "currency": "EUR"}', key)
    again = post(http, deployment, '{"amount": 42.50, "currency": "EUR"}', key)
    assert first.status_code == again.status_code == 202
    order_id = first.json()["orderId"]
    assert again.json()["orderId"] == order_id
    wait_for_order(http, deployment, order_id)
    assert len(deployment.order_items(order_id)) == 1
    conflict = post(http, deployment, '{"amount": 43, "currency": "EUR"}', key)
    assert conflict.status_code == 422
    assert "Idempotency-Key" in conflict.json()["message"]


def test_duplicate_delivery_stores_one_item(deployment: Deployment) -> None:
    order_id = str(uuid.uuid4())
    body = json.dumps(
        {"orderId": order_id, "amount": "19.99", "currency": "EUR", "createdAt": "2026-11-24T12:00:00.000Z"}
    )
    sqs = deployment.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=deployment.outputs.queue_url, MessageBody=body)
    eventually(lambda: deployment.order_items(order_id), what="duplicate order stored")
    eventually(lambda: deployment.messages_in_queue() == 0, what="queue drained")
    assert len(deployment.order_items(order_id)) == 1
