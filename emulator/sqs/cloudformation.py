"""SQS's CloudFormation types: AWS::SQS::Queue updated in place (its messages kept) as
SetQueueAttributes does, and AWS::SQS::QueuePolicy, which moto's CloudFormation lacks."""

import copy
import json
import uuid
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sqs.constants import MAXIMUM_MESSAGE_LENGTH
from moto.sqs.models import Queue, sqs_backends

from emulator.cloudformation import engine
from emulator.cloudformation.resources import Emulated, tags_dict

# What CreateQueue gives an attribute the template leaves out (moto's defaults, AWS's values):
# an update that drops a property sets it back, as a fresh create would have it.
QUEUE_DEFAULTS: dict[str, Any] = {
    "DelaySeconds": 0,
    "MaximumMessageSize": MAXIMUM_MESSAGE_LENGTH,
    "MessageRetentionPeriod": 345_600,
    "ReceiveMessageWaitTimeSeconds": 0,
    "VisibilityTimeout": 30,
    "KmsMasterKeyId": None,
    "KmsDataKeyReusePeriodSeconds": 300,
    "SqsManagedSseEnabled": True,
    "RedrivePolicy": None,
    "RedriveAllowPolicy": None,
}
FIFO_DEFAULTS: dict[str, Any] = {
    "ContentBasedDeduplication": False,
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}


def converge_queue(
    queue: Queue, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> Queue:
    defaults = {**QUEUE_DEFAULTS, **(FIFO_DEFAULTS if queue.fifo_queue else {})}
    attributes = {name: copy.deepcopy(new.get(name, default)) for name, default in defaults.items()}
    if isinstance(attributes["RedriveAllowPolicy"], dict):
        attributes["RedriveAllowPolicy"] = json.dumps(attributes["RedriveAllowPolicy"])
    # moto's setter clears the policy unless it is passed (the QueuePolicy resource owns it)
    queue._set_attributes(
        {**attributes, "RedrivePolicy": attributes["RedrivePolicy"] or "", "Policy": queue.policy}
    )
    queue.tags = tags_dict(new.get("Tags"))
    return queue


class QueuePolicyResource(Emulated, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        return cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", account_id, region_name, props)

    def _apply(self, queues: list[str], policy: str) -> None:
        backend = sqs_backends[self.account_id][self.region]
        for url in queues:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if policy or name in backend.queues:  # a deleted queue took its policy with it
                backend.set_queue_attributes(name, {"Policy": policy})

    def delete(self, account_id: str, region: str) -> None:
        self._apply(self.properties["Queues"], "")


def converge_queue_policy(
    policy: QueuePolicyResource, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> QueuePolicyResource:
    policy._apply([url for url in (old or {}).get("Queues", []) if url not in new["Queues"]], "")
    policy._apply(new["Queues"], json.dumps(new["PolicyDocument"]))
    policy.properties = new
    return policy


def install() -> None:
    engine.register("AWS::SQS::Queue", converge_queue)
    engine.register("AWS::SQS::QueuePolicy", converge_queue_policy)
