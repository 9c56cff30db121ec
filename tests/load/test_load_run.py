"""A CI-sized `make load`: Locust for real against a fresh embedded emulator, then reconciliation.
Thresholds are the command's own; this test only checks the command's verdict and its reports."""

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.ctl import free_port

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_poison_mix_run_reconciles_to_zero_lost() -> None:
    before = set((REPO / "load" / "reports").glob("poison_mix-*.html"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "load.run",
            "--scenario",
            "poison_mix",
            "--users",
            "8",
            "--spawn-rate",
            "8",
            "--duration",
            "15s",
            "--port",
            str(free_port()),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "orders stored exactly once" in result.stdout and "load: passed" in result.stdout
    [report] = set((REPO / "load" / "reports").glob("poison_mix-*.html")) - before
    assert report.stat().st_size > 10_000
    assert Path(str(report).removesuffix(".html") + "_stats.csv").exists()


def test_bad_duration_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "load.run", "--duration", "soon"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--duration must look like" in result.stderr
