"""A function's SDK calls during an invocation are answered over the worker's pipes, as the same
request over HTTP would be; outside an invocation they go over HTTP (emulator.lambda_.sdk_calls)."""

import datetime
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.compat
import moto
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError
from waitress.server import create_server

from emulator import sigv4
from emulator.ctl import temporary_emulator
from emulator.lambda_.runtime import LambdaRuntime
from emulator.lambda_.sdk_calls import (
    CALL,
    UNVERIFIED_SIGNATURE,
    SdkEndpoint,
    environ,
    frame,
    unverified_signer,
)
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

ACCOUNT = "123456789012"  # moto's default inside mock_aws

HANDLERS = """
import os, threading, time
import boto3

sts = boto3.client("sts")
AT_INIT = sts.get_caller_identity()  # before any invocation: over HTTP

def call(event, context):
    answer = sts.get_caller_identity()
    return {
        "account": answer["Account"],
        "at_init": AT_INIT["Account"],
        "repeated_header": answer["ResponseMetadata"]["HTTPHeaders"]["x-repeated"],
        "repeated_header_at_init": AT_INIT["ResponseMetadata"]["HTTPHeaders"]["x-repeated"],
    }

def call_in_a_forked_child(event, context):
    child = os.fork()
    if child == 0:  # shares the worker's pipes, not its lock: over HTTP
        sts.get_caller_identity()
        os._exit(0)
    os.waitpid(child, 0)
    return sts.get_caller_identity()["Account"]

def call_after_answering(event, context):
    def later():
        time.sleep(0.3)
        sts.get_caller_identity()
    threading.Thread(target=later).start()
    return "answered"
"""

OBJECTS = """
import hashlib
import boto3

s3 = boto3.client("s3")
BODY = bytes(range(256)) * 4096  # 1 MiB, every byte value

def handler(event, context):
    s3.put_object(Bucket=event["bucket"], Key="k", Body=BODY)
    whole = s3.get_object(Bucket=event["bucket"], Key="k")
    streamed = s3.get_object(Bucket=event["bucket"], Key="k")["Body"].iter_chunks(65536)
    try:
        s3.get_object(Bucket=event["bucket"], Key="missing")
        missing = None
    except s3.exceptions.NoSuchKey as error:
        missing = error.response["Error"]["Code"]
    return {
        "whole": whole["Body"].read() == BODY,
        "streamed": b"".join(streamed) == BODY,
        "etag_is_md5": whole["ETag"].strip('"') == hashlib.md5(BODY).hexdigest(),
        "missing": missing,
    }
"""


class Recorder:
    """An emulator stand-in: answers GetCallerIdentity with its own account, keeps each request."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.requests: list[tuple[dict[str, Any], bytes]] = []
        self.delay = 0.0

    def __call__(self, env: dict[str, Any], start_response: Any) -> list[bytes]:
        body = env["wsgi.input"].read(int(env.get("CONTENT_LENGTH") or 0))
        self.requests.append((env, body))
        time.sleep(self.delay)
        start_response("200 OK", [("Content-Type", "text/xml"), ("X-Repeated", "a"), ("X-Repeated", "b")])
        return [
            b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            b"<GetCallerIdentityResult><Arn>arn:aws:iam::" + self.account.encode() + b":root</Arn>"
            b"<UserId>u</UserId><Account>" + self.account.encode() + b"</Account></GetCallerIdentityResult>"
            b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        ]


@pytest.fixture
def over_http() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder("111111111111")
    server = create_server(recorder, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", recorder
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def function(tmp_path: Path, over_http: tuple[str, Recorder]) -> Iterator[tuple[LambdaRuntime, Recorder]]:
    url, _ = over_http
    over_pipes = Recorder("222222222222")
    with moto.mock_aws():
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="r", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        client = boto3.client("lambda", region_name="us-east-1")
        for name, handler, timeout in (
            ("call", "call", 10),
            ("call_after_answering", "call_after_answering", 10),
            ("call_in_a_forked_child", "call_in_a_forked_child", 10),
            ("short", "call", 1),
        ):
            client.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler=f"app.{handler}",
                Code={"ZipFile": code_zip({"app.py": HANDLERS})}, Timeout=timeout,
            )  # fmt: skip
        runtime = LambdaRuntime(ACCOUNT, tmp_path, url, sdk_app=over_pipes)
        yield runtime, over_pipes
        runtime.close()


def invoke(runtime: LambdaRuntime, name: str) -> Any:
    result = runtime.invoke("us-east-1", name, b"{}")
    assert result.ok, result.payload
    return json.loads(result.payload)


def test_a_call_during_an_invocation_is_answered_over_the_pipes_as_over_http(
    function: tuple[LambdaRuntime, Recorder], over_http: tuple[str, Recorder]
) -> None:
    runtime, over_pipes = function
    _, http = over_http

    assert invoke(runtime, "call") == {
        "account": "222222222222",
        "at_init": "111111111111",
        "repeated_header": "a, b",  # as urllib3 hands a repeated header to botocore
        "repeated_header_at_init": "a, b",
    }
    assert invoke(runtime, "call")["account"] == "222222222222"  # the same warm worker, again

    # Two ways to one request: the init's call as waitress saw it, the invocation's as the pipes
    # delivered it. What differs is only what the SDK makes new for each call, and the trace
    # header, which only an invocation has.
    (by_http, http_body), (by_pipes, pipes_body) = http.requests[0], over_pipes.requests[0]
    volatile = {"HTTP_AUTHORIZATION", "HTTP_X_AMZ_DATE", "HTTP_AMZ_SDK_INVOCATION_ID", "HTTP_USER_AGENT"}
    assert by_pipes.pop("HTTP_X_AMZN_TRACE_ID").startswith("Root=1-")
    for key in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_HOST"):
        assert by_pipes.get(key) == by_http.get(key), key
    assert pipes_body == http_body == b"Action=GetCallerIdentity&Version=2011-06-15"
    http_headers = {k: v for k, v in by_http.items() if k.startswith("HTTP_") and k not in volatile}
    pipe_headers = {k: v for k, v in by_pipes.items() if k.startswith("HTTP_") and k not in volatile}
    assert pipe_headers == http_headers
    # who signs, as the emulator's IAM reads it, without the signature nothing checks
    assert sigv4.scope(by_pipes) == sigv4.scope(by_http) is not None
    assert by_pipes["HTTP_AUTHORIZATION"].endswith(f"Signature={UNVERIFIED_SIGNATURE}")
    assert len(over_pipes.requests) == 2
    # over HTTP, only init's calls (a connection left open at init makes each worker start afresh)
    assert not any("HTTP_X_AMZN_TRACE_ID" in env for env, _ in http.requests)


def test_a_call_after_the_answer_goes_over_http_and_holds_nothing_up(
    function: tuple[LambdaRuntime, Recorder], over_http: tuple[str, Recorder]
) -> None:
    runtime, over_pipes = function
    _, http = over_http

    assert invoke(runtime, "call_after_answering") == "answered"

    def made_by_the_thread() -> list[dict[str, Any]]:  # init's calls carry no trace header
        return [env for env, _ in http.requests if "HTTP_X_AMZN_TRACE_ID" in env]

    deadline = time.monotonic() + 10
    while not made_by_the_thread() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(made_by_the_thread()) == 1
    assert over_pipes.requests == []
    assert invoke(runtime, "call_after_answering") == "answered"  # the worker's pipes are clean


def test_a_process_the_handler_forks_calls_over_http(
    function: tuple[LambdaRuntime, Recorder], over_http: tuple[str, Recorder]
) -> None:
    runtime, over_pipes = function
    _, http = over_http

    assert invoke(runtime, "call_in_a_forked_child") == "222222222222"  # the worker's own call
    assert len(over_pipes.requests) == 1
    assert [env for env, _ in http.requests if "HTTP_X_AMZN_TRACE_ID" in env]  # the child's
    assert invoke(runtime, "call_in_a_forked_child") == "222222222222"  # the pipes are clean


def test_the_function_times_out_during_a_long_call(function: tuple[LambdaRuntime, Recorder]) -> None:
    runtime, over_pipes = function
    over_pipes.delay = 4.0  # a long poll, a synchronous invoke of a slow function

    started = time.monotonic()
    result = runtime.invoke("us-east-1", "short", b"{}")
    assert not result.ok
    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"
    assert time.monotonic() - started < 3.0  # its 1 s timeout, not the call's 4 s
    over_pipes.delay = 0.0
    assert (
        invoke(runtime, "short")["account"] == "222222222222"
    )  # a new worker; the answer to the dead one went nowhere


def test_calls_that_cannot_wait_are_answered_by_the_invoking_thread() -> None:
    answered_on: dict[str, threading.Thread] = {}

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        answered_on[env.get("HTTP_X_AMZ_TARGET", "query protocol")] = threading.current_thread()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]

    endpoint = SdkEndpoint("http://127.0.0.1:1", app)
    replies: queue.Queue[bytes] = queue.Queue()
    try:
        for headers in (
            [["X-Amz-Target", "DynamoDB_20120810.PutItem"]],
            [["x-amz-target", "AmazonSQS.SendMessage"]],
            [["X-Amz-Target", "AmazonSQS.ReceiveMessage"]],  # a long poll
            [["X-Amz-Target", "AWSStepFunctions.StartSyncExecution"]],  # not known not to wait
            [],
        ):
            call = {"method": "POST", "url": "http://127.0.0.1:1/", "headers": headers}
            endpoint.take(CALL + frame(call, b"{}"), replies.put)
            assert replies.get(timeout=5).endswith(b"{}")
    finally:
        endpoint.close()

    here = threading.current_thread()
    assert {target: thread is here for target, thread in answered_on.items()} == {
        "DynamoDB_20120810.PutItem": True,
        "AmazonSQS.SendMessage": True,
        "AmazonSQS.ReceiveMessage": False,
        "AWSStepFunctions.StartSyncExecution": False,
        "query protocol": False,
    }


def test_a_call_to_the_emulator_names_its_signer_without_computing_the_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime.datetime(2026, 12, 5, 1, 2, 3)
    for module in (botocore.auth, botocore.compat):
        monkeypatch.setattr(module, "get_current_datetime", lambda: now)
    credentials = Credentials("AKIDEXAMPLE", "secret", "session-token")
    signer = unverified_signer(SigV4Auth, "http://127.0.0.1:4566/")

    def signed(auth: type, url: str, signing_with: Credentials | None = credentials) -> dict[str, str]:
        request = AWSRequest("POST", url, data=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.PutItem"})
        auth(signing_with, "dynamodb", "us-east-1").add_auth(request)
        return dict(request.headers.items())

    to_emulator, by_botocore = (
        signed(signer, "http://127.0.0.1:4566/"),
        signed(SigV4Auth, "http://127.0.0.1:4566/"),
    )
    assert to_emulator.pop("Authorization").endswith(f"Signature={UNVERIFIED_SIGNATURE}")
    assert sigv4.scope({"HTTP_AUTHORIZATION": by_botocore.pop("Authorization")}) == sigv4.Scope(
        "AKIDEXAMPLE", "20261205", "us-east-1", "dynamodb"
    )
    assert sigv4.scope({"HTTP_AUTHORIZATION": signed(signer, "http://127.0.0.1:4566/")["Authorization"]}) == (
        sigv4.Scope("AKIDEXAMPLE", "20261205", "us-east-1", "dynamodb")
    )
    assert to_emulator == by_botocore  # X-Amz-Date and the session token, as botocore sets them
    elsewhere = "https://dynamodb.us-east-1.amazonaws.com/"
    assert signed(signer, elsewhere) == signed(SigV4Auth, elsewhere)  # signed in full
    with pytest.raises(NoCredentialsError):
        signed(signer, "http://127.0.0.1:4566/", signing_with=None)


def test_the_environ_is_the_one_waitress_builds(over_http: tuple[str, Recorder]) -> None:
    url, http = over_http
    target = url + "/bucket/a%20key%2Fx?uploads&x-id=Put"
    headers = {"Content-Type": "application/octet-stream", "X-Amz-Meta-Kind": "order"}
    with urllib3.PoolManager() as pool:  # its connection closed after, so the server stops at once
        pool.request("POST", target, body=b"\x00\x01", headers=headers)
    (by_http, _), built = http.requests[0], environ("POST", target, list(headers.items()), b"\x00\x01")
    for key in (
        "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_HOST",
        "HTTP_X_AMZ_META_KIND", "SERVER_PORT", "SCRIPT_NAME", "wsgi.url_scheme",
    ):  # fmt: skip
        assert built.get(key) == by_http.get(key), key
    assert built["PATH_INFO"] == "/bucket/a key/x"
    assert built["wsgi.input"].read() == b"\x00\x01"


@pytest.mark.integration  # starts an emulator
def test_binary_bodies_streamed_answers_errors_and_iam_over_the_pipes(tmp_path: Path) -> None:
    """Through the real emulator: a 1 MiB object with every byte value put and read back whole and
    streamed, a modelled error, and the role's policy enforced on the calls."""
    with temporary_emulator(tmp_path) as emulator:
        iam = local_client("iam", emulator.endpoint)
        role = iam.create_role(RoleName="objects", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        local_client("s3", emulator.endpoint).create_bucket(Bucket="objects-bucket")
        functions = local_client("lambda", emulator.endpoint)
        functions.create_function(
            FunctionName="objects", Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": OBJECTS})}, Timeout=60,
        )  # fmt: skip
        event = json.dumps({"bucket": "objects-bucket"}).encode()

        denied = functions.invoke(FunctionName="objects", Payload=event)
        assert denied.get("FunctionError") == "Unhandled"
        assert "not authorized to perform: s3:PutObject" in denied["Payload"].read().decode()

        allow = {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [allow]}
        iam.put_role_policy(RoleName="objects", PolicyName="objects", PolicyDocument=json.dumps(policy))
        answer = functions.invoke(FunctionName="objects", Payload=event)
        assert "FunctionError" not in answer
        assert json.loads(answer["Payload"].read()) == {
            "whole": True, "streamed": True, "etag_is_md5": True, "missing": "NoSuchKey",
        }  # fmt: skip
