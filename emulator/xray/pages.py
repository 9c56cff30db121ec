"""The local console's traces (GET, read-only):

/_emulator/console/traces               recent traces, newest first; ?orderId=... those of one
                                        order (its annotation), ?errors=1 those with a fault
                                        or an error, ?minutes=N the range (default 60)
/_emulator/console/traces/<trace id>    one order's journey: the trace and the traces linked to
                                        it (the POST's and ProcessOrder's, through SQS), each
                                        segment and subsegment as a bar on one time axis, with
                                        its duration, fault or error
"""

import html
import time
from typing import Any
from urllib.parse import parse_qs, quote

from emulator.console import TRACES_PATH, html_response, logs_link, page
from emulator.http import Response
from emulator.xray.graph import service_graph
from emulator.xray.summaries import entry_segment, facts
from emulator.xray.traces import LINKED_WINDOW_SECONDS, Trace, TraceStore, span, start_time, walk_depths

LISTED = 100


def _status(entity: dict[str, Any]) -> str:
    return (
        "fault" if entity.get("fault") else "error" if entity.get("error") or entity.get("throttle") else ""
    )


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"


class TracePages:
    def __init__(self, traces: TraceStore) -> None:
        self.traces = traces

    def handle(self, environ: dict[str, Any]) -> Response | None:
        path = environ.get("PATH_INFO", "")
        if path != TRACES_PATH and not path.startswith(f"{TRACES_PATH}/"):
            return None
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return html_response(405, page("Not allowed", "<p>The console only reads.</p>"))
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        trace_id = path[len(TRACES_PATH) + 1 :]
        if not trace_id:
            return html_response(200, self.listing(query))
        journey = self.journey(trace_id)
        if journey is None:
            return html_response(404, page("Not found", f"<p>No trace {html.escape(trace_id)} is kept.</p>"))
        return html_response(200, journey)

    def listing(self, query: dict[str, str], now: float | None = None) -> str:
        now = now if now is not None else time.time()
        try:
            minutes = max(1, min(24 * 60, int(query.get("minutes", "60"))))
        except ValueError:
            minutes = 60
        order_id, errors_only = query.get("orderId", "").strip(), query.get("errors") == "1"
        rows = []
        for trace in reversed(self.traces.between(now - minutes * 60, now + 60)):
            seen = facts(trace)
            orders = sorted({str(v) for v in seen.annotations.get("orderId", [])})
            if (order_id and order_id not in orders) or (errors_only and seen.ok):
                continue
            entry = entry_segment(trace.segments()) or {}
            status = "fault" if seen.fault else "error" if not seen.ok else "ok"
            rows.append(
                f'<tr><td><a href="{TRACES_PATH}/{quote(trace.id)}">{_clock(float(entry.get("start_time", 0)))}</a></td>'
                f"<td>{html.escape(str(entry.get('name', '')))}</td><td>{seen.duration * 1000:.0f} ms</td>"
                f'<td class="{status}">{status}</td><td>{html.escape(", ".join(orders))}</td></tr>'
            )
            if len(rows) >= LISTED:
                break
        form = (
            f'<form method="get" action="{TRACES_PATH}"><input name="orderId" placeholder="orderId" '
            f'value="{html.escape(order_id)}"> <label><input type="checkbox" name="errors" value="1"'
            f"{' checked' if errors_only else ''}> faults and errors only</label> <button>Filter</button></form>"
        )
        table = (
            "<table><tr><th>started</th><th>entry point</th><th>duration</th><th>status</th><th>orderId</th></tr>"
            + ("".join(rows) or '<tr><td colspan="5">no traces in this range yet: send an order</td></tr>')
            + "</table>"
        )
        return page("Traces", form + table + self.service_map(now - minutes * 60, now + 60))

    def service_map(self, start: float, end: float) -> str:
        """GetServiceGraph's nodes and edges over the range, as a table: who calls whom, how often,
        how fast, how many failed (the edge from SQS to a consumer comes from the linked traces)."""
        services = service_graph(
            self.traces.between(start, end), self.traces.between(start - LINKED_WINDOW_SECONDS, start)
        )
        names = {s["ReferenceId"]: f"{s['Name']} ({s['Type']})" if s["Type"] else s["Name"] for s in services}
        rows = []
        for service in services:
            for edge in service["Edges"]:
                stats = edge["SummaryStatistics"]
                average = (
                    stats["TotalResponseTime"] / stats["TotalCount"] * 1000 if stats["TotalCount"] else 0
                )
                failed = stats["FaultStatistics"]["TotalCount"] + stats["ErrorStatistics"]["TotalCount"]
                rows.append(
                    f"<tr><td>{html.escape(names[service['ReferenceId']])}</td><td>→</td>"
                    f"<td>{html.escape(names[edge['ReferenceId']])}</td><td>{stats['TotalCount']}</td>"
                    f"<td>{average:.0f} ms</td><td{' class=fault' if failed else ''}>{failed}</td></tr>"
                )
        return (
            "<h2>Service map</h2><table><tr><th>from</th><th></th><th>to</th><th>calls</th><th>average</th>"
            "<th>faults and errors</th></tr>"
            + ("".join(rows) or '<tr><td colspan="6">nothing yet</td></tr>')
            + "</table>"
        )

    def linked(self, trace: Trace) -> list[Trace]:
        """The trace, the traces it links to, and the traces that link to it, by start time."""
        ids = {str(link.get("trace_id")) for s in trace.segments() for link in s.get("links") or []}
        found = {trace.id: trace}
        for other_id in ids:
            other = self.traces.get(other_id)
            if other is not None:
                found[other.id] = other
        start = start_time(trace)
        for other in self.traces.between(start - LINKED_WINDOW_SECONDS, start + LINKED_WINDOW_SECONDS):
            links = {str(link.get("trace_id")) for s in other.segments() for link in s.get("links") or []}
            if trace.id in links:
                found[other.id] = other
        return sorted(found.values(), key=start_time)

    def journey(self, trace_id: str) -> str | None:
        trace = self.traces.get(trace_id)
        if trace is None:
            return None
        traces = self.linked(trace)
        entities = [(t, e, depth) for t in traces for s in t.segments() for e, depth in walk_depths(s)]
        start, end = span([e for _, e, _ in entities])
        width_s = max(end - start, 0.001)
        parts = []
        for each in traces:
            bars = []
            for owner, entity, depth in entities:
                if owner is not each:
                    continue
                began = float(entity["start_time"])
                took = float(entity.get("end_time") or began) - began
                left, width = (began - start) / width_s * 100, max(took / width_s * 100, 0.3)
                kind = f"{entity['origin']} " if entity.get("origin") else ""  # AWS::Lambda, its ::Function
                label = f"{kind}{entity.get('name', '')} · {took * 1000:.0f} ms" + (
                    f" · {_status(entity)}" if _status(entity) else ""
                )
                request_id = (entity.get("aws") or {}).get("request_id")
                logs = (
                    f' <a href="{html.escape(logs_link(str(entity["name"]), str(request_id)))}">log lines</a>'
                    if entity.get("origin") == "AWS::Lambda::Function" and request_id
                    else ""
                )
                bars.append(
                    f'<div class="span"><div class="bar {_status(entity)}" style="left:{left:.2f}%;width:{width:.2f}%"></div>'
                    f'<span class="name" style="margin-left:{depth * 12}px">{html.escape(label)}{logs}</span></div>'
                )
            current = " (this trace)" if each.id == trace_id else ""
            parts.append(
                f'<div class="timeline"><h2><a href="{TRACES_PATH}/{quote(each.id)}">{html.escape(each.id)}</a>{current}</h2>'
                + "".join(bars)
                + "</div>"
            )
        header = f"<p>{len(traces)} linked traces over {width_s * 1000:.0f} ms</p>"
        return page(f"Trace {trace_id}", header + "".join(parts))
