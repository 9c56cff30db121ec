"""SNS's CloudFormation types: AWS::SNS::Topic updated in place (its subscriptions kept) as
SetTopicAttributes, Subscribe and Unsubscribe change it; ::Subscription (its attributes by
SetSubscriptionAttributes) and ::TopicPolicy, which moto's CloudFormation lacks."""

import json
import uuid
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.utils import camelcase_to_underscores
from moto.sns.models import Subscription, Topic, sns_backends

from emulator.cloudformation import engine
from emulator.cloudformation.resources import Emulated, tags_dict

# Properties that are not topic attributes: the topic's name and kind (create-only), its tags
# and its inline subscriptions
NOT_ATTRIBUTES = ("TopicName", "FifoTopic", "Tags", "Subscription")


def converge_topic(
    topic: Topic, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> Topic:
    created, old = old is None, old or {}
    backend = sns_backends[account_id][region]
    defaults = Topic(topic.name, backend)  # type: ignore[abstract]  # what a topic created without the attribute has
    for key in {*old, *new} - set(NOT_ATTRIBUTES):
        attribute = camelcase_to_underscores(key)
        setattr(topic, attribute, new[key] if key in new else getattr(defaults, attribute, None))
    topic._tags = tags_dict(new.get("Tags"))
    if not created:  # moto's create subscribed the first ones
        wanted = [(s["Endpoint"], s["Protocol"]) for s in new.get("Subscription", [])]
        for endpoint, protocol in [(s["Endpoint"], s["Protocol"]) for s in old.get("Subscription", [])]:
            gone = (endpoint, protocol) not in wanted and backend._find_subscription(
                topic.arn, endpoint, protocol
            )
            if gone:
                backend.unsubscribe(gone.arn)
        for endpoint, protocol in wanted:
            backend.subscribe(topic.arn, endpoint, protocol)
    return topic


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


# Set in this order: the scope decides how moto reads the filter policy.
SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicyScope",
    "FilterPolicy",
    "RawMessageDelivery",
    "DeliveryPolicy",
    "RedrivePolicy",
    "SubscriptionRoleArn",
)


def _attribute_value(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, dict) else value


def converge_subscription(
    resource: SubscriptionResource,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    account_id: str,
    region: str,
) -> SubscriptionResource:
    old = old or {}
    backend = sns_backends[account_id][region]
    subscription: Subscription = backend.subscriptions[resource.physical_resource_id]
    for name in SUBSCRIPTION_ATTRIBUTES:
        if name in new:
            backend.set_subscription_attributes(subscription.arn, name, _attribute_value(new[name]))
        elif name in old:  # back to what Subscribe gives
            if name == "FilterPolicy":
                backend.set_subscription_attributes(subscription.arn, name, "")
            subscription.attributes.pop(name, None)
            if name == "RawMessageDelivery":
                subscription.attributes[name] = False
    resource.properties = new
    return resource


class TopicPolicyResource(Emulated, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        return cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", account_id, region_name, props)

    def _reset(self, topics: list[str]) -> None:
        backend = sns_backends[self.account_id][self.region]
        for arn in topics:
            if arn in backend.topics:  # back to the policy every new topic has
                topic = backend.topics[arn]
                topic._policy_json = topic._create_default_topic_policy(
                    self.region, self.account_id, topic.name
                )

    def delete(self, account_id: str, region: str) -> None:
        self._reset(self.properties["Topics"])


def converge_topic_policy(
    policy: TopicPolicyResource, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> TopicPolicyResource:
    policy._reset([arn for arn in (old or {}).get("Topics", []) if arn not in new["Topics"]])
    for arn in new["Topics"]:
        sns_backends[account_id][region].get_topic(arn).policy = json.dumps(new["PolicyDocument"])
    policy.properties = new
    return policy


def install() -> None:
    engine.register("AWS::SNS::Topic", converge_topic)
    engine.register("AWS::SNS::Subscription", converge_subscription)
    engine.register("AWS::SNS::TopicPolicy", converge_topic_policy)
