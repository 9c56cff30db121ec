"""What an AWS service does when it sends to a function, queue or topic on its own behalf (S3
event notifications, EventBridge targets): checks the destination's resource policy for that
service and source, as AWS does, then delivers: a function is invoked asynchronously through the
emulator's runtime, a queue gets a message, a topic a publication.

`send` answers why it did not deliver (None when it did); the caller decides what a refusal
means for it (S3 logs it, EventBridge sends the event to the target's dead-letter queue).
"""

from typing import Any

from emulator import arns
from emulator.wiring import wired

SERVICES = ("lambda", "sqs", "sns")  # the destinations `send` knows


def send(service: str, source_arn: str, destination_arn: str, body: str) -> str | None:
    destination = arns.parse(destination_arn)
    kind, region, account, resource = (
        destination.service,
        destination.region,
        destination.account,
        destination.resource,
    )
    authorizer = wired().authorizer
    if kind == "lambda":
        invoke_async = wired().invoke_async
        if invoke_async is None:
            return "the emulator's Lambda runtime is not running"
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(account, region).get_function(destination_arn)
        except Exception:
            return f"function {destination_arn} does not exist"
        refused = authorizer.invocation_refusal(fn, service, source_arn) if authorizer else None
        if refused is None:
            invoke_async(region, fn.function_arn, body.encode())
        return refused
    if kind == "sqs":
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[account][region]
        queue = backend.queues.get(resource)
        if queue is None:
            return f"queue {destination_arn} does not exist"
        refused = _policy_refusal(service, "sqs:SendMessage", destination_arn, queue._policy_json, source_arn)
        if refused is None:
            backend.send_message(queue_name=resource, message_body=body)
        return refused
    if kind == "sns":
        from moto.sns.models import sns_backends

        topics = sns_backends[account][region]
        topic = topics.topics.get(destination_arn)
        if topic is None:
            return f"topic {destination_arn} does not exist"
        refused = _policy_refusal(service, "sns:Publish", destination_arn, topic._policy_json, source_arn)
        if refused is None:
            topics.publish(arn=destination_arn, message=body)
        return refused
    return f"{kind} destinations are not supported by the embedded emulator ({destination_arn})"


def _policy_refusal(
    service: str, action: str, resource: str, policy: dict[str, Any] | None, source_arn: str
) -> str | None:
    authorizer = wired().authorizer
    if authorizer is None:
        return None
    statements = (policy or {}).get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    return authorizer.service_refusal(service, action, (resource,), statements, source_arn)
