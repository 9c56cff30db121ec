"""The emulator process: moto's WSGI app behind a dispatcher that hands the data plane (HTTP
APIs, Lambda Invoke, health) to the project's own code, per service in emulator/<service>/."""

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("MOTO_ACCOUNT_ID", "000000000000")

from moto.moto_server.werkzeug_app import create_backend_app
from waitress import wasyncore
from waitress.server import create_server

from emulator import console, guard, moto_changes, persistence, settings, sigv4, wiring
from emulator.apigw.gateway import HttpApiGateway
from emulator.cloudformation.custom import Answers
from emulator.cloudwatch import dashboards
from emulator.cloudwatch.evaluation import EVALUATE_SECONDS, AlarmEvaluator
from emulator.cloudwatch.metrics import MetricRecorder
from emulator.core.speedups import CachingDispatcher, SdkFastPath
from emulator.events.schedule import Schedules
from emulator.http import Response, StartResponse, json_response, respond
from emulator.iam.credentials import CredentialStore
from emulator.iam.enforcement import Authorizer
from emulator.lambda_ import invoke
from emulator.lambda_.asynchronous import AsyncInvoker
from emulator.lambda_.event_sources import EventSourceManager
from emulator.lambda_.runtime import LambdaRuntime
from emulator.lambda_.tracing import Tracing
from emulator.logs.pages import LogPages
from emulator.s3 import unsigned
from emulator.sns import delivery
from emulator.sns import pages as sns_pages
from emulator.sqs.metrics import sample_queue_metrics
from emulator.xray.api import XRayApi
from emulator.xray.daemon import Daemon
from emulator.xray.pages import TracePages
from emulator.xray.sampling import Sampler
from emulator.xray.traces import TraceStore

log = logging.getLogger("emulator")
HEALTH_PATHS = ("/_localstack/health", "/_emulator/health")
REQUEST_THREADS = 128
# The functions' SDK calls during an invocation travel over their worker's pipes
# (emulator.lambda_.sdk_calls); the rest (at init, from threads the handler left running) arrive
# on a listener of their own. Neither queues behind the API requests that wait for those very
# functions (under overload that wait made ProcessOrder time out and dead-letter valid orders).
INTERNAL_THREADS = 64
SERVICES = (
    "apigatewayv2",
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "events",
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


def _create_app(service: Any) -> Any:
    if service in persistence.LAZY:  # loads with CloudFormation, and a restore completes there
        moto_changes.load_cloudformation()
    return create_backend_app(service)


Handler = Callable[[dict[str, Any]], Response | None]  # a request's answer, or None: not its request


def first_answer(handlers: Iterable[Handler], environ: dict[str, Any]) -> Response | None:
    for handler in handlers:
        response = handler(environ)
        if response is not None:
            return response
    return None


class EmulatorApp:
    def __init__(
        self,
        account_id: str,
        runtime: LambdaRuntime,
        default_region: str,
        authorizer: Authorizer,
        changed: Callable[[], None] = lambda: None,  # told of every request that may change state
        traces: TraceStore | None = None,
    ) -> None:
        self.iam = authorizer
        self.moto = CachingDispatcher(_create_app)
        self.fast_path = SdkFastPath()
        self.http_api = HttpApiGateway(account_id, runtime, self.iam, runtime.recorder)
        self.account_id = account_id
        self.runtime = runtime
        self.events = AsyncInvoker(runtime)
        self.custom_resources = Answers()
        self.schedules = Schedules(account_id, default_region)
        self.default_region = default_region
        self.ready = False
        self.started_at = time.time()
        self.changed = changed
        traces = traces or TraceStore()
        # What the emulator saw, read-only, each at its path.
        self.reports: dict[str, Callable[[], Any]] = {
            "/_emulator/iam/report": self.iam.report,  # `make iam-report`: each role's use
            "/_emulator/lambda/cpu": runtime.handler_cpu.report,  # `make bench`: the functions' own CPU
        }
        # Who answers a request before moto, in order: the first that does not return None.
        self.handlers: tuple[Handler, ...] = (
            self._health,  # /_localstack/health
            self._report,  # /_emulator/iam/report, /_emulator/lambda/cpu
            self.http_api.handle,  # an HTTP API's URL: the API's route runs
            self._lambda_invoke,  # Lambda Invoke: the runtime runs the function
            XRayApi(traces).handle,  # X-Ray's API, from what was recorded
            self.custom_resources.receive,  # a custom resource function's answer (its ResponseURL)
            self.schedules.fire_request,  # `make fire`: a scheduled rule fires now
            self._console,  # the local console's pages
            delivery.link,  # the confirm/unsubscribe links of SNS's mails
            lambda environ: unsigned.stray(environ, account_id),  # a stray unsigned S3 request
        )
        # The console's pages, each service's own; asked only for paths under the console's.
        self.console_pages: tuple[Handler, ...] = (
            lambda environ: dashboards.console(environ, account_id, default_region, runtime.recorder),
            TracePages(traces).handle,  # traces, one order's journey, the service map
            console.assets,  # the charting library (uPlot, from node_modules)
            LogPages(account_id, default_region).handle,  # log lines
            sns_pages.handle,  # the mailbox
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in HEALTH_PATHS and path not in self.reports:  # the rest may change state
            self.changed()
        refused = guard.refusal(environ) or self.iam.refusal(environ)
        if refused is not None:
            return respond(start_response, refused)
        try:
            response = self._data_plane(environ)
        except Exception:
            log.exception("data plane error on %s %s", environ.get("REQUEST_METHOD"), path)
            response = json_response(500, b'{"message":"Internal Server Error"}')
        if response is not None:
            return respond(start_response, response)
        try:
            fast = self.fast_path.handles(environ)
            if fast is not None:
                return self.fast_path(fast, environ, start_response)
            return self.moto(environ, start_response)
        except NotImplementedError as error:
            return respond(start_response, self._unsupported(environ, str(error)))

    def _data_plane(self, environ: dict[str, Any]) -> Response | None:
        """The project's own answer, or None for moto's."""
        return first_answer(self.handlers, environ)

    def _console(self, environ: dict[str, Any]) -> Response | None:
        if not environ.get("PATH_INFO", "").startswith(console.CONSOLE_PATH):
            return None
        return first_answer(self.console_pages, environ)

    def _report(self, environ: dict[str, Any]) -> Response | None:
        report = self.reports.get(environ.get("PATH_INFO", ""))
        if report is None:
            return None
        return json_response(200, json.dumps(report()).encode())

    def _lambda_invoke(self, environ: dict[str, Any]) -> Response | None:
        function = invoke.function_invoked(environ)
        if function is None:
            return None
        return invoke.invoke(self.runtime, self.events, environ, function, self._region(environ))

    @staticmethod
    def _unsupported(environ: dict[str, Any], message: str) -> Response:
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
        return Response(400, headers, body)

    def _health(self, environ: dict[str, Any]) -> Response | None:
        if environ.get("PATH_INFO") not in HEALTH_PATHS:
            return None
        state = "running" if self.ready else "starting"
        body = {
            "edition": "embedded",
            "ready": self.ready,
            "uptimeSeconds": round(time.time() - self.started_at, 3),
            "services": {
                **dict.fromkeys((*SERVICES, "xray"), state),
                # LocalStack's word for a service that loads on first use
                "cloudformation": "running" if moto_changes.cloudformation_loaded() else "available",
            },
        }
        return json_response(200 if self.ready else 503, json.dumps(body).encode())

    def _region(self, environ: dict[str, Any]) -> str:
        signed = sigv4.scope(environ)
        return signed.region if signed else self.default_region


class Emulator:
    """Start/stop the whole emulator in this process (tests and `python -m emulator`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = settings.DEFAULT_PORT,
        work_dir: Path = settings.WORK_DIR,
        region: str = settings.DEFAULT_REGION,
        concurrency: int = settings.DEFAULT_CONCURRENCY,
        mailbox: Path = settings.MAILBOX,
        iam: str = "enforce",
        state_dir: Path | None = None,
        xray_sample: str = "all",
    ) -> None:
        moto_changes.install()
        self.state_file = state_dir.resolve() / persistence.STATE_FILE if state_dir else None
        self.saver: persistence.Saver | None = None
        self.iam = iam
        self.sampler = Sampler(xray_sample)
        self.mailbox = mailbox.resolve()
        self.account_id = os.environ["MOTO_ACCOUNT_ID"]
        self.host, self.port = host, port
        self.work_dir = work_dir.resolve()
        self.region = region
        self.concurrency = concurrency
        self._server: Any = None
        self._internal: Any = None
        self.xray_daemon: Daemon | None = None

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0") else self.host  # noqa: S104 - comparison only
        return f"http://{host}:{self.port}"

    def _dispatch(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.app(environ, start_response)

    def _listen(self, host: str, port: int, threads: int) -> Any:
        # waitress: HTTP/1.1 keep-alive and a thread pool; data-plane requests block while their
        # function runs, so the public pool is large
        return create_server(
            self._dispatch,
            host=host,
            port=port,
            threads=threads,
            connection_limit=4 * threads,
            backlog=1024,
            channel_timeout=120,
            max_request_body_size=1024**3,
            ident="emulator",
            asyncore_use_poll=True,
        )

    def start(self) -> "Emulator":
        self._server = self._listen(self.host, self.port, REQUEST_THREADS)
        self.port = self._server.effective_port  # when port 0 asked for a free one
        self._internal = self._listen("127.0.0.1", 0, INTERNAL_THREADS)
        internal_url = f"http://127.0.0.1:{self._internal.effective_port}"
        recorder = MetricRecorder()  # every metric the emulator records, and what alarms evaluate
        credentials = CredentialStore()  # the functions' role credentials, issued by the runtime
        traces = TraceStore()  # X-Ray: what the functions' SDKs and the Lambda service record
        self.xray_daemon = Daemon(traces).start() if self.sampler.mode != "off" else None
        tracing = Tracing(traces, self.sampler, self.xray_daemon.address) if self.xray_daemon else None
        if self.state_file is not None:
            self.saver = persistence.Saver(
                self.state_file, SERVICES, moto_changes.load_cloudformation, recorder
            )
        changed = self.saver.changed if self.saver is not None else lambda: None
        self.runtime = LambdaRuntime(
            self.account_id,
            self.work_dir / "functions",
            internal_url,
            self.concurrency,
            recorder=recorder,
            credentials=credentials,
            tracing=tracing,
            sdk_app=self._dispatch,
        )
        self.app = EmulatorApp(
            self.account_id, self.runtime, self.region, Authorizer(self.iam, credentials), changed, traces
        )
        wiring.wire(
            wiring.Wiring(
                mailbox=self.mailbox,
                public_url=self.url,
                recorder=recorder,
                invoke_async=self.app.events.submit,
                invoke=self.runtime.invoke,
                custom_resource_answers=self.app.custom_resources,
                authorizer=self.app.iam,
            )
        )
        self.event_sources = EventSourceManager(self.account_id, self.runtime, self.app.iam, changed=changed)
        if self.state_file is not None and self.saver is not None:  # before anything polls or answers
            restored, stacks = persistence.restore(self.state_file, SERVICES, recorder)
            log.info(restored)
            if stacks is not None:
                moto_changes.when_cloudformation_loads(lambda: log.info(stacks()))
            self.saver.start()
        self.runtime.remove_code(keep_deployed=True)  # an earlier run's, unless restored just now
        for name, server in (("http", self._server), ("http-functions", self._internal)):
            threading.Thread(target=server.run, name=name, daemon=True).start()
        self.event_sources.start()
        self.app.schedules.start()
        self.runtime.watch_deployments()
        self.app.ready = True
        threading.Thread(
            target=moto_changes.load_cloudformation, name="load-cloudformation", daemon=True
        ).start()
        threading.Thread(target=self._watch_metrics, name="cloudwatch", daemon=True).start()
        log.info(
            "emulator ready on %s (functions call back on %s; account %s, region %s)",
            self.url,
            internal_url,
            self.account_id,
            self.region,
        )
        return self

    def _watch_metrics(self) -> None:
        """SQS's gauges sampled and every metric alarm evaluated, every EVALUATE_SECONDS."""
        alarms = AlarmEvaluator(self.account_id, self.runtime.recorder)
        while self.app.ready:
            try:
                sample_queue_metrics(self.runtime.recorder, self.account_id)
                if alarms.evaluate_all():
                    self.app.changed()  # a new alarm state is worth saving; datapoints alone wait
            except Exception:
                log.exception("sampling metrics or evaluating alarms failed")
            time.sleep(EVALUATE_SECONDS)

    def stop(self, timeout: float = 4.0) -> None:
        """Stop accepting at once, stop polling, kill every worker, finish what is in flight.
        Unfinished batches return to their queues."""
        deadline = time.monotonic() + timeout
        if self._server is not None:
            self.app.ready = False
            for server in (self._server, self._internal):
                # only the listening socket (waitress's close() also stops the loop that sends
                # the answers still in flight): new connections are refused from now on
                wasyncore.dispatcher.close(server)
            self.app.schedules.stop()
            self.event_sources.stop(max(0.1, deadline - time.monotonic() - 1.5))
            self.runtime.close(keep_code=self.saver is not None)  # kills workers: waiting requests end now
            if self.xray_daemon is not None:
                self.xray_daemon.stop()
            for server in (self._server, self._internal):
                server.task_dispatcher.shutdown(timeout=max(0.1, deadline - time.monotonic()))
                server.close()
            if self.saver is not None:
                self.saver.stop()
        log.info("emulator stopped")

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
