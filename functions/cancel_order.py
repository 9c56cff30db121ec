"""POST /orders/{orderId}/cancel (docs/extending.md): a processed order becomes CANCELLED, once;
404 when absent, 409 when not cancellable. With CANCELLATIONS_TABLE set, each cancellation is
also recorded there."""

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders.keys import order_key
from orders.messages import canonical_order_id, iso_timestamp
from orders.responses import error_response, json_response

CANCELLABLE, CANCELLED = "PROCESSED", "CANCELLED"

logger = Logger()
tracer = Tracer()
dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table(os.environ["TABLE_NAME"])
cancellations = (
    dynamodb.Table(os.environ["CANCELLATIONS_TABLE"]) if os.environ.get("CANCELLATIONS_TABLE") else None
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = canonical_order_id((APIGatewayProxyEventV2(event).path_parameters or {}).get("orderId"))
    if order_id is None:
        return error_response(
            400, "orderId must be a UUID", [{"field": "orderId", "problem": "is not a UUID"}]
        )
    try:
        # one conditional write: no read-then-write race, and the role needs UpdateItem only
        table.update_item(
            Key=order_key(order_id),
            UpdateExpression="SET #status = :cancelled",
            ConditionExpression="#status = :cancellable",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":cancelled": CANCELLED, ":cancellable": CANCELLABLE},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException as failure:
        current: dict[str, Any] | None = failure.response.get("Item")  # type: ignore[assignment]  # ALL_OLD
        if current is None:
            return error_response(404, "Order not found", [{"field": "orderId", "problem": "no such order"}])
        status = current["status"]["S"]
        return error_response(
            409,
            f"Order is {status}",
            [{"field": "orderId", "problem": f"only a {CANCELLABLE} order can be cancelled"}],
        )
    if cancellations is not None:
        cancellations.put_item(Item={"orderId": order_id, "cancelledAt": iso_timestamp(datetime.now(UTC))})
    logger.info("Order cancelled", extra={"orderId": order_id})
    return json_response(200, {"orderId": order_id, "status": CANCELLED})
