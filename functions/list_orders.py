"""GET /orders?currency=EUR (docs/extending.md): the newest orders in one currency, from the
table's byCurrency index (newest first, at most 20)."""

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.conditions import Key
from orders.currencies import MINOR_UNITS
from orders.responses import error_response, json_response, order_body

PAGE = 20

logger = Logger()
tracer = Tracer()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
INDEX = os.environ["INDEX_NAME"]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    currency = (APIGatewayProxyEventV2(event).query_string_parameters or {}).get("currency")
    if currency not in MINOR_UNITS:
        return error_response(
            400,
            "currency must be an ISO 4217 code",
            [{"field": "currency", "problem": "is not a known currency"}],
        )
    found = table.query(
        IndexName=INDEX,
        KeyConditionExpression=Key("currency").eq(currency),
        ScanIndexForward=False,
        Limit=PAGE,
    )
    return json_response(200, {"orders": [order_body(item) for item in found["Items"]]})
