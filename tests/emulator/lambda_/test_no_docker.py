"""Wherever moto would run a function in Docker (its Lambda invoker, or any of its Docker
clients), the emulator refuses and says so in its log, which the suite's conftest.py watches."""

import logging

import pytest
from moto.awslambda.models import LambdaFunction
from moto.utilities.docker_utilities import DockerModel

from emulator.core.docker import DOCKER_REFUSED


def test_every_docker_path_of_moto_is_refused_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="emulator.lambda"):
        with pytest.raises(RuntimeError, match=DOCKER_REFUSED):
            DockerModel().docker_client  # noqa: B018 - the property is the call under test
        with pytest.raises(RuntimeError, match=DOCKER_REFUSED):
            LambdaFunction._invoke_lambda(object(), "{}")  # type: ignore[arg-type]
    assert sum(DOCKER_REFUSED in r.getMessage() for r in caplog.records) == 2
    caplog.clear()  # seen: the suite's own watch (conftest.py) is for attempts no test expects
