"""DynamoDB's CloudFormation type: AWS::DynamoDB::Table updated in place, its items kept, as
UpdateTable, UpdateTimeToLive and UpdateContinuousBackups change it (KeySchema and
LocalSecondaryIndexes replace the table: cloudformation/schemas.py)."""

import copy
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from emulator.cloudformation import engine

# What a table's configuration is, as a create from these properties sets it; its items, its
# creation time and (while the stream specification stays) its stream are what an update keeps.
CONFIGURATION = (
    "attr",
    "billing_mode",
    "throughput",
    "warm_throughput",
    "global_indexes",
    "sse_specification",
    "deletion_protection_enabled",
    "tags",
)


def _configured(table: Table, properties: dict[str, Any]) -> Table:
    """A table as moto's create makes it from `properties` (same arguments), never registered."""
    properties = copy.deepcopy(properties)
    return Table(  # type: ignore[abstract]
        table.name,
        account_id=table.account_id,
        region=table.region_name,
        schema=properties["KeySchema"],
        attr=properties.get("AttributeDefinitions", []),
        throughput=properties.get("ProvisionedThroughput"),
        billing_mode="PAY_PER_REQUEST"
        if properties.get("BillingMode") == "PAY_PER_REQUEST"
        else "PROVISIONED",
        indexes=properties.get("LocalSecondaryIndexes", []),
        global_indexes=properties.get("GlobalSecondaryIndexes", []),
        streams=None,
        sse_specification=properties.get("SSESpecification"),
        tags=properties.get("Tags"),
        deletion_protection_enabled=properties.get("DeletionProtectionEnabled", False),
        warm_throughput=properties.get("WarmThroughput"),
    )


def converge_table(
    table: Table, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> Table:
    created, old = old is None, old or {}
    configured = _configured(table, new)
    for name in CONFIGURATION:
        setattr(table, name, getattr(configured, name))
    stream = new.get("StreamSpecification") or None
    if stream != (old.get("StreamSpecification") or None) or created:
        # a stream switched off and on again is a new stream (new label and ARN), as on AWS
        table.latest_stream_label, table.stream_shard = None, None
        table.set_stream_specification(copy.deepcopy(stream))
    backend = dynamodb_backends[account_id][region]
    ttl = new.get("TimeToLiveSpecification")
    if ttl:
        backend.update_time_to_live(table.name, {"Enabled": ttl.get("Enabled", False), **ttl})
    elif old.get("TimeToLiveSpecification"):
        table.ttl = {"TimeToLiveStatus": "DISABLED"}
    recovery = (new.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled", False)
    was = (old.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled", False)
    if recovery != was or (recovery and created):
        backend.update_continuous_backups(table.name, {"PointInTimeRecoveryEnabled": recovery})
    return table


def install() -> None:
    engine.register("AWS::DynamoDB::Table", converge_table)
