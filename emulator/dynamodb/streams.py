"""DynamoDB Streams event source mappings, polled the way Lambda polls a stream.

One poller per mapping reads the table's stream shard (moto's StreamShard, one shard per table)
in order, from StartingPosition (TRIM_HORIZON: the oldest record kept; LATEST: what comes after
the mapping's creation), in batches of up to BatchSize records, waiting up to
MaximumBatchingWindowInSeconds to fill one. A batch the function fails is retried, in order, so
later records of the same keys wait: split in two first with BisectBatchOnFunctionError,
MaximumRetryAttempts times (-1: until the records are MaximumRecordAgeInSeconds old, AWS's 24 h
by default). With ReportBatchItemFailures the function names the first record that failed by its
SequenceNumber and the batch resumes from there. A batch given up on goes to the OnFailure
destination (SQS or SNS) as AWS's invocation record, and the stream moves on.

moto invokes the functions itself, synchronously inside PutItem and through Docker, and then
empties the shard; that trigger is switched off (`install`), as SQS's is.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import EventSourceMapping
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamRecord, Table
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from emulator import arns
from emulator.iam.enforcement import Authorizer
from emulator.lambda_ import filters
from emulator.lambda_.errors import FunctionNotFound, Throttled
from emulator.lambda_.runtime import LambdaRuntime
from emulator.patching import replace

log = logging.getLogger("emulator.dynamodb")
IDLE_WAIT = 0.2  # how often an idle poller looks at its shard
DEFAULT_RECORD_AGE = 86_400.0  # a stream keeps a record 24 h: retried that long at most
RETRY_BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0)


class _NoSynchronousTrigger(dict):
    """moto's table registry of mappings to invoke inside PutItem: kept empty (the pollers here
    invoke, as Lambda does)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def install() -> None:
    """No synchronous trigger inside PutItem: the pollers invoke, as Lambda does."""
    original_init = Table.__init__

    def init(self: Table, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.lambda_event_source_mappings = _NoSynchronousTrigger()

    replace(Table, "__init__", init)


def fix_starting_position(mapping: EventSourceMapping) -> None:
    """A new mapping's position in its stream, fixed when it is created, as on AWS (LATEST: after
    the records already there; TRIM_HORIZON: the oldest)."""
    shard = _shard_of(mapping.account_id, mapping.event_source_arn)
    if shard is not None:
        at_end = shard.starting_sequence_number + len(shard.items)
        position = shard.starting_sequence_number if mapping.starting_position == "TRIM_HORIZON" else at_end
        setattr(mapping, "emulator_position", position)  # noqa: B010 - an attribute moto does not declare


def _shard_of(account_id: str, stream_arn: str) -> Any:
    """The shard of the stream `stream_arn` names, while that stream is the table's."""
    if ":dynamodb:" not in stream_arn or "/stream/" not in stream_arn:
        return None
    region = arns.parse(stream_arn).region
    table_name, label = stream_arn.split(":table/", 1)[1].split("/stream/", 1)
    table = dynamodb_backends[account_id][region].tables.get(table_name)
    return table.stream_shard if table is not None and table.latest_stream_label == label else None


def lambda_record(record: StreamRecord, stream_arn: str, region: str) -> dict[str, Any]:
    """A stream record as Lambda hands it to the function (the event's Records[] item)."""
    item = json.loads(json.dumps(record.to_json(), default=str))
    created = record.to_json()["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        item["dynamodb"]["ApproximateCreationDateTime"] = int(created.replace(tzinfo=UTC).timestamp())
    item["awsRegion"] = region
    item["eventSourceARN"] = stream_arn
    return item


def _created_at(record: StreamRecord) -> float:
    created = record.to_json()["dynamodb"].get("ApproximateCreationDateTime")
    return created.replace(tzinfo=UTC).timestamp() if isinstance(created, datetime) else time.time()


def first_failed_sequence(payload: bytes, sequences: list[str]) -> str | None:
    """Where a ReportBatchItemFailures response says the batch failed: the lowest sequence number
    it names ("" for none: the batch succeeded); None when the response is not one AWS accepts,
    so the whole batch is retried."""
    try:
        response = json.loads(payload)
    except ValueError:
        return None
    if response is None or response == {}:
        return ""
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if failures is None:
        return "" if isinstance(response, dict) else None
    named = []
    for failure in failures if isinstance(failures, list) else [None]:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if item not in sequences:
            return None
        named.append(item)
    return min(named, key=sequences.index) if named else ""


class StreamPoller:
    """Reads one table's stream for one mapping, one batch at a time, in order."""

    def __init__(
        self, esm: EventSourceMapping, runtime: LambdaRuntime, authorizer: Authorizer,
        changed: Callable[[], None] = lambda: None,
    ) -> None:  # fmt: skip
        self.esm = esm
        self.runtime = runtime
        self.authorizer = authorizer
        self.changed = changed
        self.stream_arn = esm.event_source_arn
        self.region = arns.parse(self.stream_arn).region
        self.table_name = self.stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        self.refused: str | None = None
        self.stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-poller-{self.table_name}", daemon=True
        )
        if getattr(esm, "emulator_position", None) is None:  # a mapping made before the emulator knew
            shard = self._shard()
            setattr(esm, "emulator_position", shard.starting_sequence_number if shard is not None else 0)  # noqa: B010

    @property
    def position(self) -> int:
        return int(self.esm.emulator_position)  # type: ignore[attr-defined]

    @position.setter
    def position(self, value: int) -> None:
        self.esm.emulator_position = value  # type: ignore[attr-defined]

    def start(self) -> "StreamPoller":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _shard(self) -> Any:
        return _shard_of(
            self.esm.account_id, self.stream_arn
        )  # None: the table, or this stream of it, is gone

    def _run(self) -> None:
        while not self.stopping.is_set():
            if not self.esm.enabled:
                self.stopping.wait(IDLE_WAIT)
                continue
            try:
                handled = self.poll_once()
            except Exception:
                log.exception("stream poller for %s failed; retrying", self.table_name)
                handled = 0
                self.stopping.wait(1.0)
            if handled:
                self.changed()
            else:
                self.stopping.wait(IDLE_WAIT)

    def _pending(self) -> list[StreamRecord]:
        shard = self._shard()
        if shard is None:
            return []
        offset = self.position - shard.starting_sequence_number
        return list(shard.items[max(0, offset) : max(0, offset) + int(self.esm.batch_size or 100)])

    def next_batch(self) -> list[StreamRecord]:
        """Up to BatchSize records, waiting up to MaximumBatchingWindowInSeconds to fill the batch."""
        deadline = time.monotonic() + float(self.esm.max_batch_window or 0)
        batch = self._pending()
        while len(batch) < int(self.esm.batch_size or 100) and time.monotonic() < deadline:
            if self.stopping.wait(min(IDLE_WAIT, max(0.0, deadline - time.monotonic()))):
                break
            batch = self._pending()
        return batch

    def may_not_poll(self) -> str | None:
        """Lambda reads the stream with the function's role."""
        if self.authorizer.mode == "off":
            return None
        fn = self.runtime.function(self.region, self.esm.function_arn)
        actions = ("dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream")
        return self.authorizer.polling_refusal(fn, self.esm.account_id, self.stream_arn, actions)

    def poll_once(self) -> int:
        refused = self.may_not_poll()
        if refused != self.refused:  # said once when it starts, once when it ends
            log.error("%s: not polled: %s", self.stream_arn, refused) if refused else log.info(
                "%s: polled again, the role allows it now", self.stream_arn
            )
            self.refused = refused
        if refused:
            return 0
        batch = self.next_batch()
        if batch:
            self.deliver(batch)
        return len(batch)

    def deliver(self, batch: list[StreamRecord]) -> None:
        """Deliver `batch`, retried as the mapping says, then move the stream on past it."""
        retries = int(self.esm.max_retry_attempts if self.esm.max_retry_attempts is not None else -1)
        max_age = float(
            self.esm.max_record_age if self.esm.max_record_age not in (None, -1) else DEFAULT_RECORD_AGE
        )
        pending, attempts = [batch], 0
        while pending and not self.stopping.is_set():
            chunk = pending[0]
            failed_from = self._invoke(chunk)
            if failed_from is None:
                pending.pop(0)
                self.position = int(chunk[-1].to_json()["dynamodb"]["SequenceNumber"]) + 1
                attempts = 0
                continue
            chunk = chunk[failed_from:]
            self.position = int(chunk[0].to_json()["dynamodb"]["SequenceNumber"])
            too_old = time.time() - _created_at(chunk[0]) > max_age
            if too_old or (retries >= 0 and attempts >= retries):
                self._give_up(chunk, attempts + 1)
                pending.pop(0)
                self.position = int(chunk[-1].to_json()["dynamodb"]["SequenceNumber"]) + 1
                attempts = 0
                continue
            attempts += 1
            if self.esm.bisect_on_error and len(chunk) > 1:
                middle = len(chunk) // 2
                pending[0:1] = [chunk[:middle], chunk[middle:]]
            else:
                pending[0] = chunk
            self.stopping.wait(RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF)) - 1])

    def _invoke(self, chunk: list[StreamRecord]) -> int | None:
        """None when the function handled `chunk`; else the index it must be retried from."""
        records = [lambda_record(r, self.stream_arn, self.region) for r in chunk]
        wanted = [record for record in records if filters.wanted(record, self.esm.filter_criteria)]
        if not wanted:  # no filter matches any: the stream moves past them, as Lambda's does
            return None
        event = {"Records": wanted}
        try:
            result = self.runtime.invoke(self.region, self.esm.function_arn, json.dumps(event).encode())
        except (Throttled, FunctionNotFound) as error:
            log.warning("%s: batch of %d not delivered (%s); retried", self.stream_arn, len(chunk), error)
            return 0
        if not result.ok:
            return 0
        if "ReportBatchItemFailures" not in (self.esm.function_response_types or []):
            return None
        sequences = [record["dynamodb"]["SequenceNumber"] for record in records]
        first = first_failed_sequence(
            result.payload, [record["dynamodb"]["SequenceNumber"] for record in wanted]
        )
        if first is None:
            log.warning("%s: invalid batchItemFailures response; the whole batch is retried", self.stream_arn)
            return 0
        return sequences.index(first) if first else None

    def _give_up(self, chunk: list[StreamRecord], attempts: int) -> None:
        """AWS's record of a batch no longer retried, to the OnFailure destination if there is one."""
        first, last = chunk[0].to_json()["dynamodb"], chunk[-1].to_json()["dynamodb"]
        record = {
            "requestContext": {
                "requestId": f"{self.esm.uuid}-{first['SequenceNumber']}",
                "functionArn": self.esm.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self._shard().id if self._shard() is not None else "",
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(_created_at(chunk[0])),
                "approximateArrivalOfLastRecord": _iso(_created_at(chunk[-1])),
                "batchSize": len(chunk),
                "streamArn": self.stream_arn,
            },
        }
        destination = ((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not destination:
            log.error("%s: %d records given up on after %d attempts, no OnFailure destination: dropped",
                      self.stream_arn, len(chunk), attempts)  # fmt: skip
            return
        arn = arns.parse(destination)
        body = json.dumps(record)
        if arn.service == "sqs":
            sqs_backends[arn.account][arn.region].send_message(arn.name, body)
        elif arn.service == "sns":
            sns_backends[arn.account][arn.region].publish(body, arn=destination)
        log.warning("%s: %d records given up on after %d attempts, sent to %s",
                    self.stream_arn, len(chunk), attempts, destination)  # fmt: skip


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
