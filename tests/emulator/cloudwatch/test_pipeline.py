"""The console's pipeline page (a dashboard of whatever is deployed) and an alarm's history page."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from emulator.cloudwatch import dashboards, pipeline
from emulator.cloudwatch.metrics import MetricRecorder
from emulator.console import PIPELINE_PATH

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def deployed() -> Iterator[dict[str, Any]]:
    with moto.mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
        sqs.create_queue(QueueName="orders", Attributes={"RedrivePolicy": redrive})
        api = boto3.client("apigatewayv2", region_name=REGION).create_api(Name="shop", ProtocolType="HTTP")
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])  # fmt: skip
        for key in ("a", "b"):
            dynamodb.put_item(TableName="orders", Item={"PK": {"S": key}})
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="create", Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )  # fmt: skip
        yield {"api": api["ApiId"], "cloudwatch": boto3.client("cloudwatch", region_name=REGION)}


def test_the_pipeline_page_shows_what_is_deployed(deployed: dict[str, Any]) -> None:
    widgets = {w["properties"]["title"]: w for w in pipeline.widgets(ACCOUNT, REGION)}
    api = widgets["API shop: requests, 4xx and 5xx"]["properties"]["metrics"]
    assert [row[1] for row in api] == ["Count", "4xx", "5xx"] and {row[3] for row in api} == {deployed["api"]}
    queues = widgets["Queues: depth, and the oldest message's age (right, s)"]["properties"]["metrics"]
    assert {row[3] for row in queues} == {"orders"}  # the DLQ apart
    assert [row[3] for row in widgets["Dead-letter queues: depth"]["properties"]["metrics"]] == ["orders-dlq"]
    assert widgets["Tables (items now)"]["properties"]["markdown"] == "orders: 2 items"
    create = widgets["create: invocations, errors, throttles, p95 duration (right, ms)"]["properties"][
        "metrics"
    ]
    assert [(row[1], row[4]["stat"]) for row in create] == [
        ("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p95"),
    ]  # fmt: skip
    environ = {"PATH_INFO": PIPELINE_PATH, "REQUEST_METHOD": "GET", "QUERY_STRING": "minutes=15"}
    answer = dashboards.console(environ, ACCOUNT, REGION, MetricRecorder())
    assert answer is not None and answer.status == 200 and b"orders: 2 items" in answer.body


def test_an_alarm_s_page_lists_its_state_changes(deployed: dict[str, Any]) -> None:
    cloudwatch = deployed["cloudwatch"]
    cloudwatch.put_metric_alarm(AlarmName="dlq <not empty>", Namespace="AWS/SQS", MetricName="Visible",
                                Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")  # fmt: skip
    cloudwatch.set_alarm_state(
        AlarmName="dlq <not empty>", StateValue="ALARM", StateReason="a poison message"
    )

    def get(path: str) -> Any:
        return dashboards.console(
            {"PATH_INFO": path, "REQUEST_METHOD": "GET"}, ACCOUNT, REGION, MetricRecorder()
        )

    index = get("/_emulator/console").body.decode()
    assert 'href="/_emulator/console/alarms/dlq%20%3Cnot%20empty%3E"' in index
    page = get("/_emulator/console/alarms/dlq%20%3Cnot%20empty%3E").body.decode()
    assert "Alarm updated from INSUFFICIENT_DATA to ALARM" in page and "a poison message" in page
    assert "dlq &lt;not empty&gt;" in page and "<not empty>" not in page
    assert get("/_emulator/console/alarms/nope").status == 404
