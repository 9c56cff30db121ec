"""DynamoDB's speed-ups keep moto's answers: a condition parsed once decides each write on its own
item; an item's size is checked as moto checks it."""

import copy
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import comparisons, models
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict


def test_a_condition_is_parsed_once_and_decides_each_write_on_its_own_item(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[str | None] = []
    parse = comparisons.ConditionExpressionParser.parse
    monkeypatch.setattr(
        comparisons.ConditionExpressionParser,
        "parse",
        lambda self: parses.append(self.condition_expression) or parse(self),
    )
    name = f"#pk{uuid.uuid4().hex}"  # a condition no other test parsed in this process

    def put(key: str) -> str:
        try:
            dynamodb.put_item(
                TableName="t", Item={"PK": {"S": key}},
                ConditionExpression=f"attribute_not_exists({name})", ExpressionAttributeNames={name: "PK"},
            )  # fmt: skip
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "stored"

    assert [put(key) for key in "abacb"] == [
        "stored", "stored", "ConditionalCheckFailedException", "stored", "ConditionalCheckFailedException",
    ]  # fmt: skip
    assert parses == [f"attribute_not_exists({name})"]  # by moto's responses and its backend alike
    for _ in range(2):  # what does not parse fails every time, as moto fails it
        with pytest.raises(ValueError, match="Bad function expression"):
            models.get_filter_expression("attribute_not_exists(PK", None, None)


def test_a_condition_on_a_binary_value_decides_the_write(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={"PK": {"S": "k"}, "b": {"B": b"old"}})

    def put_if(value: bytes) -> str:
        try:
            dynamodb.put_item(
                TableName="t", Item={"PK": {"S": "k"}, "b": {"B": b"new"}},
                ConditionExpression="b = :v", ExpressionAttributeValues={":v": {"B": value}},
            )  # fmt: skip
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "stored"

    assert [put_if(b"other"), put_if(b"old"), put_if(b"old")] == [
        "ConditionalCheckFailedException", "stored", "ConditionalCheckFailedException",
    ]  # fmt: skip


def as_moto_sizes_it(attrs: dict[str, Any]) -> dict[str, Any] | type[ItemSizeTooLarge]:
    """moto's own check: each attribute set through LimitedSizeDict.__setitem__."""
    checked = LimitedSizeDict()
    try:
        for key, value in attrs.items():
            checked[key] = DynamoType(value)
    except ItemSizeTooLarge:
        return ItemSizeTooLarge
    return dict(checked)


def as_the_emulator_sizes_it(attrs: dict[str, Any]) -> dict[str, Any] | type[ItemSizeTooLarge]:
    try:
        return dict(Item(DynamoType(attrs["PK"]), None, attrs).attrs)
    except ItemSizeTooLarge:
        return ItemSizeTooLarge


@pytest.mark.parametrize("padding", [0, 404_000, 404_949, 404_950, 500_000])
def test_an_item_is_refused_at_the_size_moto_refuses_it(dynamodb: Any, padding: int) -> None:
    # moto refuses more than 405,000 bytes: 404,949 of padding is an item of exactly that
    attrs = {"PK": {"S": "k"}, "pad": {"S": "x" * padding}, "n": {"N": "12.5"}, "l": {"L": [{"S": "ab"}]},
             "m": {"M": {"k": {"BOOL": True}}}, "last": {"S": "y" * 30}}  # fmt: skip
    assert as_the_emulator_sizes_it(attrs) == as_moto_sizes_it(attrs)


def test_a_scan_answers_as_moto_s_own_scan_and_copies_stay_copies(dynamodb: Any) -> None:
    """Two ways to one answer: each page of Scans (all, Select=COUNT, Limit paging, a filter) with
    the emulator's scan and with moto's own put back."""
    from moto.dynamodb.models import table

    from emulator.patching import original, swapped

    dynamodb.create_table(
        TableName="n", KeySchema=[{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "N"}, {"AttributeName": "r", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    for h in ("10", "9", "1.5", "-3", "100"):  # numbers: sorted as numbers, not as strings
        for r in ("b", "a", "B"):
            dynamodb.put_item(TableName="n", Item={"h": {"N": h}, "r": {"S": r}, "v": {"N": str(len(h))}})
    for key in ("z", "a", "m", "ä", "A"):
        dynamodb.put_item(TableName="t", Item={"PK": {"S": key}})

    def pages(name: str, **scan: Any) -> list[Any]:
        found, start = [], {}
        while True:
            page = dynamodb.scan(TableName=name, **scan, **start)
            page.pop("ResponseMetadata")
            found.append(page)
            if "LastEvaluatedKey" not in page:
                return found
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def every_scan() -> list[Any]:
        return [
            pages(name, **scan)
            for name in ("n", "t")
            for scan in ({}, {"Select": "COUNT"}, {"Limit": 4}, {"Limit": 2, "Select": "COUNT"})
        ] + [pages("n", FilterExpression="v > :one", ExpressionAttributeValues={":one": {"N": "1"}}, Limit=4)]

    emulators = every_scan()
    with (
        swapped(table, "copy", copy),
        swapped(table.Table, "scan", original(table.Table, "scan")),
        swapped(table.Table, "all_items", original(table.Table, "all_items")),
    ):
        assert every_scan() == emulators
    assert [item["h"]["N"] for item in emulators[0][0]["Items"]][::3] == ["-3", "1.5", "9", "10", "100"]

    # what moto's table module copies outside a Scan is still a copy of its own: a backup
    dynamodb.scan(TableName="n")
    arn = dynamodb.create_backup(TableName="n", BackupName="before")["BackupDetails"]["BackupArn"]
    dynamodb.put_item(TableName="n", Item={"h": {"N": "9"}, "r": {"S": "a"}, "v": {"N": "7"}})
    dynamodb.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)
    restored = dynamodb.get_item(TableName="restored", Key={"h": {"N": "9"}, "r": {"S": "a"}})["Item"]
    assert restored["v"] == {"N": "1"}
