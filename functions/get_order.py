"""GET /orders/{orderId}: 400 for a malformed id, 404 when absent, else the order with exact amount."""

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders.keys import order_key
from orders.messages import canonical_order_id
from orders.responses import error_response, json_response, order_body

logger = Logger()
tracer = Tracer()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw_id = (APIGatewayProxyEventV2(event).path_parameters or {}).get("orderId")
    order_id = canonical_order_id(raw_id)
    if order_id is None:
        return error_response(
            400, "orderId must be a UUID", [{"field": "orderId", "problem": "is not a UUID"}]
        )

    tracer.put_annotation(key="orderId", value=order_id)  # the trace is found by its order
    item = table.get_item(Key=order_key(order_id)).get("Item")
    if item is None:
        return error_response(
            404, "Order not found", [{"field": "orderId", "problem": "no such order"}], orderId=order_id
        )
    logger.info("Order read", extra={"orderId": order_id})
    return json_response(200, order_body(item))
