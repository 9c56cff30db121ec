"""CloudWatch Logs' CloudFormation type: AWS::Logs::LogGroup updated in place (its streams and
events kept), as PutRetentionPolicy/DeleteRetentionPolicy and TagResource change it."""

from typing import Any

from moto.logs.models import LogGroup, logs_backends

from emulator.cloudformation import engine
from emulator.cloudformation.resources import tags_dict


def converge_log_group(
    group: LogGroup, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> LogGroup:
    backend = logs_backends[account_id][region]
    group.set_retention_policy(new.get("RetentionInDays"))
    group.kms_key_id = new.get("KmsKeyId")
    backend.untag_resource(group.arn, list(backend.list_tags_for_resource(group.arn)))
    backend.tag_resource(group.arn, tags_dict(new.get("Tags")))
    return group


def install() -> None:
    engine.register("AWS::Logs::LogGroup", converge_log_group)
