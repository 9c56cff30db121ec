"""The warm workers of one function version, at most its concurrency at once."""

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from emulator.lambda_.errors import Retired, Throttled
from emulator.lambda_.process import Template, Worker
from emulator.lambda_.sdk_calls import SdkEndpoint
from emulator.lambda_.spec import FunctionSpec, Invocation, InvokeResult
from emulator.logs.sink import LogSink

log = logging.getLogger("emulator.lambda")
# Forking a process that has loaded macOS system frameworks (boto3 does, looking up proxies) can
# crash the child, so workers fork from a template only on Linux; elsewhere each starts afresh.
FORK_WORKERS = sys.platform == "linux"


@dataclass
class FunctionPool:
    """Warm workers of one function version, at most `spec.concurrency` running at once."""

    spec: FunctionSpec
    code_dir: Path
    endpoint: SdkEndpoint
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
        self._prepared = threading.Event()

    def _template(self) -> Template:
        """The version's template, once its init has finished. The wait is outside the lock, so
        `retire` (a new version, the emulator stopping) kills a template still in its init
        instead of waiting for it."""
        with self._template_lock:
            if self.retired:
                raise Retired(f"{self.spec.name}: this version was retired")
            if self.template is None or not self.template.alive:
                if self.template is not None:
                    log.warning("%s: its template process is gone; starting a new one", self.spec.name)
                    self.template.kill()  # reap it
                self.template = Template(self.spec, self.code_dir, self.endpoint, self.sink)
            template = self.template
        try:
            template.wait_until_ready()
        except RuntimeError:
            if self.retired:
                raise Retired(f"{self.spec.name}: this version was retired") from None
            raise
        return template

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
            worker = Worker.spawned(self.spec, self.code_dir, self.endpoint, self.sink)
            with self._lock:
                keep = not self.retired and not self.idle
                if keep:
                    self.idle.append(worker)
            if not keep:
                worker.kill()
        except Retired:  # stopped or replaced during its init: nothing to prepare
            pass
        except Exception:  # the first invocation tries again and reports it
            log.exception("%s: could not prepare the function", self.spec.name)
        finally:
            self._prepared.set()

    def _prepared_worker(self) -> Worker | None:
        """The warm worker `prepare` is starting, once it is ready: an invocation that arrives
        during that init uses it rather than running the init a second time. (A template is
        waited for in `_template`.)"""
        if FORK_WORKERS or not self._preparing.is_set():
            return None
        self._prepared.wait()
        with self._lock:
            return self._idle_worker()

    def _new_worker(self) -> Worker:
        if FORK_WORKERS:
            for attempt in (1, 2):  # a template that hung or died is replaced once
                template = self._template()
                if not template.forks:
                    break
                try:
                    return Worker.forked(template, self.spec, self.sink)
                except RuntimeError:
                    if attempt == 2:
                        raise
                    log.warning("%s: its template did not fork a worker; replacing it", self.spec.name)
        return Worker.spawned(self.spec, self.code_dir, self.endpoint, self.sink)

    def _acquire(self, wait_seconds: float) -> Worker | None:
        """An idle worker, or None when the caller may start a new one; raises Throttled after the wait."""
        deadline = time.monotonic() + wait_seconds
        with self._lock:
            while self.busy >= self.spec.concurrency:
                remaining = deadline - time.monotonic()
                if (remaining <= 0 or not self._lock.wait(remaining)) and self.busy >= self.spec.concurrency:
                    raise Throttled(f"Rate Exceeded: {self.spec.name} runs {self.spec.concurrency} at once")
            self.busy += 1
            return self._idle_worker()

    def _idle_worker(self) -> Worker | None:
        """The most recently used idle worker still alive (the dead are dropped); under the lock."""
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

    def invoke(self, invocation: Invocation, *, wait_seconds: float) -> InvokeResult:
        """Run `invocation` on a warm worker (or a new one), waiting at most `wait_seconds` for a
        free slot."""
        worker = self._acquire(wait_seconds)
        try:
            if worker is None:
                worker = self._prepared_worker() or self._new_worker()
            with self._lock:
                self.running.add(worker)
            return worker.invoke(invocation)
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
