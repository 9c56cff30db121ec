"""The real OrdersStack through cdklocal on the emulator, deployed again and again as a user does:
unchanged, changed, unchanged again; each updates it in place, the last change is the one that
runs, and a destroy removes it and the function workers with it."""

import time
from pathlib import Path

import pytest
import requests

from emulator.ctl import temporary_emulator
from tests.emulator.helpers import workers_running_in
from workspace.targets import Outputs, deploy_local, destroy_local, local_api_url, local_client

pytestmark = pytest.mark.integration
ORDER = {"amount": 1.5, "currency": "EUR"}


def statuses(api: str, count: int) -> list[int]:
    with requests.Session() as session:
        return [session.post(f"{api}/orders", json=ORDER, timeout=30).status_code for _ in range(count)]


def test_repeated_deploys_update_the_stack_in_place_and_destroy_removes_it(tmp_path: Path) -> None:
    def deploy(**context: str) -> Outputs:
        return deploy_local(
            emulator.endpoint,
            tmp_path / "outputs.json",
            log=tmp_path / "deploy.log",
            progress=print,
            context=context,
            skip_unchanged=False,  # the unchanged deploys are the point: moto's empty change sets
        )

    throttle = {"apiRateLimit": "1", "apiBurstLimit": "1"}
    with temporary_emulator(tmp_path) as emulator:
        outputs = deploy()
        api = local_api_url(emulator.endpoint, outputs.api_id)
        assert statuses(api, 5) == [202] * 5

        # unchanged: the CLI's empty change set is deleted by the CLI, and the next deploy deletes
        # it again (moto crashed there, breaking every later deploy)
        assert deploy() == outputs
        assert deploy(**throttle) == outputs  # updated in place: same API, queue, table
        answered = statuses(api, 5)
        assert 429 in answered and answered[0] == 202, answered
        assert deploy(**throttle) == outputs  # unchanged again: the change stays
        time.sleep(1.1)  # a fresh token bucket
        answered = statuses(api, 5)
        assert 429 in answered and answered[0] == 202, answered

        assert deploy() == outputs
        assert statuses(api, 10) == [202] * 10
        # the CLI's output is logged as text (jsii's Python side logged Node's warnings as b'...')
        assert "b'" not in (tmp_path / "deploy.log").read_text()

        destroy_local(emulator.endpoint, log=tmp_path / "deploy.log")
        assert local_client("lambda", emulator.endpoint).list_functions()["Functions"] == []
        assert local_client("apigatewayv2", emulator.endpoint).get_apis()["Items"] == []
        assert requests.post(f"{api}/orders", json=ORDER, timeout=30).status_code == 404
        if Path("/proc/self/cwd").exists():
            deadline = time.monotonic() + 5  # the runtime notices deleted functions within 0.5 s
            while workers_running_in(tmp_path / "functions") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert workers_running_in(tmp_path / "functions") == []
