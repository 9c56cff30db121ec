"""A warm Lambda worker process: imports the handler once, then runs invocations one at a time.

Started by lambda_runtime.Worker as `python -m emulator.worker REQUEST_FD RESPONSE_FD` in the
function's code directory with the function's environment. Requests and responses are JSON over
two pipes; the handler's own stdout/stderr are the function's log output.
"""

import importlib
import json
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

# Printed after each invocation's output, so the parent knows it has read every line of it.
END_MARK = "\x00emulator-invocation-end\x00"


class LambdaContext:
    """The context object the Python runtime passes to handlers."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["requestId"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn: str = request["invokedFunctionArn"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = request.get("clientContext")
        self._deadline_ms: int = request["deadlineMs"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _load_handler() -> Any:
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def main(request_fd: int, response_fd: int) -> None:
    requests = Connection(request_fd, writable=False)
    responses = Connection(response_fd, readable=False)
    # Only the function's own code (then the interpreter's packages) is importable, as on Lambda.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd(), os.environ.get("PYTHONPATH"))]
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    try:
        handler, init_error = _load_handler(), None
    except Exception as error:  # reported on every invocation, as Lambda does
        handler, init_error = None, _error(error, "Runtime.ImportModuleError")
        print(f"[ERROR] Runtime.ImportModuleError: {error}", file=sys.stderr, flush=True)
    responses.send_bytes(b'{"ready": true}')

    while True:
        try:
            request = json.loads(requests.recv_bytes())
        except EOFError:
            return
        os.environ["_X_AMZN_TRACE_ID"] = request["traceId"]
        if init_error is not None:
            response: dict[str, Any] = {"ok": False, "error": init_error}
        else:
            try:
                result = handler(json.loads(request["event"]), LambdaContext(request))
            except Exception as error:
                response = {"ok": False, "error": _error(error)}
                print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr)
                traceback.print_exc()
            else:
                try:
                    response = {"ok": True, "payload": json.dumps(result)}
                except (TypeError, ValueError) as error:
                    response = {"ok": False, "error": _error(error, "Runtime.MarshalError")}
        sys.stderr.flush()
        print(END_MARK, flush=True)
        responses.send_bytes(json.dumps(response).encode())


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
