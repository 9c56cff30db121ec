"""IAM's CloudFormation types: AWS::IAM::Role and ::Policy updated in place (the role keeps its
id, so its functions' credentials stay valid), as UpdateRole, UpdateAssumeRolePolicy,
Put/DeleteRolePolicy, Attach/DetachRolePolicy and PutRolePermissionsBoundary change them."""

import functools
import json
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend, InlinePolicy, Role, iam_backends
from moto.utilities.utils import get_partition

from emulator.cloudformation import engine
from emulator.patching import replace


def _document(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def converge_role(
    role: Role, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> Role:
    old = old or {}
    backend = iam_backends[account_id][get_partition(region)]
    role.assume_role_policy_document = _document(new["AssumeRolePolicyDocument"])
    role.description = new.get("Description", "")
    role.max_session_duration = new.get("MaxSessionDuration", 3600)
    role.permissions_boundary_arn = new.get("PermissionsBoundary") or None
    role.tags = list(new.get("Tags", []))
    # The role's own Policies and ManagedPolicyArns only: AWS::IAM::Policy resources add theirs too.
    inline = {p["PolicyName"]: _document(p["PolicyDocument"]) for p in new.get("Policies", [])}
    for policy in old.get("Policies", []):
        if policy["PolicyName"] not in inline and policy["PolicyName"] in role.policies:
            role.delete_policy(policy["PolicyName"])
    for name, document in inline.items():
        role.put_policy(name, document)
    managed = new.get("ManagedPolicyArns", [])
    for arn in old.get("ManagedPolicyArns", []):
        if arn not in managed and arn in role.managed_policies:
            backend.detach_role_policy(arn, role.name)
    for arn in managed:
        if arn not in role.managed_policies:
            _know_aws_managed_policy(backend, arn)
            backend.attach_role_policy(arn, role.name)
    return role


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    return json.loads(aws_managed_policies_data)


def _know_aws_managed_policy(backend: IAMBackend, arn: str) -> None:
    """moto loads AWS's managed policies (ReadOnlyAccess, AWSLambdaBasicExecutionRole, ...) only
    when told to, all ~1,400 at once; a role that attaches one gets that one, as on AWS."""
    name = arn.rsplit("/", 1)[-1]
    if (
        arn in backend.managed_policies
        or ":iam::aws:policy/" not in arn
        or name not in _aws_managed_policies()
    ):
        return  # a customer-managed policy, or one AWS does not have: attaching it fails as on AWS
    policy = AWSManagedPolicy.from_data(
        name, backend.account_id, backend.region_name, _aws_managed_policies()[name]
    )
    backend.managed_policies[policy.arn] = policy


def converge_policy(
    policy: InlinePolicy, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> InlinePolicy:
    if old is None:
        return policy  # moto's create applied it
    backend = iam_backends[account_id][get_partition(region)]
    return backend.update_inline_policy(
        policy.name,
        new["PolicyName"],
        new["PolicyDocument"],
        new.get("Groups") or [],
        new.get("Roles") or [],
        new.get("Users") or [],
    )


def install() -> None:
    engine.register("AWS::IAM::Role", converge_role)
    engine.register("AWS::IAM::Policy", converge_policy)
    roles_are_deleted_with_their_managed_policies_detached()


def roles_are_deleted_with_their_managed_policies_detached() -> None:
    """CloudFormation detaches a role's managed policies before deleting it; moto's delete left
    them attached and DeleteRole refused ("must detach all policies first"): a rollback that
    removed a role with AWSLambdaBasicExecutionRole (CDK's own handlers have it) stopped in
    ROLLBACK_FAILED."""
    moto_delete = Role.delete_from_cloudformation_json

    def delete_from_cloudformation_json(
        cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in [r for r in backend.roles.values() if r.name == resource_name]:
            for arn in list(role.managed_policies):
                backend.detach_role_policy(arn, role.name)
        moto_delete(resource_name, cloudformation_json, account_id, region_name)

    replace(Role, "delete_from_cloudformation_json", classmethod(delete_from_cloudformation_json))
