"""The service graph (GetServiceGraph, GetTraceGraph) of a set of traces: a node per service that
sent segments and per downstream AWS or remote service its subsegments called (X-Ray's inferred
nodes, named as the subsegment is: "SQS", "DynamoDB"), an edge per call with its statistics, and,
for a trace linked to another (a Lambda consumer of SQS messages), the edge from the queue's node
to the consumer."""

from dataclasses import dataclass, field
from typing import Any

from emulator.xray.summaries import inferred_name
from emulator.xray.traces import Trace, walk

Node = tuple[str, str]  # (name, type)


@dataclass
class Statistics:
    ok: int = 0
    errors: int = 0
    throttles: int = 0
    faults: int = 0
    total_time: float = 0.0
    times: list[float] = field(default_factory=list)
    start: float | None = None
    end: float | None = None

    def add(self, entity: dict[str, Any]) -> None:
        started = float(entity["start_time"])
        ended = float(entity.get("end_time") or started)
        self.times.append(ended - started)
        self.total_time += ended - started
        self.start = started if self.start is None else min(self.start, started)
        self.end = ended if self.end is None else max(self.end, ended)
        if entity.get("fault"):
            self.faults += 1
        elif entity.get("throttle"):
            self.throttles += 1
            self.errors += 1
        elif entity.get("error"):
            self.errors += 1
        else:
            self.ok += 1

    def summary(self) -> dict[str, Any]:
        return {
            "OkCount": self.ok,
            "ErrorStatistics": {
                "ThrottleCount": self.throttles,
                "OtherCount": self.errors - self.throttles,
                "TotalCount": self.errors,
            },
            "FaultStatistics": {"OtherCount": self.faults, "TotalCount": self.faults},
            "TotalCount": len(self.times),
            "TotalResponseTime": round(self.total_time, 6),
        }

    def histogram(self) -> list[dict[str, Any]]:
        counts: dict[float, int] = {}
        for seconds in self.times:
            counts[round(seconds, 3)] = counts.get(round(seconds, 3), 0) + 1
        return [{"Value": value, "Count": count} for value, count in sorted(counts.items())]


def _inferred(entity: dict[str, Any]) -> Node | None:
    name = inferred_name(entity)
    if name is None:
        return None
    return name, f"AWS::{name}" if entity.get("namespace") == "aws" else "remote"


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[Node, Statistics] = {}
        self.edges: dict[tuple[Node, Node], Statistics] = {}

    def node(self, node: Node, entity: dict[str, Any]) -> None:
        self.nodes.setdefault(node, Statistics()).add(entity)

    def edge(self, source: Node, target: Node, entity: dict[str, Any]) -> None:
        self.nodes.setdefault(source, Statistics())
        self.edges.setdefault((source, target), Statistics()).add(entity)

    def add(self, trace: Trace, owners: dict[str, dict[str, Node]]) -> None:
        """A trace's nodes and edges; `owners`: every trace's entity id -> the node it speaks for."""
        mine = owners[trace.id]
        for segment in trace.segments():
            if segment.get("type") == "subsegment":
                continue
            node = mine[segment["id"]]
            self.node(node, segment)
            parent = mine.get(str(segment.get("parent_id") or ""))
            if parent is not None and parent != node:
                self.edge(parent, node, segment)
            for entity in walk(segment):
                downstream = _inferred(entity)
                if downstream is not None and entity is not segment:
                    self.node(downstream, entity)
                    self.edge(node, downstream, entity)
            for link in segment.get("links") or []:
                producer = owners.get(str(link.get("trace_id")), {}).get(str(link.get("id")))
                if producer is not None and producer != node:
                    self.edge(producer, node, segment)

    def services(self) -> list[dict[str, Any]]:
        ids = {node: i for i, node in enumerate(sorted(self.nodes))}
        targets = {target for _, target in self.edges}
        services = []
        for node, statistics in sorted(self.nodes.items()):
            name, kind = node
            edges = [
                {
                    "ReferenceId": ids[target],
                    "StartTime": stats.start,
                    "EndTime": stats.end,
                    "SummaryStatistics": stats.summary(),
                    "ResponseTimeHistogram": stats.histogram(),
                    "Aliases": [],
                }
                for (source, target), stats in sorted(self.edges.items())
                if source == node
            ]
            service: dict[str, Any] = {
                "ReferenceId": ids[node],
                "Name": name,
                "Names": [name],
                "Type": kind,
                "State": "active",
                "Root": node not in targets,
                "Edges": edges,
            }
            if statistics.times:
                service.update(
                    StartTime=statistics.start,
                    EndTime=statistics.end,
                    SummaryStatistics=statistics.summary(),
                    DurationHistogram=statistics.histogram(),
                    ResponseTimeHistogram=statistics.histogram(),
                )
            services.append(service)
        return services


def owners_of(trace: Trace) -> dict[str, Node]:
    """Each entity id of the trace -> the node it speaks for: a segment and its own subsegments,
    its service; a call to an AWS or remote service, that inferred node."""
    owned: dict[str, Node] = {}
    for segment in trace.segments():
        node = (str(segment["name"]), str(segment.get("origin") or ""))
        for entity in walk(segment):
            owned[entity["id"]] = _inferred(entity) or node if entity is not segment else node
    return owned


def service_graph(traces: list[Trace], linked: list[Trace] | None = None) -> list[dict[str, Any]]:
    """The services of `traces`; `linked` are more traces their links may point to."""
    graph = _Graph()
    owners = {trace.id: owners_of(trace) for trace in [*(linked or []), *traces]}
    for trace in traces:
        graph.add(trace, owners)
    return graph.services()
