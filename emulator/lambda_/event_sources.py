"""Lambda's event source mappings: one poller per enabled mapping, following creates, updates
and deletes, by the kind of source (each service's poller lives with the service)."""

import logging
import threading
from collections.abc import Callable
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import EventSourceMapping, LambdaBackend, lambda_backends

from emulator import arns
from emulator.dynamodb import streams
from emulator.dynamodb.streams import StreamPoller
from emulator.iam.enforcement import Authorizer
from emulator.lambda_.errors import FunctionNotFound
from emulator.lambda_.runtime import LambdaRuntime
from emulator.patching import replace
from emulator.sqs.event_source import SqsPoller

log = logging.getLogger("emulator.lambda")


def source_kind(arn: str) -> str | None:
    """ "sqs", "dynamodb" (a table's stream), or None for a source not polled here."""
    if arn.startswith("arn:aws:sqs:"):
        return "sqs"
    if arn.startswith("arn:aws:dynamodb:") and "/stream/" in arn:
        return "dynamodb"
    return None


def install() -> None:
    """A mapping from a source no poller here reads (Kinesis, MSK, MQ, ...) is refused when it is
    created, so at deploy time, instead of accepted and never run (moto pushed Kinesis records
    one by one, without Lambda's batches, order or retries). A stream mapping's position is
    fixed as it is created."""
    create = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        source = str(spec.get("EventSourceArn") or spec.get("SelfManagedEventSource") or "")
        kind = source_kind(source)
        if kind is None:
            raise InvalidParameterValueException(
                f"The embedded emulator polls SQS queues and DynamoDB streams only, not {source or 'this source'}"
            )
        mapping = create(self, spec)
        if kind == "dynamodb":
            streams.fix_starting_position(mapping)
        return mapping

    replace(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)


class EventSourceManager:
    """Keeps one poller per mapping of a source polled here."""

    def __init__(
        self,
        account_id: str,
        runtime: LambdaRuntime,
        authorizer: Authorizer,
        changed: Callable[[], None] = lambda: None,
        scan_interval: float = 0.5,
    ) -> None:
        self.authorizer = authorizer
        self.changed = changed
        self.account_id = account_id
        self.runtime = runtime
        self.scan_interval = scan_interval
        self.pollers: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="event-sources", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _mappings(self) -> dict[str, EventSourceMapping]:
        found = {}
        for region, backend in lambda_backends[self.account_id].items():
            for esm in list(backend._event_source_mappings.values()):
                if source_kind(esm.event_source_arn) and arns.parse(esm.event_source_arn).region == region:
                    found[esm.uuid] = esm
        return found

    def sync(self) -> None:
        mappings = self._mappings()
        for uuid in set(self.pollers) - set(mappings):
            self.pollers.pop(uuid).stop()
        for uuid, esm in mappings.items():
            poller = self.pollers.get(uuid)
            if poller is not None and poller.esm is not esm:
                poller.stop()
                poller = None
            if poller is None:
                self.pollers[uuid] = self._poller(esm).start()

    def _poller(self, esm: EventSourceMapping) -> Any:
        if source_kind(esm.event_source_arn) == "dynamodb":
            # one shard, read in order: one batch at a time (ParallelizationFactor 1)
            log.info("polling %s for %s", esm.event_source_arn, esm.function_arn)
            return StreamPoller(esm, self.runtime, self.authorizer, self.changed)
        concurrency = self._concurrency(esm)
        log.info(
            "polling %s for %s (up to %d batches at once)",
            esm.event_source_arn,
            esm.function_arn,
            concurrency,
        )
        return SqsPoller(esm, self.runtime, concurrency, self.authorizer, self.changed)

    def _concurrency(self, esm: EventSourceMapping) -> int:
        try:
            return self.runtime.concurrency(
                self.runtime.function(arns.parse(esm.event_source_arn).region, esm.function_arn)
            )
        except FunctionNotFound:
            return 1

    def _loop(self) -> None:
        while not self._stop.wait(self.scan_interval):
            try:
                self.sync()
            except Exception:
                log.exception("event source scan failed")

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        for poller in self.pollers.values():
            poller.stop()
        for poller in self.pollers.values():
            poller.join(timeout)
