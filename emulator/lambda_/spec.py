"""What the runtime knows of one deployed function version, and what an invocation returns."""

import json
import os
import platform
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.iam.credentials import Credentials
from emulator.lambda_.sdk_calls import SdkEndpoint
from emulator.logs.sink import LogStream

REPO_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Invocation:
    """One request to run a function: the event its handler gets, under its request id."""

    payload: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_header: str = ""  # _X_AMZN_TRACE_ID while it runs (lambda_/tracing.py)


@dataclass
class InvokeResult:
    ok: bool
    payload: bytes
    log_tail: str = ""
    cpu_seconds: float = 0.0  # the handler's own CPU (and the event's decoding), in its worker

    def error(self) -> dict[str, Any] | None:
        """The function's error (errorType, errorMessage, ...), or None when it succeeded."""
        if self.ok:
            return None
        try:
            found = json.loads(self.payload)
        except ValueError:
            found = None
        return (
            found
            if isinstance(found, dict)
            else {"errorType": "Error", "errorMessage": self.payload.decode(errors="replace")}
        )

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
    tracing: str = "PassThrough"  # TracingConfig Mode
    xray_daemon: str | None = None  # where the functions' X-Ray SDK sends; None: no X-Ray here

    def log_stream(self, stream: str) -> LogStream:
        return LogStream(self.account_id, self.region, self.log_group, stream, self.name)


def init_start_line(declared_runtime: str) -> str:
    """Lambda's INIT_START line, naming the Python that really runs the function here."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    version = f"python:{platform.python_version()}"
    if declared_runtime == here:
        return f"INIT_START Runtime Version: {version}"
    return f"INIT_START Runtime Version: {version} (the emulator's own Python; the function declares {declared_runtime})"


def new_stream() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def environment(spec: FunctionSpec, code_dir: Path, endpoint: SdkEndpoint, stream: str) -> dict[str, str]:
    credentials = spec.credentials
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": REPO_ROOT,  # only to find emulator.lambda_.worker; the worker takes it off sys.path
        # No X-Ray daemon to send segments to: Powertools Tracer stays off unless the function says otherwise.
        **({} if spec.xray_daemon else {"POWERTOOLS_TRACE_DISABLED": "true"}),
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
        **endpoint.environment(),  # AWS_ENDPOINT_URL
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": spec.xray_daemon or "127.0.0.1:2000",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
    }
