"""The local console renders a deployed dashboard from what the emulator recorded: each widget in
its grid place, each metric row at its period and statistic, alarm thresholds and states, and
nothing unescaped."""

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from emulator.cloudwatch import dashboards
from emulator.cloudwatch.metrics import MetricRecorder

ACCOUNT, REGION = "123456789012", "us-east-1"
NOW = 1_800_000_000.0  # a period boundary for 60 and 300 s


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with moto.mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def body(alarm_arn: str) -> str:
    return json.dumps({"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
            "view": "timeSeries", "title": "Orders <script>alert(1)</script>", "region": REGION,
            "metrics": [["Shop", "Accepted", "service", "orders", {"stat": "Sum", "period": 60}],
                        [".", "Rejected", ".", ".", {"stat": "Sum", "period": 60, "yAxis": "right"}]],
            "annotations": {"alarms": [alarm_arn]}}},
        {"type": "metric", "x": 12, "y": 0, "width": 6, "height": 3, "properties": {
            "view": "singleValue", "title": "Latency", "metrics": [["Shop", "Latency", {"stat": "p50", "period": 300}]]}},
        {"type": "alarm", "x": 0, "y": 6, "width": 24, "height": 2, "properties": {"title": "Alarms", "alarms": [alarm_arn]}},
        {"type": "text", "x": 18, "y": 0, "width": 6, "height": 2, "properties": {"markdown": "# <b>runbook</b>"}},
        {"type": "log", "x": 0, "y": 8, "width": 24, "height": 6, "properties": {"title": "Insights", "query": "fields @message"}},
    ]})  # fmt: skip


def charts(page: str) -> list[dict[str, Any]]:
    return [json.loads(html.unescape(found)) for found in re.findall(r'data-chart="([^"]*)"', page)]


def test_a_dashboard_renders_its_widgets_from_the_recorded_metrics(cloudwatch: Any) -> None:
    cloudwatch.put_metric_alarm(AlarmName="too-many-rejected", Namespace="Shop", MetricName="Rejected",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                                ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    arn = cloudwatch.describe_alarms()["MetricAlarms"][0]["AlarmArn"]
    cloudwatch.put_dashboard(DashboardName="shop", DashboardBody=body(arn))
    recorder = MetricRecorder()
    for minute, accepted in ((-3, 4), (-2, 7), (-1, 2)):
        for _ in range(accepted):
            recorder.record(ACCOUNT, REGION, "Shop", "Accepted", 1, dimensions={"service": "orders"},
                            at=NOW + minute * 60 + 5)  # fmt: skip
    recorder.record(ACCOUNT, REGION, "Shop", "Rejected", 3, dimensions={"service": "orders"}, at=NOW - 55)
    for value in (10, 20, 30):
        recorder.record(ACCOUNT, REGION, "Shop", "Latency", value, unit="Milliseconds", at=NOW - 100)

    page = dashboards.render_dashboard(recorder, ACCOUNT, REGION, "shop", 15, now=NOW)
    assert page is not None
    assert "Accepted: 2</li>" in page and "Rejected: 3</li>" in page  # each line's latest Sum per minute
    [chart] = charts(page)  # the timeSeries widget's data, which uPlot draws in the browser
    lines = {line["label"]: line for line in chart["lines"]}
    assert [v for _, v in lines["Accepted"]["points"]] == [4, 7, 2] and lines["Accepted"]["axis"] == "left"
    assert [v for _, v in lines["Rejected"]["points"]] == [3] and lines["Rejected"]["axis"] == "right"
    assert chart["thresholds"] == [5.0]  # the alarm's threshold on the graph
    assert chart["end"] - chart["start"] == 15 * 60
    assert '<span class="value">20</span>' in page  # p50 of the latency values
    assert "<h2>Insights</h2><p>not rendered: log</p>" in page  # a kind the console cannot draw says so
    assert (
        'INSUFFICIENT_DATA</span> <a href="/_emulator/console/alarms/too-many-rejected">too-many-rejected</a>'
        in page
    )
    assert "grid-column:1 / span 12;grid-row:1 / span 6" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page and "&lt;b&gt;runbook" in page


def test_the_console_lists_dashboards_and_alarms_and_only_reads(cloudwatch: Any) -> None:
    cloudwatch.put_dashboard(DashboardName="a b", DashboardBody=json.dumps({"widgets": []}))

    def get(path: str, method: str = "GET", query: str = "") -> Any:
        environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": query}
        return dashboards.console(environ, ACCOUNT, REGION, MetricRecorder())

    index = get("/_emulator/console")
    assert index.status == 200 and 'href="/_emulator/console/dashboards/a%20b"' in index.body.decode()
    assert get("/_emulator/console/dashboards/a%20b", query="minutes=bad").status == 200
    assert get("/_emulator/console/dashboards/nope").status == 404
    assert get("/_emulator/console", method="POST").status == 405
    assert get("/elsewhere") is None
