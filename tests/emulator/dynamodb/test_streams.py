"""DynamoDB Streams -> Lambda as Lambda polls a stream: records in AWS's shape, batches, order,
retries, bisection, partial failures, the on-failure destination, and no synchronous trigger."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import moto
import pytest
from moto.awslambda.models import lambda_backends

from emulator.dynamodb.streams import StreamPoller, first_failed_sequence
from emulator.iam.enforcement import Authorizer
from emulator.lambda_.spec import InvokeResult
from tests.emulator.helpers import code_zip
from tests.emulator.sqs.test_event_source import FakeRuntime

ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass
class Stream:
    ddb: Any
    sqs: Any
    awslambda: Any
    arn: str
    dlq: str

    def put(self, *ids: str, **extra: Any) -> None:
        for i in ids:
            self.ddb.put_item(TableName="t", Item={"pk": {"S": i}, **extra})

    def mapping(self, **settings: Any) -> Any:
        uuid = self.awslambda.create_event_source_mapping(
            EventSourceArn=self.arn, FunctionName="f", **settings
        )["UUID"]
        return lambda_backends[ACCOUNT][REGION]._event_source_mappings[uuid]


@pytest.fixture
def stream() -> Iterator[Stream]:
    with moto.mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )  # fmt: skip
        arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        awslambda = boto3.client("lambda", region_name=REGION)
        awslambda.create_function(FunctionName="f", Runtime="python3.12", Role=role, Handler="app.handler",
                                  Code={"ZipFile": code_zip({"app.py": "def handler(e, c): pass\n"})})  # fmt: skip
        sqs = boto3.client("sqs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="failed")["QueueUrl"]
        yield Stream(ddb, sqs, awslambda, arn, dlq)


def poller(esm: Any, runtime: Any) -> StreamPoller:
    return StreamPoller(esm, runtime, Authorizer("off"))  # driven by hand: poll_once


def test_records_have_aws_shape_and_moto_invokes_nothing_itself(stream: Stream) -> None:
    esm = stream.mapping(StartingPosition="TRIM_HORIZON", BatchSize=10)
    stream.put("a")  # moto's own trigger would have run "f" in Docker inside this PutItem
    stream.ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                           ExpressionAttributeValues={":n": {"N": "1"}})  # fmt: skip
    stream.ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
    runtime = FakeRuntime()
    assert poller(esm, runtime).poll_once() == 3
    inserted, modified, removed = runtime.events[0]["Records"]
    assert [r["eventName"] for r in (inserted, modified, removed)] == ["INSERT", "MODIFY", "REMOVE"]
    assert inserted["eventSource"] == "aws:dynamodb" and inserted["eventSourceARN"] == stream.arn
    assert inserted["awsRegion"] == REGION
    assert inserted["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    assert inserted["dynamodb"]["NewImage"] == {"pk": {"S": "a"}} and "OldImage" not in inserted["dynamodb"]
    assert modified["dynamodb"]["OldImage"] == {"pk": {"S": "a"}}
    assert modified["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert (
        removed["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
        and "NewImage" not in removed["dynamodb"]
    )
    assert isinstance(inserted["dynamodb"]["ApproximateCreationDateTime"], int)
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in runtime.events[0]["Records"]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


def test_latest_starts_after_what_was_there_and_batches_follow_in_order(stream: Stream) -> None:
    stream.put("before")
    esm = stream.mapping(StartingPosition="LATEST", BatchSize=2)
    stream.put("1", "2", "3")
    runtime = FakeRuntime()
    reader = poller(esm, runtime)
    assert reader.poll_once() == 2 and reader.poll_once() == 1 and reader.poll_once() == 0
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for event in runtime.events for r in event["Records"]]
    assert keys == ["1", "2", "3"]


def test_a_failing_batch_is_retried_in_order_then_sent_to_the_on_failure_destination(stream: Stream) -> None:
    queue_arn = stream.sqs.get_queue_attributes(QueueUrl=stream.dlq, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    esm = stream.mapping(StartingPosition="TRIM_HORIZON", BatchSize=10, MaximumRetryAttempts=2,
                         DestinationConfig={"OnFailure": {"Destination": queue_arn}})  # fmt: skip
    stream.put("a", "b")
    runtime = FakeRuntime(respond=lambda _: InvokeResult.failure("Exception", "boom"))
    reader = poller(esm, runtime)
    assert reader.poll_once() == 2
    assert len(runtime.events) == 3, "the first try and two retries"
    [message] = stream.sqs.receive_message(QueueUrl=stream.dlq)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert (
        record["DDBStreamBatchInfo"]["batchSize"] == 2
        and record["DDBStreamBatchInfo"]["streamArn"] == stream.arn
    )
    runtime.respond = None
    stream.put("c")
    assert reader.poll_once() == 1, "the stream moved on past the batch given up on"
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in runtime.events[-1]["Records"]] == ["c"]


def test_bisect_splits_a_failing_batch_until_the_bad_record_is_alone(stream: Stream) -> None:
    esm = stream.mapping(StartingPosition="TRIM_HORIZON", BatchSize=10, MaximumRetryAttempts=5,
                         BisectBatchOnFunctionError=True)  # fmt: skip
    stream.put("a", "b", "bad", "d")

    def fails_with_bad(event: dict[str, Any]) -> Any:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        return InvokeResult.failure("Exception", "bad record") if "bad" in keys else {}

    runtime = FakeRuntime(respond=fails_with_bad)
    poller(esm, runtime).poll_once()
    sizes = [len(event["Records"]) for event in runtime.events]
    assert sizes[:3] == [4, 2, 2], sizes  # the batch, then its halves: [a, b] succeeds, [bad, d] fails
    delivered = [
        r["dynamodb"]["Keys"]["pk"]["S"]
        for e in runtime.events
        if not fails_with_bad(e)
        for r in e["Records"]
    ]
    assert delivered[:2] == ["a", "b"] and "d" in delivered, "every good record got through, in order"


def test_report_batch_item_failures_resumes_from_the_first_failed_record(stream: Stream) -> None:
    esm = stream.mapping(
        StartingPosition="TRIM_HORIZON", BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    stream.put("a", "b", "c")
    answers = iter([None, {}])

    def second_fails_once(event: dict[str, Any]) -> Any:
        answer = next(answers, {})
        if answer is None:
            return {
                "batchItemFailures": [{"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}]
            }
        return answer

    runtime = FakeRuntime(respond=second_fails_once)
    poller(esm, runtime).poll_once()
    assert [[r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"]] for e in runtime.events] == [
        ["a", "b", "c"],
        ["b", "c"],
    ]


def test_first_failed_sequence_reads_what_aws_accepts() -> None:
    sequences = ["10", "11", "12"]
    assert first_failed_sequence(b"null", sequences) == ""
    assert first_failed_sequence(b'{"batchItemFailures": []}', sequences) == ""
    assert (
        first_failed_sequence(
            b'{"batchItemFailures": [{"itemIdentifier": "12"}, {"itemIdentifier": "11"}]}', sequences
        )
        == "11"
    )
    assert first_failed_sequence(b'{"batchItemFailures": [{"itemIdentifier": "99"}]}', sequences) is None
    assert first_failed_sequence(b"not json", sequences) is None


def test_filter_criteria_pass_only_matching_records_and_the_stream_moves_past_the_others(
    stream: Stream,
) -> None:
    esm = stream.mapping(StartingPosition="TRIM_HORIZON", BatchSize=10, FilterCriteria={"Filters": [
        {"Pattern": json.dumps({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "ORDER#"}]}}}})},
    ]})  # fmt: skip
    stream.put("ORDER#1", "IDEMPOTENCY#1")
    stream.ddb.delete_item(TableName="t", Key={"pk": {"S": "ORDER#1"}})
    runtime = FakeRuntime()
    reader = poller(esm, runtime)
    assert reader.poll_once() == 3 and reader.poll_once() == 0
    assert [
        [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in e["Records"]] for e in runtime.events
    ] == [[("INSERT", "ORDER#1")]]
    stream.put("IDEMPOTENCY#2")
    assert reader.poll_once() == 1 and len(runtime.events) == 1, "nothing matched: no invocation"
