"""HTTP API (payload 2.0) responses whose JSON keeps Decimals exact."""

import json
from decimal import Decimal
from typing import Any

from orders.money import to_text


def dumps_exact(value: Any) -> str:
    """json.dumps, but Decimals become JSON numbers with their exact digits (never via float)."""
    if isinstance(value, Decimal):
        return to_text(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps_exact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    return json.dumps(value)


ORDER_FIELDS = ("orderId", "amount", "currency", "status", "createdAt")  # what the API shows of an order


def order_body(item: dict[str, Any]) -> dict[str, Any]:
    """An order as GET /orders/{orderId} answers it, from its table item."""
    return {name: item[name] for name in ORDER_FIELDS}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": dumps_exact(body),
    }


def error_response(status: int, message: str, errors: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """Every error the API's functions answer: `{"message", "errors": [{"field", "problem"}]}`."""
    return json_response(status, {"message": message, "errors": errors, **extra})
