"""The Lambda runtime against functions created in moto (in-process), running in real workers."""

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from emulator.lambda_ import pool as lambda_pool
from emulator.lambda_.errors import Throttled
from emulator.lambda_.runtime import LambdaRuntime
from emulator.logs import sink as logs_module
from emulator.logs.sink import LogStream
from tests.emulator.helpers import code_zip

ACCOUNT = "123456789012"  # moto's default inside mock_aws

HANDLERS = """
import json, os, sys, time
import helper

COLD = {"count": 0}

def env(event, context):
    COLD["count"] += 1
    print("hello from", context.function_name)
    keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "_HANDLER",
            "AWS_ENDPOINT_URL", "GREETING", "LAMBDA_TASK_ROOT", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_LOG_GROUP_NAME"]
    return {"env": {k: os.environ.get(k) for k in keys}, "event": event, "invocations": COLD["count"],
            "context": {"request_id": context.aws_request_id, "arn": context.invoked_function_arn,
                        "memory": context.memory_limit_in_mb, "remaining": context.get_remaining_time_in_millis()},
            "helper": helper.VALUE, "path0": sys.path[0]}

def sleep(event, context):
    time.sleep(event["seconds"])
    return "done"

def fail(event, context):
    raise ValueError("bad input")

def crash(event, context):
    os._exit(3)

def unserializable(event, context):
    return {1, 2}
"""


INIT_COUNTER = """
import os, socket, time
with open(os.environ["INIT_LOG"], "a") as log:
    log.write("init\\n")
time.sleep(float(os.environ.get("INIT_SECONDS", 0)))  # the rest of a slow init
if os.environ.get("OPEN_SOCKET_AT_INIT"):
    KEPT = socket.socketpair()  # a connection made at import could not be shared by forked workers

def pid(event, context):
    import time
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid(), "stream": context.log_stream_name}
"""

LOGGING = """
import logging, os, subprocess, sys, time

TEXT = "one\\ntwo three\\n\\u00fcn\\u00efcode \\u2713\\n\\npartial" + " joined\\n"

def printed(event, context):
    print(TEXT, end="")
    sys.stderr.write("to stderr\\n")
    logging.getLogger("fn").warning("a warning")

def raw(event, context):
    os.write(1, TEXT.encode())
    os.write(2, "to stderr\\n".encode())
    os.write(2, "a warning\\n".encode())

def as_bytes(event, context):
    sys.stdout.buffer.write("bytes through sys.stdout.buffer\\n".encode())

def paced(event, context):
    print("before")
    time.sleep(event["pause"])
    print("after")

def hangs(event, context):
    print("started, now hanging")
    time.sleep(30)

def exits(event, context):
    print("leaving")
    sys.exit(2)

def forks(event, context):
    pid = os.fork()
    if pid == 0:
        print("from the forked child", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    print("from the handler")

def runs(event, context):
    print("before the subprocess")
    subprocess.run([sys.executable, "-c", "print('x' * 1000 + '\\\\n' + 'from the subprocess')"], check=True)
    print("after the subprocess")

def floods(event, context):
    for i in range(event["lines"]):
        print(f"line {i} " + "y" * 100)
"""


@pytest.fixture
def aws() -> Iterator[Any]:
    with moto.mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name="us-east-1")
        code = code_zip(
            {
                "app.py": HANDLERS,
                "helper.py": "VALUE = 42\n",
                "broken.py": "import nothing_here\n",
                "counter.py": INIT_COUNTER,
                "logged.py": LOGGING,
                "noisy.py": "print('printed at import')\n\ndef handler(event, context):\n    return 1\n",
            }
        )

        def create(name: str, handler: str, timeout: int = 3, **extra: Any) -> None:
            client.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Code={"ZipFile": code},
                Timeout=timeout, MemorySize=256, **extra,
            )  # fmt: skip

        client.create = create  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    runtime = LambdaRuntime(ACCOUNT, tmp_path, "http://127.0.0.1:1", default_concurrency=2)
    yield runtime
    runtime.close()


def invoke(runtime: LambdaRuntime, name: str, event: Any = None) -> tuple[bool, Any]:
    result = runtime.invoke("us-east-1", name, json.dumps(event or {}).encode())
    return result.ok, json.loads(result.payload)


def test_handler_gets_event_context_and_lambda_environment(
    aws: Any, runtime: LambdaRuntime, tmp_path: Path
) -> None:
    aws.create("echo", "app.env", Environment={"Variables": {"GREETING": "hi"}})
    ok, result = invoke(runtime, "echo", {"a": 1})
    assert ok
    assert result["event"] == {"a": 1}
    assert result["helper"] == 42  # sibling modules of the handler import
    env = result["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "app.env"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["GREETING"] == "hi"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/echo"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert result["path0"] == env["LAMBDA_TASK_ROOT"]
    assert Path(env["LAMBDA_TASK_ROOT"]).is_relative_to(tmp_path)
    context = result["context"]
    assert context["arn"].endswith(":function:echo")
    assert context["memory"] == 256
    assert 0 < context["remaining"] <= 3000

    ok, again = invoke(runtime, "echo")
    assert again["invocations"] == 2  # the same warm worker
    assert again["context"]["request_id"] != context["request_id"]


def test_output_goes_to_the_function_log_group(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("echo", "app.env")
    invoke(runtime, "echo")
    runtime.sink.flush()  # written in the background, in batches
    logs = boto3.client("logs", region_name="us-east-1")
    [stream] = logs.describe_log_streams(logGroupName="/aws/lambda/echo")["logStreams"]
    lines = [
        e["message"]
        for e in logs.get_log_events(logGroupName="/aws/lambda/echo", logStreamName=stream["logStreamName"])[
            "events"
        ]
    ]
    assert lines[0].startswith("INIT_START Runtime Version: python:3.")
    assert "declares python3.12" in lines[0] or sys.version_info[:2] == (3, 12)
    assert lines[1].startswith("START RequestId: ")
    assert "hello from echo" in lines
    assert lines[-2].startswith("END RequestId: ") and lines[-1].startswith("REPORT RequestId: ")


def test_errors_are_reported_like_lambda(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("fail", "app.fail")
    aws.create("broken", "broken.handler")
    aws.create("odd", "app.unserializable")
    ok, error = invoke(runtime, "fail")
    assert not ok and error["errorType"] == "ValueError" and error["errorMessage"] == "bad input"
    ok, error = invoke(runtime, "broken")
    assert not ok and error["errorType"] == "Runtime.ImportModuleError"
    ok, error = invoke(runtime, "odd")
    assert not ok and error["errorType"] == "Runtime.MarshalError"


def test_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(
    aws: Any, runtime: LambdaRuntime
) -> None:
    aws.create("slow", "app.sleep", timeout=1)
    started = time.monotonic()
    ok, error = invoke(runtime, "slow", {"seconds": 30})
    assert not ok and error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert time.monotonic() - started < 5
    ok, result = invoke(runtime, "slow", {"seconds": 0})
    assert ok and result == "done"


def test_a_crashed_worker_fails_the_invocation_only(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("crash", "app.crash")
    aws.create("echo", "app.env")
    ok, error = invoke(runtime, "crash")
    assert not ok and error["errorType"] == "Runtime.ExitError"
    assert invoke(runtime, "echo")[0]


def test_concurrency_limit_and_throttling(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("slow", "app.sleep", timeout=3)  # default_concurrency=2 in this runtime
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(runtime, "slow", {"seconds": 1})))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    time.sleep(0.3)
    with pytest.raises(Throttled):
        runtime.invoke("us-east-1", "slow", b'{"seconds": 0}', wait_seconds=0.1)
    for t in threads:
        t.join()
    assert [r[0] for r in results] == [True, True]


def test_reserved_concurrency_sets_the_limit(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("one", "app.sleep")
    aws.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
    assert runtime.pool("us-east-1", "one").spec.concurrency == 1


def test_unpacked_code_lives_as_long_as_a_deployed_function_has_it(aws: Any, tmp_path: Path) -> None:
    stale = tmp_path / "CodeOfAnEarlierRun"
    stale.mkdir()
    runtime = LambdaRuntime(ACCOUNT, tmp_path, "http://127.0.0.1:1")
    aws.create("echo", "app.env")
    aws.create("echo2", "app.env")  # the same code
    assert invoke(runtime, "echo")[0] and invoke(runtime, "echo2")[0]
    [code_dir] = [path for path in tmp_path.iterdir() if path != stale]  # unpacked once for both
    runtime.close(keep_code=True)  # the state is saved: the next start reuses it
    assert list(tmp_path.iterdir()) == [code_dir]
    unpacked = code_dir.stat().st_ino

    restarted = LambdaRuntime(ACCOUNT, tmp_path, "http://127.0.0.1:1")
    restarted.remove_code(keep_deployed=True)  # as the emulator starts, after restoring
    assert invoke(restarted, "echo")[0]
    assert [(p, p.stat().st_ino) for p in tmp_path.iterdir()] == [(code_dir, unpacked)], "not unpacked again"
    aws.delete_function(FunctionName="echo")
    restarted.prepare_deployed()  # the deployment watcher: echo's workers retired, echo2 keeps the code
    assert list(tmp_path.iterdir()) == [code_dir]
    restarted.close()  # nothing saved: nothing left behind
    assert list(tmp_path.iterdir()) == []

    (tmp_path / "CodeOfAnEarlierRun").mkdir()
    LambdaRuntime(ACCOUNT, tmp_path, "http://127.0.0.1:1").remove_code(keep_deployed=True)
    assert [p.name for p in tmp_path.iterdir()] == [], "only deployed code is kept"


def test_new_configuration_gets_new_workers(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("echo", "app.env", Environment={"Variables": {"GREETING": "v1"}})
    assert invoke(runtime, "echo")[1]["env"]["GREETING"] == "v1"
    aws.update_function_configuration(FunctionName="echo", Environment={"Variables": {"GREETING": "v2"}})
    _, result = invoke(runtime, "echo")
    assert result["env"]["GREETING"] == "v2"
    assert result["invocations"] == 1  # a new worker
    [code_dir] = runtime.work_dir.iterdir()  # the same code: one folder, kept

    aws.update_function_code(
        FunctionName="echo", ZipFile=code_zip({"app.py": "def env(e, c):\n    return 'v3'\n"})
    )
    assert invoke(runtime, "echo") == (True, "v3")
    assert list(runtime.work_dir.iterdir()) != [code_dir]  # new code, and the old gone
    assert len(list(runtime.work_dir.iterdir())) == 1


@pytest.mark.parametrize(
    ("socket_at_init", "fork_workers", "inits"),
    [(False, True, 1), (True, True, 3), (False, False, 2)],
    ids=["forked", "spawned-after-socket-at-init", "spawned-not-linux"],
)
def test_workers_fork_from_one_init_unless_init_left_a_socket_open(
    aws: Any,
    runtime: LambdaRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    socket_at_init: bool,
    fork_workers: bool,
    inits: int,
) -> None:
    monkeypatch.setattr(lambda_pool, "FORK_WORKERS", fork_workers)
    init_log = tmp_path / "init.log"
    variables = {"INIT_LOG": str(init_log), **({"OPEN_SOCKET_AT_INIT": "1"} if socket_at_init else {})}
    aws.create("counter", "counter.pid", Environment={"Variables": variables})
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(runtime, "counter", {"seconds": 0.5})))
        for _ in range(2)  # default_concurrency=2: two workers at once
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(ok for ok, _ in results)
    assert len({r["pid"] for _, r in results}) == 2
    assert len({r["stream"] for _, r in results}) == 2  # a log stream per worker
    # forked: init ran once, in the template; spawned: once in each worker (plus the template's
    # on Linux, which found the socket; no template where workers never fork)
    assert init_log.read_text().count("init") == inits


@pytest.mark.parametrize("fork_workers", [True, False], ids=["template", "warm-worker"])
def test_deployed_functions_are_initialised_before_their_first_invocation(
    aws: Any, runtime: LambdaRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork_workers: bool
) -> None:
    monkeypatch.setattr(lambda_pool, "FORK_WORKERS", fork_workers)
    init_log = tmp_path / "init.log"
    variables = {"INIT_LOG": str(init_log), "INIT_SECONDS": "0.5"}  # invoked while init still runs
    aws.create("counter", "counter.pid", Environment={"Variables": variables})
    runtime.prepare_deployed()
    deadline = time.monotonic() + 10
    # (the file exists from the init's open() until its one write lands)
    while not (init_log.exists() and init_log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert init_log.read_text() == "init\n"  # before any invocation
    assert invoke(runtime, "counter")[0]
    assert init_log.read_text() == "init\n"  # the invocation used that init (forked, or that worker)
    aws.delete_function(FunctionName="counter")
    runtime.prepare_deployed()
    assert runtime._pools == {}  # its pool (and template) retired


def test_a_function_still_in_its_init_holds_up_neither_a_stop_nor_a_new_version(
    aws: Any, tmp_path: Path
) -> None:
    """Stopping right after a deploy (or deploying again) kills a template still in its init
    instead of waiting for the init to end (it waited up to 30 s)."""
    if not lambda_pool.FORK_WORKERS:
        pytest.skip("workers fork from a template on Linux only")
    init_log = tmp_path / "init.log"
    variables = {"INIT_LOG": str(init_log), "INIT_SECONDS": "20"}
    aws.create("slow", "counter.pid", Environment={"Variables": variables})
    runtime = LambdaRuntime(ACCOUNT, tmp_path / "work", "http://127.0.0.1:1")
    try:
        runtime.prepare_deployed()
        pool = runtime.pool("us-east-1", "slow")
        deadline = time.monotonic() + 10
        while not init_log.exists() and time.monotonic() < deadline:  # the init has begun
            time.sleep(0.05)
        assert init_log.exists() and pool.template is not None
        started = time.monotonic()
        pool.retire(now=True)  # a new version, or the stop below
        assert time.monotonic() - started < 5
        assert pool.template.process.poll() is not None  # killed and reaped
    finally:
        started = time.monotonic()
        runtime.close()
        assert time.monotonic() - started < 5


def test_each_log_stream_keeps_its_newest_events(
    aws: Any, runtime: LambdaRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs_module, "EVENTS_KEPT_PER_STREAM", 3)
    stream = LogStream(ACCOUNT, "us-east-1", "/bounded", "s", "bounded")
    now = int(time.time() * 1000)
    runtime.sink.write(stream, [(now + i, f"line {i}") for i in range(5)])
    runtime.sink.flush()
    events = boto3.client("logs", region_name="us-east-1").get_log_events(
        logGroupName="/bounded", logStreamName="s"
    )
    assert [e["message"] for e in events["events"]] == ["line 2", "line 3", "line 4"]


def test_a_hung_template_is_replaced_instead_of_blocking_invocations(
    aws: Any, runtime: LambdaRuntime
) -> None:
    aws.create("hung", "app.env")
    assert invoke(runtime, "hung")[0]
    pool = runtime.pool("us-east-1", "hung")
    if not (lambda_pool.FORK_WORKERS and pool.template is not None and pool.template.forks):
        pytest.skip("workers fork from a template on Linux only")
    for worker in pool.idle:  # the next invocation needs a new worker, forked from the template
        worker.kill()
    pool.idle.clear()
    hung = pool.template
    os.kill(hung.process.pid, signal.SIGSTOP)
    try:
        answers: list[tuple[bool, Any]] = []
        caller = threading.Thread(target=lambda: answers.append(invoke(runtime, "hung")), daemon=True)
        caller.start()
        caller.join(timeout=30)  # bounded by the fork timeout (5 s), not forever
        assert answers, "the invocation is still waiting on the hung template"
        [(ok, result)] = answers
        assert ok and result["invocations"] == 1  # a worker of a fresh template
        assert pool.template is not hung and hung.process.poll() is not None  # killed and reaped
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(hung.process.pid, signal.SIGKILL)


def test_an_invocation_whose_version_is_retired_before_it_runs_runs_on_the_new_one(
    aws: Any, runtime: LambdaRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on Lambda, an update never fails an invocation: one that got the old version just
    before the update (a custom resource invoking the function CloudFormation just changed) runs
    on the new one."""
    aws.create("echo", "app.env", Environment={"Variables": {"GREETING": "v1"}})
    stale = runtime.pool("us-east-1", "echo")
    aws.update_function_configuration(FunctionName="echo", Environment={"Variables": {"GREETING": "v2"}})
    current = runtime.pool("us-east-1", "echo")  # the update noticed: the stale pool is retired
    assert stale.retired and current is not stale
    handed_out = iter([stale])
    monkeypatch.setattr(runtime, "pool", lambda region, name: next(handed_out, current))
    ok, result = invoke(runtime, "echo")
    assert ok and result["env"]["GREETING"] == "v2"


# The function's log output: buffered in the worker, handed over with each answer (emulator.lambda_.output)


def log_events(runtime: LambdaRuntime, function: str) -> list[dict[str, Any]]:
    """Every event of `function`'s one log stream, oldest first."""
    runtime.sink.flush()
    logs = boto3.client("logs", region_name="us-east-1")
    group = f"/aws/lambda/{function}"
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]


def invocation_lines(runtime: LambdaRuntime, function: str) -> list[str]:
    """The lines of `function`'s last invocation, between its START and END lines."""
    lines = [e["message"] for e in log_events(runtime, function)]
    start = max(i for i, line in enumerate(lines) if line.startswith("START RequestId: "))
    end = max(i for i, line in enumerate(lines) if line.startswith("END RequestId: "))
    return lines[start + 1 : end]


def test_printed_lines_reach_the_log_as_the_same_bytes_written_to_the_pipe_do(
    aws: Any, runtime: LambdaRuntime
) -> None:
    aws.create("printed", "logged.printed")
    aws.create("raw", "logged.raw")
    for _ in range(2):  # the second invocation of a warm worker too
        assert invoke(runtime, "printed")[0] and invoke(runtime, "raw")[0]
        printed, raw = invocation_lines(runtime, "printed"), invocation_lines(runtime, "raw")
        assert printed == raw
        assert printed == [
            "one",
            "two three",
            "\u00fcn\u00efcode \u2713",
            "",
            "partial joined",
            "to stderr",
            "a warning",
        ]


def test_bytes_written_to_sys_stdout_buffer_reach_the_log(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("bytes", "logged.as_bytes")
    assert invoke(runtime, "bytes")[0]
    assert invocation_lines(runtime, "bytes") == ["bytes through sys.stdout.buffer"]


def test_lines_keep_the_time_they_were_written(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("paced", "logged.paced")
    assert invoke(runtime, "paced", {"pause": 0.4})[0]
    stamps = {e["message"]: e["timestamp"] for e in log_events(runtime, "paced")}
    assert stamps["after"] - stamps["before"] >= 350


def test_a_timed_out_invocation_keeps_the_lines_written_before_it_hung(
    aws: Any, runtime: LambdaRuntime
) -> None:
    aws.create("hangs", "logged.hangs", timeout=1)
    started = time.monotonic()
    ok, error = invoke(runtime, "hangs")
    assert not ok and error["errorType"] == "Sandbox.Timedout"
    assert time.monotonic() - started < 2  # the hand-over is quick
    lines = invocation_lines(runtime, "hangs")
    assert lines[0] == "started, now hanging"
    assert "Task timed out after 1.00 seconds" in lines[1]


def test_a_handler_that_exits_keeps_the_lines_written_before(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("exits", "logged.exits")
    ok, error = invoke(runtime, "exits")
    assert not ok and error["errorType"] == "Runtime.ExitError"
    lines = invocation_lines(runtime, "exits")
    assert lines[0] == "leaving"
    assert (
        lines[1].endswith("Error: Runtime exited with error: exit status 2") or "Runtime exited" in lines[1]
    )


def test_lines_of_a_process_the_handler_forked_reach_the_log(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("forks", "logged.forks")
    assert invoke(runtime, "forks")[0]
    assert invocation_lines(runtime, "forks") == ["from the forked child", "from the handler"]


def test_a_subprocess_output_is_part_of_its_invocation(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("runs", "logged.runs")
    for _ in range(3):
        assert invoke(runtime, "runs")[0]
        lines = invocation_lines(runtime, "runs")
        assert lines[0] == "before the subprocess" and lines[-1] == "after the subprocess"
        assert lines[1:-1] == ["x" * 1000, "from the subprocess"]


def test_a_flood_of_lines_arrives_whole_and_in_order(aws: Any, runtime: LambdaRuntime) -> None:
    """More than the buffer holds (it spills to the pipe) and more than the pipe holds."""
    aws.create("floods", "logged.floods")
    assert invoke(runtime, "floods", {"lines": 5000})[0]
    lines = invocation_lines(runtime, "floods")
    assert lines == [f"line {i} " + "y" * 100 for i in range(5000)]


def test_what_init_prints_reaches_the_log_as_printed(aws: Any, runtime: LambdaRuntime) -> None:
    aws.create("noisy", "noisy.handler")
    assert invoke(runtime, "noisy")[0]
    logs = boto3.client("logs", region_name="us-east-1")
    deadline = time.monotonic() + 5
    messages: list[str] = []
    while "printed at import" not in messages and time.monotonic() < deadline:
        runtime.sink.flush()
        messages = [
            e["message"]
            for stream in logs.describe_log_streams(logGroupName="/aws/lambda/noisy")["logStreams"]
            for e in logs.get_log_events(
                logGroupName="/aws/lambda/noisy", logStreamName=stream["logStreamName"]
            )["events"]
        ]
        time.sleep(0.05)
    assert "printed at import" in messages
    assert not any("\x00" in message for message in messages)  # no pipe framing leaks into the log
