"""The real OrdersStack through cdklocal on the emulator: a redeploy updates it in place, a
destroy removes it and the function workers with it."""

import time
from pathlib import Path

import pytest
import requests

from e2e.targets import deploy_local, destroy_local, local_api_url, local_client
from emulator.ctl import temporary_emulator
from tests.emulator.helpers import workers_running_in

pytestmark = pytest.mark.integration
ORDER = {"amount": 1.5, "currency": "EUR"}


def statuses(api: str, count: int) -> list[int]:
    with requests.Session() as session:
        return [session.post(f"{api}/orders", json=ORDER, timeout=30).status_code for _ in range(count)]


def test_redeploy_updates_the_stack_in_place_and_destroy_removes_it(tmp_path: Path) -> None:
    with temporary_emulator(tmp_path) as emulator:
        outputs = deploy_local(
            emulator.endpoint, tmp_path / "outputs.json", log=tmp_path / "deploy.log", progress=print
        )
        api = local_api_url(emulator.endpoint, outputs.api_id)
        assert statuses(api, 5) == [202] * 5

        throttled = deploy_local(
            emulator.endpoint,
            tmp_path / "outputs.json",
            log=tmp_path / "deploy.log",
            progress=print,
            context={"apiRateLimit": "1", "apiBurstLimit": "1"},
        )
        assert throttled == outputs  # updated in place: same API, queue, table
        answered = statuses(api, 5)
        assert 429 in answered and answered[0] == 202, answered

        deploy_local(
            emulator.endpoint, tmp_path / "outputs.json", log=tmp_path / "deploy.log", progress=print
        )
        assert statuses(api, 10) == [202] * 10

        destroy_local(emulator.endpoint, log=tmp_path / "deploy.log")
        assert local_client("lambda", emulator.endpoint).list_functions()["Functions"] == []
        assert local_client("apigatewayv2", emulator.endpoint).get_apis()["Items"] == []
        assert requests.post(f"{api}/orders", json=ORDER, timeout=30).status_code == 404
        if Path("/proc/self/cwd").exists():
            deadline = time.monotonic() + 5  # the runtime notices deleted functions within 0.5 s
            while workers_running_in(tmp_path / "functions") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert workers_running_in(tmp_path / "functions") == []
