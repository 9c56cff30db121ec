"""S3's CloudFormation type AWS::S3::BucketPolicy, which moto's CloudFormation lacks (`cdk
bootstrap`'s staging bucket has a TLS-only one); stored, not enforced (policies.py)."""

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends

from emulator.cloudformation import engine
from emulator.cloudformation.resources import Emulated


class BucketPolicyResource(Emulated, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        return cls(f"{props['Bucket']}-policy", account_id, region_name, props)

    def delete(self, account_id: str, region: str) -> None:
        s3_backends[account_id]["global"].delete_bucket_policy(self.properties["Bucket"])


def converge_bucket_policy(
    policy: BucketPolicyResource,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    account_id: str,
    region: str,
) -> BucketPolicyResource:
    s3_backends[account_id]["global"].put_bucket_policy(
        new["Bucket"], json.dumps(new["PolicyDocument"]).encode()
    )
    policy.properties = new
    return policy


def install() -> None:
    engine.register("AWS::S3::BucketPolicy", converge_bucket_policy)
