"""`make load` touches only what it created: its own poison leaves the DLQ, nothing else does."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from load.ledger import RUN_MARKER
from load.run import sweep_dlq


@pytest.fixture
def sqs() -> Iterator[Any]:
    with moto.mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def poison(sqs: Any, url: str, run: str, body: str) -> None:
    marker = {RUN_MARKER: {"DataType": "String", "StringValue": run}}
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=marker)


def test_the_sweep_removes_this_runs_poison_and_leaves_everything_else_visible(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for i in range(12):  # more than one receive's worth of the user's own dead letters
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"orderId": f"user-{i}"}))
    poison(sqs, url, "steady-1", "poison-of-another-run")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"orderId": "ours"}))
    for i in range(3):
        poison(sqs, url, "steady-2", f"poison-{i}")

    sweep = sweep_dlq(sqs, url, "steady-2", accepted={"ours"})

    assert sweep.removed == {"poison-0", "poison-1", "poison-2"}
    assert sweep.accepted_orders == ["ours"]
    assert sweep.left == 13
    remaining = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert remaining["ApproximateNumberOfMessages"] == "14"  # visible again at once, none deleted
    assert remaining["ApproximateNumberOfMessagesNotVisible"] == "0"
