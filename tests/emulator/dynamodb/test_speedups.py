"""DynamoDB's speed-ups keep moto's answers: a condition parsed once decides each write on its own item."""

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb import comparisons, models


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
        yield client


def test_a_condition_is_parsed_once_and_decides_each_write_on_its_own_item(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[str | None] = []
    parse = comparisons.get_filter_expression
    monkeypatch.setattr(
        comparisons, "get_filter_expression", lambda e, n, v: parses.append(e) or parse(e, n, v)
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
    assert parses == [f"attribute_not_exists({name})"]
    for _ in range(2):  # what does not parse fails every time, as moto fails it
        with pytest.raises(ValueError, match="Bad function expression"):
            models.get_filter_expression("attribute_not_exists(PK", None, None)
