"""One request to an HTTP API, read from the WSGI environ once: everything the event, the
routing and the access log need."""

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S +0000"  # $context.requestTime and the event's time


@dataclass(frozen=True)
class HttpRequest:
    api_id: str
    path: str  # after the API id (path form) or as sent (host form); a stage prefix still in it
    method: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ","
    raw_query: str
    body: bytes | None  # None: over MAX_BODY_BYTES
    source_ip: str
    protocol: str
    scheme: str
    server_port: str
    request_id: str = field(
        default_factory=lambda: base64.b64encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
    )
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)

    @staticmethod
    def from_environ(environ: dict[str, Any], api_id: str, path: str) -> "HttpRequest":
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").lower()
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                name = key.replace("_", "-").lower()
            else:
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        return HttpRequest(
            api_id=api_id,
            path=path,
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            headers=headers,
            raw_query=environ.get("QUERY_STRING", ""),
            body=read_body(environ),
            # the connection's address, as API Gateway takes it: a client's X-Forwarded-For is not trusted
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            scheme=environ.get("wsgi.url_scheme", "http"),
            server_port=str(environ.get("SERVER_PORT", "")),
        )

    @property
    def host(self) -> str:
        return self.headers.get("host", "-").split(":")[0]

    @property
    def request_time(self) -> str:
        return self.received_at.strftime(REQUEST_TIME_FORMAT)


def read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is over 10 MiB (API Gateway's payload limit)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        if int(length) > MAX_BODY_BYTES:
            return None
        return environ["wsgi.input"].read(int(length))
    if environ.get("wsgi.input_terminated"):  # chunked: the server marks where the body ends
        body = environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
        return None if len(body) > MAX_BODY_BYTES else body
    return b""
