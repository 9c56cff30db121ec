"""Every POST /orders validation rule, on the domain module directly."""

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from orders.requests import (
    MAX_BODY_BYTES,
    FieldError,
    OrderRequest,
    RequestError,
    check_content_type,
    check_idempotency_key,
    decode_body,
    parse_order_request,
)


def rejected(raw: str | bytes) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse_order_request(raw.encode() if isinstance(raw, str) else raw)
    return caught.value


def problems(raw: str) -> dict[str, str]:
    return {e.field: e.problem for e in rejected(raw).errors}


@pytest.mark.parametrize(
    ("body", "amount", "currency"),
    [
        ('{"amount": 99.99, "currency": "EUR"}', "99.99", "EUR"),
        ('{"amount": 1000000000, "currency": "JPY"}', "1000000000", "JPY"),
        ('{"amount": 0.001, "currency": "KWD"}', "0.001", "KWD"),
        ('{"amount": 12.345, "currency": "BHD"}', "12.345", "BHD"),
        ('{"currency": "USD", "amount": 0.01}', "0.01", "USD"),
        ('{"amount": 99.90, "currency": "EUR"}', "99.9", "EUR"),
        ('{"amount": 1E+2, "currency": "JPY"}', "100", "JPY"),
        ('{"amount": 1.5e1, "currency": "EUR"}', "15", "EUR"),
        ('{"amount": 100.000, "currency": "JPY"}', "100", "JPY"),
        ('{"amount": 0.1234, "currency": "CLF"}', "0.1234", "CLF"),
        ('{"amount": 123456789.12345678901234567890, "currency": "EUR"}', None, None),
    ],
)
def test_valid_orders_keep_exact_digits(body: str, amount: str | None, currency: str | None) -> None:
    if amount is None:
        assert problems(body) == {"amount": "has more than 2 decimal places, the minor unit of EUR"}
        return
    request = parse_order_request(body.encode())
    assert request == OrderRequest(amount=Decimal(amount), currency=currency or "")
    assert str(request.amount) == amount


def test_amount_is_never_a_float() -> None:
    request = parse_order_request(b'{"amount": 0.1, "currency": "EUR"}')
    assert isinstance(request.amount, Decimal)
    assert request.amount * 3 == Decimal("0.3")


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ('{"amount": NaN, "currency": "EUR"}', "amount", "must be a finite number"),
        ('{"amount": Infinity, "currency": "EUR"}', "amount", "must be a finite number"),
        ('{"amount": -Infinity, "currency": "EUR"}', "amount", "must be a finite number"),
        ('{"amount": 1e400, "currency": "EUR"}', "amount", "must be at most 1000000000"),
        ('{"amount": 1000000000.01, "currency": "EUR"}', "amount", "must be at most 1000000000"),
        ('{"amount": 0, "currency": "EUR"}', "amount", "must be greater than 0"),
        ('{"amount": -5, "currency": "EUR"}', "amount", "must be greater than 0"),
        (
            '{"amount": 1e-400, "currency": "EUR"}',
            "amount",
            "has more than 2 decimal places, the minor unit of EUR",
        ),
        ('{"amount": "99.99", "currency": "EUR"}', "amount", "must be a JSON number"),
        ('{"amount": true, "currency": "EUR"}', "amount", "must be a JSON number"),
        ('{"amount": null, "currency": "EUR"}', "amount", "must be a JSON number"),
        ('{"amount": [1], "currency": "EUR"}', "amount", "must be a JSON number"),
        ('{"amount": {"value": 1}, "currency": "EUR"}', "amount", "must be a JSON number"),
        (
            '{"amount": 1.5, "currency": "JPY"}',
            "amount",
            "has more than 0 decimal places, the minor unit of JPY",
        ),
        (
            '{"amount": 1.999, "currency": "EUR"}',
            "amount",
            "has more than 2 decimal places, the minor unit of EUR",
        ),
        (
            '{"amount": 1.0001, "currency": "KWD"}',
            "amount",
            "has more than 3 decimal places, the minor unit of KWD",
        ),
        ('{"currency": "EUR"}', "amount", "is required"),
        ('{"amount": 1}', "currency", "is required"),
        (
            '{"amount": 1, "currency": "eur"}',
            "currency",
            "is not a supported ISO 4217 code (codes are upper case)",
        ),
        ('{"amount": 1, "currency": "XXX"}', "currency", "is not a supported ISO 4217 code"),
        ('{"amount": 1, "currency": "XAU"}', "currency", "is not a supported ISO 4217 code"),
        ('{"amount": 1, "currency": 978}', "currency", "must be a string"),
        ('{"amount": 1, "currency": ["EUR"]}', "currency", "must be a string"),
        ('{"amount": 1, "currency": "EUR", "note": "x"}', "note", "unknown field"),
        ('{"amount": 1, "amount": 2, "currency": "EUR"}', "amount", "duplicate key"),
    ],
)
def test_field_rules(body: str, field: str, problem: str) -> None:
    error = rejected(body)
    assert error.status == 400
    assert {"field": field, "problem": problem} in json.loads(error.response()["body"])["errors"]


def test_all_field_errors_are_reported_together() -> None:
    assert problems('{"amount": "x", "currency": "eur", "extra": 1}') == {
        "extra": "unknown field",
        "currency": "is not a supported ISO 4217 code (codes are upper case)",
        "amount": "must be a JSON number",
    }


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"", 400, "Request body is empty; send a JSON object with amount and currency"),
        (b"   \n", 400, "Request body is empty; send a JSON object with amount and currency"),
        (b"not json", 400, "Request body is not valid JSON: Expecting value at line 1 column 1"),
        (
            b'{"amount": 1,',
            400,
            "Request body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 14",
        ),
        (b"\xff\xfe{}", 400, "Request body is not valid JSON"),
        (b"[]", 400, "Request body must be a JSON object"),
        (b"null", 400, "Request body must be a JSON object"),
        (b'"order"', 400, "Request body must be a JSON object"),
        (b"42", 400, "Request body must be a JSON object"),
        (
            b'{"amount": 1, "currency": "EUR", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}',
            413,
            "Request body is larger than 8192 bytes",
        ),
    ],
)
def test_body_level_errors(raw: bytes, status: int, message: str) -> None:
    error = rejected(raw)
    assert (error.status, error.message) == (status, message)


def test_a_json_syntax_error_names_its_line_and_column() -> None:
    error = rejected(b'{\n  "amount": 1,\n  "currency": "EUR",\n}')  # a trailing comma
    assert error.message == (
        "Request body is not valid JSON: Expecting property name enclosed in double quotes at line 4 column 1"
    )
    assert error.errors == [
        FieldError("body", "Expecting property name enclosed in double quotes at line 4 column 1")
    ]
    assert rejected(b"\xff\xfe{}").errors == [FieldError("body", "is not UTF-8 at byte 0")]


def test_every_request_error_has_message_and_errors() -> None:
    for raw in (b"", b"not json", b"[]", b'{"amount": 1}', b"[" * 4000 + b"]" * 4000):
        answer = json.loads(rejected(raw).response()["body"])
        assert set(answer) == {"message", "errors"} and answer["errors"], raw[:20]


def test_deeply_nested_json_within_the_size_limit_is_a_400() -> None:
    assert rejected(b"[" * 4000 + b"]" * 4000).status == 400


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/json; charset=utf-8", "application/vnd.orders+json"],
)
def test_json_content_types_pass(content_type: str | None) -> None:
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "", "multipart/form-data; boundary=x"]
)
def test_other_content_types_are_415(content_type: str) -> None:
    with pytest.raises(RequestError) as caught:
        check_content_type(content_type)
    assert caught.value.status == 415


def test_base64_bodies_are_decoded_and_bad_base64_is_a_400() -> None:
    assert decode_body("eyJhIjoxfQ==", is_base64=True) == b'{"a":1}'
    assert decode_body(None, is_base64=False) == b""
    with pytest.raises(RequestError) as caught:
        decode_body("***", is_base64=True)
    assert caught.value.status == 400


@pytest.mark.parametrize("key", ["", "x" * 129, "caf\u00e9", "tab\tkey"])
def test_bad_idempotency_keys_are_400(key: str) -> None:
    with pytest.raises(RequestError) as caught:
        check_idempotency_key(key)
    assert caught.value.status == 400


def test_good_idempotency_keys_pass() -> None:
    assert check_idempotency_key(None) is None
    assert check_idempotency_key("order-2026-11-24-0001") == "order-2026-11-24-0001"


def refusal(check: Callable[[], object]) -> tuple[int, str, list[tuple[str, str]]]:
    with pytest.raises(RequestError) as caught:
        check()
    error = caught.value
    return error.status, error.message, [(e.field, e.problem) for e in error.errors]


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (lambda: parse_order_request(b""), (400, "Request body is empty; send a JSON object with amount and currency", [("body", "is empty")])),
        (lambda: parse_order_request(b"x" * (MAX_BODY_BYTES + 1)), (413, "Request body is larger than 8192 bytes", [("body", "is larger than 8192 bytes")])),
        (lambda: parse_order_request(b"[" * 4000 + b"]" * 4000), (400, "Request body is not valid JSON", [("body", "is nested too deeply")])),
        (lambda: parse_order_request(b"[]"), (400, "Request body must be a JSON object", [("body", "is not a JSON object")])),
        (lambda: parse_order_request(b'{"amount": 1, "amount": 2, "currency": "EUR"}'), (400, "Request body has duplicate keys", [("amount", "duplicate key")])),
        (lambda: parse_order_request(b'{"amount": 1}'), (400, "Invalid order", [("currency", "is required")])),
        (lambda: decode_body("***", is_base64=True), (400, "Request body is not valid base64", [("body", "is not base64")])),
        (lambda: check_content_type("text/plain; charset=utf-8"), (415, "Content-Type must be application/json", [("Content-Type", "got text/plain")])),
        (lambda: check_content_type(""), (415, "Content-Type must be application/json", [("Content-Type", "got empty")])),
        (lambda: check_idempotency_key(""), (400, "Invalid Idempotency-Key header", [("Idempotency-Key", "must be 1 to 128 printable ASCII characters")])),
    ],
)  # fmt: skip
def test_each_refusal_says_exactly_what_is_wrong(
    check: Callable[[], object], expected: tuple[int, str, list[tuple[str, str]]]
) -> None:
    assert refusal(check) == expected


def test_the_limits_are_inclusive() -> None:
    body = b'{"amount": 1, "currency": "EUR"}'
    exactly_max = body + b" " * (MAX_BODY_BYTES - len(body))
    assert parse_order_request(exactly_max) == OrderRequest(Decimal(1), "EUR")
    assert check_idempotency_key("k" * 128) == "k" * 128


def test_content_type_parameters_are_ignored_whatever_their_number() -> None:
    check_content_type("application/json; charset=utf-8; profile=orders")  # the media type is what counts
