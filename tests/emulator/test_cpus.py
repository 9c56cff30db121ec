"""The emulator's threads share one CPU (`--cpus one`, the default); the processes it starts, the
functions' workers and the state saves, run on every CPU it was started with."""

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from emulator import persistence
from emulator.cloudwatch.metrics import MetricRecorder
from emulator.core import cpus
from emulator.ctl import temporary_emulator
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

needs_two = pytest.mark.skipif(len(cpus.STARTED_WITH) < 2, reason="needs sched_setaffinity and two CPUs")

REPORTS_ITS_CPUS = "import os\n\ndef handler(event, context):\n    return sorted(os.sched_getaffinity(0))\n"


def on_a_thread(work: Any) -> Any:
    """`work()`'s result, run on a thread of its own: pinning it leaves the test's own thread be."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(30)
    return result[0]


@needs_two
def test_pin_keeps_the_thread_and_the_threads_it_starts_on_one_cpu() -> None:
    def pin_then_start_a_thread() -> tuple[int | None, set[int], set[int]]:
        cpu = cpus.pin(cpus.ONE)
        return cpu, os.sched_getaffinity(0), on_a_thread(lambda: os.sched_getaffinity(0))

    cpu, pinned, started_after = on_a_thread(pin_then_start_a_thread)
    assert cpu in cpus.STARTED_WITH
    assert pinned == started_after == {cpu}


def test_with_all_nothing_is_pinned() -> None:
    assert on_a_thread(lambda: (cpus.pin(cpus.ALL), os.sched_getaffinity(0))) == (None, cpus.STARTED_WITH)


def test_releasing_a_process_that_has_exited_is_no_error() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    cpus.release(pid)


@needs_two
def test_a_save_runs_on_every_cpu_not_only_on_the_emulator_s_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "cpus"
    monkeypatch.setattr(
        persistence, "write", lambda *args: seen.write_text(json.dumps(sorted(os.sched_getaffinity(0))))
    )
    saver = persistence.Saver(
        tmp_path / persistence.STATE_FILE, ("sqs",), before_save=lambda: None, recorder=MetricRecorder()
    )
    on_a_thread(lambda: (cpus.pin(cpus.ONE), saver._save_in_child()))  # as the emulator's saver thread
    assert json.loads(seen.read_text()) == sorted(cpus.STARTED_WITH)


@needs_two
@pytest.mark.integration  # starts an emulator
@pytest.mark.parametrize("choice", cpus.CHOICES)
def test_the_emulator_s_threads_run_on_one_cpu_its_functions_on_all(tmp_path: Path, choice: str) -> None:
    with temporary_emulator(tmp_path, options=("--cpus", choice)) as emulator:
        role = local_client("iam", emulator.endpoint).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        functions = local_client("lambda", emulator.endpoint)
        functions.create_function(
            FunctionName="cpus", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": REPORTS_ITS_CPUS})},
        )  # fmt: skip
        answer = functions.invoke(FunctionName="cpus")
        threads = [int(tid) for tid in os.listdir(f"/proc/{emulator.process.pid}/task")]
        emulator_cpus = {frozenset(os.sched_getaffinity(tid)) for tid in threads}

    assert json.loads(answer["Payload"].read()) == sorted(cpus.STARTED_WITH)
    assert len(threads) > 10  # the servers', the event sources', the function's log reader...
    if choice == cpus.ONE:
        (one,) = emulator_cpus
        assert len(one) == 1 and one <= cpus.STARTED_WITH
    else:
        assert emulator_cpus == {cpus.STARTED_WITH}


@needs_two
def test_emulators_side_by_side_spread_over_the_cpus() -> None:
    """Each picks by its pid, so the emulators of parallel test runs do not all share one CPU."""
    chosen = set()
    for _ in range(20):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, str(cpus.pin(cpus.ONE)).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        chosen.add(int(os.read(read, 16)))
        os.close(read)
        os.close(write)
    assert len(chosen) > 1 and chosen <= cpus.STARTED_WITH
