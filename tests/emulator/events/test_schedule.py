"""Schedules fire when their expression says, from when the emulator first saw the rule: rate(...)
at each period, cron(...) at each time it names (AWS's fields, UTC); a disabled rule stays quiet."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto
import pytest

from emulator.events.schedule import Schedules, invalid, next_time

ACCOUNT, REGION = "123456789012", "us-east-1"
T0 = datetime(2026, 12, 2, 2, 58, 30, tzinfo=UTC)


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, str]]:
    with moto.mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="fired")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield boto3.client("events", region_name=REGION), sqs, url + "|" + arn


def scheduled(events: Any, queue_arn: str, name: str, expression: str) -> str:
    arn: str = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    return arn


def fired(sqs: Any, url: str) -> list[dict[str, Any]]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_next_times_of_rates_and_aws_crons() -> None:
    assert next_time("rate(5 minutes)", T0) == T0 + timedelta(minutes=5)
    assert next_time("rate(1 day)", T0) == T0 + timedelta(days=1)
    assert next_time("cron(0 3 * * ? *)", T0) == datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    # AWS's day of week: 1 is Sunday, 2 Monday (2026-12-07 is a Monday)
    assert next_time("cron(0 12 ? * 2 *)", T0) == datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert invalid("cron(0 3 * * ? *)") is None and invalid("rate(2 hours)") is None
    assert invalid("cron(99 * * * ? *)") and invalid("every day") and invalid("cron(0 3 * *)")


def test_a_rule_fires_at_each_due_time_from_when_it_was_first_seen(aws: tuple[Any, Any, str]) -> None:
    events, sqs, queue = aws
    url, arn = queue.split("|")
    rate = scheduled(events, arn, "every-five", "rate(5 minutes)")
    nightly = scheduled(events, arn, "nightly", "cron(0 3 * * ? *)")
    schedules = Schedules(ACCOUNT, REGION)
    assert schedules.tick(T0) == []  # first seen: nothing is due yet
    assert schedules.tick(T0 + timedelta(minutes=1)) == []
    assert schedules.tick(T0 + timedelta(minutes=2)) == [nightly]  # 03:00:30
    assert schedules.tick(T0 + timedelta(minutes=5)) == [rate]
    assert schedules.tick(T0 + timedelta(minutes=6)) == []
    bodies = fired(sqs, url)
    assert [b["resources"] for b in bodies] == [[nightly], [rate]]
    assert {(b["source"], b["detail-type"], json.dumps(b["detail"])) for b in bodies} == {
        ("aws.events", "Scheduled Event", "{}")
    }

    events.disable_rule(Name="every-five")
    assert schedules.tick(T0 + timedelta(minutes=10)) == []
    events.enable_rule(Name="every-five")
    assert schedules.tick(T0 + timedelta(minutes=15)) == [rate]
    # a changed expression starts over from when it was seen
    events.put_rule(Name="every-five", ScheduleExpression="rate(1 hour)")
    assert schedules.tick(T0 + timedelta(minutes=20)) == []
    assert schedules.tick(T0 + timedelta(minutes=80)) == [rate]


def test_a_schedule_s_log_group_target_gets_its_scheduled_event(aws: tuple[Any, Any, str]) -> None:
    """Targets moto delivers itself (log groups) get a firing too, not only Lambda, SQS and SNS."""
    events, _, _ = aws
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/events/nightly")
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/events/nightly"
    rule = events.put_rule(Name="nightly-log", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="nightly-log", Targets=[{"Id": "log", "Arn": group_arn}])
    schedules = Schedules(ACCOUNT, REGION)
    schedules.tick(T0)
    assert schedules.tick(T0 + timedelta(minutes=5)) == [rule]
    [logged] = [
        json.loads(e["message"]) for e in logs.filter_log_events(logGroupName="/aws/events/nightly")["events"]
    ]
    assert (logged["detail-type"], logged["resources"]) == ("Scheduled Event", [rule])
