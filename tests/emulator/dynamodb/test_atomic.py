"""Each DynamoDB request runs alone: a Scan never meets a PutItem of another thread midway, and of
two conditional writes to one new item exactly one succeeds."""

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def threads_switch_often() -> Iterator[None]:
    """Hand the GIL over every microsecond, so a race shows within a few hundred requests."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_a_scan_never_meets_a_put_midway(dynamodb: Any, threads_switch_often: None) -> None:
    stop = threading.Event()

    def put_orders() -> None:
        for number in range(100_000):
            if stop.is_set():
                return
            dynamodb.put_item(TableName="t", Item={"PK": {"S": f"order-{number}"}})

    writer = threading.Thread(target=put_orders)
    writer.start()
    failures = []
    try:
        for _ in range(300):
            try:
                dynamodb.scan(TableName="t", Select="COUNT")
            except (RuntimeError, ClientError) as error:  # moto's error, or the 500 it becomes
                failures.append(error)
    finally:
        stop.set()
        writer.join(60)
    assert failures == []


def test_of_two_conditional_writes_to_one_new_item_exactly_one_succeeds(
    dynamodb: Any, threads_switch_often: None
) -> None:
    for order in range(300):
        outcomes: list[str] = []

        def write(key: str = f"order-{order}", outcomes: list[str] = outcomes) -> None:
            try:
                dynamodb.put_item(
                    TableName="t", Item={"PK": {"S": key}}, ConditionExpression="attribute_not_exists(PK)"
                )
                outcomes.append("written")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])

        writers = [threading.Thread(target=write) for _ in range(2)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(30)
        assert sorted(outcomes) == ["ConditionalCheckFailedException", "written"], order
