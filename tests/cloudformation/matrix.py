"""The cases of the differential harness, generated from AWS's published resource schemas.

For each resource type of OrdersStack and of docs/extending.md, a `Subject`: the resource at a
base configuration (`base`), what it needs around it (`support`, by name from SUPPORT), and a
changed value for properties (`variants`). Every property the type's schema lets a template set
is either varied or named in `uncovered` with the reason; a test keeps that true, so a schema
that grows (a newer cfn-lint) shows up as a property to cover.

Each case is two templates, A and B: the harness deploys A and updates it to B, deploys B
fresh, and compares what the two stacks' resources look like. Per property: changed (in place
or replacement, as the schema says), added (absent in base) and removed (in base, optional);
per type, the whole resource added and removed, and an output added.
"""

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from emulator.cloudformation import schemas

CODE_BUCKET = "harness-code"  # made by the harness before any stack: code.zip, code-v2.zip, layer.zip
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
}
TAGS = [{"Key": "team", "Value": "orders"}]


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def named(suffix: str) -> dict[str, Any]:
    """A custom name unique to the stack (two stacks of one case must not share a name)."""
    return {"Fn::Sub": "${AWS::StackName}-" + suffix}


def function(role: str = "Role", key: str = "code.zip") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "Role": arn(role),
            "Code": {"S3Bucket": CODE_BUCKET, "S3Key": key},
        },
    }


SUPPORT: dict[str, dict[str, Any]] = {
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
    "Role2": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
    "Target": function(),
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
    "Queue2": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
    "Topic": {"Type": "AWS::SNS::Topic"},
    "Topic2": {"Type": "AWS::SNS::Topic"},
    "Logs": {"Type": "AWS::Logs::LogGroup"},
    "Layer": {
        "Type": "AWS::Lambda::LayerVersion",
        "Properties": {
            "Content": {"S3Bucket": CODE_BUCKET, "S3Key": "layer.zip"},
            "CompatibleRuntimes": ["python3.12"],
        },
    },
    "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "harness", "ProtocolType": "HTTP"}},
    "Integration": {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {
            "ApiId": ref("Api"),
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": arn("Target"),
            "PayloadFormatVersion": "2.0",
        },
    },
}
# Support a support resource needs itself
NEEDS = {"Target": ["Role"], "Integration": ["Api", "Target"]}

SCHEMA_ONLY = "a property of the schema this emulator's peers and the harness's stacks never set"


@dataclass(frozen=True)
class Together:
    """A change that only makes sense with others (a key attribute needs its definition)."""

    properties: dict[str, Any]


@dataclass
class Subject:
    base: dict[str, Any]
    variants: dict[str, Any]
    uncovered: dict[str, str] = field(default_factory=dict)
    support: tuple[str, ...] = ()
    essential: tuple[str, ...] = ()  # optional in the schema, required by the service: never removed

    def resources(self, properties: dict[str, Any] | None, resource_type: str) -> dict[str, Any]:
        needed: list[str] = []

        def need(name: str) -> None:
            for dependency in NEEDS.get(name, []):
                need(dependency)
            needed.append(name)

        for name in self.support:
            need(name)
        resources = {name: copy.deepcopy(SUPPORT[name]) for name in dict.fromkeys(needed)}
        if properties is not None:
            resources["Subject"] = {"Type": resource_type, "Properties": copy.deepcopy(properties)}
        return resources

    def changed(self, name: str, value: Any) -> dict[str, Any]:
        return {**self.base, **(value.properties if isinstance(value, Together) else {name: value})}


SUBJECTS: dict[str, Subject] = {
    "AWS::DynamoDB::Table": Subject(
        base={
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        essential=("AttributeDefinitions",),
        variants={
            "KeySchema": Together(
                {
                    "KeySchema": [{"AttributeName": "ID", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "ID", "AttributeType": "S"}],
                }
            ),
            "GlobalSecondaryIndexes": Together(
                {
                    "AttributeDefinitions": [
                        {"AttributeName": "PK", "AttributeType": "S"},
                        {"AttributeName": "G", "AttributeType": "S"},
                    ],
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": "byG",
                            "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    ],
                }
            ),
            "BillingMode": Together(
                {
                    "BillingMode": "PROVISIONED",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                }
            ),
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": False,
            "Tags": TAGS,
            "TableName": named("table"),
        },
        uncovered={
            "ProvisionedThroughput": "goes with BillingMode PROVISIONED: the BillingMode case sets both",
            "LocalSecondaryIndexes": "needs a range key; a replacement like KeySchema's",
            "SSESpecification": "needs a KMS key",
            "KinesisStreamSpecification": "no Kinesis in this stack",
            "ContributorInsightsSpecification": SCHEMA_ONLY,
            "ImportSourceSpecification": "imports from S3 at creation only",
            "OnDemandThroughput": SCHEMA_ONLY,
            "ResourcePolicy": SCHEMA_ONLY,
            "TableClass": SCHEMA_ONLY,
            "WarmThroughput": SCHEMA_ONLY,
            "VectorIndexes": SCHEMA_ONLY,
        },
    ),
    "AWS::SQS::Queue": Subject(
        base={"VisibilityTimeout": 30},
        support=("Queue",),
        variants={
            "VisibilityTimeout": 60,
            "DelaySeconds": 5,
            "MaximumMessageSize": 2048,
            "MessageRetentionPeriod": 7200,
            "ReceiveMessageWaitTimeSeconds": 10,
            "RedrivePolicy": {"deadLetterTargetArn": arn("Queue"), "maxReceiveCount": 3},
            "SqsManagedSseEnabled": False,
            "Tags": TAGS,
            "QueueName": named("queue"),
        },
        uncovered={
            "FifoQueue": "a FIFO queue needs a .fifo name: a replacement like QueueName's",
            "ContentBasedDeduplication": "FIFO queues only",
            "DeduplicationScope": "FIFO queues only",
            "FifoThroughputLimit": "FIFO queues only",
            "KmsMasterKeyId": "needs a KMS key",
            "KmsDataKeyReusePeriodSeconds": "goes with KmsMasterKeyId",
            "RedriveAllowPolicy": SCHEMA_ONLY,
        },
    ),
    "AWS::SQS::QueuePolicy": Subject(
        base={"Queues": [ref("Queue")], "PolicyDocument": POLICY},
        support=("Queue", "Queue2"),
        variants={
            "Queues": [ref("Queue2")],
            "PolicyDocument": {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "sqs:*"}]},
        },
    ),
    "AWS::Logs::LogGroup": Subject(
        base={"RetentionInDays": 7},
        variants={"RetentionInDays": 30, "Tags": TAGS, "LogGroupName": named("logs")},
        uncovered={
            "KmsKeyId": "needs a KMS key",
            "DataProtectionPolicy": SCHEMA_ONLY,
            "FieldIndexPolicies": SCHEMA_ONLY,
            "LogGroupClass": SCHEMA_ONLY,
            "ResourcePolicyDocument": SCHEMA_ONLY,
            "DeletionProtectionEnabled": SCHEMA_ONLY,
            "BearerTokenAuthenticationEnabled": SCHEMA_ONLY,
        },
    ),
    "AWS::IAM::Role": Subject(
        base={"AssumeRolePolicyDocument": TRUST},
        variants={
            "AssumeRolePolicyDocument": {
                **TRUST,
                "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "events.amazonaws.com"}}],
            },
            "Description": "the harness's role",
            "MaxSessionDuration": 7200,
            "Policies": [{"PolicyName": "send", "PolicyDocument": POLICY}],
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "Tags": TAGS,
            "Path": "/harness/",
            "RoleName": named("role"),
        },
        uncovered={"PermissionsBoundary": "needs a customer-managed policy"},
    ),
    "AWS::IAM::Policy": Subject(
        base={"PolicyName": "send", "PolicyDocument": POLICY, "Roles": [ref("Role")]},
        support=("Role", "Role2"),
        variants={
            "PolicyName": "send-more",
            "PolicyDocument": {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "sqs:*"}]},
            "Roles": [ref("Role2")],
        },
        uncovered={"Users": "no IAM users in this stack", "Groups": "no IAM groups in this stack"},
    ),
    "AWS::Lambda::Function": Subject(
        base=function()["Properties"],
        support=("Role", "Role2", "Layer", "Logs", "Queue"),
        variants={
            "Code": {"S3Bucket": CODE_BUCKET, "S3Key": "code-v2.zip"},
            "Description": "changed",
            "Environment": {"Variables": {"MODE": "b"}},
            "EphemeralStorage": {"Size": 1024},
            "Handler": "app.other",
            "Layers": [ref("Layer")],
            "LoggingConfig": {"LogGroup": ref("Logs")},
            "MemorySize": 512,
            "ReservedConcurrentExecutions": 2,
            "Role": arn("Role2"),
            "Runtime": "python3.13",
            "Tags": TAGS,
            "Timeout": 10,
            "TracingConfig": {"Mode": "Active"},
            "Architectures": ["arm64"],
            "DeadLetterConfig": {"TargetArn": arn("Queue")},
            "FunctionName": named("fn"),
        },
        uncovered={
            "KmsKeyArn": "needs a KMS key",
            "VpcConfig": "needs a VPC",
            "FileSystemConfigs": "needs EFS",
            "ImageConfig": "container images need ECR",
            "PackageType": "container images need ECR",
            "CodeSigningConfigArn": "needs a code signing config",
            "SnapStart": "Java only",
            "RuntimeManagementConfig": SCHEMA_ONLY,
            "RecursiveLoop": SCHEMA_ONLY,
            "CapacityProviderConfig": SCHEMA_ONLY,
            "DurableConfig": SCHEMA_ONLY,
            "FunctionScalingConfig": SCHEMA_ONLY,
            "PublishToLatestPublished": SCHEMA_ONLY,
            "TenancyConfig": SCHEMA_ONLY,
        },
    ),
    "AWS::Lambda::EventSourceMapping": Subject(
        base={"FunctionName": ref("Target"), "EventSourceArn": arn("Queue"), "BatchSize": 10},
        support=("Target", "Queue", "Queue2"),
        essential=("EventSourceArn",),
        variants={
            "BatchSize": 5,
            "Enabled": False,
            "MaximumBatchingWindowInSeconds": 2,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]},
            "EventSourceArn": arn("Queue2"),
        },
        uncovered={
            "StartingPosition": "streams only (DynamoDB, Kinesis, Kafka)",
            "StartingPositionTimestamp": "streams only",
            "BisectBatchOnFunctionError": "streams only",
            "MaximumRecordAgeInSeconds": "streams only",
            "MaximumRetryAttempts": "streams only",
            "ParallelizationFactor": "streams only",
            "TumblingWindowInSeconds": "streams only",
            "DestinationConfig": "streams and Kafka only",
            "Queues": "Amazon MQ only",
            "Topics": "Kafka only",
            "SelfManagedEventSource": "Kafka only",
            "SelfManagedKafkaEventSourceConfig": "Kafka only",
            "AmazonManagedKafkaEventSourceConfig": "Kafka only",
            "SourceAccessConfigurations": "Kafka and Amazon MQ only",
            "DocumentDBEventSourceConfig": "DocumentDB only",
            "KmsKeyArn": "needs a KMS key",
            "MetricsConfig": SCHEMA_ONLY,
            "ProvisionedPollerConfig": SCHEMA_ONLY,
            "LoggingConfig": SCHEMA_ONLY,
            "Tags": SCHEMA_ONLY,
        },
    ),
    "AWS::Lambda::Permission": Subject(
        base={
            "FunctionName": ref("Target"),
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
        },
        support=("Target",),
        variants={
            "Principal": "events.amazonaws.com",
            "SourceArn": "arn:aws:execute-api:us-east-1:000000000000:abc/*/*",
            "SourceAccount": "000000000000",
        },
        uncovered={
            "Action": "lambda:InvokeFunction is the action every trigger needs",
            "EventSourceToken": "Alexa only",
            "FunctionUrlAuthType": "function URLs are not in this stack",
            "InvokedViaFunctionUrl": "function URLs are not in this stack",
            "PrincipalOrgID": "needs an organization",
        },
    ),
    "AWS::Lambda::LayerVersion": Subject(
        base={
            "Content": {"S3Bucket": CODE_BUCKET, "S3Key": "layer.zip"},
            "CompatibleRuntimes": ["python3.12"],
        },
        variants={
            "Content": {"S3Bucket": CODE_BUCKET, "S3Key": "code.zip"},
            "CompatibleRuntimes": ["python3.13"],
            "Description": "the harness's layer",
        },
        uncovered={
            "CompatibleArchitectures": SCHEMA_ONLY,
            "LayerName": "a second stack's layer of the same name is a new version of one layer",
            "LicenseInfo": SCHEMA_ONLY,
        },
    ),
    "AWS::ApiGatewayV2::Api": Subject(
        base={"Name": "harness", "ProtocolType": "HTTP"},
        essential=("Name",),  # an HTTP API without an OpenAPI body needs its name
        variants={
            "Name": "harness-2",
            "Description": "the harness's API",
            "CorsConfiguration": {"AllowOrigins": ["https://example.com"]},
            "DisableExecuteApiEndpoint": True,
            "Tags": {"team": "orders"},
        },
        uncovered={
            "ProtocolType": "WEBSOCKET APIs are not in this stack",
            "Body": "OpenAPI import: refused with a message (not supported)",
            "BodyS3Location": "OpenAPI import: refused with a message (not supported)",
            "BasePath": "goes with an OpenAPI body",
            "FailOnWarnings": "goes with an OpenAPI body",
            "Target": "quick create: refused with a message (not supported)",
            "RouteKey": "quick create",
            "CredentialsArn": "quick create",
            "ApiKeySelectionExpression": "WEBSOCKET APIs only",
            "RouteSelectionExpression": "WEBSOCKET APIs only",
            "DisableSchemaValidation": "WEBSOCKET APIs only",
            "IpAddressType": SCHEMA_ONLY,
            "Version": SCHEMA_ONLY,
        },
    ),
    "AWS::ApiGatewayV2::Integration": Subject(
        base=SUPPORT["Integration"]["Properties"],
        support=("Api", "Target"),
        variants={
            "Description": "the harness's integration",
            "TimeoutInMillis": 5000,
            "PayloadFormatVersion": "1.0",
            "IntegrationMethod": "POST",
        },
        uncovered={
            "ApiId": "a second API: a replacement like any create-only change",
            "IntegrationType": "HTTP_PROXY needs an endpoint; this stack proxies to Lambda",
            "IntegrationUri": "a second function is one more support resource for one more replacement",
            "IntegrationSubtype": "AWS service integrations are not in this stack",
            "ConnectionId": "VPC links are not in this stack",
            "ConnectionType": "VPC links are not in this stack",
            "ContentHandlingStrategy": "WEBSOCKET APIs only",
            "CredentialsArn": SCHEMA_ONLY,
            "PassthroughBehavior": "WEBSOCKET APIs only",
            "RequestParameters": SCHEMA_ONLY,
            "RequestTemplates": "WEBSOCKET APIs only",
            "ResponseParameters": SCHEMA_ONLY,
            "TemplateSelectionExpression": "WEBSOCKET APIs only",
            "TlsConfig": "private integrations only",
        },
    ),
    "AWS::ApiGatewayV2::Route": Subject(
        base={
            "ApiId": ref("Api"),
            "RouteKey": "GET /orders",
            "Target": {"Fn::Sub": "integrations/${Integration}"},
        },
        support=("Integration",),
        variants={
            "RouteKey": "POST /orders",
            "OperationName": "createOrder",
            "AuthorizationType": "AWS_IAM",
        },
        uncovered={
            "Target": "a second integration is one more support resource for the same in-place update",
            "ApiId": "a second API: a replacement like any create-only change",
            "ApiKeyRequired": "WEBSOCKET APIs only",
            "AuthorizationScopes": "needs a JWT authorizer",
            "AuthorizerId": "needs an authorizer",
            "ModelSelectionExpression": "WEBSOCKET APIs only",
            "RequestModels": "WEBSOCKET APIs only",
            "RequestParameters": "WEBSOCKET APIs only",
            "RouteResponseSelectionExpression": "WEBSOCKET APIs only",
        },
    ),
    "AWS::ApiGatewayV2::Stage": Subject(
        base={"ApiId": ref("Api"), "StageName": "$default", "AutoDeploy": True},
        support=("Api", "Logs"),
        variants={
            "AutoDeploy": False,
            "Description": "the harness's stage",
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 2},
            "AccessLogSettings": {"DestinationArn": arn("Logs"), "Format": "$context.requestId"},
            "StageVariables": {"mode": "b"},
            "StageName": "live",
            "Tags": {"team": "orders"},
        },
        uncovered={
            "ApiId": "a second API: a replacement like any create-only change",
            "RouteSettings": "needs a route",
            "ClientCertificateId": "needs a client certificate",
            "DeploymentId": "AutoDeploy deploys",
        },
    ),
    "AWS::CloudWatch::Alarm": Subject(
        base={
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
        support=("Queue", "Topic"),
        # PutMetricAlarm's required, and a metric unless metric math (Metrics) is given
        essential=("Threshold", "EvaluationPeriods", "ComparisonOperator", "MetricName"),
        variants={
            "Threshold": 5,
            "Period": 300,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "ComparisonOperator": "GreaterThanThreshold",
            "Statistic": "Average",
            "MetricName": "ApproximateAgeOfOldestMessage",
            "AlarmDescription": "the harness's alarm",
            "AlarmActions": [ref("Topic")],
            "OKActions": [ref("Topic")],
            "InsufficientDataActions": [ref("Topic")],
            "ActionsEnabled": False,
            "TreatMissingData": "notBreaching",
            "Unit": "Count",
            "AlarmName": named("alarm"),
        },
        uncovered={
            "Metrics": "metric math: refused with a message (not supported)",
            "ThresholdMetricId": "goes with Metrics",
            "ExtendedStatistic": "a percentile instead of Statistic: one of the two",
            "EvaluateLowSampleCountPercentile": "goes with ExtendedStatistic",
            "Tags": SCHEMA_ONLY,
            "ActionConfiguration": SCHEMA_ONLY,
            "EvaluationCriteria": SCHEMA_ONLY,
            "EvaluationInterval": SCHEMA_ONLY,
            "EvaluationWindow": SCHEMA_ONLY,
            "WarmUpConfiguration": SCHEMA_ONLY,
        },
    ),
    "AWS::CloudWatch::Dashboard": Subject(
        base={"DashboardBody": json.dumps({"widgets": []})},
        variants={
            "DashboardBody": json.dumps(
                {
                    "widgets": [
                        {
                            "type": "text",
                            "x": 0,
                            "y": 0,
                            "width": 6,
                            "height": 2,
                            "properties": {"markdown": "# Orders"},
                        }
                    ]
                }
            ),
            "DashboardName": named("dashboard"),
        },
        uncovered={"Tags": SCHEMA_ONLY},
    ),
    "AWS::SNS::Topic": Subject(
        base={},
        support=("Queue",),
        variants={
            "DisplayName": "Orders alarms",
            "Subscription": [{"Endpoint": arn("Queue"), "Protocol": "sqs"}],
            "Tags": TAGS,
            "TopicName": named("topic"),
        },
        uncovered={
            "FifoTopic": "a FIFO topic needs a .fifo name: a replacement like TopicName's",
            "ContentBasedDeduplication": "FIFO topics only",
            "FifoThroughputScope": "FIFO topics only",
            "ArchivePolicy": "FIFO topics only",
            "KmsMasterKeyId": "needs a KMS key",
            "DataProtectionPolicy": SCHEMA_ONLY,
            "DeliveryStatusLogging": SCHEMA_ONLY,
            "SignatureVersion": SCHEMA_ONLY,
            "TracingConfig": SCHEMA_ONLY,
            "MaximumMessageSize": SCHEMA_ONLY,
        },
    ),
    "AWS::SNS::Subscription": Subject(
        base={"TopicArn": ref("Topic"), "Protocol": "sqs", "Endpoint": arn("Queue")},
        support=("Topic", "Topic2", "Queue", "Queue2"),
        essential=("Endpoint",),
        variants={
            "RawMessageDelivery": True,
            "FilterPolicy": {"kind": ["order"]},
            "RedrivePolicy": {"deadLetterTargetArn": arn("Queue2")},
            "Endpoint": arn("Queue2"),
            "TopicArn": ref("Topic2"),
        },
        uncovered={
            "Protocol": "changing the protocol changes the endpoint's kind: the Endpoint case replaces",
            "FilterPolicyScope": "goes with FilterPolicy",
            "DeliveryPolicy": "http(s) subscriptions only",
            "SubscriptionRoleArn": "Firehose subscriptions only",
            "Region": SCHEMA_ONLY,
            "ReplayPolicy": "FIFO topics only",
        },
    ),
    "AWS::SNS::TopicPolicy": Subject(
        base={
            "Topics": [ref("Topic")],
            "PolicyDocument": {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "sns:Publish"}]},
        },
        support=("Topic", "Topic2"),
        variants={
            "Topics": [ref("Topic2")],
            "PolicyDocument": {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "sns:*"}]},
        },
    ),
}


def settable(resource_type: str) -> list[str]:
    """What a template may set on this type: the schema's properties less its read-only ones."""
    schema = schemas.schema(resource_type) or {}
    read_only = {p.split("/")[2] for p in schema.get("readOnlyProperties", []) if p.count("/") == 2}
    return [name for name in schema.get("properties", {}) if name not in read_only]


@dataclass(frozen=True)
class Case:
    resource_type: str
    change: str  # what differs between A and B, e.g. "MemorySize changed"
    a: dict[str, Any]
    b: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.resource_type.split('::', 1)[1]}: {self.change}"


def _template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Resources": resources, **({"Outputs": outputs} if outputs else {})}


def cases() -> list[Case]:
    found = []
    for resource_type, subject in SUBJECTS.items():
        required = set((schemas.schema(resource_type) or {}).get("required", []))
        a = _template(subject.resources(subject.base, resource_type))

        def b(
            properties: dict[str, Any], resource_type: str = resource_type, subject: Subject = subject
        ) -> dict[str, Any]:
            return _template(subject.resources(properties, resource_type))

        for name, value in subject.variants.items():
            kind = (
                "replaced"
                if any(p.split("/")[2] == name for p in schemas.create_only(resource_type))
                else "in place"
            )
            changed = b(subject.changed(name, value))
            if name in subject.base:
                found.append(Case(resource_type, f"{name} changed ({kind})", a, changed))
                if name not in required and name not in subject.essential:
                    stripped = {k: v for k, v in subject.base.items() if k != name}
                    found.append(Case(resource_type, f"{name} removed ({kind})", a, b(stripped)))
            else:
                found.append(Case(resource_type, f"{name} added ({kind})", a, changed))
                found.append(Case(resource_type, f"{name} removed ({kind})", changed, a))
        # a template has at least one resource: a topic stays where the subject comes and goes
        without = subject.resources(None, resource_type) or {"Other": copy.deepcopy(SUPPORT["Topic2"])}
        alone = _template({**without, **subject.resources(subject.base, resource_type)})
        found.append(Case(resource_type, "resource added", _template(without), alone))
        found.append(Case(resource_type, "resource removed", alone, _template(without)))
        with_output = _template(a["Resources"], {"Subject": {"Value": ref("Subject")}})
        found.append(Case(resource_type, "output added", a, with_output))
    return found
