"""The emulator's HTTP answers: one Response type for every part of the data plane, and how it
goes out through WSGI."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: tuple[str, ...] = field(default=())  # each its own Set-Cookie header


def respond(start_response: StartResponse, response: Response) -> Iterable[bytes]:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    headers += [("Set-Cookie", cookie) for cookie in response.cookies]
    headers.append(("Content-Length", str(len(response.body))))
    start_response(f"{response.status} {reason}", headers)
    return [response.body]


def json_response(status: int, body: bytes, **headers: str) -> Response:
    return Response(status, {"Content-Type": "application/json", **headers}, body)
