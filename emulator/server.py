"""The emulator process: moto's WSGI app behind a dispatcher that hands the data plane
(HTTP APIs, Lambda Invoke, health) to the project's own code."""

import base64
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

os.environ.setdefault("MOTO_ACCOUNT_ID", "000000000000")

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress.server import create_server

from emulator import control_plane
from emulator.event_source import EventSourceManager
from emulator.http_api import HttpApiGateway
from emulator.lambda_runtime import FunctionNotFound, LambdaRuntime, Throttled

log = logging.getLogger("emulator")
HEALTH_PATHS = ("/_localstack/health", "/_emulator/health")
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/")
REQUEST_THREADS = 128
SERVICES = (
    "apigatewayv2",
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sns",
    "sqs",
    "ssm",
    "sts",
)

StartResponse = Callable[..., Any]


def _respond(
    start_response: StartResponse, status: int, headers: dict[str, str], body: bytes
) -> Iterable[bytes]:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    header_list = [(k, v) for k, v in headers.items() if k.lower() != "set-cookie"]
    header_list += [
        ("Set-Cookie", c) for k, v in headers.items() if k.lower() == "set-cookie" for c in v.split("\n")
    ]
    header_list.append(("Content-Length", str(len(body))))
    start_response(f"{status} {reason}", header_list)
    return [body]


class CachingDispatcher(DomainDispatcherApplication):
    """moto's dispatcher lists its package directory and tries every service URL pattern, under a
    global lock, on every request (a third of a SendMessage). The service only depends on the
    host, the SigV4 credential scope and the X-Amz-Target prefix, so the answer is cached by those."""

    def __init__(self) -> None:
        super().__init__(self._create_app)
        self._cache: dict[tuple[str, str, str], Any] = {}

    @staticmethod
    def _create_app(service: Any) -> Any:
        if service == "cloudformation":
            control_plane.load_cloudformation()
        return create_backend_app(service)

    def get_application(self, environ: dict[str, Any]) -> Any:
        scope = REGION_IN_AUTH.search(environ.get("HTTP_AUTHORIZATION", ""))
        path = environ.get("PATH_INFO", "")
        if scope is None or path.startswith(("/moto-api", "/latest/")):
            return super().get_application(environ)  # unsigned or special: moto decides from the body
        key = (
            environ.get("HTTP_HOST", ""),
            scope.group(0),
            environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0],
        )
        app = self._cache.get(key)
        if app is None:
            app = self._cache[key] = super().get_application(environ)
        return app


class SdkFastPath:
    """The SDK calls every order makes (SQS and DynamoDB, JSON protocol) straight to moto's own
    response classes, the way moto's Flask view would call them, without Flask, its debug
    helpers and CORS, which were a third of the emulator's CPU under load. Same parsing, same
    backends, same responses; anything else goes the usual way."""

    def __init__(self) -> None:
        from moto.dynamodb.responses import DynamoHandler
        from moto.moto_server.werkzeug_app import BackendRequest
        from moto.sqs.responses import SQSResponse

        self.request_class = BackendRequest
        self.dispatchers: dict[str, Callable[..., Any]] = {
            "AmazonSQS": SQSResponse().dispatch,
            "DynamoDB_20120810": DynamoHandler.dispatch,
        }

    def handles(self, environ: dict[str, Any]) -> Callable[..., Any] | None:
        if environ.get("PATH_INFO") != "/" or environ.get("REQUEST_METHOD") != "POST":
            return None
        return self.dispatchers.get(environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0])

    def __call__(
        self, dispatch: Callable[..., Any], environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        from botocore.exceptions import ClientError

        request = self.request_class(environ)
        # What werkzeug's url properties would compute, for the only path this takes ("/").
        url = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', 'localhost')}/"
        if environ.get("QUERY_STRING"):
            url += f"?{environ['QUERY_STRING']}"
        try:
            result = dispatch(request, url, dict(request.headers))
        except ClientError as error:  # as moto's Flask view answers it
            result = 400, {}, error.response["Error"]["Message"]
        status, headers, body = result if len(result) == 3 else (200, {}, result)
        if isinstance(body, str):
            body = body.encode()
        return _respond(
            start_response,
            int(status),
            {k: str(v) for k, v in dict(headers).items() if k.lower() != "content-length"},
            body,
        )


class EmulatorApp:
    def __init__(self, account_id: str, runtime: LambdaRuntime, default_region: str) -> None:
        self.moto = CachingDispatcher()
        self.fast_path = SdkFastPath()
        self.http_api = HttpApiGateway(account_id, runtime)
        self.runtime = runtime
        self.default_region = default_region
        self.ready = False
        self.started_at = time.time()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            if path in HEALTH_PATHS:
                return self._health(start_response)
            target = HttpApiGateway.target(environ)
            if target is not None:
                return _respond(start_response, *self.http_api.handle(environ, *target))
            invoke = INVOKE_PATH.match(path)
            if invoke and environ.get("REQUEST_METHOD") == "POST":
                return self._invoke(environ, start_response, invoke.group("name"))
        except Exception:
            log.exception("data plane error on %s %s", environ.get("REQUEST_METHOD"), path)
            return _respond(
                start_response,
                500,
                {"Content-Type": "application/json"},
                b'{"message":"Internal Server Error"}',
            )
        try:
            fast = self.fast_path.handles(environ)
            if fast is not None:
                return self.fast_path(fast, environ, start_response)
            return self.moto(environ, start_response)
        except NotImplementedError as error:
            return self._unsupported(environ, start_response, str(error))

    @staticmethod
    def _unsupported(environ: dict[str, Any], start_response: StartResponse, message: str) -> Iterable[bytes]:
        """An action moto lacks: a clear 400 UnsupportedOperation in the caller's protocol, not a
        500 that SDKs retry."""
        text = f"{message} (not supported by the embedded emulator)"
        if "json" in environ.get("CONTENT_TYPE", ""):
            body = json.dumps({"__type": "UnsupportedOperation", "message": text}).encode()
            headers = {
                "Content-Type": "application/x-amz-json-1.0",
                "x-amzn-query-error": "UnsupportedOperation;Sender",
            }
        else:
            body = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>UnsupportedOperation</Code>"
                f"<Message>{text}</Message></Error></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        return _respond(start_response, 400, headers, body)

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        state = "running" if self.ready else "starting"
        body = {
            "edition": "embedded",
            "ready": self.ready,
            "uptimeSeconds": round(time.time() - self.started_at, 3),
            "services": {
                **dict.fromkeys(SERVICES, state),
                # LocalStack's word for a service that loads on first use
                "cloudformation": "running" if control_plane.cloudformation_loaded() else "available",
            },
        }
        return _respond(
            start_response,
            200 if self.ready else 503,
            {"Content-Type": "application/json"},
            json.dumps(body).encode(),
        )

    def _region(self, environ: dict[str, Any]) -> str:
        match = REGION_IN_AUTH.search(environ.get("HTTP_AUTHORIZATION", ""))
        return match.group("region") if match else self.default_region

    def _invoke(self, environ: dict[str, Any], start_response: StartResponse, name: str) -> Iterable[bytes]:
        """Lambda's Invoke API, run by the same runtime as every other invocation."""
        name = unquote(name)  # a function name or an ARN, percent-encoded in the path

        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = environ["wsgi.input"].read(length) if length else b"{}"
        region = self._region(environ)
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        json_type = {"Content-Type": "application/json"}

        def not_found(message: str) -> Iterable[bytes]:
            body = json.dumps({"Type": "User", "Message": message}).encode()
            return _respond(
                start_response, 404, {**json_type, "x-amzn-ErrorType": "ResourceNotFoundException"}, body
            )

        try:
            self.runtime.function(region, name)
        except FunctionNotFound as error:
            return not_found(str(error))
        if invocation_type == "DryRun":
            return _respond(start_response, 204, {}, b"")
        if invocation_type == "Event":
            threading.Thread(target=self.runtime.invoke, args=(region, name, payload), daemon=True).start()
            return _respond(start_response, 202, {}, b"")
        try:
            result = self.runtime.invoke(region, name, payload)
        except Throttled as error:
            body = json.dumps(
                {
                    "Type": "User",
                    "message": str(error),
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                }
            )
            return _respond(
                start_response,
                429,
                {**json_type, "x-amzn-ErrorType": "TooManyRequestsException"},
                body.encode(),
            )
        headers = {**json_type, "X-Amz-Executed-Version": "$LATEST"}
        if not result.ok:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail.encode()[-4096:]).decode()
        return _respond(start_response, 200, headers, result.payload)


class Emulator:
    """Start/stop the whole emulator in this process (tests and `python -m emulator`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        work_dir: Path = Path(".local/emulator"),
        region: str = "us-east-1",
        concurrency: int = 4,
    ) -> None:
        control_plane.install()
        self.account_id = os.environ["MOTO_ACCOUNT_ID"]
        self.host, self.port = host, port
        self.work_dir = work_dir.resolve()
        self.region = region
        self.concurrency = concurrency
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0") else self.host  # noqa: S104 - comparison only
        return f"http://{host}:{self.port}"

    def _dispatch(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.app(environ, start_response)

    def start(self) -> "Emulator":
        # waitress: HTTP/1.1 keep-alive and a thread pool. Data-plane requests block while their
        # function runs and that function's own SDK calls need threads too, so the pool is large.
        self._server = create_server(
            self._dispatch,
            host=self.host,
            port=self.port,
            threads=REQUEST_THREADS,
            connection_limit=4 * REQUEST_THREADS,
            backlog=1024,
            channel_timeout=120,
            max_request_body_size=1024**3,
            ident="emulator",
            asyncore_use_poll=True,
        )
        self.port = self._server.effective_port  # when port 0 asked for a free one
        self.runtime = LambdaRuntime(
            self.account_id, self.work_dir / "functions", f"http://127.0.0.1:{self.port}", self.concurrency
        )
        self.app = EmulatorApp(self.account_id, self.runtime, self.region)
        self.event_sources = EventSourceManager(self.account_id, self.runtime)
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()
        self.event_sources.start()
        self.runtime.watch_deployments()
        self.app.ready = True
        threading.Thread(
            target=control_plane.load_cloudformation, name="load-cloudformation", daemon=True
        ).start()
        log.info("emulator ready on %s (account %s, region %s)", self.url, self.account_id, self.region)
        return self

    def stop(self, timeout: float = 4.0) -> None:
        """Stop serving, stop polling, kill every worker. Unfinished batches return to their queues."""
        deadline = time.monotonic() + timeout
        if self._server is not None:
            self.app.ready = False
            self.event_sources.stop(max(0.1, deadline - time.monotonic() - 1.5))
            self.runtime.close()  # kills workers, so requests waiting on them end now
            self._server.task_dispatcher.shutdown(timeout=max(0.1, deadline - time.monotonic()))
            self._server.close()
        log.info("emulator stopped")

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
