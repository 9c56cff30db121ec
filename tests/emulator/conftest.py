"""A real emulator on a free port with the real OrdersStack deployed by cdklocal, shared by a module."""

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e.targets import Outputs, deploy_local, local_api_url, local_client
from emulator.ctl import spawn, terminate, wait_healthy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployed:
    endpoint: str
    outputs: Outputs
    log: Path

    @property
    def api(self) -> str:
        return local_api_url(self.endpoint, self.outputs.api_id)

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint)


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    work = tmp_path_factory.mktemp("emulator")
    port = free_port()
    endpoint = f"http://localhost:{port}"
    log = work / "emulator.log"
    process = spawn(port, log_path=log, extra_args=["--work-dir", str(work / "functions")])
    try:
        wait_healthy(endpoint, timeout=30, process=process)
        outputs = deploy_local(
            endpoint, work / "outputs.json", log=work / "deploy.log", progress=lambda _: None
        )
        yield Deployed(endpoint, outputs, log)
    finally:
        terminate(process.pid, timeout=10)
