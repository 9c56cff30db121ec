"""A request made with a function's credentials, as IAM sees it: its actions and the resources
they act on (a batch touches several), with the condition keys the stack's policies use.

Checked: DynamoDB and SQS (JSON protocol), SNS and CloudWatch (query protocol), Lambda Invoke,
and S3 object reads, writes, deletes and bucket listings. Anything else is allowed and logged once
as not checked locally (`describe` answers None).
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, unquote

from emulator.iam.policy import Request

CHECKED_SERVICES = ("dynamodb", "sqs", "sns", "cloudwatch", "lambda", "s3")  # IAM prefixes `describe` maps
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
CLOUDWATCH_CBOR = re.compile(r"^/service/GraniteServiceVersion20100801/operation/(\w+)$")
LAMBDA_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# The emulator's loopback endpoint is treated as secure transport: it never leaves the machine.
SECURE: dict[str, tuple[str, ...]] = {"aws:securetransport": ("true",)}


@dataclass(frozen=True)
class Call:
    """One API call as IAM sees it: each request it makes (a batch touches several resources)."""

    service: str  # the IAM prefix of its actions: dynamodb, sqs, sns, cloudwatch, lambda, s3
    requests: tuple[Request, ...]
    protocol: str = ""  # how it was sent, where the service speaks several: json, query, cbor


def _value(attribute: dict[str, Any]) -> str:
    """A DynamoDB attribute value as IAM compares it ({"S": "a"} -> "a")."""
    return str(next(iter(attribute.values()))) if attribute else ""


def _leading_keys(account: str, region: str, table: str, keys: list[dict[str, Any]]) -> tuple[str, ...]:
    from moto.dynamodb.models import dynamodb_backends

    found = dynamodb_backends[account][region].tables.get(table)
    if found is None:
        return ()
    return tuple(_value(key[found.hash_key_attr]) for key in keys if found.hash_key_attr in key)


def dynamodb_call(account: str, region: str, operation: str, body: dict[str, Any]) -> Call:
    def arn(table: str, index: str | None = None) -> str:
        base = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
        return f"{base}/index/{index}" if index else base

    def request(action: str, table: str, keys: list[dict[str, Any]], index: str | None = None) -> Request:
        context = dict(SECURE)
        leading = _leading_keys(account, region, table, keys)
        if leading:
            context["dynamodb:leadingkeys"] = leading
        return Request(f"dynamodb:{action}", arn(table, index), context)

    if operation in ("BatchGetItem", "BatchWriteItem"):
        requests = []
        for table, entries in (body.get("RequestItems") or {}).items():
            if operation == "BatchGetItem":
                keys = list(entries.get("Keys", []))
            else:
                keys = [
                    e.get("PutRequest", {}).get("Item") or e.get("DeleteRequest", {}).get("Key") or {}
                    for e in entries
                ]
            requests.append(request(operation, table, keys))
        return Call("dynamodb", tuple(requests))
    if operation in ("TransactWriteItems", "TransactGetItems"):
        requests = []
        for item in body.get("TransactItems", []):
            for kind, detail in item.items():
                keys = [detail.get("Item") or detail.get("Key") or {}]
                requests.append(request(TRANSACT_ACTIONS.get(kind, kind), detail.get("TableName", ""), keys))
        return Call("dynamodb", tuple(requests))
    table = str(body.get("TableName", "*"))
    keys = [body[k] for k in ("Key", "Item") if isinstance(body.get(k), dict)]
    return Call("dynamodb", (request(operation, table, keys, body.get("IndexName")),))


def sqs_call(account: str, region: str, operation: str, body: dict[str, Any]) -> Call:
    name = str(body.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1] or str(body.get("QueueName", ""))
    resource = f"arn:aws:sqs:{region}:{account}:{name}" if name else "*"
    return Call("sqs", (Request(f"sqs:{operation}", resource, SECURE),))


def sns_call(account: str, region: str, operation: str, form: dict[str, str]) -> Call:
    resource = form.get("TopicArn") or form.get("TargetArn") or "*"
    return Call("sns", (Request(f"sns:{operation}", resource, SECURE),))


def cloudwatch_call(account: str, region: str, operation: str, form: dict[str, Any]) -> Call | None:
    """Metric calls name no resource in IAM; an alarm call is checked only when its alarm is
    known (the CBOR protocol botocore prefers is not decoded here)."""
    alarm = form.get("AlarmName")
    if "Alarm" in operation and not alarm:
        return None
    resource = f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}" if alarm else "*"
    return Call("cloudwatch", (Request(f"cloudwatch:{operation}", resource, SECURE),))


def lambda_call(account: str, region: str, path: str) -> Call | None:
    found = LAMBDA_INVOKE.match(path)
    if found is None:
        return None
    name = unquote(found.group(1))
    arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
    return Call("lambda", (Request("lambda:InvokeFunction", arn, SECURE),))


def s3_call(environ: dict[str, Any]) -> Call | None:
    """Object reads, writes and deletes, and listing a bucket; in path or virtual-host style."""
    host = environ.get("HTTP_HOST", "").split(":")[0]
    path = unquote(environ.get("PATH_INFO", "")).lstrip("/")
    bucket, _, key = (f"{host.split('.s3.')[0]}/{path}" if ".s3." in host else path).partition("/")
    method, query = environ.get("REQUEST_METHOD", "GET"), environ.get("QUERY_STRING", "")
    if not bucket or any(sub in query for sub in ("uploads", "uploadId", "acl", "tagging", "policy")):
        return None  # multipart uploads, ACLs, tags, policies: not checked
    if key:
        action = {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
            method
        )
        resource = f"arn:aws:s3:::{bucket}/{key}"
    else:
        action = "ListBucket" if method == "GET" and ("list-type" in query or not query) else None
        resource = f"arn:aws:s3:::{bucket}"
    return Call("s3", (Request(f"s3:{action}", resource, SECURE),)) if action else None


JSON_BUILDERS: dict[str, Callable[[str, str, str, dict[str, Any]], Call | None]] = {
    "DynamoDB_20120810": dynamodb_call,
    "AmazonSQS": sqs_call,
    "GraniteServiceVersion20100801": cloudwatch_call,
}


def _sent_as(protocol: str, call: Call | None) -> Call | None:
    return None if call is None else replace(call, protocol=protocol)


def describe(environ: dict[str, Any], account: str, region: str, service: str, body: bytes) -> Call | None:
    """The call a request signed for `service` makes, as IAM sees it; None when not checked locally."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.partition(".")
        builder = JSON_BUILDERS.get(prefix)
        if builder is None:
            return None
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            return None  # malformed: the JSON protocol check answers it
        return _sent_as(
            "json", builder(account, region, operation, parsed if isinstance(parsed, dict) else {})
        )
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        query_builder = {"sns": sns_call, "monitoring": cloudwatch_call}.get(service)
        if query_builder is None or "Action" not in form:
            return None
        return _sent_as("query", query_builder(account, region, form["Action"], form))
    cbor = CLOUDWATCH_CBOR.match(environ.get("PATH_INFO", ""))
    if cbor is not None:  # botocore's smithy-rpc-v2-cbor for CloudWatch
        return _sent_as("cbor", cloudwatch_call(account, region, cbor.group(1), {}))
    if service == "lambda":
        return lambda_call(account, region, environ.get("PATH_INFO", ""))
    if service == "s3":
        return s3_call(environ)
    return None
