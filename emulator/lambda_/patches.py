"""Lambda's changes to moto: a function's LoggingConfig is kept (the runtime writes there), code
in LocalStack's `hot-reload` bucket is a folder on this machine, not an object in S3, and every
invocation moto makes itself goes to the emulator's runtime, never to Docker."""

import functools
import hashlib
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction

from emulator.core import docker
from emulator.patching import replace
from emulator.settings import HOT_RELOAD_BUCKET
from emulator.wiring import wired


def keep_logging_config() -> None:
    """moto drops a function's LoggingConfig; the runtime needs its LogGroup to write logs there.
    (A stack's functions get theirs the same way: cloudformation.py builds them from a spec.)"""
    original_init = LambdaFunction.__init__

    @functools.wraps(original_init)
    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        setattr(self, "logging_config", spec.get("LoggingConfig"))  # noqa: B010 - an attribute moto does not declare

    replace(LambdaFunction, "__init__", init)

    original_configuration = LambdaFunction.get_configuration

    @functools.wraps(original_configuration)
    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_configuration(self, *args, **kwargs)
        logging_config = getattr(self, "logging_config", None)
        if logging_config:
            config["LoggingConfig"] = {"LogFormat": "Text", **logging_config}
        return config

    replace(LambdaFunction, "get_configuration", get_configuration)


def hot_reload_folder(fn: LambdaFunction) -> Path | None:
    """The folder a hot-reloaded function runs from (its code's S3Key), else None."""
    code = fn.code or {}
    return Path(code["S3Key"]) if code.get("S3Bucket") == HOT_RELOAD_BUCKET else None


def accept_hot_reload_code() -> None:
    """Code {S3Bucket: hot-reload, S3Key: <absolute path>} names a folder, as LocalStack reads it:
    nothing to fetch from S3 (moto would answer NoSuchBucket)."""
    original = LambdaFunction._set_function_code

    @functools.wraps(original)
    def set_function_code(self: LambdaFunction, updated_spec: dict[str, Any]) -> None:
        if updated_spec.get("S3Bucket") != HOT_RELOAD_BUCKET:
            return original(self, updated_spec)
        folder = str(updated_spec["S3Key"])
        if not Path(folder).is_absolute():
            raise ValueError(
                "InvalidParameterValueException",
                f"hot-reload needs an absolute folder as S3Key, got {folder!r}",
            )
        self.code = {**(self.code or {}), "S3Bucket": HOT_RELOAD_BUCKET, "S3Key": folder}
        self.code_bytes, self.code_size, self.code_digest = b"", 0, ""
        self.code_sha_256 = hashlib.sha256(folder.encode()).hexdigest()  # a new folder is a new version

    replace(LambdaFunction, "_set_function_code", set_function_code)


def moto_triggers_invoke_through_the_runtime() -> None:
    """Wherever moto invokes a function itself, as an AWS service would (S3 event notifications,
    Kinesis, Logs subscriptions, Secrets Manager rotation, ...), it ran the function in Docker;
    with no Docker the trigger did nothing and the deploy looked fine. Each such invocation is
    an asynchronous invocation of the emulator's runtime, as these services invoke on AWS
    (retries, destinations: asynchronous.py). moto's Docker path refuses loudly, so nothing
    reaches it unseen."""

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        invoke_async = wired().invoke_async
        if invoke_async is None:
            raise RuntimeError(
                f"{self.function_name} not invoked: the emulator's Lambda runtime is not running"
            )
        payload = body if isinstance(body, bytes) else str(body or "{}").encode()
        invoke_async(self.region, self.function_arn, payload)
        return b""

    replace(LambdaFunction, "invoke", invoke)
    replace(LambdaFunction, "_invoke_lambda", docker.refuse)  # (core/docker.py refuses the others)
