"""Metric alarms evaluated as CloudWatch evaluates them, from the metrics the emulator records.

Every EVALUATE_SECONDS, each metric alarm looks at its EvaluationPeriods most recent complete
periods (aligned to multiples of Period, as CloudWatch aligns them): the statistic of each (or
missing), compared with the threshold; DatapointsToAlarm of them breaching (M of N) means ALARM;
missing data is treated as TreatMissingData says (`decide`, against CloudWatch's documented
table). A change of state is recorded with its reason (AWS's wording and reason data), goes into
the alarm's history and, when actions are enabled, is published to the state's SNS actions with
AWS's alarm notification.

Alarms on metric math (Metrics=[...]) are not evaluated: they stay as they are.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator import arns
from emulator.cloudwatch.metrics import MetricRecorder, Series, dimensions_of, statistic

log = logging.getLogger("emulator.cloudwatch")

EVALUATE_SECONDS = 5.0  # CloudWatch evaluates once a minute; locally often, so periods of 10 s are seen

COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}


def decide(
    datapoints: list[float | None],
    breaches: Callable[[float], bool],
    datapoints_to_alarm: int,
    treat_missing: str,
    current: str,
) -> str:
    """The alarm's next state from its evaluation range (None = a missing datapoint), as CloudWatch's
    table for missing data gives it."""
    present = [v for v in datapoints if v is not None]
    breaching = sum(1 for v in present if breaches(v))
    missing = len(datapoints) - len(present)
    enough = datapoints_to_alarm
    if treat_missing == "breaching":
        return "ALARM" if breaching + missing >= enough else "OK"
    if treat_missing == "notBreaching":
        return "ALARM" if breaching >= enough else "OK"
    if not present:
        return current if treat_missing == "ignore" else "INSUFFICIENT_DATA"
    if len(present) >= enough:
        return "ALARM" if breaching >= enough else "OK"
    # fewer datapoints than needed: `missing` alarms when all there are breach; `ignore` keeps
    # the state unless none breach
    if treat_missing == "ignore":
        return "OK" if breaching == 0 else current
    return "ALARM" if breaching == len(present) else "OK"


@dataclass(frozen=True)
class Datapoint:
    start: float
    value: float | None
    samples: float


def stamp(seconds: float) -> str:
    """AWS's timestamp in alarm reasons and notifications: 2026-11-25T16:51:00.000+0000."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class AlarmEvaluator:
    def __init__(
        self,
        account_id: str,
        recorder: MetricRecorder,
        publish: Callable[[str, str, str, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.recorder = recorder
        self.publish = publish or sns_publish
        self.clock = clock

    def evaluate_all(self) -> int:
        """Every metric alarm of the account evaluated now; how many changed state."""
        from moto.cloudwatch.models import cloudwatch_backends

        changed = 0
        for region, backend in list(cloudwatch_backends[self.account_id].items()):
            for alarm in list(backend.alarms.values()):
                if alarm.rule is not None or alarm.metric_data_queries:
                    continue  # composite and metric-math alarms are not evaluated locally
                try:
                    changed += self.evaluate(region, alarm)
                except Exception:  # one odd alarm must not stop the others
                    log.exception("evaluating alarm %s failed", alarm.name)
        return changed

    def datapoints(self, region: str, alarm: Any, now: float) -> list[Datapoint]:
        period = int(alarm.period)
        series = Series(
            self.account_id,
            region,
            alarm.namespace,
            alarm.metric_name,
            dimensions_of((d.name, d.value) for d in alarm.dimensions),
        )
        name = alarm.extended_statistic or alarm.statistic
        end = now - now % period  # the current period is not complete: not evaluated yet
        points = []
        for index in range(int(alarm.evaluation_periods), 0, -1):
            start = end - index * period
            buckets = self.recorder.buckets(series, start, start + period)
            points.append(Datapoint(start, statistic(buckets, name), sum(b.count for b in buckets)))
        return points

    def evaluate(self, region: str, alarm: Any) -> bool:
        """Whether the alarm changed state (and its actions ran)."""
        if alarm.comparison_operator not in COMPARISONS:
            return False  # anomaly-detection bands are not evaluated locally
        words, compare = COMPARISONS[alarm.comparison_operator]
        now = self.clock()
        points = self.datapoints(region, alarm, now)
        threshold = float(alarm.threshold)
        enough = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
        treat = alarm.treat_missing_data or "missing"
        state = decide(
            [p.value for p in points], lambda v: compare(v, threshold), enough, treat, alarm.state_value
        )
        if state == alarm.state_value:
            return False
        old = alarm.state_value
        reason = self.reason(points, alarm, words, threshold, enough, state, old)
        data = {
            "version": "1.0",
            "queryDate": stamp(now),
            "startDate": stamp(points[0].start),
            ("extendedStatistic" if alarm.extended_statistic else "statistic"): alarm.extended_statistic
            or alarm.statistic,
            "period": int(alarm.period),
            "recentDatapoints": [p.value for p in points if p.value is not None],
            "threshold": threshold,
            "evaluatedDatapoints": [
                {"timestamp": stamp(p.start), "sampleCount": p.samples, "value": p.value}
                for p in reversed(points)
                if p.value is not None
            ],
        }
        alarm.update_state(reason, json.dumps(data), state)
        log.info("alarm %s: %s -> %s (%s)", alarm.name, old, state, reason)
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }[state]
        if alarm.actions_enabled and actions:
            subject, message, text = notification(alarm, region, self.account_id, old, now)
            for action in actions:
                if action.startswith("arn:aws:sns:"):
                    self.publish(action, subject, message, text)
        return True

    @staticmethod
    def reason(
        points: list[Datapoint], alarm: Any, words: str, threshold: float, enough: int, state: str, old: str
    ) -> str:
        present = [p for p in points if p.value is not None]
        if not present and state == "INSUFFICIENT_DATA":
            return f"Insufficient Data: {len(points)} datapoints were unknown."
        if not present:  # decided by TreatMissingData alone
            n, s = len(points), "s" if len(points) > 1 else ""
            treated = "Breaching" if alarm.treat_missing_data == "breaching" else "NonBreaching"
            return (
                f"Threshold Crossed: no datapoints were received for {n} period{s} and {n} missing "
                f"datapoint{s} {'were' if n > 1 else 'was'} treated as [{treated}]."
            )
        listed = ", ".join(
            f"{p.value} ({datetime.fromtimestamp(p.start, UTC).strftime('%d/%m/%y %H:%M:%S')})"
            for p in reversed(present)
        )
        compare = COMPARISONS[alarm.comparison_operator][1]
        counted = sum(1 for p in present if p.value is not None and compare(p.value, threshold))
        verb = "was" if counted == 1 else "were"
        negation = "" if state == "ALARM" else "not "
        shown = counted if state == "ALARM" else len(present) - counted
        return (
            f"Threshold Crossed: {shown} out of the last {len(points)} datapoints [{listed}] {verb} "
            f"{negation}{words} the threshold ({threshold}) "
            f"(minimum {enough} datapoint{'s' if enough > 1 else ''} for {old} -> {state} transition)."
        )


def notification(alarm: Any, region: str, account_id: str, old: str, now: float) -> tuple[str, str, str]:
    """The subject, JSON message and email text CloudWatch publishes to an alarm's SNS actions."""
    region_name = REGION_NAMES.get(region, region)
    subject = f'{alarm.state_value}: "{alarm.name}" in {region_name}'[:100]
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description or None,
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": stamp(alarm.configuration_updated_timestamp.timestamp()),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": stamp(now),
        "Region": region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
            "Statistic": (alarm.extended_statistic or alarm.statistic).upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": int(alarm.period),
            "EvaluationPeriods": int(alarm.evaluation_periods),
            "DatapointsToAlarm": int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": float(alarm.threshold),
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
        },
    }
    return subject, json.dumps(message), email_text(message, alarm, now)


def email_text(message: dict[str, Any], alarm: Any, now: float) -> str:
    """What an email subscription receives for an alarm: CloudWatch's text, not its JSON."""
    trigger = message["Trigger"]
    when = datetime.fromtimestamp(now, UTC).strftime("%A %d %B, %Y %H:%M:%S UTC")
    dimensions = ", ".join(f"{d['name']} = {d['value']}" for d in trigger["Dimensions"])
    region = alarm.region_name
    return (
        f'You are receiving this email because your Amazon CloudWatch Alarm "{alarm.name}" in the '
        f"{message['Region']} region has entered the {message['NewStateValue']} state, because "
        f'"{message["NewStateReason"]}" at "{when}".\n\n'
        "View this alarm in the AWS Management Console:\n"
        f"https://{region}.console.aws.amazon.com/cloudwatch/deeplink.js?region={region}#alarmsV2:alarm/{alarm.name}\n\n"
        "Alarm Details:\n"
        f"- Name:                       {alarm.name}\n"
        f"- Description:                {alarm.description or ''}\n"
        f"- State Change:               {message['OldStateValue']} -> {message['NewStateValue']}\n"
        f"- Reason for State Change:    {message['NewStateReason']}\n"
        f"- Timestamp:                  {when}\n"
        f"- AWS Account:                {message['AWSAccountId']}\n"
        f"- Alarm Arn:                  {alarm.alarm_arn}\n\n"
        "Threshold:\n"
        f"- The alarm is in the ALARM state when the metric is {trigger['ComparisonOperator']} "
        f"{trigger['Threshold']} for at least {trigger['DatapointsToAlarm']} of the last "
        f"{trigger['EvaluationPeriods']} period(s) of {trigger['Period']} seconds.\n\n"
        "Monitored Metric:\n"
        f"- MetricNamespace:                     {trigger['Namespace']}\n"
        f"- MetricName:                          {trigger['MetricName']}\n"
        f"- Dimensions:                          [{dimensions}]\n"
        f"- Period:                              {trigger['Period']} seconds\n"
        f"- Statistic:                           {alarm.extended_statistic or alarm.statistic}\n"
        f"- Unit:                                {trigger['Unit'] or 'not specified'}\n"
        f"- TreatMissingData:                    {trigger['TreatMissingData']}\n\n"
        "State Change Actions:\n"
        f"- OK: [{', '.join(alarm.ok_actions)}]\n"
        f"- ALARM: [{', '.join(alarm.alarm_actions)}]\n"
        f"- INSUFFICIENT_DATA: [{', '.join(alarm.insufficient_data_actions)}]\n"
    )


def sns_publish(topic_arn: str, subject: str, message: str, text: str) -> None:
    """As CloudWatch publishes: JSON by default, its text to email subscriptions."""
    from moto.sns.models import sns_backends

    topic = arns.parse(topic_arn)
    region, account = topic.region, topic.account
    structured = json.dumps({"default": message, "email": text})
    try:
        sns_backends[account][region].publish(
            structured, arn=topic_arn, subject=subject, message_structure="json"
        )
    except Exception:  # a deleted topic: CloudWatch logs the failed action and carries on
        log.exception("alarm notification to %s failed", topic_arn)
