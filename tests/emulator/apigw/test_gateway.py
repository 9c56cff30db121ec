"""HTTP API data plane: route selection, payload 2.0 events (from one parsed request), response
mapping, limits."""

import base64
import io
import json
from typing import Any

import pytest

from emulator.apigw.gateway import addressed_api
from emulator.apigw.payload import Stage, build_event, map_response
from emulator.apigw.request import HttpRequest, read_body
from emulator.apigw.routes import Route, TokenBucket, select_route
from emulator.http import Response, respond

DEFAULT = Stage("$default", {})


ROUTES = [
    Route.parse(key, f"integrations/{i}")
    for i, key in enumerate(
        [
            "POST /orders",
            "GET /orders/{orderId}",
            "GET /orders/special",
            "ANY /files/{proxy+}",
            "GET /files/{proxy+}",
            "$default",
        ]
    )
]


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        ("POST", "/orders", "POST /orders", {}),
        ("GET", "/orders/abc", "GET /orders/{orderId}", {"orderId": "abc"}),
        ("GET", "/orders/special", "GET /orders/special", {}),
        ("GET", "/files/a/b/c.txt", "GET /files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("PUT", "/files/a/b", "ANY /files/{proxy+}", {"proxy": "a/b"}),
        ("DELETE", "/orders", "$default", {}),
        ("GET", "/", "$default", {}),
        ("GET", "/orders/abc/extra", "$default", {}),
    ],
)
def test_route_selection(method: str, path: str, key: str, params: dict[str, str]) -> None:
    selected = select_route(ROUTES, method, path)
    assert selected is not None
    route, parameters = selected
    assert (route.key, parameters) == (key, params)


def test_no_default_route_means_no_match() -> None:
    routes = [r for r in ROUTES if r.key != "$default"]
    assert select_route(routes, "DELETE", "/orders") is None
    assert select_route(routes, "GET", "/files") is None  # a greedy parameter needs at least one segment


def environ(method: str = "POST", path: str = "/orders", body: bytes = b"", **headers: str) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": headers.pop("query", ""),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_PORT": "4566",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    for name, value in headers.items():
        key = name.upper()
        env[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    return env


def test_payload_2_event_is_complete() -> None:
    env = environ(
        "POST",
        "/orders",
        b'{"a":1}',
        CONTENT_TYPE="application/json",
        HOST="abc123.execute-api.localhost.localstack.cloud:4566",
        USER_AGENT="curl/8",
        COOKIE="a=1; b=2",
        X_CUSTOM="v",
        query="x=1&x=2&y=",
    )
    request = HttpRequest.from_environ(env, "abc123", "/orders")
    event = build_event(request, "000000000000", DEFAULT, "/orders", "POST /orders", {})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /orders"
    assert event["rawPath"] == "/orders"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-custom"] == "v"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["body"] == '{"a":1}' and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["http"] == {
        "method": "POST",
        "path": "/orders",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert ctx["apiId"] == "abc123" and ctx["accountId"] == "000000000000" and ctx["stage"] == "$default"
    assert (
        ctx["domainName"] == "abc123.execute-api.localhost.localstack.cloud"
        and ctx["domainPrefix"] == "abc123"
    )
    assert ctx["requestId"] == request.request_id and ctx["routeKey"] == "POST /orders"
    assert isinstance(ctx["timeEpoch"], int) and ctx["time"].endswith("+0000")
    assert "pathParameters" not in event and "stageVariables" not in event


def test_binary_bodies_are_base64_and_named_stages_prefix_raw_path() -> None:
    data = bytes(range(256))
    env = environ("PUT", "/dev/files/x", data, CONTENT_TYPE="application/octet-stream")
    request = HttpRequest.from_environ(env, "a", "/dev/files/x")
    event = build_event(
        request, "0", Stage("dev", {"k": "v"}), "/files/x", "PUT /files/{proxy+}", {"proxy": "x"}
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    assert event["rawPath"] == "/dev/files/x"
    assert event["pathParameters"] == {"proxy": "x"}
    assert event["stageVariables"] == {"k": "v"}


def test_json_content_type_with_invalid_utf8_is_base64() -> None:
    request = HttpRequest.from_environ(environ(body=b"\xff\xfe", CONTENT_TYPE="application/json"), "a", "/")
    event = build_event(request, "0", DEFAULT, "/", "k", {})
    assert event["isBase64Encoded"] is True


@pytest.mark.parametrize(
    ("result", "status", "headers", "body"),
    [
        (
            {"statusCode": 202, "headers": {"Location": "/x"}, "body": '{"a":1}'},
            202,
            {"Location": "/x", "Content-Type": "application/json"},
            b'{"a":1}',
        ),
        (
            {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True},
            200,
            {},
            b"\x00\x01",
        ),
        ({"statusCode": 204}, 204, {}, b""),
        ({"statusCode": 200, "cookies": ["a=1", "b=2"], "body": "x"}, 200, {}, b"x"),
        ({"orderId": "1"}, 200, {"Content-Type": "application/json"}, b'{"orderId": "1"}'),
        ("just a string", 200, {"Content-Type": "application/json"}, b'"just a string"'),
        ({"statusCode": "nope"}, 500, {}, b'{"message": "Internal Server Error"}'),
        ({"statusCode": 999}, 500, {}, b'{"message": "Internal Server Error"}'),
    ],
)
def test_response_mapping(result: Any, status: int, headers: dict[str, str], body: bytes) -> None:
    got = map_response(json.dumps(result).encode())
    assert got.status == status
    assert headers.items() <= got.headers.items()
    assert got.body == body
    assert got.cookies == tuple(result.get("cookies", ())) if isinstance(result, dict) else not got.cookies


def test_body_limits() -> None:
    assert read_body(environ(body=b"abc")) == b"abc"
    assert read_body(environ("GET", "/x")) == b""  # no length, not chunked: no body (and no blocking read)
    big = environ()
    big["CONTENT_LENGTH"] = str(10 * 1024 * 1024 + 1)
    assert read_body(big) is None
    chunked = environ()
    chunked["wsgi.input_terminated"] = True
    chunked["wsgi.input"] = io.BytesIO(b"x" * (10 * 1024 * 1024 + 1))
    assert read_body(chunked) is None


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=1, burst=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_apis_addressed_by_path_and_host() -> None:
    assert addressed_api({"PATH_INFO": "/_aws/execute-api/abc/orders/1"}) == ("abc", "/orders/1")
    assert addressed_api({"PATH_INFO": "/_aws/execute-api/abc/$default/orders/1"}) == ("abc", "/orders/1")
    assert addressed_api({"PATH_INFO": "/_aws/execute-api/abc/$default"}) == ("abc", "/")
    assert addressed_api({"PATH_INFO": "/_aws/execute-api/abc/$defaults"}) == ("abc", "/$defaults")
    assert addressed_api(
        {"PATH_INFO": "/orders", "HTTP_HOST": "abc.execute-api.localhost.localstack.cloud:4566"}
    ) == (
        "abc",
        "/orders",
    )
    assert addressed_api({"PATH_INFO": "/", "HTTP_HOST": "localhost:4566"}) is None


def test_each_cookie_goes_out_as_its_own_set_cookie_header() -> None:
    sent: list[tuple[str, str]] = []
    body = respond(
        lambda status, headers: sent.extend(headers),
        Response(200, {"Content-Type": "text/plain"}, b"x", ("a=1", "b=2")),
    )
    assert list(body) == [b"x"]
    assert [v for k, v in sent if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("Content-Length", "1") in sent


def test_the_source_ip_is_the_connection_s_not_a_forwarded_claim() -> None:
    env = environ(X_FORWARDED_FOR="6.6.6.6")
    event = build_event(HttpRequest.from_environ(env, "a", "/orders"), "0", DEFAULT, "/orders", "k", {})
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-for"] == "6.6.6.6, 127.0.0.1"
