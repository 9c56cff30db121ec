"""The emulator process under abuse: malformed data-plane requests get 4xx and never take it
down; stopping it with work in flight exits within 5 s."""

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from emulator.ctl import (
    NEEDED_SERVICES,
    Started,
    free_port,
    health,
    spawn,
    stop_child,
    temporary_emulator,
    wait_healthy,
)
from emulator.ctl import ready as ctl_ready
from emulator.settings import endpoint_on
from tests.emulator.helpers import code_zip, workers_running_in
from workspace.clients import local_client

pytestmark = pytest.mark.integration

CODE = (
    "import os, time\n"
    "def echo(event, context):\n    return {'statusCode': 200, 'body': str(len(event.get('body') or ''))}\n"
    "def sleep(event, context):\n    time.sleep(60)\n"
    "def endpoint(event, context):\n    return os.environ['AWS_ENDPOINT_URL']\n"
    "def chatty(event, context):\n    for i in range(300):\n        print('line', i, 'x' * 50)\n"
)


def test_ready_comes_before_cloudformation_has_loaded(tmp_path: Path) -> None:
    """The first answer that says ready already serves SQS, Lambda, ...; CloudFormation (~0.7 s of
    imports) is still loading then, as LocalStack reports a lazily loaded service."""
    port = free_port()
    process = spawn(port, log_path=tmp_path / "emulator.log", extra_args=["--work-dir", str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        first_ready = None
        while first_ready is None and time.monotonic() < deadline and process.poll() is None:
            status = health(endpoint_on(port), timeout=0.5)
            first_ready = status if status and status.get("ready") else None
            time.sleep(0.02)
        assert first_ready is not None, "never ready"
        assert first_ready["services"]["cloudformation"] == "available"  # type: ignore[index]
        assert first_ready["services"]["sqs"] == "running"  # type: ignore[index]
    finally:
        stop_child(process)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Started]:
    with temporary_emulator(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def stateless_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """For tests that change nothing in it (conftest.py keeps their cases on one worker)."""
    with temporary_emulator(tmp_path_factory.mktemp("stateless")) as started:
        yield started


def make_function(endpoint: str, name: str, handler: str) -> str:
    role = local_client("iam", endpoint).create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    fn = local_client("lambda", endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=handler,
        Code={"ZipFile": code_zip({"app.py": CODE})},
        Timeout=60,
    )
    return str(fn["FunctionArn"])


def make_api(endpoint: str, route_key: str, function_arn: str) -> str:
    """An HTTP API with one route to a function; its base URL."""
    v2 = local_client("apigatewayv2", endpoint)
    api = v2.create_api(Name=route_key, ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=function_arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    v2.create_route(ApiId=api, RouteKey=route_key, Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api, StageName="$default")
    local_client(
        "lambda", endpoint
    ).add_permission(  # API Gateway may invoke only what the resource policy allows
        FunctionName=function_arn,
        StatementId=f"api-{api}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:000000000000:{api}/*",
    )
    return f"{endpoint}/_aws/execute-api/{api}"


def test_malformed_requests_get_4xx_and_the_emulator_stays_up(emulator: Started) -> None:
    endpoint, process = emulator.endpoint, emulator.process
    base = make_api(endpoint, "POST /echo", make_function(endpoint, "echo", "app.echo"))

    assert (
        requests.post(
            f"{base}/echo",
            data=b"\x00\xff" * 100,
            headers={"content-type": "application/octet-stream"},
            timeout=30,
        ).text
        == "268"
    )
    assert requests.post(f"{base}/echo", data=b"x" * (10 * 1024 * 1024 + 1), timeout=60).status_code == 413
    for method, url in [
        ("GET", f"{endpoint}/_aws/execute-api/nosuchapi/echo"),
        ("GET", f"{endpoint}/_aws/execute-api/"),
        ("GET", f"{base}/%00%ff/../../etc/passwd"),
        ("POST", f"{base}/echo/extra"),
        ("PATCH", f"{base}/echo"),
    ]:
        assert requests.request(method, url, timeout=30).status_code == 404, url
    requests.post(
        f"{endpoint}/", data=b"\xde\xad\xbe\xef", headers={"X-Amz-Target": "Nope.Nothing"}, timeout=30
    )  # moto's to answer
    assert process.poll() is None
    assert health(endpoint)


def test_stopping_with_work_in_flight_exits_within_five_seconds(emulator: Started, tmp_path: Path) -> None:
    endpoint, process = emulator.endpoint, emulator.process
    client = local_client("lambda", endpoint)
    make_function(endpoint, "sleepy", "app.sleep")
    for _ in range(3):
        client.invoke(FunctionName="sleepy", InvocationType="Event", Payload=json.dumps({}))
    deadline = time.monotonic() + 10
    while len(workers_running_in(tmp_path / "functions")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    if Path("/proc/self/cwd").exists():
        assert len(workers_running_in(tmp_path / "functions")) >= 3, "three invocations in flight"
    time.sleep(0.5)  # each inside its 60 s sleep
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    answers = []
    while process.poll() is None and time.monotonic() - started < 10:
        try:  # from the signal on, new requests are refused, not answered with a 500
            answers.append(requests.get(f"{endpoint}/_localstack/health", timeout=2).status_code)
        except requests.ConnectionError:
            break
        time.sleep(0.05)
    refused_after = time.monotonic() - started
    process.wait(timeout=10)
    assert time.monotonic() - started < 5
    assert refused_after < 1.0 and 500 not in answers, (refused_after, answers)
    assert "Traceback" not in (tmp_path / "emulator.log").read_text()
    if Path("/proc/self/cwd").exists():
        assert workers_running_in(tmp_path / "functions") == [], "no worker outlives the emulator"


def test_cloudformation_loads_lazily_and_serves_a_stack_right_after_ready(emulator: Started) -> None:
    """Ready comes before moto's CloudFormation has loaded; a stack created at once still gets the
    emulator's own resource types (an HTTP API here), not moto's skip-with-a-warning."""
    cloudformation = local_client("cloudformation", emulator.endpoint)
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "lazy", "ProtocolType": "HTTP"}}
        }
    }
    cloudformation.create_stack(StackName="lazy", TemplateBody=json.dumps(template))
    api_id = cloudformation.describe_stack_resource(StackName="lazy", LogicalResourceId="Api")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    assert local_client("apigatewayv2", emulator.endpoint).get_api(ApiId=api_id)["Name"] == "lazy"
    assert health(emulator.endpoint)["services"]["cloudformation"] == "running"  # type: ignore[index]


def test_functions_call_back_on_their_own_listener_and_a_busy_function_is_a_429(emulator: Started) -> None:
    """Under overload, API requests wait for workers while those workers' own SDK calls must still
    get through: outside an invocation they arrive on a listener of their own (during one, over
    the worker's pipes). A function whose workers all stay busy answers 429, as API Gateway does
    for a throttled function."""
    endpoint = emulator.endpoint
    fn = local_client("lambda", endpoint)
    make_function(endpoint, "envy", "app.endpoint")
    called_back_on = json.loads(fn.invoke(FunctionName="envy")["Payload"].read())
    assert called_back_on.startswith("http://127.0.0.1:") and not called_back_on.endswith(
        f":{endpoint.rsplit(':', 1)[-1]}"
    )

    base = make_api(endpoint, "POST /slow", make_function(endpoint, "slow", "app.sleep"))
    fn.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    fn.invoke(FunctionName="slow", InvocationType="Event", Payload=b"{}")  # holds the one worker 60 s
    time.sleep(1)
    answer = requests.post(f"{base}/slow", timeout=30)
    assert (answer.status_code, answer.json()) == (429, {"message": "Too Many Requests"})


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("DynamoDB_20120810.GetItem", b"{nope", "SerializationException"),
        ("DynamoDB_20120810.GetItem", b"[1]", "SerializationException"),
        ("DynamoDB_20120810.GetItem", b'{"TableName": 5, "Key": []}', "SerializationException"),
        ("DynamoDB_20120810.GetItem", b"", "ValidationException"),
        ("DynamoDB_20120810.Nope", b"{}", "UnknownOperationException"),
        ("AmazonSQS.SendMessage", b"{nope", "SerializationException"),
        ("AmazonSQS.Nope", b"{}", "UnknownOperationException"),
    ],
)
def test_malformed_json_api_calls_get_aws_client_errors(
    stateless_emulator: Started, target: str, body: bytes, code: str
) -> None:
    service = "dynamodb" if target.startswith("DynamoDB") else "sqs"
    answer = requests.post(
        f"{stateless_emulator.endpoint}/",
        data=body,
        headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=x",
        },
        timeout=10,
    )
    assert answer.status_code == 400, answer.text  # a 4xx SDKs do not retry, not moto's 500
    assert answer.json()["__type"].endswith(f"#{code}"), answer.text


def test_invoke_checks_what_lambda_checks(emulator: Started) -> None:
    make_function(emulator.endpoint, "echo", "app.echo")
    url = f"{emulator.endpoint}/2015-03-31/functions/echo/invocations"

    def invoke(payload: bytes, invocation_type: str = "RequestResponse") -> tuple[int, str]:
        answer = requests.post(
            url, data=payload, headers={"X-Amz-Invocation-Type": invocation_type}, timeout=30
        )
        return answer.status_code, answer.headers.get("x-amzn-ErrorType", "")

    assert invoke(b"{}") == (200, "")
    assert invoke(b"{}", "Sometimes") == (400, "InvalidParameterValueException")
    assert invoke(b"\xff\xfe") == (400, "InvalidRequestContentException")
    assert invoke(b"not json", "Event") == (400, "InvalidRequestContentException")  # refused, not dropped
    assert invoke(b'"' + b"x" * (1024 * 1024) + b'"', "Event") == (413, "RequestEntityTooLargeException")
    assert invoke(b'"' + b"x" * (1024 * 1024) + b'"')[0] == 200  # within the 6 MB synchronous limit
    assert invoke(b'"' + b"x" * (6 * 1024 * 1024) + b'"') == (413, "RequestEntityTooLargeException")


def test_the_emulator_log_is_rotated(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "emulator.log"
    process = spawn(port, log_path=log, extra_args=["--work-dir", str(tmp_path), "--log-max-bytes", "4000"])
    try:
        endpoint = endpoint_on(port)
        wait_healthy(endpoint, 30, process)
        make_function(endpoint, "chatty", "app.chatty")
        answer = local_client("lambda", endpoint).invoke(FunctionName="chatty")  # ~20 KB of output
        assert "FunctionError" not in answer, answer["Payload"].read()
        deadline = time.monotonic() + 30  # the output reaches the log in the background
        while not log.with_name("emulator.log.1").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_child(process)
    logs = sorted(p.name for p in log.parent.glob("emulator.log*"))
    assert log.with_name("emulator.log.1").exists(), f"{logs}; {log.read_text()[-2000:]}"
    assert log.stat().st_size < 4000 + 20_000  # the current file starts afresh at the limit
    assert not log.with_name("emulator.log.4").exists()  # three old files at most


@pytest.mark.parametrize(
    ("payload", "ready"),
    [
        # LocalStack (/_localstack/health): services and their states, no "ready" key
        (
            {
                "services": {s: "running" for s in NEEDED_SERVICES} | {"sns": "available"},
                "edition": "community",
                "version": "4.10.0",
            },
            True,
        ),
        # Floci adds original_edition; services it loads on first use are "available"
        (
            {
                "services": {s: "available" for s in NEEDED_SERVICES},
                "edition": "community",
                "original_edition": "floci",
                "version": "1.7.2",
            },
            True,
        ),
        (
            {"services": {"sqs": "running", "lambda": "running"}, "version": "4.10.0"},
            False,
        ),  # no CloudFormation
        ({"services": {"cloudformation": "error", "lambda": "running"}}, False),
        ({"ready": False, "services": {"sqs": "starting"}}, False),  # the embedded emulator, starting
        (None, False),
    ],
)
def test_readiness_reads_every_target_s_health_answer(payload: dict[str, object] | None, ready: bool) -> None:
    assert ctl_ready(payload) is ready


def test_an_unsigned_request_for_nothing_gets_a_hint_not_s3_s_no_such_bucket(emulator: Started) -> None:
    endpoint = emulator.endpoint
    answer = requests.get(f"{endpoint}/orders", timeout=10)  # a mistyped API URL
    assert answer.status_code == 404 and answer.headers["Content-Type"] == "application/json"
    assert "/_aws/execute-api/" in answer.json()["message"] and "make url" in answer.json()["message"]
    # S3 itself is untouched: signed, presigned and anonymous reads of a bucket that exists
    s3 = local_client("s3", endpoint)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>hi</h1>", ACL="public-read")
    s3.put_object(Bucket="site", Key="private", Body=b"secret")
    assert requests.get(f"{endpoint}/site/index.html", timeout=10).content == b"<h1>hi</h1>"
    assert requests.get(f"{endpoint}/site/private", timeout=10).status_code == 403  # S3's answer
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": "site", "Key": "index.html"})
    assert requests.get(presigned, timeout=10).content == b"<h1>hi</h1>"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["site"]
