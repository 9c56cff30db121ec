"""What the runtime knows of one deployed function version, and what an invocation returns."""

import json
import os
import platform
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.iam.credentials import Credentials
from emulator.logs.sink import LogStream

REPO_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Invocation:
    """One request to run a function: the event its handler gets, under its request id."""

    payload: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class InvokeResult:
    ok: bool
    payload: bytes
    log_tail: str = ""

    @staticmethod
    def failure(error_type: str, message: str, **extra: Any) -> "InvokeResult":
        body = {"errorMessage": message, "errorType": error_type, **extra}
        return InvokeResult(ok=False, payload=json.dumps(body).encode())


@dataclass(frozen=True)
class FunctionSpec:
    account_id: str
    region: str
    name: str
    arn: str
    handler: str
    declared_runtime: str  # what the function declares (python3.14); it runs on the local Python
    code_sha: str
    timeout: float
    memory: int
    environment: tuple[tuple[str, str], ...]
    log_group: str
    concurrency: int
    role: str  # the execution role
    credentials: Credentials  # the role's temporary credentials, which the worker runs with

    def log_stream(self, stream: str) -> LogStream:
        return LogStream(self.account_id, self.region, self.log_group, stream, self.name)


def trace_id() -> str:
    # Sampled=0: Powertools Tracer and the X-Ray SDK run their code paths but send nothing.
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def init_start_line(declared_runtime: str) -> str:
    """Lambda's INIT_START line, naming the Python that really runs the function here."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    version = f"python:{platform.python_version()}"
    if declared_runtime == here:
        return f"INIT_START Runtime Version: {version}"
    return f"INIT_START Runtime Version: {version} (the emulator's own Python; the function declares {declared_runtime})"


def new_stream() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def environment(spec: FunctionSpec, code_dir: Path, endpoint_url: str, stream: str) -> dict[str, str]:
    credentials = spec.credentials
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": REPO_ROOT,  # only to find emulator.lambda_.worker; the worker takes it off sys.path
        # No X-Ray daemon here to send segments to: Powertools Tracer stays off unless the function says otherwise.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **dict(spec.environment),
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.declared_runtime}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        # the execution role's temporary credentials, as Lambda hands them out (never the user's)
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_SESSION_TOKEN": credentials.session_token,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
    }
