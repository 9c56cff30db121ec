"""The console's log lines: a group's newest lines containing the filter, newest first, escaped;
a function's lines found through its LoggingConfig's group."""

import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from emulator.console import LOGS_PATH, logs_link
from emulator.logs.pages import LogPages

ACCOUNT, REGION = "123456789012", "us-east-1"
NOW_MS = int(time.time() * 1000)  # moto keeps only recent events, as CloudWatch Logs accepts them


@pytest.fixture
def logs() -> Iterator[Any]:
    with moto.mock_aws():
        client = boto3.client("logs", region_name=REGION)
        client.create_log_group(logGroupName="/orders/create")
        client.create_log_stream(logGroupName="/orders/create", logStreamName="s")
        client.put_log_events(
            logGroupName="/orders/create",
            logStreamName="s",
            logEvents=[
                {"timestamp": NOW_MS, "message": "START RequestId: r-1"},
                {"timestamp": NOW_MS + 1, "message": '{"orderId": "o-1", "function_request_id": "r-1"} <b>'},
                {"timestamp": NOW_MS + 2, "message": "START RequestId: r-2"},
            ],
        )
        yield client


def get(query: str, method: str = "GET") -> Any:
    return LogPages(ACCOUNT, REGION).handle(
        {"PATH_INFO": LOGS_PATH, "QUERY_STRING": query, "REQUEST_METHOD": method}
    )


def test_a_group_s_lines_are_filtered_newest_first_and_escaped(logs: Any) -> None:
    page = get("group=/orders/create&filter=r-1").body.decode()
    assert "r-2" not in page
    assert page.index("o-1") < page.index("START RequestId: r-1")  # newest first
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert get("group=/orders/create").body.decode().count("START RequestId") == 2
    assert get("group=/orders/create", method="POST").status == 405


def test_a_function_s_lines_come_from_its_logging_config_group(logs: Any) -> None:
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="create", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18}, LoggingConfig={"LogGroup": "/orders/create"},
    )  # fmt: skip
    link = logs_link("create", "r-1")
    page = get(link.split("?", 1)[1]).body.decode()
    assert "o-1" in page and "r-2" not in page
    assert get("function=nope").status == 404
