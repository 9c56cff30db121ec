"""Functions call AWS with their role's credentials, and the emulator authorizes those calls as
AWS does; the user's own calls stay allowed."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.ctl import Started, free_port, spawn, stop_child, wait_healthy
from emulator.settings import endpoint_on
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

pytestmark = pytest.mark.integration

CODE = """
import json
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    if "requestContext" in event:  # through an HTTP API: the call is the request's body
        event = json.loads(event["body"])
    client = boto3.client(event["service"])
    try:
        answer = getattr(client, event["call"])(**event["args"])
        answer.pop("ResponseMetadata", None)
        return {"ok": True, "answer": json.loads(json.dumps(answer, default=str))}  # dates, streams
    except ClientError as error:
        return {"ok": False, "code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
"""
TABLE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/Orders"


@contextmanager
def running(tmp_path: Path, mode: str) -> Iterator[Started]:
    """An emulator with `--iam mode`, its log in tmp_path/emulator.log."""
    port = free_port()
    process = spawn(
        port, log_path=tmp_path / "emulator.log", extra_args=["--work-dir", str(tmp_path), "--iam", mode]
    )
    try:
        yield Started(endpoint_on(port), process, wait_healthy(endpoint_on(port), 30, process))
    finally:
        stop_child(process)


@pytest.fixture(params=["enforce", "audit"])
def emulator(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Started]:
    with running(tmp_path, request.param) as started:
        yield started


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Started]:
    """An emulator that enforces."""
    with running(tmp_path, "enforce") as enforcing:
        yield enforcing


def setup(endpoint: str, statements: list[dict[str, Any]]) -> Any:
    dynamodb = local_client("dynamodb", endpoint)
    dynamodb.create_table(
        TableName="Orders",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="Orders", Item={"PK": {"S": "ORDER#1"}})
    iam = local_client("iam", endpoint)
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="grants",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    fn = local_client("lambda", endpoint)
    fn.create_function(
        FunctionName="reader", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": CODE})}, Timeout=30,
    )  # fmt: skip
    return fn


def call(fn: Any, service: str, name: str, **args: Any) -> dict[str, Any]:
    payload = json.dumps({"service": service, "call": name, "args": args})
    return json.loads(fn.invoke(FunctionName="reader", Payload=payload)["Payload"].read())  # type: ignore[no-any-return]


def test_a_call_the_role_does_not_allow_is_denied_with_aws_s_message(emulator: Started) -> None:
    fn = setup(emulator.endpoint, [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN}])
    key = {"PK": {"S": "ORDER#1"}}
    assert call(fn, "dynamodb", "get_item", TableName="Orders", Key=key)["answer"]["Item"] == key
    deleted = call(fn, "dynamodb", "delete_item", TableName="Orders", Key=key)
    log = (Path(str(emulator.process.args[emulator.process.args.index("--log-file") + 1]))).read_text()  # type: ignore[index, union-attr]
    expected = (
        "User: arn:aws:sts::000000000000:assumed-role/reader/reader is not authorized to perform: "
        f"dynamodb:DeleteItem on resource: {TABLE_ARN} because no identity-based policy allows the "
        "dynamodb:DeleteItem action"
    )
    if "--iam" in emulator.process.args and emulator.process.args[-1] == "audit":  # type: ignore[index, operator]
        assert deleted["ok"], "audit lets the call through"
        assert f"IAM audit, would deny: {expected}" in log
    else:
        assert deleted == {"ok": False, "code": "AccessDeniedException", "message": expected}
        # the user's own calls are the account root's: allowed
        local_client("dynamodb", emulator.endpoint).delete_item(TableName="Orders", Key=key)


def test_functions_run_as_their_role_and_an_explicit_deny_wins(started: Started) -> None:
    fn = setup(
        started.endpoint,
        [
            {"Effect": "Allow", "Action": ["dynamodb:*", "sqs:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"},
        ],
    )
    identity = call(fn, "sts", "get_caller_identity")["answer"]
    assert identity["Arn"] == "arn:aws:sts::000000000000:assumed-role/reader/reader"
    url = local_client("sqs", started.endpoint).create_queue(QueueName="jobs")["QueueUrl"]
    sent = call(fn, "sqs", "send_message", QueueUrl=url, MessageBody="x")
    assert sent["ok"] is False and sent["code"] in ("AccessDenied", "AccessDeniedException")
    assert sent["message"].endswith(
        "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:000000000000:jobs with an explicit deny in an "
        "identity-based policy"
    )
    assert call(fn, "sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"])["ok"]


def test_a_changed_policy_applies_to_the_next_call(started: Started) -> None:
    fn = setup(started.endpoint, [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN}])
    key = {"PK": {"S": "ORDER#1"}}
    assert call(fn, "dynamodb", "put_item", TableName="Orders", Item=key)["ok"] is False
    local_client("iam", started.endpoint).put_role_policy(
        RoleName="reader",
        PolicyName="grants",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": TABLE_ARN}],
            }
        ),
    )
    time.sleep(0.1)
    assert call(fn, "dynamodb", "put_item", TableName="Orders", Item=key)["ok"] is True


def test_api_gateway_may_invoke_only_what_the_function_s_resource_policy_allows(started: Started) -> None:
    fn = setup(started.endpoint, [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}])
    v2 = local_client("apigatewayv2", started.endpoint)
    api = v2.create_api(Name="a", ProtocolType="HTTP")["ApiId"]
    arn = fn.get_function(FunctionName="reader")["Configuration"]["FunctionArn"]
    integration = v2.create_integration(
        ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    v2.create_route(ApiId=api, RouteKey="POST /read", Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api, StageName="$default")
    url = f"{started.endpoint}/_aws/execute-api/{api}/read"
    body = {"service": "sts", "call": "get_caller_identity", "args": {}}
    refused = requests.post(url, json=body, timeout=30)
    assert (refused.status_code, refused.json()) == (500, {"message": "Internal Server Error"})
    fn.add_permission(
        FunctionName="reader", StatementId="other-api", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn="arn:aws:execute-api:us-east-1:000000000000:other/*",
    )  # fmt: skip
    assert requests.post(url, json=body, timeout=30).status_code == 500, "another API's permission"
    fn.add_permission(
        FunctionName="reader", StatementId="this-route", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:us-east-1:000000000000:{api}/*/*/read",
    )  # fmt: skip
    assert requests.post(url, json=body, timeout=30).status_code == 200
    report = requests.get(f"{started.endpoint}/_emulator/iam/report", timeout=10).json()
    assert report == []  # sts is not a checked service, so nothing is counted


def test_a_mapping_polls_only_what_the_role_may_receive(started: Started, tmp_path: Path) -> None:
    fn = setup(started.endpoint, [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}])
    sqs = local_client("sqs", started.endpoint)
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fn.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="reader", BatchSize=1)
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"service": "sts", "call": "get_caller_identity", "args": {}}),
    )
    log = tmp_path / "emulator.log"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "work: not polled" not in log.read_text():
        time.sleep(0.2)
    assert "not authorized to perform: sqs:ReceiveMessage on resource: " + queue_arn in log.read_text()
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "1", "the message waits, untouched"


def test_sns_s3_lambda_and_cloudwatch_calls_are_checked_too(started: Started) -> None:
    topics = local_client("sns", started.endpoint)
    allowed_topic = topics.create_topic(Name="allowed")["TopicArn"]
    other_topic = topics.create_topic(Name="other")["TopicArn"]
    s3 = local_client("s3", started.endpoint)
    s3.create_bucket(Bucket="files")
    s3.put_object(Bucket="files", Key="public/a", Body=b"a")
    s3.put_object(Bucket="files", Key="private/b", Body=b"b")
    fn = setup(
        started.endpoint,
        [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": allowed_topic},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::files/public/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::files"},
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": "arn:aws:lambda:*:*:function:echo",
            },
        ],
    )
    fn.create_function(
        FunctionName="echo", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/reader",
        Handler="app.handler", Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return e\n"})},
    )  # fmt: skip

    def denied(answer: dict[str, Any], action: str, resource: str) -> bool:
        return answer["ok"] is False and answer["message"].startswith(
            f"User: arn:aws:sts::000000000000:assumed-role/reader/reader is not authorized to perform: "
            f"{action} on resource: {resource} because no identity-based policy allows"
        )

    assert call(fn, "sns", "publish", TopicArn=allowed_topic, Message="m")["ok"]
    refused = call(fn, "sns", "publish", TopicArn=other_topic, Message="m")
    assert refused["code"] == "AuthorizationError" and denied(refused, "sns:Publish", other_topic)

    assert call(fn, "s3", "list_objects_v2", Bucket="files")["ok"]
    assert call(fn, "s3", "head_object", Bucket="files", Key="public/a")["ok"]
    refused = call(fn, "s3", "head_object", Bucket="files", Key="private/b")
    assert refused["ok"] is False and refused["code"] in ("403", "AccessDenied")  # HEAD: no body, code only
    refused = call(fn, "s3", "put_object", Bucket="files", Key="public/c", Body="c")
    assert refused["code"] == "AccessDenied" and denied(
        refused, "s3:PutObject", "arn:aws:s3:::files/public/c"
    )

    assert call(fn, "lambda", "invoke", FunctionName="echo", Payload="{}")["ok"]
    refused = call(fn, "lambda", "invoke", FunctionName="reader", Payload="{}")
    reader = "arn:aws:lambda:us-east-1:000000000000:function:reader"
    assert refused["code"] == "AccessDeniedException" and denied(refused, "lambda:InvokeFunction", reader)

    metric = [{"MetricName": "Orders", "Value": 1.0}]
    refused = call(fn, "cloudwatch", "put_metric_data", Namespace="App", MetricData=metric)
    assert refused["code"] == "AccessDenied" and denied(refused, "cloudwatch:PutMetricData", "*")
