"""`make load`: a headless Locust run against a target, then thresholds and reconciliation.

    python -m load.run --scenario steady --users 50 --spawn-rate 10 --duration 60s --target embedded

On `embedded` the emulator already answering on the local endpoint (as `make smoke` finds it) and
its deployment are used, else one is started on a free port, deployed to, sent one order (so that
the functions' first init is not in the figures) and stopped afterwards. Reports go to
load/reports/<scenario>-<timestamp>.html and its CSVs. Exit code 1 when a threshold is missed or
reconciliation finds anything lost; 2 for usage errors.
"""

import argparse
import html
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orders.keys import order_key

from emulator.ctl import health, local_endpoint, temporary_emulator
from emulator.settings import LOCAL, endpoint_on
from load.ledger import RUN_MARKER, read_ledger
from workspace.clients import local_api_url
from workspace.deploy import local_deployment
from workspace.deployment import Deployment, aws_deployment, one_order_through, require_deployment

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "load" / "reports"
# the p95 limits each scenario is held to (read_heavy only reads)
TIMED = {
    "steady": ("POST /orders", "order visible"),
    "read_heavy": (),
    "spike": ("POST /orders", "order visible"),
    "poison_mix": ("POST /orders", "order visible"),
}
SCENARIOS = {
    "steady": (["load/locustfile.py"], ["SteadyUser"]),
    "read_heavy": (["load/locustfile.py"], ["ReadUser"]),
    "spike": (["load/locustfile.py", "load/shapes.py"], ["SteadyUser"]),
    "poison_mix": (["load/locustfile.py"], ["SteadyUser", "PoisonUser"]),
}


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]] if duration[-1] in units else float(duration)


@contextmanager
def target_deployment(target: str, endpoint: str, work: Path) -> Iterator[Deployment]:
    if target == "aws":
        yield aws_deployment()
        return
    if health(endpoint):
        try:
            outputs = require_deployment(endpoint)
        except RuntimeError as error:
            raise SystemExit(f"load: {error}") from None
        print(f"load: using the {target} deployment on {endpoint}")
        yield Deployment(target, outputs, local_api_url(endpoint, outputs.api_id), endpoint)
        return
    if target != "embedded":
        raise SystemExit(
            f"load: nothing answers on {endpoint}: run `make local-up EMULATOR={target} deploy-local` first"
        )
    print(f"load: no emulator on {endpoint}; starting one for this run")
    with temporary_emulator(work) as emulator:
        deployment = local_deployment("embedded", emulator.endpoint, work)
        first_order(deployment)
        yield deployment


def first_order(deployment: Deployment, budget_s: float = 120.0) -> None:
    """One order from POST to the table on a deployment this run has just made, before Locust
    starts: the functions' first init (seconds on a busy machine) belongs to starting the
    emulator, not to the load the thresholds judge."""
    print("load: one order through the fresh deployment first (its functions' init) ...", flush=True)
    try:
        print(f"load: {one_order_through(deployment.api_url, timeout=budget_s, request_timeout=budget_s)}")
    except RuntimeError as error:
        raise SystemExit(f"load: the first order did not get through: {error}") from None


def run_locust(deployment: Deployment, args: argparse.Namespace, prefix: Path, ledger: Path) -> int:
    files, users = SCENARIOS[args.scenario]
    env = {
        **os.environ,
        "LOAD_RUN": prefix.name,
        "LOAD_LEDGER": str(ledger),
        "LOAD_STATS": stats_file(prefix),
        "LOAD_QUEUE_URL": deployment.outputs.queue_url,
        "LOAD_AWS_ENDPOINT": deployment.endpoint or "",
        "LOAD_USERS": str(args.users),
        "LOAD_SECONDS": str(seconds(args.duration)),
        "AWS_DEFAULT_REGION": deployment.region,
    }
    command = [
        sys.executable, "-m", "locust", "-f", ",".join(files), "--headless",
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", args.duration,
        "--host", deployment.api_url, "--csv", str(prefix), "--html", f"{prefix}.html",
        "--only-summary", "--exit-code-on-error", "0", "--stop-timeout", "35", *users,
    ]  # fmt: skip
    print(
        f"load: {args.scenario} with {args.users} users for {args.duration} against {deployment.api_url}",
        flush=True,
    )
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode  # noqa: S603


def stats_file(prefix: Path) -> str:
    return f"{prefix}.stats.json"


def read_stats(prefix: Path) -> list[dict[str, Any]]:
    """Locust's final figures per request type (written by the locustfile as Locust quits)."""
    rows: list[dict[str, Any]] = json.loads(Path(stats_file(prefix)).read_text())
    return rows


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)))


def request_rows(stats: list[dict[str, Any]]) -> list[list[Any]]:
    def ms(value: float | None) -> str:
        return "N/A" if value is None else f"{value:.0f}"

    return [
        [s["type"], s["name"], s["count"], s["failed"], ms(s["p50"]), ms(s["p95"]), f"{s['rps']:.1f}"]
        for s in stats
    ]


REQUEST_HEADER = ["type", "name", "count", "failed", "p50 ms", "p95 ms", "req/s"]


def check_thresholds(stats: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    print_table("requests", REQUEST_HEADER, request_rows(stats))
    problems = []
    total = sum(s["count"] for s in stats)
    failed = sum(s["failed"] for s in stats)
    if total == 0:
        problems.append("no requests were made")
    elif failed / total > args.max_failure_ratio:
        problems.append(f"failure ratio {failed / total:.4f} > {args.max_failure_ratio}")
    limits = {"POST /orders": args.post_p95_ms, "order visible": args.visible_p95_ms}
    for name in TIMED[args.scenario]:  # what the scenario measures must have been measured
        row = next((s for s in stats if s["name"] == name), None)
        if row is None or row["p95"] is None:
            problems.append(f"{name}: not measured (no successful request)")
        elif row["p95"] > limits[name]:
            problems.append(f"{name} p95 {row['p95']:.0f} ms > {limits[name]:.0f} ms")
    return problems


@dataclass
class Reconciliation:
    problems: list[str]
    rows: list[list[Any]]


def reconcile(deployment: Deployment, ledger: Path, run: str, drain_timeout: float) -> Reconciliation:
    """Every accepted order stored exactly once, the queue drained, this run's poison messages in
    the DLQ (then removed) and none of its orders there; the DLQ's other messages are left alone."""
    record = read_ledger(ledger)
    accepted, poison = record["accepted"], record["poison"]
    problems: list[str] = []

    deadline = time.monotonic() + drain_timeout
    said = 0.0
    while True:
        in_queue = deployment.messages_in_queue()
        if in_queue == 0 or time.monotonic() > deadline:
            break
        if time.monotonic() - said >= 5:
            progress(f"waiting for OrdersQueue to drain: {in_queue} message(s) left")
            said = time.monotonic()
        time.sleep(0.5)
    drained = in_queue == 0
    if not drained:
        problems.append(f"{in_queue} message(s) still in OrdersQueue after {drain_timeout:.0f}s")

    missing = sorted(accepted)
    for attempt in range(3):  # stragglers may still be in flight right after the queue emptied
        progress(f"checking {len(missing)} accepted order(s) in the table" + (" again" if attempt else ""))
        missing = [order_id for order_id in missing if not _stored_once(deployment, order_id)]
        if not missing:
            break
        time.sleep(1)
    if missing:
        problems.append(f"{len(missing)} accepted order(s) not stored, e.g. {missing[:3]}")

    progress("sweeping the DLQ for this run's poison messages")
    dlq = sweep_dlq(deployment.client("sqs"), deployment.outputs.dlq_url, run, accepted)
    ours = poison & dlq.removed
    if ours != poison:
        problems.append(f"{len(poison - ours)} injected poison message(s) not in the DLQ")
    if dlq.accepted_orders:
        problems.append(
            f"{len(dlq.accepted_orders)} accepted order(s) dead-lettered (left in the DLQ), "
            f"e.g. {dlq.accepted_orders[:3]}"
        )
    rows = [
        ["orders stored exactly once", len(accepted), len(accepted) - len(missing), _ok(not missing)],
        ["OrdersQueue drained", 0, in_queue, _ok(drained)],
        ["this run's poison in the DLQ (removed)", len(poison), len(ours), _ok(ours == poison)],
        ["this run's orders in the DLQ", 0, len(dlq.accepted_orders), _ok(not dlq.accepted_orders)],
        ["other messages in the DLQ (left as they were)", "-", dlq.left, "-"],
    ]
    print_table("reconciliation", ["check", "expected", "found", "ok"], rows)
    return Reconciliation(problems, rows)


def progress(message: str) -> None:
    print(f"load: {message} ...", flush=True)


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"


def _stored_once(deployment: Deployment, order_id: str) -> bool:
    items = deployment.order_items(order_id)
    return len(items) == 1 and items[0]["SK"]["S"] == order_key(order_id)["SK"]


@dataclass
class DlqSweep:
    removed: set[str]  # bodies of this run's poison messages, deleted
    accepted_orders: list[str]  # ids of orders this run had accepted, found dead-lettered (kept)
    left: int  # every other message, kept and visible again


def sweep_dlq(sqs: Any, dlq_url: str, run: str, accepted: set[str]) -> DlqSweep:
    """Deletes the DLQ messages marked as this run's poison and nothing else; every other message
    is made visible again at once (its receive count goes up by one, as with any look at a queue)."""
    sweep = DlqSweep(set(), [], 0)
    kept: dict[str, str] = {}  # message id -> latest receipt handle
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=[RUN_MARKER]
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            marker = message.get("MessageAttributes", {}).get(RUN_MARKER, {}).get("StringValue")
            if marker == run:
                sweep.removed.add(message["Body"])
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                continue
            if message["MessageId"] not in kept:
                order_id = _order_id(message["Body"])
                if order_id in accepted:
                    sweep.accepted_orders.append(order_id)
                else:
                    sweep.left += 1
            kept[message["MessageId"]] = message["ReceiptHandle"]
    for handle in kept.values():
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return sweep


def _order_id(body: str) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return str(value.get("orderId")) if isinstance(value, dict) else None


def write_summary(
    prefix: Path, stats: list[dict[str, Any]], result: Reconciliation, problems: list[str]
) -> Path:
    """A page beside Locust's report with what Locust cannot know: the verdict and the reconciliation."""

    def table(header: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    verdict = "FAILED" if problems else "passed"
    page = f"""<!doctype html><meta charset="utf-8"><title>{prefix.name}: {verdict}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
table{{border-collapse:collapse;margin-bottom:1.5em}}.passed{{color:#070}}.FAILED{{color:#b00}}</style>
<h1>{html.escape(prefix.name)}: <span class="{verdict}">{verdict}</span></h1>
<ul>{"".join(f"<li>{html.escape(p)}</li>" for p in problems) or "<li>thresholds met, nothing lost</li>"}</ul>
<h2>Requests (Locust's final figures)</h2>{table(REQUEST_HEADER, request_rows(stats))}
<h2>Reconciliation</h2>{table(["check", "expected", "found", "ok"], result.rows)}
<p>Locust's own report: <a href="{html.escape(prefix.name)}.html">{html.escape(prefix.name)}.html</a></p>
"""
    path = Path(f"{prefix}.summary.html")
    path.write_text(page)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m load.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default=os.environ.get("SCENARIO", "steady"))
    parser.add_argument("--users", type=int, default=int(os.environ.get("USERS", "20")))
    parser.add_argument("--spawn-rate", type=float, default=float(os.environ.get("SPAWN_RATE", "10")))
    parser.add_argument("--duration", default=os.environ.get("DURATION", "60s"), help="e.g. 30s, 2m")
    parser.add_argument(
        "--target",
        choices=["embedded", "localstack", "floci", "aws"],
        default=os.environ.get("TARGET", "embedded"),
    )
    parser.add_argument(
        "--port", type=int, default=None, help="the local target's port (default: as `make smoke` finds it)"
    )
    parser.add_argument(
        "--max-failure-ratio", type=float, default=float(os.environ.get("MAX_FAILURE_RATIO", "0"))
    )
    parser.add_argument("--post-p95-ms", type=float, default=float(os.environ.get("POST_P95_MS", "1000")))
    parser.add_argument(
        "--visible-p95-ms", type=float, default=float(os.environ.get("VISIBLE_P95_MS", "3000"))
    )
    parser.add_argument(
        "--reports", type=Path, default=REPORTS, help="where reports go (default load/reports)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / LOCAL / "load",
        help="an emulator started for the run keeps its log and function code here",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=60.0, help="seconds for the queue to empty after the run"
    )
    args = parser.parse_args(argv)
    try:
        seconds(args.duration)
    except (ValueError, IndexError):
        parser.error(f"--duration must look like 30s, 2m or 1h (got {args.duration!r})")

    args.reports.mkdir(parents=True, exist_ok=True)
    prefix = args.reports.resolve() / f"{args.scenario}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    ledger = Path(f"{prefix}.ledger.jsonl")
    endpoint = endpoint_on(args.port) if args.port else local_endpoint()
    with target_deployment(args.target, endpoint, args.work_dir) as deployment:
        code = run_locust(deployment, args, prefix, ledger)
        if code != 0:
            print(f"load: locust exited with {code}", file=sys.stderr)
            return 1
        stats = read_stats(prefix)
        problems = check_thresholds(stats, args)
        result = reconcile(deployment, ledger, prefix.name, args.drain_timeout)
        problems += result.problems
    summary = write_summary(prefix, stats, result, problems)
    print(f"\nreport: {summary} (verdict, reconciliation), Locust's {prefix}.html and {prefix}_*.csv")
    if problems:
        print("\nload: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("load: passed (thresholds met, nothing lost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
