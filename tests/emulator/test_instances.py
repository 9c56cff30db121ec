"""moto's registry of model instances holds what is alive only (emulator.core.instances)."""

import gc
import json

import boto3
import moto
from moto.dynamodb.models.dynamo_type import Item
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.sqs.models import Message


def messages_tracked_after(sent: int, kept: int) -> list[str]:
    """`sent` messages through a queue, of which the last `kept` are not received and deleted:
    the bodies moto's registry then holds, and its dashboard lists the same."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(sent - kept):
        sqs.send_message(QueueUrl=url, MessageBody=f"deleted-{i}")
        # (visible at once: a message in flight waits in the store's timer heap until its
        # visibility timeout passes, deleted or not)
        for message in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    for i in range(kept):
        sqs.send_message(QueueUrl=url, MessageBody=f"kept-{i}")
    gc.collect()
    tracked = sorted(message.body for message in Message.instances_tracked)
    _, _, dashboard = MotoAPIResponse().model_data(None, "", {})
    assert sorted(m["body"] for m in json.loads(dashboard)["sqs"]["Message"]) == tracked
    return tracked


def test_deleted_messages_are_let_go_and_live_ones_still_listed() -> None:
    with moto.mock_aws():
        assert messages_tracked_after(sent=50, kept=3) == ["kept-0", "kept-1", "kept-2"]
    moto_api_backend.reset()  # moto's reset makes each registry a list again
    with moto.mock_aws():
        assert messages_tracked_after(sent=20, kept=1) == ["kept-0"]


def test_deleted_items_are_let_go_though_items_cannot_be_hashed() -> None:
    with moto.mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(10):
            dynamodb.put_item(TableName="t", Item={"PK": {"S": f"k{i}"}})
        for i in range(7):
            dynamodb.delete_item(TableName="t", Key={"PK": {"S": f"k{i}"}})
        dynamodb.scan(TableName="t")
        gc.collect()
        assert sorted(item.hash_key.value for item in Item.instances_tracked) == ["k7", "k8", "k9"]
