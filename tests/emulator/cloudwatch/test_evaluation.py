"""The alarm evaluator against CloudWatch's documented semantics: the missing-data table, M of N,
thresholds at the boundary, percentiles and period alignment; then one alarm end to end in moto."""

import json
from typing import Any

import pytest
from moto.cloudwatch.models import cloudwatch_backends

from emulator.cloudwatch.evaluation import AlarmEvaluator, decide
from emulator.cloudwatch.metrics import MetricRecorder, percentile

ACCOUNT, REGION = "000000000000", "us-east-1"


@pytest.fixture(autouse=True)
def no_alarms_from_other_tests() -> None:
    cloudwatch_backends[ACCOUNT][REGION].alarms.clear()


def points(text: str) -> list[float | None]:
    """'0 - X' -> [0.0, None, 1.0]: not breaching, missing, breaching (threshold 1, >=)."""
    return [{"0": 0.0, "X": 1.0, "-": None}[c] for c in text.split()]


def at_least_one(v: float) -> bool:
    return v >= 1


# CloudWatch's "How alarm state is evaluated when data is missing" (DatapointsToAlarm 3)
@pytest.mark.parametrize(
    ("data", "missing", "ignore", "breaching", "not_breaching"),
    [
        ("0 - X - X", "OK", "OK", "ALARM", "OK"),
        ("- - - - 0", "OK", "OK", "ALARM", "OK"),
        ("- - - - -", "INSUFFICIENT_DATA", "RETAIN", "ALARM", "OK"),
        ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
        ("- - X - -", "ALARM", "RETAIN", "ALARM", "OK"),
    ],
)
def test_missing_data_as_cloudwatch_documents_it(
    data: str, missing: str, ignore: str, breaching: str, not_breaching: str
) -> None:
    expected = {"missing": missing, "ignore": ignore, "breaching": breaching, "notBreaching": not_breaching}
    for treatment, state in expected.items():
        current = "OK" if state != "RETAIN" else "ALARM"
        want = current if state == "RETAIN" else state
        assert decide(points(data), at_least_one, 3, treatment, current) == want, treatment


@pytest.mark.parametrize(
    ("data", "m", "state"), [("X 0 X", 2, "ALARM"), ("X 0 X", 3, "OK"), ("0 0 X", 1, "ALARM")]
)
def test_m_of_n(data: str, m: int, state: str) -> None:
    assert decide(points(data), at_least_one, m, "missing", "OK") == state


def test_the_threshold_itself_breaches_only_or_equal() -> None:
    assert decide([5.0], lambda v: v >= 5, 1, "missing", "OK") == "ALARM"
    assert decide([5.0], lambda v: v > 5, 1, "missing", "OK") == "OK"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99.9) == 100.0
    assert percentile([7.0], 50) == 7.0
    assert percentile([], 95) is None


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def alarm(name: str, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "name": name,
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesVisible",
        "metric_data_queries": None,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "evaluation_periods": 2,
        "datapoints_to_alarm": None,
        "period": 60,
        "threshold": 1.0,
        "statistic": "Maximum",
        "extended_statistic": None,
        "description": "DLQ has messages",
        "dimensions": [{"Name": "QueueName", "Value": "dlq"}],
        "alarm_actions": ["arn:aws:sns:us-east-1:000000000000:alarms"],
        "ok_actions": ["arn:aws:sns:us-east-1:000000000000:alarms"],
        "insufficient_data_actions": [],
        "unit": None,
        "actions_enabled": True,
        "treat_missing_data": "notBreaching",
        "evaluate_low_sample_count_percentile": None,
        "threshold_metric_id": None,
        "rule": None,
    }
    settings.update(overrides)
    return cloudwatch_backends[ACCOUNT][REGION].put_metric_alarm(**settings)


def evaluator(
    recorder: MetricRecorder, clock: Clock
) -> tuple[AlarmEvaluator, list[tuple[str, str, str, str]]]:
    sent: list[tuple[str, str, str, str]] = []
    return AlarmEvaluator(ACCOUNT, recorder, lambda *m: sent.append(m), clock), sent


def test_periods_are_aligned_and_the_current_one_is_not_evaluated() -> None:
    clock = Clock(1_000_000_000 + 185)  # 5 s into a period of 60 (aligned to multiples of 60 since the epoch)
    recorder = MetricRecorder(clock)
    base = 1_000_000_000 - 1_000_000_000 % 60
    recorder.record(
        ACCOUNT,
        REGION,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        3,
        at=base + 70,
        dimensions={"QueueName": "dlq"},
    )
    recorder.record(
        ACCOUNT,
        REGION,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        9,
        at=clock.now - 1,
        dimensions={"QueueName": "dlq"},
    )
    evaluate, _ = evaluator(recorder, clock)
    found = evaluate.datapoints(REGION, alarm("aligned"), clock.now)
    assert [p.start % 60 for p in found] == [0, 0]
    # the two complete periods before now: the 3 in the older one, nothing in the newer one; the 9
    # is in the current, incomplete period, not evaluated yet
    assert [p.value for p in found] == [3.0, None]


def test_an_alarm_goes_off_is_told_and_recovers() -> None:
    clock = Clock(2_000_000_040.0)
    recorder = MetricRecorder(clock)
    evaluate, sent = evaluator(recorder, clock)
    dlq = alarm("DlqNotEmpty", evaluation_periods=1, period=10)
    assert dlq.state_value == "INSUFFICIENT_DATA"
    recorder.record(
        ACCOUNT,
        REGION,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        1,
        at=clock.now + 5,
        dimensions={"QueueName": "dlq"},
    )
    clock.now += 10
    assert evaluate.evaluate_all() == 1, "one alarm changed state: the emulator saves its state"
    assert dlq.state_value == "ALARM"
    assert dlq.state_reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (")
    assert "greater than or equal to the threshold (1.0)" in dlq.state_reason
    topic, subject, message, text = sent[-1]
    assert text.startswith('You are receiving this email because your Amazon CloudWatch Alarm "DlqNotEmpty"')
    assert "- State Change:               INSUFFICIENT_DATA -> ALARM" in text
    assert (topic, subject) == (
        "arn:aws:sns:us-east-1:000000000000:alarms",
        'ALARM: "DlqNotEmpty" in US East (N. Virginia)',
    )
    body = json.loads(message)
    assert (body["OldStateValue"], body["NewStateValue"], body["Trigger"]["Statistic"]) == (
        "INSUFFICIENT_DATA",
        "ALARM",
        "MAXIMUM",
    )
    assert body["Trigger"]["Dimensions"] == [{"value": "dlq", "name": "QueueName"}]
    clock.now += 10  # a period with no data: notBreaching
    evaluate.evaluate_all()
    assert dlq.state_value == "OK" and sent[-1][1].startswith('OK: "DlqNotEmpty"')
    assert dlq.state_reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was "
        "treated as [NonBreaching]."
    )
    history = [json.loads(item["HistoryData"]) for item in dlq.history]
    assert [(h["oldState"]["stateValue"], h["newState"]["stateValue"]) for h in history] == [
        ("ALARM", "OK"),
        ("INSUFFICIENT_DATA", "ALARM"),
    ]
    assert evaluate.evaluate_all() == 0
    assert len(sent) == 2, "no notification without a change of state"


def test_a_p95_alarm_reads_the_values_themselves() -> None:
    clock = Clock(3_000_000_000.0)
    recorder = MetricRecorder(clock)
    evaluate, _ = evaluator(recorder, clock)
    slow = alarm(
        "Slow", namespace="AWS/Lambda", metric_name="Duration", statistic=None, extended_statistic="p95",
        dimensions=[{"Name": "FunctionName", "Value": "f"}], evaluation_periods=1, period=10, threshold=500.0,
    )  # fmt: skip
    for value in [10.0] * 94 + [900.0] * 6:  # the average is 63 ms; the slowest 6 % take 900 ms
        recorder.record(
            ACCOUNT,
            REGION,
            "AWS/Lambda",
            "Duration",
            value,
            "Milliseconds",
            {"FunctionName": "f"},
            at=clock.now + 5,
        )
    clock.now += 10
    evaluate.evaluate_all()
    assert slow.state_value == "ALARM"
    assert json.loads(slow.state_reason_data)["extendedStatistic"] == "p95"
