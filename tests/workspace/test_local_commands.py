"""The commands a user runs against the local target (`make local-up`, `smoke`, `dlq-redrive`,
`deploy-local`, `env`, `logs`), run as the Makefile runs them, each in a scratch folder so the
repository's own .local is never touched."""

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
import requests
from botocore.exceptions import EndpointConnectionError

from emulator.ctl import free_port, temporary_emulator
from workspace.clients import local_api_url
from workspace.commands import log_events
from workspace.deployment import read_outputs

REPO = Path(__file__).resolve().parents[2]
OUTPUT_VALUES = {
    "ApiUrl": "https://nope.execute-api.us-east-1.amazonaws.com/",
    "ApiId": "nope",
    "QueueUrl": "http://localhost/000000000000/q",
    "DlqUrl": "http://localhost/000000000000/dlq",
    "TableName": "t",
    "AlarmTopicArn": "arn:aws:sns:us-east-1:000000000000:a",
    "DashboardName": "d",
    "CreateOrderLogGroup": "/c",
    "ProcessOrderLogGroup": "/p",
    "GetOrderLogGroup": "/g",
    "ApiAccessLogGroup": "/a",
}


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("EMULATOR_PORT", "LOCAL_ENDPOINT")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_outputs(folder: Path) -> None:
    (folder / ".local").mkdir(exist_ok=True)
    (folder / ".local" / "outputs.json").write_text(json.dumps({"OrdersStack": OUTPUT_VALUES}))


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "workspace", "smoke"],
        ["-m", "workspace", "deploy"],
        ["-m", "workspace", "logs", "--no-follow"],
        ["-m", "workspace.redrive"],
        ["-m", "workspace", "console"],
        ["-m", "workspace", "fire", "--rule", "NightlyReport"],
    ],
)
def test_nothing_listening_is_one_line_naming_the_fix(tmp_path: Path, command: list[str]) -> None:
    write_outputs(tmp_path)
    port = str(free_port())
    result = run(tmp_path, *command, EMULATOR_PORT=port)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"nothing answers on http://localhost:{port}" in line and "`make local-up`" in line


@pytest.mark.integration  # starts an emulator
def test_a_deployment_lost_in_a_restart_is_named(tmp_path: Path) -> None:
    write_outputs(tmp_path)  # outputs of a deploy the running emulator has never seen
    with temporary_emulator(tmp_path / "emulator") as emulator:
        for command in (["-m", "workspace", "smoke"], ["-m", "workspace.redrive"]):
            result = run(tmp_path, *command, LOCAL_ENDPOINT=emulator.endpoint)
            assert result.returncode == 1
            [line] = result.stderr.strip().splitlines()
            assert "is not deployed on" in line and "`make deploy-local`" in line
        # and the HTTP API says which API it does not know
        import requests

        answer = requests.post(f"{emulator.endpoint}/_aws/execute-api/nope/orders", timeout=10)
        assert answer.status_code == 404
        assert "no HTTP API 'nope'" in answer.json()["message"]


@pytest.mark.integration  # starts an emulator
def test_local_up_remembers_its_port_until_local_down(tmp_path: Path) -> None:
    port, other = free_port(), free_port()
    started = run(tmp_path, "-m", "emulator.ctl", "start", EMULATOR_PORT=str(port))
    try:
        assert started.returncode == 0, started.stderr
        endpoint = f"http://localhost:{port}"
        assert (tmp_path / ".local" / "endpoint").read_text().strip() == endpoint
        # the commands that follow find it without EMULATOR_PORT ...
        env = run(tmp_path, "-m", "workspace", "env")
        assert f"export AWS_ENDPOINT_URL={endpoint}" in env.stdout.splitlines()
        # ... an explicit one still wins ...
        env = run(tmp_path, "-m", "workspace", "env", EMULATOR_PORT=str(other))
        assert f"export AWS_ENDPOINT_URL=http://localhost:{other}" in env.stdout.splitlines()
        # ... and `make local-up` again is fine, but not onto another port while running
        again = run(tmp_path, "-m", "emulator.ctl", "start")
        assert again.returncode == 0 and f"already running on {endpoint}" in again.stdout
        moved = run(tmp_path, "-m", "emulator.ctl", "start", EMULATOR_PORT=str(other))
        assert moved.returncode == 1 and "`make local-down` first" in moved.stderr
    finally:
        stopped = run(tmp_path, "-m", "emulator.ctl", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not (tmp_path / ".local" / "endpoint").exists()
    assert not (tmp_path / ".local" / "emulator" / "functions").exists()  # its own work dir, cleaned


@pytest.mark.integration  # starts an emulator
def test_env_exports_work_for_the_aws_cli_and_awslocal(tmp_path: Path) -> None:
    write_outputs(tmp_path)
    with temporary_emulator(tmp_path / "emulator") as emulator:
        boto3.client(
            "sqs",
            endpoint_url=emulator.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_queue(QueueName="from-the-sdk")
        script = f'eval "$({sys.executable} -m workspace env)" && awslocal sqs list-queues && aws sqs get-queue-url --queue-name from-the-sdk --endpoint-url "$AWS_ENDPOINT_URL" && aws dynamodb list-tables && echo "$PROCESS_LOG_GROUP"'
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env={
                "PATH": "/usr/bin:/bin",  # awslocal and aws come from the exported PATH alone
                "HOME": str(tmp_path),  # no ~/.aws of the user's
                "PYTHONPATH": str(REPO),
                "LOCAL_ENDPOINT": emulator.endpoint,
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("/from-the-sdk") == 2  # awslocal and aws both found it
    assert '"TableNames": []' in result.stdout  # plain aws reaches the emulator through AWS_ENDPOINT_URL
    assert "deprecated" not in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "/p"


def test_make_help_shows_no_unexpanded_variables() -> None:
    result = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True)
    assert not re.search(r"\$\(?[A-Z_]+\)|\$\$", result.stdout)  # a Make variable printed as text


@pytest.fixture
def logs() -> Iterator[Any]:
    with moto.mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName="/g")
        for stream in ("a", "b"):
            client.create_log_stream(logGroupName="/g", logStreamName=stream)
        yield client


NOW = int(time.time() * 1000) - 60_000  # CloudWatch Logs drops events older than 14 days


def put(logs: Any, stream: str, *events: tuple[int, str]) -> None:
    logs.put_log_events(
        logGroupName="/g",
        logStreamName=stream,
        logEvents=[{"timestamp": NOW + t, "message": m} for t, m in events],
    )


def test_logs_prints_the_last_lines_in_time_order_then_follows_new_ones(logs: Any) -> None:
    put(logs, "a", (1_000, "a1"), (3_000, "a3"), (5_000, "a5"))
    put(logs, "b", (2_000, "b2"), (4_000, "b4"))
    arrivals = [[("a", (6_000, "a6")), ("b", (6_500, "b6"))], [("b", (7_000, "b7"))]]

    def sleep(_: float) -> None:  # each poll: the next events arrive; a bounded test
        if not arrivals:
            raise TimeoutError("followed past the last arrival")
        for stream, event in arrivals.pop(0):
            put(logs, stream, event)

    events = log_events(logs, "/g", lines=3, follow=True, sleep=sleep)
    assert [next(events)["message"] for _ in range(6)] == ["a3", "b4", "a5", "a6", "b6", "b7"]
    assert [e["message"] for e in log_events(logs, "/g", lines=2, follow=False)] == ["b6", "b7"]


@pytest.mark.integration  # starts an emulator
def test_local_reset_wipes_the_state_and_the_outputs_it_described(tmp_path: Path) -> None:
    write_outputs(tmp_path)
    with temporary_emulator(tmp_path / "emulator") as emulator:
        sqs = boto3.client(
            "sqs",
            endpoint_url=emulator.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        sqs.create_queue(QueueName="before")
        result = run(tmp_path, "-m", "workspace", "reset", LOCAL_ENDPOINT=emulator.endpoint)
        assert result.returncode == 0, result.stderr
        assert "reset" in result.stdout and "`make deploy-local`" in result.stdout
        assert sqs.list_queues().get("QueueUrls", []) == []
    assert not (tmp_path / ".local" / "outputs.json").exists()


@pytest.mark.integration  # deploys with cdklocal
def test_a_restarted_emulator_brings_back_the_stack_and_its_orders_without_a_deploy(tmp_path: Path) -> None:
    state, port = tmp_path / ".local" / "state", free_port()
    # in <scratch>/.local, so the deploy finds the alarm address's confirmation in its mailbox
    with temporary_emulator(tmp_path / ".local", state_dir=state, port=port) as emulator:
        deployed = run(tmp_path, "-m", "workspace", "deploy", LOCAL_ENDPOINT=emulator.endpoint)
        assert deployed.returncode == 0, deployed.stderr
        first = run(tmp_path, "-m", "workspace", "smoke", LOCAL_ENDPOINT=emulator.endpoint)
        assert first.returncode == 0, first.stderr
        order_id = re.search(r"order (\S+) accepted", first.stdout).group(1)  # type: ignore[union-attr]

    with temporary_emulator(tmp_path / ".local", state_dir=state, port=port) as emulator:
        again = run(tmp_path, "-m", "workspace", "deploy", LOCAL_ENDPOINT=emulator.endpoint)
        assert again.returncode == 0, again.stderr
        assert "was deployed from these very sources; skipped" in again.stdout
        api = local_api_url(emulator.endpoint, read_outputs(tmp_path / ".local" / "outputs.json").api_id)
        assert requests.get(f"{api}/orders/{order_id}", timeout=10).json()["amount"] == 99.99
        # and the pipeline runs: API, CreateOrder, the queue's mapping, ProcessOrder, the table
        second = run(tmp_path, "-m", "workspace", "smoke", LOCAL_ENDPOINT=emulator.endpoint)
        assert second.returncode == 0, second.stderr


def test_local_reset_with_nothing_running_removes_the_saved_state(tmp_path: Path) -> None:
    write_outputs(tmp_path)
    saved = tmp_path / ".local" / "state" / "emulator.state"
    saved.parent.mkdir()
    saved.write_bytes(b"a stack and its orders")
    result = run(tmp_path, "-m", "workspace", "reset", EMULATOR_PORT=str(free_port()))
    assert result.returncode == 0, result.stderr
    assert "removed the saved state" in result.stdout and "`make up` starts from nothing" in result.stdout
    assert not saved.exists() and not (tmp_path / ".local" / "outputs.json").exists()


@pytest.mark.integration  # starts an emulator
def test_a_stale_pid_file_is_never_trusted_nor_signalled(tmp_path: Path) -> None:
    """After a crash the recorded pid may belong to another process by now."""
    unrelated = subprocess.Popen(["sleep", "600"])  # a stand-in for any process
    try:
        (tmp_path / ".local").mkdir()
        for content in (
            str(unrelated.pid),
            json.dumps({"pid": unrelated.pid, "started": 1.0, "cmdline": []}),
        ):
            (tmp_path / ".local" / "emulator.pid").write_text(content)
            stopped = run(tmp_path, "-m", "emulator.ctl", "stop")
            assert stopped.returncode == 0 and "nothing was signalled" in stopped.stdout
            assert unrelated.poll() is None, "the unrelated process was killed"
        (tmp_path / ".local" / "emulator.pid").write_text(str(unrelated.pid))
        port = str(free_port())
        started = run(tmp_path, "-m", "emulator.ctl", "start", EMULATOR_PORT=port)
        try:
            assert started.returncode == 0 and "ready on" in started.stdout, started.stdout + started.stderr
        finally:
            run(tmp_path, "-m", "emulator.ctl", "stop")
        assert unrelated.poll() is None
    finally:
        unrelated.kill()
        unrelated.wait()


@pytest.mark.integration  # starts an emulator
def test_local_up_with_ministack_then_local_down(tmp_path: Path) -> None:
    port = str(free_port())
    started = run(tmp_path, "-m", "workspace.ministack", "start", EMULATOR_PORT=port)
    try:
        assert started.returncode == 0 and f"ministack: ready on http://localhost:{port}" in started.stdout, (
            started.stdout + started.stderr
        )
        assert (tmp_path / ".local" / "endpoint").read_text().strip() == f"http://localhost:{port}"
        sqs = boto3.client(
            "sqs",
            endpoint_url=f"http://localhost:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        assert "QueueUrl" in sqs.create_queue(QueueName="on-ministack")
    finally:
        stopped = run(tmp_path, "-m", "emulator.ctl", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not (tmp_path / ".local" / "endpoint").exists()
    with pytest.raises(EndpointConnectionError):
        sqs.list_queues()


def test_cdklocal_keeps_the_region_it_is_given() -> None:
    """cdklocal 3.x removes AWS_* variables unless AWS_ENVAR_ALLOWLIST names them (its README), so
    without the list every deploy would silently go to us-east-1."""
    from workspace.deploy import _cdklocal_env

    env = _cdklocal_env("http://localhost:4566", "eu-central-1")
    assert {"AWS_REGION", "AWS_DEFAULT_REGION"} <= set(env["AWS_ENVAR_ALLOWLIST"].split(","))
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"


@pytest.mark.integration
def test_deploy_local_subscribes_the_alarm_address_and_confirms_it_through_the_mailed_link(
    tmp_path: Path,
) -> None:
    with temporary_emulator(tmp_path / ".local") as emulator:  # its mailbox: <scratch>/.local/mailbox
        deploy = ["-m", "workspace", "deploy"]
        first = run(tmp_path, *deploy, LOCAL_ENDPOINT=emulator.endpoint, ALARM_EMAIL="me@example.com")
        assert first.returncode == 0, first.stderr
        assert "alarm email: me@example.com confirmed through the link in" in first.stdout
        listing = run(tmp_path, "-m", "workspace", "mail").stdout
        # the alarms' first OK emails may already be newer: find the confirmation by its line
        found = re.search(
            r"^\s*(\d+)\s+\S+ \S+\s+me@example.com\s+AWS Notification - Subscription Confirmation",
            listing,
            re.M,
        )
        assert found, listing
        assert (
            "ConfirmSubscription" in run(tmp_path, "-m", "workspace", "mail", "--show", found.group(1)).stdout
        )
        again = run(tmp_path, *deploy, LOCAL_ENDPOINT=emulator.endpoint, ALARM_EMAIL="me@example.com")
        assert "alarm email: me@example.com is subscribed and confirmed" in again.stdout, again.stderr
        alarms = run(tmp_path, "-m", "workspace", "alarms", LOCAL_ENDPOINT=emulator.endpoint)
        assert "DlqNotEmpty" in alarms.stdout, alarms.stderr
        assert run(tmp_path, "-m", "workspace", "smoke", LOCAL_ENDPOINT=emulator.endpoint).returncode == 0
        report = run(tmp_path, "-m", "workspace", "iam-report", LOCAL_ENDPOINT=emulator.endpoint).stdout
        sections = dict(re.findall(r"^(\w+) \(.*\)\n((?:  .*\n?)*)", report, re.M))
        assert re.search(r"used\s+sqs:SendMessage\s+1x", sections["create_order"]), report
        assert "unused   dynamodb:PutItem" in sections["create_order"]  # idempotency: only with the header
        assert re.search(r"used\s+dynamodb:PutItem\s+1x", sections["process_order"]), report
        assert re.search(r"used\s+sqs:ReceiveMessage", sections["process_order"]), (
            "the mapping polls as the role"
        )
        assert re.search(r"used\s+dynamodb:GetItem\s+\d+x", sections["get_order"]), report
    assert "no message 999" in run(tmp_path, "-m", "workspace", "mail", "--show", "999").stderr


def test_the_deploy_fingerprint_follows_what_synth_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workspace import deployment

    for name in (
        "cdk/app.py",
        "cdk/orders_infra/stack.py",
        "functions/get_order.py",
        "functions/requirements.txt",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1")
    monkeypatch.setattr(deployment, "REPO", tmp_path)
    bundled, reloaded = {"alarmEmail": "a@example.com"}, {"alarmEmail": "a@example.com", "hotReload": "true"}
    before = deployment.deploy_fingerprint(bundled), deployment.deploy_fingerprint(reloaded)
    assert before[0]["infra"] != before[1]["infra"], "the context is part of it"
    assert deployment.deploy_fingerprint({"alarmEmail": "b@example.com"})["infra"] != before[0]["infra"]
    assert before[1]["code"] == "", "hot-reloaded code is not in the template"
    (tmp_path / "functions" / "__pycache__").mkdir()
    (tmp_path / "functions" / "__pycache__" / "x.pyc").write_text("compiled")
    assert (deployment.deploy_fingerprint(bundled), deployment.deploy_fingerprint(reloaded)) == before
    (tmp_path / "functions" / "get_order.py").write_text("v2")  # in the package; hot reload runs the folder
    edited = deployment.deploy_fingerprint(bundled)
    assert edited["infra"] == before[0]["infra"] and edited["code"] != before[0]["code"], "a code-only change"
    assert deployment.deploy_fingerprint(reloaded) == before[1]
    (tmp_path / "functions" / "requirements.txt").write_text("v2")  # the package's; hot reload's layer
    assert deployment.deploy_fingerprint(bundled)["infra"] == before[0]["infra"]
    assert deployment.deploy_fingerprint(bundled)["code"] not in (before[0]["code"], edited["code"])
    assert deployment.deploy_fingerprint(reloaded)["infra"] != before[1]["infra"]
    changed_requirements = deployment.deploy_fingerprint(reloaded)
    (tmp_path / "cdk" / "orders_infra" / "stack.py").write_text("v2")
    assert deployment.deploy_fingerprint(reloaded)["infra"] != changed_requirements["infra"]
    assert deployment.deploy_fingerprint(bundled)["infra"] != before[0]["infra"]


def test_deploy_context_takes_hot_reload_the_alarm_address_and_any_context_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workspace.commands import deploy_context

    monkeypatch.setenv("HOT_RELOAD", "1")
    monkeypatch.setenv("ALARM_EMAIL", "me@example.com")
    monkeypatch.setenv("CONTEXT", "extensionStep=2  memorySize=512")
    assert deploy_context() == {
        "alarmEmail": "me@example.com", "hotReload": "true", "extensionStep": "2", "memorySize": "512",
    }  # fmt: skip
    monkeypatch.setenv("CONTEXT", "extensionStep")
    with pytest.raises(RuntimeError, match="CONTEXT takes key=value pairs, got 'extensionStep'"):
        deploy_context()
