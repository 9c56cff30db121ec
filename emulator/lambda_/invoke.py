"""Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`), run by the same runtime
as every other invocation."""

import base64
import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from emulator.http import Response, json_response
from emulator.lambda_.pool import Throttled
from emulator.lambda_.runtime import FunctionNotFound, LambdaRuntime

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


def function_invoked(environ: dict[str, Any]) -> str | None:
    """The function name or ARN when the request is an Invoke call, else None."""
    match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
    if match is None or environ.get("REQUEST_METHOD") != "POST":
        return None
    return unquote(match.group("name"))  # percent-encoded in the path


def invoke(runtime: LambdaRuntime, environ: dict[str, Any], name: str, region: str) -> Response:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    payload = environ["wsgi.input"].read(length) if length else b"{}"
    invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
    try:
        runtime.function(region, name)
    except FunctionNotFound as error:
        body = json.dumps({"Type": "User", "Message": str(error)}).encode()
        return json_response(404, body, **{"x-amzn-ErrorType": "ResourceNotFoundException"})
    if invocation_type == "DryRun":
        return Response(204, {}, b"")
    if invocation_type == "Event":
        threading.Thread(target=runtime.invoke, args=(region, name, payload), daemon=True).start()
        return Response(202, {}, b"")
    try:
        result = runtime.invoke(region, name, payload)
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
