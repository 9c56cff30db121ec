"""Least privilege, enforced: the pipeline runs on exactly the grants the stack writes, and a
grant taken away fails where AWS would fail it."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.waiting import eventually
from workspace.deployment import Deployment


@pytest.fixture
def process_order_without_put_item(deployment: Deployment) -> Iterator[str]:
    """ProcessOrder's role as if its PutItem grant had been deleted by mistake; restored afterwards."""
    iam, function = deployment.client("iam"), deployment.function_name("process_order")
    role = (
        deployment.client("lambda")
        .get_function(FunctionName=function)["Configuration"]["Role"]
        .rsplit("/", 1)[-1]
    )
    originals: dict[str, Any] = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        originals[name] = document
        kept = [s for s in document["Statement"] if "dynamodb:PutItem" not in json.dumps(s)]
        iam.put_role_policy(
            RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": kept})
        )
    try:
        yield function
    finally:
        for name, document in originals.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


@pytest.mark.needs("iam_enforcement")
def test_a_missing_grant_fails_the_write_and_the_order_goes_to_the_dlq(
    deployment: Deployment, process_order_without_put_item: str, http: Any
) -> None:
    answer = http.post(f"{deployment.api_url}/orders", json={"amount": 3, "currency": "EUR"})
    assert answer.status_code == 202
    order_id = answer.json()["orderId"]

    def denied_in_the_log() -> list[str]:
        return [
            line
            for line in deployment.log_lines(process_order_without_put_item, contains=order_id)
            if "AccessDeniedException" in line
        ]

    (lines, _) = eventually(denied_in_the_log, timeout=30, what="the denial in ProcessOrder's log")
    assert "is not authorized to perform: dynamodb:PutItem" in lines[0]
    sqs = deployment.client("sqs")

    def in_dlq() -> bool:
        got = sqs.receive_message(
            QueueUrl=deployment.outputs.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return any(order_id in m["Body"] for m in got.get("Messages", []))

    eventually(in_dlq, timeout=120, every=1, what="the unstored order in the DLQ")
    assert deployment.order_items(order_id) == [], "nothing was written without the grant"
