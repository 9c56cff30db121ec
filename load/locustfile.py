"""Locust scenarios for the orders API, on any target (LOAD_* variables are set by `make load`).

  SteadyUser    POST an order, then poll GET until it is visible ("order visible" metric)
  ReadUser      GETs of known orders, plus unknown ids that must answer 404
  PoisonUser    drops a poison message straight into OrdersQueue now and then (poison_mix)

Accepted order ids and injected poison messages are written to LOAD_LEDGER for reconciliation;
each poison message carries the run's id (LOAD_RUN) as its `LoadRun` attribute, so the run removes
only its own from the DLQ. Locust's final statistics go to LOAD_STATS when it quits (its CSVs are
written every few seconds and miss the last ones).
"""

import json
import os
import random
import time
import uuid
from typing import Any

from locust import HttpUser, between, constant_pacing, events, task
from locust.env import Environment

from load.ledger import RUN_MARKER, Ledger

ORDER_BODIES = [
    ('{"amount": 99.99, "currency": "EUR"}', "99.99"),
    ('{"amount": 5000, "currency": "JPY"}', "5000"),
    ('{"amount": 12.345, "currency": "KWD"}', "12.345"),
    ('{"amount": 0.01, "currency": "USD"}', "0.01"),
]
VISIBLE_TIMEOUT_S = float(os.environ.get("LOAD_VISIBLE_TIMEOUT", "30"))
POLL_EVERY_S = 0.05


LEDGER = Ledger(os.environ.get("LOAD_LEDGER"))
KNOWN_IDS: list[str] = []


class SteadyUser(HttpUser):
    wait_time = between(0.05, 0.2)

    @task
    def create_and_wait_until_visible(self) -> None:
        body, digits = random.choice(ORDER_BODIES)  # noqa: S311 - load shape, not security
        sent = time.perf_counter()
        with self.client.post(
            "/orders",
            data=body,
            headers={"content-type": "application/json"},
            name="POST /orders",
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            order_id = response.json()["orderId"]
        LEDGER.write("accepted", order_id)
        while time.perf_counter() - sent < VISIBLE_TIMEOUT_S:
            with self.client.get(
                f"/orders/{order_id}", name="GET /orders/{id} (poll)", catch_response=True
            ) as poll:
                if poll.status_code == 200:
                    if f'"amount":{digits},' not in poll.text.replace(" ", ""):
                        poll.failure(f"amount changed: sent {digits}, got {poll.text[:200]}")
                        return
                    poll.success()
                    KNOWN_IDS.append(order_id)
                    self._visible(sent, None)
                    return
                if poll.status_code == 404:
                    poll.success()  # not processed yet: expected while polling
                else:
                    poll.failure(f"{poll.status_code}: {poll.text[:200]}")
                    return
            time.sleep(POLL_EVERY_S)
        self._visible(sent, TimeoutError(f"order {order_id} not visible within {VISIBLE_TIMEOUT_S:.0f}s"))

    def _visible(self, sent: float, error: Exception | None) -> None:
        events.request.fire(
            request_type="ORDER",
            name="order visible",
            response_time=(time.perf_counter() - sent) * 1000,
            response_length=0,
            exception=error,
            context={},
        )


class ReadUser(HttpUser):
    wait_time = between(0.01, 0.05)

    def on_start(self) -> None:
        # A few orders of our own to read, so the scenario works on a fresh deployment too.
        for _ in range(3):
            response = self.client.post(
                "/orders", json={"amount": 1.5, "currency": "EUR"}, name="POST /orders (seed)"
            )
            if response.status_code == 202:
                order_id = response.json()["orderId"]
                LEDGER.write("accepted", order_id)
                KNOWN_IDS.append(order_id)

    @task(4)
    def read_known(self) -> None:
        if not KNOWN_IDS:
            return
        order_id = random.choice(KNOWN_IDS)  # noqa: S311
        with self.client.get(
            f"/orders/{order_id}", name="GET /orders/{id} (known)", catch_response=True
        ) as response:
            if response.status_code in (200, 404):  # 404 only while a seed order is still in the queue
                response.success()

    @task(1)
    def read_unknown(self) -> None:
        with self.client.get(
            f"/orders/{uuid.uuid4()}", name="GET /orders/{id} (unknown)", catch_response=True
        ) as response:
            if response.status_code == 404:
                response.success()
            else:
                response.failure(f"expected 404, got {response.status_code}")


class PoisonUser(HttpUser):
    """Sends a poison message straight to the queue every few seconds (not through the API)."""

    wait_time = constant_pacing(float(os.environ.get("LOAD_POISON_EVERY", "5")))
    weight = 1

    def on_start(self) -> None:
        import boto3

        endpoint = os.environ.get("LOAD_AWS_ENDPOINT") or None
        credentials: dict[str, Any] = (
            {"aws_access_key_id": "test", "aws_secret_access_key": "test"} if endpoint else {}
        )
        self.sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            **credentials,
        )
        self.queue_url = os.environ["LOAD_QUEUE_URL"]

    @task
    def inject_poison(self) -> None:
        body = f"poison-{uuid.uuid4()}"
        started = time.perf_counter()
        error: Exception | None = None
        try:
            self.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=body,
                MessageAttributes={
                    RUN_MARKER: {"DataType": "String", "StringValue": os.environ.get("LOAD_RUN", "")}
                },
            )
            LEDGER.write("poison", body)
        except Exception as exc:  # reported as a failed request, never hidden
            error = exc
        events.request.fire(
            request_type="SQS", name="send poison", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=error, context={},
        )  # fmt: skip


@events.quitting.add_listener
def write_final_stats(environment: Environment, **_: Any) -> None:
    """Every request type's final figures, as Locust computes them, for `make load`'s summary."""
    path = os.environ.get("LOAD_STATS")
    if not path or environment.stats is None:
        return
    rows = [
        {
            "type": entry.method,
            "name": entry.name,
            "count": entry.num_requests,
            "failed": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.5) if entry.num_requests else None,
            "p95": entry.get_response_time_percentile(0.95) if entry.num_requests else None,
            "rps": entry.total_rps,
        }
        for entry in environment.stats.entries.values()
    ]
    with open(path, "w") as handle:
        json.dump(rows, handle)
