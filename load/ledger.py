"""What a load run did, shared by the Locust scenarios that write it and `make load` that reads it."""

import json
import threading
from pathlib import Path

RUN_MARKER = "LoadRun"  # message attribute naming the run that injected a poison message


class Ledger:
    """One JSON line per event: an accepted order id, an injected poison message body."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.Lock()
        self._file = open(path, "a") if path else None  # noqa: SIM115 - kept open for the whole run

    def write(self, kind: str, value: str) -> None:
        if self._file is not None:
            with self._lock:
                self._file.write(json.dumps({"kind": kind, "value": value}) + "\n")
                self._file.flush()


def read_ledger(path: Path) -> dict[str, set[str]]:
    """{kind: values}: "accepted" order ids and "poison" bodies."""
    kinds: dict[str, set[str]] = {"accepted": set(), "poison": set()}
    if path.exists():
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            kinds.setdefault(entry["kind"], set()).add(entry["value"])
    return kinds
