"""X-Ray as the emulator records it: the daemon's UDP protocol, traces assembled from segments and
subsegments sent alone, filter expressions, the service graph with the SQS link, and how Lambda
decides what it traces."""

import json
import socket
import time
from typing import Any

import pytest

from e2e.waiting import eventually
from emulator.console import TRACES_PATH
from emulator.lambda_ import tracing
from emulator.xray.api import XRayApi
from emulator.xray.daemon import BATCH_SECONDS, Daemon, receive
from emulator.xray.filters import UnsupportedFilter, compile_filter
from emulator.xray.graph import service_graph
from emulator.xray.pages import TracePages
from emulator.xray.sampling import Sampler
from emulator.xray.summaries import facts, summary
from emulator.xray.traces import InvalidDocument, TraceHeader, TraceStore, new_entity_id, new_trace_id

HEADER = b'{"format": "json", "version": 1}\n'
NOW = time.time()


def segment(trace_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "trace_id": trace_id,
        "id": new_entity_id(),
        "name": name,
        "start_time": NOW,
        "end_time": NOW + 0.2,
        **fields,
    }


def producer_and_consumer(store: TraceStore) -> tuple[str, str, dict[str, Any]]:
    """CreateOrder's trace (Lambda, function, its SQS SendMessage) and ProcessOrder's, linked."""
    produced, consumed = new_trace_id(), new_trace_id()
    service = segment(produced, "CreateOrder", origin="AWS::Lambda", http={"response": {"status": 200}})
    function = segment(produced, "CreateOrder", origin="AWS::Lambda::Function", parent_id=service["id"])
    send = segment(produced, "SQS", namespace="aws", type="subsegment", parent_id=function["id"],
                   aws={"operation": "SendMessage"}, annotations={"orderId": "o-1"})  # fmt: skip
    later = {"start_time": NOW + 0.3, "end_time": NOW + 0.5}  # the consumer runs after the producer
    link = {"trace_id": produced, "id": send["id"]}
    consumer = segment(consumed, "ProcessOrder", origin="AWS::Lambda", links=[link], **later)
    dynamodb = segment(consumed, "DynamoDB", namespace="aws", start_time=NOW + 0.35, end_time=NOW + 0.4)
    own = segment(consumed, "ProcessOrder", origin="AWS::Lambda::Function", parent_id=consumer["id"], fault=True,
                  subsegments=[dynamodb], **later)  # fmt: skip
    for document in (service, function, send, consumer, own):
        store.put(document)
    return produced, consumed, send


def test_the_daemon_takes_segments_and_drops_what_is_not_one() -> None:
    store = TraceStore()
    daemon = Daemon(store).start()
    host, port = daemon.address.split(":")
    trace_id = new_trace_id()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"not a header\n{}", (host, int(port)))  # dropped, logged
            sender.sendto(HEADER + b"[1, 2]", (host, int(port)))  # dropped
            sender.sendto(HEADER + json.dumps(segment(trace_id, "kept")).encode(), (host, int(port)))
            deadline = time.monotonic() + 5
            while store.get(trace_id) is None and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        daemon.stop()
    trace = store.get(trace_id)
    assert trace is not None and [s["name"] for s in trace.segments()] == ["kept"]


def test_the_daemon_keeps_every_datagram_of_bursts_and_of_lone_ones() -> None:
    """Taken in batches: all of a burst larger than a batch, and a datagram sent alone after it."""
    store = TraceStore()
    daemon = Daemon(store).start()
    host, port = daemon.address.split(":")
    traces = [new_trace_id() for _ in range(300)]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for trace_id in traces[:-1]:
                sender.sendto(HEADER + json.dumps(segment(trace_id, "burst")).encode(), (host, int(port)))
            eventually(
                lambda: all(store.get(t) for t in traces[:-1]), timeout=5, every=0.01, what="the burst"
            )
            time.sleep(2 * BATCH_SECONDS)  # the daemon waits for the next datagram
            sender.sendto(HEADER + json.dumps(segment(traces[-1], "alone")).encode(), (host, int(port)))
            eventually(lambda: store.get(traces[-1]), timeout=5, every=0.01, what="the lone datagram")
    finally:
        daemon.stop()


def test_a_subsegment_sent_alone_lands_under_its_parent_and_a_completed_segment_replaces_its_start() -> None:
    store, trace_id = TraceStore(), new_trace_id()
    started = segment(trace_id, "fn", in_progress=True)
    del started["end_time"]
    receive(HEADER + json.dumps(started).encode(), store)
    child = segment(trace_id, "## handler", type="subsegment", parent_id=started["id"])
    grandchild = segment(trace_id, "SQS", type="subsegment", parent_id=child["id"], namespace="aws")
    receive(HEADER + json.dumps(grandchild).encode(), store)  # before its own parent arrives
    receive(HEADER + json.dumps(child).encode(), store)
    assert summary(store.get(trace_id)).get("IsPartial") is True  # type: ignore[arg-type]
    receive(HEADER + json.dumps({**started, "in_progress": False, "end_time": NOW + 1}).encode(), store)
    receive(HEADER + json.dumps(started).encode(), store)  # a late in-progress copy never undoes it
    [top] = store.get(trace_id).segments()  # type: ignore[union-attr]
    assert top["end_time"] == NOW + 1 and not top.get("in_progress")
    assert top["subsegments"][0]["name"] == "## handler"
    assert top["subsegments"][0]["subsegments"][0]["name"] == "SQS"
    with pytest.raises(InvalidDocument, match="parent_id"):
        receive(HEADER + json.dumps({**child, "parent_id": None}).encode(), store)


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ('service("CreateOrder")', {"produced"}),
        ('service("DynamoDB")', {"consumed"}),
        ("fault", {"consumed"}),
        ("!fault AND ok", {"produced"}),
        ("error", set()),
        ("http.status = 200", {"produced"}),
        ("responsetime > 0.1", {"produced", "consumed"}),
        ("responsetime > 5", set()),
        ('annotation.orderId = "o-1"', {"produced"}),
        ('annotation.orderId = "o-2" OR fault', {"consumed"}),
        ('(fault || error) && service("ProcessOrder")', {"consumed"}),
    ],
)
def test_filter_expressions(expression: str, matches: set[str]) -> None:
    store = TraceStore()
    produced, consumed, _ = producer_and_consumer(store)
    names = {produced: "produced", consumed: "consumed"}
    wanted = compile_filter(expression)
    assert {names[t.id] for t in store.between(NOW - 1, NOW + 1) if wanted(facts(t))} == matches


@pytest.mark.parametrize(
    "expression",
    ['edge("a", "b")', "rootcause.fault.entity { remote }", "annotation.x", 'service("a") { fault }'],
)
def test_an_expression_the_emulator_cannot_read_is_refused_by_name(expression: str) -> None:
    with pytest.raises(UnsupportedFilter):
        compile_filter(expression)
    answer = XRayApi(TraceStore()).get_trace_summaries(
        {"StartTime": 0, "EndTime": 1, "FilterExpression": expression}
    )
    assert answer.status == 400 and answer.headers["x-amzn-ErrorType"] == "InvalidRequestException"


def test_the_service_graph_draws_the_sqs_edge_to_the_linked_consumer() -> None:
    store = TraceStore()
    producer_and_consumer(store)
    services = service_graph(store.between(NOW - 1, NOW + 1))
    by_ref = {s["ReferenceId"]: (s["Name"], s["Type"]) for s in services}
    edges = {(s["Name"], s["Type"]) : {by_ref[e["ReferenceId"]] for e in s["Edges"]} for s in services}  # fmt: skip
    assert edges[("CreateOrder", "AWS::Lambda")] == {("CreateOrder", "AWS::Lambda::Function")}
    assert edges[("CreateOrder", "AWS::Lambda::Function")] == {("SQS", "AWS::SQS")}
    assert edges[("SQS", "AWS::SQS")] == {("ProcessOrder", "AWS::Lambda")}  # the link
    assert edges[("ProcessOrder", "AWS::Lambda::Function")] == {("DynamoDB", "AWS::DynamoDB")}
    [function] = [s for s in services if s["Name"] == "ProcessOrder" and s["Type"] == "AWS::Lambda::Function"]
    assert function["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1


def test_put_trace_segments_reports_what_it_could_not_take() -> None:
    store = TraceStore()
    good = segment(new_trace_id(), "ok")
    answer = XRayApi(store).put_trace_segments({"TraceSegmentDocuments": [json.dumps(good), "{}", "nope"]})
    assert answer.status == 200 and store.get(good["trace_id"]) is not None
    assert [u["ErrorCode"] for u in json.loads(answer.body)["UnprocessedTraceSegments"]] == [
        "InvalidSegment"
    ] * 2


def test_lambda_traces_what_its_tracing_mode_and_the_caller_say() -> None:
    on = tracing.Tracing(TraceStore(), Sampler("all"), "127.0.0.1:1")
    root = new_trace_id()
    assert tracing.begin(on, "Active", f"Root={root}").header.root == root  # an HTTP API's header
    assert tracing.begin(on, "Active", f"Root={root}").sampled
    assert not tracing.begin(on, "Active", f"Root={root};Parent={new_entity_id()};Sampled=0").sampled
    assert not tracing.begin(on, "PassThrough", None).sampled
    assert tracing.begin(on, "PassThrough", f"Root={root};Parent={new_entity_id()};Sampled=1").sampled
    assert not tracing.begin(None, "Active", None).sampled  # no X-Ray here
    producer = TraceHeader(root, new_entity_id(), True)
    linked = tracing.begin(on, "Active", None, (str(producer),))
    assert linked.header.root != root and linked.links == [producer]  # a trace of its own, linked


def test_the_default_rule_samples_the_first_request_of_a_second_then_a_few() -> None:
    sampler = Sampler("default")
    decisions = [sampler.sampled() for _ in range(400)]
    assert decisions[0] and 1 <= sum(decisions) < 60
    assert Sampler("all").sampled() and not Sampler("all").sampled(False)


def test_the_console_lists_traces_and_draws_one_order_s_journey_across_linked_traces() -> None:
    store = TraceStore()
    produced, consumed, _ = producer_and_consumer(store)
    pages = TracePages(store)

    def get(path: str, query: str = "", method: str = "GET") -> Any:
        return pages.handle({"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": method})

    listing = get(TRACES_PATH).body.decode()
    assert f"{TRACES_PATH}/{produced}" in listing and f"{TRACES_PATH}/{consumed}" in listing
    by_order = get(TRACES_PATH, "orderId=o-1").body.decode()
    assert produced in by_order and consumed not in by_order
    assert (
        "<td>SQS (AWS::SQS)</td><td>→</td><td>ProcessOrder (AWS::Lambda)</td><td>1</td>" in listing
    )  # the link
    faults = get(TRACES_PATH, "errors=1").body.decode()
    assert consumed in faults and produced not in faults
    for trace_id in (produced, consumed):  # from either end, the whole journey
        journey = get(f"{TRACES_PATH}/{trace_id}").body.decode()
        assert "2 linked traces" in journey
        headings = [journey.index(f'<h2><a href="{TRACES_PATH}/{t}"') for t in (produced, consumed)]
        assert headings[0] < headings[1]  # in time order
        assert "SQS · 200 ms" in journey and 'class="bar fault"' in journey
    assert get(f"{TRACES_PATH}/1-00000000-000000000000000000000000").status == 404
    assert get(TRACES_PATH, method="POST").status == 405
    assert get("/_emulator/console") is None


def test_the_console_escapes_what_functions_sent() -> None:
    store = TraceStore()
    trace_id = new_trace_id()
    store.put(segment(trace_id, "<script>alert(1)</script>", annotations={"orderId": "<b>x</b>"}))
    pages = TracePages(store)
    for path in (TRACES_PATH, f"{TRACES_PATH}/{trace_id}"):
        body = pages.handle({"PATH_INFO": path, "QUERY_STRING": "", "REQUEST_METHOD": "GET"}).body.decode()  # type: ignore[union-attr]
        assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body and "<b>x" not in body
