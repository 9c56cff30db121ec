"""A web page cannot reach the emulator: hostile Origins and rebinding Hosts are refused, and
/moto-api/ changes state only for JSON requests (which a page cannot send without a preflight)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from emulator.ctl import Started, temporary_emulator
from emulator.guard import allowed_host, allowed_origin
from workspace.clients import local_client

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:4566", True),
        ("127.0.0.1:4566", True),
        ("[::1]:4566", True),
        ("abc123.execute-api.localhost.localstack.cloud:4566", True),
        ("bucket.s3.localhost.localstack.cloud", True),
        ("abc.execute-api.localhost", True),
        ("evil.example:4566", False),
        ("localhost.evil.example", False),
        ("192.168.1.10:4566", False),
        ("attacker-rebound.example.com", False),
    ],
)
def test_hosts(host: str, allowed: bool) -> None:
    assert allowed_host(host) is allowed


def test_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert allowed_origin("http://localhost:3000") and allowed_origin("https://127.0.0.1")
    assert not allowed_origin("https://evil.example") and not allowed_origin("file://")
    monkeypatch.setenv("EXTRA_CORS_ALLOWED_ORIGINS", "https://app.example.com, https://other.example")
    assert allowed_origin("https://app.example.com") and not allowed_origin("https://evil.example")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Started]:
    with temporary_emulator(tmp_path) as started:
        yield started


def test_a_hostile_page_can_neither_wipe_nor_read_the_emulator(emulator: Started) -> None:
    sqs = local_client("sqs", emulator.endpoint)
    sqs.create_queue(QueueName="precious")
    reset = f"{emulator.endpoint}/moto-api/reset"
    evil = {"Origin": "https://evil.example"}
    attempts = [
        requests.post(reset, data="x", headers={**evil, "Content-Type": "text/plain"}, timeout=10),
        requests.options(reset, headers={**evil, "Access-Control-Request-Method": "POST"}, timeout=10),
        requests.get(f"{emulator.endpoint}/2015-03-31/functions/", headers=evil, timeout=10),
        requests.post(reset, json={}, headers={"Host": "rebound.evil.example"}, timeout=10),
        # a local page may call the API, but a simple (non-JSON) post cannot reset
        requests.post(reset, data="x", headers={"Origin": "http://localhost:3000"}, timeout=10),
    ]
    for answer in attempts:
        assert answer.status_code == 403, (answer.request.method, answer.request.headers, answer.text)
        assert "evil" not in answer.headers.get("Access-Control-Allow-Origin", "")
        assert answer.json()["message"]
    assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"]] == ["precious"]

    # the command line still can: `make local-reset` sends JSON without an Origin
    assert requests.post(reset, json={}, timeout=10).status_code == 200
    assert sqs.list_queues().get("QueueUrls", []) == []
