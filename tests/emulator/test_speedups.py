"""The control plane's shortcuts through moto give the same answers as moto's own paths."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import moto
import pytest

from emulator.core import speedups


@pytest.fixture
def table() -> Iterator[Any]:
    with moto.mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def test_sqs_results_are_the_same_before_and_after_the_direct_path_takes_over() -> None:
    with moto.mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for i in range(speedups.PLAIN_RESULTS_TO_VERIFY + 5):
            sent = sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
            [got] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
            assert (got["MessageId"], got["Body"], got["MD5OfBody"]) == (
                sent["MessageId"],
                f"m{i}",
                sent["MD5OfMessageBody"],
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
        assert (
            int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            == 0
        )
    assert speedups.PLAIN_RESULTS_VERIFIED["sqs.SendMessage"] >= speedups.PLAIN_RESULTS_TO_VERIFY
    assert "sqs.SendMessage" not in speedups.PLAIN_RESULTS_DIFFER


def test_dynamodb_results_are_the_same_before_and_after_the_direct_path_takes_over(table: Any) -> None:
    plain = {"PK": "a", "amount": Decimal("99.9"), "tags": ["x", "y"], "nested": {"ok": True, "n": 3}}
    binary = {"PK": "b", "blob": b"\x00\xffbytes", "set": {b"\x01", b"\x02"}}  # base64 on the wire
    table.put_item(Item=plain)
    table.put_item(Item=binary)
    for _ in range(speedups.PLAIN_RESULTS_TO_VERIFY + 5):  # verified first, then direct
        assert "Attributes" not in table.put_item(Item=plain)  # an empty result: {} on the wire
        assert table.get_item(Key={"PK": "a"})["Item"] == plain
        got = table.get_item(Key={"PK": "b"})["Item"]
        assert (got["blob"].value, {b.value for b in got["set"]}) == (binary["blob"], binary["set"])
        assert "Item" not in table.get_item(Key={"PK": "missing"})
        assert table.query(KeyConditionExpression="PK = :k", ExpressionAttributeValues={":k": "a"})[
            "Items"
        ] == [plain]
    for operation in ("dynamodb.PutItem", "dynamodb.GetItem", "dynamodb.Query"):
        assert speedups.PLAIN_RESULTS_VERIFIED[operation] >= speedups.PLAIN_RESULTS_TO_VERIFY
        assert operation not in speedups.PLAIN_RESULTS_DIFFER


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"Item": {"S": "x"}, "Count": 1, "Capacity": 0.5, "Flag": True, "L": [{"N": "1"}]}, True),
        ({"Item": {"B": b"x"}}, False),
        ({"Item": None}, False),
        ({"Items": [], "Count": 0}, False),
        ({"Item": {"M": {}}}, False),
        ({}, False),
        ({"Capacity": float("nan")}, False),
        ({1: "not a str key"}, False),
    ],
)
def test_only_plain_json_results_take_the_direct_path(value: Any, plain: bool) -> None:
    assert speedups._is_plain_json(value) is plain


EC2_REGIONS = """
import sys, boto3
from emulator.core import speedups
if sys.argv[1] == "shared":
    with speedups.one_boto_session():
        from moto.ec2.models import availability_zones_and_regions as az
else:
    from moto.ec2.models import availability_zones_and_regions as az
assert boto3.Session is boto3.session.Session and az.Session is boto3.session.Session, "names put back"
print(sorted(region.name for region in az.RegionsAndZonesBackend.regions))
"""


def test_one_boto_session_gives_ec2_the_same_regions_and_puts_the_name_back() -> None:
    """In fresh interpreters: moto's EC2 region list imported with one shared Session is the one
    it builds with its three new Sessions."""
    import subprocess
    import sys
    from pathlib import Path

    def regions(how: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", EC2_REGIONS, how],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout

    shared = regions("shared")
    assert "us-east-1" in shared and "cn-north-1" in shared and "us-gov-west-1" in shared
    assert shared == regions("new sessions")


def test_a_known_account_s_backend_is_the_one_moto_made_and_reset_still_clears_a_new_one() -> None:
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import sqs_backends

    with moto.mock_aws():
        account = "210987654321"  # new here: moto's path creates and registers it
        backend = sqs_backends[account]["us-east-1"]
        backend.create_queue("kept-until-reset")
        assert sqs_backends[account]["us-east-1"] is backend  # known: answered directly, the same
        assert (
            boto3.client("sqs", region_name="us-east-1").list_queues().get("QueueUrls") is None
        )  # another account's

        BackendDict.reset()
        assert account not in sqs_backends  # it was registered, so reset cleared it
        assert sqs_backends[account]["us-east-1"].queues == {}  # and a fresh one is made again
