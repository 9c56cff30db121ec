"""The differential harness: `deploy A; update to B` leaves what a fresh `deploy B` leaves, and
what is updated in place keeps its data. Generated cases (matrix.py), on the embedded emulator
and on ministack, the second oracle; what ministack gets wrong is declared in MINISTACK_DIFFERS."""

import functools
import io
import itertools
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from e2e.stack_state import differences, observe
from emulator.ctl import temporary_emulator
from tests.cloudformation import matrix
from workspace.ministack import temporary_ministack

pytestmark = pytest.mark.integration

CASES = matrix.cases()
# What ministack 1.5.33 does differently from a fresh create after an update, by this
# harness: a case here is expected to fail there (and must: an unexpected pass fails the run).
_INDEX = "ministack describes a GSI added by an update with IndexArn, IndexStatus, sizes and throughput, one created with the table without them"
_STREAM = "ministack keeps StreamSpecification {StreamEnabled: false} after the property is removed; a fresh table has none"
_MAPPING = "ministack keeps the old value of an event source mapping property the update removed"
_INTEGRATION = "ministack drops the empty RequestParameters/RequestTemplates/ResponseParameters maps of an integration on update"
_ROUTE = "ministack drops the empty RequestModels/RequestParameters maps of a route on update"
_TOPIC_POLICY = "ministack leaves a topic without a Policy attribute when a TopicPolicy stops covering it; a fresh topic has the default policy"
MINISTACK_DIFFERS: dict[str, str] = {
    "DynamoDB::Table: GlobalSecondaryIndexes added (in place)": _INDEX,
    "DynamoDB::Table: StreamSpecification removed (in place)": _STREAM,
    **{
        f"Lambda::EventSourceMapping: {name} removed (in place)": _MAPPING
        for name in (
            "MaximumBatchingWindowInSeconds",
            "FunctionResponseTypes",
            "ScalingConfig",
            "FilterCriteria",
        )
    },
    **{
        f"ApiGatewayV2::Integration: {change} (in place)": _INTEGRATION
        for change in (
            "Description added",
            "Description removed",
            "TimeoutInMillis added",
            "TimeoutInMillis removed",
            "PayloadFormatVersion changed",
            "PayloadFormatVersion removed",
            "IntegrationMethod added",
            "IntegrationMethod removed",
        )
    },
    **{
        f"ApiGatewayV2::Route: {change} (in place)": _ROUTE
        for change in (
            "RouteKey changed",
            "OperationName added",
            "OperationName removed",
            "AuthorizationType added",
            "AuthorizationType removed",
        )
    },
    "SNS::Topic: Tags added (in place)": "ministack does not apply tags an update adds to a topic",
    "SNS::Subscription: RedrivePolicy removed (in place)": "ministack leaves RedrivePolicy as an empty attribute after removal; a fresh subscription has none",
    "SNS::TopicPolicy: Topics changed (in place)": _TOPIC_POLICY,
    "SNS::TopicPolicy: resource removed": _TOPIC_POLICY,
}
_counter = itertools.count()


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


@pytest.fixture(scope="module", params=["embedded", "ministack"])  # with -n, side by side (conftest.py)
def aws(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    work = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        context: Any = temporary_emulator(work)
    else:
        context = temporary_ministack(work)
    with context as started:
        endpoint = started if isinstance(started, str) else started.endpoint
        config = Config(retries={"max_attempts": 2, "mode": "standard"})

        @functools.cache  # one client per service: building one costs more than most calls
        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",  # the emulators' well-known test key
                config=config,
            )

        s3 = client("s3")
        s3.create_bucket(Bucket=matrix.CODE_BUCKET)
        for key, body in {
            "code.zip": "def handler(event, context):\n    return 1\n",
            "code-v2.zip": "def handler(event, context):\n    return 2\n",
            "layer.zip": "VALUE = 1\n",
        }.items():
            s3.put_object(Bucket=matrix.CODE_BUCKET, Key=key, Body=_zip({"app.py": body}))
        client.target = request.param  # type: ignore[attr-defined]
        yield client


def settle(cfn: Any, name: str, timeout: float = 30.0) -> str:
    """The stack's status once no operation is in progress (ministack applies in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def deploy(cfn: Any, name: str, template: dict[str, Any], update: bool = False) -> str:
    body = matrix.json.dumps(template)
    if update:
        cfn.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    else:
        cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    return settle(cfn, name)


def subject_id(cfn: Any, name: str) -> str | None:
    listed = cfn.describe_stack_resources(StackName=name)["StackResources"]
    return next((r["PhysicalResourceId"] for r in listed if r["LogicalResourceId"] == "Subject"), None)


def _messages(aws: Any, url: str) -> int:
    """Every message the queue holds: visible, in flight or delayed."""
    kinds = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=kinds)["Attributes"]
    return sum(int(attributes[kind]) for kind in kinds)


DATA = {  # what a resource holds, put in before an update and looked for after it
    "AWS::DynamoDB::Table": (
        lambda aws, pid: aws("dynamodb").put_item(TableName=pid, Item={"PK": {"S": "kept"}}),
        lambda aws, pid: aws("dynamodb").scan(TableName=pid)["Count"] == 1,
    ),
    "AWS::SQS::Queue": (
        lambda aws, pid: aws("sqs").send_message(QueueUrl=pid, MessageBody="kept"),
        lambda aws, pid: _messages(aws, pid) == 1,
    ),
}


def _expectation(aws: Any, case: matrix.Case) -> None:
    if aws.target == "ministack" and case.id in MINISTACK_DIFFERS:
        pytest.xfail(MINISTACK_DIFFERS[case.id])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_an_update_leaves_what_a_fresh_create_leaves(aws: Any, case: matrix.Case) -> None:
    cfn = aws("cloudformation")
    number = next(_counter)
    updated, fresh = f"harness-{number}-upd", f"harness-{number}-new"
    try:
        assert deploy(cfn, updated, case.a) == "CREATE_COMPLETE"
        before = subject_id(cfn, updated)
        seed, holds = DATA.get(case.resource_type, (None, None))
        if seed and before and "KeySchema" not in case.change:
            seed(aws, before)
        status = deploy(cfn, updated, case.b, update=True)
        events = cfn.describe_stack_events(StackName=updated)["StackEvents"]
        failures = [e.get("ResourceStatusReason") for e in events if e["ResourceStatus"].endswith("_FAILED")]
        assert status == "UPDATE_COMPLETE", (status, failures)
        assert deploy(cfn, fresh, case.b) == "CREATE_COMPLETE"
        _expectation(aws, case)
        assert not differences(observe(aws, updated), observe(aws, fresh)), "updated vs fresh"
        after = subject_id(cfn, updated)
        if seed and holds and before and after == before and "KeySchema" not in case.change:
            assert holds(aws, after), "updated in place, the data stays"
    finally:
        for name in (updated, fresh):
            try:
                cfn.delete_stack(StackName=name)
                settle(cfn, name)
            except Exception:  # a stack that was never created
                pass


def test_every_settable_property_is_varied_or_its_absence_explained() -> None:
    for resource_type, subject in matrix.SUBJECTS.items():
        settable = set(matrix.settable(resource_type))
        covered = set(subject.variants) | set(subject.uncovered) | set(subject.base)
        assert settable <= covered, (resource_type, sorted(settable - covered))
        assert set(subject.variants) <= settable, (resource_type, sorted(set(subject.variants) - settable))


def test_the_harness_sees_a_difference_when_there_is_one(tmp_path: Path) -> None:
    """normalised() must not paper over a real difference (a changed property value)."""
    from e2e.stack_state import normalised

    a = normalised({"Q": {"VisibilityTimeout": "30", "QueueArn": "arn:aws:sqs:us-east-1:1:s1-Q-AAAAAAAAA"}}, "s1",
                   {"Q": "https://sqs/1/s1-Q-AAAAAAAAA"})  # fmt: skip
    b = normalised({"Q": {"VisibilityTimeout": "30", "QueueArn": "arn:aws:sqs:us-east-1:1:s2-Q-BBBBBBBBB"}}, "s2",
                   {"Q": "https://sqs/1/s2-Q-BBBBBBBBB"})  # fmt: skip
    c = normalised({"Q": {"VisibilityTimeout": "60", "QueueArn": "arn:aws:sqs:us-east-1:1:s2-Q-BBBBBBBBB"}}, "s2",
                   {"Q": "https://sqs/1/s2-Q-BBBBBBBBB"})  # fmt: skip
    assert a == b and a != c


def test_an_all_digit_id_is_normalised_like_any_other() -> None:
    """ministack's route ids are 8 random hex digits, sometimes all decimal: "<api>/83675056"."""
    from e2e.stack_state import normalised

    seen = {"Api": {"Routes": [{"RouteId": "83675056"}]}}
    assert normalised(seen, "harness-1-upd", {"Subject": "e030b7df/83675056"}) == {
        "Api": {"Routes": [{"RouteId": "<Subject>"}]}
    }
    layer = "arn:aws:lambda:us-east-1:1:layer:OrdersDeps12345678:3"
    assert normalised({"L": layer + "x"}, "harness-1-upd", {"Layer": layer}) == {"L": "<Layer>x"}
