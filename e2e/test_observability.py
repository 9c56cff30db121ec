"""Scenario 9: alarms notify the SNS topic; function logs are structured JSON carrying the orderId."""

import html
import json
import re
from urllib.parse import quote

import pytest

from e2e.conftest import RecordingSession
from e2e.waiting import eventually
from emulator.cloudwatch.dashboards import DASHBOARDS_PATH
from emulator.console import CONSOLE_PATH
from workspace.deployment import Deployment


def test_alarms_exist_with_the_topic_as_action(deployment: Deployment) -> None:
    alarms = deployment.client("cloudwatch").describe_alarms(MaxRecords=100)["MetricAlarms"]
    ours = [a for a in alarms if deployment.outputs.alarm_topic_arn in a.get("AlarmActions", [])]
    metrics = sorted((a["Namespace"], a["MetricName"]) for a in ours)
    assert metrics == sorted(
        [("AWS/Lambda", "Errors")] * 3
        + [("AWS/Lambda", "Throttles")] * 3
        + [("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    )
    dlq_name = deployment.outputs.dlq_url.rsplit("/", 1)[-1]
    [dlq_alarm] = [a for a in ours if a["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert {"Name": "QueueName", "Value": dlq_name} in dlq_alarm["Dimensions"]


def test_logs_are_json_lines_with_the_order_id(http: RecordingSession, deployment: Deployment) -> None:
    created = http.post(f"{deployment.api_url}/orders", json={"amount": 3.5, "currency": "EUR"})
    order_id = created.json()["orderId"]

    def structured(module: str) -> list[dict[str, object]]:
        lines = deployment.log_lines(deployment.function_name(module), contains=order_id)
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                continue
        return [p for p in parsed if isinstance(p, dict) and p.get("orderId") == order_id]

    accepted, _ = eventually(lambda: structured("create_order"), what="create_order log line")
    processed, _ = eventually(lambda: structured("process_order"), what="process_order log line")
    assert (
        accepted[0]["message"] == "Order accepted"
        and accepted[0]["level"] == "INFO"
        and accepted[0]["service"] == "orders"
    )
    # (a batch handed out twice, as SQS may, adds an "Order already processed" line: any order)
    assert "Order processed" in [p["message"] for p in processed], processed
    assert all("function_request_id" in p for p in processed), processed


@pytest.mark.needs("access_logs")
def test_api_access_logs_have_a_json_line_per_request(http: RecordingSession, deployment: Deployment) -> None:
    created = http.post(f"{deployment.api_url}/orders", json={"amount": 4.25, "currency": "EUR"})
    missing = http.get(f"{deployment.api_url}/orders/00000000-0000-4000-8000-000000000000")
    group = deployment.access_log_group()
    assert group == deployment.outputs.log_groups["access"]  # the output names the stage's group

    def entry(request_id: str) -> list[dict[str, object]]:
        return [json.loads(line) for line in deployment.group_lines(group, contains=request_id)]

    [accepted], _ = eventually(
        lambda: entry(created.headers["apigw-requestid"]), what="access log line of the POST"
    )
    assert accepted["routeKey"] == "POST /orders" and accepted["status"] == "202"
    assert int(str(accepted["responseLength"])) == len(created.content)
    assert str(accepted["integrationLatency"]).isdigit()
    [not_found], _ = eventually(
        lambda: entry(missing.headers["apigw-requestid"]), what="access log line of the GET"
    )
    assert not_found["routeKey"] == "GET /orders/{orderId}" and not_found["status"] == "404"


def test_the_log_group_outputs_name_where_each_function_writes(deployment: Deployment) -> None:
    for short, handler in (("create", "create_order"), ("process", "process_order"), ("get", "get_order")):
        assert deployment.log_group(deployment.function_name(handler)) == deployment.outputs.log_groups[short]


@pytest.mark.needs("console")
def test_the_console_renders_the_stack_s_dashboard_with_what_the_pipeline_did(
    http: RecordingSession, deployment: Deployment
) -> None:
    assert deployment.endpoint is not None
    for _ in range(3):
        assert (
            http.post(f"{deployment.api_url}/orders", json={"amount": 2, "currency": "EUR"}).status_code
            == 202
        )
    page_url = f"{deployment.endpoint}{DASHBOARDS_PATH}{quote(deployment.outputs.dashboard_name, safe='')}"

    def rendered() -> str | None:
        page = http.get(page_url, params={"minutes": 15})
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        text = page.text
        return text if re.search(r"OrdersAccepted: [1-9]", text) and "OrdersProcessed: " in text else None

    text, _ = eventually(rendered, what="the dashboard's Orders graph with the accepted orders")
    points = [
        point
        for chart in re.findall(r'data-chart="([^"]*)"', text)
        for line in json.loads(html.unescape(chart))["lines"]
        for point in line["points"]
    ]
    assert points  # what uPlot draws
    for title in ("API requests and errors", "Orders", "Alarms"):
        assert f"<h2>{title}</h2>" in text
    index = http.get(f"{deployment.endpoint}{CONSOLE_PATH}")
    assert index.status_code == 200 and deployment.outputs.dashboard_name in index.text
