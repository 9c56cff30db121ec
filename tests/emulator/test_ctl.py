"""The helpers that start emulators for tests and `make local-up`."""

import socket
from pathlib import Path

import pytest

from emulator.ctl import EPHEMERAL_RANGE, free_port, temporary_emulator


@pytest.mark.skipif(not EPHEMERAL_RANGE.exists(), reason="reads Linux's ephemeral port range")
def test_free_ports_lie_below_the_ephemeral_range_so_a_restart_can_listen_on_them_again() -> None:
    floor = int(EPHEMERAL_RANGE.read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(port < floor for port in ports), ports
    assert len(ports) > 1  # chosen at random: test workers starting emulators at once do not collide
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


@pytest.mark.integration  # starts an emulator
def test_an_emulator_that_cannot_start_says_why(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        expected = f"exited with code 1.*\n.*cannot listen on 127.0.0.1:{port}"
        with pytest.raises(RuntimeError, match=expected), temporary_emulator(tmp_path, port=port):
            pass
