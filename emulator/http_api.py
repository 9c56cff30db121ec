"""HTTP API (API Gateway v2) data plane for the APIs CloudFormation created in moto.

Served at LocalStack's two URL forms:
  http://localhost:4566/_aws/execute-api/{apiId}/{path}
  http://{apiId}.execute-api.localhost.localstack.cloud:4566/{path}
A first path segment naming a non-default stage selects that stage, else `$default`.
Lambda proxy integrations get payload format 2.0 events and AWS's response mapping.
"""

import base64
import functools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from moto.apigatewayv2.models import apigatewayv2_backends

from emulator.lambda_runtime import FunctionNotFound, LambdaRuntime, LogTarget, Throttled

log = logging.getLogger("emulator.http_api")

MAX_BODY_BYTES = 10 * 1024 * 1024
PATH_PREFIX = "/_aws/execute-api/"
HOST_PATTERN = re.compile(
    r"^(?P<api>[a-z0-9]+)\.execute-api\.(localhost\.localstack\.cloud|localhost)(:\d+)?$"
)
TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml)))$"
)
Response = tuple[int, dict[str, str], bytes]


def api_error(status: int, message: str) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


class TokenBucket:
    """Stage throttling: `rate` requests per second with bursts of up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.tokens = float(self.burst)
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass(frozen=True)
class Route:
    key: str
    method: str  # "ANY" or an HTTP method; "" for $default
    segments: tuple[str, ...]
    target: str | None

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # every request looks at every route of its API
    def parse(route_key: str, target: str | None) -> "Route":
        if route_key == "$default":
            return Route(route_key, "", (), target)
        method, _, path = route_key.partition(" ")
        return Route(route_key, method.upper(), tuple(s for s in path.split("/") if s), target)

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """Path parameters when this route takes the request, else None; $default takes anything."""
        if self.key == "$default":
            return {}
        if self.method not in ("ANY", method):
            return None
        params: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                if index >= len(segments):
                    return None
                params[pattern[1:-2]] = "/".join(segments[index:])
                return params
            if index >= len(segments):
                return None
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = segments[index]
            elif pattern != segments[index]:
                return None
        return params if len(segments) == len(self.segments) else None

    def rank(self) -> tuple[int, int, int, int]:
        """Most specific first: exact method over ANY, then more literal segments, fewer greedy ones."""
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        greedy = sum(1 for s in self.segments if s.endswith("+}"))
        return (self.key == "$default", greedy, -literal, self.method == "ANY")


def select_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    segments = [s for s in path.split("/") if s]
    matches = [(route, params) for route in routes if (params := route.match(method, segments)) is not None]
    return min(matches, key=lambda m: m[0].rank()) if matches else None


ACCESS_LOG_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


def _access_value(value: str, quote: bool) -> str:
    return json.dumps(value)[1:-1] if quote else value


REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S +0000"  # $context.requestTime and the event's time


def source_ip(environ: dict[str, Any]) -> str:
    return environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR", "127.0.0.1")).split(",")[0].strip()


class AccessLogEntry:
    """What one request's access log line can say, as API Gateway's $context variables."""

    def __init__(self, environ: dict[str, Any], api_id: str, stage: str, path: str) -> None:
        self.started = time.monotonic()
        self.now = datetime.now(UTC)
        self.request_id = base64.b64encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        self.environ, self.api_id, self.stage, self.path = environ, api_id, stage, path
        self.route_key = "-"
        self.integration_status = "-"
        self.integration_error = "-"
        self.integration_latency_ms: int | None = None

    def finish(self, response: Response) -> dict[str, str]:
        environ = self.environ
        status, _, body = response
        values = {
            "requestId": self.request_id,
            "extendedRequestId": self.request_id,
            "apiId": self.api_id,
            "stage": self.stage,
            "domainName": environ.get("HTTP_HOST", "-").split(":")[0],
            "httpMethod": environ.get("REQUEST_METHOD", "GET").upper(),
            "path": self.path,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "routeKey": self.route_key,
            "status": str(status),
            "responseLength": str(len(body)),
            "responseLatency": str(int((time.monotonic() - self.started) * 1000)),
            "integrationStatus": self.integration_status,
            "integrationErrorMessage": self.integration_error,
            "integrationLatency": "-"
            if self.integration_latency_ms is None
            else str(self.integration_latency_ms),
            "requestTime": self.now.strftime(REQUEST_TIME_FORMAT),
            "requestTimeEpoch": str(int(self.now.timestamp())),
            "identity.sourceIp": source_ip(environ),
            "identity.userAgent": environ.get("HTTP_USER_AGENT", "-"),
        }
        values["integration.status"] = values["integrationStatus"]
        values["integration.latency"] = values["integrationLatency"]
        values["integration.error"] = values["integrationErrorMessage"]
        return values


class HttpApiGateway:
    def __init__(self, account_id: str, runtime: LambdaRuntime) -> None:
        self.account_id = account_id
        self.runtime = runtime
        self._buckets: dict[tuple[str, str, float, int], TokenBucket] = {}

    @staticmethod
    def target(environ: dict[str, Any]) -> tuple[str, str] | None:
        """(apiId, path after it) when the request is for an HTTP API, else None."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(PATH_PREFIX):
            api_id, _, rest = path[len(PATH_PREFIX) :].partition("/")
            return api_id, "/" + rest
        host = HOST_PATTERN.match(environ.get("HTTP_HOST", "").lower())
        if host:
            return host.group("api"), path or "/"
        return None

    def _find_api(self, api_id: str) -> tuple[str, Any] | None:
        for region, backend in apigatewayv2_backends[self.account_id].items():
            api = backend.apis.get(api_id)
            if api is not None and api.protocol_type == "HTTP":
                return region, api
        return None

    def _throttled(self, api_id: str, stage: Any) -> bool:
        settings = stage.default_route_settings or {}
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if rate is None or burst is None:
            return False
        key = (api_id, stage.name, float(rate), int(burst))
        bucket = self._buckets.get(key) or self._buckets.setdefault(key, TokenBucket(float(rate), int(burst)))
        return not bucket.take()

    def handle(self, environ: dict[str, Any], api_id: str, path: str) -> Response:
        found = self._find_api(api_id)
        if found is None:  # on AWS its host name would not even resolve: say what is missing
            return api_error(
                404,
                f"Not Found: no HTTP API {api_id!r} on this emulator; "
                "deploy the stack (`make deploy-local`) and use the ApiId it outputs",
            )
        region, api = found
        segments = [s for s in path.split("/") if s]
        stage_name = "$default"
        if segments and segments[0] in api.stages and segments[0] != "$default":
            stage_name = segments[0]
            path = "/" + "/".join(segments[1:]) if len(segments) > 1 else "/"
        stage = api.stages.get(stage_name)
        if stage is None:
            return api_error(404, "Not Found")
        access = AccessLogEntry(environ, api_id, stage.name, path)
        response = self._handle_in_stage(environ, api_id, region, api, stage, path, access)
        response[1]["apigw-requestid"] = access.request_id
        if stage.access_log_settings:
            self._write_access_log(region, api_id, stage.access_log_settings, access.finish(response))
        return response

    def _write_access_log(
        self, region: str, api_id: str, settings: dict[str, Any], values: dict[str, str]
    ) -> None:
        """The stage's access log line, in its format, to its log group (as API Gateway does)."""
        destination, line_format = settings.get("destinationArn") or "", settings.get("format") or ""
        group = (
            destination.split(":log-group:", 1)[-1].removesuffix(":*") if ":log-group:" in destination else ""
        )
        if not group or not line_format:
            return
        quote = line_format.lstrip().startswith("{")  # JSON formats: keep each value a valid JSON string
        line = ACCESS_LOG_VARIABLE.sub(
            lambda m: _access_value(values.get(m.group(1), "-"), quote), line_format
        )
        target = LogTarget(self.account_id, region, group, f"{api_id}_{values['stage']}", f"{api_id} access")
        self.runtime.sink.write(target, [(int(time.time() * 1000), line)])

    def _handle_in_stage(
        self,
        environ: dict[str, Any],
        api_id: str,
        region: str,
        api: Any,
        stage: Any,
        path: str,
        access: "AccessLogEntry",
    ) -> Response:

        body = read_body(environ)
        if body is None:
            return api_error(413, "Request Entity Too Large")

        method = environ.get("REQUEST_METHOD", "GET").upper()
        routes = [Route.parse(r.route_key, r.target) for r in api.routes.values()]
        selected = select_route(routes, method, path)
        if selected is None:
            return api_error(404, "Not Found")
        route, path_parameters = selected
        access.route_key = route.key
        if self._throttled(api_id, stage):
            return api_error(429, "Too Many Requests")

        integration_id = (route.target or "").removeprefix("integrations/")
        integration = api.integrations.get(integration_id)
        if integration is None or integration.integration_type != "AWS_PROXY":
            log.error("route %s of API %s has no Lambda proxy integration", route.key, api_id)
            return api_error(500, "Internal Server Error")
        if (integration.payload_format_version or "2.0") != "2.0":
            log.error(
                "route %s: payload format %s is not supported (2.0 only)",
                route.key,
                integration.payload_format_version,
            )
            return api_error(500, "Internal Server Error")

        event = build_event(
            environ,
            api_id,
            region,
            self.account_id,
            stage,
            route.key,
            path,
            path_parameters,
            body,
            access.request_id,
            access.now,
        )
        function = _function_from_uri(integration.integration_uri)
        invoked = time.monotonic()
        try:
            result = self.runtime.invoke(region, function, json.dumps(event).encode())
        except FunctionNotFound:
            log.error("route %s: integration function %s does not exist", route.key, function)
            access.integration_error = "Function not found"
            return api_error(500, "Internal Server Error")
        except Throttled:
            access.integration_error = "Rate Exceeded."
            return api_error(503, "Service Unavailable")
        finally:
            access.integration_latency_ms = int((time.monotonic() - invoked) * 1000)
        if not result.ok:
            access.integration_status, access.integration_error = (
                "200",
                "The Lambda function returned an error",
            )
            return api_error(500, "Internal Server Error")
        access.integration_status = "200"
        return map_response(result.payload)


def read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is over 10 MiB (API Gateway's payload limit)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        if int(length) > MAX_BODY_BYTES:
            return None
        return environ["wsgi.input"].read(int(length))
    if environ.get("wsgi.input_terminated"):  # chunked: the server marks where the body ends
        body = environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
        return None if len(body) > MAX_BODY_BYTES else body
    return b""


def _function_from_uri(uri: str) -> str:
    """A function ARN, or the older `arn:aws:apigateway:...:lambda:path/2015-03-31/functions/{arn}/invocations`."""
    match = re.search(r"functions/(arn:[^/]+)/invocations", uri or "")
    return match.group(1) if match else uri


def build_event(
    environ: dict[str, Any],
    api_id: str,
    region: str,
    account_id: str,
    stage: Any,
    route_key: str,
    path: str,
    path_parameters: dict[str, str],
    body: bytes,
    request_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A payload format 2.0 event, as API Gateway builds it (`now`: when the request came in)."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key.replace("_", "-").lower()
        else:
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    client_ip = source_ip(environ)
    domain = headers.get("host", f"{api_id}.execute-api.localhost.localstack.cloud").split(":")[0]
    now = now or datetime.now(UTC)
    headers.setdefault("x-forwarded-for", client_ip)
    headers.setdefault("x-forwarded-proto", environ.get("wsgi.url_scheme", "http"))
    headers.setdefault("x-forwarded-port", str(environ.get("SERVER_PORT", "")))
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}")
    raw_path = path if stage.name == "$default" else f"/{stage.name}{path}"

    raw_query = environ.get("QUERY_STRING", "")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": environ.get("REQUEST_METHOD", "GET").upper(),
                "path": raw_path,
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": client_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage.name,
            "time": now.strftime(REQUEST_TIME_FORMAT),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage.stage_variables:
        event["stageVariables"] = stage.stage_variables
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
        return 200, {"Content-Type": "application/json"}, payload
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
    cookies = result.get("cookies") or []
    if cookies:
        headers["Set-Cookie"] = "\n".join(str(c) for c in cookies)  # split into one header each when sent
    headers.setdefault("Content-Type", "application/json")
    return status, headers, raw
