"""X-Ray: one order's traces, found by its orderId annotation. The POST's trace (Lambda, then
CreateOrder with its SQS SendMessage) and ProcessOrder's (with its DynamoDB PutItem) are two
traces, the second linked to the first through the message's AWSTraceHeader, as on AWS; a poison
message's trace shows the fault."""

import html
import json
import re
import time
import uuid
from typing import Any

import pytest

from e2e.conftest import RecordingSession
from e2e.waiting import eventually
from emulator.console import LOGS_PATH, TRACES_PATH
from workspace.deployment import Deployment

pytestmark = pytest.mark.needs("xray")


def walk(entity: dict[str, Any]) -> list[dict[str, Any]]:
    return [entity, *(e for child in entity.get("subsegments") or [] for e in walk(child))]


def calls(segment: dict[str, Any]) -> set[tuple[str, str]]:
    """(service, operation) of the AWS calls under a segment (the X-Ray SDK names a call's
    subsegment after the service's endpoint prefix: "sqs", "dynamodb")."""
    return {
        (str(e["name"]).lower(), str(e["aws"].get("operation")))
        for e in walk(segment)
        if e.get("namespace") == "aws" and "aws" in e
    }


def segments(xray: Any, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    traces = xray.batch_get_traces(TraceIds=trace_ids)["Traces"]
    return {t["Id"]: [json.loads(s["Document"]) for s in t["Segments"]] for t in traces}


def summaries(xray: Any, expression: str) -> list[dict[str, Any]]:
    now = time.time()
    found = xray.get_trace_summaries(StartTime=now - 600, EndTime=now + 60, FilterExpression=expression)
    return list(found["TraceSummaries"])


def test_an_order_s_two_traces_are_linked_through_the_queue(
    http: RecordingSession, deployment: Deployment
) -> None:
    xray = deployment.client("xray")
    create, process = deployment.function_name("create_order"), deployment.function_name("process_order")
    posted = http.post(f"{deployment.api_url}/orders", json={"amount": 3, "currency": "EUR"})
    assert posted.status_code == 202
    order_id = posted.json()["orderId"]

    def both_traces() -> dict[str, list[dict[str, Any]]] | None:
        found = summaries(xray, f'annotation.orderId = "{order_id}"')
        traced = segments(xray, [s["Id"] for s in found]) if found else {}
        names = {
            s["name"] for docs in traced.values() for s in docs if s.get("origin") == "AWS::Lambda::Function"
        }
        return traced if {create, process} <= names else None

    traced, took = eventually(both_traces, timeout=60, every=1, what=f"the traces of order {order_id}")
    print(f"both traces found by orderId in {took:.1f}s")
    by_function = {
        s["name"]: (trace_id, s)
        for trace_id, docs in traced.items()
        for s in docs
        if s.get("origin") == "AWS::Lambda::Function"
    }
    created_in, create_segment = by_function[create]
    processed_in, process_segment = by_function[process]
    assert created_in != processed_in  # two traces, as on AWS
    assert ("sqs", "SendMessage") in calls(create_segment)
    assert ("dynamodb", "PutItem") in calls(process_segment)
    [lambda_segment] = [s for s in traced[processed_in] if s.get("origin") == "AWS::Lambda"]
    assert created_in in {link["trace_id"] for link in lambda_segment.get("links", [])}

    graph = xray.get_trace_graph(TraceIds=[created_in, processed_in])["Services"]
    by_ref = {s["ReferenceId"]: s["Name"] for s in graph}
    sqs = [s for s in graph if s["Name"].lower() == "sqs"]
    assert sqs and process in {by_ref[e["ReferenceId"]] for e in sqs[0]["Edges"]}  # SQS -> ProcessOrder


def test_a_poison_message_s_trace_shows_the_fault(deployment: Deployment) -> None:
    xray = deployment.client("xray")
    process = deployment.function_name("process_order")
    started = time.time()
    deployment.client("sqs").send_message(
        QueueUrl=deployment.outputs.queue_url, MessageBody=f"poison-{uuid.uuid4()}"
    )

    def faulted() -> list[dict[str, Any]] | None:
        found = summaries(xray, f'fault AND service("{process}")')
        return [s for s in found if s["StartTime"].timestamp() >= started - 1] or None

    found, _ = eventually(faulted, timeout=60, every=1, what="a faulted ProcessOrder trace")
    assert found[0]["HasFault"] is True


def linked_traces(journey: str) -> int:
    """How many traces an order's journey page links: the POST's and the consumer's, and one more
    per other order the consumer's batch held (0 when the page says none)."""
    found = re.search(r"(\d+) linked traces", journey)
    return int(found.group(1)) if found else 0


@pytest.mark.needs("console")
def test_the_console_shows_one_order_s_journey_across_both_functions(
    http: RecordingSession, deployment: Deployment
) -> None:
    assert deployment.endpoint is not None
    create, process = deployment.function_name("create_order"), deployment.function_name("process_order")
    posted = http.post(f"{deployment.api_url}/orders", json={"amount": 4, "currency": "EUR"})
    assert posted.status_code == 202
    order_id = posted.json()["orderId"]

    def listed() -> list[str] | None:
        page = http.get(f"{deployment.endpoint}{TRACES_PATH}", params={"orderId": order_id})
        assert page.status_code == 200
        return re.findall(rf'href="{TRACES_PATH}/(1-[0-9a-f-]+)"', page.text) or None

    trace_ids, _ = eventually(listed, timeout=60, every=1, what=f"order {order_id} in the console's traces")

    def journey() -> str | None:
        page = http.get(f"{deployment.endpoint}{TRACES_PATH}/{trace_ids[0]}").text
        return page if create in page and process in page and linked_traces(page) >= 2 else None

    page, _ = eventually(journey, timeout=30, every=1, what="the journey through both functions")
    assert "sqs · " in page and "dynamodb · " in page
    links = [html.unescape(link) for link in re.findall(rf'href="({LOGS_PATH}\?[^"]+)"', page)]
    assert len(links) == linked_traces(page)  # each function's invocation, to its log lines

    def logged() -> bool:
        return all(order_id in http.get(f"{deployment.endpoint}{link}").text for link in links)

    eventually(logged, timeout=10, what="the order's log lines behind each function's link")
