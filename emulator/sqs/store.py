"""An indexed, thread-safe message store for moto's standard SQS queues.

moto keeps a queue's messages in one list and scans it on every call (SendMessage, Receive,
Delete, ChangeMessageVisibility, GetQueueAttributes), so a backlog slows everything down, and its
unlocked list rebuild on delete can drop a message sent at the same moment. This store keeps
moto's Message objects and semantics (receive counts, visibility, delays, redrive after
maxReceiveCount receives, receipt handles old and new) in indexes under one lock:

  ready      visible messages in arrival order      O(1) receive
  in_flight  heap by visible_at                     O(log n) per receive / expiry
  delayed    heap by delayed_until                  O(log n)
  handles    receipt handle -> message              O(1) delete / change visibility

FIFO queues keep moto's own implementation (ordering and deduplication rules live there).
"""

import copy
import functools
import heapq
import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from moto.core.utils import unix_time_millis
from moto.sqs.constants import MAXIMUM_VISIBILITY_TIMEOUT
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes, sqs_backends
from moto.sqs.responses import SQSResponse

from emulator.patching import replace
from emulator.sqs.metrics import queue_metric

_sequence = itertools.count()
DLQ_SOURCE = "DeadLetterQueueSourceArn"
DELETED_HANDLES_KEPT = 10_000


class MessageStore:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.changed = threading.Condition(threading.RLock())
        self.ready: OrderedDict[str, Message] = OrderedDict()
        self.in_flight: dict[str, Message] = {}
        self.delayed: dict[str, Message] = {}
        self._in_flight_heap: list[tuple[float, int, Message]] = []
        self._delayed_heap: list[tuple[float, int, Message]] = []
        self.handles: dict[str, Message] = {}
        # receipt handles of deleted messages, so deleting twice succeeds as on AWS; the newest
        # DELETED_HANDLES_KEPT only, or they would grow with every message ever deleted
        self.deleted_handles: OrderedDict[str, None] = OrderedDict()

    # -- time moves messages between indexes -------------------------------------------------
    def _promote(self, now: float) -> None:
        heap = self._in_flight_heap
        while heap and heap[0][0] <= now:
            visible_at, _, message = heapq.heappop(heap)
            if self.in_flight.get(message.id) is message and message.visible_at == visible_at:
                del self.in_flight[message.id]
                self.ready[message.id] = message
        heap = self._delayed_heap
        while heap and heap[0][0] <= now:
            _, _, message = heapq.heappop(heap)
            if self.delayed.pop(message.id, None) is message:
                self.ready[message.id] = message

    def _hide(self, message: Message) -> None:
        self.ready.pop(message.id, None)
        self.in_flight[message.id] = message
        heapq.heappush(self._in_flight_heap, (message.visible_at, next(_sequence), message))

    # -- operations ---------------------------------------------------------------------------
    def add(self, message: Message) -> None:
        with self.changed:
            if message.delayed_until > unix_time_millis():
                self.delayed[message.id] = message
                heapq.heappush(self._delayed_heap, (message.delayed_until, next(_sequence), message))
            else:
                self.ready[message.id] = message
            for handle in message.all_receipt_handles:
                if handle:
                    self.handles[handle] = message
            self.changed.notify_all()

    def receive(self, count: int, visibility_timeout: int, attribute_names: list[str]) -> list[Message]:
        queue = self.queue
        redrive: dict[str, Any] | None = queue.redrive_policy
        dlq = queue.dead_letter_queue if redrive else None
        max_receives = redrive["maxReceiveCount"] if redrive and dlq is not None else None
        retention_ms = int(queue.message_retention_period) * 1000  # type: ignore[attr-defined]
        received: list[Message] = []
        to_dlq: list[Message] = []
        still_visible: list[Message] = []
        with self.changed:
            now = unix_time_millis()
            self._promote(now)
            while self.ready and len(received) < count:
                _, message = self.ready.popitem(last=False)
                if message.sent_timestamp is not None and message.sent_timestamp + retention_ms <= now:
                    self._forget(message)  # past MessageRetentionPeriod: gone, as on AWS
                    continue
                if max_receives is not None and message.approximate_receive_count >= max_receives:
                    self._forget(message)
                    to_dlq.append(message)
                    continue
                message.mark_received(visibility_timeout=visibility_timeout)
                self.handles[message.receipt_handle] = message  # type: ignore[index]
                if visibility_timeout:
                    self._hide(message)
                else:
                    still_visible.append(message)  # back in line after this call, not twice in it
                received.append(self._copy(message, attribute_names))
            for message in still_visible:
                self.ready[message.id] = message
        for message in to_dlq:
            # AWS stamps where a dead-lettered message came from; moto does not
            message.system_attributes[DLQ_SOURCE] = {"StringValue": queue.queue_arn, "DataType": "String"}
            dlq.add_message(message)  # type: ignore[union-attr]
        return received

    @staticmethod
    def _copy(message: Message, attribute_names: list[str]) -> Message:
        """What the caller sees: a snapshot, so later receives don't change it (moto deep-copies)."""
        snapshot = copy.copy(message)
        snapshot.message_attributes = dict(message.message_attributes)
        _filter_message_attributes(snapshot, attribute_names)
        return snapshot

    def _forget(self, message: Message) -> None:
        self.ready.pop(message.id, None)
        self.in_flight.pop(message.id, None)
        self.delayed.pop(message.id, None)
        for handle in message.all_receipt_handles:
            if handle:
                self.handles.pop(handle, None)
                self.deleted_handles[handle] = None
        while len(self.deleted_handles) > DELETED_HANDLES_KEPT:
            self.deleted_handles.popitem(last=False)

    def delete(self, receipt_handle: str) -> None:
        with self.changed:
            message = self.handles.get(receipt_handle)
            if message is None:
                if receipt_handle in self.deleted_handles:
                    return  # deleting twice is fine, as on AWS
                raise ReceiptHandleIsInvalid()
            self._forget(message)
        queue_metric(self.queue, "NumberOfMessagesDeleted", 1)

    def change_visibility(self, receipt_handle: str, visibility_timeout: int) -> None:
        with self.changed:
            message = self.handles.get(receipt_handle)
            if message is None:
                raise ReceiptHandleIsInvalid
            until = unix_time_millis() + int(visibility_timeout) * 1000
            if until - message.sent_timestamp > MAXIMUM_VISIBILITY_TIMEOUT * 1000:  # type: ignore[operator]
                raise InvalidParameterValue(
                    f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                    "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
                )
            message.change_visibility(visibility_timeout)
            if message.id in self.delayed:
                return
            if int(visibility_timeout) == 0:
                self.in_flight.pop(message.id, None)
                self.ready[message.id] = message
                self.changed.notify_all()
            else:
                self._hide(message)

    def purge(self) -> None:
        with self.changed:
            for message in [*self.ready.values(), *self.in_flight.values(), *self.delayed.values()]:
                self._forget(message)
            self._in_flight_heap.clear()
            self._delayed_heap.clear()

    def restart(self) -> int:
        """After the emulator restarts from saved state: messages that were in flight are visible
        again at once (whoever received them is gone), receive counts kept; the heaps get this
        process's sequence numbers. How many were released."""
        with self.changed:
            released = list(self.in_flight.values())
            for message in released:
                message.change_visibility(0)
                self.ready[message.id] = message
            self.in_flight.clear()
            self._in_flight_heap.clear()
            self._delayed_heap = [(m.delayed_until, next(_sequence), m) for m in self.delayed.values()]
            heapq.heapify(self._delayed_heap)
        return len(released)

    def wait(self, timeout: float) -> bool:
        """Wait until a message may be ready (or `timeout` seconds pass)."""
        with self.changed:
            self._promote(unix_time_millis())
            if self.ready:
                return True
            wake = [timeout]
            for heap in (self._in_flight_heap, self._delayed_heap):
                if heap:
                    wake.append(max(0.0, (heap[0][0] - unix_time_millis()) / 1000))
            self.changed.wait(min(wake))
            self._promote(unix_time_millis())
            return bool(self.ready)

    def counts(self) -> tuple[int, int, int]:
        """(visible, in flight, delayed)"""
        with self.changed:
            self._promote(unix_time_millis())
            return len(self.ready), len(self.in_flight), len(self.delayed)

    def oldest_age_seconds(self) -> float:
        """ApproximateAgeOfOldestMessage: the oldest message not deleted, in flight included."""
        with self.changed:
            sent: list[float] = [
                m.sent_timestamp or 0 for m in (*self.ready.values(), *self.in_flight.values())
            ]
        known = [t for t in sent if t]
        return max(0.0, (unix_time_millis() - min(known)) / 1000) if known else 0.0


def store_of(queue: Queue) -> MessageStore | None:
    return None if queue.fifo_queue else queue.__dict__.get("_store")


def stores(account_id: str | None = None) -> Iterator[tuple[Queue, MessageStore]]:
    """Every standard queue and its store, of one account or of all."""
    accounts = [sqs_backends[account_id]] if account_id else list(sqs_backends.values())
    for regions in accounts:
        for backend in list(regions.values()):
            for queue in list(backend.queues.values()):
                store = store_of(queue)
                if store is not None:
                    yield queue, store


def restart_all() -> int:
    """Every standard queue after a restart from saved state (`MessageStore.restart`)."""
    return sum(store.restart() for _, store in stores())


class _NoSynchronousTrigger(dict):
    """moto delivers SQS messages to Lambda one by one inside SendMessage; the emulator's pollers
    (event_source) deliver them as Lambda does instead, so moto's registry of mappings on a queue
    stays empty."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def install() -> None:
    """Every change to moto's SQS, in one place."""
    _standard_queues_keep_a_store()
    _queue_reads_go_to_the_store()
    _receive_from_the_store()
    _visibility_and_purge_in_the_store()
    _count_sent_messages()


def _standard_queues_keep_a_store() -> None:
    """Each queue gets its MessageStore (FIFO queues: None, moto's lists) and no synchronous trigger."""
    original_init = Queue.__init__

    @functools.wraps(original_init)
    def init(self: Queue, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        setattr(self, "_store", MessageStore(self))  # noqa: B010 - an attribute moto does not declare
        self.lambda_event_source_mappings = _NoSynchronousTrigger()

    replace(Queue, "__init__", init)


def _queue_reads_go_to_the_store() -> None:
    """A standard queue's add, delete, wait, counters and message list are its store's."""

    def routed(name: str, store_method: Any) -> None:
        """Use the store for standard queues, moto's own method for FIFO queues."""
        original = getattr(Queue, name)

        @functools.wraps(original)
        def method(self: Queue, *args: Any, **kwargs: Any) -> Any:
            store = store_of(self)
            return original(self, *args, **kwargs) if store is None else store_method(store, *args, **kwargs)

        replace(Queue, name, method)

    routed("add_message", MessageStore.add)
    routed("delete_message", MessageStore.delete)
    routed("wait_for_messages", MessageStore.wait)

    def counted(index: int, original: property) -> property:
        def getter(self: Queue) -> int:
            store = store_of(self)
            return original.fget(self) if store is None else store.counts()[index]  # type: ignore[misc]

        return property(getter)

    counters = (
        "approximate_number_of_messages",
        "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed",
    )
    for index, name in enumerate(counters):
        replace(Queue, name, counted(index, vars(Queue)[name]))

    original_messages: property = vars(Queue)["messages"]

    def messages(self: Queue) -> list[Message]:
        store = store_of(self)
        if store is None:
            return original_messages.fget(self)  # type: ignore[misc]
        with store.changed:
            store._promote(unix_time_millis())
            return list(store.ready.values())

    replace(Queue, "messages", property(messages))


def _receive_from_the_store() -> None:
    """ReceiveMessage (long polling included) takes from the store and counts what it received;
    its answer includes DeadLetterQueueSourceArn."""
    original_receive = SQSBackend.receive_message

    @functools.wraps(original_receive)
    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Message]:
        queue = self.get_queue(queue_name)
        store = store_of(queue)
        if store is None:
            return original_receive(
                self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names
            )
        import time

        deadline = time.monotonic() + float(wait_seconds_timeout or 0)
        while True:
            received = store.receive(count, visibility_timeout, message_attribute_names or [])
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                if received:
                    queue_metric(queue, "NumberOfMessagesReceived", len(received))
                else:
                    queue_metric(queue, "NumberOfEmptyReceives", 1)
                return received
            store.wait(min(remaining, 1.0))

    replace(SQSBackend, "receive_message", receive_message)

    original_receive_response = SQSResponse.receive_message

    @functools.wraps(original_receive_response)
    def receive_message_response(self: SQSResponse) -> Any:
        """ReceiveMessage also answers DeadLetterQueueSourceArn (moto knows a fixed list of
        system attributes without it)."""
        answer = original_receive_response(self)
        asked = set(
            self._get_param("AttributeNames", []) + self._get_param("MessageSystemAttributeNames", [])
        )
        store = store_of(self.sqs_backend.get_queue(self._get_queue_name()))
        if store is None or not asked & {"All", DLQ_SOURCE}:
            return answer
        result: dict[str, Any] = answer.result  # type: ignore[assignment]
        for wire in result.get("Messages", []):
            message = store.handles.get(wire["ReceiptHandle"])
            if message is not None and DLQ_SOURCE in message.system_attributes:
                wire.setdefault("Attributes", {})[DLQ_SOURCE] = message.system_attributes[DLQ_SOURCE][
                    "StringValue"
                ]
        return answer

    replace(SQSResponse, "receive_message", receive_message_response)


def _visibility_and_purge_in_the_store() -> None:
    original_change = SQSBackend.change_message_visibility

    @functools.wraps(original_change)
    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = self.get_queue(queue_name)
        store = store_of(queue)
        if store is None:
            return original_change(self, queue_name, receipt_handle, visibility_timeout)
        store.change_visibility(receipt_handle, visibility_timeout)

    replace(SQSBackend, "change_message_visibility", change_message_visibility)

    original_purge = SQSBackend.purge_queue

    @functools.wraps(original_purge)
    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        original_purge(self, queue_name)  # keeps moto's purge-in-progress rule
        store = store_of(self.get_queue(queue_name))
        if store is not None:
            store.purge()

    replace(SQSBackend, "purge_queue", purge_queue)


def _count_sent_messages() -> None:
    original_send = SQSBackend.send_message

    @functools.wraps(original_send)
    def send_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Message:
        """NumberOfMessagesSent counts what is sent (a batch too), not what is moved to a DLQ."""
        message = original_send(self, queue_name, *args, **kwargs)
        queue_metric(self.get_queue(queue_name), "NumberOfMessagesSent", 1)
        return message

    replace(SQSBackend, "send_message", send_message)
