"""`make load`: a headless Locust run against a target, then thresholds and reconciliation.

    python -m load.run --scenario steady --users 50 --spawn-rate 10 --duration 60s --target embedded

On `embedded` an emulator already answering on EMULATOR_PORT (with .local/outputs.json) is used,
else one is started on a free port, deployed to and stopped afterwards. Reports go to
load/reports/<scenario>-<timestamp>.html and its CSVs. Exit code 1 when a threshold is missed or
reconciliation finds anything lost; 2 for usage errors.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from e2e.targets import Deployment, aws_deployment, local_api_url, local_deployment, read_outputs
from emulator.ctl import health, temporary_emulator

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "load" / "reports"
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
def target_deployment(target: str, port: int) -> Iterator[Deployment]:
    endpoint = f"http://localhost:{port}"
    if target == "aws":
        yield aws_deployment()
        return
    outputs_file = REPO / ".local" / "outputs.json"
    if health(endpoint) and outputs_file.exists():
        outputs = read_outputs(outputs_file)
        print(f"load: using the {target} deployment on {endpoint}")
        yield Deployment(target, outputs, local_api_url(endpoint, outputs.api_id), endpoint)
        return
    if target != "embedded":
        raise SystemExit(
            f"load: nothing answers on {endpoint}: run `make local-up EMULATOR={target} deploy-local` first"
        )
    print(f"load: no emulator on {endpoint}; starting one for this run")
    with temporary_emulator(REPO / ".local" / "load") as emulator:
        yield local_deployment("embedded", emulator.endpoint, REPO / ".local" / "load")


def run_locust(deployment: Deployment, args: argparse.Namespace, prefix: Path, ledger: Path) -> int:
    files, users = SCENARIOS[args.scenario]
    env = {
        **os.environ,
        "LOAD_LEDGER": str(ledger),
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


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)))


def check_thresholds(stats: list[dict[str, str]], args: argparse.Namespace) -> list[str]:
    rows = [
        [
            s["Type"],
            s["Name"],
            s["Request Count"],
            s["Failure Count"],
            s["50%"],
            s["95%"],
            f"{float(s['Requests/s']):.1f}",
        ]
        for s in stats
    ]
    print_table("requests", ["type", "name", "count", "failed", "p50 ms", "p95 ms", "req/s"], rows)
    problems = []
    total = sum(int(s["Request Count"]) for s in stats)
    failed = sum(int(s["Failure Count"]) for s in stats)
    if total == 0:
        problems.append("no requests were made")
    elif failed / total > args.max_failure_ratio:
        problems.append(f"failure ratio {failed / total:.4f} > {args.max_failure_ratio}")
    for name, limit in (("POST /orders", args.post_p95_ms), ("order visible", args.visible_p95_ms)):
        row = next((s for s in stats if s["Name"] == name), None)
        if row is not None and row["95%"] not in ("", "N/A") and float(row["95%"]) > limit:
            problems.append(f"{name} p95 {row['95%']} ms > {limit:.0f} ms")
    return problems


def reconcile(deployment: Deployment, ledger: Path, drain_timeout: float) -> list[str]:
    """Every accepted order stored exactly once, the queue drained, the DLQ holding exactly the
    injected poison messages (which are then deleted)."""
    entries = [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.exists() else []
    accepted = {e["value"] for e in entries if e["kind"] == "accepted"}
    poison = {e["value"] for e in entries if e["kind"] == "poison"}
    problems: list[str] = []

    deadline = time.monotonic() + drain_timeout
    while True:
        in_queue = deployment.messages_in_queue()
        if in_queue == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    drained = in_queue == 0
    if not drained:
        problems.append(f"{in_queue} message(s) still in OrdersQueue after {drain_timeout:.0f}s")

    missing = sorted(accepted)
    for _ in range(3):  # stragglers may still be in flight right after the queue emptied
        missing = [order_id for order_id in missing if not _stored_once(deployment, order_id)]
        if not missing:
            break
        time.sleep(1)
    if missing:
        problems.append(f"{len(missing)} accepted order(s) not stored, e.g. {missing[:3]}")

    in_dlq = _drain_dlq(deployment.client("sqs"), deployment.outputs.dlq_url)
    ours = poison & set(in_dlq)
    others = [body for body in in_dlq if body not in poison]
    if ours != poison:
        problems.append(f"{len(poison - ours)} injected poison message(s) not in the DLQ")
    if others:
        problems.append(f"{len(others)} unexpected message(s) in the DLQ, e.g. {others[:2]}")

    print_table(
        "reconciliation",
        ["check", "expected", "found", "ok"],
        [
            [
                "orders stored exactly once",
                len(accepted),
                len(accepted) - len(missing),
                "yes" if not missing else "NO",
            ],
            ["OrdersQueue drained", 0, in_queue, "yes" if drained else "NO"],
            ["poison messages in DLQ", len(poison), len(ours), "yes" if ours == poison else "NO"],
            ["other messages in DLQ", 0, len(others), "yes" if not others else "NO"],
        ],
    )
    return problems


def _stored_once(deployment: Deployment, order_id: str) -> bool:
    items = deployment.order_items(order_id)
    return len(items) == 1 and items[0]["SK"]["S"] == f"ORDER#{order_id}"


def _drain_dlq(sqs: Any, dlq_url: str) -> list[str]:
    """Every message body in the DLQ; each is deleted (the run's poison is cleaned up)."""
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])


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
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "4566")))
    parser.add_argument(
        "--max-failure-ratio", type=float, default=float(os.environ.get("MAX_FAILURE_RATIO", "0"))
    )
    parser.add_argument("--post-p95-ms", type=float, default=float(os.environ.get("POST_P95_MS", "1000")))
    parser.add_argument(
        "--visible-p95-ms", type=float, default=float(os.environ.get("VISIBLE_P95_MS", "3000"))
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=60.0, help="seconds for the queue to empty after the run"
    )
    args = parser.parse_args(argv)
    try:
        seconds(args.duration)
    except (ValueError, IndexError):
        parser.error(f"--duration must look like 30s, 2m or 1h (got {args.duration!r})")

    REPORTS.mkdir(parents=True, exist_ok=True)
    prefix = REPORTS / f"{args.scenario}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    ledger = Path(f"{prefix}.ledger.jsonl")
    with target_deployment(args.target, args.port) as deployment:
        code = run_locust(deployment, args, prefix, ledger)
        if code != 0:
            print(f"load: locust exited with {code}", file=sys.stderr)
            return 1
        problems = check_thresholds(read_stats(prefix), args)
        problems += reconcile(deployment, ledger, args.drain_timeout)
    print(f"\nreport: {prefix}.html (CSVs: {prefix}_*.csv)")
    if problems:
        print("\nload: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("load: passed (thresholds met, nothing lost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
