"""The operational loop: AWS's metrics for what the pipeline did, a poison message driving the DLQ
alarm to ALARM and its email into the mailbox, back to OK once the DLQ is empty; a function error
driving its Errors alarm."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.waiting import eventually
from workspace.deployment import Deployment
from workspace.mail import confirm_subscription, mails


def statistic_sum(deployment: Deployment, namespace: str, name: str, dimensions: dict[str, str]) -> float:
    now = datetime.now(UTC)
    answer = deployment.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in answer["Datapoints"]))


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@pytest.mark.needs("aws_metrics")
def test_aws_metrics_count_what_the_pipeline_did(deployment: Deployment, http: Any) -> None:
    create = deployment.function_name("create_order")
    queue = queue_name(deployment.outputs.queue_url)
    before = (
        statistic_sum(deployment, "AWS/Lambda", "Invocations", {"FunctionName": create}),
        statistic_sum(deployment, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": queue}),
    )
    for _ in range(3):
        assert (
            http.post(f"{deployment.api_url}/orders", json={"amount": 5, "currency": "EUR"}).status_code
            == 202
        )

    def counted() -> bool:
        now = (
            statistic_sum(deployment, "AWS/Lambda", "Invocations", {"FunctionName": create}),
            statistic_sum(deployment, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": queue}),
        )
        return now[0] >= before[0] + 3 and now[1] >= before[1] + 3

    eventually(counted, timeout=30, what="3 invocations and 3 messages sent in the metrics")


@pytest.mark.needs("emf_metrics")
def test_the_functions_own_metrics_are_extracted_from_their_logs(deployment: Deployment, http: Any) -> None:
    assert http.post(f"{deployment.api_url}/orders", json={"amount": 5, "currency": "EUR"}).status_code == 202
    eventually(
        lambda: statistic_sum(deployment, "OrdersPipeline", "OrdersAccepted", {"service": "orders"}) > 0,
        timeout=30,
        what="OrdersAccepted in CloudWatch",
    )


def drain(deployment: Deployment, url: str) -> None:
    """Receive and delete until the queue is empty (PurgeQueue may run once a minute only)."""
    sqs = deployment.client("sqs")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def alarm_on(deployment: Deployment, metric: str, dimension: str) -> dict[str, Any]:
    alarms = deployment.client("cloudwatch").describe_alarms()["MetricAlarms"]
    return next(a for a in alarms if a["MetricName"] == metric and a["Dimensions"][0]["Value"] == dimension)


def state(deployment: Deployment, name: str) -> str:
    return str(
        deployment.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]
    )


def alarm_mail(deployment: Deployment, address: str, subject_start: str) -> dict[str, Any] | None:
    """The newest alarm notification to `address` whose subject starts so (email-json: the JSON)."""
    assert deployment.mailbox is not None
    for mail in reversed(mails(deployment.mailbox, address)):
        if mail.subject.startswith(subject_start):
            return json.loads(json.loads(mail.body())["Message"])
    return None


@pytest.mark.needs("alarms")
@pytest.mark.needs("mailbox")
def test_a_poison_message_alarms_someone_by_email_and_the_alarm_clears(deployment: Deployment) -> None:
    assert deployment.mailbox is not None
    sqs, sns = deployment.client("sqs"), deployment.client("sns")
    sqs.purge_queue(
        QueueUrl=deployment.outputs.dlq_url
    )  # this throwaway deployment's DLQ, from a clean start
    dlq = alarm_on(deployment, "ApproximateNumberOfMessagesVisible", queue_name(deployment.outputs.dlq_url))
    name = dlq["AlarmName"]
    eventually(lambda: state(deployment, name) == "OK", timeout=60, what=f"{name} OK before the test")
    address = f"oncall-{uuid.uuid4().hex[:8]}@example.com"
    topic = deployment.outputs.alarm_topic_arn
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=address)
    eventually(
        lambda: "confirmed through the link" in confirm_subscription(sns, topic, address, deployment.mailbox),  # type: ignore[arg-type]
        timeout=10,
        what=f"{address} confirmed",
    )

    sent = time.monotonic()
    sqs.send_message(QueueUrl=deployment.outputs.queue_url, MessageBody=f"poison-{uuid.uuid4()}")
    eventually(lambda: state(deployment, name) == "ALARM", timeout=90, every=1, what=f"{name} in ALARM")
    notice, _ = eventually(
        lambda: alarm_mail(deployment, address, f'ALARM: "{name}"'), timeout=30, what="the alarm email"
    )
    print(f"poison message -> alarm email in {time.monotonic() - sent:.1f}s")
    assert (notice["AlarmName"], notice["NewStateValue"]) == (name, "ALARM")
    assert notice["Trigger"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert notice["NewStateReason"].startswith("Threshold Crossed")

    drain(deployment, deployment.outputs.dlq_url)  # as the runbook's redrive empties it
    eventually(lambda: state(deployment, name) == "OK", timeout=60, every=1, what=f"{name} back to OK")
    eventually(lambda: alarm_mail(deployment, address, f'OK: "{name}"'), timeout=30, what="the OK email")


@pytest.mark.needs("alarms")
def test_a_function_error_drives_its_errors_alarm(deployment: Deployment) -> None:
    process = deployment.function_name("process_order")
    name = alarm_on(deployment, "Errors", process)["AlarmName"]
    deployment.client("lambda").invoke(FunctionName=process, Payload=json.dumps({"Records": "not a list"}))
    eventually(lambda: state(deployment, name) == "ALARM", timeout=60, every=1, what=f"{name} in ALARM")
