"""`make bench`'s feature rows: each feature's cost against its neighbours, not against a run
minutes away on a VM whose speed drifts; and a target that falls behind the fixed rate measured,
not lost."""

import math
import threading
from typing import Any

import urllib3
from orders.keys import order_key

from load.bench import FEATURES_OFF, Arrivals, feature_rows, percentile, stored_in, timed_gets


def run(accepted_per_s: float, cpu_ms: float) -> dict[str, Any]:
    return {"accepted_per_s": accepted_per_s, "emulator_cpu_ms": cpu_ms / 2, "workers_cpu_ms": cpu_ms / 2}


def test_a_steady_drift_cancels_and_the_on_runs_show_the_noise() -> None:
    # the machine slows between runs (20 accepted/s fewer, 2 ms more CPU per order each time) and
    # no feature costs anything: each off run sits exactly between its neighbours
    on = [run(200 - 20 * turn, 10 + 2 * turn) for turn in range(len(FEATURES_OFF) + 1)]
    off = {feature: run(190 - 20 * turn, 11 + 2 * turn) for turn, feature in enumerate(FEATURES_OFF)}
    [noise, *rows] = feature_rows({"on": on, "off": off})

    assert (
        noise[1]
        == " / ".join(f"{200 - 20 * turn}" for turn in range(len(on)))
        + "; "
        + " / ".join(f"{10 + 2 * turn:.2f}" for turn in range(len(on)))
        + " ms"
    )
    assert [row[0].split(":")[0] for row in rows] == list(FEATURES_OFF)
    assert [row[1] for row in rows] == [  # each off run exactly as fast as its neighbours' mean
        f"{190 - 20 * turn} vs {190 - 20 * turn} (1.00); {11 + 2 * turn:.2f} vs {11 + 2 * turn:.2f} ms"
        for turn in range(len(FEATURES_OFF))
    ]
    assert [row[2] for row in rows] == [spec.target for spec in FEATURES_OFF.values()]


def test_a_feature_that_costs_shows_against_its_neighbours() -> None:
    on = [run(100, 10) for _ in range(len(FEATURES_OFF) + 1)]
    off = {feature: run(100, 10) for feature in FEATURES_OFF}
    off["X-Ray"] = run(125, 8)  # X-Ray off: a fifth faster, 2 ms less per order
    rows = dict(row[:2] for row in feature_rows({"on": on, "off": off})[1:])
    assert [value for label, value in rows.items() if label.startswith("X-Ray:")] == [
        "100 vs 125 (0.80); 10.00 vs 8.00 ms"
    ]


class SlowTable:
    """A BatchGetItem (projected on orderId, as the watch asks) that finds only the orders in `stored`."""

    def __init__(self, stored: set[str]) -> None:
        self.stored = {order_key(order_id)["PK"]: order_id for order_id in stored}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, request)] = RequestItems.items()
        keys = [key["PK"]["S"] for key in request["Keys"]]
        return {"Responses": {table: [{"orderId": {"S": self.stored[k]}} for k in keys if k in self.stored]}}


def test_orders_a_target_does_not_store_in_time_count_as_not_stored_and_as_infinitely_late() -> None:
    arrivals, posted = Arrivals(), threading.Event()
    for number in range(20):
        arrivals.sent(f"order-{number}", 0.0)
    posted.set()
    arrivals.watch(SlowTable({f"order-{number}" for number in range(18)}), "orders", posted, patience=0.2)

    latencies = arrivals.latencies()
    assert latencies.count(math.inf) == 2 and len(latencies) == 20
    assert percentile(latencies, 0.5) < math.inf and percentile(latencies, 0.95) == math.inf
    visible = {"visible_p50_ms": 12.0, "visible_p95_ms": math.inf, "not_stored": 2}
    assert stored_in(visible) == "12 / inf ms (2 not stored within 30 s)"


class StallingApi:
    """GET answers: the first order 200, the second 500, the third times out."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def request(self, method: str, url: str) -> Any:
        self.asked.append(url.rsplit("/", 1)[-1])
        if len(self.asked) == 3:
            raise urllib3.exceptions.ReadTimeoutError(None, url, "Read timed out.")  # type: ignore[arg-type]
        return type("Answer", (), {"status": 200 if len(self.asked) == 1 else 500})()


def test_gets_that_fail_are_counted_and_a_stalled_target_ends_the_series() -> None:
    api = StallingApi()
    gets, failures = timed_gets(api, "http://api", ["a", "b", "c", "d", "e"])  # type: ignore[arg-type]
    assert len(gets) == 1 and failures == ["500", "ReadTimeoutError"]
    assert api.asked == ["a", "b", "c"]  # not 30 s more per order after a timeout
