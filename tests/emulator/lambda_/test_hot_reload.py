"""Hot reload by LocalStack's convention: a function whose code is in the `hot-reload` bucket runs
straight from that folder, and a saved change runs at the next invocation."""

import json
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.ctl import temporary_emulator
from workspace.clients import local_client

pytestmark = pytest.mark.integration


def invoke(fn: Any) -> dict[str, Any]:
    answer = fn.invoke(FunctionName="live", Payload=b"{}")
    return {"error": answer.get("FunctionError"), "payload": json.loads(answer["Payload"].read())}


def until(fn: Any, wanted: Any, within: float = 5.0) -> float:
    """Seconds until an invocation answers `wanted`."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if invoke(fn)["payload"] == wanted:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"never answered {wanted!r}; last: {invoke(fn)}")


def test_a_saved_change_runs_at_the_next_invocation_and_a_syntax_error_recovers(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return 'v1'\n")
    with temporary_emulator(tmp_path / "emulator") as emulator:
        role = local_client("iam", emulator.endpoint).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        fn = local_client("lambda", emulator.endpoint)
        fn.create_function(
            FunctionName="live", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="app.handler",
            Code={"S3Bucket": "hot-reload", "S3Key": str(source)},
        )  # fmt: skip
        assert invoke(fn) == {"error": None, "payload": "v1"}

        (source / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
        took = until(fn, "v2")
        print(f"saved -> new code answering in {took:.2f}s")
        assert took < 2.0

        (source / "app.py").write_text("def handler(event, context)\n    return 'broken'\n")
        time.sleep(1.0)
        broken = invoke(fn)
        assert (
            broken["error"] == "Unhandled" and broken["payload"]["errorType"] == "Runtime.UserCodeSyntaxError"
        )

        (source / "app.py").write_text("def handler(event, context):\n    return 'v3'\n")
        until(fn, "v3")
        assert (source / "app.py").exists(), "the user's folder is never removed"
    assert (source / "app.py").exists()
