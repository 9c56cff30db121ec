"""GET /_emulator/lambda/cpu: the CPU each function's own code used, which `make bench` reports
apart from the emulator's and the worker processes'."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulator.ctl import Started, temporary_emulator
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

CODE = """
import time

def burn(event, context):
    started = time.process_time()
    while time.process_time() - started < event["seconds"]:
        pass

def sleep(event, context):
    time.sleep(event["seconds"])

def fail(event, context):
    burn(event, context)
    raise ValueError("after burning")
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    with temporary_emulator(tmp_path_factory.mktemp("cpu")) as started:
        yield started


def used(endpoint: str) -> dict[str, Any]:
    answer = requests.get(f"{endpoint}/_emulator/lambda/cpu", timeout=10)
    assert answer.status_code == 200
    return dict(answer.json()["functions"])


@pytest.mark.integration  # starts an emulator
def test_each_function_s_own_cpu_is_counted_not_its_wall_time(emulator: Started) -> None:
    fn = local_client("lambda", emulator.endpoint)
    role = local_client("iam", emulator.endpoint).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    for name in ("burn", "sleep", "fail"):
        fn.create_function(
            FunctionName=name, Runtime="python3.12", Role=role["Role"]["Arn"], Handler=f"app.{name}",
            Code={"ZipFile": code_zip({"app.py": CODE})},
        )  # fmt: skip
    started = time.monotonic()
    for name in ("burn", "burn", "sleep", "fail"):
        fn.invoke(FunctionName=name, Payload=json.dumps({"seconds": 0.2}).encode())
    assert time.monotonic() - started >= 0.8
    after = used(emulator.endpoint)

    assert {name: count["invocations"] for name, count in after.items()} == {"burn": 2, "sleep": 1, "fail": 1}
    assert 0.4 <= after["burn"]["cpuSeconds"] < 0.6  # two invocations, 0.2 s of CPU each
    assert after["sleep"]["cpuSeconds"] < 0.05, "waiting is not CPU"
    assert 0.2 <= after["fail"]["cpuSeconds"] < 0.3, "a failed invocation's CPU counts too"
