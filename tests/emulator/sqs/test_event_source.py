"""SQS event source: record shape, partial batch responses, failures, batching window; the real
Lambda runtime end to end, and the manager following mappings."""

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from emulator.iam.enforcement import Authorizer
from emulator.lambda_.errors import FunctionNotFound, Throttled
from emulator.lambda_.event_sources import EventSourceManager
from emulator.lambda_.runtime import LambdaRuntime
from emulator.lambda_.spec import InvokeResult
from emulator.sqs.event_source import SqsPoller, failed_message_ids
from tests.emulator.helpers import code_zip

# fails the records whose body is "bad", as ProcessOrder reports poison
CODE = code_zip(
    {
        "app.py": "def handler(event, context):\n"
        "    return {'batchItemFailures': [{'itemIdentifier': r['messageId']}\n"
        "        for r in event['Records'] if r['body'] == 'bad']}\n"
    }
)


@dataclass
class FakeRuntime:
    """Stands in for LambdaRuntime: records events, answers with `respond(event)`."""

    respond: Any = None
    events: list[dict[str, Any]] = field(default_factory=list)
    links: list[tuple[str, ...]] = field(default_factory=list)
    default_concurrency: int = 1

    def function(self, region: str, name: str) -> Any:
        return name

    def concurrency(self, function: Any) -> int:
        return self.default_concurrency

    def invoke(
        self,
        region: str,
        function: str,
        event: bytes,
        wait_seconds: float | None = None,
        links: tuple[str, ...] = (),
    ) -> InvokeResult:
        self.links.append(links)
        decoded = json.loads(event)
        self.events.append(decoded)
        answer = self.respond(decoded) if self.respond else {"batchItemFailures": []}
        if isinstance(answer, InvokeResult):
            return answer
        return InvokeResult(ok=True, payload=json.dumps(answer).encode())


@dataclass
class Setup:
    sqs: Any
    queue_url: str
    esm: Any

    def send(self, *bodies: str, **attributes: Any) -> list[str]:
        return [
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=b, **attributes)["MessageId"]
            for b in bodies
        ]

    def remaining(self) -> int:
        a = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    def poller(self, runtime: Any) -> SqsPoller:
        return SqsPoller(self.esm, runtime, max_pollers=1, authorizer=Authorizer("off"))  # driven by hand


@pytest.fixture
def setup() -> Iterator[Setup]:
    with moto.mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name="us-east-1")
        client.create_function(
            FunctionName="f", Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": CODE}
        )
        mapping = client.create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName="f",
            BatchSize=3,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        from moto.awslambda.models import lambda_backends

        esm = lambda_backends["123456789012"]["us-east-1"]._event_source_mappings[mapping["UUID"]]
        yield Setup(sqs, url, esm)


def test_records_have_aws_shape(setup: Setup) -> None:
    [message_id] = setup.send("hello", MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}})
    runtime = FakeRuntime()
    assert setup.poller(runtime).poll_once() == 1
    [record] = runtime.events[0]["Records"]
    assert record["messageId"] == message_id
    assert record["body"] == "hello"
    assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record["attributes"]) >= {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert "md5OfMessageAttributes" in record
    assert setup.remaining() == 0


def test_the_producers_trace_headers_reach_the_consumer_as_links(setup: Setup) -> None:
    """SendMessage's X-Amzn-Trace-Id header becomes AWSTraceHeader; a message's own attribute wins."""
    sent_with, own = (f"Root=1-5f84c7a1-{n * 24};Parent={n * 16};Sampled=1" for n in ("a", "b"))

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = sent_with

    setup.sqs.meta.events.register("before-sign.sqs.SendMessage", add_header)
    setup.send("traced")
    setup.send("own", MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": own}})
    setup.sqs.meta.events.unregister("before-sign.sqs.SendMessage", add_header)
    setup.send("untraced")
    runtime = FakeRuntime(default_concurrency=1)
    poller = setup.poller(runtime)
    assert poller.poll_once() == 3
    headers = {r["body"]: r["attributes"].get("AWSTraceHeader") for r in runtime.events[0]["Records"]}
    assert headers == {"traced": sent_with, "own": own, "untraced": None}
    assert sorted(runtime.links[0]) == sorted([sent_with, own])


def test_batch_size_is_respected(setup: Setup) -> None:
    setup.send(*[str(i) for i in range(7)])
    runtime = FakeRuntime()
    poller = setup.poller(runtime)
    assert [poller.poll_once() for _ in range(4)] == [3, 3, 1, 0]


def test_partial_batch_failure_keeps_only_the_failed_records(setup: Setup) -> None:
    ids = setup.send("ok", "bad", "ok2")
    runtime = FakeRuntime(
        respond=lambda e: {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in e["Records"] if r["body"] == "bad"
            ]
        }
    )
    setup.poller(runtime).poll_once()
    assert setup.remaining() == 1
    time.sleep(1.1)  # visibility timeout
    setup.poller(runtime).poll_once()
    [retried] = runtime.events[1]["Records"]
    assert retried["messageId"] == ids[1] and retried["attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.parametrize(
    "answer",
    [
        InvokeResult.failure("Sandbox.Timedout", "timed out"),
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": "nope"},
    ],
)
def test_failed_invocations_and_invalid_responses_keep_the_whole_batch(setup: Setup, answer: Any) -> None:
    setup.send("a", "b")
    setup.poller(FakeRuntime(respond=lambda e: answer)).poll_once()
    assert setup.remaining() == 2


def test_failed_message_ids() -> None:
    ids = {"a", "b"}
    assert failed_message_ids(b"null", ids) == set()
    assert failed_message_ids(b"{}", ids) == set()
    assert failed_message_ids(b'{"batchItemFailures": []}', ids) == set()
    assert failed_message_ids(b'{"batchItemFailures": [{"itemIdentifier": "a"}]}', ids) == {"a"}
    assert failed_message_ids(b'{"batchItemFailures": [{"itemIdentifier": "c"}]}', ids) is None
    assert failed_message_ids(b'{"batchItemFailures": [{}]}', ids) is None
    assert failed_message_ids(b"not json", ids) is None
    assert failed_message_ids(b'"text"', ids) is None


def test_batching_window_waits_to_fill_the_batch(setup: Setup) -> None:
    setup.esm.max_batch_window = 10
    setup.send("first")
    import threading

    threading.Timer(0.3, lambda: setup.send("second", "third")).start()
    runtime = FakeRuntime()
    started = time.monotonic()
    assert setup.poller(runtime).poll_once() == 3
    assert time.monotonic() - started < 8  # a full batch goes at once, before the 10 s window ends
    assert [r["body"] for r in runtime.events[0]["Records"]] == ["first", "second", "third"]


def test_the_real_runtime_runs_the_function_and_only_its_failures_return(
    setup: Setup, tmp_path: Path
) -> None:
    _, bad = setup.send("ok", "bad")
    runtime = LambdaRuntime("123456789012", tmp_path, "http://127.0.0.1:1", default_concurrency=1)
    try:
        assert setup.poller(runtime).poll_once() == 2
    finally:
        runtime.close()
    assert setup.remaining() == 1  # "ok" was deleted, "bad" waits out its visibility timeout
    time.sleep(1.1)
    [retried] = setup.sqs.receive_message(QueueUrl=setup.queue_url, AttributeNames=["All"])["Messages"]
    assert retried["MessageId"] == bad and retried["Attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.parametrize("refusal", [Throttled("Rate Exceeded"), FunctionNotFound("gone")])
def test_an_undelivered_batch_returns_whole(setup: Setup, refusal: Exception) -> None:
    def refuse(_: dict[str, Any]) -> Any:
        raise refusal

    setup.send("a", "b")
    assert setup.poller(FakeRuntime(respond=refuse)).poll_once() == 2
    assert setup.remaining() == 2  # nothing deleted: every message comes back after its visibility timeout


def test_the_manager_follows_mappings(setup: Setup) -> None:
    runtime = FakeRuntime()
    manager = EventSourceManager("123456789012", runtime, Authorizer("off"))  # type: ignore[arg-type]
    manager.sync()
    [poller] = manager.pollers.values()
    setup.send("x")
    deadline = time.monotonic() + 5
    while not runtime.events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r["body"] for r in runtime.events[0]["Records"]] == ["x"]  # its threads poll the queue
    boto3.client("lambda", region_name="us-east-1").delete_event_source_mapping(UUID=setup.esm.uuid)
    manager.sync()
    assert manager.pollers == {} and poller.stopping.is_set()
    manager.stop(timeout=2)


def test_filter_criteria_deliver_matching_messages_and_delete_the_others(setup: Setup) -> None:
    from moto.awslambda.models import lambda_backends

    client = boto3.client("lambda", region_name="us-east-1")
    client.update_event_source_mapping(UUID=setup.esm.uuid, FilterCriteria={"Filters": [
        {"Pattern": json.dumps({"body": {"kind": ["order"], "amount": [{"numeric": [">", 10]}]}})},
    ]})  # fmt: skip
    esm = lambda_backends["123456789012"]["us-east-1"]._event_source_mappings[setup.esm.uuid]
    setup.send(
        '{"kind": "order", "amount": 42}', '{"kind": "order", "amount": 1}', "not json", '{"kind": "x"}'
    )
    runtime = FakeRuntime()
    poller = SqsPoller(esm, runtime, max_pollers=1, authorizer=Authorizer("off"))
    assert poller.poll_once() == 3 and poller.poll_once() == 1
    delivered = [r["body"] for event in runtime.events for r in event["Records"]]
    assert delivered == ['{"kind": "order", "amount": 42}']
    assert setup.remaining() == 0, "Lambda deletes what no filter matches"


def test_a_mapping_from_a_source_no_poller_reads_is_refused(setup: Setup) -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="not arn:aws:kinesis"):
        client.create_event_source_mapping(
            EventSourceArn="arn:aws:kinesis:us-east-1:123456789012:stream/s", FunctionName="f",
            StartingPosition="LATEST",
        )  # fmt: skip
