"""Handler tests run against moto's in-process AWS (SQS + DynamoDB) with AWS's exact event shapes."""

import os

os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    TABLE_NAME="orders-test",
    QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/orders-test",
    IDEMPOTENCY_PARTITION="IDEMPOTENCY#create_order",
    INDEX_NAME="byCurrency",  # ListOrders' index (docs/extending.md)
    ACTIVITY_TABLE="activity-test",  # RecordActivity's (docs/extending.md)
    POWERTOOLS_SERVICE_NAME="orders",
    POWERTOOLS_METRICS_NAMESPACE="OrdersPipeline",
    POWERTOOLS_TRACE_DISABLED="true",
)

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import moto
import pytest


@dataclass
class Aws:
    sqs: Any
    table: Any
    queue_url: str

    def queued_bodies(self) -> list[str]:
        bodies = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return bodies
            bodies += [m["Body"] for m in messages]


@pytest.fixture
def aws() -> Iterator[Aws]:
    with moto.mock_aws():
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="orders-test")["QueueUrl"]
        assert queue_url == os.environ["QUEUE_URL"]
        dynamodb = boto3.resource("dynamodb")
        table = dynamodb.create_table(
            TableName="orders-test",
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Aws(sqs=sqs, table=table, queue_url=queue_url)
