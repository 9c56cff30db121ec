"""Calls made with a function's credentials are authorized against its role's identity policies
(inline and attached managed), as AWS authorizes them; everything else (the user's own calls:
tests, the CDK CLI, awslocal) stays allowed, as the account's root is on AWS.

Checked: the calls `calls.describe` maps to IAM's actions and resources (DynamoDB, SQS, SNS,
CloudWatch, Lambda Invoke, S3 objects), with the condition keys the stack uses
(`dynamodb:LeadingKeys`, plus `aws:SecureTransport`, true on the loopback endpoint, which is
treated as secure: it never leaves the machine). Other calls made with function credentials are
allowed and logged once, as not checked locally.

Also what AWS checks when a service acts for a function: API Gateway may invoke it only if the
function's resource policy allows apigateway.amazonaws.com for that API (`invocation_refusal`),
and an event source mapping polls only what the function's role may receive and delete
(`role_refusal`). Every authorized call is counted for the access report (`report`).

Modes (`--iam`): enforce (default) answers AWS's AccessDeniedException; audit logs what would be
denied and lets it through; off checks nothing.
"""

import io
import json
import logging
import threading
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from emulator import arns, sigv4
from emulator.http import Response, json_response
from emulator.iam.calls import Call, describe
from emulator.iam.credentials import CredentialStore, Principal
from emulator.iam.policy import Decision, Request, UnsupportedCondition, decide
from emulator.settings import IAM_MODES

log = logging.getLogger("emulator.iam")

CACHE_SIZE = 10_000


def message(principal: Principal, request: Request, decision: Decision) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {request.action} action"
    )
    return (
        f"User: {principal.arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} {why}"
    )


def access_denied(call: Call, text: str) -> Response:
    """The denial in the protocol the call was made in, with the service's words."""
    if call.protocol == "query":
        code = "AuthorizationError" if call.service == "sns" else "AccessDenied"
        xml = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(text)}</Message></Error></ErrorResponse>"
        return Response(403, {"Content-Type": "text/xml"}, xml.encode())
    if call.service == "s3":
        xml = f"<Error><Code>AccessDenied</Code><Message>{escape(text)}</Message></Error>"
        return Response(403, {"Content-Type": "application/xml"}, xml.encode())
    if call.service == "lambda":
        body = json.dumps({"Type": "User", "message": text}).encode()
        return json_response(403, body, **{"x-amzn-ErrorType": "AccessDeniedException"})
    error = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": text}
    # SQS and CloudWatch are query-compatible: SDKs read the query protocol's code from this header
    headers = {"x-amzn-query-error": "AccessDenied;Sender"} if call.service in ("sqs", "cloudwatch") else {}
    if call.protocol == "cbor":
        headers = {**headers, "smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
        return Response(400, headers, cbor_text_map(error))
    return json_response(400, json.dumps(error).encode(), **headers)


def cbor_text_map(values: dict[str, str]) -> bytes:
    """A CBOR map of text to text (RFC 8949): all an error body needs."""

    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        for info, size in ((24, 1), (25, 2), (26, 4)):
            if length < 1 << (8 * size):
                return bytes([major << 5 | info]) + length.to_bytes(size, "big")
        raise ValueError("too long")

    def text(value: str) -> bytes:
        encoded = value.encode()
        return head(3, len(encoded)) + encoded

    return head(5, len(values)) + b"".join(text(k) + text(v) for k, v in values.items())


class Authorizer:
    def __init__(self, mode: str = "enforce", credentials: CredentialStore | None = None) -> None:
        if mode not in IAM_MODES:
            raise ValueError(f"--iam must be one of {', '.join(IAM_MODES)}, got {mode!r}")
        self.mode = mode
        self.credentials = credentials or CredentialStore()  # which function each access key is
        self._cache: dict[tuple[Any, ...], Decision] = {}
        self._lock = threading.Lock()
        self._unchecked: set[str] = set()
        self._used: dict[tuple[str, str, str, str], int] = {}  # (role, function, action, resource) -> calls

    def refusal(self, environ: dict[str, Any]) -> Response | None:
        """AWS's AccessDeniedException for a call its function's role may not make, else None."""
        if self.mode == "off":
            return None
        found = sigv4.scope(environ)
        principal = self.credentials.principal(found.access_key_id) if found else None
        if principal is None or found is None:
            return None  # not a function's credentials: the user's own call
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # for whoever answers the call
        call = describe(environ, principal.account_id, found.region, found.service, body)
        if call is None:
            self._note_unchecked(environ, principal)
            return None
        refused = self.role_refusal(principal, call.requests)
        if refused is None:
            return None
        log.info("IAM denied: %s", refused)
        return access_denied(call, refused)

    def role_refusal(self, principal: Principal, requests: Iterable[Request]) -> str | None:
        """Why the role may not make these requests (a call made with its credentials, or what
        the emulator does on the function's behalf, such as polling its queue), or None; audit
        mode logs it and answers None. Allowed requests are counted for the report."""
        if self.mode == "off":
            return None
        for request in requests:
            decision = self.decision(principal, request)
            if decision.allowed:
                self._count(principal, request)
                continue
            text = message(principal, request, decision)
            if self.mode == "audit":
                log.warning("IAM audit, would deny: %s", text)
                continue
            return text
        return None

    def polling_refusal(
        self, fn: Any, account_id: str, source_arn: str, actions: tuple[str, ...]
    ) -> str | None:
        """Why Lambda may not poll `source_arn` for `fn` (an event source mapping polls with the
        function's role: it must allow `actions` on the source), or None."""
        principal = Principal(account_id, str(fn.role), fn.function_name)
        context: dict[str, tuple[str, ...]] = {"aws:securetransport": ("true",)}
        return self.role_refusal(principal, [Request(action, source_arn, context) for action in actions])

    def invocation_refusal(self, fn: Any, service: str, source_arn: str) -> str | None:
        """Why `service` may not invoke `fn` on behalf of `source_arn` (its resource policy has
        no statement for it), or None; checked as AWS checks a service's call to Invoke."""
        resources = (fn.function_arn, f"{fn.function_arn}:$LATEST")  # moto qualifies CFN's
        return self.service_refusal(
            service, "lambda:InvokeFunction", resources, fn.policy.statements, source_arn
        )

    def service_refusal(
        self,
        service: str,
        action: str,
        resources: tuple[str, ...],
        statements: list[dict[str, Any]],
        source_arn: str,
    ) -> str | None:
        """Why `service` (s3.amazonaws.com, events.amazonaws.com, ...) may not do `action` on
        `resources[0]` for `source_arn` under the resource policy's `statements`, or None."""
        if self.mode == "off":
            return None
        allowing = [s for s in statements if _principal_is(s.get("Principal"), service)]
        context: dict[str, tuple[str, ...]] = {
            "aws:sourcearn": (source_arn,),
            "aws:sourceaccount": (arns.parse(source_arn).account or arns.parse(resources[0]).account,),
        }
        for resource in resources:
            if decide([{"Statement": allowing}], Request(action, resource, context)).allowed:
                return None
        text = (
            f"{service} is not authorized to perform: {action} on resource: {resources[0]} "
            f"for {source_arn}: the resource policy has no statement that allows it"
        )
        if self.mode == "audit":
            log.warning("IAM audit, would deny: %s", text)
            return None
        return text

    def report(self) -> list[dict[str, Any]]:
        """Every authorized call so far: role, function, action, resource, count."""
        with self._lock:
            used = dict(self._used)
        return [
            {"role": role, "function": function, "action": action, "resource": resource, "count": count}
            for (role, function, action, resource), count in sorted(used.items())
        ]

    def decision(self, principal: Principal, request: Request) -> Decision:
        documents = policies_of(principal)
        key = (
            principal.role_arn,
            request.action,
            request.resource,
            tuple(sorted(request.context.items())),
            documents,
        )
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            decision = decide(documents, request)
        except UnsupportedCondition as error:
            log.warning("IAM: %s; %s is denied", error, request.action)
            decision = Decision(allowed=False)
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = decision
        return decision

    def _count(self, principal: Principal, request: Request) -> None:
        key = (principal.role_arn, principal.session, request.action, request.resource)
        with self._lock:
            self._used[key] = self._used.get(key, 0) + 1

    def _note_unchecked(self, environ: dict[str, Any], principal: Principal) -> None:
        what = (
            environ.get("HTTP_X_AMZ_TARGET") or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        )
        if what not in self._unchecked:
            self._unchecked.add(what)
            log.info("IAM: %s by %s is not checked locally (see emulator/iam/calls.py)", what, principal.arn)


def _principal_is(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    return service in ([services] if isinstance(services, str) else services)


def policies_of(principal: Principal) -> tuple[str, ...]:
    """The role's identity policies now: inline, then the default version of each attached one.
    (The documents are the cache key: a changed policy is a new key.)"""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[principal.account_id]["aws"].get_role_by_arn(principal.role_arn)
    except Exception:  # the role is gone: nothing allows anything
        return ()
    inline = tuple(role.policies.values())
    managed = tuple(
        version.document
        for policy in role.managed_policies.values()
        for version in policy.versions
        if version.version_id == policy.default_version_id
    )
    return inline + managed
