"""The emulator's state across restarts (`make local-up` keeps it in .local/state/).

Kept: every moto backend the emulator serves (CloudFormation stacks and their resources, function
code and configuration, queues and their messages, table items, log groups, alarms, topics and
subscriptions) and the metric buckets, as one pickle, so objects that refer to one another (a
stack and its queue, a metric bucket and its moto datum) still do after a restart.

Saved on every clean stop and, while running, whenever a request may have changed something (or
an event source moved messages, or an alarm changed state; metric datapoints alone wait): at
most every SAVE_SECONDS, by a forked child that pickles a copy-on-write image of one instant while
the server goes on answering (as Redis saves). The child's CPU is at most CPU_SHARE of one core:
a small state is saved every second, a large one (a save's CPU grows with the items and log lines
kept) less often. A crash loses what changed since the last save.

A state that cannot be loaded (corrupt, or written by another format or moto version) is moved
aside with a message naming it, and the emulator starts clean: never a crash loop.
"""

import contextlib
import copy
import functools
import io
import json
import logging
import os
import pickle
import signal
import stat
import threading
import time
import traceback
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import moto
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
)
from moto.core.base_backend import BackendDict
from moto.dynamodb.models.dynamo_type import LimitedSizeDict

from emulator.cloudwatch.metrics import MetricRecorder
from emulator.core import cpus
from emulator.sqs import store as sqs_store

log = logging.getLogger("emulator.state")

FORMAT = 3  # bump when what is pickled changes shape: older states are then set aside
STATE_FILE = "emulator.state"
MAGIC = b"emulator-state\n"
SAVE_SECONDS = 1.0
CPU_SHARE = 0.05  # a save that took 0.2 s of CPU waits 4 s before the next one
# Restored once moto's CloudFormation has loaded (see `write`): it, and SSM, whose models import
# EC2's (a second's import between them, which a start does not wait for).
LAZY = ("cloudformation", "ssm")
CHILD_SECONDS = 60  # a save that takes longer is stuck: killed, tried again after the next change

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
_PUBLIC_KEYS = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)


class _Pickler(pickle.Pickler):
    """What pickle cannot take as it is: locks are rebuilt unlocked (a lock's state means nothing in
    another process); the cryptography keys moto holds (KMS, IAM, certificates) are kept as DER
    bytes; moto's lambda-made defaultdicts and weak-value indexes as their contents. And what it
    takes slowly: a DynamoDB item's attributes (moto's LimitedSizeDict) are rebuilt in one call,
    not set one by one (each set sums the sizes of all set before: n² per item, half of a
    restore's time with 25k orders)."""

    def reducer_override(self, obj: Any) -> Any:
        cls: type = type(obj)
        reduce = _reducer(cls)
        return NotImplemented if reduce is None else reduce(obj)


@functools.cache
def _reducer(cls: type) -> Callable[[Any], Any] | None:
    """How `_Pickler` takes an instance of `cls`; None: as pickle does. Decided once per type: a
    save asks for each of its objects (~40k for 3k orders), and the key classes are ABCs, whose
    checks took two thirds of a save's CPU when made for every object."""
    if cls is LimitedSizeDict:  # its constructor's update() does not check again
        return lambda obj: (LimitedSizeDict, (dict(obj),))
    if cls in _LOCK_TYPES:
        rebuilt = threading.RLock if cls is _LOCK_TYPES[1] else threading.Lock
        return lambda obj: (rebuilt, ())
    if issubclass(cls, _PRIVATE_KEYS):
        return lambda obj: (
            _private_key,
            (obj.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),),
        )
    if issubclass(cls, _PUBLIC_KEYS):
        return lambda obj: (_public_key, (obj.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),))
    if issubclass(cls, defaultdict):
        return _reduce_defaultdict
    if issubclass(cls, weakref.WeakValueDictionary):  # moto's ARN indexes: the values live on elsewhere
        return lambda obj: (weakref.WeakValueDictionary, (dict(obj.items()),))
    return None


def _reduce_defaultdict(obj: defaultdict[Any, Any]) -> Any:
    factory = obj.default_factory
    if getattr(factory, "__name__", "") == "<lambda>":
        # moto's `defaultdict(lambda: defaultdict(dict))`: a lambda cannot be pickled, a fresh copy
        # of what it makes can
        factory = functools.partial(copy.deepcopy, factory())  # type: ignore[misc]
    # subclasses too, whatever their __init__ takes (moto's ParameterDict)
    return _defaultdict, (type(obj), factory), getattr(obj, "__dict__", None), None, iter(obj.items())


def _defaultdict(cls: type[defaultdict[Any, Any]], factory: Any) -> defaultdict[Any, Any]:
    made = defaultdict.__new__(cls)
    made.default_factory = factory
    return made


def _private_key(der: bytes) -> Any:
    return load_der_private_key(der, None)


def _public_key(der: bytes) -> Any:
    return load_der_public_key(der)


def _header() -> dict[str, Any]:
    return {"format": FORMAT, "moto": moto.__version__}


def _backends(services: tuple[str, ...]) -> dict[str, BackendDict[Any]]:
    from moto.backends import get_backend

    return {service: get_backend(service) for service in services}  # type: ignore[call-overload]


def _plain(backends: dict[str, BackendDict[Any]]) -> dict[str, Any]:
    """moto's backend objects as plain dicts (BackendDict itself holds caches)."""
    return {
        service: {account: dict(regions) for account, regions in accounts.items()}
        for service, accounts in backends.items()
    }


def write(path: Path, backends: dict[str, BackendDict[Any]], metrics: dict[str, Any]) -> int:
    """The state into `path`, atomically (a crash while writing keeps the previous one); its size.

    Two parts, one after the other from one pickler: everything but the LAZY services, with the
    metric buckets; then those, whose objects (stacks) refer to objects of the first part through
    the pickler's memo, which the second dump shares. A restore loads the first at once and the
    second, with the same unpickler (and so the same memo), once moto's CloudFormation has loaded."""
    payload = io.BytesIO()
    pickler = _Pickler(payload, protocol=pickle.HIGHEST_PROTOCOL)
    eager = {service: found for service, found in backends.items() if service not in LAZY}
    pickler.dump({"moto": _plain(eager), "metrics": metrics})
    pickler.dump(_plain({service: found for service, found in backends.items() if service in LAZY}))
    header = json.dumps(_header()).encode()
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:  # the user's only
        for part in (MAGIC, header, b"\n", payload.getbuffer()):
            out.write(part)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
    return len(MAGIC) + len(header) + 1 + payload.tell()


class Unloadable(Exception):
    pass


class Saved:
    """A state file read: its first part loaded, its second (the LAZY services) still to load."""

    def __init__(self, first: dict[str, Any], rest: pickle.Unpickler) -> None:
        self.first = first
        self._rest: pickle.Unpickler | None = rest  # at the second part; its memo holds the first's objects

    def second(self) -> dict[str, Any]:
        rest, self._rest = self._rest, None  # once: its memo would keep every first-part object alive
        if rest is None:
            raise RuntimeError("the second part was loaded already")
        loaded: dict[str, Any] = rest.load()
        return loaded


def read(path: Path) -> Saved:
    with open(path, "rb") as state:
        if state.readline() != MAGIC:
            raise Unloadable("not an emulator state file")
        try:
            header = json.loads(state.readline())
        except ValueError as error:
            raise Unloadable(f"its header is unreadable ({error})") from error
        if {key: header.get(key) for key in _header()} != _header():
            raise Unloadable(
                f"it was written by format {header.get('format')} with moto {header.get('moto')}; "
                f"this emulator reads format {FORMAT} with moto {moto.__version__}"
            )
        try:
            unpickler = pickle.Unpickler(io.BytesIO(state.read()))  # noqa: S301 - our own file, in the user's .local
            return Saved(unpickler.load(), unpickler)
        except Exception as error:
            raise Unloadable(f"it is damaged ({type(error).__name__}: {error})") from error


def restore(
    path: Path, services: tuple[str, ...], recorder: MetricRecorder
) -> tuple[str, Callable[[], str] | None]:
    """Load the saved state into moto's backends: what was restored, in words, and what restores
    CloudFormation's stacks once moto's CloudFormation has loaded (None when there are none)."""
    if not path.exists():
        return "no saved state: starting clean", None
    started = time.monotonic()
    try:
        saved = read(path)
    except (Unloadable, OSError) as error:
        return f"could not load {path}: {error}; moved it to {_set_aside(path)} and starting clean", None
    try:
        _apply(saved.first["moto"], services)
        recorder.restore(saved.first["metrics"])
        released = sqs_store.restart_all()
    except Exception as error:  # loaded, but not in a shape this code knows: never half a state
        BackendDict.reset()
        aside = _set_aside(path)
        return (
            f"could not restore {path} ({type(error).__name__}: {error}); moved it to {aside} and starting clean",
            None,
        )

    def stacks() -> str:
        try:
            restored = _apply(saved.second(), services)
        except Exception as error:  # the services are back; the stacks are not (never raises: it
            # runs as CloudFormation loads, which must go on)
            kept = path.with_name(f"{path.name}.stacks-unloadable-{time.strftime('%Y%m%d-%H%M%S')}")
            with contextlib.suppress(OSError):
                kept.write_bytes(path.read_bytes())
            return f"could not restore the stacks of {path} ({type(error).__name__}: {error}); a copy is in {kept.name}"
        count = sum(len(getattr(b, "stacks", {})) for backend in restored for b in backend.values())
        return f"restored {count} CloudFormation stacks from {path}"

    message = (
        f"restored {path} in {time.monotonic() - started:.2f}s ({released} messages that were in flight "
        "are visible again); its stacks come back once CloudFormation has loaded"
    )
    return message, stacks


def _apply(saved: dict[str, Any], services: tuple[str, ...]) -> list[dict[str, Any]]:
    """Saved backends into moto's BackendDicts (services not served any more are left out); the
    per-account backends put back."""
    backends = _backends(tuple(service for service in saved if service in services))
    applied = []
    for service, accounts in saved.items():
        if service not in backends:
            continue
        for account, regions in accounts.items():
            for region, backend in regions.items():
                backends[service][account][region] = backend
            applied.append(regions)
    return applied


def _set_aside(path: Path) -> str:
    aside = path.with_name(f"{path.name}.unloadable-{time.strftime('%Y%m%d-%H%M%S')}")
    with contextlib.suppress(OSError):
        os.replace(path, aside)
    return aside.name


def close_sockets() -> None:
    """In a save child: close every socket it inherited. Otherwise a save still running when the
    emulator stops (or is killed) keeps its listening port taken, and the next start fails with
    "Address already in use", and a connection the emulator closes stays open to its client."""
    try:
        fds: Iterable[int] = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc (macOS)
        fds = range(3, min(os.sysconf("SC_OPEN_MAX"), 65536))
    for fd in fds:
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def pause_after(used: float) -> float:
    """Seconds until the next save, after one that used `used` seconds of CPU."""
    return max(SAVE_SECONDS, used / CPU_SHARE)


class Saver:
    """Saves in the background after changes (`changed()`), and once more at `stop()`."""

    def __init__(
        self,
        path: Path,
        services: tuple[str, ...],
        before_save: Callable[[], None],
        recorder: MetricRecorder,
    ) -> None:
        self.path = path
        self.recorder = recorder
        self.services = services
        self.before_save = (
            before_save  # CloudFormation loaded and its stacks restored: never saved without them
        )
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-saver", daemon=True)
        self.longest_save = 0.0  # CPU seconds of a background save; / CPU_SHARE: what a crash may lose

    def start(self) -> "Saver":
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._thread.start()
        return self

    def changed(self) -> None:
        self._changed.set()

    def stop(self) -> None:
        """The last save, once the servers have stopped."""
        self._stopping.set()
        self._changed.set()
        self._thread.join(timeout=CHILD_SECONDS)
        started = time.monotonic()
        if self._save_in_child() is not None:
            log.info(
                "state saved to %s in %.2fs (while running, every %.0fs or less often; the longest save used %.2fs of CPU)",
                self.path, time.monotonic() - started, SAVE_SECONDS, self.longest_save,
            )  # fmt: skip

    def _run(self) -> None:
        pause = SAVE_SECONDS
        while not self._stopping.is_set():
            self._changed.wait()
            if self._stopping.wait(pause):
                return
            self._changed.clear()
            used = self._save_in_child()
            if used is not None:
                self.longest_save = max(self.longest_save, used)
                pause = pause_after(used)
            else:  # it will fail again until what broke it changes: try less often
                pause = min(60.0, pause * 2)

    def _save_in_child(self) -> float | None:
        """fork: the child holds a copy-on-write image of this instant (no thread can change it
        midway), pickles it and exits; this process only waits, so requests go on being answered.
        The child runs no other thread and takes no lock (one another thread held at the fork
        would never be released there), so it imports nothing either: the backends are looked up
        here first. It reports a failure on stderr (emulator.log.out). The save's CPU seconds, or
        None if it failed."""
        self.before_save()
        backends = _backends(self.services)
        if not hasattr(os, "fork"):  # Windows: here, holding the interpreter while it pickles
            return self._save_here(backends)
        pid = os.fork()
        if pid == 0:
            code = 1
            close_sockets()  # the emulator's ports are free once it lets go of them
            cpus.release()  # pickle beside the emulator's threads, not on their CPU
            signal.alarm(CHILD_SECONDS)  # ends a stuck child even when its parent was killed
            try:
                write(self.path, backends, self.recorder.state())
                code = 0
            except BaseException:
                os.write(2, f"saving the state failed:\n{traceback.format_exc()}".encode())
            finally:
                os._exit(code)
        deadline = time.monotonic() + CHILD_SECONDS
        while (done := os.wait4(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                done = os.wait4(pid, 0)
                break
            time.sleep(0.02)
        code = os.waitstatus_to_exitcode(done[1])
        if code != 0:
            log.warning(
                "saving the state failed (exit code %s, see emulator.log.out); the next change tries again",
                code,
            )
            self._changed.set()
            return None
        return done[2].ru_utime + done[2].ru_stime

    def _save_here(self, backends: dict[str, BackendDict[Any]]) -> float | None:
        started = time.thread_time()
        for _ in range(3):  # another thread may change a dict while it is pickled: try again
            try:
                write(self.path, backends, self.recorder.state())
                return time.thread_time() - started
            except RuntimeError:
                continue
            except Exception:
                log.exception("saving the state failed; the next change tries again")
                break
        self._changed.set()
        return None
