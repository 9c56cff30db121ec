"""SQS event source mappings, polled the way Lambda polls: batches, batching window, partial batch
responses, visibility timeout and redrive. moto's own synchronous trigger is switched off
(store.py); pollers call moto's SQS backend in-process, not over HTTP. lambda_/event_sources.py
keeps one poller per mapping.
"""

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import EventSourceMapping
from moto.sqs.models import Message, sqs_backends

from emulator import arns
from emulator.iam.enforcement import Authorizer
from emulator.lambda_ import filters
from emulator.lambda_.errors import FunctionNotFound, Throttled
from emulator.lambda_.runtime import LambdaRuntime
from emulator.sqs.store import DLQ_SOURCE

log = logging.getLogger("emulator.sqs")
IDLE_WAIT = 0.5  # an idle poller sleeps at most this long; new messages wake it at once


def lambda_record(message: Message, queue_arn: str, region: str) -> dict[str, Any]:
    """A message as Lambda hands it to the function (the SQS event's Records[] item)."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": message.sender_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    for name in ("AWSTraceHeader", DLQ_SOURCE):
        if name in message.system_attributes:
            attributes[name] = message.system_attributes[name]["StringValue"]
    record = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_attribute(value) for name, value in (message.message_attributes or {}).items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    if isinstance(binary, bytes):
        binary = base64.b64encode(binary).decode()
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if value.get("StringValue") is not None:
        attribute["stringValue"] = value["StringValue"]
    if binary is not None:
        attribute["binaryValue"] = binary
    return attribute


def failed_message_ids(result_payload: bytes, batch_ids: set[str]) -> set[str] | None:
    """The ids a ReportBatchItemFailures response names; None means 'treat the whole batch as failed'
    (AWS does so when the response is malformed or names an id that was not in the batch)."""
    try:
        response = json.loads(result_payload)
    except ValueError:
        return None
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    ids = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(item, str) or not item or item not in batch_ids:
            return None
        ids.add(item)
    return ids


class SqsPoller:
    """Polls one queue for one mapping with 1..concurrency threads, more while the backlog lasts."""

    def __init__(
        self,
        esm: EventSourceMapping,
        runtime: LambdaRuntime,
        max_pollers: int,
        authorizer: Authorizer,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.esm = esm
        self.runtime = runtime
        self.authorizer = authorizer
        self.changed = changed  # the queue's messages moved in this process: the state is worth saving
        self.refused: str | None = None  # why the function's role may not poll, while it may not
        self.max_pollers = max(1, max_pollers)
        self.active = 1
        self.stopping = threading.Event()
        queue = arns.parse(esm.event_source_arn)
        self.region, self.queue_name = queue.region, queue.name
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._run, args=(index,), name=f"sqs-poller-{self.queue_name}-{index}", daemon=True
            )
            for index in range(self.max_pollers)
        ]

    def start(self) -> "SqsPoller":
        for thread in self._threads:
            thread.start()
        return self

    @property
    def batch_size(self) -> int:
        return int(self.esm.batch_size or 10)

    @property
    def backend(self) -> Any:
        return sqs_backends[self.esm.account_id][self.region]

    def _scale(self, full_batch: bool) -> None:
        with self._lock:
            self.active = min(self.max_pollers, self.active + 1) if full_batch else max(1, self.active - 1)

    def _run(self, index: int) -> None:
        while not self.stopping.is_set():
            if index >= self.active or not self.esm.enabled:
                self.stopping.wait(IDLE_WAIT)
                continue
            try:
                handled = self.poll_once()
            except Exception:
                log.exception("poller for %s failed; retrying", self.queue_name)
                handled = 0
                self.stopping.wait(1.0)
            if handled == 0:
                self._wait_for_messages()
            else:
                self.changed()

    def _wait_for_messages(self) -> None:
        try:
            queue = self.backend.get_queue(self.queue_name)
        except Exception:
            self.stopping.wait(IDLE_WAIT)
            return
        queue.wait_for_messages(IDLE_WAIT)

    def receive_batch(self) -> list[Message]:
        """Up to BatchSize messages, waiting up to MaximumBatchingWindowInSeconds to fill the batch."""
        batch_size = self.batch_size
        window = float(self.esm.max_batch_window or 0)
        queue = self.backend.get_queue(self.queue_name)
        visibility = int(queue.visibility_timeout)
        deadline = time.monotonic() + window
        batch: list[Message] = []
        while len(batch) < batch_size and not self.stopping.is_set():
            batch += self.backend.receive_message(
                self.queue_name, min(10, batch_size - len(batch)), 0, visibility, ["All"]
            )
            remaining = deadline - time.monotonic()
            if len(batch) >= batch_size or remaining <= 0 or (not batch and window == 0):
                break
            queue.wait_for_messages(min(remaining, IDLE_WAIT))
        return batch

    def may_not_poll(self) -> str | None:
        """Lambda polls with the function's role: it must be allowed to receive and delete."""
        if self.authorizer.mode == "off":
            return None
        fn = self.runtime.function(self.region, self.esm.function_arn)
        actions = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
        return self.authorizer.polling_refusal(fn, self.esm.account_id, self.esm.event_source_arn, actions)

    def poll_once(self) -> int:
        refused = self.may_not_poll()
        if refused != self.refused:  # said once when it starts, once when it ends
            log.error("%s: not polled: %s", self.queue_name, refused) if refused else log.info(
                "%s: polled again, the role allows it now", self.queue_name
            )
            self.refused = refused
        if refused:
            return 0
        batch = self.receive_batch()
        if not batch:
            self._scale(full_batch=False)
            return 0
        self._scale(full_batch=len(batch) >= self.batch_size)
        queue_arn = self.esm.event_source_arn
        wanted: list[tuple[Message, dict[str, Any]]] = []
        for message in batch:
            record = lambda_record(message, queue_arn, self.region)
            if filters.wanted(record, self.esm.filter_criteria):
                wanted.append((message, record))
            else:  # as Lambda does: a message no filter matches is deleted
                self.backend.delete_message(self.queue_name, message.receipt_handle)
        if wanted:
            self._deliver(wanted)
        return len(batch)

    def _deliver(self, batch: list[tuple[Message, dict[str, Any]]]) -> None:
        """One invocation; what it handled is deleted, the rest returns after the visibility timeout."""
        event = {"Records": [record for _, record in batch]}
        # the producers' trace headers: the consumer's trace links to theirs (lambda_/tracing.py)
        links = tuple(h for _, r in batch if (h := r["attributes"].get("AWSTraceHeader")))
        try:
            result = self.runtime.invoke(
                self.region, self.esm.function_arn, json.dumps(event).encode(), links=links
            )
        except (Throttled, FunctionNotFound) as error:
            log.warning(
                "%s: batch of %d not delivered (%s); it returns after the visibility timeout",
                self.queue_name,
                len(batch),
                error,
            )
            return
        if not result.ok:
            return  # a failed or timed-out invocation deletes nothing: the whole batch returns
        failed: set[str] = set()
        if "ReportBatchItemFailures" in (self.esm.function_response_types or []):
            reported = failed_message_ids(result.payload, {m.id for m, _ in batch})
            if reported is None:
                log.warning(
                    "%s: invalid batchItemFailures response; the whole batch is retried", self.queue_name
                )
                return
            failed = reported
        for message, _ in batch:
            if message.id not in failed:
                self.backend.delete_message(self.queue_name, message.receipt_handle)

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
