"""DynamoDB's speed-ups keep moto's answers: a condition parsed once decides each write on its own
item; an item's size is checked as moto checks it."""

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
