"""Recorded metrics answer moto's CloudWatch queries; embedded-metric-format lines become metrics."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from moto.cloudwatch.models import cloudwatch_backends

from emulator.cloudwatch import emf
from emulator.cloudwatch.metrics import KEPT_SECONDS, MetricRecorder, Series, statistic

ACCOUNT, REGION = "000000000000", "eu-west-1"

# What Powertools Metrics prints (one line per flush)
POWERTOOLS_LINE = json.dumps(
    {
        "_aws": {
            "Timestamp": 1764088800000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "OrdersPipeline",
                    "Dimensions": [["service"]],
                    "Metrics": [
                        {"Name": "OrdersAccepted", "Unit": "Count"},
                        {"Name": "Amount", "Unit": "None"},
                    ],
                }
            ],
        },
        "service": "orders",
        "OrdersAccepted": [1.0, 1.0],
        "Amount": 10.5,
    }
)


def test_powertools_lines_become_metrics() -> None:
    found = emf.metrics_of(POWERTOOLS_LINE)
    assert [(m.namespace, m.name, m.values, m.unit, m.dimensions) for m in found] == [
        ("OrdersPipeline", "OrdersAccepted", (1.0, 1.0), "Count", (("service", "orders"),)),
        ("OrdersPipeline", "Amount", (10.5,), "None", (("service", "orders"),)),
    ]
    assert found[0].timestamp_ms == 1764088800000


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"_aws": 1', "not JSON"),
        ('{"_aws": {"Timestamp": 1}}', "CloudWatchMetrics must be a list"),
        ('{"_aws": {"CloudWatchMetrics": [{"Metrics": []}]}}', "Namespace"),
        (
            '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "M"}]}]}, "M": 1}',
            "dimension 'service'",
        ),
        (
            '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "M"}]}]}, "M": "many"}',
            "needs a number",
        ),
    ],
)
def test_broken_emf_lines_say_why(line: str, why: str) -> None:
    with pytest.raises(emf.NotEmf, match=why):
        emf.metrics_of(line)


def test_recorded_values_answer_get_metric_statistics_and_list_metrics() -> None:
    recorder = MetricRecorder()
    now = datetime.now(UTC).timestamp()
    for value in (5.0, 1.0, 3.0):
        recorder.record(
            ACCOUNT, REGION, "AWS/Lambda", "Duration", value, "Milliseconds", {"FunctionName": "f"}, at=now
        )
    backend = cloudwatch_backends[ACCOUNT][REGION]
    start, end = datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1)
    answer = backend.get_metric_statistics(
        "AWS/Lambda", "Duration", start.replace(tzinfo=None), end.replace(tzinfo=None), 120,
        ["Sum", "SampleCount", "Minimum", "Maximum"], dimensions=[{"Name": "FunctionName", "Value": "f"}],
    )  # fmt: skip
    assert [(s.sum, s.sample_count, s.minimum, s.maximum) for s in answer] == [(9.0, 3, 1.0, 5.0)]
    assert ("AWS/Lambda", "Duration") in {(m.namespace, m.name) for m in backend.get_all_metrics()}


def test_a_state_reset_starts_the_series_afresh() -> None:
    recorder = MetricRecorder()
    series = Series(ACCOUNT, REGION, "AWS/SQS", "NumberOfMessagesSent", (("QueueName", "q"),))
    recorder.record(
        ACCOUNT, REGION, "AWS/SQS", "NumberOfMessagesSent", 1, dimensions={"QueueName": "q"}, at=100
    )
    cloudwatch_backends[ACCOUNT][REGION].reset()  # what /moto-api/reset does
    recorder.record(
        ACCOUNT, REGION, "AWS/SQS", "NumberOfMessagesSent", 1, dimensions={"QueueName": "q"}, at=200
    )
    assert statistic(recorder.buckets(series, 0, 1000), "Sum") == 1.0
    assert len(cloudwatch_backends[ACCOUNT][REGION].metric_data) == 1


def test_old_buckets_are_dropped_here_and_in_moto() -> None:
    recorder = MetricRecorder()
    series = Series(ACCOUNT, REGION, "AWS/SQS", "Old", ())
    recorder.record(ACCOUNT, REGION, "AWS/SQS", "Old", 1, at=1000)
    recorder.prune(1000 + KEPT_SECONDS + 20)
    assert recorder.buckets(series, 0, 10**10) == []
    assert not [d for d in cloudwatch_backends[ACCOUNT][REGION].metric_data if d.name == "Old"]
