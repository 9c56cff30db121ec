"""Lambda's asynchronous invocation (InvocationType `Event`), as AWS runs it.

The event is accepted (202) and run later. A failed run is retried `MaximumRetryAttempts` times
(default 2) with the same request id; a throttled one waits and is tried again without counting,
until the event is `MaximumEventAgeInSeconds` old. Then the outcome goes where the function's event
invoke configuration says: `OnSuccess` / `OnFailure` destinations (SQS, SNS or another function)
receive AWS's invocation record. An event that fails with no OnFailure destination is dropped, as
on AWS, with a log line that says so.
"""

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from emulator import arns
from emulator.lambda_.errors import RuntimeClosed, Throttled
from emulator.lambda_.runtime import LambdaRuntime
from emulator.lambda_.spec import InvokeResult

log = logging.getLogger("emulator.lambda")

# AWS waits about one minute before the first retry and two before the second; locally seconds,
# so a test (and a user) sees the whole path.
RETRY_DELAYS_SECONDS = (1.0, 2.0)
THROTTLED_RETRY_SECONDS = 0.5


@dataclass(frozen=True)
class EventInvokeConfig:
    """A function's asynchronous invocation settings (PutFunctionEventInvokeConfig), AWS's defaults."""

    retries: int = 2
    max_age_seconds: float = 21600.0
    on_success: str | None = None
    on_failure: str | None = None

    @staticmethod
    def of(configs: list[Any]) -> "EventInvokeConfig":
        """From moto's `LambdaFunction.event_invoke_config` (a list of at most one)."""
        config: dict[str, Any] = configs[0].config if configs else {}
        destinations = config.get("DestinationConfig") or {}
        return EventInvokeConfig(
            retries=int(config.get("MaximumRetryAttempts", 2)),
            max_age_seconds=float(config.get("MaximumEventAgeInSeconds", 21600)),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        )


def invocation_record(
    function_arn: str, request_id: str, payload: bytes, result: InvokeResult, condition: str, attempts: int
) -> dict[str, Any]:
    """What a destination receives (AWS's asynchronous invocation record)."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if condition != "Success":
        response_context["functionError"] = "Unhandled"
    try:
        response_payload: Any = json.loads(result.payload) if result.payload else None
    except ValueError:
        response_payload = result.payload.decode(errors="replace")
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": json.loads(payload),
        "responseContext": response_context,
        "responsePayload": response_payload,
    }


class AsyncInvoker:
    """Runs `Event` invocations in the background, retries them and delivers their outcome."""

    def __init__(self, runtime: LambdaRuntime, sleep: Callable[[float], None] = time.sleep) -> None:
        self.runtime = runtime
        self.sleep = sleep

    def submit(self, region: str, name: str, payload: bytes) -> str:
        """Accept an event; returns its request id."""
        request_id = str(uuid.uuid4())
        threading.Thread(
            target=self._run,
            args=(region, name, payload, request_id),
            name=f"event-{request_id[:8]}",
            daemon=True,
        ).start()
        return request_id

    def _run(self, region: str, name: str, payload: bytes, request_id: str) -> None:
        try:
            self._deliver_outcome(region, name, payload, request_id)
        except RuntimeClosed:
            log.warning("%s: asynchronous invocation %s dropped, the emulator is stopping", name, request_id)
        except Exception:  # a background thread: say what was lost, never die silently
            log.exception("%s: asynchronous invocation %s failed in the emulator", name, request_id)

    def _deliver_outcome(self, region: str, name: str, payload: bytes, request_id: str) -> None:
        fn = self.runtime.function(region, name)
        config = EventInvokeConfig.of(fn.event_invoke_config)
        accepted, attempts = time.monotonic(), 0
        while True:
            if time.monotonic() - accepted > config.max_age_seconds:
                log.warning(
                    "%s: event %s expired after %.0fs of retries", name, request_id, config.max_age_seconds
                )
                result, condition = (
                    InvokeResult.failure("EventAgeExceeded", "event too old"),
                    "EventAgeExceeded",
                )
                break
            try:
                result = self.runtime.invoke(region, name, payload, request_id=request_id)
            except Throttled:
                self.sleep(THROTTLED_RETRY_SECONDS)
                continue
            attempts += 1
            if result.ok:
                condition = "Success"
                break
            if attempts > config.retries:
                condition = "RetriesExhausted"
                break
            delay = RETRY_DELAYS_SECONDS[min(attempts - 1, len(RETRY_DELAYS_SECONDS) - 1)]
            log.info("%s: event %s failed (attempt %d), retrying in %.0fs", name, request_id, attempts, delay)
            self.sleep(delay)
        destination = config.on_success if condition == "Success" else config.on_failure
        if destination is None:
            if condition != "Success":
                log.warning(
                    "%s: event %s dropped after %d attempts (%s): no OnFailure destination configured",
                    name, request_id, attempts, result.payload.decode(errors="replace")[:200],
                )  # fmt: skip
            return
        record = invocation_record(fn.function_arn, request_id, payload, result, condition, attempts)
        self.send(destination, json.dumps(record))
        log.info("%s: event %s (%s) sent to %s", name, request_id, condition, destination)

    def send(self, destination: str, body: str) -> None:
        arn = arns.parse(destination)
        if arn.service == "sqs":
            sqs_backends[arn.account][arn.region].send_message(arn.name, body)
        elif arn.service == "sns":
            sns_backends[arn.account][arn.region].publish(body, arn=destination)
        elif arn.service == "lambda":
            self.submit(arn.region, destination, body.encode())
        else:
            log.warning("destination %s not delivered: only SQS, SNS and Lambda are, locally", destination)
