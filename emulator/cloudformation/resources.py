"""CloudFormation resource types moto's CloudFormation lacks but OrdersStack uses.

moto looks resource types up among the direct subclasses of its CloudFormationModel (cached on
first use), so each handler here subclasses it directly; `install()` clears that cache. Every
handler creates the real thing in moto's backend for that service (no silent no-ops), updates it
in place on a stack update and deletes it with the stack.
"""

import json
import uuid
from typing import Any

from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends


class Emulated:
    """What moto's stack engine needs of a resource: a Ref value, Fn::GetAtt values, delete()."""

    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(
        self, physical_id: str, account_id: str, region: str, properties: dict[str, Any], **attributes: str
    ):
        self.physical_resource_id = physical_id
        self.account_id = account_id
        self.region = region
        self.properties = properties
        self.attributes = attributes

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attr: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attr not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attr]

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ) -> None:
        raise NotImplementedError  # moto calls the instance's delete() first

    def delete(self, account_id: str, region: str) -> None:
        raise NotImplementedError


class MetricAlarmResource(Emulated, CloudFormationModel):
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        name = props.get("AlarmName", resource_name)
        if props.get("Metrics"):
            raise NotImplementedError("AWS::CloudWatch::Alarm with metric math (Metrics)")
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props.get("Period", 60)),
            threshold=float(props["Threshold"]),
            statistic=props.get("Statistic"),
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
            alarm_actions=props.get("AlarmActions", []),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            unit=props.get("Unit"),
            actions_enabled=props.get("ActionsEnabled", True),
            treat_missing_data=props.get("TreatMissingData"),
        )
        return cls(name, account_id, region_name, props, Arn=alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        """Updated in place, keeping its state, unless AlarmName changes (a replacement), as on AWS."""
        name = cloudformation_json["Properties"].get("AlarmName", original_resource.physical_resource_id)
        if name != original_resource.physical_resource_id:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        cloudwatch_backends[account_id][region].delete_alarms([self.physical_resource_id])


class QueuePolicyResource(Emulated, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        resource = cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", account_id, region_name, props)
        resource._apply(json.dumps(props["PolicyDocument"]), missing_ok=False)
        return resource

    def _apply(self, policy: str, missing_ok: bool) -> None:
        backend = sqs_backends[self.account_id][self.region]
        for url in self.properties["Queues"]:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if missing_ok and name not in backend.queues:
                continue  # a deleted queue took its policy with it
            backend.set_queue_attributes(name, {"Policy": policy})

    def delete(self, account_id: str, region: str) -> None:
        self._apply("", missing_ok=True)


class TopicPolicyResource(Emulated, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        resource = cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", account_id, region_name, props)
        for arn in props["Topics"]:
            sns_backends[account_id][region_name].get_topic(arn).policy = json.dumps(props["PolicyDocument"])
        return resource

    def delete(self, account_id: str, region: str) -> None:
        backend = sns_backends[account_id][region]
        for arn in self.properties["Topics"]:
            if arn in backend.topics:  # back to the policy every new topic has
                topic = backend.topics[arn]
                topic._policy_json = topic._create_default_topic_policy(region, account_id, topic.name)


class BucketPolicyResource(Emulated, CloudFormationModel):
    """Used by `cdk bootstrap`'s staging bucket (TLS-only policy)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        s3_backends[account_id]["global"].put_bucket_policy(
            props["Bucket"], json.dumps(props["PolicyDocument"]).encode()
        )
        return cls(f"{props['Bucket']}-policy", account_id, region_name, props)

    def delete(self, account_id: str, region: str) -> None:
        s3_backends[account_id]["global"].delete_bucket_policy(self.properties["Bucket"])


class SubscriptionResource(Emulated, CloudFormationModel):
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        subscription = sns_backends[account_id][region_name].subscribe(
            props["TopicArn"], props["Endpoint"], props["Protocol"]
        )
        return cls(subscription.arn, account_id, region_name, props, Arn=subscription.arn)

    def delete(self, account_id: str, region: str) -> None:
        sns_backends[account_id][region].unsubscribe(self.physical_resource_id)


class CdkMetadataResource(Emulated, CloudFormationModel):
    """The CDK's bookkeeping resource (which library versions built the stack): nothing to create,
    but listed among the stack's resources with its type, as on AWS. (As one of moto's NULL_MODELS
    it was stored as None and DescribeStackResources listed it without id or type.)"""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CDK::Metadata"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        return cls(str(uuid.uuid4()), account_id, region_name, cloudformation_json.get("Properties", {}))

    def delete(self, account_id: str, region: str) -> None:
        pass  # nothing was created


def install() -> None:
    """Make moto's CloudFormation see the handlers above and in http_apis."""
    from emulator.cloudformation import http_apis  # noqa: F401 - defining the classes registers them

    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
