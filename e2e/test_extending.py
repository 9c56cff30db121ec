"""docs/extending.md on a running workspace: the shipped stack deployed with orders in it, then
each step of the walkthrough deployed onto it as a user does (`make deploy-local`). Every deploy
succeeds, what the step added works, the orders stay, and the grown stack ends where a fresh
deploy of the same configuration does."""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from e2e.conftest import LACKS, TARGET, RecordingSession
from e2e.stack_state import differences, observe
from e2e.waiting import eventually
from emulator.ctl import temporary_emulator
from emulator.events.schedule import FIRE_PATH
from workspace.clients import local_api_url, local_client
from workspace.deploy import DeployRequest, deploy_local, synthesize
from workspace.deployment import STACK, Outputs
from workspace.ministack import temporary_ministack

pytestmark = pytest.mark.integration

# (what the user does, the context it changes; None removes a value), in the walkthrough's order;
# the hot reload steps where the target has the hot-reload bucket
STEPS: list[tuple[str, dict[str, str | None]]] = [
    ("tune the DLQ and the functions' memory", {"maxReceiveCount": "3", "memorySize": "512"}),
    ("step 1: CancelOrder, its route and grant", {"extensionStep": "1"}),
    ("step 2: an index, ListOrders, an output", {"extensionStep": "2"}),
    ("step 3: a Cancellations table", {"extensionStep": "3"}),
    ("step 4: an alarm and a dashboard widget", {"extensionStep": "4"}),
    ("step 5: the orders table's stream runs a function", {"extensionStep": "5"}),
    ("step 6: EventBridge rules, a pattern and a schedule", {"extensionStep": "6"}),
    ("step 7: S3 notifications from a new bucket", {"extensionStep": "7"}),
    ("hot reload on", {"hotReload": "true"}),
    ("hot reload off", {"hotReload": None}),
]


@contextmanager
def fresh_target(work: Path) -> Iterator[str]:
    """A target of the suite's kind, started for this test alone (the walkthrough changes the
    stack, which the other tests share)."""
    if TARGET == "embedded":
        with temporary_emulator(work) as emulator:
            yield emulator.endpoint
    elif TARGET == "ministack":
        with temporary_ministack(work) as endpoint:
            yield endpoint
    else:
        pytest.skip(f"E2E_TARGET={TARGET}: the walkthrough needs a target it may start and change")


class Workspace:
    def __init__(self, endpoint: str, work: Path) -> None:
        self.endpoint, self.work = endpoint, work
        self.context: dict[str, str] = {}

    def deploy(self, change: dict[str, str | None]) -> Outputs:
        self.context = changed(self.context, change)
        self.outputs = deploy_local(self.request(self.context))
        return self.outputs

    def request(self, context: dict[str, str], log: str = "deploy.log") -> DeployRequest:
        return DeployRequest(
            self.endpoint, self.work / "outputs.json", log=self.work / log, progress=lambda _: None,
            context=dict(context),
        )  # fmt: skip

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint)

    def outputs_of(self, key: str) -> str:
        outputs = self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
        return next(o["OutputValue"] for o in outputs if o["OutputKey"] == key)

    @property
    def api(self) -> str:
        return local_api_url(self.endpoint, self.outputs.api_id)

    def resource(self, logical_prefix: str, resource_type: str) -> str:
        listed = self.client("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
        [found] = [
            r["PhysicalResourceId"] for r in listed
            if r["LogicalResourceId"].startswith(logical_prefix) and r["ResourceType"] == resource_type
        ]  # fmt: skip
        return found


@contextmanager
def synthesizing_ahead() -> Iterator[ThreadPoolExecutor]:
    """One synth at a time, in order; on the way out (a failed step) what has not started is dropped."""
    ahead = ThreadPoolExecutor(max_workers=1)
    try:
        yield ahead
    finally:
        ahead.shutdown(wait=True, cancel_futures=True)


def changed(context: dict[str, str], change: dict[str, str | None]) -> dict[str, str]:
    """`context` with a step's change applied (None removes a value)."""
    merged = {**context, **change}
    return {key: value for key, value in merged.items() if value is not None}


def place_order(http: RecordingSession, api: str, amount: str) -> str:
    answer = http.post(f"{api}/orders", data=f'{{"amount": {amount}, "currency": "EUR"}}',
                       headers={"content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 202, answer.text
    order_id: str = answer.json()["orderId"]
    eventually(
        lambda: http.get(f"{api}/orders/{order_id}").status_code == 200, what=f"order {order_id} stored"
    )
    return order_id


def test_the_walkthrough_grows_a_running_workspace_and_ends_where_a_fresh_deploy_does(
    tmp_path: Path, http: RecordingSession
) -> None:
    steps = [
        (name, change)
        for name, change in STEPS
        if "hotReload" not in change or "hot_reload" not in LACKS.get(TARGET, {})
    ]
    with fresh_target(tmp_path / "grown") as endpoint, synthesizing_ahead() as ahead:
        grown = Workspace(endpoint, tmp_path / "grown")
        # each step's synth runs while the steps before it deploy and are checked
        contexts: list[dict[str, str]] = [{}]
        for _, change in steps:
            contexts.append(changed(contexts[-1], change))
        synthesized = [
            ahead.submit(synthesize, grown.request(context, log="synth.log")) for context in contexts
        ]
        synthesized[0].result()
        first = grown.deploy({})
        orders = {place_order(http, grown.api, amount): Decimal(amount) for amount in ("10.5", "20", "30.25")}
        cancelled: list[str] = []

        for (name, change), synth in zip(steps, synthesized[1:], strict=True):
            synth.result()
            outputs = grown.deploy(change)
            # updated in place: the same API, queues and table, and the orders in it
            kept = (outputs.api_id, outputs.queue_url, outputs.dlq_url, outputs.table_name)
            assert kept == (first.api_id, first.queue_url, first.dlq_url, first.table_name), name
            for order_id, amount in orders.items():
                stored = http.get(f"{grown.api}/orders/{order_id}")
                assert stored.status_code == 200 and Decimal(stored.json()["amount"]) == amount, (
                    name,
                    stored.text,
                )
            orders[place_order(http, grown.api, "1")] = Decimal(1)  # the pipeline still runs
            check = CHECKS.get(name)
            if check is not None:
                check(grown, http, orders, cancelled)

        grown_state = observe(grown.client, STACK)

    if "update_equals_create" in LACKS.get(TARGET, {}):
        return
    with fresh_target(tmp_path / "fresh") as endpoint:
        fresh = Workspace(endpoint, tmp_path / "fresh")
        fresh.deploy(dict(grown.context))
        assert not differences(grown_state, observe(fresh.client, STACK)), "grown vs fresh"
        # and every trigger runs its function on the fresh deploy too
        fresh_orders = {place_order(http, fresh.api, "2"): Decimal(2)}
        for check in (_streamed, _routed, _notified):
            check(fresh, http, fresh_orders, [])


def _tuned(grown: Workspace, *_: Any) -> None:
    attributes = grown.client("sqs").get_queue_attributes(
        QueueUrl=grown.outputs.queue_url, AttributeNames=["RedrivePolicy"]
    )
    assert int(json.loads(attributes["Attributes"]["RedrivePolicy"])["maxReceiveCount"]) == 3
    name = grown.resource("FunctionsProcessOrderFunction", "AWS::Lambda::Function")
    assert grown.client("lambda").get_function_configuration(FunctionName=name)["MemorySize"] == 512


def _cancel(
    grown: Workspace, http: RecordingSession, orders: dict[str, Decimal], cancelled: list[str]
) -> None:
    order_id = next(o for o in orders if o not in cancelled)
    first = http.post(f"{grown.api}/orders/{order_id}/cancel")
    assert first.status_code == 200 and first.json()["status"] == "CANCELLED", first.text
    assert http.post(f"{grown.api}/orders/{order_id}/cancel").status_code == 409
    assert http.get(f"{grown.api}/orders/{order_id}").json()["status"] == "CANCELLED"
    cancelled.append(order_id)


def _listed(
    grown: Workspace, http: RecordingSession, orders: dict[str, Decimal], cancelled: list[str]
) -> None:
    answer = http.get(f"{grown.api}/orders", params={"currency": "EUR"})
    assert answer.status_code == 200, answer.text
    listed = [o["orderId"] for o in answer.json()["orders"]]
    assert set(orders) <= set(listed), "the index holds the orders stored before it existed"
    outputs = grown.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    assert {"OutputKey": "OrdersByCurrencyIndex", "OutputValue": "byCurrency"} in [
        {k: o[k] for k in ("OutputKey", "OutputValue")} for o in outputs
    ]


def _recorded(
    grown: Workspace, http: RecordingSession, orders: dict[str, Decimal], cancelled: list[str]
) -> None:
    _cancel(grown, http, orders, cancelled)
    table = grown.resource("ExtensionCancellationsTable", "AWS::DynamoDB::Table")
    item = (
        grown.client("dynamodb").get_item(TableName=table, Key={"orderId": {"S": cancelled[-1]}}).get("Item")
    )
    assert item is not None and item["cancelledAt"]["S"].endswith("Z")


def _monitored(grown: Workspace, *_: Any) -> None:
    alarms = grown.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert any("CancelOrderErrors" in a["AlarmName"] for a in alarms)
    body = grown.client("cloudwatch").get_dashboard(DashboardName=grown.outputs.dashboard_name)[
        "DashboardBody"
    ]
    assert '"Cancellations"' in body


def _layers(expected: bool) -> Any:
    def check(grown: Workspace, *_: Any) -> None:
        name = grown.resource("FunctionsCreateOrderFunction", "AWS::Lambda::Function")
        layers = grown.client("lambda").get_function_configuration(FunctionName=name).get("Layers", [])
        assert bool(layers) is expected, layers  # hot-reloaded functions get their packages as a layer

    return check


def activity(grown: Workspace, source: str, id_prefix: str, what: str) -> None:
    """The activity table (steps 5-7) gets the entry a trigger's invocation records."""
    table = grown.outputs_of("ActivityTableName")

    def recorded() -> bool:
        condition, values = "#s = :s", {":s": {"S": source}}
        if id_prefix:
            condition, values[":i"] = f"{condition} AND begins_with(#i, :i)", {"S": id_prefix}
        items = grown.client("dynamodb").query(
            TableName=table,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#s": "source", **({"#i": "id"} if id_prefix else {})},
            ExpressionAttributeValues=values,
        )["Items"]
        return any(item["what"]["S"] == what for item in items)

    eventually(recorded, what=f"activity {source} {id_prefix} {what}")


def _streamed(grown: Workspace, http: RecordingSession, orders: dict[str, Decimal], *_: Any) -> None:
    order_id = place_order(http, grown.api, "3")  # stored by ProcessOrder: an INSERT on the stream
    orders[order_id] = Decimal(3)
    activity(grown, "aws:dynamodb", order_id, "INSERT PROCESSED")


def _routed(grown: Workspace, *_: Any) -> None:
    events = grown.client("events")
    answer = events.put_events(
        Entries=[{"Source": "orders.shipping", "DetailType": "OrderShipped", "Detail": "{}"}]
    )
    activity(grown, "orders.shipping", answer["Entries"][0]["EventId"], "OrderShipped")
    ignored = events.put_events(
        Entries=[{"Source": "orders.billing", "DetailType": "OrderShipped", "Detail": "{}"}]
    )
    if "fire_rule" in LACKS.get(TARGET, {}):
        return
    fired = requests.post(
        f"{grown.endpoint}{FIRE_PATH}", json={"rule": grown.outputs_of("NightlyReportRule")}, timeout=30
    )
    assert fired.status_code == 200 and fired.json()["delivered"] == 1, fired.text
    activity(grown, "aws.events", "", "Scheduled Event")
    table = grown.outputs_of("ActivityTableName")
    assert "Item" not in grown.client("dynamodb").get_item(
        TableName=table,
        Key={"source": {"S": "orders.billing"}, "id": {"S": ignored["Entries"][0]["EventId"]}},
    ), "an event the pattern does not match"


def _notified(grown: Workspace, *_: Any) -> None:
    bucket = grown.outputs_of("ImportsBucketName")
    s3 = grown.client("s3")
    s3.put_object(Bucket=bucket, Key="incoming/orders 1.json", Body=b"[]")
    s3.put_object(Bucket=bucket, Key="elsewhere/orders.json", Body=b"[]")
    activity(grown, "aws:s3", f"{bucket}/incoming/orders 1.json", "ObjectCreated:Put")
    table = grown.outputs_of("ActivityTableName")
    assert "Item" not in grown.client("dynamodb").get_item(
        TableName=table, Key={"source": {"S": "aws:s3"}, "id": {"S": f"{bucket}/elsewhere/orders.json"}}
    ), "outside the notification's prefix"


CHECKS = {
    STEPS[0][0]: _tuned,
    STEPS[1][0]: _cancel,
    STEPS[2][0]: _listed,
    STEPS[3][0]: _recorded,
    STEPS[4][0]: _monitored,
    STEPS[5][0]: _streamed,
    STEPS[6][0]: _routed,
    STEPS[7][0]: _notified,
    STEPS[8][0]: _layers(True),
    STEPS[9][0]: _layers(False),
}
