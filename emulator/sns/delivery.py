"""SNS delivers what is published, as AWS does, to every kind of subscription the stack can have.

  email, email-json  an RFC 5322 message in the local mailbox, <mailbox>/<address>/<time>-<id>.eml,
                     with AWS's subject, sender, body and unsubscribe link; a new subscription
                     is PendingConfirmation and gets AWS's confirmation message, whose link
                     (`/?Action=ConfirmSubscription&TopicArn=...&Token=...`, as on AWS) confirms it
  lambda             the function, asynchronously, with SNS's event (moto would need Docker)
  http, https        a POST of the notification, to loopback addresses only
  sqs                moto's own delivery

Nothing is delivered to a subscription pending confirmation (as on AWS); a mailbox that cannot
be written is logged with what was lost, and the other subscriptions still get the message.
"""

import email.message
import email.utils
import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import requests

from emulator import arns
from emulator.http import Response
from emulator.patching import replace
from emulator.wiring import wired

log = logging.getLogger("emulator.sns")

CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"
DEFAULT_SUBJECT = "AWS Notification Message"
SENDER = "no-reply@sns.amazonaws.com"
EMAIL_PROTOCOLS = ("email", "email-json")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def confirm_url(topic_arn: str, token: str) -> str:
    return f"{wired().public_url}/?Action=ConfirmSubscription&TopicArn={quote(topic_arn)}&Token={token}"


def unsubscribe_url(subscription_arn: str) -> str:
    return f"{wired().public_url}/?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn)}"


def pending(subscription: Any) -> bool:
    return bool(subscription.attributes.get("PendingConfirmation"))


# -- the mailbox ------------------------------------------------------------------------------
def write_mail(address: str, subject: str, body: str, sender_name: str) -> Path | None:
    """One message in <mailbox>/<address>/, named so that names sort by time."""
    message = email.message.EmailMessage()
    message["From"] = email.utils.formataddr((sender_name, SENDER))
    message["To"] = address
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain="email.amazonses.com")
    message.set_content(body)
    folder = wired().mailbox / re.sub(r"[^A-Za-z0-9@._+-]", "_", address)
    path = folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}.eml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")  # readers list *.eml: never a message half written
        partial.write_bytes(bytes(message))
        partial.replace(path)
    except OSError as error:
        log.error(
            "could not deliver %r to %s (mailbox %s: %s); it said:\n%s", subject, address, folder, error, body
        )
        return None
    log.info("mail to %s: %s (%s)", address, subject, path)
    return path


def footer(subscription_arn: str) -> str:
    return (
        "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the "
        f"link below to unsubscribe:\n{unsubscribe_url(subscription_arn)}\n\n"
        "Please do not reply directly to this email. If you have any questions or comments regarding "
        "this email, please contact us at https://aws.amazon.com/support"
    )


def send_confirmation(subscription: Any) -> None:
    topic, token = subscription.topic, subscription.confirmation_token
    link = confirm_url(topic.arn, token)
    if subscription.protocol == "email":
        body = (
            f"You have chosen to subscribe to the topic:\n{topic.arn}\n\n"
            "To confirm this subscription, click or visit the link below (If this was in error no action "
            f"is necessary):\nConfirm subscription\n{link}\n\n"
            "Please do not reply directly to this email. If you wish to remove yourself from receiving "
            "all future SNS subscription confirmation requests please send an email to sns-opt-out"
        )
    else:
        body = json.dumps(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": token,
                "TopicArn": topic.arn,
                "Message": f"You have chosen to subscribe to the topic {topic.arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message.",
                "SubscribeURL": link,
                "Timestamp": now_iso(),
                "SignatureVersion": "1",
            },
            indent=2,
        )
    write_mail(subscription.endpoint, CONFIRMATION_SUBJECT, body, _sender_name(topic))


def _sender_name(topic: Any) -> str:
    return str(getattr(topic, "display_name", "") or "AWS Notifications")


def envelope(subscription: Any, message: str, message_id: str, subject: str | None) -> dict[str, Any]:
    """The JSON notification SNS sends to email-json, http(s) and (inside its event) Lambda."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": subscription.topic.arn,
        "Subject": subject,
        "Message": message,
        "Timestamp": now_iso(),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": f"{wired().public_url}/SimpleNotificationService.pem",
        "UnsubscribeURL": unsubscribe_url(subscription.arn),
    }


# -- delivery ------------------------------------------------------------------------------------
def deliver(subscription: Any, message: str, message_id: str, subject: str | None) -> None:
    protocol = subscription.protocol
    if protocol == "email":
        body = message + footer(subscription.arn)
        write_mail(subscription.endpoint, subject or DEFAULT_SUBJECT, body, _sender_name(subscription.topic))
    elif protocol == "email-json":
        body = json.dumps(envelope(subscription, message, message_id, subject), indent=2)
        write_mail(subscription.endpoint, subject or DEFAULT_SUBJECT, body, _sender_name(subscription.topic))
    elif protocol == "lambda":
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn,
                    "Sns": {**envelope(subscription, message, message_id, subject), "MessageAttributes": {}},
                }
            ]
        }
        region = arns.parse(subscription.endpoint).region
        invoke_async = wired().invoke_async
        if invoke_async is None:
            log.error("not delivered to %s: no Lambda runtime", subscription.endpoint)
        else:
            invoke_async(region, subscription.endpoint, json.dumps(event).encode())
    elif protocol in ("http", "https"):
        post = envelope(subscription, message, message_id, subject)
        threading.Thread(target=_post, args=(subscription.endpoint, post), daemon=True).start()


def loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def _post(url: str, notification: dict[str, Any]) -> None:
    if not loopback(url):
        log.warning("not delivered to %s: the emulator posts to loopback addresses only", url)
        return
    for attempt in range(3):  # SNS retries an endpoint that fails (locally: three tries)
        try:
            answer = requests.post(
                url,
                data=json.dumps(notification),
                headers={
                    "Content-Type": "text/plain; charset=UTF-8",
                    "x-amz-sns-message-type": "Notification",
                },
                timeout=5,
            )
            if answer.status_code < 500:
                return
        except requests.RequestException as error:
            log.info("posting to %s failed (%s), attempt %d", url, error, attempt + 1)
        time.sleep(1)
    log.warning("not delivered to %s after 3 attempts", url)


# -- the links in the messages --------------------------------------------------------------------
def link(environ: dict[str, Any]) -> Response | None:
    """The confirmation and unsubscribe links mailed out (plain GETs, as a mail client opens them)."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO", "/") != "/":
        return None
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    action = query.get("Action")
    if action == "ConfirmSubscription":
        arn = confirm(query.get("TopicArn", ""), query.get("Token", ""))
        if arn is None:
            return _page(400, "Invalid token", "This confirmation link is not valid (or the topic is gone).")
        return _page(
            200, "Subscription confirmed!", f"You have successfully subscribed.\nSubscription ID: {arn}"
        )
    if action == "Unsubscribe":
        if not unsubscribe(query.get("SubscriptionArn", "")):
            return _page(404, "Not found", "No such subscription.")
        return _page(200, "Subscription removed!", "Your subscription has been removed.")
    return None


def _page(status: int, title: str, text: str) -> Response:
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1><pre>{text}</pre></body></html>"
    return Response(status, {"Content-Type": "text/html; charset=utf-8"}, body.encode())


def _subscriptions() -> list[Any]:
    from moto.sns.models import sns_backends

    return [
        subscription
        for regions in list(sns_backends.values())
        for backend in list(regions.values())
        for subscription in list(backend.subscriptions.values())
    ]


def confirm(topic_arn: str, token: str) -> str | None:
    """Confirm the subscription of `topic_arn` that `token` was sent to; its ARN, or None."""
    for subscription in _subscriptions():
        if (
            subscription.topic.arn == topic_arn
            and token
            and getattr(subscription, "confirmation_token", None) == token
        ):
            subscription.attributes["PendingConfirmation"] = False
            subscription.attributes["ConfirmationWasAuthenticated"] = False
            subscription.confirmed = True
            log.info("subscription %s (%s) confirmed", subscription.arn, subscription.endpoint)
            return str(subscription.arn)
    return None


def unsubscribe(subscription_arn: str) -> bool:
    from moto.sns.models import sns_backends

    try:
        arn = arns.parse(subscription_arn)
    except ValueError:
        return False
    backend = sns_backends[arn.account][arn.region] if arn.account and arn.region else None
    if backend is None or subscription_arn not in backend.subscriptions:
        return False
    backend.unsubscribe(subscription_arn)
    return True


def install() -> None:
    """Every change to moto's SNS, in one place."""
    from moto.sns.models import SNSBackend, Subscription
    from moto.sns.responses import SNSResponse

    original_subscribe = SNSBackend.subscribe

    def subscribe(self: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Subscription:
        existed = self._find_subscription(topic_arn, endpoint, protocol)
        subscription = original_subscribe(self, topic_arn, endpoint, protocol)
        if existed is None and protocol in EMAIL_PROTOCOLS:  # AWS asks the address's owner first
            subscription.attributes.update(PendingConfirmation=True, ConfirmationWasAuthenticated=False)
            subscription.confirmation_token = secrets.token_hex(32)  # type: ignore[attr-defined]  # the link carries it; never shown
            send_confirmation(subscription)
        return subscription

    replace(SNSBackend, "subscribe", subscribe)

    original_publish = Subscription.publish

    def publish(
        self: Subscription,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if pending(self):
            log.info("not delivered to %s %s: pending confirmation", self.protocol, self.endpoint)
            return
        if self.protocol == "sqs":
            return original_publish(
                self, message, message_id, subject, message_attributes, group_id, deduplication_id, message_structure
            )  # fmt: skip
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message
        ):
            return
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        deliver(self, message, message_id, subject)

    replace(Subscription, "publish", publish)

    original_confirm = SNSResponse.confirm_subscription

    def confirm_subscription(self: SNSResponse) -> Any:
        """The ConfirmSubscription API with the token from the confirmation message."""
        arn = confirm(self._get_param("TopicArn"), self._get_param("Token"))
        answer = original_confirm(self)
        if arn is not None:
            answer.result["SubscriptionArn"] = arn  # type: ignore[index]
        return answer

    replace(SNSResponse, "confirm_subscription", confirm_subscription)
