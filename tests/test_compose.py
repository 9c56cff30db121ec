"""docker-compose.yml: the container targets' definition is right even where no engine runs."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def services() -> dict[str, dict[str, object]]:
    return yaml.safe_load(COMPOSE.read_text())["services"]  # type: ignore[no-any-return]


def test_profiles_images_ports_and_healthchecks() -> None:
    found = services()
    assert set(found) == {"localstack", "floci"}
    for name, service in found.items():
        assert service["profiles"] == [name]
        image = str(service["image"])
        assert ":" in image and not image.endswith(":latest"), "images are pinned"
        assert service["ports"] == ["127.0.0.1:${EMULATOR_PORT:-4566}:4566"], "loopback only"
        assert "/var/run/docker.sock:/var/run/docker.sock" in service["volumes"], (
            "Lambda runs in sibling containers"
        )
        assert "healthcheck" in service and "_localstack/health" in str(service["healthcheck"]["test"])


def test_localstack_requires_its_token_from_the_environment() -> None:
    token = services()["localstack"]["environment"]["LOCALSTACK_AUTH_TOKEN"]  # type: ignore[index]
    assert token.startswith("${LOCALSTACK_AUTH_TOKEN:?"), "compose must refuse to start without the token"


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on PATH")
def test_docker_compose_config_parses() -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"docker client has no compose plugin: {probe.stderr.strip() or probe.stdout.strip()}")
    result = subprocess.run(
        [
            "docker",
            "compose",
            "-f",
            str(COMPOSE),
            "--profile",
            "localstack",
            "--profile",
            "floci",
            "config",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"LOCALSTACK_AUTH_TOKEN": "dummy", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
