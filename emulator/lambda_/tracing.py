"""Lambda's part in X-Ray. Every invocation runs with a trace header (`_X_AMZN_TRACE_ID`); one that
is traced (TracingConfig Active and sampled, or a sampled header passed in, as PassThrough
follows) gets the two segments Lambda records: the service's (origin AWS::Lambda) and the
function's (AWS::Lambda::Function), whose id is the header's Parent, so the subsegments the
function's X-Ray SDK sends to the daemon land under it. An invocation from SQS messages that
carried a trace header starts a trace of its own, linked to theirs, as on AWS."""

from dataclasses import dataclass, field
from typing import Any

from emulator.xray.sampling import Sampler
from emulator.xray.traces import TraceHeader, TraceStore, new_entity_id, new_trace_id


@dataclass(frozen=True)
class Tracing:
    traces: TraceStore
    sampler: Sampler
    daemon_address: str  # the functions' AWS_XRAY_DAEMON_ADDRESS


@dataclass
class InvocationTrace:
    header: TraceHeader  # what the function runs with
    upstream: TraceHeader | None = None
    links: list[TraceHeader] = field(default_factory=list)
    service_id: str = field(default_factory=new_entity_id)

    @property
    def sampled(self) -> bool:
        return bool(self.header.sampled)

    def record(
        self,
        traces: TraceStore,
        function: dict[str, str],
        started: float,
        ended: float,
        error: dict[str, Any] | None,
    ) -> None:
        """The service's and the function's segments (`function`: name, arn, request_id)."""
        if not self.sampled:
            return
        common = {
            "trace_id": self.header.root,
            "start_time": started,
            "end_time": ended,
            "name": function["name"],
        }
        service: dict[str, Any] = {
            **common,
            "id": self.service_id,
            "origin": "AWS::Lambda",
            "aws": {"request_id": function["request_id"]},
            "http": {"response": {"status": 200}},
        }
        if self.upstream is not None and self.upstream.parent:
            service["parent_id"] = self.upstream.parent
        if self.links:
            service["links"] = [
                {"trace_id": link.root, "id": link.parent} for link in self.links if link.parent
            ]
        own: dict[str, Any] = {
            **common,
            "id": str(self.header.parent),
            "parent_id": self.service_id,
            "origin": "AWS::Lambda::Function",
            "resource_arn": function["arn"],
            "aws": {"request_id": function["request_id"]},  # the console links it to its log lines
        }
        if error is not None:  # the function failed: a fault, with its cause
            own["fault"] = True
            own["cause"] = {
                "exceptions": [
                    {"type": error.get("errorType", "Error"), "message": error.get("errorMessage", "")}
                ]
            }
        traces.put(service)
        traces.put(own)


def begin(
    tracing: Tracing | None, mode: str, incoming: str | None, links: tuple[str, ...] = ()
) -> InvocationTrace:
    """How an invocation is traced: `mode` is the function's TracingConfig Mode, `incoming` the
    trace header it was invoked with (an HTTP API's X-Amzn-Trace-Id), `links` the trace headers
    of the SQS messages it gets."""
    upstream = TraceHeader.parse(incoming)
    linked = [h for h in (TraceHeader.parse(text) for text in links) if h is not None and h.sampled]
    if linked:
        upstream = None  # a trace of its own, linked to the producers'
    decided = upstream.sampled if upstream is not None else None
    if tracing is None:
        sampled = False
    elif mode == "Active":
        sampled = tracing.sampler.sampled(decided)
    else:  # PassThrough: traced only when the caller's header says so
        sampled = decided is True
    root = upstream.root if upstream is not None else new_trace_id()
    return InvocationTrace(TraceHeader(root, new_entity_id(), sampled), upstream, linked)
