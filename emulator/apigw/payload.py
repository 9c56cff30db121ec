"""Payload format 2.0: the event API Gateway hands a Lambda proxy integration, and its mapping
of the function's answer to the HTTP response."""

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from emulator.apigw.request import HttpRequest
from emulator.http import Response

TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml)))$"
)


def api_error(status: int, message: str) -> Response:
    return Response(status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())


@dataclass(frozen=True)
class Stage:
    name: str
    variables: dict[str, str]

    def raw_path(self, path: str) -> str:
        return path if self.name == "$default" else f"/{self.name}{path}"


def build_event(
    request: HttpRequest,
    account_id: str,
    stage: Stage,
    path: str,
    route_key: str,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    """A payload format 2.0 event, as API Gateway builds it (`path`: within the stage)."""
    headers = dict(request.headers)
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    domain = headers.get("host", f"{request.api_id}.execute-api.localhost.localstack.cloud").split(":")[0]
    received = request.received_at
    forwarded = headers.get("x-forwarded-for")  # API Gateway appends the address it saw
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers.setdefault("x-forwarded-proto", request.scheme)
    headers.setdefault("x-forwarded-port", request.server_port)
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(received.timestamp()):08x}-{uuid.uuid4().hex[:24]}")
    raw_path = stage.raw_path(path)

    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": request.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request.request_id,
            "routeKey": route_key,
            "stage": stage.name,
            "time": request.request_time,
            "timeEpoch": int(received.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage.variables:
        event["stageVariables"] = stage.variables
    body = request.body
    if body:
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            text = body.decode("utf-8") if TEXT_TYPES.match(media_type) else None
        except UnicodeDecodeError:
            text = None
        if text is None:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = text
    return event


def map_response(payload: bytes) -> Response:
    """AWS's mapping of a payload 2.0 Lambda result to the HTTP response."""
    try:
        result = json.loads(payload)
    except ValueError:
        return api_error(500, "Internal Server Error")
    if not (isinstance(result, dict) and "statusCode" in result):
        # No statusCode: API Gateway assumes 200 and returns the result itself as JSON.
        return Response(200, {"Content-Type": "application/json"}, payload)
    try:
        status = int(result["statusCode"])
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    except (TypeError, ValueError, AttributeError):
        return api_error(500, "Internal Server Error")
    if not 100 <= status <= 599:
        return api_error(500, "Internal Server Error")
    headers.setdefault("Content-Type", "application/json")
    return Response(status, headers, raw, tuple(str(c) for c in result.get("cookies") or []))
