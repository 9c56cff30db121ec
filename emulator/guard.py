"""Browser safety, as LocalStack's CORS checks do it: the emulator listens on loopback, but any web
page the user opens could still send it requests (a cross-origin POST to /moto-api/reset needs no
preflight) or reach it through DNS rebinding. So requests are refused (403) when

- their Host is not a loopback name: localhost (and its subdomains), 127.0.0.1, [::1], the
  *.localhost.localstack.cloud names LocalStack's tools use, or one in EMULATOR_ALLOWED_HOSTS;
- they carry an Origin that is not loopback (or in EXTRA_CORS_ALLOWED_ORIGINS, LocalStack's setting);
- they change state through /moto-api/ without a JSON body (a form or text/plain post).

SDKs, CLIs and curl send no Origin and name the endpoint they were given, so they pass.
"""

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit

from emulator.http import Response

LOOPBACK_HOST = re.compile(
    r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1|(.+\.)?localhost|(.+\.)?localhost\.localstack\.cloud)$"
)


def _listed(variable: str) -> set[str]:
    return {
        item.strip().lower().rstrip("/") for item in os.environ.get(variable, "").split(",") if item.strip()
    }


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:4566
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_host(host: str) -> bool:
    name = _host_name(host)
    return bool(LOOPBACK_HOST.match(name)) or name in _listed("EMULATOR_ALLOWED_HOSTS")


def allowed_origin(origin: str) -> bool:
    origin = origin.strip().lower().rstrip("/")
    if origin in _listed("EXTRA_CORS_ALLOWED_ORIGINS"):
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and allowed_host(parts.netloc)


def refusal(environ: dict[str, Any]) -> Response | None:
    """A 403 for a request a browser page could have sent on its own, else None."""
    host = environ.get("HTTP_HOST", "")
    if host and not allowed_host(host):
        return _forbidden(f"Host {host!r} is not a loopback name (EMULATOR_ALLOWED_HOSTS adds more)")
    origin = environ.get("HTTP_ORIGIN")
    if origin == "null":
        return _forbidden("Origin 'null' (a sandboxed page or a file) is not allowed")
    if origin and not allowed_origin(origin):
        return _forbidden(f"Origin {origin!r} is not allowed (EXTRA_CORS_ALLOWED_ORIGINS adds more)")
    if (
        environ.get("PATH_INFO", "").startswith("/moto-api/")
        and environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS")
        and "json" not in environ.get("CONTENT_TYPE", "").lower()
    ):
        return _forbidden("state-changing /moto-api/ requests must send a JSON body (make local-reset does)")
    return None


def _forbidden(message: str) -> Response:
    return Response(403, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())
