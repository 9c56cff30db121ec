"""Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`), run by the same runtime
as every other invocation."""

import base64
import json
import re
from typing import Any
from urllib.parse import unquote

from emulator.http import Response, json_response
from emulator.lambda_.asynchronous import AsyncInvoker
from emulator.lambda_.errors import FunctionNotFound, Throttled
from emulator.lambda_.runtime import LambdaRuntime

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
# Lambda's payload limits: 6 MB for a synchronous invocation, 1 MB for an asynchronous one
PAYLOAD_LIMITS = {"RequestResponse": 6 * 1024 * 1024, "Event": 1024 * 1024, "DryRun": 6 * 1024 * 1024}


def _error(status: int, error_type: str, message: str, key: str = "message") -> Response:
    body = json.dumps({"Type": "User", key: message}).encode()  # AWS spells it Message for a 404
    return json_response(status, body, **{"x-amzn-ErrorType": error_type})


def function_invoked(environ: dict[str, Any]) -> str | None:
    """The function name or ARN when the request is an Invoke call, else None."""
    match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
    if match is None or environ.get("REQUEST_METHOD") != "POST":
        return None
    return unquote(match.group("name"))  # percent-encoded in the path


def invoke(
    runtime: LambdaRuntime, events: AsyncInvoker, environ: dict[str, Any], name: str, region: str
) -> Response:
    invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
    if invocation_type not in PAYLOAD_LIMITS:
        return _error(
            400,
            "InvalidParameterValueException",
            f"Invalid invocation type {invocation_type!r}: RequestResponse, Event or DryRun",
        )
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > PAYLOAD_LIMITS[invocation_type]:
        limit = PAYLOAD_LIMITS[invocation_type]
        message = f"Request must be smaller than {limit} bytes for the {invocation_type} invocation type"
        return _error(413, "RequestEntityTooLargeException", message)
    payload = environ["wsgi.input"].read(length) if length else b"{}"
    try:
        json.loads(payload)
    except (ValueError, UnicodeDecodeError):  # checked here, so an Event payload is never dropped later
        return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
    try:
        runtime.function(region, name)
    except FunctionNotFound as error:
        return _error(404, "ResourceNotFoundException", str(error), key="Message")
    if invocation_type == "DryRun":
        return Response(204, {}, b"")
    if invocation_type == "Event":
        request_id = events.submit(region, name, payload)
        return Response(202, {"x-amzn-RequestId": request_id}, b"")
    try:
        result = runtime.invoke(region, name, payload, trace_header=environ.get("HTTP_X_AMZN_TRACE_ID"))
    except Throttled as error:
        body = json.dumps(
            {
                "Type": "User",
                "message": str(error),
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            }
        ).encode()
        return json_response(429, body, **{"x-amzn-ErrorType": "TooManyRequestsException"})
    headers = {"X-Amz-Executed-Version": "$LATEST"}
    if not result.ok:
        headers["X-Amz-Function-Error"] = "Unhandled"
    if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
        headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail.encode()[-4096:]).decode()
    return json_response(200, result.payload, **headers)
