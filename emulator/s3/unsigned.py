"""Unsigned requests that reach no service: moto would answer them as S3 (`NoSuchBucket` XML),
which tells a user who mistyped an API URL nothing. Anonymous access to an existing bucket, and
every signed, presigned or form-encoded (query protocol) request, still goes to moto."""

import json
from typing import Any

from emulator.http import Response

# Paths moto serves without a signature that are not S3
OWN_UNSIGNED_PREFIXES = ("/moto-api", "/latest/", "/favicon.ico")


def stray(environ: dict[str, Any], account_id: str) -> Response | None:
    """A 404 JSON that says where things are, for an unsigned request moto would take as S3 for a
    bucket that does not exist; None for everything else."""
    if environ.get("HTTP_AUTHORIZATION") or environ.get("HTTP_X_AMZ_TARGET"):
        return None
    query = environ.get("QUERY_STRING", "")
    if "X-Amz-Credential=" in query or "Signature=" in query:  # presigned (SigV4, SigV2)
        return None
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None  # query-protocol APIs (Action=...), which moto routes from the body
    path = environ.get("PATH_INFO", "") or "/"
    if path.startswith(OWN_UNSIGNED_PREFIXES) or ".s3." in environ.get("HTTP_HOST", ""):
        return None
    from moto.s3.models import s3_backends  # here: S3's models cost start-up time, and this path is rare

    bucket = path.lstrip("/").split("/", 1)[0]
    if bucket and bucket in s3_backends[account_id]["global"].buckets:
        return None
    message = (
        f"Nothing here at {path}: the request is unsigned, names no bucket that exists and is not "
        "an HTTP API path (/_aws/execute-api/{apiId}/...; `make url` prints the stack's). "
        'AWS SDKs and the CLI sign their requests: set AWS_ENDPOINT_URL (`eval "$(make -s env)"`).'
    )
    return Response(404, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())
