"""The credential scope of a SigV4-signed request (`Authorization: AWS4-HMAC-SHA256
Credential=<access key>/<date>/<region>/<service>/aws4_request, ...`): who signed it, for which
region and service. The one parser of it in the emulator."""

import re
from dataclasses import dataclass
from typing import Any

_SCOPE = re.compile(r"Credential=([A-Za-z0-9]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/")


@dataclass(frozen=True)
class Scope:
    access_key_id: str
    date: str
    region: str
    service: str


def scope(environ: dict[str, Any]) -> Scope | None:
    """The request's credential scope; None for an unsigned request (or one signed otherwise)."""
    found = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return Scope(*found.groups()) if found else None
