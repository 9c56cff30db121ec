"""SNS delivers as AWS does: email subscriptions confirm first, then get their messages in the
mailbox; Lambda and loopback HTTP subscriptions get theirs; a broken mailbox loses nothing else."""

import email
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from emulator.ctl import Started, temporary_emulator
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    with temporary_emulator(tmp_path_factory.mktemp("sns")) as started:
        yield started


def mails(emulator: Started, address: str, count: int, within: float = 10) -> list[email.message.Message]:
    assert emulator.mailbox is not None
    folder = emulator.mailbox / address
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        if len(found) >= count:
            return [email.message_from_bytes(path.read_bytes()) for path in found]
        time.sleep(0.1)
    raise AssertionError(f"{address}: fewer than {count} messages in {folder} after {within}s")


def body(message: email.message.Message) -> str:
    return message.get_payload(decode=True).decode()  # type: ignore[union-attr]


def test_an_email_subscription_is_confirmed_through_its_link_then_receives(emulator: Started) -> None:
    sns = local_client("sns", emulator.endpoint)
    topic = sns.create_topic(Name="alarms", Attributes={"DisplayName": "Orders alarms"})["TopicArn"]
    arn = sns.subscribe(
        TopicArn=topic, Protocol="email", Endpoint="oncall@example.com", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "true"
    (confirmation,) = mails(emulator, "oncall@example.com", 1)
    assert confirmation["Subject"] == "AWS Notification - Subscription Confirmation"
    assert confirmation["From"] == "Orders alarms <no-reply@sns.amazonaws.com>"
    link = re.search(r"http://\S+Action=ConfirmSubscription\S+", body(confirmation))
    assert link is not None, body(confirmation)

    sns.publish(TopicArn=topic, Message="before", Subject="too early")  # not delivered: pending
    page = requests.get(link.group(0), timeout=10)  # as a person clicks it
    assert page.status_code == 200 and "Subscription confirmed!" in page.text
    assert (
        sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    )

    sns.publish(TopicArn=topic, Message="DLQ has 1 message", Subject="ALARM: DlqNotEmpty")
    received = mails(emulator, "oncall@example.com", 2)
    assert [m["Subject"] for m in received] == [
        "AWS Notification - Subscription Confirmation",
        "ALARM: DlqNotEmpty",
    ]
    assert body(received[1]).startswith(
        "DLQ has 1 message\n\n--\nIf you wish to stop receiving notifications"
    )


def test_email_json_gets_the_notification_envelope_and_a_bad_link_is_refused(emulator: Started) -> None:
    sns = local_client("sns", emulator.endpoint)
    topic = sns.create_topic(Name="json-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="robot@example.com")
    (confirmation,) = mails(emulator, "robot@example.com", 1)
    document = json.loads(body(confirmation))
    assert document["Type"] == "SubscriptionConfirmation" and document["TopicArn"] == topic
    forged = document["SubscribeURL"].replace(document["Token"], "0" * 64)
    assert requests.get(forged, timeout=10).status_code == 400
    assert sns.confirm_subscription(TopicArn=topic, Token=document["Token"])["SubscriptionArn"].startswith(
        topic
    )
    sns.publish(
        TopicArn=topic,
        Message=json.dumps({"default": "plain", "email-json": "for robots"}),
        MessageStructure="json",
    )
    envelope = json.loads(body(mails(emulator, "robot@example.com", 2)[1]))
    assert (envelope["Type"], envelope["Message"], envelope["TopicArn"]) == (
        "Notification",
        "for robots",
        topic,
    )
    assert "Action=Unsubscribe" in envelope["UnsubscribeURL"]


class Recorder(BaseHTTPRequestHandler):
    posts: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        Recorder.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_loopback_http_and_lambda_subscriptions_receive_the_notification(emulator: Started) -> None:
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sns, fn = local_client("sns", emulator.endpoint), local_client("lambda", emulator.endpoint)
    topic = sns.create_topic(Name="fanout")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{server.server_port}/hook")
    role = local_client("iam", emulator.endpoint).create_role(
        RoleName="sns-fn", AssumeRolePolicyDocument="{}"
    )
    code = "def handler(event, context):\n    print('got', event['Records'][0]['Sns']['Message'])\n"
    arn = fn.create_function(
        FunctionName="listener", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": code})},
    )["FunctionArn"]  # fmt: skip
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="fan me out")
    logs = local_client("logs", emulator.endpoint)
    deadline = time.monotonic() + 20
    printed: list[str] = []
    while time.monotonic() < deadline and not (Recorder.posts and printed):
        time.sleep(0.2)
        try:
            events = logs.filter_log_events(logGroupName="/aws/lambda/listener")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        printed = [e["message"] for e in events if "got fan me out" in e["message"]]
    server.shutdown()
    assert Recorder.posts and Recorder.posts[0]["Message"] == "fan me out"
    assert printed, "the Lambda subscription did not run"


def test_a_mailbox_that_cannot_be_written_is_logged_and_loses_nothing_else(
    emulator: Started, tmp_path: Path
) -> None:
    assert emulator.mailbox is not None
    (emulator.mailbox / "blocked@example.com").parent.mkdir(parents=True, exist_ok=True)
    (emulator.mailbox / "blocked@example.com").write_text("a file where the folder should be")
    sns, sqs = local_client("sns", emulator.endpoint), local_client("sqs", emulator.endpoint)
    topic = sns.create_topic(Name="mixed")["TopicArn"]
    queue = sqs.create_queue(QueueName="copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="blocked@example.com")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message="still here")
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"][0]
    assert json.loads(message["Body"])["Message"] == "still here"
    log = Path(str(emulator.process.args[emulator.process.args.index("--log-file") + 1]))  # type: ignore[index, union-attr]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "could not deliver" not in log.read_text():
        time.sleep(0.1)
    assert (
        "could not deliver 'AWS Notification - Subscription Confirmation' to blocked@example.com"
        in log.read_text()
    )
