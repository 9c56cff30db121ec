"""The HTTP API gateway: serves the APIs CloudFormation created in moto.

Served at LocalStack's two URL forms:
  http://localhost:4566/_aws/execute-api/{apiId}/{path}   (also .../{apiId}/$default/{path}, Floci's)
  http://{apiId}.execute-api.localhost.localstack.cloud:4566/{path}
A first path segment naming a non-default stage selects that stage, else `$default`.
Lambda proxy integrations get payload format 2.0 events and AWS's response mapping; every
request's line in the stage's access log format goes to its log group.
"""

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from moto.apigatewayv2.models import apigatewayv2_backends

from emulator.apigw.payload import Stage, api_error, build_event, map_response
from emulator.apigw.request import HttpRequest
from emulator.apigw.routes import Route, TokenBucket, select_route
from emulator.cloudwatch.metrics import MetricRecorder
from emulator.http import Response
from emulator.iam.enforcement import Authorizer
from emulator.lambda_.errors import FunctionNotFound, RuntimeClosed, Throttled
from emulator.lambda_.runtime import LambdaRuntime
from emulator.logs.sink import LogStream, now_ms

log = logging.getLogger("emulator.apigw")

PATH_PREFIX = "/_aws/execute-api/"
HOST_PATTERN = re.compile(
    r"^(?P<api>[a-z0-9]+)\.execute-api\.(localhost\.localstack\.cloud|localhost)(:\d+)?$"
)
ACCESS_LOG_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")
# How long a request waits for one of its function's workers before the 429 (Lambda throttles at
# once; the local pool is smaller than an account's concurrency, so a short queue smooths bursts)
WORKER_WAIT_SECONDS = 2.0


def addressed_api(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(apiId, path after it) when the request is for an HTTP API, else None."""
    path = environ.get("PATH_INFO", "")
    if path.startswith(PATH_PREFIX):
        api_id, _, rest = path[len(PATH_PREFIX) :].partition("/")
        # Floci's path form names the stage, $default included; accept it so one URL serves both
        if rest == "$default" or rest.startswith("$default/"):
            rest = rest[len("$default/") :]
        return api_id, "/" + rest
    host = HOST_PATTERN.match(environ.get("HTTP_HOST", "").lower())
    if host:
        return host.group("api"), path or "/"
    return None


@dataclass(frozen=True)
class Outcome:
    """What the access log can say of the integration, beside the request and the response."""

    route_key: str = "-"
    integration_status: str = "-"
    integration_error: str = "-"
    integration_latency_ms: int | None = None


def access_values(
    request: HttpRequest, stage: str, path: str, outcome: Outcome, response: Response
) -> dict[str, str]:
    """API Gateway's $context variables for one request."""
    latency = "-" if outcome.integration_latency_ms is None else str(outcome.integration_latency_ms)
    return {
        "requestId": request.request_id,
        "extendedRequestId": request.request_id,
        "apiId": request.api_id,
        "stage": stage,
        "domainName": request.host,
        "httpMethod": request.method,
        "path": path,
        "protocol": request.protocol,
        "routeKey": outcome.route_key,
        "status": str(response.status),
        "responseLength": str(len(response.body)),
        "responseLatency": str(int((time.monotonic() - request.started) * 1000)),
        "integrationStatus": outcome.integration_status,
        "integration.status": outcome.integration_status,
        "integrationErrorMessage": outcome.integration_error,
        "integration.error": outcome.integration_error,
        "integrationLatency": latency,
        "integration.latency": latency,
        "requestTime": request.request_time,
        "requestTimeEpoch": str(int(request.received_at.timestamp())),
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.headers.get("user-agent", "-"),
    }


def access_line(line_format: str, values: dict[str, str]) -> str:
    quote = line_format.lstrip().startswith("{")  # JSON formats: keep each value a valid JSON string

    def value(match: re.Match[str]) -> str:
        text = values.get(match.group(1), "-")
        return json.dumps(text)[1:-1] if quote else text

    return ACCESS_LOG_VARIABLE.sub(value, line_format)


def _function_from_uri(uri: str) -> str:
    """A function ARN, or the older `arn:aws:apigateway:...:lambda:path/2015-03-31/functions/{arn}/invocations`."""
    match = re.search(r"functions/(arn:[^/]+)/invocations", uri or "")
    return match.group(1) if match else uri


class HttpApiGateway:
    def __init__(
        self, account_id: str, runtime: LambdaRuntime, authorizer: Authorizer, recorder: MetricRecorder
    ) -> None:
        self.account_id = account_id
        self.recorder = recorder
        self.authorizer = authorizer
        self.runtime = runtime
        self._buckets: dict[tuple[str, str, float, int], TokenBucket] = {}

    def handle(self, environ: dict[str, Any]) -> Response | None:
        """The response to an HTTP API request; None when the request is not for an HTTP API."""
        found = addressed_api(environ)
        if found is None:
            return None
        api_id, path = found
        located = self._find_api(api_id)
        if located is None:  # on AWS its host name would not even resolve: say what is missing
            return api_error(
                404,
                f"Not Found: no HTTP API {api_id!r} on this emulator; "
                "deploy the stack (`make deploy-local`) and use the ApiId it outputs",
            )
        region, api = located
        segments = [s for s in path.split("/") if s]
        stage_name = "$default"
        if segments and segments[0] in api.stages and segments[0] != "$default":
            stage_name = segments[0]
            path = "/" + "/".join(segments[1:]) if len(segments) > 1 else "/"
        stage = api.stages.get(stage_name)
        if stage is None:
            return api_error(404, "Not Found")
        request = HttpRequest.from_environ(environ, api_id, path)
        response, outcome = self._in_stage(request, region, api, stage, path)
        response.headers["apigw-requestid"] = request.request_id
        if stage.access_log_settings:
            values = access_values(request, stage.name, path, outcome, response)
            self._write_access_log(region, api_id, stage.access_log_settings, values)
        self._record_metrics(region, stage.name, request, response, outcome)
        return response

    def _record_metrics(
        self, region: str, stage: str, request: HttpRequest, response: Response, outcome: Outcome
    ) -> None:
        """AWS/ApiGateway's metrics for HTTP APIs, per ApiId and per ApiId and Stage, as AWS publishes them."""
        values = [
            ("Count", 1.0, "Count"),
            ("4xx", float(400 <= response.status < 500), "Count"),
            ("5xx", float(response.status >= 500), "Count"),
            ("Latency", (time.monotonic() - request.started) * 1000, "Milliseconds"),
        ]
        if outcome.integration_latency_ms is not None:
            values.append(("IntegrationLatency", float(outcome.integration_latency_ms), "Milliseconds"))
        per_api = (("ApiId", request.api_id),)
        per_stage = (("ApiId", request.api_id), ("Stage", stage))
        self.recorder.record_all(
            self.account_id,
            region,
            "AWS/ApiGateway",
            [(name, value, unit, dims) for dims in (per_api, per_stage) for name, value, unit in values],
        )

    def _may_not_invoke(
        self, region: str, function: str, request: HttpRequest, stage: str, route_key: str
    ) -> str | None:
        """Why API Gateway may not invoke `function` for this route (its resource policy), or None."""
        try:
            fn = self.runtime.function(region, function)
        except FunctionNotFound:
            return None  # answered where the invocation fails
        path = route_key.split(" ", 1)[1] if " " in route_key else f"/{route_key}"
        source_arn = (
            f"arn:aws:execute-api:{region}:{self.account_id}:{request.api_id}/{stage}/{request.method}{path}"
        )
        return self.authorizer.invocation_refusal(fn, "apigateway.amazonaws.com", source_arn)

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
        stream = LogStream(self.account_id, region, group, f"{api_id}_{values['stage']}", f"{api_id} access")
        self.runtime.sink.write(stream, [(now_ms(), access_line(line_format, values))])

    def _in_stage(
        self, request: HttpRequest, region: str, api: Any, stage: Any, path: str
    ) -> tuple[Response, Outcome]:
        if request.body is None:
            return api_error(413, "Request Entity Too Large"), Outcome()
        routes = [Route.parse(r.route_key, r.target) for r in api.routes.values()]
        selected = select_route(routes, request.method, path)
        if selected is None:
            return api_error(404, "Not Found"), Outcome()
        route, path_parameters = selected
        routed = Outcome(route_key=route.key)
        if self._throttled(request.api_id, stage):
            return api_error(429, "Too Many Requests"), routed

        integration = api.integrations.get((route.target or "").removeprefix("integrations/"))
        if integration is None or integration.integration_type != "AWS_PROXY":
            log.error("route %s of API %s has no Lambda proxy integration", route.key, request.api_id)
            return api_error(500, "Internal Server Error"), routed
        if (integration.payload_format_version or "2.0") != "2.0":
            log.error(
                "route %s: payload format %s is not supported (2.0 only)",
                route.key,
                integration.payload_format_version,
            )
            return api_error(500, "Internal Server Error"), routed

        event = build_event(
            request,
            self.account_id,
            Stage(stage.name, stage.stage_variables or {}),
            path,
            route.key,
            path_parameters,
        )
        function = _function_from_uri(integration.integration_uri)
        invoked = time.monotonic()
        refused = self._may_not_invoke(region, function, request, stage.name, route.key)
        if refused is not None:  # API Gateway's answer when the function's resource policy says no
            log.error("route %s: %s", route.key, refused)
            return api_error(500, "Internal Server Error"), Outcome(
                route.key, "-", "Invalid permissions on Lambda function"
            )

        def outcome(status: str = "-", error: str = "-") -> Outcome:
            latency = int((time.monotonic() - invoked) * 1000)
            return Outcome(route.key, status, error, latency)

        try:
            result = self.runtime.invoke(
                region,
                function,
                json.dumps(event).encode(),
                wait_seconds=WORKER_WAIT_SECONDS,
                trace_header=event["headers"]["x-amzn-trace-id"],  # as HTTP APIs pass it to Lambda
            )
        except RuntimeClosed:  # the emulator is stopping
            return api_error(503, "Service Unavailable"), outcome(error="Shutting down")
        except FunctionNotFound:
            log.error("route %s: integration function %s does not exist", route.key, function)
            return api_error(500, "Internal Server Error"), outcome(error="Function not found")
        except Throttled:  # every worker stayed busy: API Gateway's answer to a throttled function
            return api_error(429, "Too Many Requests"), outcome(error="Rate Exceeded.")
        if not result.ok:
            return api_error(500, "Internal Server Error"), outcome(
                "200", "The Lambda function returned an error"
            )
        return map_response(result.payload), outcome("200")
