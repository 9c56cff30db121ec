"""Custom resources backed by a Lambda function (`Custom::*`, `AWS::CloudFormation::CustomResource`),
run as CloudFormation runs them: the ServiceToken function gets a Create, Update or Delete
request whose properties are strings (CloudFormation sends every scalar as one: `true` arrives
as "true"), and the resource is done when the function PUTs its answer to the request's
ResponseURL: SUCCESS with a PhysicalResourceId and Data (read by Fn::GetAtt), or FAILED with a
Reason, which fails the resource with AWS's message. A function that returns without answering
fails it at once (CloudFormation would wait an hour).

aws-cdk-lib's S3 notifications, AwsCustomResource, log retention and auto-deleted buckets are
such resources. moto invoked the function in Docker with a ResponseURL no local process could
reach, and marked the resource created before it ran: the deploy succeeded and, for S3, no
notification was ever configured.
"""

import json
import logging
import threading
import uuid
from typing import Any

from emulator.http import Response, json_response
from emulator.patching import replace
from emulator.wiring import wired

log = logging.getLogger("emulator.cloudformation")

RESPONSE_PATH = "/_emulator/cloudformation/custom-resource/"  # + the request id: the ResponseURL


class CustomResourceFailed(Exception):
    pass


class Answers:
    """The ResponseURL's side: answers PUT by custom resource functions, by request id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: set[str] = set()
        self._answers: dict[str, dict[str, Any]] = {}

    def expect(self, request_id: str) -> None:
        with self._lock:
            self._expected.add(request_id)

    def take(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            self._expected.discard(request_id)
            return self._answers.pop(request_id, None)

    def receive(self, environ: dict[str, Any]) -> Response | None:
        """A function's answer (PUT <ResponseURL>), or None for another path."""
        path = environ.get("PATH_INFO", "")
        if not path.startswith(RESPONSE_PATH):
            return None
        request_id = path[len(RESPONSE_PATH) :]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            answer = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except (ValueError, KeyError):
            return json_response(400, b'{"message": "the answer is not JSON"}')
        if environ.get("REQUEST_METHOD") != "PUT" or not isinstance(answer, dict):
            return json_response(400, b'{"message": "PUT a JSON object"}')
        with self._lock:
            if request_id not in self._expected:
                return json_response(404, b'{"message": "no custom resource request waits for this answer"}')
            self._answers[request_id] = answer
        return Response(200, {"Content-Length": "0"}, b"")


def as_strings(value: Any) -> Any:
    """Properties as CloudFormation hands them to a custom resource: every scalar a string."""
    if isinstance(value, dict):
        return {key: as_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_strings(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def request(
    kind: str,
    resource: Any,
    properties: dict[str, Any],
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send one request to the resource's function and return its SUCCESS answer; raises
    CustomResourceFailed with CloudFormation's reason otherwise."""
    wiring = wired()
    if wiring.invoke is None or wiring.custom_resource_answers is None:
        raise CustomResourceFailed(
            "custom resources need the emulator's Lambda runtime, which is not running"
        )
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": kind,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{wiring.public_url}{RESPONSE_PATH}{request_id}",
        "StackId": resource.stack_id,
        "RequestId": request_id,
        "LogicalResourceId": resource.logical_id,
        "ResourceType": resource.resource_type,
        "ResourceProperties": as_strings(properties),
    }
    if kind != "Create":
        event["PhysicalResourceId"] = resource.physical_resource_id
    if old_properties is not None:
        event["OldResourceProperties"] = as_strings(old_properties)
    answers = wiring.custom_resource_answers
    answers.expect(request_id)
    try:
        result = wiring.invoke(resource.region_name, properties["ServiceToken"], json.dumps(event).encode())
    finally:
        answer = answers.take(request_id)
    if answer is None:
        if not result.ok:
            error = json.loads(result.payload or b"{}")
            raise CustomResourceFailed(
                f"{resource.logical_id}: the custom resource function failed without answering: "
                f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
            )
        raise CustomResourceFailed(
            f"{resource.logical_id}: the custom resource function returned without sending a response to the ResponseURL"
        )
    if answer.get("Status") != "SUCCESS":
        raise CustomResourceFailed(
            f"Received response status [{answer.get('Status')}] from custom resource. "
            f"Message returned: {answer.get('Reason', '')} (RequestId: {request_id})"
        )
    return answer


def _accept(resource: Any, answer: dict[str, Any]) -> None:
    resource.resource_name = answer.get("PhysicalResourceId") or resource.resource_name
    resource.set_data(answer.get("Data") or {})


def install() -> None:
    """With CloudFormation (patches.load_cloudformation): moto's CloudFormation imports every service."""
    from moto.cloudformation.custom_model import CustomModel

    from emulator.cloudformation import engine

    def create_from_cloudformation_json(
        cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        resource: Any = CustomModel(region_name, "", kwargs["LogicalId"], resource_name)  # type: ignore[abstract]
        resource.stack_id, resource.resource_type = kwargs["StackId"], kwargs["ResourceType"]
        resource.properties = cloudformation_json["Properties"]
        _accept(resource, request("Create", resource, resource.properties))
        return resource

    def converge(
        resource: Any, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
    ) -> Any:
        if old is not None:
            _accept(resource, request("Update", resource, new, old))
            resource.properties = new
        return resource

    def delete(self: Any, account_id: str, region_name: str) -> None:
        try:
            request("Delete", self, self.properties)
        except LookupError as error:  # its function is gone (a stack delete's order): nobody to ask
            log.warning("custom resource %s: no Delete request sent (%s)", self.logical_id, error)

    # moto invoked the function in Docker on a thread and called the resource created at once
    replace(CustomModel, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
    replace(CustomModel, "delete", delete)
    engine.register(engine.CUSTOM_RESOURCE, converge)
