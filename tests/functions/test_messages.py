import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from orders.messages import (
    InvalidOrderMessage,
    canonical_order_id,
    iso_timestamp,
    new_order,
    parse_order_message,
)
from orders.money import canonical
from orders.responses import dumps_exact, json_response

ORDER_ID = "6f1c2a8e-3b7d-4c2e-9a51-0d2f4b6c8e10"


def test_new_order_message_carries_exact_amount_as_string() -> None:
    order = new_order(Decimal("99.99"), "EUR", now=datetime(2026, 11, 24, 20, 0, 0, 123456, tzinfo=UTC))
    message = json.loads(order.to_message())
    assert message == {
        "orderId": order.order_id,
        "amount": "99.99",
        "currency": "EUR",
        "createdAt": "2026-11-24T20:00:00.123Z",
    }
    assert canonical_order_id(order.order_id) == order.order_id
    assert parse_order_message(order.to_message()) == order


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON"),
        ("[1]", "message body is not a JSON object"),
        (
            '{"orderId": "nope", "amount": "1", "currency": "EUR", "createdAt": "2026-11-24T20:00:00Z"}',
            "orderId is not a UUID",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": 1, "currency": "EUR", "createdAt": "2026-11-24T20:00:00Z"}}',
            "amount is not a string of digits",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": "abc", "currency": "EUR", "createdAt": "2026-11-24T20:00:00Z"}}',
            "amount is not a decimal number",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": "NaN", "currency": "EUR", "createdAt": "2026-11-24T20:00:00Z"}}',
            "amount must be a finite number",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": "1.5", "currency": "JPY", "createdAt": "2026-11-24T20:00:00Z"}}',
            "amount has more than 0 decimal places, the minor unit of JPY",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": "1", "currency": "ABC", "createdAt": "2026-11-24T20:00:00Z"}}',
            "currency is not a supported ISO 4217 code",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": "1", "currency": "EUR"}}',
            "createdAt is not an ISO 8601 timestamp",
        ),
        (
            f'{{"orderId": "{ORDER_ID}", "amount": "1", "currency": "EUR", "createdAt": "yesterday"}}',
            "createdAt is not an ISO 8601 timestamp",
        ),
    ],
)
def test_invalid_messages_are_refused(body: str, reason: str) -> None:
    with pytest.raises(InvalidOrderMessage, match=f"^{reason}$"):
        parse_order_message(body)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ORDER_ID, ORDER_ID),
        (ORDER_ID.upper(), ORDER_ID),
        ("6f1c2a8e3b7d4c2e9a510d2f4b6c8e10", None),
        ("{6f1c2a8e-3b7d-4c2e-9a51-0d2f4b6c8e10}", None),
        ("6f1c2a8e3b7d4c2e9a510d2f4b6c8e10----", None),  # 36 characters, a UUID once hyphens are dropped
        ("not-a-uuid", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_canonical_order_id(value: object, expected: str | None) -> None:
    assert canonical_order_id(value) == expected


def test_dumps_exact_writes_decimals_as_exact_json_numbers() -> None:
    text = dumps_exact(
        {
            "amount": Decimal("12345678.90123"),
            "big": Decimal("1E+3"),
            "list": [Decimal("0.10"), "s", None, True],
        }
    )
    assert text == '{"amount":12345678.90123,"big":1000,"list":[0.1,"s",null,true]}'
    assert json.loads(text, parse_float=Decimal)["amount"] == Decimal("12345678.90123")


def test_json_response_shape() -> None:
    response = json_response(202, {"orderId": ORDER_ID}, headers={"Location": f"/orders/{ORDER_ID}"})
    assert response == {
        "statusCode": 202,
        "headers": {"Content-Type": "application/json", "Location": f"/orders/{ORDER_ID}"},
        "body": f'{{"orderId":"{ORDER_ID}"}}',
    }


def test_timestamps_are_utc_whatever_the_machine_s_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        moment = datetime(2026, 11, 24, 20, 0, 0, 123456, tzinfo=UTC)
        assert iso_timestamp(moment) == "2026-11-24T20:00:00.123Z"
        assert new_order(Decimal(1), "EUR").created_at.endswith("Z")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_canonical_amounts_have_no_exponent() -> None:
    for raw, digits in (("1E+1", "10"), ("1E+2", "100"), ("99.90", "99.9"), ("0.0001", "0.0001")):
        amount = canonical(Decimal(raw))
        assert amount.as_tuple().exponent <= 0 and str(amount) == digits, raw
