"""What the resource types moto's CloudFormation lacks share (each lives with its service:
emulator/<service>/cloudformation.py), and CDK's own AWS::CDK::Metadata.

moto looks resource types up among the direct subclasses of its CloudFormationModel (cached on
first use), so each such type subclasses it directly; `install()` clears that cache. Every one
creates the real thing in moto's backend for that service (no silent no-ops), is updated in
place by its `converge` (engine.py) and deleted with the stack.
"""

import uuid
from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

from emulator.cloudformation import engine


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
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ) -> None:
        raise NotImplementedError  # moto calls the instance's delete() first

    def delete(self, account_id: str, region: str) -> None:
        raise NotImplementedError


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


def converge_metadata(
    metadata: CdkMetadataResource,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    account_id: str,
    region: str,
) -> CdkMetadataResource:
    metadata.properties = new  # which constructs built the stack: nothing to change
    return metadata


def tags_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """CloudFormation's Tags ([{"Key", "Value"}]) as the dict most services keep."""
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def install() -> None:
    """Make moto's CloudFormation see the types defined since its first lookup."""
    engine.register("AWS::CDK::Metadata", converge_metadata)
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
