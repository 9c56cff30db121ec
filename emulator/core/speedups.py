"""moto speed-ups that keep its answers: each computes the same response with less work.
(SQS's own are in sqs/speedups.py.)"""

import functools
import json
import math
import string
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from emulator import json_protocol, sigv4
from emulator.http import Response, StartResponse, respond
from emulator.patching import original, replace, swapped

PLAIN_RESULTS_TO_VERIFY = 20
PLAIN_RESULTS_VERIFIED: dict[str, int] = {}  # "service.Operation" -> results that serialized identically
PLAIN_RESULTS_DIFFER: set[str] = set()  # operations that keep moto's serializer


def install() -> None:
    cache_pure_helpers()
    draw_random_strings_at_once()
    serialize_plain_json_results_directly()
    look_up_known_accounts_directly()


def cache_pure_helpers() -> None:
    """Two pure functions moto calls on every request, computed once per argument instead: the
    method list of a response class (inspect.getmembers, to find the action's handler) and
    camelcase_to_underscores (the action's name)."""
    from moto.core import responses, utils

    replace(responses, "method_names_from_class", functools.cache(utils.method_names_from_class))
    cached = functools.lru_cache(maxsize=8192)(utils.camelcase_to_underscores)
    replace(utils, "camelcase_to_underscores", cached)
    replace(responses, "camelcase_to_underscores", cached)  # it imported the name


def _is_plain_json(value: Any) -> bool:
    if isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    # Empty lists and maps too: the shape serializer drops some of them (CloudWatch does).
    if isinstance(value, list):
        return bool(value) and all(_is_plain_json(item) for item in value)
    if isinstance(value, dict):
        return bool(value) and all(isinstance(k, str) and _is_plain_json(v) for k, v in value.items())
    return False  # None, bytes, datetimes, Decimals: the shape serializer decides how they look


def serialize_plain_json_results_directly() -> None:
    """For the JSON protocol (SQS and DynamoDB, what every order calls), moto's results are mostly
    already in wire shape (strings, numbers, maps, lists), and its shape-walking serializer
    turning them into JSON was ~40 % of a GetItem. Such results become JSON directly; anything
    else takes moto's serializer. Each operation's first results are serialized both ways and
    compared; an operation that ever differs keeps moto's serializer."""
    from moto.core.responses import ActionResult
    from moto.core.serialize import JSONSerializer

    original = ActionResult.execute_result
    lock = threading.Lock()

    @functools.wraps(original)
    def execute_result(self: ActionResult, context: Any) -> Any:
        operation = f"{context.service_model.service_name}.{context.operation_model.name}"
        if (
            context.serializer_class is not JSONSerializer
            or operation in PLAIN_RESULTS_DIFFER
            or not isinstance(self.result, dict)
            or (self.result and not _is_plain_json(self.result))  # {}: PutItem, DeleteItem, ...
        ):
            return original(self, context)
        status = context.operation_model.http.get("responseCode", 200)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        fast = status, {"Content-Type": f"application/x-amz-json-{version}"}, json.dumps(self.result)
        if PLAIN_RESULTS_VERIFIED.get(operation, 0) >= PLAIN_RESULTS_TO_VERIFY:
            return fast
        slow = original(self, context)
        # The same JSON values, key order aside (1 and 1.0, or true and 1, count as different).
        same = (slow[0], slow[1]) == (fast[0], fast[1]) and json.dumps(
            json.loads(slow[2] or "{}"), sort_keys=True
        ) == json.dumps(self.result, sort_keys=True)
        with lock:
            if same:
                PLAIN_RESULTS_VERIFIED[operation] = PLAIN_RESULTS_VERIFIED.get(operation, 0) + 1
            else:
                PLAIN_RESULTS_DIFFER.add(operation)
        return slow

    replace(ActionResult, "execute_result", execute_result)


def look_up_known_accounts_directly() -> None:
    """moto's `BackendDict[account]` (every request, often several times) takes a global lock,
    lists the dict's keys and looks itself up in the list of every BackendDict, comparing dicts
    by value on the way. All of that makes sure the account's backend exists and is registered
    for `BackendDict.reset()`, which is true for any account already present: only that path
    adds one, and `reset()` removes the accounts with the registrations. A present account is
    answered directly; a new one takes moto's path."""
    from moto.core.base_backend import BackendDict

    create = original(BackendDict, "__getitem__")

    def __getitem__(self: BackendDict[Any], account_id: str) -> Any:
        try:
            return dict.__getitem__(self, account_id)
        except KeyError:
            return create(self, account_id)

    replace(BackendDict, "__getitem__", __getitem__)


def draw_random_strings_at_once() -> None:
    """moto draws its request ids (52 characters, every response) one random.choice at a time;
    random.choices draws them in one call, from the same alphabet and the same (seedable)
    generator."""
    from moto.moto_api._internal.moto_random import MotoRandom

    def get_random_string(
        self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        text = "".join(
            self.choices(string.ascii_letters + (string.digits if include_digits else ""), k=length)
        )
        return text.lower() if lower_case else text

    replace(MotoRandom, "get_random_string", get_random_string)


class CachingDispatcher(DomainDispatcherApplication):
    """moto's dispatcher lists its package directory and tries every service URL pattern, under a
    global lock, on every request (a third of a SendMessage). The service only depends on the
    host, the SigV4 credential scope and the X-Amz-Target prefix, so the answer is cached by those."""

    def __init__(self, create_app: Callable[[str], Any]) -> None:
        super().__init__(create_app)
        self._cache: dict[tuple[str, str, str, str], Any] = {}

    def get_application(self, environ: dict[str, Any]) -> Any:
        signed = sigv4.scope(environ)
        path = environ.get("PATH_INFO", "")
        if signed is None or path.startswith(("/moto-api", "/latest/")):
            return super().get_application(environ)  # unsigned or special: moto decides from the body
        key = (
            environ.get("HTTP_HOST", ""),
            signed.service,
            signed.region,
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
        target, body = environ.get("HTTP_X_AMZ_TARGET", ""), request.get_data()
        refused = json_protocol.refusal(target, body)
        if refused is not None:
            return respond(start_response, refused)
        # What werkzeug's url properties would compute, for the only path this takes ("/").
        url = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', 'localhost')}/"
        if environ.get("QUERY_STRING"):
            url += f"?{environ['QUERY_STRING']}"
        try:
            result = dispatch(request, url, dict(request.headers))
        except ClientError as error:  # as moto's Flask view answers it
            result = 400, {}, error.response["Error"]["Message"]
        except Exception:
            explained = json_protocol.explain(target, body)
            if explained is None:
                raise
            return respond(start_response, explained)
        status, headers, body = result if len(result) == 3 else (200, {}, result)
        if isinstance(body, str):
            body = body.encode()
        return respond(
            start_response, Response(int(status), {k: str(v) for k, v in dict(headers).items()}, body)
        )


@contextmanager
def one_boto_session() -> Iterator[None]:
    """While moto's CloudFormation imports every service, its EC2 region list asks three new boto3
    Sessions for EC2's regions, and each loads EC2's service model (~0.12 s apiece): during the
    import they get moto's one shared Session (the same answers; loaded once), then the name is
    put back. Cuts that import, and so a restored `make up`, by about a third."""
    import boto3
    from moto.core.base_backend import AccountSpecificBackend

    shared = AccountSpecificBackend.get_session()
    session_class = boto3.Session
    with swapped(boto3, "Session", lambda *args, **kwargs: shared):
        yield
    from moto.ec2.models import availability_zones_and_regions

    availability_zones_and_regions.Session = session_class  # type: ignore[misc]  # it imported the name
