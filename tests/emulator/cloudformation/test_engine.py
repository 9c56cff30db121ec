"""Stack updates as CloudFormation applies them: in place with the data kept, replacement where a
create-only property changes, removed resources deleted, and a failure rolled back."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from emulator.cloudformation import engine

KEY = {"KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}]}
PK = [{"AttributeName": "PK", "AttributeType": "S"}]


def table(name: str | None = None, gsi: bool = False, key: str = "PK") -> dict[str, Any]:
    properties: dict[str, Any] = {
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if name:
        properties["TableName"] = name
    if gsi:
        properties["AttributeDefinitions"].append({"AttributeName": "G", "AttributeType": "S"})
        properties["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "byG",
                "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    return {"Type": "AWS::DynamoDB::Table", "Properties": properties}


def stack(
    *, gsi: bool = False, memory: int = 256, max_receive: int = 5, key: str = "PK", **extra: dict[str, Any]
) -> str:
    """A small pipeline: a table a function is told about, a queue with its DLQ."""
    resources: dict[str, Any] = {
        "Table": table(gsi=gsi, key=key),
        "Dlq": {"Type": "AWS::SQS::Queue"},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                    "maxReceiveCount": max_receive,
                }
            },
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "MemorySize": memory,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"},
                "Environment": {"Variables": {"TABLE_NAME": {"Ref": "Table"}}},
            },
        },
        **extra,
    }
    outputs = {"TableName": {"Value": {"Ref": "Table"}}, "FunctionName": {"Value": {"Ref": "Fn"}}}
    return json.dumps({"Resources": resources, "Outputs": outputs})


@pytest.fixture
def aws() -> Iterator[Any]:
    with moto.mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def described(cfn: Any, name: str = "s") -> dict[str, Any]:
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def outputs(cfn: Any, name: str = "s") -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in described(cfn, name).get("Outputs", [])}


def physical_ids(cfn: Any, name: str = "s") -> dict[str, str]:
    return {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
    }


def events(cfn: Any, name: str = "s") -> list[tuple[str, str]]:
    """(logical id, status) oldest first."""
    listed = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(listed)]


def queue_url(aws: Any, cfn: Any, logical_id: str) -> str:
    return physical_ids(cfn)[logical_id]


def test_an_added_index_an_output_and_a_changed_redrive_keep_the_items_and_messages(aws: Any) -> None:
    cfn, ddb, sqs = aws("cloudformation"), aws("dynamodb"), aws("sqs")
    cfn.create_stack(StackName="s", TemplateBody=stack())
    name, before = outputs(cfn)["TableName"], physical_ids(cfn)
    ddb.put_item(TableName=name, Item={"PK": {"S": "order"}, "G": {"S": "eur"}})
    sqs.send_message(QueueUrl=before["Queue"], MessageBody="waiting")

    cfn.update_stack(
        StackName="s",
        TemplateBody=stack(gsi=True, max_receive=3, Extra={"Type": "AWS::SQS::Queue"}),
    )

    assert described(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    after = physical_ids(cfn)
    assert {k: v for k, v in after.items() if k != "Extra"} == before, "updated in place, nothing replaced"
    found = ddb.query(
        TableName=name,
        IndexName="byG",
        KeyConditionExpression="G = :g",
        ExpressionAttributeValues={":g": {"S": "eur"}},
    )
    assert found["Count"] == 1, "the new index serves the item the table already had"
    redrive = sqs.get_queue_attributes(QueueUrl=before["Queue"], AttributeNames=["All"])["Attributes"]
    assert json.loads(redrive["RedrivePolicy"])["maxReceiveCount"] == 3
    assert redrive["ApproximateNumberOfMessages"] == "1"
    assert outputs(cfn)["TableName"] == name
    assert ("Extra", "CREATE_COMPLETE") in events(cfn)


def test_a_create_only_change_replaces_the_resource_and_what_refers_to_it_follows(aws: Any) -> None:
    cfn, ddb, awslambda = aws("cloudformation"), aws("dynamodb"), aws("lambda")
    cfn.create_stack(StackName="s", TemplateBody=stack())
    old = outputs(cfn)["TableName"]

    cfn.update_stack(StackName="s", TemplateBody=stack(key="ID"))  # KeySchema: replacement (user guide)

    new = outputs(cfn)["TableName"]
    assert new != old, "a generated name gets a new generated name"
    assert ddb.describe_table(TableName=new)["Table"]["KeySchema"][0]["AttributeName"] == "ID"
    assert old not in ddb.list_tables()["TableNames"], "the old table is deleted at cleanup"
    environment = awslambda.get_function_configuration(FunctionName=outputs(cfn)["FunctionName"])[
        "Environment"
    ]
    assert environment["Variables"]["TABLE_NAME"] == new, "the function's Ref follows the replacement"
    statuses = events(cfn)
    assert statuses.index(("Table", "CREATE_COMPLETE")) < statuses.index(
        ("s", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    )
    assert statuses.index(("Table", "DELETE_COMPLETE")) > statuses.index(
        ("s", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    )


def test_a_custom_named_resource_that_needs_replacing_fails_the_update_as_on_aws(aws: Any) -> None:
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=stack(Named=table("named")))
    cfn.update_stack(StackName="s", TemplateBody=stack(Named=table("named", key="ID")))
    assert described(cfn)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    [reason] = [
        e["ResourceStatusReason"]
        for e in cfn.describe_stack_events(StackName="s")["StackEvents"]
        if e["ResourceStatus"] == "UPDATE_FAILED"
    ]
    assert "custom-named resource requires replacing" in reason and "named" in reason


def test_a_failed_update_rolls_back_every_change_and_the_stack_can_be_updated_again(aws: Any) -> None:
    cfn, ddb, awslambda = aws("cloudformation"), aws("dynamodb"), aws("lambda")
    cfn.create_stack(StackName="s", TemplateBody=stack())
    name, function = outputs(cfn)["TableName"], outputs(cfn)["FunctionName"]
    ddb.put_item(TableName=name, Item={"PK": {"S": "order"}})
    ddb.create_table(TableName="taken", AttributeDefinitions=PK, BillingMode="PAY_PER_REQUEST", **KEY)
    template = cfn.get_template(StackName="s")["TemplateBody"]

    # the function is updated first (dependency order), then the table's create fails
    cfn.update_stack(StackName="s", TemplateBody=stack(memory=512, gsi=True, Taken=table("taken")))

    assert described(cfn)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert awslambda.get_function_configuration(FunctionName=function)["MemorySize"] == 256
    assert not ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes")
    assert ddb.get_item(TableName=name, Key={"PK": {"S": "order"}})["Item"]
    assert ddb.describe_table(TableName="taken")["Table"]["TableName"] == "taken", "not the stack's to delete"
    assert set(physical_ids(cfn)) == {"Table", "Dlq", "Queue", "Role", "Fn"}
    assert cfn.get_template(StackName="s")["TemplateBody"] == template
    listed = cfn.describe_stack_events(StackName="s")["StackEvents"]
    [failure] = [e for e in listed if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failure["LogicalResourceId"] == "Taken" and "already exists" in failure["ResourceStatusReason"]
    assert ("s", "UPDATE_ROLLBACK_IN_PROGRESS") in events(cfn)

    cfn.update_stack(StackName="s", TemplateBody=stack(memory=512, Free=table("free")))
    assert described(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    assert awslambda.get_function_configuration(FunctionName=function)["MemorySize"] == 512


def test_a_failed_create_leaves_nothing_and_ends_in_rollback_complete(aws: Any) -> None:
    cfn, ddb, sqs = aws("cloudformation"), aws("dynamodb"), aws("sqs")
    ddb.create_table(TableName="taken", AttributeDefinitions=PK, BillingMode="PAY_PER_REQUEST", **KEY)
    cfn.create_change_set(
        StackName="s", ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=stack(Taken=table("taken"))
    )
    cfn.execute_change_set(StackName="s", ChangeSetName="c")
    assert described(cfn)["StackStatus"] == "ROLLBACK_COMPLETE"
    assert cfn.describe_change_set(StackName="s", ChangeSetName="c")["ExecutionStatus"] == "EXECUTE_FAILED"
    assert cfn.describe_stack_resources(StackName="s")["StackResources"] == []
    assert sqs.list_queues().get("QueueUrls", []) == [] and ddb.list_tables()["TableNames"] == ["taken"]
    with pytest.raises(ClientError, match="ROLLBACK_COMPLETE state and can not be updated"):
        cfn.update_stack(StackName="s", TemplateBody=stack())


def test_removed_resources_are_deleted_after_the_rest_succeeded(aws: Any) -> None:
    cfn, sqs = aws("cloudformation"), aws("sqs")
    cfn.create_stack(StackName="s", TemplateBody=stack(Extra={"Type": "AWS::SQS::Queue"}))
    extra = physical_ids(cfn)["Extra"]
    cfn.update_stack(StackName="s", TemplateBody=stack())
    assert "Extra" not in physical_ids(cfn)
    assert extra not in sqs.list_queues()["QueueUrls"]
    assert events(cfn)[-3:] == [
        ("Extra", "DELETE_IN_PROGRESS"),
        ("Extra", "DELETE_COMPLETE"),
        ("s", "UPDATE_COMPLETE"),
    ]


def test_a_rollback_that_fails_stops_and_continue_update_rollback_finishes_it(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn, awslambda, ddb = aws("cloudformation"), aws("lambda"), aws("dynamodb")
    cfn.create_stack(StackName="s", TemplateBody=stack())
    function = outputs(cfn)["FunctionName"]
    ddb.create_table(TableName="taken", AttributeDefinitions=PK, BillingMode="PAY_PER_REQUEST", **KEY)
    converge = engine._converge["AWS::Lambda::Function"]
    calls = []

    def fails_going_back(resource: Any, old: dict[str, Any], new: dict[str, Any], *args: Any) -> Any:
        calls.append(new["MemorySize"])
        if new["MemorySize"] == 256 and len(calls) == 2:
            raise RuntimeError("the function is busy")
        return converge(resource, old, new, *args)

    monkeypatch.setitem(engine._converge, "AWS::Lambda::Function", fails_going_back)
    cfn.update_stack(StackName="s", TemplateBody=stack(memory=512, Taken=table("taken")))
    assert described(cfn)["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    with pytest.raises(ClientError, match="UPDATE_ROLLBACK_FAILED state and can not be updated"):
        cfn.update_stack(StackName="s", TemplateBody=stack())

    cfn.continue_update_rollback(StackName="s")
    assert described(cfn)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert awslambda.get_function_configuration(FunctionName=function)["MemorySize"] == 256
    with pytest.raises(ClientError, match="can not continue update rollback"):
        cfn.continue_update_rollback(StackName="s")


def test_dependency_order_follows_refs_getatts_subs_and_depends_on() -> None:
    resources = {
        "A": {"Properties": {"X": {"Fn::Sub": "${B.Arn}-${C}-${!Literal}-${AWS::Region}"}}},
        "B": {"DependsOn": "D", "Properties": {}},
        "C": {"Properties": {"Y": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "D"}}]}}},
        "D": {"Properties": {"Z": {"Fn::GetAtt": "E.Arn"}}},
        "E": {"Properties": {}},
    }
    order = engine.dependency_order(resources)
    for before, after in (("B", "A"), ("C", "A"), ("D", "B"), ("D", "C"), ("E", "D")):
        assert order.index(before) < order.index(after), (before, after, order)


def test_a_role_with_managed_policies_is_deleted_by_a_rollback_and_by_an_update(aws: Any) -> None:
    """CloudFormation detaches a role's managed policies before deleting it (CDK's own handlers'
    roles carry AWSLambdaBasicExecutionRole): a rollback or an update that removes one completes."""
    cfn, iam = aws("cloudformation"), aws("iam")
    managed = {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {},
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    }}  # fmt: skip
    iam.create_role(RoleName="taken", AssumeRolePolicyDocument="{}")
    clash = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "taken", "AssumeRolePolicyDocument": {}},
             "DependsOn": "Managed"}  # fmt: skip
    cfn.create_stack(StackName="s", TemplateBody=stack(Managed=managed, Clash=clash))
    assert described(cfn)["StackStatus"] == "ROLLBACK_COMPLETE"
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["taken"]

    cfn.create_stack(StackName="t", TemplateBody=stack(Managed=managed))
    cfn.update_stack(StackName="t", TemplateBody=stack())
    assert described(cfn, "t")["StackStatus"] == "UPDATE_COMPLETE"
    assert not [r for r in iam.list_roles()["Roles"] if "Managed" in r["RoleName"]]


def test_update_stack_keeps_a_previous_value_left_at_its_default_and_refuses_an_unknown_key(
    aws: Any,
) -> None:
    cfn = aws("cloudformation")
    aws("ssm").put_parameter(Name="/cdk-bootstrap/version", Value="21", Type="String")
    template = {
        "Parameters": {
            "Size": {"Type": "Number", "Default": "7"},
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/version",
            },
        },
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": {"Ref": "Size"}}}},
        "Outputs": {"Size": {"Value": {"Ref": "Size"}}, "Bootstrap": {"Value": {"Ref": "BootstrapVersion"}}},
    }
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))  # both left at their defaults
    template["Resources"]["Dlq"] = {"Type": "AWS::SQS::Queue"}
    previous = [{"ParameterKey": key, "UsePreviousValue": True} for key in ("Size", "BootstrapVersion")]
    cfn.update_stack(
        StackName="s", TemplateBody=json.dumps(template), Parameters=previous
    )  # as `cdk deploy --method=direct`
    assert described(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(cfn) == {"Size": "7", "Bootstrap": "21"}
    assert "Dlq" in physical_ids(cfn)
    with pytest.raises(ClientError, match="Nope") as refused:
        cfn.update_stack(
            StackName="s", TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "Nope", "UsePreviousValue": True}],
        )  # fmt: skip
    assert refused.value.response["Error"]["Code"] == "ValidationError"
