"""Validation of POST /orders bodies: JSON objects parsed with exact Decimals, every rule a clear 4xx."""

import base64
import binascii
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orders.currencies import MINOR_UNITS
from orders.money import amount_problem, canonical
from orders.responses import error_response

MAX_BODY_BYTES = 8 * 1024
MAX_IDEMPOTENCY_KEY_LENGTH = 128
ALLOWED_FIELDS = ("amount", "currency")


@dataclass(frozen=True)
class FieldError:
    field: str
    problem: str


@dataclass
class RequestError(Exception):
    """A request the API refuses: rendered as `{"message", "errors"}` with `status`."""

    status: int
    message: str
    errors: list[FieldError] = field(default_factory=list)

    def response(self) -> dict[str, Any]:
        return error_response(self.status, self.message, [e.__dict__ for e in self.errors])


@dataclass(frozen=True)
class OrderRequest:
    amount: Decimal
    currency: str


class _NonFinite:
    """Stands for NaN/Infinity literals, which Python's json would otherwise accept."""

    def __init__(self, _literal: str) -> None:
        """Which literal it was does not matter: each is refused the same way."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise RequestError(
            400, "Request body has duplicate keys", [FieldError(k, "duplicate key") for k in duplicates]
        )
    return dict(pairs)


def decode_body(body: str | None, is_base64: bool) -> bytes:
    """The raw bytes of an HTTP API payload-2.0 body."""
    if body is None:
        return b""
    if not is_base64:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RequestError(
            400, "Request body is not valid base64", [FieldError("body", "is not base64")]
        ) from error


def check_content_type(content_type: str | None) -> None:
    """JSON only; a missing Content-Type is taken as JSON (curl -d without -H still works)."""
    if content_type is None:
        return
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise RequestError(
            415,
            "Content-Type must be application/json",
            [FieldError("Content-Type", f"got {media_type or 'empty'}")],
        )


def parse_order_request(raw: bytes) -> OrderRequest:
    if not raw.strip():
        raise RequestError(
            400,
            "Request body is empty; send a JSON object with amount and currency",
            [FieldError("body", "is empty")],
        )
    if len(raw) > MAX_BODY_BYTES:
        raise RequestError(
            413,
            f"Request body is larger than {MAX_BODY_BYTES} bytes",
            [FieldError("body", f"is larger than {MAX_BODY_BYTES} bytes")],
        )
    try:
        text = raw.decode("utf-8")
        document = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_NonFinite,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError as error:
        raise RequestError(
            400, "Request body is not valid JSON", [FieldError("body", f"is not UTF-8 at byte {error.start}")]
        ) from error
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise RequestError(
            400,
            f"Request body is not valid JSON: {error.msg} at {where}",
            [FieldError("body", f"{error.msg} at {where}")],
        ) from error
    except RecursionError as error:
        raise RequestError(
            400, "Request body is not valid JSON", [FieldError("body", "is nested too deeply")]
        ) from error
    if not isinstance(document, dict):
        raise RequestError(
            400, "Request body must be a JSON object", [FieldError("body", "is not a JSON object")]
        )
    return _validate_fields(document)


def _validate_fields(document: dict[str, Any]) -> OrderRequest:
    errors = [FieldError(name, "unknown field") for name in document if name not in ALLOWED_FIELDS]

    currency = document.get("currency")
    valid_currency: str | None = None
    if "currency" not in document:
        errors.append(FieldError("currency", "is required"))
    elif not isinstance(currency, str):
        errors.append(FieldError("currency", "must be a string"))
    elif currency not in MINOR_UNITS:
        hint = " (codes are upper case)" if currency.upper() in MINOR_UNITS else ""
        errors.append(FieldError("currency", f"is not a supported ISO 4217 code{hint}"))
    else:
        valid_currency = currency

    amount = document.get("amount")
    if "amount" not in document:
        errors.append(FieldError("amount", "is required"))
    else:
        problem = (
            "must be a finite number"
            if isinstance(amount, _NonFinite)
            else amount_problem(amount, valid_currency)
        )
        if problem:
            errors.append(FieldError("amount", problem))

    if errors:
        raise RequestError(400, "Invalid order", errors)
    assert isinstance(amount, Decimal) and valid_currency is not None
    return OrderRequest(amount=canonical(amount), currency=valid_currency)


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise RequestError(
            400,
            "Invalid Idempotency-Key header",
            [
                FieldError(
                    "Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"
                )
            ],
        )
    return key
