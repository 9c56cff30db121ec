"""Which property changes replace a resource, from AWS's published CloudFormation resource schemas.

cfn-lint ships the registry's schemas for every region: `providers/<region>.json` maps a type to
its schema's file, whose `createOnlyProperties` are JSON pointers ("/properties/TableName").
A change under one of them replaces the resource; any other change updates it in place.

The registry can be narrower than the user guide's "Update requires: Replacement"; where they
differ, the guide (what CloudFormation does) wins, and the difference is listed once below.
A new resource type needs nothing here unless the guide and its schema disagree.
"""

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

# Found, not imported: importing cfn-lint costs ~1 s and ~66 MB, for data files read here directly.
_CFNLINT = importlib.util.find_spec("cfnlint")
if _CFNLINT is None or not _CFNLINT.submodule_search_locations:
    raise ImportError("cfn-lint is missing: `make setup` installs it with the emulator")
SCHEMAS = Path(_CFNLINT.submodule_search_locations[0]) / "data" / "schemas"
REGION = "us-east-1"  # the registry lists the same create-only properties in every region

# The user guide says "Update requires: Replacement" where the registry's schema does not list
# the property as create-only.
GUIDE_REPLACES = {
    # aws-resource-dynamodb-table: KeySchema and LocalSecondaryIndexes "Update requires: Replacement"
    "AWS::DynamoDB::Table": ("/properties/KeySchema", "/properties/LocalSecondaryIndexes"),
}


@functools.cache
def _registry() -> dict[str, str]:
    return json.loads((SCHEMAS / "providers" / f"{REGION}.json").read_text())


@functools.cache
def schema(resource_type: str) -> dict[str, Any] | None:
    """The registry's schema of `resource_type`, or None for a type AWS does not publish (CDK's
    own AWS::CDK::Metadata, Custom::*)."""
    name = _registry().get(resource_type)
    if name is None:
        return None
    return json.loads((SCHEMAS / "resources" / f"{name}.json").read_text())


@functools.cache
def create_only(resource_type: str) -> tuple[str, ...]:
    """The JSON pointers of the properties whose change replaces a resource of this type."""
    published = (schema(resource_type) or {}).get("createOnlyProperties", [])
    return tuple(dict.fromkeys([*published, *GUIDE_REPLACES.get(resource_type, ())]))


def _at(properties: dict[str, Any], pointer: str) -> Any:
    value: Any = properties
    for part in pointer.split("/")[2:]:  # "/properties/A/B" -> A, B
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def replacing_changes(resource_type: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The create-only properties (top-level names) that differ between two resolved property
    sets: empty when the change can be made in place."""
    return [
        pointer.split("/")[2]
        for pointer in create_only(resource_type)
        if _at(old, pointer) != _at(new, pointer)
    ]
