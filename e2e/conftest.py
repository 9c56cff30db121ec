"""The e2e suite's target: E2E_TARGET=embedded (default) | ministack | localstack | floci | aws.

embedded    a session emulator on a free port (or EMULATOR_URL, an emulator already running)
ministack   ministack (PyPI) from its own venv on a free port, no Docker
localstack  docker-compose.yml's localstack service through testcontainers (LOCALSTACK_AUTH_TOKEN),
            or LOCAL_ENDPOINT, one already running
floci       docker-compose.yml's floci service through testcontainers, or LOCAL_ENDPOINT
aws         the outputs of a stack already deployed with `make deploy` (opt-in: E2E_AWS=1)

Container targets skip, with the reason, when no Docker engine answers.
"""

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.ctl import free_port, temporary_emulator, wait_healthy
from emulator.settings import MAILBOX
from workspace.clients import docker_available
from workspace.deploy import local_deployment
from workspace.deployment import Deployment, aws_deployment
from workspace.ministack import temporary_ministack

TARGET = os.environ.get("E2E_TARGET", "embedded")
TARGETS = ("embedded", "ministack", "localstack", "floci", "aws")
COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def pytest_report_header(config: pytest.Config) -> str:
    return f"e2e target: {TARGET}"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.write_line(f"e2e target: {TARGET}")


# What a target lacks, for the tests that need it (`@pytest.mark.needs("...")`): such a test skips
# there with the reason, and runs everywhere else; no test is weakened for every target.
LACKS = {
    "ministack": {
        "access_logs": "ministack stores a stage's access log settings but writes no access log lines",
        "invoke_log_tail": "ministack sends X-Amz-Log-Result only when the function printed something",
        "localstack_host_form": "ministack knows the host form only under MINISTACK_HOST "
        "({api}.execute-api.localhost), not LocalStack's localhost.localstack.cloud",
        "aws_metrics": "ministack records AWS/Lambda metrics but no AWS/SQS ones",
        "emf_metrics": "ministack does not extract embedded-metric-format lines from function logs",
        "alarms": "ministack evaluates alarms when PutMetricData is called, not on the metrics it records "
        "itself: the stack's alarms never changed state",
        "mailbox": "ministack's SNS logs email deliveries as a stub: there is no mailbox",
        "iam_enforcement": "ministack enforces no IAM by default (ProcessOrder wrote although its role had lost "
        "the PutItem grant), and with AUTH=true (1.5.33) `cdk deploy` cannot publish its assets: the CDK's "
        "file-publishing role, assumed through STS, is refused its own bootstrap bucket",
        "update_equals_create": "ministack describes a GSI added by an update with throughput and status fields "
        "one created with its table lacks (tests/cloudformation's MINISTACK_DIFFERS lists what else it does)",
        "hot_reload": "ministack has no hot-reload bucket: an update to it fails with 'Failed to fetch code "
        "from s3://hot-reload/<folder>' (and rolls back)",
        "console": "ministack stores a dashboard's body but renders nothing (the local console is the embedded "
        "emulator's)",
        "fire_rule": "ministack has no way to fire a scheduled rule on demand (`make fire`): its schedules "
        "fire on time only",
        "xray": "ministack serves no X-Ray API: no trace is recorded or can be read",
        "exact_receive_count": "ministack's ChangeMessageVisibility takes no queue lock (1.5.33): a message "
        "released while its event source polls can skip the DLQ check and be received maxReceiveCount + 1 times",
    },
    "aws": {
        "console": "on AWS the CloudWatch console renders the dashboard",
        "mailbox": "on AWS alarm email goes to real inboxes, which the suite does not read",
        "iam_enforcement": "the suite does not take grants away from a real stack",
    },
}


def lacks_table() -> str:
    """LACKS as the Markdown table README shows (tests/test_compose.py keeps the two the same)."""
    rows = [
        f"| `{target}` | {name} | {reason} |"
        for target, lacking in LACKS.items()
        for name, reason in lacking.items()
    ]
    return "\n".join(["| target | skipped capability | why |", "|---|---|---|", *rows])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(capability): skip on a target that lacks it (see LACKS)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    lacking = LACKS.get(TARGET, {})
    for item in items:
        if "e2e" in str(item.path.parent.name):
            item.add_marker(pytest.mark.e2e)
        for marker in item.iter_markers("needs"):
            if marker.args[0] in lacking:
                item.add_marker(pytest.mark.skip(reason=f"E2E_TARGET={TARGET}: {lacking[marker.args[0]]}"))


def _embedded(work: Path) -> Iterator[Deployment]:
    running = os.environ.get("EMULATOR_URL")
    if running:  # one `make local-up` started, with its mailbox where it keeps it
        yield local_deployment("embedded", running.rstrip("/"), work, mailbox=MAILBOX)
        return
    if os.environ.get("E2E_RESTORED") == "1":  # against an emulator restarted from its saved state
        state, port = work / "state", free_port()
        with temporary_emulator(work, state_dir=state, port=port) as emulator:
            first = local_deployment("embedded", emulator.endpoint, work, mailbox=emulator.mailbox)
        with temporary_emulator(work, state_dir=state, port=port) as emulator:
            restored = local_deployment("embedded", emulator.endpoint, work, mailbox=emulator.mailbox)
            # the same API, queues and table: restored (a new deploy would name new ones), so skipped
            assert restored.outputs == first.outputs, (first.outputs, restored.outputs)
            yield restored
        return
    with temporary_emulator(work) as emulator:
        yield local_deployment("embedded", emulator.endpoint, work, mailbox=emulator.mailbox)


def _container(target: str, work: Path) -> Iterator[Deployment]:
    running = os.environ.get("LOCAL_ENDPOINT")
    if running:
        yield local_deployment(target, running.rstrip("/"), work)
        return
    if not docker_available():
        pytest.skip(
            f"E2E_TARGET={target}: no Docker engine answers (docker info failed); start Docker or set LOCAL_ENDPOINT"
        )
    if target == "localstack" and not os.environ.get("LOCALSTACK_AUTH_TOKEN"):
        pytest.skip(
            "E2E_TARGET=localstack: LOCALSTACK_AUTH_TOKEN is not set (HTTP APIs need a paid LocalStack plan)"
        )
    from testcontainers.compose import DockerCompose

    # docker-compose.yml's own service (the one place images are named) on a free port, in a
    # project of its own so a target the user started with `make local-up` is left alone
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EMULATOR_PORT", str(port))
        env.setenv("COMPOSE_PROJECT_NAME", f"orders-pipeline-e2e-{os.getpid()}")
        with DockerCompose(COMPOSE.parent, compose_file_name=COMPOSE.name, profiles=[target], wait=True):
            endpoint = f"http://127.0.0.1:{port}"
            wait_healthy(endpoint, timeout=120)
            yield local_deployment(target, endpoint, work)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if TARGET not in TARGETS:
        raise pytest.UsageError(f"E2E_TARGET must be one of {', '.join(TARGETS)}, got {TARGET!r}")
    work = tmp_path_factory.mktemp(f"e2e-{TARGET}")
    if TARGET == "embedded":
        yield from _embedded(work)
    elif TARGET == "ministack":
        with temporary_ministack(work) as endpoint:
            yield local_deployment("ministack", endpoint, work)
    elif TARGET == "aws":
        if os.environ.get("E2E_AWS") != "1":
            pytest.skip(
                "E2E_TARGET=aws is opt-in: set E2E_AWS=1 after `make deploy` (the suite creates orders in that stack)"
            )
        yield aws_deployment()
    else:
        yield from _container(TARGET, work)


class RecordingSession(requests.Session):
    """Remembers the last exchange so a failing test can show it."""

    last: requests.Response | None = None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        response = super().request(*args, **kwargs)
        self.last = response
        return response


@pytest.fixture
def http(request: pytest.FixtureRequest) -> Iterator[RecordingSession]:
    session = RecordingSession()
    request.node.http_session = session
    yield session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        _explain_failure(item, report)
    return report


def _explain_failure(item: pytest.Item, report: pytest.TestReport) -> None:
    """Show the last HTTP exchange and the tail of each function's logs under a failed test."""
    session: RecordingSession | None = getattr(item, "http_session", None)
    if session is not None and session.last is not None:
        response = session.last
        sent = response.request
        body = sent.body.decode(errors="replace") if isinstance(sent.body, bytes) else sent.body
        report.sections.append(("last request", f"{sent.method} {sent.url}\n{dict(sent.headers)}\n{body}"))
        report.sections.append(
            ("last response", f"{response.status_code}\n{dict(response.headers)}\n{response.text[:4000]}")
        )
    deployment: Deployment | None = getattr(item, "funcargs", {}).get("deployment")
    if deployment is not None:
        for module in ("create_order", "process_order", "get_order"):
            try:
                lines = deployment.log_lines(deployment.function_name(module), limit=200)[-20:]
            except Exception as error:  # logs are a help, never a second failure
                lines = [f"(could not read logs: {error})"]
            report.sections.append((f"{module} logs (last 20 lines)", "\n".join(lines)))
