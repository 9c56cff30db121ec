"""Lambda events and context in the exact shapes AWS sends (HTTP API payload 2.0, SQS batch)."""

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeContext:
    function_name: str = "orders-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/orders-fn"
    log_stream_name: str = "2026/11/24/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def http_event(
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    route_key: str = "POST /orders",
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    is_base64 = isinstance(body, bytes)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "pytest",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "24/Nov/2026:19:03:58 +0000",
            "timeEpoch": 1795546638000,
        },
        "isBase64Encoded": is_base64,
    }
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if isinstance(body, bytes) else body
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    return event


def post_order(body: Any, headers: dict[str, str] | None = None, raw: bool = False) -> dict[str, Any]:
    text = body if raw else json.dumps(body)
    return http_event("POST", "/orders", text, {"content-type": "application/json", **(headers or {})})


def get_order(order_id: str) -> dict[str, Any]:
    return http_event(
        "GET", f"/orders/{order_id}", route_key="GET /orders/{orderId}", path_parameters={"orderId": order_id}
    )


def sqs_record(
    body: str, message_id: str | None = None, receive_count: int = 1, receipt_handle: str | None = None
) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or "AQEB" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795546638000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1795546638100",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders-test",
        "awsRegion": "us-east-1",
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [sqs_record(body) for body in bodies]}
