"""A CI-sized `make load`: Locust for real against a fresh embedded emulator, then reconciliation.
Thresholds are the command's own; this test only checks the command's verdict and its reports."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.ctl import free_port

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_poison_mix_run_reconciles_to_zero_lost(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
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
            "--reports",
            str(reports),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "load: passed" in result.stdout
    # the summary reads Locust's final figures: every accepted POST is in the table's count
    # (the CSV it read before was written up to a second before the end and missed the last ones)
    [posts] = re.findall(r"^POST\s+POST /orders\s+(\d+)\s+(\d+)", result.stdout, re.MULTILINE)
    [accepted] = re.findall(r"^orders stored exactly once\s+(\d+)\s+(\d+)\s+yes", result.stdout, re.MULTILINE)
    assert int(posts[0]) - int(posts[1]) == int(accepted[0]) == int(accepted[1]) > 0
    assert "load: checking" in result.stdout  # reconciliation says what it is doing
    # the fresh emulator's first init is paid before Locust measures anything
    assert result.stdout.index("one order through the fresh deployment") < result.stdout.index(
        "load: poison_mix"
    )
    [report] = [p for p in reports.glob("poison_mix-*.html") if not p.name.endswith(".summary.html")]
    assert report.stat().st_size > 10_000
    summary = Path(str(report).removesuffix(".html") + ".summary.html").read_text()
    assert "passed</span>" in summary and "orders stored exactly once" in summary


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
