"""Every trigger runs its function through the emulator's runtime, as AWS runs it: S3 event
notifications, EventBridge rules (patterns, inputs, targets, dead-letter queues), schedules fired
on demand, and Lambda-backed custom resources in a stack. One emulator for the module; each
function prints the events it gets, and the tests read them from its log group."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.ctl import Started, temporary_emulator
from emulator.events.schedule import FIRE_PATH
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

pytestmark = pytest.mark.integration

PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("triggers")


@pytest.fixture(scope="module")
def emulator(work: Path) -> Iterator[Started]:
    with temporary_emulator(work) as started:
        yield started


@pytest.fixture
def client(emulator: Started) -> Callable[[str], Any]:
    return lambda service: local_client(service, emulator.endpoint)


def function(client: Callable[[str], Any], code: str = PRINTER, timeout: int = 3) -> str:
    name = f"fn-{uuid.uuid4().hex[:8]}"
    role = client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn: str = client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Timeout=timeout,
        Code={"ZipFile": code_zip({"app.py": code})},
    )["FunctionArn"]  # fmt: skip
    return arn


def allow(client: Callable[[str], Any], function_arn: str, service: str, source_arn: str) -> None:
    client("lambda").add_permission(
        FunctionName=function_arn, StatementId=uuid.uuid4().hex, Action="lambda:InvokeFunction",
        Principal=service, SourceArn=source_arn,
    )  # fmt: skip


def received(client: Callable[[str], Any], function_arn: str, count: int, within: float = 15) -> list[Any]:
    """The events the function printed, once it printed `count` (or `within` seconds passed)."""
    group = f"/aws/lambda/{function_arn.rsplit(':', 1)[-1]}"
    deadline, events = time.monotonic() + within, []
    while time.monotonic() < deadline:
        try:
            lines = client("logs").filter_log_events(logGroupName=group)["events"]
        except client("logs").exceptions.ResourceNotFoundException:
            lines = []
        events = [json.loads(e["message"].split("EVENT ", 1)[1]) for e in lines if "EVENT " in e["message"]]
        if len(events) >= count:
            break
        time.sleep(0.2)
    return events


def queue_for(client: Callable[[str], Any], service: str, source_arn: str) -> tuple[str, str]:
    """A queue whose policy lets `service` send for `source_arn`: (url, arn)."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }]}  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def messages(client: Callable[[str], Any], url: str, count: int, within: float = 10) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + within
    while len(got) < count and time.monotonic() < deadline:
        answer = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        got += [json.loads(m["Body"]) for m in answer.get("Messages", [])]
    return got


# -- S3 ------------------------------------------------------------------------------------------
def test_s3_notifications_reach_a_permitted_function_with_filters_and_aws_records(
    client: Callable[[str], Any], work: Path
) -> None:
    s3, bucket = client("s3"), f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    allowed, unpermitted = function(client), function(client)
    allow(client, allowed, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
    url, queue_arn = queue_for(client, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [
            {"Id": "in", "LambdaFunctionArn": allowed, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".json"}]}}},
            {"Id": "no-permission", "LambdaFunctionArn": unpermitted, "Events": ["s3:ObjectCreated:*"]},
        ],
        "QueueConfigurations": [{"Id": "all", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}],
    })  # fmt: skip
    s3.put_object(Bucket=bucket, Key="in/a b.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="other/b.json", Body=b"{}")  # outside the prefix
    s3.put_object(Bucket=bucket, Key="in/c.txt", Body=b"x")  # outside the suffix
    s3.delete_object(Bucket=bucket, Key="in/a b.json")

    events = received(client, allowed, 2)
    # asynchronous invocations: in any order, as on AWS; the sequencer orders them
    records = sorted((e["Records"][0] for e in events), key=lambda r: r["s3"]["object"]["sequencer"])
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [
        ("ObjectCreated:Put", "in/a+b.json"),
        ("ObjectRemoved:Delete", "in/a+b.json"),
    ]
    first = records[0]
    assert first["eventSource"] == "aws:s3" and first["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert first["s3"]["configurationId"] == "in" and first["s3"]["object"]["size"] == 2
    assert {"userIdentity", "requestParameters", "responseElements"} <= set(first)
    # no resource policy statement for S3: not invoked, and the emulator says why
    assert received(client, unpermitted, 1, within=1) == []
    log = (work / "emulator.log").read_text()
    assert f"not sent to {unpermitted}" in log and "s3.amazonaws.com is not authorized" in log
    # the queue got S3's test event when configured, then the three objects created
    bodies = messages(client, url, 4)
    assert bodies[0]["Event"] == "s3:TestEvent" and bodies[0]["Bucket"] == bucket
    assert sorted(b["Records"][0]["s3"]["object"]["key"] for b in bodies[1:]) == [
        "in/a+b.json",
        "in/c.txt",
        "other/b.json",
    ]


# -- EventBridge ---------------------------------------------------------------------------------
def test_rules_deliver_matching_events_to_lambda_sqs_and_sns_with_their_inputs(
    client: Callable[[str], Any],
) -> None:
    events, fn = client("events"), function(client)
    pattern = {"source": [{"prefix": "shop."}], "detail": {"amount": [{"numeric": [">", 10]}],
                                                            "kind": [{"anything-but": "test"}]}}  # fmt: skip
    rule = events.put_rule(Name=f"r-{uuid.uuid4().hex[:8]}", EventPattern=json.dumps(pattern))["RuleArn"]
    name = rule.rsplit("/", 1)[-1]
    allow(client, fn, "events.amazonaws.com", rule)
    url, queue = queue_for(client, "events.amazonaws.com", rule)
    topic = client("sns").create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    topic_url, topic_queue = queue_for(client, "sns.amazonaws.com", topic)
    client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=topic_queue,
                            Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    client("sns").set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                "Action": "sns:Publish", "Resource": topic}]}))  # fmt: skip
    events.put_targets(Rule=name, Targets=[
        {"Id": "fn", "Arn": fn},
        {"Id": "queue", "Arn": queue, "InputTransformer": {
            "InputPathsMap": {"amount": "$.detail.amount"}, "InputTemplate": '{"paid": <amount>}'}},
        {"Id": "topic", "Arn": topic, "Input": '{"constant": true}'},
    ])  # fmt: skip

    def put(source: str, amount: int, kind: str) -> None:
        detail = json.dumps({"amount": amount, "kind": kind})
        answer = events.put_events(Entries=[{"Source": source, "DetailType": "Paid", "Detail": detail}])
        assert answer["FailedEntryCount"] == 0

    put("shop.orders", 42, "real")
    put("shop.orders", 5, "real")  # numeric: not > 10
    put("shop.orders", 50, "test")  # anything-but
    put("other.orders", 50, "real")  # prefix
    [event] = received(client, fn, 1)
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "shop.orders",
        "Paid",
        {"amount": 42, "kind": "real"},
    )
    assert event["time"].endswith("Z") and event["resources"] == [] and "ingestion-time" not in event
    assert messages(client, url, 1) == [{"paid": 42}]
    assert messages(client, topic_url, 1) == [{"constant": True}]
    time.sleep(1)
    assert len(received(client, fn, 2, within=0.5)) == 1, "only the matching event"

    events.disable_rule(Name=name)
    put("shop.orders", 99, "real")
    time.sleep(1)
    assert len(received(client, fn, 2, within=0.5)) == 1, "a disabled rule delivers nothing"


def test_a_refused_target_sends_the_event_to_its_dead_letter_queue_and_unsupported_targets_are_refused(
    client: Callable[[str], Any],
) -> None:
    events, fn = client("events"), function(client)  # no permission for EventBridge
    rule = events.put_rule(
        Name=f"r-{uuid.uuid4().hex[:8]}", EventPattern=json.dumps({"source": ["dlq.test"]})
    )
    name = rule["RuleArn"].rsplit("/", 1)[-1]
    dlq_url, dlq = queue_for(client, "events.amazonaws.com", rule["RuleArn"])
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": fn, "DeadLetterConfig": {"Arn": dlq}}])
    events.put_events(Entries=[{"Source": "dlq.test", "DetailType": "X", "Detail": "{}"}])
    [dead] = messages(client, dlq_url, 1)
    assert dead["source"] == "dlq.test"
    assert received(client, fn, 1, within=0.5) == []

    with pytest.raises(events.exceptions.ClientError, match="not to arn:aws:kinesis"):
        events.put_targets(
            Rule=name, Targets=[{"Id": "k", "Arn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}]
        )
    with pytest.raises(events.exceptions.ClientError, match="ScheduleExpression is not valid"):
        events.put_rule(Name="bad-cron", ScheduleExpression="cron(99 * * * ? *)")


def test_a_schedule_fired_now_sends_its_scheduled_event_and_put_events_never_reach_it(
    client: Callable[[str], Any], emulator: Started
) -> None:
    events, fn = client("events"), function(client)
    rule = events.put_rule(Name=f"s-{uuid.uuid4().hex[:8]}", ScheduleExpression="cron(0 3 * * ? *)")[
        "RuleArn"
    ]
    name = rule.rsplit("/", 1)[-1]
    allow(client, fn, "events.amazonaws.com", rule)
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": fn}])
    events.put_events(Entries=[{"Source": "aws.events", "DetailType": "Scheduled Event", "Detail": "{}"}])

    answer = requests.post(f"{emulator.endpoint}{FIRE_PATH}", json={"rule": name}, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"rule": rule, "targets": 1, "delivered": 1}
    [event] = received(client, fn, 1)
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.events",
        "Scheduled Event",
        [rule],
    )
    time.sleep(1)
    assert len(received(client, fn, 2, within=0.5)) == 1, "PutEvents does not reach a schedule's rule"
    missing = requests.post(f"{emulator.endpoint}{FIRE_PATH}", json={"rule": "nope"}, timeout=10)
    assert missing.status_code == 404 and "no rule nope" in missing.json()["message"]
    assert requests.post(f"{emulator.endpoint}{FIRE_PATH}", data=b"[", timeout=10).status_code == 400


# -- custom resources ------------------------------------------------------------------------------
PROVIDER = """import json, urllib.request
def handler(event, context):
    print('EVENT ' + json.dumps(event))
    props = event['ResourceProperties']
    mode = props.get('Mode', 'ok')
    if mode == 'silent':
        return
    answer = {'Status': 'FAILED' if mode == 'fail' else 'SUCCESS', 'Reason': 'asked to fail',
              'PhysicalResourceId': 'greeting-' + props['Name'], 'StackId': event['StackId'],
              'RequestId': event['RequestId'], 'LogicalResourceId': event['LogicalResourceId'],
              'Data': {'Greeting': 'hello ' + props['Name'], 'FlagType': type(props['Flag']).__name__ + ':' + props['Flag']}}
    body = json.dumps(answer).encode()
    urllib.request.urlopen(urllib.request.Request(event['ResponseURL'], data=body, method='PUT',
                                                  headers={'Content-Type': ''}), timeout=10)
"""


def template(provider: str, name: str, mode: str = "ok") -> str:
    return json.dumps({
        "Resources": {"Greeting": {"Type": "Custom::Greeting", "Properties": {
            "ServiceToken": provider, "Name": name, "Flag": True, "Mode": mode}}},
        "Outputs": {"Greeting": {"Value": {"Fn::GetAtt": ["Greeting", "Greeting"]}},
                    "FlagType": {"Value": {"Fn::GetAtt": ["Greeting", "FlagType"]}},
                    "Id": {"Value": {"Ref": "Greeting"}}},
    })  # fmt: skip


def settled(cloudformation: Any, stack: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found: dict[str, Any] = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if not found["StackStatus"].endswith("IN_PROGRESS"):
            return found
        time.sleep(0.2)
    raise AssertionError(f"{stack} still in progress")


def test_custom_resources_are_created_updated_and_deleted_through_their_function(
    client: Callable[[str], Any],
) -> None:
    provider, cloudformation, stack = (
        function(client, PROVIDER, timeout=10),
        client("cloudformation"),
        "custom",
    )
    cloudformation.create_stack(StackName=stack, TemplateBody=template(provider, "ada"))
    created = settled(cloudformation, stack)
    assert created["StackStatus"] == "CREATE_COMPLETE", created
    outputs = {o["OutputKey"]: o["OutputValue"] for o in created["Outputs"]}
    # properties arrive as strings, as CloudFormation sends them; Data is read by Fn::GetAtt
    assert outputs == {"Greeting": "hello ada", "FlagType": "str:true", "Id": "greeting-ada"}

    cloudformation.update_stack(StackName=stack, TemplateBody=template(provider, "grace"))
    assert settled(cloudformation, stack)["StackStatus"] == "UPDATE_COMPLETE"
    update = received(client, provider, 2)[1]
    assert (update["RequestType"], update["PhysicalResourceId"]) == ("Update", "greeting-ada")
    assert (
        update["OldResourceProperties"]["Name"] == "ada" and update["ResourceProperties"]["Name"] == "grace"
    )

    cloudformation.update_stack(StackName=stack, TemplateBody=template(provider, "x", mode="fail"))
    failed = settled(cloudformation, stack)
    assert failed["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    ]
    assert any(
        "Received response status [FAILED] from custom resource. Message returned: asked to fail" in r
        for r in reasons
    )

    cloudformation.delete_stack(StackName=stack)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "Delete" not in [
        e["RequestType"] for e in received(client, provider, 1)
    ]:
        time.sleep(0.2)
    assert "Delete" in [e["RequestType"] for e in received(client, provider, 1)]


def test_a_custom_resource_whose_function_never_answers_fails_at_once(client: Callable[[str], Any]) -> None:
    provider, cloudformation = function(client, PROVIDER, timeout=10), client("cloudformation")
    started = time.monotonic()
    cloudformation.create_stack(StackName="silent", TemplateBody=template(provider, "x", mode="silent"))
    assert settled(cloudformation, "silent")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert time.monotonic() - started < 10
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cloudformation.describe_stack_events(StackName="silent")["StackEvents"]
    ]
    assert any("returned without sending a response to the ResponseURL" in r for r in reasons)
