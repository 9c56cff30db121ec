"""OrdersQueue consumer: write each order once; bad records fail alone (partial batch response).

A record that fails can fail for now (throttling, a missing grant, an outage) or for good (a body
that is no order). The first waits out the queue's visibility timeout, a backoff long enough that
a slow batch is never handed out twice; the second is released at once, since waiting cannot
mend it, so it reaches the DLQ after maxReceiveCount receives in seconds, not minutes.
"""

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders.keys import order_key
from orders.messages import InvalidOrderMessage, iso_timestamp, parse_order_message

ORDER_STATUS = "PROCESSED"

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# An all-poison batch still answers with partial failures, not a function error (which would alarm).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
sqs = boto3.client("sqs")
QUEUE_URL = os.environ["QUEUE_URL"]


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        order = parse_order_message(record.body)
    except InvalidOrderMessage as error:
        # Raising fails only this record; after maxReceiveCount receives it lands in the DLQ.
        logger.error("Invalid order message", extra={"messageId": record.message_id, "reason": str(error)})
        metrics.add_metric(name="OrdersInvalid", unit=MetricUnit.Count, value=1)
        release_at_once(record)
        raise

    tracer.put_annotation(key="orderId", value=order.order_id)  # the trace is found by its order
    try:
        table.put_item(
            Item={
                **order_key(order.order_id),
                "orderId": order.order_id,
                "amount": order.amount,
                "currency": order.currency,
                "status": ORDER_STATUS,
                "createdAt": order.created_at,
                "processedAt": iso_timestamp(datetime.now(UTC)),
            },
            ConditionExpression="attribute_not_exists(PK)",
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        logger.info("Order already processed", extra={"orderId": order.order_id})
        metrics.add_metric(name="OrdersDuplicate", unit=MetricUnit.Count, value=1)
        return
    except Exception:
        # Fails only this record (retried, then the DLQ). The batch processor keeps the reason to
        # itself, so it goes to the log, where an operator looks first: a missing grant
        # (AccessDeniedException), throttling, an outage.
        logger.exception(
            "Order not stored", extra={"orderId": order.order_id, "messageId": record.message_id}
        )
        raise
    logger.info("Order processed", extra={"orderId": order.order_id})
    metrics.add_metric(name="OrdersProcessed", unit=MetricUnit.Count, value=1)


def release_at_once(record: SQSRecord) -> None:
    """Make a record that can never succeed visible again now rather than after the visibility timeout."""
    try:
        sqs.change_message_visibility(
            QueueUrl=QUEUE_URL, ReceiptHandle=record.receipt_handle, VisibilityTimeout=0
        )
    except Exception:  # it then returns after the visibility timeout: later, as surely
        logger.warning(
            "Invalid order message not released at once",
            extra={"messageId": record.message_id},
            exc_info=True,
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
