"""How to reach a target: SDK clients and the environment for a local edge endpoint, and the URL
of an HTTP API on it. Local targets (the embedded emulator, ministack, LocalStack, Floci) all
listen on one edge port; `aws` is reached with the user's own credentials."""

import functools
import shutil
import subprocess
from typing import Any

from emulator.ctl import health
from emulator.settings import DEFAULT_REGION

LOCAL_ACCOUNT = "000000000000"


def local_env(endpoint: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Environment for AWS SDKs and cdklocal talking to a local edge endpoint.

    cdklocal's default host (localhost.localstack.cloud) needs public DNS; the explicit endpoint
    variables keep everything on loopback.
    """
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "CDK_DISABLE_VERSION_CHECK": "1",
    }


@functools.lru_cache(maxsize=128)  # building a client costs more than most calls made with it
def local_client(service: str, endpoint: str, region: str = DEFAULT_REGION) -> Any:
    import boto3

    env = local_env(endpoint, region)
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def default_stage_segment(status: dict[str, object] | None) -> str:
    """What follows the API id in the path form to reach the $default stage on the target whose
    health answer this is. LocalStack's form (`/_aws/execute-api/{apiId}/{path}`, which the embedded
    emulator and ministack serve too) leaves the stage out; Floci requires it
    (`/_aws/execute-api/{apiId}/{stageName}/...`) and names itself in `original_edition`."""
    edition = str((status or {}).get("original_edition", ""))
    return "/$default" if edition.startswith("floci") else ""


def local_api_url(endpoint: str, api_id: str) -> str:
    """The path form of an HTTP API's $default stage on the local target at `endpoint`."""
    endpoint = endpoint.rstrip("/")
    return f"{endpoint}/_aws/execute-api/{api_id}{default_stage_segment(health(endpoint))}"


def docker_available() -> bool:
    """True when a Docker engine answers (not just a client on PATH)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, check=False, timeout=10
    )
    return result.returncode == 0
