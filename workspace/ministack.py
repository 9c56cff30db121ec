"""ministack (PyPI, MIT) as a local target, the independent second emulator the e2e suite runs
against: installed into a venv of its own (it pins botocore exactly, so it cannot share .venv),
started on a free loopback port, stopped with every temporary folder it made."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulator.ctl import endpoint_on, free_port, stop_child, wait_healthy

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


@contextmanager
def temporary_ministack(work: Path, timeout: float = 60.0) -> Iterator[str]:
    """ministack on a free port of 127.0.0.1 (its default binds every interface), its state and
    temporary folders (its Lambda code, `ministack-lambda-*`) under `work`, stopped on exit."""
    executable = install()
    port = free_port()
    scratch = work / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "MINISTACK_HOST": "localhost",
        "TMPDIR": str(scratch),  # where it unpacks functions: removed with the run
    }
    with open(work / "ministack.log", "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - the pinned ministack in its own venv
            [str(executable)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_healthy(endpoint_on(port), timeout, process)
        yield endpoint_on(port)
    finally:
        stop_child(process)
        shutil.rmtree(scratch, ignore_errors=True)
