"""A function's AWS SDK calls to the emulator travel over its invocation's pipes, not HTTP.

While an invocation runs, the emulator's thread that invoked the worker waits for its answer on
the worker's pipes; a call the function's SDK makes meanwhile arrives there too and is answered
through the emulator's WSGI app: the same dispatch, IAM check, moto and traces as over HTTP,
without a socket or an HTTP parser on either side (two of an order's three requests: ~2 of its ~9
ms of CPU here). A call that may wait (a long poll, a synchronous invoke) is answered by a thread
of `SdkEndpoint`'s own pool while the invoking thread goes on waiting, so the function's timeout
holds during it; a call that cannot (ANSWERED_AT_ONCE) is answered by the invoking thread. botocore
still builds, signs, sends (to a `before-send` handler, where moto's mock also answers) and parses
every call, so the function's code, its SDK and its X-Ray subsegments run as they do on AWS. Only
the signature itself is not computed for the emulator (`unverified_signer`): it reads who signed a
call, as LocalStack and moto do, and never checks the signature.

Calls made outside an invocation (at init, or by a thread the handler left running), from a
process the handler forked, and calls with a streamed body go over HTTP to the endpoint in
AWS_ENDPOINT_URL, as before.
"""

import contextlib
import functools
import io
import json
import logging
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from emulator.http import StartResponse

# The first byte of a worker's message that is an SDK call, not the invocation's answer ("{").
CALL = b"\x01"
# Set in a worker's environment when the emulator answers its calls over the pipes.
OVER_PIPES = "_EMULATOR_SDK_CALLS_OVER_PIPES"
# Calls the pool answers side by side (a long poll or a synchronous invoke holds a thread); more
# wait their turn.
ANSWERING_THREADS = 64
# Calls (by X-Amz-Target) that wait on nothing but moto: no long poll, no function run inside
# (DynamoDB Streams and SQS triggers are polled). The invoking thread answers them itself, which
# spares waking a pool thread: two thread switches per call, ~0.2 ms of the emulator's CPU per order.
ANSWERED_AT_ONCE = ("DynamoDB_20120810.", "AmazonSQS.")
MAY_WAIT = frozenset({"AmazonSQS.ReceiveMessage"})  # a long poll
# What a function's call to the emulator carries as its signature (see `unverified_signer`).
UNVERIFIED_SIGNATURE = "0" * 64

log = logging.getLogger("emulator.lambda")

App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class SdkEndpoint:
    """Where the functions' SDK calls go: `url` (AWS_ENDPOINT_URL), and the app that answers them
    over the pipes during invocations (None: all of them over HTTP to `url`)."""

    def __init__(self, url: str, app: App | None = None) -> None:
        self.url = url
        self.app = app
        self._answering = (
            ThreadPoolExecutor(ANSWERING_THREADS, thread_name_prefix="sdk-call") if app else None
        )

    def environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.url, **({OVER_PIPES: "1"} if self.app else {})}

    def take(self, message: bytes, reply: Callable[[bytes], None]) -> None:
        """Answer the worker's call (`message`) by `reply`: on this thread when it cannot wait,
        else on a thread of the pool."""
        assert self._answering is not None and self.app is not None  # workers call only when told to
        call, body = unframe(message[len(CALL) :])
        if answered_at_once(call["headers"]):
            self._answer(self.app, call, body, reply)
        else:
            self._answering.submit(self._answer, self.app, call, body, reply)

    @staticmethod
    def _answer(app: App, call: dict[str, Any], body: bytes, reply: Callable[[bytes], None]) -> None:
        try:
            answered = answer(app, call, body)
        except Exception:  # as waitress answers an app that raised: the worker must not wait on
            log.exception("an SDK call over the pipes failed")
            answered = frame(
                {"status": 500, "headers": [["Content-Type", "text/plain"]]}, b"Internal Server Error"
            )
        with contextlib.suppress(OSError):  # the worker is gone (timed out, killed)
            reply(answered)

    def close(self) -> None:
        if self._answering is not None:
            self._answering.shutdown(wait=False, cancel_futures=True)


class _Body(io.BytesIO):
    """An answer's body as botocore reads it from urllib3: whole, or streamed by `read(amt)`."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk


class WorkerSide:
    """In the worker: botocore's `before-send` handler, registered before the function's code is
    imported (its clients read the handlers when they are created)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.enabled = environ.get(OVER_PIPES) == "1"
        self.endpoint_url = environ.get("AWS_ENDPOINT_URL", "").rstrip("/") + "/"
        self._lock = threading.Lock()  # one call at a time on the pipes, and none past the answer
        self._pipes: tuple[Connection, Connection] | None = None  # (from the emulator, to it)
        self._pid = 0  # the worker's: a process the handler forks shares no lock with it

    def register(self) -> None:
        if not self.enabled:
            return
        try:
            from botocore import auth
            from botocore.handlers import BUILTIN_HANDLERS
        except ImportError:  # the function's code does not use the AWS SDK
            return
        BUILTIN_HANDLERS.append(("before-send", self.send))
        if auth.AUTH_TYPE_MAPS.get("v4") is auth.SigV4Auth:  # (awscrt's signer is left as it is)
            auth.AUTH_TYPE_MAPS["v4"] = unverified_signer(auth.SigV4Auth, self.endpoint_url)

    @contextlib.contextmanager
    def invocation(self, requests: Connection, responses: Connection) -> Iterator[None]:
        """Calls go over the pipes while the handler runs; the lock is held past the last one, so
        no call is left in a pipe when the invocation's answer is sent."""
        with self._lock:
            self._pipes, self._pid = (requests, responses), os.getpid()
        try:
            yield
        finally:
            with self._lock:
                self._pipes = None

    def send(self, request: Any, **_: Any) -> Any:
        """The emulator's answer to `request` (a botocore AWSPreparedRequest), or None: botocore
        sends it over HTTP."""
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        if not (body is None or isinstance(body, bytes)) or not request.url.startswith(self.endpoint_url):
            return None
        headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()]
        with self._lock:
            if self._pipes is None or os.getpid() != self._pid:
                return None
            requests, responses = self._pipes
            call = {"method": request.method, "url": request.url, "headers": headers}
            responses.send_bytes(CALL + frame(call, body or b""))
            answered, content = unframe(requests.recv_bytes())
        response_type, headers_type = _response_types()
        received = headers_type()
        for name, value in answered["headers"]:
            received.add(name, value)
        return response_type(request.url, answered["status"], received, _Body(content))


@functools.cache
def _response_types() -> tuple[Any, Any]:
    """botocore's response type, and urllib3's headers, as botocore gets them over HTTP (its
    stubs say HTTPHeaders; its own URLLib3Session passes urllib3's): a repeated header reads
    "a, b" (the email.Message of http.client gave its first value only), and they cost less to
    build. Imported at a worker's first call, not before: its function may not use the SDK."""
    from botocore.awsrequest import AWSResponse

    try:
        from urllib3 import HTTPHeaderDict
    except ImportError:  # urllib3 1.26
        from urllib3._collections import HTTPHeaderDict
    return AWSResponse, HTTPHeaderDict


def unverified_signer(signer: type, endpoint_url: str) -> type:
    """botocore's SigV4 signer (`signer`), which leaves out the signature of a request to the
    emulator: its Authorization header still names who signs (the credential scope the emulator's
    IAM reads), and a missing credential still fails, but the canonical request and the HMAC chain
    (~0.1 ms of the function's CPU per call) are not computed, since nothing would check them. A
    request to any other endpoint is signed in full."""
    from botocore import compat
    from botocore.auth import SIGV4_TIMESTAMP
    from botocore.exceptions import NoCredentialsError

    class UnverifiedSigV4Auth(signer):
        def add_auth(self, request: Any) -> None:
            if not request.url.startswith(endpoint_url):
                return super().add_auth(request)
            if self.credentials is None:
                raise NoCredentialsError()
            request.context["timestamp"] = compat.get_current_datetime().strftime(SIGV4_TIMESTAMP)
            self._modify_request_before_signing(request)  # X-Amz-Date, the session token
            request.headers["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={self.scope(request)}, "
                f"SignedHeaders=host;x-amz-date, Signature={UNVERIFIED_SIGNATURE}"
            )
            return None

    return UnverifiedSigV4Auth


def frame(head: dict[str, Any], body: bytes) -> bytes:
    """A call or its answer on the pipes: the head's length, the head (JSON), the body as is."""
    encoded = json.dumps(head).encode()
    return struct.pack("!I", len(encoded)) + encoded + body


def unframe(message: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack_from("!I", message)
    return json.loads(message[4 : 4 + length]), message[4 + length :]


def answered_at_once(headers: list[list[str]]) -> bool:
    target = next((value for name, value in headers if name.lower() == "x-amz-target"), "")
    return target.startswith(ANSWERED_AT_ONCE) and target not in MAY_WAIT


def answer(app: App, call: dict[str, Any], body: bytes) -> bytes:
    """In the emulator: the worker's call answered by `app`, framed."""
    captured: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [int(status.split(" ", 1)[0]), response_headers]
        return lambda data: None

    chunks = app(environ(call["method"], call["url"], call["headers"], body), start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status, response_headers = captured
    return frame({"status": status, "headers": response_headers}, content)


def environ(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The WSGI environ waitress builds for this request as botocore sends it (urllib3)."""
    parts = urlsplit(url)
    values: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "127.0.0.1",
        "SERVER_PORT": str(parts.port or 80),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_HOST": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            values["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            values["HTTP_" + key] = value
    values.setdefault("HTTP_HOST", parts.netloc)
    values.setdefault("HTTP_ACCEPT_ENCODING", "identity")  # as http.client adds it for botocore
    return values
