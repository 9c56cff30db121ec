"""A redeploy of the real OrdersStack with cdklocal updates the stack in place on the emulator."""

from pathlib import Path

import pytest
import requests

from e2e.targets import deploy_local, local_api_url
from emulator.ctl import temporary_emulator

pytestmark = pytest.mark.integration
ORDER = {"amount": 1.5, "currency": "EUR"}


def statuses(api: str, count: int) -> list[int]:
    with requests.Session() as session:
        return [session.post(f"{api}/orders", json=ORDER, timeout=30).status_code for _ in range(count)]


def test_redeploy_updates_the_stack_in_place(tmp_path: Path) -> None:
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
