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
import logging
import shutil
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends

from emulator import arns
from emulator.cloudwatch.metrics import MetricRecorder
from emulator.iam.credentials import CredentialStore
from emulator.lambda_ import tracing
from emulator.lambda_.errors import FunctionNotFound, Retired, RuntimeClosed, Throttled
from emulator.lambda_.patches import hot_reload_folder
from emulator.lambda_.pool import FunctionPool
from emulator.lambda_.sdk_calls import App, SdkEndpoint
from emulator.lambda_.spec import FunctionSpec, Invocation, InvokeResult
from emulator.lambda_.tracing import Tracing
from emulator.logs.sink import LogSink
from emulator.settings import DEFAULT_CONCURRENCY

log = logging.getLogger("emulator.lambda")


def _runs_here(fn: LambdaFunction) -> bool:
    """Only Python functions run here; one without a declared runtime is tried as Python."""
    return not fn.run_time or fn.run_time.startswith("python")


class HandlerCpu:
    """The CPU each function's own code used, summed over its invocations: what `make bench`
    reports apart from the emulator's and the worker processes' (GET /_emulator/lambda/cpu)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[str, tuple[int, float]] = {}  # function name: (invocations, CPU seconds)

    def add(self, function: str, seconds: float) -> None:
        with self._lock:
            invocations, total = self._used.get(function, (0, 0.0))
            self._used[function] = (invocations + 1, total + seconds)

    def report(self) -> dict[str, Any]:
        with self._lock:
            used = dict(self._used)
        return {
            "functions": {
                name: {"invocations": invocations, "cpuSeconds": round(total, 6)}
                for name, (invocations, total) in sorted(used.items())
            }
        }


class LambdaRuntime:
    """Invokes moto's deployed functions in warm worker processes."""

    def __init__(
        self,
        account_id: str,
        work_dir: Path,
        endpoint_url: str,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        recorder: MetricRecorder | None = None,
        credentials: CredentialStore | None = None,
        tracing: Tracing | None = None,  # None: no X-Ray (the functions' Tracer is off)
        sdk_app: App | None = None,  # answers the functions' SDK calls during invocations
    ) -> None:
        self.account_id = account_id
        self.work_dir = work_dir
        self.endpoint = SdkEndpoint(endpoint_url, sdk_app)
        self.default_concurrency = default_concurrency
        self.recorder = recorder or MetricRecorder()  # AWS/Lambda's metrics, and the functions' own
        self.credentials = credentials or CredentialStore()  # issues each function's role credentials
        self.sink = LogSink(self.recorder)
        self.tracing = tracing
        self.handler_cpu = HandlerCpu()
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._watched: set[Path] = set()  # hot-reload folders
        self._stop_watching = threading.Event()

    def function(self, region: str, name_or_arn: str) -> LambdaFunction:
        name = arns.function_name(name_or_arn)
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
            declared_runtime=fn.run_time or "python3.12",
            code_sha=fn.code_sha_256,
            timeout=float(fn.timeout),
            memory=int(fn.memory_size),
            environment=tuple(sorted((fn.environment_vars or {}).items())),
            log_group=logging_config.get("LogGroup") or f"/aws/lambda/{fn.function_name}",
            concurrency=self.concurrency(fn),
            role=str(fn.role),
            credentials=self.credentials.issue(self.account_id, fn.region, str(fn.role), fn.function_name),
            tracing=str((fn.tracing_config or {}).get("Mode") or "PassThrough"),
            xray_daemon=self.tracing.daemon_address if self.tracing else None,
        )

    def concurrency(self, fn: LambdaFunction) -> int:
        """How many invocations of `fn` run at once: its reserved concurrency, else the default."""
        return int(fn.reserved_concurrency or self.default_concurrency)

    def _code_dir(self, fn: LambdaFunction) -> Path:
        folder = hot_reload_folder(fn)
        if folder is not None:
            self._watch(folder)
            return folder
        target = self._extracted(fn)
        if not target.exists():
            staging = target.with_name(target.name + f".{uuid.uuid4().hex[:6]}.tmp")
            with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
                archive.extractall(staging)
            with contextlib.suppress(OSError):  # another thread extracted the same code first
                staging.rename(target)
        return target

    def _extracted(self, fn: LambdaFunction) -> Path:
        """Where `fn`'s code is unpacked: one folder per code, shared by the functions that have
        the same (this stack's three do), named after the code's digest."""
        return self.work_dir / fn.code_sha_256.replace("/", "_")[:32]

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
                raise RuntimeClosed("the Lambda runtime is shutting down")
            current = self._pools.get(key)
            if current is not None and current.spec == spec:
                return current
            pool = FunctionPool(spec, self._code_dir(fn), self.endpoint, self.sink)
            self._pools[key] = pool
        if current is not None:
            log.info("%s: new code or configuration, retiring the old workers", spec.name)
            self._retire(current, keep=pool.code_dir)
        return pool

    def _retire(self, pool: FunctionPool, keep: Path | None = None) -> None:
        """Retire a version's workers, and its extracted code unless the next version or another
        function uses it, so redeploys leave no code behind."""
        pool.retire()
        with self._lock:  # held while removing: pool() must not hand out a folder being removed
            shared = pool.code_dir == keep or any(p.code_dir == pool.code_dir for p in self._pools.values())
            if not shared and pool.code_dir.is_relative_to(self.work_dir):  # never the user's folder
                shutil.rmtree(pool.code_dir, ignore_errors=True)

    def _watch(self, folder: Path) -> None:
        """Hot reload: when a .py file under `folder` is saved, the versions running from it are
        retired, and the next invocation (or the deployment watcher, within 0.5 s) starts from
        the new code."""
        if folder in self._watched:  # (pool() calls this holding self._lock)
            return
        self._watched.add(folder)

        def loop() -> None:
            from watchfiles import PythonFilter, watch

            for changes in watch(folder, watch_filter=PythonFilter(), stop_event=self._stop_watching):
                with self._lock:
                    stale = [key for key, pool in self._pools.items() if pool.code_dir == folder]
                    retired = [self._pools.pop(key) for key in stale]
                for pool in retired:
                    pool.retire()
                log.info("%s changed (%d files): %d functions reload", folder, len(changes), len(retired))

        threading.Thread(target=loop, name=f"hot-reload-{folder.name}", daemon=True).start()

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
            self._retire(pool)

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
        self,
        region: str,
        name_or_arn: str,
        event: bytes,
        *,
        wait_seconds: float | None = None,  # for a free worker; None: the function's timeout
        request_id: str | None = None,  # an asynchronous event keeps its id across retries
        trace_header: str | None = None,  # the caller's X-Amzn-Trace-Id
        links: tuple[str, ...] = (),  # the trace headers of the SQS messages in the event
    ) -> InvokeResult:
        pool = self.pool(region, name_or_arn)
        trace = tracing.begin(self.tracing, pool.spec.tracing, trace_header, links)
        invocation = Invocation(event, request_id or str(uuid.uuid4()), str(trace.header))
        wall_started = time.time()
        for attempt in (1, 2):
            if attempt == 2:  # the version it waited for was retired: the new one runs it
                pool = self.pool(region, name_or_arn)
            spec = pool.spec
            wait = wait_seconds if wait_seconds is not None else spec.timeout
            started = time.perf_counter()
            try:
                result = pool.invoke(invocation, wait_seconds=wait)
                break
            except Throttled:
                self._metrics(spec, ("Throttles", 1, "Count"))
                raise
            except Retired:  # updated while it waited, as on Lambda
                if attempt == 2:
                    raise
        self.handler_cpu.add(spec.name, result.cpu_seconds)
        self._metrics(
            spec,
            ("Invocations", 1, "Count"),
            ("Errors", 0 if result.ok else 1, "Count"),
            ("Duration", (time.perf_counter() - started) * 1000, "Milliseconds"),
            ("ConcurrentExecutions", pool.busy + 1, "Count"),  # the others in flight, and this one
        )
        if trace.sampled and self.tracing is not None:
            function = {"name": spec.name, "arn": spec.arn, "request_id": invocation.request_id}
            trace.record(self.tracing.traces, function, wall_started, time.time(), result.error())
        return result

    def _metrics(self, spec: FunctionSpec, *values: tuple[str, float, str]) -> None:
        """AWS/Lambda's metrics (name, value, unit), as Lambda publishes them per function."""
        per_function = (("FunctionName", spec.name),)
        self.recorder.record_all(
            spec.account_id, spec.region, "AWS/Lambda", [(*value, per_function) for value in values]
        )

    def close(self, keep_code: bool = False) -> None:
        """Stop every worker; `keep_code`: the deployed functions' unpacked code stays for the next
        start (their state is saved), else none is left behind."""
        self._stop_watching.set()
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire(now=True)
        self.endpoint.close()
        self.sink.close()
        self.remove_code(keep_deployed=keep_code)

    def remove_code(self, keep_deployed: bool) -> None:
        """Each code is unpacked under work_dir once (~6 MB for this project's package) and lives
        as long as a deployed function has it. At the start, after any restore, this drops what an
        earlier run left and keeps the restored functions' code: a restart unpacks nothing."""
        keep = set()
        if keep_deployed:
            keep = {
                self._extracted(fn)
                for backend in list(lambda_backends[self.account_id].values())
                for fn in list(backend.list_functions())
            }
        if self.work_dir.is_dir():
            for path in self.work_dir.iterdir():
                if path not in keep:
                    shutil.rmtree(path, ignore_errors=True)
