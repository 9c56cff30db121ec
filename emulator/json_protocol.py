"""AWS's client errors for the JSON-protocol APIs the emulator serves directly (SQS, DynamoDB):
a malformed request gets the 400 AWS answers, never moto's 500 (which SDKs retry) nor an
unrelated error (moto read an unparseable SendMessage as "queue does not exist")."""

import functools
import json
from typing import Any

from botocore.loaders import create_loader
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from emulator.http import Response

SERVICES = {"AmazonSQS": "sqs", "DynamoDB_20120810": "dynamodb"}  # X-Amz-Target prefix -> model


@functools.cache
def _model(service: str) -> ServiceModel:
    loader = create_loader()
    return ServiceModel(loader.load_service_model(service, "service-2"), service)


def client_error(code: str, message: str) -> Response:
    body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": message}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{code};Sender"}
    return Response(400, headers, body)


def refusal(target: str, body: bytes) -> Response | None:
    """Checks that cost next to nothing, before the request reaches moto: a known operation and a
    body that is a JSON object."""
    prefix, _, operation = target.partition(".")
    if operation not in _model(SERVICES[prefix]).operation_names:
        return client_error("UnknownOperationException", f"Unknown operation {operation!r}")
    if body.strip():
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return client_error("SerializationException", "The request body is not valid JSON")
        if not isinstance(document, dict):
            return client_error("SerializationException", "The request body must be a JSON object")
    return None


def explain(target: str, body: bytes) -> Response | None:
    """After moto failed on a request: the validation error AWS would have answered, if any."""
    prefix, _, operation = target.partition(".")
    shape = _model(SERVICES[prefix]).operation_model(operation).input_shape
    if shape is None:
        return None
    document: Any = json.loads(body) if body.strip() else {}
    report = ParamValidator().validate(document, shape)
    if not report.has_errors():
        return None
    text = report.generate_report()
    return client_error(
        "SerializationException" if "Invalid type" in text else "ValidationException", text.replace("\n", " ")
    )
