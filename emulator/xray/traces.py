"""Segment documents as X-Ray keeps them: each trace's documents by id (an in-progress segment is
replaced when its completed one arrives), subsegments sent alone placed under their parent when
the trace is read, the newest MAX_TRACES traces kept."""

import copy
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

LINKED_WINDOW_SECONDS = 3600  # how far apart two linked traces (producer, consumer) are looked for
MAX_TRACES = 2_000  # the last 1,000 orders: a POST trace and a ProcessOrder trace each
TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
ENTITY_ID = re.compile(r"^[0-9a-f]{16}$")


class InvalidDocument(ValueError):
    """Not a segment or subsegment document X-Ray accepts."""


def new_trace_id(at: float | None = None) -> str:
    return f"1-{int(at if at is not None else time.time()):08x}-{os.urandom(12).hex()}"


def new_entity_id() -> str:
    return os.urandom(8).hex()


@dataclass(frozen=True)
class TraceHeader:
    """`X-Amzn-Trace-Id: Root=1-...;Parent=...;Sampled=1` (also SQS's AWSTraceHeader)."""

    root: str
    parent: str | None = None
    sampled: bool | None = None

    @staticmethod
    def parse(text: str | None) -> "TraceHeader | None":
        fields = dict(part.strip().split("=", 1) for part in (text or "").split(";") if "=" in part)
        root = fields.get("Root", "")
        if not TRACE_ID.match(root):
            return None
        sampled = {"1": True, "0": False}.get(fields.get("Sampled", ""))
        return TraceHeader(root, fields.get("Parent"), sampled)

    def __str__(self) -> str:
        parent = f";Parent={self.parent}" if self.parent else ""
        sampled = "" if self.sampled is None else f";Sampled={int(self.sampled)}"
        return f"Root={self.root}{parent}{sampled}"


def validate(document: Any) -> dict[str, Any]:
    """The document, if X-Ray would accept it; InvalidDocument says why not."""
    if not isinstance(document, dict):
        raise InvalidDocument("a segment document is a JSON object")
    if not TRACE_ID.match(str(document.get("trace_id", ""))):
        raise InvalidDocument(f"invalid trace_id {document.get('trace_id')!r}")
    if not ENTITY_ID.match(str(document.get("id", ""))):
        raise InvalidDocument(f"invalid id {document.get('id')!r}")
    if not isinstance(document.get("start_time"), int | float):
        raise InvalidDocument("start_time is missing or not a number")
    if "end_time" not in document and not document.get("in_progress"):
        raise InvalidDocument("a document needs end_time, or in_progress: true")
    if document.get("type") == "subsegment" and not ENTITY_ID.match(str(document.get("parent_id", ""))):
        raise InvalidDocument("a subsegment sent alone needs its parent_id")
    if not document.get("name"):
        raise InvalidDocument("name is missing")
    return document


def walk_depths(entity: dict[str, Any], depth: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    """The entity and every subsegment under it, each with how deep it is (the entity: `depth`)."""
    yield entity, depth
    for child in entity.get("subsegments") or []:
        yield from walk_depths(child, depth + 1)


def walk(entity: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The entity and every subsegment under it."""
    return (found for found, _ in walk_depths(entity))


def span(entities: list[dict[str, Any]]) -> tuple[float, float]:
    """The first start and the last end of `entities` (an entity still in progress ends at its start)."""
    starts = [float(e["start_time"]) for e in entities]
    ends = [float(e.get("end_time") or e["start_time"]) for e in entities]
    return min(starts), max(ends)


@dataclass
class Trace:
    id: str
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by entity id
    first_seen: float = field(default_factory=time.time)

    def segments(self) -> list[dict[str, Any]]:
        """The trace's segments, each subsegment sent alone placed under its parent (one whose
        parent was never recorded stays on its own, as a partial trace)."""
        documents = copy.deepcopy(list(self.documents.values()))
        top = [d for d in documents if d.get("type") != "subsegment"]
        alone = [d for d in documents if d.get("type") == "subsegment"]
        placed: set[str] = set()
        for _ in range(len(alone) + 1):  # a subsegment's parent may itself have come alone
            by_id = {e["id"]: e for root in top for e in walk(root)}
            by_id.update({e["id"]: e for d in alone if d["id"] in placed for e in walk(d)})
            progress = False
            for document in alone:
                parent = by_id.get(document["parent_id"])
                if document["id"] not in placed and parent is not None:
                    parent.setdefault("subsegments", []).append(document)
                    placed.add(document["id"])
                    progress = True
            if not progress:
                break
        return top + [d for d in alone if d["id"] not in placed]


class TraceStore:
    def __init__(self, max_traces: int = MAX_TRACES) -> None:
        self.max_traces = max_traces
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, document: Any) -> None:
        """Keep a segment or subsegment document; InvalidDocument when X-Ray would refuse it."""
        document = validate(document)
        with self._lock:
            trace = self._traces.get(document["trace_id"])
            if trace is None:
                trace = self._traces[document["trace_id"]] = Trace(document["trace_id"])
                while len(self._traces) > self.max_traces:
                    self._traces.popitem(last=False)
            kept = trace.documents.get(document["id"])
            if kept is None or kept.get("in_progress") or not document.get("in_progress"):
                trace.documents[document["id"]] = document

    def get(self, trace_id: str) -> Trace | None:
        with self._lock:
            trace = self._traces.get(trace_id)
            return Trace(trace.id, dict(trace.documents), trace.first_seen) if trace else None

    def between(self, start: float, end: float) -> list[Trace]:
        """Traces whose first segment started in [start, end], oldest first."""
        with self._lock:
            traces = [Trace(t.id, dict(t.documents), t.first_seen) for t in self._traces.values()]
        return [t for t in traces if start <= start_time(t) <= end]


def start_time(trace: Trace) -> float:
    return min((float(d["start_time"]) for d in trace.documents.values()), default=trace.first_seen)
