"""Lambda runtime: runs deployed functions from the code moto holds, in warm worker processes.

One pool of workers per function and deployed version (code hash + configuration); a redeploy
gets a fresh pool and the old workers are retired. A pool's template process runs the function's
init once (as soon as the version is deployed) and forks its workers. Each worker runs one
invocation at a time, the pool at most `concurrency` at once (the function's reserved
concurrency, else the default). A timed-out invocation kills its worker. Log lines go to the
function's log group in moto's CloudWatch Logs and to the emulator's log.
"""

import contextlib
import io
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.logs.models import logs_backends

from emulator.worker import END_MARK

log = logging.getLogger("emulator.lambda")
# Forking a process that has loaded macOS system frameworks (boto3 does, looking up proxies) can
# crash the child, so workers fork from a template only on Linux; elsewhere each starts afresh.
FORK_WORKERS = sys.platform == "linux"
REPO_ROOT = str(Path(__file__).resolve().parents[1])
WORKER_START_TIMEOUT = 30.0


class FunctionNotFound(LookupError):
    pass


@dataclass
class InvokeResult:
    ok: bool
    payload: bytes
    log_tail: str = ""

    @staticmethod
    def failure(error_type: str, message: str, **extra: Any) -> "InvokeResult":
        body = {"errorMessage": message, "errorType": error_type, **extra}
        return InvokeResult(ok=False, payload=json.dumps(body).encode())


@dataclass(frozen=True)
class FunctionSpec:
    account_id: str
    region: str
    name: str
    arn: str
    handler: str
    runtime: str
    code_sha: str
    timeout: float
    memory: int
    environment: tuple[tuple[str, str], ...]
    log_group: str
    concurrency: int


@dataclass(frozen=True)
class LogTarget:
    """A CloudWatch Logs stream in the emulator, and the label its lines get in emulator.log."""

    account_id: str
    region: str
    log_group: str
    stream: str
    label: str

    @staticmethod
    def of(spec: "FunctionSpec", stream: str) -> "LogTarget":
        return LogTarget(spec.account_id, spec.region, spec.log_group, stream, spec.name)


class LogSink:
    """Writes function output to moto's CloudWatch Logs (so `aws logs tail` works) and to our log.

    Off the invocation's path, in batches: a background thread takes what piled up every
    FLUSH_SECONDS and writes one put_log_events per stream and one emulator.log record per
    function. CloudWatch Logs is eventually consistent on AWS as well."""

    FLUSH_SECONDS = 0.05

    def __init__(self) -> None:
        self._pending: list[tuple[LogTarget, list[tuple[int, str]]]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="log-sink", daemon=True)
        self._writer.start()

    def write(self, target: LogTarget, lines: list[tuple[int, str]]) -> None:
        if lines:
            with self._changed:
                self._pending.append((target, lines))
                self._changed.notify_all()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything written so far is in moto's CloudWatch Logs."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._writer.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closed)
                if self._closed and not self._pending:
                    return
            time.sleep(self.FLUSH_SECONDS)  # let a batch gather
            with self._changed:
                batch = self._pending
            self._write(batch)
            with self._changed:
                del self._pending[: len(batch)]
                self._changed.notify_all()

    @staticmethod
    def _write(batch: list[tuple[LogTarget, list[tuple[int, str]]]]) -> None:
        streams: dict[LogTarget, list[tuple[int, str]]] = {}
        for target, lines in batch:
            streams.setdefault(target, []).extend(lines)
        for target, lines in streams.items():
            log.info("[%s] %s", target.label, f"\n[{target.label}] ".join(text for _, text in lines))
            try:
                backend = logs_backends[target.account_id][target.region]
                if target.log_group not in backend.groups:
                    backend.create_log_group(target.log_group, tags={})
                if target.stream not in backend.groups[target.log_group].streams:
                    backend.create_log_stream(target.log_group, target.stream)
                events = [
                    {"timestamp": ts, "message": text} for ts, text in sorted(lines, key=lambda line: line[0])
                ]
                backend.put_log_events(target.log_group, target.stream, events)
            except Exception:  # logging must never fail a request
                log.exception("could not write %d log lines to %s", len(lines), target.log_group)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _trace_id() -> str:
    # Sampled=0: Powertools Tracer and the X-Ray SDK run their code paths but send nothing.
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def _init_start_line(declared_runtime: str) -> str:
    """Lambda's INIT_START line, naming the Python that really runs the function here."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    version = f"python:{platform.python_version()}"
    if declared_runtime == here:
        return f"INIT_START Runtime Version: {version}"
    return f"INIT_START Runtime Version: {version} (the emulator's own Python; the function declares {declared_runtime})"


def _new_stream() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def _environment(spec: FunctionSpec, code_dir: Path, endpoint_url: str, stream: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": REPO_ROOT,  # only to find emulator.worker; the worker takes it off sys.path
        # No X-Ray daemon here to send segments to: Powertools Tracer stays off unless the function says otherwise.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **dict(spec.environment),
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
    }


def _start_worker_process(
    spec: FunctionSpec,
    code_dir: Path,
    endpoint_url: str,
    stream: str,
    args: list[str],
    pass_fds: tuple[int, ...],
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "emulator.worker", *args],
        cwd=code_dir,
        env=_environment(spec, code_dir, endpoint_url, stream),
        pass_fds=pass_fds,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


class Template:
    """A function version's init, done once; forks warm workers from it (see emulator.worker).
    `forks` is False when init left sockets or threads a fork cannot share: then each worker is
    a process of its own, started from scratch."""

    def __init__(self, spec: FunctionSpec, code_dir: Path, endpoint_url: str, sink: LogSink) -> None:
        self.stream = _new_stream()  # where init output goes
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = _start_worker_process(
            spec,
            code_dir,
            endpoint_url,
            self.stream,
            ["--template", str(theirs.fileno())],
            (theirs.fileno(),),
        )
        theirs.close()
        self.control = ours
        self._lock = threading.Lock()
        threading.Thread(
            target=self._log_init_output, args=(spec, sink), name=f"init-{spec.name}", daemon=True
        ).start()
        ours.settimeout(WORKER_START_TIMEOUT)
        try:
            mode = ours.recv(16)
        except TimeoutError:
            mode = b""
        if mode not in (b"fork", b"spawn"):
            self.kill()
            raise RuntimeError(f"worker for {spec.name} did not start within {WORKER_START_TIMEOUT:.0f}s")
        ours.settimeout(None)
        self.forks = mode == b"fork"

    def _log_init_output(self, spec: FunctionSpec, sink: LogSink) -> None:
        assert self.process.stdout is not None
        for line in _lines(self.process.stdout):
            sink.write(LogTarget.of(spec, self.stream), [(_now_ms(), line)])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, stream: str) -> tuple[int, list[int]]:
        """A new worker's pid and its request, response and output fds."""
        with self._lock:
            self.control.send(stream.encode())
            message, fds, _, _ = socket.recv_fds(self.control, 64, 3)
        if len(fds) != 3:
            raise RuntimeError("the template did not fork a worker")
        return int(message), fds

    def kill(self) -> None:
        self.control.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def _lines(output: Any) -> Iterator[str]:
    for raw in output:
        yield raw.decode("utf-8", errors="replace").rstrip("\n")


class Worker:
    """One warm runtime process for one function version, forked from its template or spawned."""

    def __init__(
        self,
        spec: FunctionSpec,
        sink: LogSink,
        stream: str,
        fds: list[int],
        pid: int,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.spec = spec
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
        self._output = output
        self._lines: list[tuple[int, str]] = []
        self._lines_lock = threading.Condition()
        self._reader = threading.Thread(target=self._read_output, name=f"logs-{spec.name}", daemon=True)
        self._reader.start()
        if not self._responses.poll(WORKER_START_TIMEOUT):
            self.kill()
            raise RuntimeError(f"worker for {spec.name} did not start within {WORKER_START_TIMEOUT:.0f}s")
        self._responses.recv_bytes()
        # As Lambda starts each execution environment's stream; import-time output follows.
        self._flush_lines(first=(_now_ms(), _init_start_line(spec.runtime)))

    @classmethod
    def forked(cls, template: Template, spec: FunctionSpec, sink: LogSink) -> "Worker":
        stream = _new_stream()
        pid, fds = template.fork(stream)
        return cls(spec, sink, stream, fds, pid)

    @classmethod
    def spawned(cls, spec: FunctionSpec, code_dir: Path, endpoint_url: str, sink: LogSink) -> "Worker":
        stream = _new_stream()
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        process = _start_worker_process(
            spec,
            code_dir,
            endpoint_url,
            stream,
            [str(request_read), str(response_write)],
            (request_read, response_write),
        )
        os.close(request_read)
        os.close(response_write)
        return cls(spec, sink, stream, [request_write, response_read, -1], process.pid, process)

    def _read_output(self) -> None:
        with self._output:  # closed here, at EOF, so its fd number is never reused under us
            for text in _lines(self._output):
                with self._lines_lock:
                    self._lines.append((_now_ms(), text))
                    if text == END_MARK:  # wake the invocation only once its output is complete
                        self._lines_lock.notify_all()
        with self._lines_lock:
            self._lines_lock.notify_all()

    def _take_lines(self, until_mark: bool) -> list[tuple[int, str]]:
        with self._lines_lock:
            if until_mark:
                self._lines_lock.wait_for(lambda: any(t == END_MARK for _, t in self._lines), timeout=1.0)
            lines, self._lines = self._lines, []
        return [(ts, text) for ts, text in lines if text != END_MARK]

    def _flush_lines(
        self, extra: list[str] | None = None, until_mark: bool = False, first: tuple[int, str] | None = None
    ) -> list[tuple[int, str]]:
        lines = ([first] if first else []) + self._take_lines(until_mark)
        lines += [(_now_ms(), text) for text in extra or []]
        self.sink.write(LogTarget.of(self.spec, self.stream), lines)
        return lines

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

    def invoke(self, event: bytes, request_id: str, client_context: Any = None) -> InvokeResult:
        spec = self.spec
        started = time.monotonic()
        start_line = (_now_ms(), f"START RequestId: {request_id} Version: $LATEST")
        request = {
            "requestId": request_id,
            "event": event.decode("utf-8"),
            "traceId": _trace_id(),
            "invokedFunctionArn": spec.arn,
            "deadlineMs": _now_ms() + int(spec.timeout * 1000),
            "clientContext": client_context,
        }
        try:
            self._requests.send_bytes(json.dumps(request).encode())
            answered = self._responses.poll(spec.timeout)
            raw = self._responses.recv_bytes() if answered else None
        except (EOFError, OSError, BrokenPipeError):
            answered, raw = True, None
        duration = (time.monotonic() - started) * 1000

        if raw is None:
            self.kill()
            if not answered:
                result = InvokeResult.failure(
                    "Sandbox.Timedout", f"{request_id} Task timed out after {spec.timeout:.2f} seconds"
                )
                status = [
                    f"{datetime.now(UTC).isoformat()} {request_id} Task timed out after {spec.timeout:.2f} seconds"
                ]
            else:
                result = InvokeResult.failure(
                    "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited"
                )
                status = [f"RequestId: {request_id} Error: {self._exit_reason()}"]
        else:
            response = json.loads(raw)
            payload = (
                response["payload"].encode() if response["ok"] else json.dumps(response["error"]).encode()
            )
            result = InvokeResult(ok=response["ok"], payload=payload)
            status = []
        report = [
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, int(duration + 0.999))} ms\t"
            f"Memory Size: {spec.memory} MB",
        ]
        lines = self._flush_lines(status + report, until_mark=raw is not None, first=start_line)
        result.log_tail = "\n".join(text for _, text in lines)[-4096:]
        return result

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


class Throttled(RuntimeError):
    """Every worker slot stayed busy for the whole wait: Lambda's TooManyRequestsException."""


@dataclass
class FunctionPool:
    """Warm workers of one function version, at most `spec.concurrency` running at once."""

    spec: FunctionSpec
    code_dir: Path
    endpoint_url: str
    sink: LogSink
    idle: list[Worker] = field(default_factory=list)
    running: set[Worker] = field(default_factory=set)
    busy: int = 0
    retired: bool = False
    template: Template | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._template_lock = threading.Lock()
        self._preparing = threading.Event()

    def _template(self) -> Template:
        with self._template_lock:
            if self.retired:
                raise RuntimeError(f"{self.spec.name}: this version was retired")
            if self.template is None or not self.template.alive:
                self.template = Template(self.spec, self.code_dir, self.endpoint_url, self.sink)
            return self.template

    def prepare(self) -> None:
        """Run the function's init now, in the background, instead of at its first invocation:
        its template on Linux, elsewhere one warm worker."""
        if self.template is None and not self._preparing.is_set():
            self._preparing.set()
            threading.Thread(target=self._prepare, name=f"init-{self.spec.name}", daemon=True).start()

    def _prepare(self) -> None:
        try:
            if FORK_WORKERS:
                self._template()
                return
            worker = Worker.spawned(self.spec, self.code_dir, self.endpoint_url, self.sink)
            with self._lock:
                keep = not self.retired and not self.idle
                if keep:
                    self.idle.append(worker)
            if not keep:
                worker.kill()
        except Exception:  # the first invocation tries again and reports it
            log.exception("%s: could not prepare the function", self.spec.name)

    def _new_worker(self) -> Worker:
        if FORK_WORKERS:
            template = self._template()
            if template.forks:
                return Worker.forked(template, self.spec, self.sink)
        return Worker.spawned(self.spec, self.code_dir, self.endpoint_url, self.sink)

    def _acquire(self, wait_seconds: float) -> Worker | None:
        """An idle worker, or None when the caller may start a new one; raises Throttled after the wait."""
        deadline = time.monotonic() + wait_seconds
        with self._lock:
            while self.busy >= self.spec.concurrency:
                remaining = deadline - time.monotonic()
                if (remaining <= 0 or not self._lock.wait(remaining)) and self.busy >= self.spec.concurrency:
                    raise Throttled(f"Rate Exceeded: {self.spec.name} runs {self.spec.concurrency} at once")
            self.busy += 1
            while self.idle:
                worker = self.idle.pop()
                if worker.alive:
                    return worker
            return None

    def _release(self, worker: Worker | None) -> None:
        with self._lock:
            self.busy -= 1
            self.running.discard(worker)
            if worker is not None and worker.alive and not self.retired:
                self.idle.append(worker)
            elif worker is not None:
                worker.kill()
            self._lock.notify()

    def invoke(
        self, event: bytes, request_id: str, wait_seconds: float, client_context: Any = None
    ) -> InvokeResult:
        worker = self._acquire(wait_seconds)
        try:
            if worker is None:
                worker = self._new_worker()
            with self._lock:
                self.running.add(worker)
            return worker.invoke(event, request_id, client_context)
        finally:
            self._release(worker)

    def retire(self, now: bool = False) -> None:
        """Stop idle workers now; busy ones when their invocation ends, or now (shutdown: their
        invocations fail and SQS batches return to their queue after the visibility timeout)."""
        with self._lock:
            self.retired = True
            stopping, self.idle = self.idle + (list(self.running) if now else []), []
        for worker in stopping:
            worker.kill()
        with self._template_lock:
            if self.template is not None:
                self.template.kill()


def _runs_here(fn: LambdaFunction) -> bool:
    """Only Python functions run here; one without a declared runtime is tried as Python."""
    return not fn.run_time or fn.run_time.startswith("python")


class LambdaRuntime:
    """Invokes moto's deployed functions in warm worker processes."""

    def __init__(
        self, account_id: str, work_dir: Path, endpoint_url: str, default_concurrency: int = 4
    ) -> None:
        self.account_id = account_id
        self.work_dir = work_dir
        self.endpoint_url = endpoint_url
        self.default_concurrency = default_concurrency
        self._remove_extracted_code()  # an earlier run's: its functions went with its memory
        self.sink = LogSink()
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def function(self, region: str, name_or_arn: str) -> LambdaFunction:
        name = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        try:
            return lambda_backends[self.account_id][region].get_function(name)
        except Exception as error:
            raise FunctionNotFound(f"Function not found: {name_or_arn}") from error

    def _spec(self, fn: LambdaFunction) -> FunctionSpec:
        logging_config = getattr(fn, "logging_config", None) or {}
        return FunctionSpec(
            account_id=self.account_id,
            region=fn.region,
            name=fn.function_name,
            arn=fn.function_arn,
            handler=str(fn.handler),
            runtime=fn.run_time or "python3.12",
            code_sha=fn.code_sha_256,
            timeout=float(fn.timeout),
            memory=int(fn.memory_size),
            environment=tuple(sorted((fn.environment_vars or {}).items())),
            log_group=logging_config.get("LogGroup") or f"/aws/lambda/{fn.function_name}",
            concurrency=self.concurrency(fn),
        )

    def concurrency(self, fn: LambdaFunction) -> int:
        """How many invocations of `fn` run at once: its reserved concurrency, else the default."""
        return int(fn.reserved_concurrency or self.default_concurrency)

    def _code_dir(self, fn: LambdaFunction) -> Path:
        target = self.work_dir / fn.function_name / fn.code_sha_256.replace("/", "_")[:32]
        if not target.exists():
            staging = target.with_name(target.name + f".{uuid.uuid4().hex[:6]}.tmp")
            with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
                archive.extractall(staging)
            with contextlib.suppress(OSError):  # another thread extracted the same code first
                staging.rename(target)
        return target

    def pool(self, region: str, name_or_arn: str) -> FunctionPool:
        fn = self.function(region, name_or_arn)
        if not _runs_here(fn):
            raise FunctionNotFound(
                f"{fn.function_name}: runtime {fn.run_time} is not supported (Python only)"
            )
        spec = self._spec(fn)
        key = (region, spec.name)
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda runtime is shutting down")
            current = self._pools.get(key)
            if current is not None and current.spec == spec:
                return current
            pool = FunctionPool(spec, self._code_dir(fn), self.endpoint_url, self.sink)
            self._pools[key] = pool
        if current is not None:
            log.info("%s: new code or configuration, retiring the old workers", spec.name)
            current.retire()
        return pool

    def prepare_deployed(self) -> None:
        """Init each deployed Python function ahead of its first invocation (as SnapStart does at
        publish time), so the first request costs a fork, not ~0.4 s of imports; versions no
        longer deployed are retired."""
        deployed = set()
        for region, backend in list(lambda_backends[self.account_id].items()):
            for fn in list(backend.list_functions()):
                if not _runs_here(fn):
                    continue
                deployed.add((region, fn.function_name))
                with contextlib.suppress(FunctionNotFound):  # deleted meanwhile
                    self.pool(region, fn.function_name).prepare()
        with self._lock:
            gone = [key for key in self._pools if key not in deployed]
            retired = [self._pools.pop(key) for key in gone]
        for pool in retired:
            pool.retire()

    def watch_deployments(self, interval: float = 0.5) -> None:
        def loop() -> None:
            while not self._closed:
                try:
                    self.prepare_deployed()
                except Exception:
                    log.exception("preparing deployed functions failed")
                time.sleep(interval)

        threading.Thread(target=loop, name="lambda-deployments", daemon=True).start()

    def invoke(
        self, region: str, name_or_arn: str, event: bytes, wait_seconds: float | None = None
    ) -> InvokeResult:
        pool = self.pool(region, name_or_arn)
        request_id = str(uuid.uuid4())
        return pool.invoke(event, request_id, wait_seconds if wait_seconds is not None else pool.spec.timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire(now=True)
        self.sink.close()
        self._remove_extracted_code()

    def _remove_extracted_code(self) -> None:
        """Each function version's code is extracted under work_dir (~8 MB for this project's
        bundles); it lives as long as the emulator's in-memory state, so no run leaves any behind."""
        if self.work_dir.is_dir():
            for path in self.work_dir.iterdir():
                shutil.rmtree(path, ignore_errors=True)
