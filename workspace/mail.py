"""The local mailbox (`.local/mailbox/<address>/<time>-<id>.eml`, written by the embedded emulator's
SNS) and the alarms it reports on: `make mail`, `make alarms`, and the confirmation `make up`
clicks for the alarm address, as a person would.
"""

import email
import email.message
import email.policy
import email.utils
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from emulator.settings import MAILBOX

DEFAULT_ALARM_EMAIL = "oncall@example.com"  # a reserved domain: nothing can ever be sent there for real
CONFIRM_LINK = re.compile(r"https?://[^\s\"'<>]+[?&]Action=ConfirmSubscription&[^\s\"'<>]+")  # text or JSON


@dataclass(frozen=True)
class Mail:
    path: Path
    address: str
    subject: str
    sent: datetime

    @staticmethod
    def read(path: Path) -> "Mail":
        message = parsed(path)
        return Mail(
            path,
            path.parent.name,
            str(message["Subject"]),
            email.utils.parsedate_to_datetime(message["Date"]),
        )

    def body(self) -> str:
        return str(parsed(self.path).get_content())


def parsed(path: Path) -> email.message.EmailMessage:
    """A message as a mail client reads it: headers unfolded, the body decoded."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def mails(mailbox: Path = MAILBOX, address: str | None = None) -> list[Mail]:
    """Every message, oldest first (file names start with the time they were written), so a message's
    number stays the same while new mail arrives: the number `make mail` lists is the one SHOW= prints."""
    folders = [mailbox / address] if address else sorted(p for p in mailbox.glob("*") if p.is_dir())
    found = [Mail.read(path) for folder in folders if folder.is_dir() for path in folder.glob("*.eml")]
    return sorted(found, key=lambda mail: mail.path.name)


def listing(mailbox: Path = MAILBOX) -> str:
    found = mails(mailbox)
    if not found:
        return f"no mail in {mailbox} (alarm emails arrive there once `make up` has subscribed ALARM_EMAIL)"
    lines = [
        f"{len(found)} message(s) in {mailbox}, newest last (`make mail SHOW=n` prints one, SHOW=last the newest):"
    ]
    for number, mail in enumerate(found, 1):
        lines.append(f"{number:>3}  {mail.sent:%Y-%m-%d %H:%M:%S}  {mail.address:<28}  {mail.subject}")
    return "\n".join(lines)


def show(which: str, mailbox: Path = MAILBOX) -> str:
    """Message `which` of the listing: its number, or `last` for the newest."""
    found = mails(mailbox)
    number = len(found) if which == "last" else int(which) if which.isdigit() else 0
    if not 1 <= number <= len(found):
        raise RuntimeError(f"no message {which}: there are {len(found)} (`make mail` lists them)")
    mail = found[number - 1]
    return (
        f"To: {mail.address}\nDate: {mail.sent}\nSubject: {mail.subject}\nFile: {mail.path}\n\n{mail.body()}"
    )


def confirm_subscription(sns: Any, topic_arn: str, address: str, mailbox: Path = MAILBOX) -> str:
    """Confirm `address`'s email subscription to `topic_arn` through the link in its confirmation
    message, as its owner would; what happened, in a few words."""
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    mine = [s for s in subscriptions if s["Endpoint"] == address and s["Protocol"] in ("email", "email-json")]
    if not mine:
        return f"{address} is not subscribed to {topic_arn}"
    attributes = sns.get_subscription_attributes(SubscriptionArn=mine[0]["SubscriptionArn"])["Attributes"]
    if attributes.get("PendingConfirmation") != "true":
        return f"{address} is subscribed and confirmed"
    for mail in reversed(mails(mailbox, address)):  # the newest confirmation first
        link = CONFIRM_LINK.search(mail.body())
        if link and quote(topic_arn) in link.group(0):
            answer = requests.get(link.group(0), timeout=10)
            if answer.status_code != 200:
                raise RuntimeError(f"the confirmation link for {address} answered {answer.status_code}")
            return f"{address} confirmed through the link in {mail.path}"
    return f"{address} is pending confirmation, but no confirmation message is in {mailbox / address}"


def alarm_lines(cloudwatch: Any) -> list[str]:
    """Each alarm's state, since when, and why, ALARM first."""
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    order = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
    lines = []
    for alarm in sorted(alarms, key=lambda a: (order.get(a["StateValue"], 3), a["AlarmName"])):
        since = alarm["StateUpdatedTimestamp"].astimezone().strftime("%H:%M:%S")
        lines.append(
            f"{alarm['StateValue']:<17} since {since}  {alarm['AlarmName']}\n    {alarm['StateReason']}"
        )
    return lines or ["no alarms (deploy the stack: `make deploy-local`)"]
