"""The X-Ray API (REST-JSON), answered from what was recorded: PutTraceSegments,
GetTraceSummaries (time range and filter expression), BatchGetTraces, GetServiceGraph,
GetTraceGraph. Requests signed for `xray` on these paths are claimed before moto."""

import json
import time
from collections.abc import Callable
from typing import Any

from emulator import sigv4
from emulator.http import Response, json_response
from emulator.xray.filters import UnsupportedFilter, compile_filter
from emulator.xray.graph import service_graph
from emulator.xray.summaries import facts, summary
from emulator.xray.traces import LINKED_WINDOW_SECONDS, InvalidDocument, TraceStore, span

MAX_TRACE_IDS = 5  # BatchGetTraces and GetTraceGraph take at most 5 ids, as on AWS


def _error(code: str, message: str) -> Response:
    return Response(
        400,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        json.dumps({"message": message}).encode(),
    )


def _json(body: dict[str, Any]) -> Response:
    return json_response(200, json.dumps(body).encode())


class XRayApi:
    def __init__(self, traces: TraceStore) -> None:
        self.traces = traces
        self.operations: dict[str, Callable[[dict[str, Any]], Response]] = {
            "/TraceSegments": self.put_trace_segments,
            "/TraceSummaries": self.get_trace_summaries,
            "/Traces": self.batch_get_traces,
            "/ServiceGraph": self.get_service_graph,
            "/TraceGraph": self.get_trace_graph,
        }

    def handle(self, environ: dict[str, Any]) -> Response | None:
        operation = self.operations.get(environ.get("PATH_INFO", ""))
        if operation is None:  # (the path first: every SDK call passes here on its way to moto)
            return None
        signed = sigv4.scope(environ)
        if signed is None or signed.service != "xray":
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        except ValueError:
            return _error("InvalidRequestException", "The request body is not JSON")
        if not isinstance(body, dict):
            return _error("InvalidRequestException", "The request body must be a JSON object")
        return operation(body)

    def put_trace_segments(self, body: dict[str, Any]) -> Response:
        unprocessed = []
        for text in body.get("TraceSegmentDocuments") or []:
            try:
                document = json.loads(text)
            except (ValueError, TypeError) as error:
                unprocessed.append({"Id": "", "ErrorCode": "InvalidSegment", "Message": f"not JSON: {error}"})
                continue
            try:
                self.traces.put(document)
            except InvalidDocument as error:
                document_id = str(document.get("id", "")) if isinstance(document, dict) else ""
                unprocessed.append({"Id": document_id, "ErrorCode": "InvalidSegment", "Message": str(error)})
        return _json({"UnprocessedTraceSegments": unprocessed})

    def get_trace_summaries(self, body: dict[str, Any]) -> Response:
        try:
            start, end = float(body["StartTime"]), float(body["EndTime"])
        except (KeyError, TypeError, ValueError):
            return _error("InvalidRequestException", "StartTime and EndTime are required")
        try:
            wanted = compile_filter(body.get("FilterExpression"))
        except UnsupportedFilter as error:
            return _error("InvalidRequestException", str(error))
        traces = self.traces.between(start, end)
        found = [summary(trace) for trace in traces if wanted(facts(trace))]
        return _json(
            {"TraceSummaries": found, "ApproximateTime": time.time(), "TracesProcessedCount": len(traces)}
        )

    def batch_get_traces(self, body: dict[str, Any]) -> Response:
        ids = body.get("TraceIds") or []
        if len(ids) > MAX_TRACE_IDS:
            return _error("InvalidRequestException", f"TraceIds takes at most {MAX_TRACE_IDS} ids")
        traces, unprocessed = [], []
        for trace_id in ids:
            trace = self.traces.get(trace_id)
            if trace is None:
                unprocessed.append(trace_id)
                continue
            segments = trace.segments()
            first, last = span(segments) if segments else (0.0, 0.0)
            traces.append(
                {
                    "Id": trace.id,
                    "Duration": round(last - first, 3),
                    "LimitExceeded": False,
                    "Segments": [{"Id": s["id"], "Document": json.dumps(s)} for s in segments],
                }
            )
        return _json({"Traces": traces, "UnprocessedTraceIds": unprocessed})

    def get_service_graph(self, body: dict[str, Any]) -> Response:
        try:
            start, end = float(body["StartTime"]), float(body["EndTime"])
        except (KeyError, TypeError, ValueError):
            return _error("InvalidRequestException", "StartTime and EndTime are required")
        linked = self.traces.between(start - LINKED_WINDOW_SECONDS, start)
        services = service_graph(self.traces.between(start, end), linked)
        return _json(
            {"StartTime": start, "EndTime": end, "Services": services, "ContainsOldGroupVersions": False}
        )

    def get_trace_graph(self, body: dict[str, Any]) -> Response:
        ids = body.get("TraceIds") or []
        if len(ids) > MAX_TRACE_IDS:
            return _error("InvalidRequestException", f"TraceIds takes at most {MAX_TRACE_IDS} ids")
        traces = [t for t in (self.traces.get(i) for i in ids) if t is not None]
        linked = [
            t
            for t in (
                self.traces.get(str(link.get("trace_id")))
                for trace in traces
                for segment in trace.segments()
                for link in segment.get("links") or []
            )
            if t is not None
        ]
        return _json({"Services": service_graph(traces, linked)})
