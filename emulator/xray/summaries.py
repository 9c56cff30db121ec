"""What GetTraceSummaries says of a trace, and the facts its filter expressions test."""

from dataclasses import dataclass, field
from typing import Any

from emulator.xray.traces import Trace, span, walk


@dataclass
class Facts:
    """A trace as filter expressions see it."""

    response_time: float  # the entry segment's duration, seconds
    duration: float  # first start to last end, seconds
    fault: bool
    error: bool
    throttle: bool
    partial: bool
    http: dict[str, Any]
    services: set[str]
    annotations: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.fault or self.error or self.throttle)


def entry_segment(segments: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The segment the trace starts at: one without a parent, else the earliest."""
    roots = [s for s in segments if s.get("type") != "subsegment" and not s.get("parent_id")]
    return min(roots or segments, key=lambda s: float(s["start_time"]), default=None)


def inferred_name(subsegment: dict[str, Any]) -> str | None:
    """The downstream node X-Ray infers from a call to an AWS service or a remote one."""
    return str(subsegment["name"]) if subsegment.get("namespace") in ("aws", "remote") else None


def facts(trace: Trace) -> Facts:
    segments = trace.segments()
    entities = [e for s in segments for e in walk(s)]
    entry = entry_segment(segments) or {}
    first, last = span(entities) if entities else (0.0, 0.0)
    annotations: dict[str, list[Any]] = {}
    for entity in entities:
        for key, value in (entity.get("annotations") or {}).items():
            annotations.setdefault(key, []).append(value)
    services = {str(s["name"]) for s in segments if s.get("type") != "subsegment"}
    services |= {name for e in entities if (name := inferred_name(e))}
    response = entry.get("http", {}).get("response", {})
    request = entry.get("http", {}).get("request", {})
    return Facts(
        response_time=float(entry.get("end_time") or entry.get("start_time") or 0)
        - float(entry.get("start_time") or 0),
        duration=last - first,
        fault=any(e.get("fault") for e in entities),
        error=any(e.get("error") for e in entities),
        throttle=any(e.get("throttle") for e in entities),
        partial=any(e.get("in_progress") for e in entities),
        http={"status": response.get("status"), "url": request.get("url"), "method": request.get("method")},
        services=services,
        annotations=annotations,
    )


def _annotation_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, int | float):
        return {"NumberValue": value}
    return {"StringValue": str(value)}


def summary(trace: Trace) -> dict[str, Any]:
    """A TraceSummary, as GetTraceSummaries answers it."""
    seen = facts(trace)
    segments = trace.segments()
    entry = entry_segment(segments) or {}
    service_ids = [
        {"Name": name, "Names": [name], "AccountId": account, "Type": kind}
        for name, kind, account in sorted(
            {
                (str(s["name"]), str(s.get("origin") or ""), str(s.get("aws", {}).get("account_id") or ""))
                for s in segments
                if s.get("type") != "subsegment"
            }
        )
    ]
    http = {
        key: value
        for key, value in (
            ("HttpURL", seen.http["url"]),
            ("HttpStatus", seen.http["status"]),
            ("HttpMethod", seen.http["method"]),
        )
        if value is not None
    }
    return {
        "Id": trace.id,
        "StartTime": min((float(s["start_time"]) for s in segments), default=trace.first_seen),
        "Duration": round(seen.duration, 3),
        "ResponseTime": round(seen.response_time, 3),
        "HasFault": seen.fault,
        "HasError": seen.error,
        "HasThrottle": seen.throttle,
        "IsPartial": seen.partial,
        "Http": http,
        "Annotations": {
            key: [{"AnnotationValue": _annotation_value(v)} for v in values]
            for key, values in seen.annotations.items()
        },
        "ServiceIds": service_ids,
        "EntryPoint": {
            "Name": entry.get("name", ""),
            "Names": [entry.get("name", "")],
            "Type": entry.get("origin", ""),
        },
        "Users": [],
    }
