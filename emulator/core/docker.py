"""No Docker: wherever moto would start a container (Lambda's invocations, Batch, layer
downloads), it refuses loudly instead. The root conftest.py fails any test whose process, or any
emulator it started, logged DOCKER_REFUSED."""

import logging
from typing import Any

from emulator.patching import replace

log = logging.getLogger("emulator")
DOCKER_REFUSED = "moto tried to use Docker"


def refuse(what: Any, *_args: Any, **_kwargs: Any) -> Any:
    """Logs DOCKER_REFUSED (as an error) and raises: a replacement for a Docker path of moto."""
    log.error("%s: %s", DOCKER_REFUSED, getattr(what, "function_name", type(what).__name__))
    raise RuntimeError(f"{DOCKER_REFUSED}; the emulator's runtime runs functions")


def install() -> None:
    from moto.utilities.docker_utilities import DockerModel

    replace(DockerModel, "docker_client", property(refuse))  # every Docker path of moto
