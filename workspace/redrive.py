"""`make dlq-redrive`: move every message from OrdersDlq back to OrdersQueue without losing one.

Uses SQS StartMessageMoveTask where the target has it (AWS, LocalStack); otherwise (moto, so the
embedded emulator) moves messages itself: receive from the DLQ, send to the queue, then delete
from the DLQ. A crash between send and delete leaves a copy in both, never in neither; the
consumer is idempotent, so a duplicate costs nothing.
"""

import argparse
import sys
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emulator.ctl import local_endpoint
from workspace.clients import local_client
from workspace.deployment import require_deployment

UNSUPPORTED = (
    "not been implemented",
    "NotImplemented",
    "UnsupportedOperation",
    "InvalidAction",
)  # moto, older emulators


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def move_by_hand(sqs: Any, dlq_url: str, queue_url: str, visibility: int = 60) -> int:
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            send: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def redrive(sqs: Any, dlq_url: str, queue_url: str, timeout: float = 300.0) -> tuple[str, int]:
    """(method, messages moved). StartMessageMoveTask when supported, else the manual move."""
    waiting = int(
        sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )
    try:
        task = sqs.start_message_move_task(
            SourceArn=queue_arn(sqs, dlq_url), DestinationArn=queue_arn(sqs, queue_url)
        )
    except Exception as error:
        if not any(sign in str(error) for sign in UNSUPPORTED):
            raise
        return "receive-send-delete", move_by_hand(sqs, dlq_url, queue_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = sqs.list_message_move_tasks(SourceArn=queue_arn(sqs, dlq_url))["Results"]
        current = next(
            (t for t in tasks if t.get("TaskHandle") == task["TaskHandle"]), tasks[0] if tasks else None
        )
        if current and current["Status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            if current["Status"] != "COMPLETED":
                raise RuntimeError(f"message move task {current['Status']}: {current.get('FailureReason')}")
            return "StartMessageMoveTask", int(current.get("ApproximateNumberOfMessagesMoved", waiting))
        time.sleep(1)
    raise TimeoutError("message move task did not finish")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace.redrive", description=__doc__)
    parser.add_argument("--endpoint", default=None, help="default: the local target's (as `make smoke`)")
    parser.add_argument(
        "--aws", action="store_true", help="the stack on AWS (reads its outputs) instead of the local one"
    )
    args = parser.parse_args(argv)
    endpoint = args.endpoint or local_endpoint()
    try:
        if args.aws:
            from workspace.deployment import aws_deployment

            deployment = aws_deployment()
            outputs, sqs = deployment.outputs, deployment.client("sqs")
        else:
            outputs = require_deployment(endpoint)
            sqs = local_client("sqs", endpoint)
        method, moved = redrive(sqs, outputs.dlq_url, outputs.queue_url)
    except (RuntimeError, TimeoutError) as error:
        print(f"dlq-redrive: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"dlq-redrive: {(str(error).splitlines() or [type(error).__name__])[0]}", file=sys.stderr)
        return 1
    print(f"dlq-redrive: moved {moved} message(s) from the DLQ back to the queue ({method})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
