"""The processes that run a function: a Template (its init, done once per version, forking
workers) and Workers (one invocation at a time each). The child side is emulator.lambda_.worker."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from emulator.core import cpus
from emulator.lambda_.output import SPILL_SIGNAL, Line, OutputPipe, now, parse
from emulator.lambda_.sdk_calls import CALL, SdkEndpoint
from emulator.lambda_.spec import (
    FunctionSpec,
    Invocation,
    InvokeResult,
    environment,
    init_start_line,
    new_stream,
)
from emulator.logs.sink import LogSink, now_ms

WORKER_START_TIMEOUT = 30.0
FORK_TIMEOUT = 5.0
# How long a timed-out worker gets to hand over the lines it buffered (SPILL_SIGNAL) before the kill.
SPILL_TIMEOUT = 0.5


def start_worker_process(
    spec: FunctionSpec,
    code_dir: Path,
    endpoint: SdkEndpoint,
    stream: str,
    args: list[str],
    pass_fds: tuple[int, ...],
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "emulator.lambda_.worker", *args],
        cwd=code_dir,
        env=environment(spec, code_dir, endpoint, stream),
        pass_fds=pass_fds,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    cpus.release(process.pid)  # its forked workers inherit every CPU, not the emulator's one
    return process


class Template:
    """A function version's init, done once; forks warm workers from it (see emulator.lambda_.worker).
    `forks` is False when init left sockets or threads a fork cannot share: then each worker is
    a process of its own, started from scratch."""

    def __init__(self, spec: FunctionSpec, code_dir: Path, endpoint: SdkEndpoint, sink: LogSink) -> None:
        self.stream = new_stream()  # where init output goes
        self.endpoint = endpoint
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = start_worker_process(
            spec,
            code_dir,
            endpoint,
            self.stream,
            ["--template", str(theirs.fileno())],
            (theirs.fileno(),),
        )
        theirs.close()
        self.name = spec.name
        self.control = ours
        self._lock = threading.Lock()
        self.forks: bool | None = None  # known once init has finished (`wait_until_ready`)
        threading.Thread(
            target=self._log_init_output, args=(spec, sink), name=f"init-{spec.name}", daemon=True
        ).start()

    def wait_until_ready(self) -> None:
        """Wait for the init to finish (the first caller reads its answer; others wait for it).
        A template killed meanwhile (its version retired, the emulator stopping) ends the wait."""
        with self._lock:
            if self.forks is not None:
                return
            self.control.settimeout(WORKER_START_TIMEOUT)
            try:
                mode = self.control.recv(16)
            except OSError:  # timed out, or closed by `kill`
                mode = b""
            if mode not in (b"fork", b"spawn"):
                code = self.process.poll()
                self.kill()
                if code is not None:  # init failed and the process is gone: say so, not "did not start"
                    raise RuntimeError(f"the init of {self.name} exited with code {code}; see its log")
                raise RuntimeError(
                    f"the init of {self.name} did not finish within {WORKER_START_TIMEOUT:.0f}s"
                )
            self.control.settimeout(FORK_TIMEOUT)  # a hung template must never block an invocation for long
            self.forks = mode == b"fork"

    def _log_init_output(self, spec: FunctionSpec, sink: LogSink) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:  # what init printed, spilled by the template (see output.py)
            stamp, text = parse(raw.rstrip(b"\n"), now())[1]
            sink.write(spec.log_stream(self.stream), [(int(stamp), text)])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, stream: str) -> tuple[int, list[int]]:
        """A new worker's pid and its request, response and output fds; a template that does not
        answer within FORK_TIMEOUT (hung, stopped) is killed, so the pool starts a new one."""
        with self._lock:
            try:
                self.control.send(stream.encode())
                message, fds, _, _ = socket.recv_fds(self.control, 64, 3)
            except OSError as error:  # TimeoutError included
                self.kill()
                raise RuntimeError(f"the template did not fork a worker ({error or 'timed out'})") from error
        if len(fds) != 3:
            raise RuntimeError("the template did not fork a worker")
        return int(message), fds

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)  # ends a wait for the init at once
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)  # reaped: no zombie left behind
        self.control.close()


class Worker:
    """One warm runtime process for one function version, forked from its template or spawned."""

    def __init__(
        self,
        spec: FunctionSpec,
        sink: LogSink,
        stream: str,
        fds: list[int],
        pid: int,
        endpoint: SdkEndpoint,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.spec = spec
        self.endpoint = endpoint
        self.sink = sink
        self.stream = stream
        self.pid = pid
        self.process = process  # None when forked: the template is its parent
        self._killed = False
        request_fd, response_fd, output_fd = fds
        self._requests = Connection(request_fd, readable=False)
        self._responses = Connection(response_fd, writable=False)
        output = process.stdout if process is not None else os.fdopen(output_fd, "rb")
        assert output is not None
        self._output = OutputPipe(output, name=f"logs-{spec.name}")
        if not self._responses.poll(WORKER_START_TIMEOUT):
            self.kill()
            raise RuntimeError(f"worker for {spec.name} did not start within {WORKER_START_TIMEOUT:.0f}s")
        self._responses.recv_bytes()
        # As Lambda starts each execution environment's stream; import-time output follows.
        self._flush_lines(self._output.take(), first=(now_ms(), init_start_line(spec.declared_runtime)))

    @classmethod
    def forked(cls, template: Template, spec: FunctionSpec, sink: LogSink) -> "Worker":
        stream = new_stream()
        pid, fds = template.fork(stream)
        return cls(spec, sink, stream, fds, pid, template.endpoint)

    @classmethod
    def spawned(cls, spec: FunctionSpec, code_dir: Path, endpoint: SdkEndpoint, sink: LogSink) -> "Worker":
        stream = new_stream()
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        process = start_worker_process(
            spec,
            code_dir,
            endpoint,
            stream,
            [str(request_read), str(response_write)],
            (request_read, response_write),
        )
        os.close(request_read)
        os.close(response_write)
        return cls(spec, sink, stream, [request_write, response_read, -1], process.pid, endpoint, process)

    def _flush_lines(
        self, lines: list[Line], extra: list[str] | None = None, first: tuple[int, str] | None = None
    ) -> list[tuple[int, str]]:
        stamped = ([first] if first else []) + [(int(stamp), text) for stamp, text in lines]
        stamped += [(now_ms(), text) for text in extra or []]
        self.sink.write(self.spec.log_stream(self.stream), stamped)
        return stamped

    @property
    def alive(self) -> bool:
        if self._killed:
            return False
        if self.process is not None:
            return self.process.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _exit_reason(self) -> str:
        code = self.process.poll() if self.process is not None else None
        return (
            f"Runtime exited with error: exit status {code}"
            if code is not None
            else "Runtime exited without providing a reason"
        )

    def invoke(self, invocation: Invocation) -> InvokeResult:
        spec, request_id = self.spec, invocation.request_id
        started = time.monotonic()
        start_line = (now_ms(), f"START RequestId: {request_id} Version: $LATEST")
        request = {
            "requestId": request_id,
            "event": invocation.payload.decode("utf-8"),
            "traceId": invocation.trace_header,
            "invokedFunctionArn": spec.arn,
            "deadlineMs": now_ms() + int(spec.timeout * 1000),
        }
        try:
            self._requests.send_bytes(json.dumps(request).encode())
            raw, answered = self._await_answer(started + spec.timeout)
        except (EOFError, OSError, BrokenPipeError):
            answered, raw = True, None
        duration = (time.monotonic() - started) * 1000

        if raw is None:
            if not answered:  # first the lines it buffered: what it did before the hang
                self._ask_for_output()
                lines = self._output.take(until_mark=True, timeout=SPILL_TIMEOUT)
            self.kill()
            if not answered:
                result = InvokeResult.failure(
                    "Sandbox.Timedout", f"{request_id} Task timed out after {spec.timeout:.2f} seconds"
                )
                status = [
                    f"{datetime.now(UTC).isoformat()} {request_id} Task timed out after {spec.timeout:.2f} seconds"
                ]
            else:  # the worker exited: what it wrote before is in the pipe, up to its end
                self._output.wait_closed(SPILL_TIMEOUT)
                lines = self._output.take()
                result = InvokeResult.failure(
                    "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited"
                )
                status = [f"RequestId: {request_id} Error: {self._exit_reason()}"]
        else:
            response = json.loads(raw)
            payload = (
                response["payload"].encode() if response["ok"] else json.dumps(response["error"]).encode()
            )
            result = InvokeResult(ok=response["ok"], payload=payload, cpu_seconds=response["cpuSeconds"])
            status = []
            lines = self._output.take(until_mark=response.get("mark", False), handed=response["logs"])
        report = [
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, int(duration + 0.999))} ms\t"
            f"Memory Size: {spec.memory} MB",
        ]
        written = self._flush_lines(lines, status + report, first=start_line)
        result.log_tail = "\n".join(text for _, text in written)[-4096:]
        return result

    def _await_answer(self, deadline: float) -> tuple[bytes | None, bool]:
        """The invocation's answer and True, or (None, False) once `deadline` passed; the SDK
        calls the function makes meanwhile are answered beside (see emulator.lambda_.sdk_calls)."""
        while self._responses.poll(max(0.0, deadline - time.monotonic())):
            raw = self._responses.recv_bytes()
            if not raw.startswith(CALL):
                return raw, True
            self.endpoint.take(raw, self._requests.send_bytes)
        return None, False

    def _ask_for_output(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, SPILL_SIGNAL)

    def kill(self) -> None:
        self._killed = True
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=5)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)  # the template (or init, once it is gone) reaps it
        for conn in (self._requests, self._responses):
            with contextlib.suppress(OSError):
                conn.close()
