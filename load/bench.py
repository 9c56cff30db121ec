"""`make bench`: measure the embedded emulator and print the numbers (never a pass/fail test).

Measures, on this machine, in one run, on an emulator configured as `make up` runs it (state saved,
IAM enforced, metrics, alarms, access logs, X-Ray on every request, its threads on one CPU):
  start -> healthy, `deploy-local` time, accepted/s and persisted/s at fixed concurrency with POST
  p50/p95 and the CPU each order costs the emulator, its Lambda workers (and of that the functions' own
  code) and the load generator,
  POST -> stored p50/p95 at a fixed request rate (then up to 200 of them read one at a time through GET), and
  a 20,000-order memory soak and the stop time at that heap, the throughput run again on fresh
  emulators with one feature off per row, each between two with every feature on (FEATURES_OFF:
  each feature's cost against its neighbours), the same round trips and throughput
  on ministack (ratios), and SQS drain rates with 100 vs 10,000 queued messages, for the emulator
  and, as the baseline, plain moto server (which cannot run the stack: its Lambda needs Docker).
  Writes .local/bench.json.
"""

import argparse
import json
import math
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import psutil
import requests
import urllib3
from orders.keys import order_key

from emulator.ctl import free_port, stop_child, temporary_emulator
from emulator.settings import LOCAL
from workspace.clients import local_api_url, local_client
from workspace.deploy import DeployRequest, deploy_local
from workspace.deployment import Deployment
from workspace.ministack import temporary_ministack

ORDER = '{"amount": 10.5, "currency": "EUR"}'
JSON = {"content-type": "application/json"}
GETS_TIMED = 200
STORED_WITHIN_S = 30.0  # after the last POST's answer: an order not stored by then counts as not stored


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def say(text: str) -> None:
    print(text, flush=True)


def run_clients(client: Any, clients: int) -> float:
    """`clients` threads each running `client` to its end; the seconds they took together."""
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def post_order(pool: Any, url: str) -> tuple[str, Any]:
    """One POST of an order through a urllib3 pool or connection: the answer's status ("202",
    "502", ...) and the answer, or the client error's name and None (a timeout, a reset)."""
    try:
        response = pool.request("POST", url, body=ORDER, headers=JSON)
    except urllib3.exceptions.HTTPError as error:
        return type(error).__name__, None
    return str(response.status), response


def throughput(deployment: Deployment, clients: int, orders: int) -> dict[str, Any]:
    api = deployment.api_url
    latencies: list[float] = []
    refused: list[str] = []  # POSTs not accepted: counted, the rates are of accepted orders
    per_client = orders // clients
    path = f"{urllib3.util.parse_url(api).path or ''}/orders"

    def client() -> None:
        # urllib3 rather than requests: a third of the CPU per POST, which is CPU the pipeline
        # under test gets instead (the load generator shares this machine's cores with it).
        connection = urllib3.connection_from_url(api, maxsize=1, retries=False, timeout=30)
        for _ in range(per_client):
            started = time.perf_counter()
            status, response = post_order(connection, path)
            if response is not None:
                latencies.append(time.perf_counter() - started)
            if status != "202":
                refused.append(status)
        connection.close()

    before = stored_orders(deployment)
    started = time.perf_counter()
    accepted_in = run_clients(client, clients)
    accepted = per_client * clients - len(refused)
    # Counting scans the whole table, which is heavy in moto, so it waits for the queue to be empty.
    while deployment.messages_in_queue() or stored_orders(deployment) - before < accepted:
        if time.perf_counter() - started > 300:
            raise RuntimeError("orders not all persisted within 300 s")
        time.sleep(0.05)
    persisted_in = time.perf_counter() - started
    return {
        "orders": per_client * clients,
        "clients": clients,
        "posts_not_accepted": len(refused),
        "accepted_per_s": accepted / accepted_in,
        "persisted_per_s": accepted / persisted_in,
        "post_p50_ms": percentile(latencies, 0.5) * 1000,
        "post_p95_ms": percentile(latencies, 0.95) * 1000,
    }


def overload(deployment: Deployment, clients: int, seconds: float) -> dict[str, Any]:
    """Closed-loop clients far beyond the functions' workers for `seconds`: what is accepted must
    all be stored, none dead-lettered; the rest may be refused (429), never lost."""
    api = deployment.api_url
    path = f"{urllib3.util.parse_url(api).path or ''}/orders"
    accepted: list[str] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        connection = urllib3.connection_from_url(api, maxsize=1, retries=False, timeout=60)
        while time.perf_counter() < stop_at:
            status, response = post_order(connection, path)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "202":
                    accepted.append(json.loads(response.data)["orderId"])
        connection.close()

    dlq_before = _visible(deployment, deployment.outputs.dlq_url)
    elapsed = run_clients(client, clients)
    deadline = time.perf_counter() + 120
    while deployment.messages_in_queue() and time.perf_counter() < deadline:
        time.sleep(0.2)
    dynamodb, table = deployment.client("dynamodb"), deployment.outputs.table_name
    stored = 0
    for chunk in range(0, len(accepted), 100):
        keys = [{n: {"S": v} for n, v in order_key(i).items()} for i in accepted[chunk : chunk + 100]]
        stored += len(dynamodb.batch_get_item(RequestItems={table: {"Keys": keys}})["Responses"][table])
    return {
        "clients": clients,
        "requests_per_s": sum(statuses.values()) / elapsed,
        "accepted_per_s": len(accepted) / elapsed,
        "accepted": len(accepted),
        "missing_from_table": len(accepted) - stored,
        "dead_lettered": _visible(deployment, deployment.outputs.dlq_url) - dlq_before,
        "statuses": statuses,
    }


def _visible(deployment: Deployment, queue_url: str) -> int:
    attributes = deployment.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


class CpuMeter:
    """CPU seconds used by the emulator process, its Lambda workers (of which the functions' own
    code, as the emulator counts it) and this load generator."""

    def __init__(self, emulator_pid: int, endpoint: str) -> None:
        self.emulator = psutil.Process(emulator_pid)
        self.endpoint = endpoint

    def sample(self) -> dict[str, float]:
        def cpu(process: psutil.Process) -> float:
            try:
                times = process.cpu_times()
            except psutil.Error:  # a worker that just ended
                return 0.0
            return float(times.user + times.system)

        functions = requests.get(f"{self.endpoint}/_emulator/lambda/cpu", timeout=10).json()["functions"]
        return {
            "emulator": cpu(self.emulator),
            "workers": sum(cpu(child) for child in self.emulator.children(recursive=True)),
            "functions": sum(used["cpuSeconds"] for used in functions.values()),
            "load_generator": cpu(psutil.Process()),
        }


def cpu_per_order(before: dict[str, float], after: dict[str, float], orders: int) -> dict[str, float]:
    """Milliseconds of CPU per order; workers that ended during the run are not counted."""
    per_order = {f"{name}_cpu_ms": (after[name] - before[name]) * 1000 / orders for name in before}
    emulator, workers, functions, load = (
        per_order[f"{name}_cpu_ms"] for name in ("emulator", "workers", "functions", "load_generator")
    )
    # The emulator is one process, so one core: this is its ceiling on any machine.
    per_order["emulator_ceiling_per_s"] = 1000 / emulator
    # Every core busy with nothing but orders: what this machine could reach at most, and what it
    # could reach if the emulator and the worker processes around the functions cost nothing (the
    # functions' own code and the load generator alone).
    cores = psutil.cpu_count() or 1
    per_order["machine_ceiling_per_s"] = cores * 1000 / (emulator + workers + load)
    per_order["functions_only_ceiling_per_s"] = cores * 1000 / (functions + load)
    return per_order


class Arrivals:
    """When each accepted order was sent, and how long it took to be in the table."""

    def __init__(self) -> None:
        self.sent_at: dict[str, float] = {}
        self.visible: dict[str, float] = {}
        self.lock = threading.Lock()

    def sent(self, order_id: str, at: float) -> None:
        with self.lock:
            self.sent_at[order_id] = at

    def watch(
        self, dynamodb: Any, table: str, posted: threading.Event, patience: float = STORED_WITHIN_S
    ) -> None:
        """Until every order sent is in the table, or `patience` seconds after every POST answered
        (a target that falls behind the rate: what it stored by then is its figure): every 10 ms,
        one BatchGetItem per 100 orders not seen yet."""
        deadline = None
        while True:
            with self.lock:
                waiting = [order_id for order_id in self.sent_at if order_id not in self.visible]
            if not waiting and posted.is_set():
                return
            if deadline is None and posted.is_set():
                deadline = time.perf_counter() + patience
            if deadline is not None and time.perf_counter() > deadline:
                return
            for chunk in range(0, len(waiting), 100):
                keys = [
                    {name: {"S": value} for name, value in order_key(i).items()}
                    for i in waiting[chunk : chunk + 100]
                ]
                found = dynamodb.batch_get_item(
                    RequestItems={table: {"Keys": keys, "ProjectionExpression": "orderId"}}
                )["Responses"].get(table, [])
                now = time.perf_counter()
                with self.lock:
                    for item in found:
                        order_id = item["orderId"]["S"]
                        self.visible[order_id] = now - self.sent_at[order_id]
            time.sleep(0.01)

    def latencies(self) -> list[float]:
        """POST -> stored of each order sent; infinite for one not stored (the watch gave up)."""
        with self.lock:
            return [self.visible.get(order_id, math.inf) for order_id in self.sent_at]


def timed_gets(http: urllib3.PoolManager, api: str, order_ids: list[str]) -> tuple[list[float], list[str]]:
    """GET one at a time, as a user reads an order: each round trip, not a queue of reads. The
    times of the answers 200, and the failures: other answers, and a client error (a timeout, a
    reset), which ends the series: a target that stalls would take 30 s per GET."""
    gets: list[float] = []
    failures: list[str] = []
    for order_id in order_ids:
        sent = time.perf_counter()
        try:
            response = http.request("GET", f"{api}/orders/{order_id}")
        except urllib3.exceptions.HTTPError as error:
            failures.append(type(error).__name__)
            break
        if response.status == 200:
            gets.append(time.perf_counter() - sent)
        else:
            failures.append(str(response.status))
    return gets, failures


def visible_latency(deployment: Deployment, rate: float, seconds: float) -> dict[str, Any]:
    """Open loop: POST at `rate`/s; POST sent -> the order is in the table, then GET shows it.

    One observer looks every 10 ms for all orders not yet seen, with one BatchGetItem per 100
    (what GET /orders/{id} reads). Polling each order through GET every 100 ms instead cost up
    to three GETs per order (~5 ms of CPU each, function included): on 2 cores that load alone
    could tip the machine into overload, and the benchmark then measured itself. Then up to
    GETS_TIMED orders are read one at a time through GET /orders/{id}, which must answer 200."""
    api, table = deployment.api_url, deployment.outputs.table_name
    dynamodb = deployment.client("dynamodb")
    http = urllib3.PoolManager(maxsize=64, retries=False, timeout=30)
    arrivals = Arrivals()
    posts: list[float] = []
    posted = threading.Event()  # every POST answered
    failures: list[Exception] = []
    refused: list[str] = []  # POSTs not accepted: a figure of the target, not a reason to stop

    def post() -> None:
        sent = time.perf_counter()
        status, response = post_order(http, f"{api}/orders")
        if response is not None:
            posts.append(time.perf_counter() - sent)
        if status != "202":
            detail = f": {response.data.decode(errors='replace')[:100]}" if response is not None else ""
            refused.append(status + detail)
            return
        arrivals.sent(json.loads(response.data)["orderId"], sent)

    def observe() -> None:
        try:
            arrivals.watch(dynamodb, table, posted)
        except Exception as error:  # raised in the caller after join
            failures.append(error)

    observer = threading.Thread(target=observe, name="visible-observer")
    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=64) as pool:
        observer.start()
        started = time.perf_counter()
        futures = []
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(post))
        try:
            for future in futures:
                future.result()
        finally:
            posted.set()
            observer.join()
        if failures:
            raise failures[0]

    gets, get_failures = timed_gets(http, api, list(arrivals.visible)[:GETS_TIMED])
    latencies = arrivals.latencies()
    return {
        "rate_per_s": rate,
        "orders": total,
        "posts_not_accepted": len(refused),
        "first_not_accepted": refused[0] if refused else "",
        "not_stored": latencies.count(math.inf),
        "post_p50_ms": percentile(posts, 0.5) * 1000,
        "post_p95_ms": percentile(posts, 0.95) * 1000,
        "visible_p50_ms": percentile(latencies, 0.5) * 1000,
        "visible_p95_ms": percentile(latencies, 0.95) * 1000,
        "get_p50_ms": percentile(gets, 0.5) * 1000,
        "get_p95_ms": percentile(gets, 0.95) * 1000,
        "gets_failed": len(get_failures),  # of stored orders, read through GET /orders/{id}
        "first_get_failure": get_failures[0] if get_failures else "",
    }


def sqs_drain(endpoint: str, backlog: int, budget_s: float = 30.0) -> dict[str, float]:
    """Fill a fresh queue with `backlog` messages, then time SendMessage and receive+delete batches.

    Each phase stops after `budget_s` (plain moto needs about a second per call at a 10,000 backlog).
    """
    sqs = local_client("sqs", endpoint)
    url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    started, filled = time.perf_counter(), 0
    while filled < backlog and time.perf_counter() - started < 2 * budget_s:
        entries = [{"Id": str(i), "MessageBody": f"m{filled + i}"} for i in range(min(10, backlog - filled))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        filled += len(entries)
    fill_s = time.perf_counter() - started
    single_started, sent = time.perf_counter(), 0
    while sent < 100 and time.perf_counter() - single_started < budget_s / 3:
        sqs.send_message(QueueUrl=url, MessageBody=f"extra{sent}")
        sent += 1
    send_per_s = sent / (time.perf_counter() - single_started)
    drained = 0
    started = time.perf_counter()
    while drained < filled + sent and time.perf_counter() - started < budget_s:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages", []
        )
        if not messages:
            break
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        drained += len(messages)
    elapsed = time.perf_counter() - started
    sqs.delete_queue(QueueUrl=url)
    return {
        "backlog": filled,
        "fill_s": fill_s,
        "send_per_s_at_backlog": send_per_s,
        "drained": drained,
        "drain_per_s": drained / elapsed,
    }


def small_vs_backlog(endpoint: str, backlog: int, budget_s: float) -> dict[str, Any]:
    small, large = sqs_drain(endpoint, 100, budget_s), sqs_drain(endpoint, backlog, budget_s)
    result = {"small": small, "large": large, "drain_ratio": large["drain_per_s"] / small["drain_per_s"]}
    say(json.dumps(result, indent=1))
    return result


def soak(deployment: Deployment, emulator_pid: int, clients: int, orders: int) -> dict[str, float]:
    """`orders` more orders, all stored: the emulator's memory before and after, and what each
    order leaves behind (its item is the user's data and stays; the rest is bounded)."""
    process = psutil.Process(emulator_pid)
    before = process.memory_info().rss
    result = throughput(deployment, clients, orders)
    after = process.memory_info().rss
    return {
        "orders": result["orders"],
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "kb_per_order": (after - before) / 1024 / result["orders"],
        "accepted_per_s": result["accepted_per_s"],
    }


def warm_up(deployment: Deployment, in_a_row: int = 20, budget_s: float = 60.0) -> None:
    """POST until `in_a_row` answers in a row are 202: a cold start may outlast the API's timeout on
    any target, and is not what the measures are about. Raises if it never gets there."""
    http = urllib3.PoolManager(maxsize=4, retries=False, timeout=30)
    deadline, streak = time.perf_counter() + budget_s, 0
    while streak < in_a_row:
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"{deployment.target}: no {in_a_row} accepted orders in a row within {budget_s:.0f}s"
            )
        status, _ = post_order(http, f"{deployment.api_url}/orders")
        streak = streak + 1 if status == "202" else 0


def round_trips(deployment: Deployment, args: argparse.Namespace) -> dict[str, Any]:
    """The measures every target gets in the same run: POST -> stored and GET at a fixed rate,
    then closed-loop throughput, after the same warm-up."""
    warm_up(deployment)
    return {
        "visible": visible_latency(deployment, args.rate, args.seconds),
        "throughput": throughput(deployment, args.clients, args.orders),
    }


def first_failure(whose: str, first: str) -> str:
    """What follows a count of failures, as in "872 (ministack's first: 502 ...)"; nothing for none."""
    return f" ({whose} first: {first})" if first else ""


def stored_in(visible: dict[str, Any]) -> str:
    """POST -> stored p50 / p95, and the orders not stored in time (their time counts as infinite)."""
    late = (
        f" ({visible['not_stored']} not stored within {STORED_WITHIN_S:.0f} s)"
        if visible["not_stored"]
        else ""
    )
    return f"{visible['visible_p50_ms']:.0f} / {visible['visible_p95_ms']:.0f} ms{late}"


def peer_rows(
    name: str,
    visible: dict[str, Any],
    load: dict[str, Any],
    peer_visible: dict[str, Any],
    peer_load: dict[str, Any],
) -> list[tuple[str, str, str]]:
    """Embedded against a peer, same run, same measures: value / peer's value (ratio, > 1 = we are better)."""

    def faster(ours: float, theirs: float, unit: str) -> str:
        return f"{ours:.0f} / {theirs:.0f} {unit} ({theirs / ours:.1f}x)"

    def more(ours: float, theirs: float, unit: str) -> str:
        return f"{ours:.0f} / {theirs:.0f} {unit} ({ours / theirs:.1f}x)"

    return [
        (
            f"vs {name}: POSTs not accepted at {visible['rate_per_s']:.0f}/s",
            f"{visible['posts_not_accepted']} / {peer_visible['posts_not_accepted']} of {visible['orders']}"
            + first_failure(f"{name}'s", peer_visible["first_not_accepted"]),
            "0",
        ),
        (
            f"vs {name}: orders not stored within {STORED_WITHIN_S:.0f} s of the last POST",
            f"{visible['not_stored']} / {peer_visible['not_stored']} of {visible['orders']}",
            "0",
        ),
        (f"vs {name}: POST p50", faster(visible["post_p50_ms"], peer_visible["post_p50_ms"], "ms"), ""),
        (f"vs {name}: GET p50", faster(visible["get_p50_ms"], peer_visible["get_p50_ms"], "ms"), ""),
        (
            f"vs {name}: GETs of stored orders not answered 200",
            f"{visible['gets_failed']} / {peer_visible['gets_failed']}"
            + first_failure(f"{name}'s", peer_visible["first_get_failure"]),
            "0",
        ),
        (
            f"vs {name}: POST -> stored p50",
            faster(visible["visible_p50_ms"], peer_visible["visible_p50_ms"], "ms"),
            "",
        ),
        (
            f"vs {name}: POST -> stored p95",
            faster(visible["visible_p95_ms"], peer_visible["visible_p95_ms"], "ms"),
            "",
        ),
        (
            f"vs {name}: POSTs not accepted, {load['clients']} clients",
            f"{load['posts_not_accepted']} / {peer_load['posts_not_accepted']} of {load['orders']}",
            "0",
        ),
        (f"vs {name}: accepted/s", more(load["accepted_per_s"], peer_load["accepted_per_s"], "/s"), ""),
        (f"vs {name}: persisted/s", more(load["persisted_per_s"], peer_load["persisted_per_s"], "/s"), ""),
    ]


def plain_moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    moto_server = Path(sys.executable).with_name("moto_server")
    with open(log, "ab") as handle:
        return subprocess.Popen(  # noqa: S603
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)], stdout=handle, stderr=subprocess.STDOUT
        )


def wait_port(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


def stored_orders(deployment: Deployment) -> int:
    """Items in the orders table (a scan, which is heavy in moto)."""
    dynamodb = deployment.client("dynamodb")
    total, start = 0, None
    while True:
        args: dict[str, Any] = {"TableName": deployment.outputs.table_name, "Select": "COUNT"}
        if start:
            args["ExclusiveStartKey"] = start
        page = dynamodb.scan(**args)
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m load.bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--overload-clients", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--soak", type=int, default=20_000, help="orders in the memory soak")
    parser.add_argument("--no-peers", dest="peers", action="store_false", help="skip ministack")
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument(
        "--budget", type=float, default=30.0, help="seconds per SQS phase (plain moto is slow)"
    )
    parser.add_argument("--out", type=Path, default=LOCAL / "bench.json")
    return parser.parse_args(argv)


def start_seconds(work: Path) -> float:
    """Start -> healthy, the median of three clean starts."""
    starts = []
    for _ in range(3):
        with temporary_emulator(work) as started:
            starts.append(started.ready_after_s)
    return statistics.median(starts)


def measure_embedded(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> None:
    """Deploy, latency, throughput and CPU, overload, latency again, soak, SQS drain and stop, on
    one embedded emulator."""
    shutil.rmtree(work / "state", ignore_errors=True)  # saved as `make up` saves it, from empty
    with temporary_emulator(work, state_dir=work / "state") as emulator:
        endpoint = emulator.endpoint
        started_at = time.perf_counter()
        outputs = deploy_local(
            DeployRequest(endpoint, work / "outputs.json", log=work / "deploy.log", progress=say)
        )
        results["deploy_local_s"] = time.perf_counter() - started_at
        deployment = Deployment("embedded", outputs, local_api_url(endpoint, outputs.api_id), endpoint)
        say("warming up (cold starts) ...")
        warm_up(deployment)
        say(f"POST -> stored at {args.rate:.0f} orders/s for {args.seconds:.0f}s (fresh deployment) ...")
        results["visible"] = visible_latency(deployment, args.rate, args.seconds)
        say(json.dumps(results["visible"], indent=1))
        say(f"throughput: {args.orders} orders from {args.clients} clients ...")
        meter = CpuMeter(emulator.process.pid, emulator.endpoint)
        before = meter.sample()
        results["throughput"] = throughput(deployment, args.clients, args.orders)
        results["throughput"].update(cpu_per_order(before, meter.sample(), results["throughput"]["orders"]))
        say(json.dumps(results["throughput"], indent=1))
        say(f"overload: {args.overload_clients} closed-loop clients for {args.seconds:.0f}s ...")
        results["overload"] = overload(deployment, args.overload_clients, args.seconds)
        say(json.dumps(results["overload"], indent=1))
        say(
            f"POST -> stored at {args.rate:.0f} orders/s again, after {args.orders + int(args.rate * args.seconds)} orders ..."
        )
        results["visible_after_load"] = visible_latency(deployment, args.rate, args.seconds)
        say(json.dumps(results["visible_after_load"], indent=1))
        say(f"soak: {args.soak} more orders from {args.clients} clients, memory before and after ...")
        results["soak"] = soak(deployment, emulator.process.pid, args.clients, args.soak)
        say(json.dumps(results["soak"], indent=1))
        say("SQS drain on the emulator ...")
        results["emulator_sqs"] = small_vs_backlog(endpoint, args.backlog, args.budget)
        heap_mb = psutil.Process(emulator.process.pid).memory_info().rss / 2**20
        stopping = time.perf_counter()
        stop_child(emulator.process)
        results["stop"] = {"rss_mb": heap_mb, "seconds": time.perf_counter() - stopping}
        say(json.dumps(results["stop"], indent=1))


# `make up`'s configuration with one feature off per row: each feature's cost, measured. Each
# off run sits between two fresh runs with every feature on, and is compared with their mean: this
# VM's speed drifts within minutes, and neighbours cancel a steady drift; the on runs' spread is
# the noise. CloudWatch metrics, alarms and the API's access logs have no switch: in every row.
class FeatureOff(NamedTuple):
    options: tuple[str, ...]  # `python -m emulator`'s, beyond what `make up` passes
    saves_state: bool
    target: str  # the least share of this run's throughput the feature may leave ("": none set)


FEATURES_OFF = {
    "saving state": FeatureOff((), saves_state=False, target=">= 0.95"),
    "IAM enforcement": FeatureOff(("--iam", "off"), saves_state=True, target=""),
    "X-Ray": FeatureOff(("--xray-sample", "off"), saves_state=True, target=">= 0.90"),
    # not a cost but a saving: the ratio says how much faster the threads run on one CPU
    "the emulator's threads on one CPU": FeatureOff(("--cpus", "all"), saves_state=True, target=""),
}


def measure_features(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Fresh runs, alternately every feature on and one off: on, off, on, off, ..., on."""
    on = [measure_configuration(args, work / "on-0", (), saves_state=True)]
    off = {}
    for turn, (feature, spec) in enumerate(FEATURES_OFF.items(), start=1):
        folder = work / ("off-" + feature.replace(" ", "-").lower())
        off[feature] = measure_configuration(args, folder, spec.options, spec.saves_state)
        on.append(measure_configuration(args, work / f"on-{turn}", (), saves_state=True))
    return {"on": on, "off": off}


def measure_configuration(
    args: argparse.Namespace, folder: Path, options: tuple[str, ...], saves_state: bool
) -> dict[str, Any]:
    """The same deploy and throughput run on a fresh emulator, `make up`'s plus `options`."""
    say(f"throughput on {' '.join(options) or 'every feature'}{'' if saves_state else ', no state'} ...")
    shutil.rmtree(folder, ignore_errors=True)
    state = folder / "state" if saves_state else None
    with temporary_emulator(folder, state_dir=state, options=options) as emulator:
        outputs = deploy_local(
            DeployRequest(emulator.endpoint, folder / "outputs.json", log=folder / "deploy.log")
        )
        deployment = Deployment(
            "embedded", outputs, local_api_url(emulator.endpoint, outputs.api_id), emulator.endpoint
        )
        warm_up(deployment)
        meter = CpuMeter(emulator.process.pid, emulator.endpoint)
        before = meter.sample()
        measured = throughput(deployment, args.clients, args.orders)
        measured.update(cpu_per_order(before, meter.sample(), measured["orders"]))
    say(json.dumps(measured, indent=1))
    return measured


def measure_ministack(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The same deploy, round trips and throughput on ministack (a failure is a result)."""
    say("ministack: the same deploy, round trips and throughput ...")
    try:
        if not args.peers:
            raise RuntimeError("skipped (--no-peers)")
        with temporary_ministack(work / "ministack") as endpoint:
            outputs = deploy_local(
                DeployRequest(endpoint, work / "ministack-outputs.json", log=work / "ministack-deploy.log")
            )
            peer = Deployment("ministack", outputs, local_api_url(endpoint, outputs.api_id), endpoint)
            measured = round_trips(peer, args)
            say(json.dumps(measured, indent=1))
            return measured
    except Exception as error:  # a peer that fails under the same load is a result, not a crash
        say(f"ministack failed: {type(error).__name__}: {error}")
        return {"failed": f"{type(error).__name__}: {error}"}


def measure_plain_moto(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """SQS drain on a plain moto server: the baseline."""
    port = free_port()
    moto = plain_moto(port, work / "moto.log")
    try:
        wait_port(f"http://localhost:{port}", 30)
        say("SQS drain on plain moto server (baseline) ...")
        return small_vs_backlog(f"http://localhost:{port}", args.backlog, args.budget)
    finally:
        stop_child(moto)


def table(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, value, target) rows of the results: the emulator's, then beside its peers'."""
    return emulator_rows(results) + comparison_rows(results)


def emulator_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    t, v, e = results["throughput"], results["visible"], results["emulator_sqs"]
    o, k = results["overload"], results["soak"]
    return [
        ("start -> healthy", f"{results['start_to_healthy_s']:.2f} s", "<= 1 s"),
        ("deploy-local (bootstrap + deploy)", f"{results['deploy_local_s']:.1f} s", ""),
        (
            f"accepted/s ({t['clients']} clients)",
            f"{t['accepted_per_s']:.0f}"
            + (f" ({t['posts_not_accepted']} POSTs not)" if t["posts_not_accepted"] else ""),
            ">= 500",
        ),
        ("persisted/s", f"{t['persisted_per_s']:.0f}", ">= 500"),
        ("POST p50 / p95", f"{t['post_p50_ms']:.0f} / {t['post_p95_ms']:.0f} ms", ""),
        (
            f"overload, {o['clients']} clients: accepted/s (ratio to {t['clients']} clients) / 429s",
            f"{o['accepted_per_s']:.0f} ({o['accepted_per_s'] / t['accepted_per_s']:.2f}) / {o['statuses'].get('429', 0)}",
            ">= 0.8",
        ),
        (
            "overload: accepted orders missing from the table / dead-lettered",
            f"{o['missing_from_table']} / {o['dead_lettered']} of {o['accepted']}",
            "0 / 0",
        ),
        (
            "CPU per order: emulator / workers (of which the functions' own code) / load generator",
            f"{t['emulator_cpu_ms']:.2f} / {t['workers_cpu_ms']:.2f} ({t['functions_cpu_ms']:.2f}) / {t['load_generator_cpu_ms']:.2f} ms",
            "",
        ),
        *feature_rows(results["features"]),
        ("emulator ceiling (one process, one core)", f"{t['emulator_ceiling_per_s']:.0f} orders/s", ""),
        (
            f"machine ceiling ({results['machine']['cpus']} cores all busy) / if only the functions' own code cost CPU",
            f"{t['machine_ceiling_per_s']:.0f} / {t['functions_only_ceiling_per_s']:.0f} orders/s",
            "",
        ),
        (
            f"POST -> stored p50 / p95 at {v['rate_per_s']:.0f}/s, fresh deployment",
            stored_in(v),
            "p95 <= 250 ms",
        ),
        (
            "GET /orders/{id} of a stored order p50 / p95, fresh deployment; not answered 200",
            f"{v['get_p50_ms']:.0f} / {v['get_p95_ms']:.0f} ms; {v['gets_failed']}"
            + first_failure("the", v["first_get_failure"]),
            "0 not answered",
        ),
        (
            f"POST -> stored p50 / p95 at {v['rate_per_s']:.0f}/s, after the throughput run",
            stored_in(results["visible_after_load"]),
            "p95 <= 250 ms",
        ),
        (
            f"SQS drain 100 / {e['large']['backlog']} (emulator)",
            f"{e['small']['drain_per_s']:.0f} / {e['large']['drain_per_s']:.0f} msg/s",
            "",
        ),
        (
            f"soak: emulator memory before / after {k['orders']} more orders (per order)",
            f"{k['rss_before_mb']:.0f} / {k['rss_after_mb']:.0f} MB ({k['kb_per_order']:.1f} KB)",
            "",
        ),
        (
            "stop at the largest heap",
            f"{results['stop']['seconds']:.2f} s at {results['stop']['rss_mb']:.0f} MB",
            "<= 5 s",
        ),
    ]


def feature_rows(features: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Each feature's cost: its off run against the mean of the on runs just before and after it."""

    def cpu(run: dict[str, Any]) -> float:
        return float(run["emulator_cpu_ms"] + run["workers_cpu_ms"])

    on, off = features["on"], features["off"]
    rows = [
        (
            "every feature on, fresh runs between the rows below: accepted/s; CPU per order (the noise)",
            " / ".join(f"{run['accepted_per_s']:.0f}" for run in on)
            + "; "
            + " / ".join(f"{cpu(run):.2f}" for run in on)
            + " ms",
            "",
        )
    ]
    for turn, (feature, run) in enumerate(off.items()):
        before, after = on[turn], on[turn + 1]
        rate = statistics.mean((before["accepted_per_s"], after["accepted_per_s"]))
        spent = statistics.mean((cpu(before), cpu(after)))
        rows.append(
            (
                f"{feature}: on (the runs before and after) vs off: accepted/s (ratio); CPU per order, emulator + workers",
                f"{rate:.0f} vs {run['accepted_per_s']:.0f} ({rate / run['accepted_per_s']:.2f}); "
                f"{spent:.2f} vs {cpu(run):.2f} ms",
                FEATURES_OFF[feature].target,
            )
        )
    return rows


def comparison_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    t, v, e, m = results["throughput"], results["visible"], results["emulator_sqs"], results["moto_sqs"]
    peer = results["ministack"]
    return [
        *(
            peer_rows("ministack", v, t, peer["visible"], peer["throughput"])
            if "failed" not in peer
            else [("vs ministack", f"ministack: {peer['failed'][:120]}", "")]
        ),
        ("same round trips on plain moto", "n/a: moto runs Lambda functions only in Docker", ""),
        ("backlog drain ratio (emulator)", f"{e['drain_ratio']:.2f}", ">= 0.9"),
        ("SendMessage/s at backlog (emulator)", f"{e['large']['send_per_s_at_backlog']:.0f}", ""),
        (
            f"SQS drain 100 / {m['large']['backlog']} (plain moto)",
            f"{m['small']['drain_per_s']:.0f} / {m['large']['drain_per_s']:.0f} msg/s",
            "",
        ),
        ("backlog drain ratio (plain moto)", f"{m['drain_ratio']:.2f}", ""),
        ("SendMessage/s at backlog (plain moto)", f"{m['large']['send_per_s_at_backlog']:.0f}", ""),
        (
            "emulator vs moto, backlog drain",
            f"{e['large']['drain_per_s'] / m['large']['drain_per_s']:.1f}x",
            "",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = LOCAL / "bench"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {
            "cpus": __import__("os").cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
    }
    results["start_to_healthy_s"] = start_seconds(work)
    say(f"start -> healthy: {results['start_to_healthy_s']:.2f}s (median of 3)")
    measure_embedded(args, work, results)
    results["features"] = measure_features(args, work)
    results["ministack"] = measure_ministack(args, work)
    results["moto_sqs"] = measure_plain_moto(args, work)
    args.out.write_text(json.dumps(results, indent=2))
    say("\n| measure | value | target |\n|---|---|---|")
    for name, value, target in table(results):
        say(f"| {name} | {value} | {target} |")
    say(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
