"""`make load` touches only what it created: its own poison leaves the DLQ, nothing else does."""

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from orders.keys import order_key

from load.ledger import RUN_MARKER, Ledger
from load.run import check_thresholds, reconcile, sweep_dlq
from workspace.deployment import Deployment, Outputs


@pytest.fixture
def sqs() -> Iterator[Any]:
    with moto.mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def poison(sqs: Any, url: str, run: str, body: str) -> None:
    marker = {RUN_MARKER: {"DataType": "String", "StringValue": run}}
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=marker)


def test_the_sweep_removes_this_runs_poison_and_leaves_everything_else_visible(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for i in range(12):  # more than one receive's worth of the user's own dead letters
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"orderId": f"user-{i}"}))
    poison(sqs, url, "steady-1", "poison-of-another-run")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"orderId": "ours"}))
    for i in range(3):
        poison(sqs, url, "steady-2", f"poison-{i}")

    sweep = sweep_dlq(sqs, url, "steady-2", accepted={"ours"})

    assert sweep.removed == {"poison-0", "poison-1", "poison-2"}
    assert sweep.accepted_orders == ["ours"]
    assert sweep.left == 13
    remaining = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert remaining["ApproximateNumberOfMessages"] == "14"  # visible again at once, none deleted
    assert remaining["ApproximateNumberOfMessagesNotVisible"] == "0"


def args(**overrides: Any) -> argparse.Namespace:
    values = {"scenario": "steady", "max_failure_ratio": 0.0, "post_p95_ms": 1000.0, "visible_p95_ms": 3000.0}
    return argparse.Namespace(**{**values, **overrides})


def row(name: str, count: int = 100, failed: int = 0, p95: float | None = 50.0) -> dict[str, Any]:
    return {"type": "X", "name": name, "count": count, "failed": failed, "p50": p95, "p95": p95, "rps": 10.0}


PASSING = [row("POST /orders"), row("order visible", p95=400.0)]


@pytest.mark.parametrize(
    ("stats", "options", "problem"),
    [
        (PASSING, {}, None),
        ([row("POST /orders", p95=1500.0), row("order visible")], {}, "POST /orders p95 1500 ms > 1000 ms"),
        ([row("POST /orders"), row("order visible", p95=3001.0)], {}, "order visible p95 3001 ms > 3000 ms"),
        ([row("POST /orders", failed=1), row("order visible")], {}, "failure ratio 0.0050 > 0.0"),
        ([row("POST /orders", failed=1), row("order visible")], {"max_failure_ratio": 0.01}, None),
        ([row("POST /orders")], {}, "order visible: not measured (no successful request)"),
        ([row("POST /orders"), row("order visible", p95=None)], {}, "order visible: not measured"),
        ([], {}, "no requests were made"),
        ([row("GET /orders/{id} (known)")], {"scenario": "read_heavy"}, None),
    ],
)
def test_thresholds(stats: list[dict[str, Any]], options: dict[str, Any], problem: str | None) -> None:
    problems = check_thresholds(stats, args(**options))
    if problem is None:
        assert problems == []
    else:
        assert any(p.startswith(problem) for p in problems), problems


def test_reconciliation_names_every_loss(sqs: Any, tmp_path: Path) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    queue, dlq = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("q", "dlq"))
    outputs = Outputs("", "api", queue, dlq, "t", "", "", {})
    deployment = Deployment("test", outputs, "http://api")
    stored, lost, dead = "stored-order", "lost-order", "dead-order"
    dynamodb.put_item(TableName="t", Item={k: {"S": v} for k, v in order_key(stored).items()})
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"orderId": dead}))
    poison(sqs, dlq, "run-1", "poison-arrived")
    ledger = Ledger(str(tmp_path / "ledger.jsonl"))
    record = [("accepted", stored), ("accepted", lost), ("accepted", dead)]
    for kind, value in [*record, ("poison", "poison-arrived"), ("poison", "poison-lost")]:
        ledger.write(kind, value)

    result = reconcile(deployment, tmp_path / "ledger.jsonl", "run-1", drain_timeout=0.1)

    assert sorted(p.split(" ", 2)[1] for p in result.problems) == ["accepted", "accepted", "injected"]
    assert "2 accepted order(s) not stored" in result.problems[0]
    assert "1 injected poison message(s) not in the DLQ" in result.problems[1]
    assert f"1 accepted order(s) dead-lettered (left in the DLQ), e.g. ['{dead}']" == result.problems[2]
