"""The indexed SQS store keeps moto's semantics, through boto3 like any client."""

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import moto.sqs.models
import pytest

from emulator.sqs import store


@pytest.fixture
def sqs() -> Iterator[Any]:
    with moto.mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_queue(sqs: Any, name: str = "q", **attributes: str) -> str:
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[no-any-return]


def receive(
    sqs: Any, url: str, n: int = 10, visibility: int | None = None, **kw: Any
) -> list[dict[str, Any]]:
    args: dict[str, Any] = {"QueueUrl": url, "MaxNumberOfMessages": n, "AttributeNames": ["All"], **kw}
    if visibility is not None:
        args["VisibilityTimeout"] = visibility
    return sqs.receive_message(**args).get("Messages", [])  # type: ignore[no-any-return]


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )


def test_send_receive_delete_in_arrival_order(sqs: Any) -> None:
    url = make_queue(sqs)
    for i in range(25):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=f"m{i}",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": str(i)}},
        )
    assert counts(sqs, url) == (25, 0, 0)
    got = receive(sqs, url, 10, MessageAttributeNames=["All"])
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(10)]
    assert got[3]["MessageAttributes"]["n"]["StringValue"] == "3"
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert counts(sqs, url) == (15, 10, 0)
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])  # twice is fine
    assert counts(sqs, url) == (15, 0, 0)


def test_invisible_until_the_timeout_then_redelivered_with_a_higher_count(sqs: Any) -> None:
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [first] = receive(sqs, url, visibility=1)
    assert receive(sqs, url) == []
    time.sleep(1.1)
    [again] = receive(sqs, url, visibility=1)
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)


def test_change_visibility_zero_makes_it_visible_now(sqs: Any) -> None:
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [m] = receive(sqs, url, visibility=30)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert [x["Body"] for x in receive(sqs, url)] == ["x"]


def test_unknown_receipt_handle_is_an_error(sqs: Any) -> None:
    url = make_queue(sqs)
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="nope")


def test_delay_seconds(sqs: Any) -> None:
    url = make_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert counts(sqs, url) == (0, 0, 1)
    assert receive(sqs, url) == []
    time.sleep(1.1)
    assert [m["Body"] for m in receive(sqs, url)] == ["later"]


def test_redrive_after_exactly_max_receive_count(sqs: Any) -> None:
    dlq = make_queue(sqs, "dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = make_queue(
        sqs, "src", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    )
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for expected in ("1", "2", "3"):
        [m] = receive(sqs, url, visibility=0)
        assert m["Attributes"]["ApproximateReceiveCount"] == expected
    assert receive(sqs, url) == []  # the 4th receive moves it instead
    [dead] = receive(sqs, dlq)
    assert dead["Body"] == "poison"
    src_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == src_arn  # as AWS stamps it
    sqs.send_message(QueueUrl=dlq, MessageBody="sent to the DLQ directly")
    [direct] = receive(sqs, dlq, AttributeNames=["DeadLetterQueueSourceArn"])
    assert "DeadLetterQueueSourceArn" not in direct.get("Attributes", {})


def test_long_poll_wakes_on_send(sqs: Any) -> None:
    url = make_queue(sqs)
    threading.Timer(0.3, lambda: sqs.send_message(QueueUrl=url, MessageBody="late")).start()
    started = time.monotonic()
    got = receive(sqs, url, WaitTimeSeconds=10)
    assert [m["Body"] for m in got] == ["late"]
    assert time.monotonic() - started < 8  # woken by the send, not by the end of the 10 s wait


def test_purge(sqs: Any) -> None:
    url = make_queue(sqs)
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    receive(sqs, url, 2)
    sqs.purge_queue(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)


def test_concurrent_sends_and_deletes_lose_nothing(sqs: Any) -> None:
    """moto's list rebuild on delete could drop a message sent meanwhile; the store must not."""
    url = make_queue(sqs)
    sent = 400

    def producer(offset: int) -> None:
        client = boto3.client("sqs", region_name="us-east-1")
        for i in range(sent // 4):
            client.send_message(QueueUrl=url, MessageBody=str(offset + i))

    seen: set[str] = set()
    threads = [threading.Thread(target=producer, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(seen) < sent and time.monotonic() < deadline:
        for m in receive(sqs, url, 10, visibility=30):
            seen.add(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    for t in threads:
        t.join()
    assert len(seen) == sent
    assert counts(sqs, url) == (0, 0, 0)


def test_fifo_queues_keep_moto_behaviour(sqs: Any) -> None:
    url = make_queue(sqs, "f.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")  # deduplicated
    sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g")
    assert [m["Body"] for m in receive(sqs, url)] == ["a", "b"]


def test_deleted_receipt_handles_are_remembered_but_bounded(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "DELETED_HANDLES_KEPT", 5)
    url = make_queue(sqs)
    for i in range(8):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    handles = [m["ReceiptHandle"] for m in receive(sqs, url, 8)]
    for handle in handles:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])  # twice: fine, as on AWS
    queue_store = store.store_of(moto.sqs.models.sqs_backends["123456789012"]["us-east-1"].queues["q"])
    assert queue_store is not None and len(queue_store.deleted_handles) == 5
