"""A warm Lambda worker process: imports the handler once, then runs invocations one at a time.

Started in the function's code directory with the function's environment, either as
`python -m emulator.lambda_.worker --template CONTROL_FD` (init once, then fork a worker per request on
the control socket) or, when init leaves something a fork cannot share, as
`python -m emulator.lambda_.worker REQUEST_FD RESPONSE_FD` per worker. Requests and responses are JSON
over two pipes, which also carry the function's SDK calls during an invocation
(emulator.lambda_.sdk_calls) and its log lines (emulator.lambda_.output).
"""

import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from emulator.lambda_.output import BufferedOutput
from emulator.lambda_.sdk_calls import WorkerSide


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
        self.client_context = None  # set by mobile SDK callers only; none here
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


def _init() -> tuple[Any, dict[str, Any] | None, WorkerSide]:
    """Import the handler from the function's code: (handler, None) or (None, the init error);
    and where its SDK calls go during invocations."""
    sdk_calls = WorkerSide(os.environ)
    sdk_calls.register()  # before the function's code creates its clients
    # Only the function's own code (then the interpreter's packages) is importable, as on Lambda.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd(), os.environ.get("PYTHONPATH"))]
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    try:
        return _load_handler(), None, sdk_calls
    except Exception as error:  # reported on every invocation, as Lambda does
        kind = (
            "Runtime.UserCodeSyntaxError" if isinstance(error, SyntaxError) else "Runtime.ImportModuleError"
        )
        print(f"[ERROR] {kind}: {error}", file=sys.stderr, flush=True)
        return None, _error(error, kind), sdk_calls


def serve(
    requests: Connection,
    responses: Connection,
    handler: Any,
    init_error: dict[str, Any] | None,
    sdk_calls: WorkerSide,
    output: BufferedOutput,
) -> None:
    """Run invocations one at a time until the emulator closes the request pipe."""
    output.spill()  # what init printed, for a worker that ran it
    responses.send_bytes(b'{"ready": true}')
    try:
        while True:
            try:
                request = json.loads(requests.recv_bytes())
            except EOFError:
                return
            os.environ["_X_AMZN_TRACE_ID"] = request["traceId"]
            cpu_started = time.process_time()
            if init_error is not None:
                response: dict[str, Any] = {"ok": False, "error": init_error}
            else:
                try:
                    with sdk_calls.invocation(requests, responses):
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
            # the CPU the function's own code used (`make bench` tells it from the runtime's)
            response["cpuSeconds"] = time.process_time() - cpu_started
            response.update(output.hand_over())
            responses.send_bytes(json.dumps(response).encode())
    finally:  # an exit, sys.exit() by the handler included, keeps the lines written before it
        output.spill(mark=True)


def main(request_fd: int, response_fd: int) -> None:
    requests = Connection(request_fd, writable=False)
    responses = Connection(response_fd, readable=False)
    output = BufferedOutput.install()
    serve(requests, responses, *_init(), output)


def _forkable(control_fd: int) -> bool:
    """Forks share what init left open: only fork when init left no connection open (one opened
    at import would be shared by every worker) and no other threads (they do not survive a fork).
    Unconnected sockets, such as the X-Ray SDK's UDP emitter, are safe to share."""
    if threading.active_count() > 1 or not Path("/proc/self/fd").exists():
        return False
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        with contextlib.suppress(OSError):
            if fd == control_fd or not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            with socket.socket(fileno=os.dup(fd)) as sock:
                if sock.type == socket.SOCK_STREAM and _connected(sock):
                    return False
    return True


def _connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def template(control_fd: int) -> None:
    """Init once, then fork a warm worker for each request on the control socket, as SnapStart
    resumes from a snapshot taken after init: a new worker costs a fork, not an interpreter start
    and the imports (~0.4 s of CPU). The kernel reaps the forked workers (SIGCHLD ignored)."""
    control = socket.socket(fileno=control_fd)
    output = BufferedOutput.install()
    handler, init_error, sdk_calls = _init()
    output.spill()  # to the template's own pipe, read as the init's log
    forkable = _forkable(control_fd)
    control.send(b"fork" if forkable else b"spawn")
    if not forkable:
        print("[emulator] init left sockets or threads open; workers start as new processes", file=sys.stderr)
        output.spill()
        control.recv(1)  # wait for EOF
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        stream = control.recv(4096)
        if not stream:
            return
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        output_read, output_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the new worker
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (request_write, response_read, output_read):
                os.close(fd)
            os.dup2(output_write, 1)
            os.dup2(output_write, 2)
            os.close(output_write)
            os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = stream.decode()
            output.adopt()
            try:
                serve(
                    Connection(request_read, writable=False),
                    Connection(response_write, readable=False),
                    handler,
                    init_error,
                    sdk_calls,
                    output,
                )
            finally:
                os._exit(0)
        for fd in (request_read, response_write, output_write):
            os.close(fd)
        socket.send_fds(control, [str(pid).encode()], [request_write, response_read, output_read])
        for fd in (request_write, response_read, output_read):
            os.close(fd)


if __name__ == "__main__":
    if sys.argv[1] == "--template":
        template(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]), int(sys.argv[2]))
