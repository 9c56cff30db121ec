"""POST /orders: validate, enqueue, answer 202 with the new orderId (Idempotency-Key aware)."""

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders.messages import new_order
from orders.requests import (
    OrderRequest,
    RequestError,
    check_content_type,
    check_idempotency_key,
    decode_body,
    parse_order_request,
)
from orders.responses import error_response, json_response

logger = Logger()
tracer = Tracer()
metrics = Metrics()
sqs = boto3.client("sqs")
QUEUE_URL = os.environ["QUEUE_URL"]

idempotency_config = IdempotencyConfig(
    event_key_jmespath="idempotencyKey",
    payload_validation_jmespath="order",
    expires_after_seconds=24 * 60 * 60,
)
idempotency_store = DynamoDBPersistenceLayer(
    table_name=os.environ["TABLE_NAME"],
    key_attr="PK",
    sort_key_attr="SK",
    # the table's only non-order partition this function may touch: the stack grants exactly it
    static_pk_value=os.environ["IDEMPOTENCY_PARTITION"],
)


@tracer.capture_method
def enqueue(request: OrderRequest) -> dict[str, str]:
    order = new_order(request.amount, request.currency)
    tracer.put_annotation(key="orderId", value=order.order_id)  # the trace is found by its order
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=order.to_message())
    logger.info("Order accepted", extra={"orderId": order.order_id, "currency": order.currency})
    metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=1)
    return {"orderId": order.order_id}


@idempotent_function(
    data_keyword_argument="keyed_order", config=idempotency_config, persistence_store=idempotency_store
)
def enqueue_once(keyed_order: dict[str, Any]) -> dict[str, str]:
    order = keyed_order["order"]
    return enqueue(OrderRequest(amount=order["amount"], currency=order["currency"]))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_event = APIGatewayProxyEventV2(event)
    try:
        check_content_type(request_event.headers.get("content-type"))
        idempotency_key = check_idempotency_key(request_event.headers.get("idempotency-key"))
        request = parse_order_request(decode_body(request_event.body, bool(request_event.is_base64_encoded)))
    except RequestError as error:
        logger.info("Order rejected", extra={"status": error.status, "reason": error.message})
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        return error.response()

    if idempotency_key is None:
        result = enqueue(request)
    else:
        idempotency_config.register_lambda_context(context)
        keyed_order = {
            "idempotencyKey": idempotency_key,
            "order": {"amount": request.amount, "currency": request.currency},
        }
        try:
            result = enqueue_once(keyed_order=keyed_order)
        except IdempotencyValidationError:
            return error_response(
                422,
                "Idempotency-Key was already used with a different order body",
                [{"field": "Idempotency-Key", "problem": "was already used with a different body"}],
            )
        except IdempotencyAlreadyInProgressError:
            return error_response(
                409,
                "An order with this Idempotency-Key is still being created; retry shortly",
                [{"field": "Idempotency-Key", "problem": "is in progress"}],
            )

    return json_response(202, result, headers={"Location": f"/orders/{result['orderId']}"})
