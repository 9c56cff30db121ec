"""The activity table's writer (docs/extending.md steps 5-7): invoked by the orders table's
stream, by EventBridge rules (a pattern and a schedule) and by S3 notifications; each entry is
recorded with the time it was seen."""

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders.activity import entries
from orders.messages import iso_timestamp

logger = Logger()
tracer = Tracer()
table = boto3.resource("dynamodb").Table(os.environ["ACTIVITY_TABLE"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    seen = iso_timestamp(datetime.now(UTC))
    recorded = entries(event)
    # a failure raises: the stream retries the batch, EventBridge and S3 (asynchronous
    # invocations) retry the event; writing an entry twice leaves the same item
    with table.batch_writer() as batch:
        for entry in recorded:
            batch.put_item(Item={**entry, "seenAt": seen})
    logger.info("Activity recorded", extra={"entries": len(recorded)})
    return {"batchItemFailures": []}  # the stream's partial-batch answer: nothing failed
