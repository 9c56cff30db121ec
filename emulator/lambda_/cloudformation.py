"""Lambda's CloudFormation types: AWS::Lambda::Function and ::EventSourceMapping updated in place,
as UpdateFunctionConfiguration, UpdateFunctionCode and UpdateEventSourceMapping change them;
::Permission and ::LayerVersion (create-only throughout, so always replaced) with a Ref and a
delete, which moto's models lack."""

import base64
import copy
import io
import json
import zipfile
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import (
    EventSourceMapping,
    LambdaFunction,
    LayerVersion,
    Permission,
    lambda_backends,
)

from emulator.cloudformation import engine
from emulator.cloudformation.resources import tags_dict
from emulator.patching import replace

# A function's configuration, as a create from its properties sets it (LoggingConfig: lambda_.patches)
CONFIGURATION = (
    "handler",
    "role",
    "run_time",
    "environment_vars",
    "reserved_concurrency",
    "description",
    "memory_size",
    "kms_key_arn",
    "timeout",
    "layers",
    "tracing_config",
    "architectures",
    "ephemeral_storage",
    "_vpc_config",
    "image_config",
    "code_signing_config_arn",
    "logging_config",
    "tags",
)
CODE = ("code", "code_bytes", "code_size", "code_sha_256", "code_digest")
API_NAMES = {"KmsKeyArn": "KMSKeyArn"}  # CloudFormation's name -> CreateFunction's


def _function_spec(fn: LambdaFunction, properties: dict[str, Any]) -> dict[str, Any]:
    spec = {API_NAMES.get(key, key): value for key, value in copy.deepcopy(properties).items()}
    spec["FunctionName"] = fn.function_name
    spec["Tags"] = tags_dict(properties.get("Tags"))
    if "ZipFile" in spec["Code"]:  # inline source, zipped as moto's create zips it
        zipped = LambdaFunction._create_zipfile_from_plaintext_code(spec["Code"]["ZipFile"])
        spec["Code"]["ZipFile"] = base64.b64encode(zipped)
    return spec


def converge_function(
    fn: LambdaFunction, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> LambdaFunction:
    configured = LambdaFunction(account_id, _function_spec(fn, new), region)  # type: ignore[abstract]
    for name in CONFIGURATION:
        setattr(fn, name, getattr(configured, name, None))
    if old is not None and new.get("Code") != old.get("Code"):
        for name in CODE:
            setattr(fn, name, getattr(configured, name))
    if old is not None:
        fn.last_modified = configured.last_modified
        fn.code_or_config_updated = True
    return fn


def converge_event_source_mapping(
    mapping: EventSourceMapping, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> EventSourceMapping:
    function = lambda_backends[account_id][region]._lambdas.get_function_by_name_or_arn_with_qualifier(
        new["FunctionName"]
    )
    spec = {
        **copy.deepcopy(new),
        "RegionName": region,
        "AccountId": account_id,
        "FunctionArn": function.function_arn,
        "Tags": tags_dict(new.get("Tags")),
    }
    configured = EventSourceMapping(spec)  # type: ignore[abstract]
    for name, value in vars(configured).items():
        # its identity stays, and what the emulator keeps on it (a stream mapping's position)
        if name not in ("uuid", "arn") and not name.startswith("emulator_"):
            setattr(mapping, name, value)
    return mapping


def install() -> None:
    engine.register("AWS::Lambda::Function", converge_function)
    engine.register("AWS::Lambda::EventSourceMapping", converge_event_source_mapping)
    permissions_are_statements_of_the_function_policy()
    layer_versions_are_referred_to_by_arn()
    inline_code_zips_the_same_every_time()


def inline_code_zips_the_same_every_time() -> None:
    """Inline code (Code.ZipFile) zipped with fixed timestamps: the same source, the same
    CodeSha256, deploy after deploy, as CloudFormation's (moto stamped the current time, so a
    fresh deploy and an update of one template told two different code hashes)."""
    zip_source = LambdaFunction._create_zipfile_from_plaintext_code

    def create_zipfile_from_plaintext_code(code: str) -> bytes:
        stamped = zipfile.ZipFile(io.BytesIO(zip_source(code)))
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as fixed:
            for info in stamped.infolist():
                fixed.writestr(
                    zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), stamped.read(info)
                )
        return output.getvalue()

    replace(
        LambdaFunction,
        "_create_zipfile_from_plaintext_code",
        staticmethod(create_zipfile_from_plaintext_code),
    )


def permissions_are_statements_of_the_function_policy() -> None:
    """moto's AWS::Lambda::Permission adds its statement and forgets it: deleting or replacing the
    resource left the statement in the function's policy (API Gateway could still invoke after the
    route was gone). The resource is now its statement: Ref is its Sid, delete removes it."""

    def create(cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
               region_name: str, **kwargs: Any) -> Permission:  # fmt: skip
        properties = cloudformation_json["Properties"]
        fn = lambda_backends[account_id][region_name].get_function(properties["FunctionName"])
        statement, _ = fn.policy.add_statement(raw=json.dumps(properties))
        permission = Permission(region=region_name)  # type: ignore[abstract]
        permission.function_name, permission.sid = fn.function_name, statement["Sid"]  # type: ignore[attr-defined]
        return permission

    def delete(self: Permission, account_id: str, region: str) -> None:
        sid = getattr(self, "sid", None)
        try:
            policy = lambda_backends[account_id][region].get_function(self.function_name).policy  # type: ignore[attr-defined]
        except UnknownFunctionException:
            return  # deleted with its function
        if sid is not None and any(statement.get("Sid") == sid for statement in policy.statements):
            policy.del_statement(sid)

    replace(Permission, "create_from_cloudformation_json", classmethod(create))
    replace(Permission, "physical_resource_id", property(lambda self: getattr(self, "sid", "")))
    replace(Permission, "delete", delete)


def layer_versions_are_referred_to_by_arn() -> None:
    """Ref of an AWS::Lambda::LayerVersion is its ARN, as on AWS; moto handed the model object to
    a function's Layers (UpdateFunctionConfiguration then failed: 'LayerVersion' object has no
    attribute 'replace') and never deleted the version with its stack."""

    def delete(self: LayerVersion, account_id: str, region: str) -> None:
        backend = lambda_backends[account_id][region]
        if self.name in backend._layers._layers:
            backend.delete_layer_version(self.name, str(self.version))

    replace(LayerVersion, "physical_resource_id", property(lambda self: self.arn))
    replace(LayerVersion, "delete", delete)
