"""ministack (PyPI, MIT) as a local target, the independent second emulator the e2e suite runs
against: installed into a venv of its own (it pins botocore exactly, so it cannot share .venv),
bound to 127.0.0.1, its temporary folders (function code) kept under a folder of the run's.

    python -m workspace.ministack start   # `make local-up EMULATOR=ministack`; `make local-down` stops it
"""

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulator.ctl import free_port, start, stop_child, wait_healthy
from emulator.settings import LOCAL, LOG_FILE, endpoint_on, port_from_environment

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-ministack"
REQUIREMENTS = Path(__file__).with_name("ministack-requirements.txt")  # the pinned version
EXECUTABLE = VENV / "bin" / "ministack"


def install() -> Path:
    """`make setup` installs it; this does the same for a test run started without make."""
    if not EXECUTABLE.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)  # noqa: S603
    return EXECUTABLE


def launch(port: int, work: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """ministack on `port` of 127.0.0.1 (its default binds every interface), its state and its
    temporary folders (`ministack-lambda-*`, the functions' code) under `work`, a fresh `tmp`."""
    executable = install()
    scratch = work.resolve() / "tmp"
    shutil.rmtree(scratch, ignore_errors=True)  # an earlier run's, left by a crash
    scratch.mkdir(parents=True)
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "MINISTACK_HOST": "localhost",
        "TMPDIR": str(scratch),
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603 - the pinned ministack in its own venv
            [str(executable)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


@contextmanager
def temporary_ministack(work: Path, timeout: float = 60.0) -> Iterator[str]:
    """ministack on a free port for one run (tests, e2e), stopped and its folders removed on exit."""
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    process = launch(port, work, work / "ministack.log")
    try:
        wait_healthy(endpoint_on(port), timeout, process)
        yield endpoint_on(port)
    finally:
        stop_child(process)
        shutil.rmtree(work / "tmp", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace.ministack", description=__doc__)
    parser.add_argument("command", choices=["start"])
    parser.add_argument("--port", type=int, default=port_from_environment())
    args = parser.parse_args(argv)
    work = LOCAL / "ministack"
    work.mkdir(parents=True, exist_ok=True)
    return start(args.port, lambda: launch(args.port, work, LOG_FILE), timeout=60, name="ministack")


if __name__ == "__main__":
    sys.exit(main())
