"""Asynchronous invocations (InvocationType Event) end as on AWS: retried, then delivered to the
configured destination with AWS's invocation record, or dropped with a log line that says so."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.ctl import Started, temporary_emulator
from emulator.lambda_.asynchronous import EventInvokeConfig, invocation_record
from emulator.lambda_.spec import InvokeResult
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

CODE = (
    "def fail(event, context):\n    raise ValueError('bad order ' + str(event.get('n')))\n"
    "def ok(event, context):\n    return {'doubled': event['n'] * 2}\n"
)


class Config:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config


def test_aws_defaults_without_an_event_invoke_config() -> None:
    assert EventInvokeConfig.of([]) == EventInvokeConfig(retries=2, max_age_seconds=21600.0)


def test_the_event_invoke_config_is_read_from_moto_s_record() -> None:
    config = Config(
        {
            "MaximumRetryAttempts": 0,
            "MaximumEventAgeInSeconds": 60,
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:failed"}},
        }
    )
    assert EventInvokeConfig.of([config]) == EventInvokeConfig(
        retries=0, max_age_seconds=60.0, on_failure="arn:aws:sqs:us-east-1:000000000000:failed"
    )


def test_the_invocation_record_has_aws_s_shape() -> None:
    failure = InvokeResult.failure("ValueError", "bad order 1")
    record = invocation_record(
        "arn:aws:lambda:us-east-1:0:function:f", "r-1", b'{"n": 1}', failure, "RetriesExhausted", 3
    )
    assert record["requestContext"] == {
        "requestId": "r-1",
        "functionArn": "arn:aws:lambda:us-east-1:0:function:f:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    with temporary_emulator(tmp_path_factory.mktemp("async")) as started:
        yield started


def make_function(endpoint: str, name: str, handler: str, **config: Any) -> Any:
    fn = local_client("lambda", endpoint)
    role = local_client("iam", endpoint).create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")
    fn.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler=handler,
        Code={"ZipFile": code_zip({"app.py": CODE})},
    )
    if config:
        fn.put_function_event_invoke_config(FunctionName=name, **config)
    return fn


def queue(endpoint: str, name: str) -> tuple[str, str]:
    sqs = local_client("sqs", endpoint)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def one_record(endpoint: str, url: str, within: float = 20) -> dict[str, Any]:
    sqs = local_client("sqs", endpoint)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return json.loads(messages[0]["Body"])
    raise AssertionError(f"nothing reached {url} within {within}s")


@pytest.mark.integration  # starts an emulator
def test_a_failing_event_is_retried_then_sent_to_its_on_failure_destination(emulator: Started) -> None:
    url, arn = queue(emulator.endpoint, "failed-events")
    fn = make_function(
        emulator.endpoint,
        "failing",
        "app.fail",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    answer = fn.invoke(FunctionName="failing", InvocationType="Event", Payload=b'{"n": 7}')
    assert answer["StatusCode"] == 202
    record = one_record(emulator.endpoint, url)
    context = record["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("RetriesExhausted", 2)
    assert context["requestId"] == answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert record["requestPayload"] == {"n": 7}
    assert record["responsePayload"]["errorMessage"] == "bad order 7"


@pytest.mark.integration  # starts an emulator
def test_a_successful_event_goes_to_its_on_success_destination(emulator: Started) -> None:
    url, arn = queue(emulator.endpoint, "done-events")
    fn = make_function(
        emulator.endpoint, "fine", "app.ok", DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    fn.invoke(FunctionName="fine", InvocationType="Event", Payload=b'{"n": 21}')
    record = one_record(emulator.endpoint, url)
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"doubled": 42}
    assert "functionError" not in record["responseContext"]


@pytest.mark.integration  # starts an emulator
def test_a_failing_event_without_a_destination_is_dropped_with_a_log_line(
    emulator: Started, tmp_path: Path
) -> None:
    fn = make_function(emulator.endpoint, "lonely", "app.fail", MaximumRetryAttempts=0)
    request_id = fn.invoke(FunctionName="lonely", InvocationType="Event", Payload=b'{"n": 1}')[
        "ResponseMetadata"
    ]["HTTPHeaders"]["x-amzn-requestid"]
    log = emulator_log(emulator)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and f"event {request_id} dropped" not in log.read_text():
        time.sleep(0.2)
    assert "no OnFailure destination configured" in log.read_text()
    assert f"event {request_id} dropped after 1 attempts" in log.read_text()


def emulator_log(emulator: Started) -> Path:
    """The log file the emulator was started with (`--log-file` on its command line)."""
    args = emulator.process.args
    assert isinstance(args, list)
    return Path(str(args[args.index("--log-file") + 1]))
