"""`python -m emulator.ctl start|stop|status|remember|forget`: the emulator as a background service
for `make local-up`.

The pid file and log live in .local/; starting twice reports the running instance. The endpoint a
local target was started on is remembered in .local/endpoint until it stops, so the commands that
follow (`make smoke`, `make env`, ...) find it without repeating EMULATOR_PORT.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from emulator.settings import (
    DEFAULT_PORT,
    ENDPOINT_FILE,
    LOCAL,
    LOG_FILE,
    PID_FILE,
    SAVED_STATE,
    WORK_DIR,
    endpoint_on,
    port_from_environment,
)


def local_endpoint() -> str:
    """Where the local target answers: LOCAL_ENDPOINT or EMULATOR_PORT when set (they win), else
    the endpoint `make local-up` remembered, else the default port."""
    if os.environ.get("LOCAL_ENDPOINT"):
        return os.environ["LOCAL_ENDPOINT"].rstrip("/")
    if os.environ.get("EMULATOR_PORT"):
        return endpoint_on(int(os.environ["EMULATOR_PORT"]))
    return remembered() or endpoint_on(DEFAULT_PORT)


def remembered() -> str | None:
    try:
        return ENDPOINT_FILE.read_text().strip() or None
    except FileNotFoundError:
        return None


def remember(endpoint: str) -> None:
    LOCAL.mkdir(parents=True, exist_ok=True)
    ENDPOINT_FILE.write_text(endpoint + "\n")


def forget() -> None:
    ENDPOINT_FILE.unlink(missing_ok=True)


# Linux's default ephemeral range starts at 32768, macOS's and Windows' at 49152.
EPHEMERAL_FLOOR = 32768
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A free TCP port on 127.0.0.1, below the ephemeral range (for tests and runs that start their
    own emulator). Outside it because the port is often listened on again after a restart: an
    ephemeral port, once released, may become the local end of any client connection on the
    machine, and that connection's TIME_WAIT then refuses the listener's bind for a minute."""
    try:
        floor = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        floor = EPHEMERAL_FLOOR
    candidates = range(10000, floor)  # empty when the ephemeral range covers nearly every port
    for port in random.sample(candidates, min(50, len(candidates))):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # none found: what the kernel gives
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health(url: str, timeout: float = 1.0) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=timeout) as response:  # noqa: S310 - our own URL
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


NEEDED_SERVICES = ("cloudformation", "lambda", "sqs", "dynamodb", "logs", "iam", "s3", "apigateway")


def ready(status: dict[str, object] | None) -> bool:
    """Whether a target's health answer (HTTP 200) says it can take the stack. LocalStack, Floci
    and ministack send `services` ("running", or "available" for one loaded on first use) and no
    `ready` key; the embedded emulator answers 503 until ready, then 200 with both."""
    if not status or status.get("ready") is False:
        return False
    services = status.get("services")
    if not isinstance(services, dict):
        return bool(status.get("ready"))
    states = {name.lower(): str(state) for name, state in services.items()}
    return all(
        any(s in ("running", "available") for n, s in states.items() if n.startswith(needed))
        for needed in NEEDED_SERVICES
    )


def wait_healthy(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> float:
    """Seconds until the emulator at `url` answered ready; raises if it exits or times out."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if ready(health(url, timeout=0.5)):
            return time.monotonic() - started
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"emulator exited with code {process.returncode} before it was ready")
        time.sleep(0.05)
    raise TimeoutError(f"emulator at {url} not ready after {timeout:.0f}s")


def spawn(
    port: int, host: str = "127.0.0.1", log_path: Path = LOG_FILE, extra_args: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `python -m emulator` in its own session: its log in `log_path` (rotated at 10 MB),
    anything else it prints (a crash) appended beside it, in `<log_path>.out`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(output_path(log_path), "ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "emulator",
                "--host",
                host,
                "--port",
                str(port),
                "--log-file",
                str(log_path.resolve()),  # the emulator runs in the repository, not in our cwd
                *(extra_args or []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[1],
        )


def output_path(log_path: Path) -> Path:
    """Where `spawn` appends what the emulator prints outside its log (a crash, a failed save)."""
    return log_path.with_name(log_path.name + ".out")


def last_lines(log_path: Path, count: int = 15) -> list[str]:
    """The end of an emulator's log and of its output: what says why it did not start."""
    return [
        line
        for path in (log_path, output_path(log_path))
        if path.exists()
        for line in path.read_text(errors="replace").splitlines()[-count:]
    ]


def terminate(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True if it was running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def stop_child(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`, for a process we started: wait() reaps it (polling
    its pid, as `terminate` must for others, would see the zombie as still running)."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Started:
    endpoint: str
    process: subprocess.Popen[bytes]
    ready_after_s: float
    mailbox: Path | None = None  # where its SNS email subscriptions get their messages


@contextmanager
def temporary_emulator(
    work: Path,
    timeout: float = 30.0,
    state_dir: Path | None = None,
    port: int | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[Started]:
    """An emulator of its own on a free port (or `port`; log and function code under `work`),
    stopped on exit; it starts clean unless given a `state_dir` to keep its state in. `options`:
    more of `python -m emulator`'s (`--xray-sample off`)."""
    port = port or free_port()
    endpoint = endpoint_on(port)
    mailbox = work / "mailbox"
    kept = ["--state-dir", str(state_dir)] if state_dir else []
    process = spawn(
        port,
        log_path=work / "emulator.log",
        extra_args=["--work-dir", str(work / "functions"), "--mailbox", str(mailbox), *kept, *options],
    )
    try:
        try:
            ready_after = wait_healthy(endpoint, timeout, process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError("\n".join([str(error), *last_lines(work / "emulator.log")])) from error
        yield Started(endpoint, process, ready_after, mailbox)
    finally:
        # its stop ends with a save, which a test that restarts from the state needs whole; on a
        # machine busy with parallel test runs that can take longer than 10 s
        stop_child(process, timeout=30.0)


def _identity(pid: int) -> dict[str, object] | None:
    """What tells this emulator from another process that got its pid later: its start time and
    command line (psutil reads both on Linux, macOS and Windows)."""
    try:
        process = psutil.Process(pid)
        return {"pid": pid, "started": process.create_time(), "cmdline": process.cmdline()}
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _running_pid() -> int | None:
    """The pid in the pid file, if that very process still runs: after a crash the pid may belong
    to something else by now, which must never be reported as the emulator, let alone signalled."""
    try:
        recorded = json.loads(PID_FILE.read_text())
        if isinstance(recorded, int):  # written by an earlier version: the pid alone
            recorded = {"pid": recorded}
        pid = int(recorded["pid"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    current = _identity(pid)
    if current is None:
        return None
    if "started" not in recorded:  # that earlier version's: trust an emulator's command line only
        command = current["cmdline"]
        return pid if isinstance(command, list) and command[1:3] == ["-m", "emulator"] else None
    return pid if current == recorded else None


def start(
    port: int, launch: Callable[[], subprocess.Popen[bytes]], timeout: float = 30.0, name: str = "emulator"
) -> int:
    """`make local-up`: start a local target in the background with `launch`, wait until it is
    ready, record its identity and remember its endpoint; an exit code."""
    url = endpoint_on(port)
    pid = _running_pid()
    if pid is not None:
        running = remembered() or url
        if running != url and os.environ.get("EMULATOR_PORT"):
            print(
                f"{name}: already running on {running} (pid {pid}); `make local-down` first to start it on {url}",
                file=sys.stderr,
            )
            return 1
        print(f"{name}: already running on {running} (pid {pid}); `make local-down` stops it")
        return 0
    if health(url):
        print(
            f"{name}: something else already answers on {url}; stop it or choose another EMULATOR_PORT",
            file=sys.stderr,
        )
        return 1
    print(f"{name}: starting on {url} (log: {LOG_FILE}) ...", flush=True)
    process = launch()
    try:
        seconds = wait_healthy(url, timeout, process)
    except (RuntimeError, TimeoutError) as error:
        stop_child(process, timeout=2)
        print(f"{name}: {error}\n" + "\n".join(last_lines(LOG_FILE)), file=sys.stderr)
        return 1
    PID_FILE.write_text(json.dumps(_identity(process.pid)))
    remember(url)
    print(f"{name}: ready on {url} in {seconds:.2f}s (pid {process.pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.ctl", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "remember", "forget"])
    parser.add_argument(
        "--port",
        type=int,
        default=port_from_environment(),
        help=f"start/remember: the port (default EMULATOR_PORT, else {DEFAULT_PORT})",
    )
    parser.add_argument("--host", default=os.environ.get("EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    pid = _running_pid()

    if args.command == "remember":  # a container target started by `make local-up`
        remember(endpoint_on(args.port))
        return 0
    if args.command == "forget":
        forget()
        return 0

    if args.command == "status":
        url = local_endpoint()
        status = health(url)
        print(
            f"emulator: {'running' if pid else 'not running'} (pid {pid}); {url} {'ready' if status and status.get('ready') else 'not answering'}"
        )
        return 0 if pid and status else 1

    if args.command == "stop":
        forget()
        if pid is None:
            stale = PID_FILE.exists()
            PID_FILE.unlink(missing_ok=True)
            print(
                "emulator: not running"
                + (" (removed a stale pid file; nothing was signalled)" if stale else "")
            )
            return 0
        terminate(pid)
        PID_FILE.unlink(missing_ok=True)
        print(f"emulator: stopped (pid {pid})")
        return 0

    # its work dir beside its pid file: two emulators never unpack into (or clean) the same folder
    kept = ["--work-dir", str(WORK_DIR.resolve()), "--state-dir", str(SAVED_STATE.resolve())]
    return start(args.port, lambda: spawn(args.port, args.host, extra_args=kept), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
