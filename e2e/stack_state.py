"""What a stack's resources look like from outside, through each service's own describe calls,
normalised so two stacks built from one template compare equal: physical ids and the stack's
name become `<LogicalId>` and `<stack>`; timestamps, revision ids and other per-call values go."""

import json
import re
import time
from collections.abc import Callable
from typing import Any

Clients = Callable[[str], Any]

# Keys whose values differ between two identical resources made at different moments
VOLATILE = re.compile(
    r"(Date|Timestamp|^creationTime$|^LastModified$|^RevisionId$|^RoleId$|^LatestStream(Label|Arn)$|"
    r"^Version$|^LastUpdateStatus|^StateReason|^ApproximateNumberOf|"
    # what the resource holds or went through, not how it is configured
    r"^StateValue$|^ItemCount$|^IndexSizeBytes$|^TableSizeBytes$|^storedBytes$)"
)


def _table(aws: Clients, physical_id: str) -> dict[str, Any]:
    ddb = aws("dynamodb")
    table = ddb.describe_table(TableName=physical_id)["Table"]
    return {
        **{k: v for k, v in table.items() if k != "TableId"},
        "TimeToLive": ddb.describe_time_to_live(TableName=physical_id)["TimeToLiveDescription"],
        "PointInTimeRecovery": ddb.describe_continuous_backups(TableName=physical_id)[
            "ContinuousBackupsDescription"
        ]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "Tags": ddb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", []),
    }


def _queue(aws: Clients, physical_id: str) -> dict[str, Any]:
    sqs = aws("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=physical_id, AttributeNames=["All"])["Attributes"]
    for key in ("Policy", "RedrivePolicy"):
        if key in attributes:
            attributes[key] = json.loads(attributes[key])
    return {**attributes, "Tags": sqs.list_queue_tags(QueueUrl=physical_id).get("Tags", {})}


def _log_group(aws: Clients, physical_id: str) -> dict[str, Any]:
    logs = aws("logs")
    [group] = [
        g
        for g in logs.describe_log_groups(logGroupNamePrefix=physical_id)["logGroups"]
        if g["logGroupName"] == physical_id
    ]
    arn = group["arn"].removesuffix(":*")
    return {**group, "tags": logs.list_tags_for_resource(resourceArn=arn).get("tags", {})}


def _role(aws: Clients, physical_id: str) -> dict[str, Any]:
    iam = aws("iam")
    role = iam.get_role(RoleName=physical_id)["Role"]
    policies = {
        name: iam.get_role_policy(RoleName=physical_id, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=physical_id)["PolicyNames"]
    }
    attached = iam.list_attached_role_policies(RoleName=physical_id)["AttachedPolicies"]
    return {**role, "InlinePolicies": policies, "AttachedPolicies": sorted(p["PolicyArn"] for p in attached)}


def _function(aws: Clients, physical_id: str) -> dict[str, Any]:
    awslambda = aws("lambda")
    deadline = time.monotonic() + 10
    while True:  # as after a deploy on AWS: the function once it is ready (State Pending -> Active)
        function = awslambda.get_function(FunctionName=physical_id)
        if function["Configuration"].get("State") != "Pending" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    try:
        policy = json.loads(awslambda.get_policy(FunctionName=physical_id)["Policy"])["Statement"]
    except awslambda.exceptions.ResourceNotFoundException:
        policy = []
    code = {k: v for k, v in function.get("Code", {}).items() if k != "Location"}
    return {**function["Configuration"], "Code": code, "Tags": function.get("Tags", {}),
            "Concurrency": function.get("Concurrency"), "Policy": policy}  # fmt: skip


def _mapping(aws: Clients, physical_id: str) -> dict[str, Any]:
    mapping = aws("lambda").get_event_source_mapping(UUID=physical_id)
    return {
        k: v
        for k, v in mapping.items()
        if k not in ("State", "StateTransitionReason", "LastProcessingResult")
    }


def _layer(aws: Clients, physical_id: str) -> dict[str, Any]:
    *_, name, version = physical_id.split(":")  # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
    layer = aws("lambda").get_layer_version(LayerName=name, VersionNumber=int(version))
    return {k: v for k, v in layer.items() if k not in ("Content",)} | {
        "CodeSha256": layer["Content"].get("CodeSha256")
    }


def _topic(aws: Clients, physical_id: str) -> dict[str, Any]:
    sns = aws("sns")
    attributes = sns.get_topic_attributes(TopicArn=physical_id)["Attributes"]
    if "Policy" in attributes:
        attributes["Policy"] = json.loads(attributes["Policy"])
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=physical_id)["Subscriptions"]
    listed = sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions)
    tags = sns.list_tags_for_resource(ResourceArn=physical_id).get("Tags", [])
    return {**attributes, "Subscriptions": listed, "Tags": tags}


def _subscription(aws: Clients, physical_id: str) -> dict[str, Any]:
    attributes = aws("sns").get_subscription_attributes(SubscriptionArn=physical_id)["Attributes"]
    for key in ("FilterPolicy", "RedrivePolicy"):
        if attributes.get(key):
            attributes[key] = json.loads(attributes[key])
    return attributes


def _alarm(aws: Clients, physical_id: str) -> dict[str, Any]:
    [alarm] = aws("cloudwatch").describe_alarms(AlarmNames=[physical_id])["MetricAlarms"]
    return alarm


def _dashboard(aws: Clients, physical_id: str) -> dict[str, Any]:
    dashboard = aws("cloudwatch").get_dashboard(DashboardName=physical_id)
    return {
        "DashboardName": dashboard["DashboardName"],
        "DashboardBody": json.loads(dashboard["DashboardBody"]),
    }


def _rule(aws: Clients, physical_id: str) -> dict[str, Any]:
    events = aws("events")
    rule = events.describe_rule(Name=physical_id)
    if rule.get("EventPattern"):
        rule["EventPattern"] = json.loads(rule["EventPattern"])
    targets = events.list_targets_by_rule(Rule=physical_id)["Targets"]
    return {**rule, "Targets": sorted(targets, key=lambda target: str(target["Id"]))}


def _bucket(aws: Clients, physical_id: str) -> dict[str, Any]:
    """What the stack sets on a bucket: its notifications (CDK writes them through a custom
    resource), its policy and its encryption."""
    s3 = aws("s3")
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=physical_id)["Policy"])
    except s3.exceptions.ClientError:
        policy = None
    encryption = s3.get_bucket_encryption(Bucket=physical_id)["ServerSideEncryptionConfiguration"]
    notifications = {  # without the Ids S3 generates for configurations given none (CDK's)
        kind: [{k: v for k, v in c.items() if k != "Id"} for c in configurations]
        for kind, configurations in s3.get_bucket_notification_configuration(Bucket=physical_id).items()
        if isinstance(configurations, list)
    }
    return {"Notifications": notifications, "Policy": policy, "Encryption": encryption}


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


UNORDERED = ("Integrations", "Routes", "Stages")  # an API's, listed in no particular order


def _api(aws: Clients, physical_id: str) -> dict[str, Any]:
    v2 = aws("apigatewayv2")
    return {
        **v2.get_api(ApiId=physical_id),
        # in no particular order: sorted once their ids are normalised (observe)
        "Integrations": v2.get_integrations(ApiId=physical_id)["Items"],
        "Routes": v2.get_routes(ApiId=physical_id)["Items"],
        "Stages": _strip(v2.get_stages(ApiId=physical_id)["Items"]),
    }


DESCRIBE: dict[str, Callable[[Clients, str], dict[str, Any]]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::IAM::Role": _role,
    "AWS::Lambda::Function": _function,
    "AWS::Lambda::EventSourceMapping": _mapping,
    "AWS::Lambda::LayerVersion": _layer,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::ApiGatewayV2::Api": _api,
    "AWS::Events::Rule": _rule,
    "AWS::S3::Bucket": _bucket,
}
# Types seen through the resource they change: a queue's, topic's, role's, function's or bucket's
# policy, an API's integrations, routes and stages, a bucket's notifications.
SEEN_THROUGH_OTHERS = (
    "AWS::S3::BucketPolicy",
    "Custom::S3BucketNotifications",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::IAM::Policy",
    "AWS::Lambda::Permission",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Stage",
)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "ResponseMetadata" and not VOLATILE.search(k)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def observe(aws: Clients, stack_name: str) -> dict[str, Any]:
    """Every resource of the stack as its service describes it, and the stack's outputs."""
    cfn = aws("cloudformation")
    listed = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    seen: dict[str, Any] = {
        "Outputs": sorted((o["OutputKey"], o["OutputValue"]) for o in stack.get("Outputs", []) or []),
        "Resources": sorted((r["LogicalResourceId"], r["ResourceType"]) for r in listed),
    }
    for resource in listed:
        describe = DESCRIBE.get(resource["ResourceType"])
        if describe is not None:
            seen[resource["LogicalResourceId"]] = _strip(describe(aws, resource["PhysicalResourceId"]))
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed}
    normal = normalised(seen, stack_name, {**physical, "stack-id": stack["StackId"]})
    for resource in normal.values():
        for unordered in UNORDERED:
            if isinstance(resource, dict) and unordered in resource:
                resource[unordered] = _sorted(resource[unordered])
    return normal


def _names(physical_id: str) -> list[str]:
    """A physical id and the name it ends with (an ARN's or URL's "<stack>-<id>-<random>", before
    a layer's version number), which other values (ARNs, dimensions, log group names) carry. A
    subscription's ARN holds its topic's name too, but that name is the topic's."""
    parts = [part for part in re.split(r"[/:]", physical_id) if part]
    while physical_id.startswith("arn:") and parts and parts[-1].isdigit():  # a layer's version
        parts.pop()
    own = parts[-1] if parts else ""
    return [physical_id, *([own] if own != physical_id and len(own) >= 8 else [])]


def normalised(seen: dict[str, Any], stack_name: str, physical: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(seen, sort_keys=True, default=str)
    replacements = [
        (name, f"<{logical}>") for logical, pid in physical.items() if pid for name in _names(pid)
    ]
    for name, token in sorted(replacements, key=lambda pair: -len(pair[0])):
        text = text.replace(name, token)
    # two emulators of one kind differ in the port their URLs carry (an API's endpoint)
    text = re.sub(r"localhost:\d+", "localhost:<port>", text.replace(stack_name, "<stack>"))
    # a table's stream is labelled with the time it was turned on
    text = re.sub(r"/stream/[0-9T:.-]+", "/stream/<label>", text)
    return json.loads(text)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two observations differ, one line each (path: first vs second)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for key in sorted({*a, *b}) for line in _key_differences(a, b, key, path)]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            line
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for line in differences(x, y, f"{path}[{i}]")
        ]
    return (
        []
        if a == b
        else [f"{path}: {json.dumps(a, default=str)[:300]} vs {json.dumps(b, default=str)[:300]}"]
    )


def _key_differences(a: dict[str, Any], b: dict[str, Any], key: str, path: str) -> list[str]:
    if key not in a:
        return [f"{path}/{key}: only in the second: {json.dumps(b[key], default=str)[:300]}"]
    if key not in b:
        return [f"{path}/{key}: only in the first: {json.dumps(a[key], default=str)[:300]}"]
    return differences(a[key], b[key], f"{path}/{key}")
