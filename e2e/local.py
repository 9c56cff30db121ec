"""`python -m e2e.local deploy|smoke`: deploy OrdersStack to the local endpoint and prove it works."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests

from e2e.targets import deploy_local, local_api_url, read_outputs

OUTPUTS = Path(".local/outputs.json")


def smoke(endpoint: str, timeout: float = 15.0) -> str:
    """POST one order and GET it back once processed; returns a one-line summary."""
    outputs = read_outputs(OUTPUTS)
    api = local_api_url(endpoint, outputs.api_id)
    started = time.monotonic()
    created = requests.post(f"{api}/orders", json={"amount": 99.99, "currency": "EUR"}, timeout=10)
    if created.status_code != 202:
        raise RuntimeError(f"POST /orders answered {created.status_code}: {created.text}")
    order_id = created.json()["orderId"]
    while time.monotonic() - started < timeout:
        found = requests.get(f"{api}/orders/{order_id}", timeout=10)
        if found.status_code == 200:
            order = found.json()
            if order["amount"] != 99.99 or order["currency"] != "EUR":
                raise RuntimeError(f"GET returned a different order: {order}")
            return f"order {order_id} accepted and stored in {time.monotonic() - started:.2f}s"
        if found.status_code != 404:
            raise RuntimeError(f"GET /orders/{order_id} answered {found.status_code}: {found.text}")
        time.sleep(0.1)
    raise RuntimeError(f"order {order_id} not visible after {timeout:.0f}s (see .local/emulator.log)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.local", description=__doc__)
    parser.add_argument("command", choices=["deploy", "smoke", "url"])
    parser.add_argument(
        "--endpoint",
        default=os.environ.get(
            "LOCAL_ENDPOINT", f"http://localhost:{os.environ.get('EMULATOR_PORT', '4566')}"
        ),
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "deploy":
            deploy_local(args.endpoint, OUTPUTS, log=Path(".local/deploy.log"))
        elif args.command == "smoke":
            print(f"smoke: {smoke(args.endpoint)}")
        else:
            outputs = read_outputs(OUTPUTS)
            api = local_api_url(args.endpoint, outputs.api_id)
            body = json.dumps({"amount": 99.99, "currency": "EUR"})
            print(f"\nLocal API: {api}\n")
            print(f"  curl -s -X POST {api}/orders -H 'content-type: application/json' -d '{body}'")
            print(f"  curl -s {api}/orders/<orderId>\n")
            print("Stop everything with: make local-down")
    except RuntimeError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
