"""Assertions on the synthesized OrdersStack template, for both targets, plus cdk-nag."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from app import build
from aws_cdk.assertions import Match, Template
from orders_infra.settings import Settings
from orders_infra.stack import OrdersStack


def synth(**context: Any) -> Template:
    # Bundling skipped: these tests look at the template, the asset build is covered by `make synth`.
    # The CDK's CloudFormation validation (most of a synth's time) runs once, in the cdk-nag test.
    app = cdk.App(
        builtin_cloud_formation_validation=False, context={"aws:cdk:bundling-stacks": [], **context}
    )
    stack = OrdersStack(app, "OrdersStack", settings=Settings.from_context(app.node))
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def aws() -> Template:
    return synth()


@pytest.fixture(scope="module")
def local() -> Template:
    return synth(target="local")


def only(template: Template, type_: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = template.find_resources(type_).items()
    return logical_id, resource


def function_ids(template: Template) -> dict[str, str]:
    """Handler name -> logical id of its Lambda function."""
    return {
        r["Properties"]["Handler"]: lid for lid, r in template.find_resources("AWS::Lambda::Function").items()
    }


def test_resource_counts(aws: Template) -> None:
    for type_, count in {
        "AWS::Lambda::Function": 3,
        "AWS::IAM::Role": 3,
        "AWS::SQS::Queue": 2,
        "AWS::DynamoDB::Table": 1,
        "AWS::Lambda::EventSourceMapping": 1,
        "AWS::ApiGatewayV2::Api": 1,
        "AWS::ApiGatewayV2::Route": 2,
        "AWS::ApiGatewayV2::Integration": 2,
        "AWS::ApiGatewayV2::Stage": 1,
        "AWS::Logs::LogGroup": 4,
        "AWS::CloudWatch::Alarm": 8,
        "AWS::SNS::Topic": 1,
        "AWS::SNS::Subscription": 0,
        "AWS::CloudWatch::Dashboard": 1,
    }.items():
        aws.resource_count_is(type_, count)


def test_functions(aws: Template) -> None:
    ids = function_ids(aws)
    [table_id] = aws.find_resources("AWS::DynamoDB::Table")
    queues = aws.find_resources("AWS::SQS::Queue")
    [queue_id] = [k for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
    assert set(ids) == {"create_order.handler", "process_order.handler", "get_order.handler"}
    timeouts = {"create_order.handler": 10, "process_order.handler": 30, "get_order.handler": 10}
    for handler, timeout in timeouts.items():
        props = aws.to_json()["Resources"][ids[handler]]["Properties"]
        assert props["Runtime"] == "python3.14"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Timeout"] == timeout
        assert props["MemorySize"] == 256
        assert "LogGroup" in props["LoggingConfig"]
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "orders"
        assert env["TABLE_NAME"] == {"Ref": table_id}  # the orders table, not any Ref

    def env(handler: str) -> dict[str, Any]:
        return dict(aws.to_json()["Resources"][ids[handler]]["Properties"]["Environment"]["Variables"])

    # the orders queue, not its DLQ: CreateOrder sends to it, ProcessOrder releases a poison record in it
    for handler in ("create_order.handler", "process_order.handler"):
        assert env(handler)["QUEUE_URL"] == {"Ref": queue_id}
    assert "IDEMPOTENCY_PARTITION" not in env("process_order.handler")  # nothing it does not use
    assert "QUEUE_URL" not in env("get_order.handler") and "IDEMPOTENCY_PARTITION" not in env(
        "get_order.handler"
    )


def test_log_groups_have_retention(aws: Template, local: Template) -> None:
    for template, days, policy in ((aws, 30, "Retain"), (local, 7, "Delete")):
        for group in template.find_resources("AWS::Logs::LogGroup").values():
            assert group["Properties"]["RetentionInDays"] == days
            assert group["DeletionPolicy"] == policy


def test_queues(aws: Template, local: Template) -> None:
    for template, visibility in ((aws, 180), (local, 12)):
        queues = template.find_resources("AWS::SQS::Queue")
        [(queue_id, queue)] = [(k, v) for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
        [dlq_id] = [k for k in queues if k != queue_id]
        assert queue["Properties"]["VisibilityTimeout"] == visibility
        assert queue["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": 5,
        }
        for q in queues.values():
            assert q["Properties"]["SqsManagedSseEnabled"] is True
        assert queues[dlq_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        template.resource_count_is("AWS::SQS::QueuePolicy", 2)
        template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "PolicyDocument": {
                    "Statement": [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Action": "sqs:*",
                            }
                        )
                    ]
                }
            },
        )


@pytest.mark.parametrize("target", ["aws", "local"])
def test_visibility_is_at_least_six_times_the_consumer_timeout(
    target: str, request: pytest.FixtureRequest
) -> None:
    template: Template = request.getfixturevalue(target)
    ids = function_ids(template)
    timeout = template.to_json()["Resources"][ids["process_order.handler"]]["Properties"]["Timeout"]
    queue = next(
        q for q in template.find_resources("AWS::SQS::Queue").values() if "RedrivePolicy" in q["Properties"]
    )
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_local_retries_reach_the_dlq_in_a_minute(local: Template) -> None:
    queue = next(
        q for q in local.find_resources("AWS::SQS::Queue").values() if "RedrivePolicy" in q["Properties"]
    )
    visibility = queue["Properties"]["VisibilityTimeout"]
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] * visibility <= 60


def test_event_source_mapping(aws: Template, local: Template) -> None:
    ids = function_ids(aws)
    aws.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": ids["process_order.handler"]},
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    _, mapping = only(local, "AWS::Lambda::EventSourceMapping")
    assert "MaximumBatchingWindowInSeconds" not in mapping["Properties"]


def test_table(aws: Template, local: Template) -> None:
    aws.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
            },
            "DeletionPolicy": "Retain",
        },
    )
    local.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


def test_http_api(aws: Template) -> None:
    _, api = only(aws, "AWS::ApiGatewayV2::Api")
    assert api["Properties"]["ProtocolType"] == "HTTP"
    routes = {r["Properties"]["RouteKey"] for r in aws.find_resources("AWS::ApiGatewayV2::Route").values()}
    assert routes == {"POST /orders", "GET /orders/{orderId}"}
    for integration in aws.find_resources("AWS::ApiGatewayV2::Integration").values():
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
        assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    _, stage = only(aws, "AWS::ApiGatewayV2::Stage")
    assert stage["Properties"]["StageName"] == "$default"
    assert stage["Properties"]["AutoDeploy"] is True
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 200,
        "ThrottlingRateLimit": 100,
    }
    assert "DestinationArn" in stage["Properties"]["AccessLogSettings"]


def test_throttling_comes_from_context() -> None:
    template = synth(apiRateLimit=5, apiBurstLimit=7)
    _, stage = only(template, "AWS::ApiGatewayV2::Stage")
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 7,
        "ThrottlingRateLimit": 5,
    }


def test_alarms_all_notify_the_topic(aws: Template) -> None:
    topic_id, topic = only(aws, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    alarms = aws.find_resources("AWS::CloudWatch::Alarm").values()
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}], "told when it is over too"
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"
    metrics = sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms)
    assert metrics == sorted(
        [("AWS/Lambda", "Errors")] * 3
        + [("AWS/Lambda", "Throttles")] * 3
        + [("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    )
    dlq_alarm = next(
        a for a in alarms if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    )
    assert dlq_alarm["Properties"]["Threshold"] == 1
    assert dlq_alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_alarm_periods_are_aws_s_on_aws_and_ten_seconds_locally(aws: Template, local: Template) -> None:
    periods = {
        a["Properties"]["MetricName"]: a["Properties"]["Period"]
        for a in aws.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert periods == {
        "Errors": 300,
        "Throttles": 300,
        "ApproximateAgeOfOldestMessage": 60,
        "ApproximateNumberOfMessagesVisible": 60,
    }
    assert {a["Properties"]["Period"] for a in local.find_resources("AWS::CloudWatch::Alarm").values()} == {
        10
    }


def test_alarm_email_subscribes_when_set() -> None:
    template = synth(alarmEmail="oncall@example.com")
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_outputs(aws: Template) -> None:
    assert set(aws.to_json()["Outputs"]) == {
        "ApiUrl", "ApiId", "QueueUrl", "DlqUrl", "TableName", "AlarmTopicArn", "DashboardName",
        "CreateOrderLogGroup", "ProcessOrderLogGroup", "GetOrderLogGroup", "ApiAccessLogGroup",
    }  # fmt: skip
    outputs = aws.to_json()["Outputs"]
    resources = aws.to_json()["Resources"]
    for output, handler in (
        ("CreateOrderLogGroup", "create_order"),
        ("ProcessOrderLogGroup", "process_order"),
        ("GetOrderLogGroup", "get_order"),
    ):  # each names the log group its function writes to
        function = resources[function_ids(aws)[f"{handler}.handler"]]
        assert outputs[output]["Value"] == function["Properties"]["LoggingConfig"]["LogGroup"], output


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="target must be one of aws, local"):
        synth(target="staging")


def policy_statements(template: Template, handler: str) -> list[dict[str, Any]]:
    function = template.to_json()["Resources"][function_ids(template)[handler]]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    roles = template.find_resources("AWS::IAM::Role")
    assert "ManagedPolicyArns" not in roles[role_id]["Properties"]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def refs(template: Template) -> dict[str, Any]:
    tables = list(template.find_resources("AWS::DynamoDB::Table"))
    queues = template.find_resources("AWS::SQS::Queue")
    [queue] = [k for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
    groups = template.find_resources("AWS::Logs::LogGroup")
    return {
        "table": {"Fn::GetAtt": [tables[0], "Arn"]},
        "queue": {"Fn::GetAtt": [queue, "Arn"]},
        "groups": groups,
    }


XRAY = {"Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Effect": "Allow", "Resource": "*"}


def log_write(template: Template, handler: str) -> dict[str, Any]:
    function = template.to_json()["Resources"][function_ids(template)[handler]]
    group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    return {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [group, "Arn"]},
    }


def test_iam_is_least_privilege(aws: Template) -> None:
    r = refs(aws)
    assert policy_statements(aws, "create_order.handler") == [
        log_write(aws, "create_order.handler"),
        XRAY,
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": r["queue"]},
        {
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["IDEMPOTENCY#create_order"]}
            },
            "Effect": "Allow",
            "Resource": r["table"],
        },
    ]
    assert policy_statements(aws, "process_order.handler") == [
        log_write(aws, "process_order.handler"),
        XRAY,
        {"Action": "dynamodb:PutItem", "Effect": "Allow", "Resource": r["table"]},
        {
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueUrl",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            "Effect": "Allow",
            "Resource": r["queue"],
        },
    ]
    assert policy_statements(aws, "get_order.handler") == [
        log_write(aws, "get_order.handler"),
        XRAY,
        {"Action": "dynamodb:GetItem", "Effect": "Allow", "Resource": r["table"]},
    ]


def test_create_order_gets_the_one_partition_its_role_may_touch(aws: Template) -> None:
    function = aws.to_json()["Resources"][function_ids(aws)["create_order.handler"]]
    partition = function["Properties"]["Environment"]["Variables"]["IDEMPOTENCY_PARTITION"]
    [condition] = [s["Condition"] for s in policy_statements(aws, "create_order.handler") if "Condition" in s]
    assert condition == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [partition]}}
    assert not partition.startswith("ORDER#")  # never an order's partition


def validation_findings(assembly: cdk.cx_api.CloudAssembly) -> list[Any]:
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    return [violation for plugin in report["pluginReports"] for violation in plugin["violations"]]


@pytest.mark.parametrize("target", ["aws", "local"])
def test_cdk_nag_and_the_cdk_s_cloudformation_validation_find_nothing(target: str) -> None:
    # the app as `cdk synth` builds it (cdk/app.py): cdk-nag fails the synth on a finding, the CDK's
    # own validation (which local deploys skip, as the template is the same) only warns
    assembly = build(cdk.App(context={"aws:cdk:bundling-stacks": [], "target": target})).synth()
    assert validation_findings(assembly) == []


def test_the_cdk_s_cloudformation_validation_reports_a_finding() -> None:
    """Guards the test above: a broken resource shows in the validation report."""
    app = build(cdk.App(context={"aws:cdk:bundling-stacks": []}))
    cdk.CfnResource(app.node.find_child("OrdersStack"), "Broken", type="AWS::SQS::Queue",
                    properties={"VisibilityTimeout": "soon"})  # fmt: skip
    assert validation_findings(app.synth()) != []


def test_the_app_runs_cdk_nag() -> None:
    """Guards the test above: cdk/app.py adds cdk-nag, which fails synth on a finding."""
    from aws_cdk import aws_sqs as sqs

    app = build(cdk.App(builtin_cloud_formation_validation=False, context={"aws:cdk:bundling-stacks": []}))
    sqs.Queue(app.node.find_child("OrdersStack"), "Plain")
    with pytest.raises(Exception, match="AwsSolutions-SQS4"):
        app.synth()


def test_hot_reload_runs_the_functions_from_this_machine_s_folder(local: Template) -> None:
    reloaded = synth(target="local", hotReload="true")
    codes = [r["Properties"]["Code"] for r in reloaded.find_resources("AWS::Lambda::Function").values()]
    functions_dir = str(Path(__file__).resolve().parents[2] / "functions")
    assert codes == [{"S3Bucket": "hot-reload", "S3Key": functions_dir}] * 3  # LocalStack's convention
    # their packages in a layer (LocalStack and Floci run the folder with nothing else)
    [layer] = reloaded.find_resources("AWS::Lambda::LayerVersion")
    assert [r["Properties"]["Layers"] for r in reloaded.find_resources("AWS::Lambda::Function").values()] == [
        [{"Ref": layer}]
    ] * 3
    assert local.find_resources("AWS::Lambda::LayerVersion") == {}  # bundled: no layer
    assert all("S3Bucket" in r["Properties"]["Code"] and "hot-reload" not in json.dumps(r["Properties"]["Code"])
               for r in local.find_resources("AWS::Lambda::Function").values())  # fmt: skip
    with pytest.raises(ValueError, match="local target only"):
        synth(hotReload="true")
