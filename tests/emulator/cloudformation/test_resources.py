"""CloudFormation types the emulator adds to moto: created for real, updated in place, deleted."""

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from emulator.lambda_.runtime import LambdaRuntime
from tests.emulator.helpers import code_zip

TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def template(route_key: str = "GET /orders/{orderId}", threshold: int = 1) -> str:
    return json.dumps(
        {
            "Resources": {
                "Meta": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2"}},
                "Api": {
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {"Name": "orders", "ProtocolType": "HTTP"},
                },
                "Integration": {
                    "Type": "AWS::ApiGatewayV2::Integration",
                    "Properties": {
                        "ApiId": {"Ref": "Api"},
                        "IntegrationType": "AWS_PROXY",
                        "IntegrationUri": "arn:aws:lambda:us-east-1:123456789012:function:f",
                        "PayloadFormatVersion": "2.0",
                    },
                },
                "Route": {
                    "Type": "AWS::ApiGatewayV2::Route",
                    "Properties": {
                        "ApiId": {"Ref": "Api"},
                        "RouteKey": route_key,
                        "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "Integration"}]]},
                    },
                },
                "Stage": {
                    "Type": "AWS::ApiGatewayV2::Stage",
                    "Properties": {
                        "ApiId": {"Ref": "Api"},
                        "StageName": "$default",
                        "AutoDeploy": True,
                        "DefaultRouteSettings": {"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 2},
                    },
                },
                "Queue": {"Type": "AWS::SQS::Queue"},
                "QueuePolicy": {
                    "Type": "AWS::SQS::QueuePolicy",
                    "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": TLS_ONLY},
                },
                "Topic": {"Type": "AWS::SNS::Topic"},
                "TopicPolicy": {
                    "Type": "AWS::SNS::TopicPolicy",
                    "Properties": {
                        "Topics": [{"Ref": "Topic"}],
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": []},
                    },
                },
                "Subscription": {
                    "Type": "AWS::SNS::Subscription",
                    "Properties": {
                        "TopicArn": {"Ref": "Topic"},
                        "Protocol": "email",
                        "Endpoint": "ops@example.com",
                    },
                },
                "Alarm": {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateNumberOfMessagesVisible",
                        "Dimensions": [
                            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}
                        ],
                        "Statistic": "Maximum",
                        "Period": 60,
                        "EvaluationPeriods": 1,
                        "Threshold": threshold,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                        "AlarmActions": [{"Ref": "Topic"}],
                    },
                },
            },
            "Outputs": {
                "ApiId": {"Value": {"Ref": "Api"}},
                "ApiEndpoint": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}},
                "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
            },
        }
    )


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with moto.mock_aws():
        yield {
            name: boto3.client(name, region_name="us-east-1")
            for name in ("cloudformation", "apigatewayv2", "cloudwatch", "sqs", "sns")
        }


def outputs(cfn: Any) -> dict[str, str]:
    return {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="s")["Stacks"][0]["Outputs"]
    }


def test_create_update_delete(aws: dict[str, Any]) -> None:
    cfn, v2 = aws["cloudformation"], aws["apigatewayv2"]
    cfn.create_stack(StackName="s", TemplateBody=template())
    out = outputs(cfn)
    api_id = out["ApiId"]
    assert out["ApiEndpoint"] == f"https://{api_id}.execute-api.us-east-1.amazonaws.com"
    [route] = v2.get_routes(ApiId=api_id)["Items"]
    [integration] = v2.get_integrations(ApiId=api_id)["Items"]
    assert route["RouteKey"] == "GET /orders/{orderId}"
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    assert integration["PayloadFormatVersion"] == "2.0"
    [stage] = v2.get_stages(ApiId=api_id)["Items"]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 2

    [alarm] = aws["cloudwatch"].describe_alarms()["MetricAlarms"]
    assert alarm["AlarmArn"] == out["AlarmArn"] and alarm["Threshold"] == 1
    topic = aws["sns"].list_topics()["Topics"][0]["TopicArn"]
    assert alarm["AlarmActions"] == [topic]
    assert json.loads(aws["sns"].get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == {
        "Version": "2012-10-17",
        "Statement": [],
    }
    [subscription] = aws["sns"].list_subscriptions()["Subscriptions"]
    assert subscription["Endpoint"] == "ops@example.com"
    queue = aws["sqs"].list_queues()["QueueUrls"][0]
    policy = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"][
        "Policy"
    ]
    assert json.loads(policy) == TLS_ONLY
    listed = cfn.describe_stack_resources(StackName="s")["StackResources"]
    assert {r["LogicalResourceId"]: r["ResourceType"] for r in listed} == {
        name: resource["Type"] for name, resource in json.loads(template())["Resources"].items()
    }, "every resource with its id and type, the CDK's metadata too"
    assert all(r["PhysicalResourceId"] for r in listed)

    assert alarm["StateValue"] == "INSUFFICIENT_DATA"  # as AWS starts every new alarm
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"

    aws["cloudwatch"].set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="test")
    cfn.update_stack(StackName="s", TemplateBody=template(route_key="GET /orders/{id}", threshold=3))
    assert outputs(cfn)["ApiId"] == api_id  # the API is updated in place
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]] == ["GET /orders/{id}"]
    [updated] = aws["cloudwatch"].describe_alarms()["MetricAlarms"]
    assert (updated["Threshold"], updated["StateValue"]) == (3, "ALARM")  # new configuration, same state

    cfn.delete_stack(StackName="s")
    assert v2.get_apis()["Items"] == []
    assert aws["cloudwatch"].describe_alarms()["MetricAlarms"] == []
    assert aws["sns"].list_subscriptions()["Subscriptions"] == []


def test_change_sets_publish_outputs(aws: dict[str, Any]) -> None:
    cfn = aws["cloudformation"]
    cfn.create_change_set(StackName="s", TemplateBody=template(), ChangeSetName="c1", ChangeSetType="CREATE")
    cfn.execute_change_set(ChangeSetName="c1", StackName="s")
    assert set(outputs(cfn)) == {"ApiId", "ApiEndpoint", "AlarmArn"}


def function_template(key: str) -> str:
    """A function whose code is an S3 object, the way CDK publishes assets."""
    return json.dumps(
        {
            "Resources": {
                "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "python3.12",
                        "Handler": "app.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": {"S3Bucket": "assets", "S3Key": key},
                        "LoggingConfig": {"LogGroup": "/custom/fn"},
                    },
                },
            },
            "Outputs": {"Name": {"Value": {"Ref": "Fn"}}},
        }
    )


def test_a_stack_update_replaces_function_code_and_keeps_its_logging_config(tmp_path: Path) -> None:
    runtime = LambdaRuntime("123456789012", tmp_path, "http://127.0.0.1:1")
    with moto.mock_aws(), contextlib.closing(runtime):
        cfn, awslambda, s3 = (
            boto3.client(n, region_name="us-east-1") for n in ("cloudformation", "lambda", "s3")
        )
        s3.create_bucket(Bucket="assets")
        for version in (1, 2):
            s3.put_object(
                Bucket="assets",
                Key=f"v{version}.zip",
                Body=code_zip({"app.py": f"def handler(e, c):\n    return {version}\n"}),
            )
        cfn.create_stack(StackName="f", TemplateBody=function_template("v1.zip"))
        name = cfn.describe_stacks(StackName="f")["Stacks"][0]["Outputs"][0]["OutputValue"]
        before = awslambda.get_function(FunctionName=name)["Configuration"]
        assert runtime.invoke("us-east-1", name, b"{}").payload == b"1"
        cfn.create_change_set(
            StackName="f",
            ChangeSetName="update",
            ChangeSetType="UPDATE",
            TemplateBody=function_template("v2.zip"),
        )
        cfn.execute_change_set(StackName="f", ChangeSetName="update")
        after = awslambda.get_function(FunctionName=name)["Configuration"]
        assert after["CodeSha256"] != before["CodeSha256"]
        # the new code runs: the runtime retires the version it had warm and starts the new one
        assert runtime.invoke("us-east-1", name, b"{}").payload == b"2"
        assert after["LoggingConfig"]["LogGroup"] == "/custom/fn"
        # cdk deploy checks a change set it just deleted is gone: AWS's ChangeSetNotFound, not a stack error
        cfn.delete_change_set(StackName="f", ChangeSetName="update")
        with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
            cfn.describe_change_set(StackName="f", ChangeSetName="update")
        # ... and deletes it before every deploy, whether or not one is left: AWS answers 200
        cfn.delete_change_set(StackName="f", ChangeSetName="update")
