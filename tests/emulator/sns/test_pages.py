"""The console's mailbox: what the email subscriptions received, newest first, and one message."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import wiring
from emulator.console import MAILBOX_PATH
from emulator.sns import delivery, pages


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Path]:
    wiring.wire(wiring.Wiring(mailbox=tmp_path))
    yield tmp_path
    wiring.wire(wiring.Wiring())


def get(query: str = "") -> Any:
    return pages.handle({"PATH_INFO": MAILBOX_PATH, "QUERY_STRING": query, "REQUEST_METHOD": "GET"})


def test_the_mailbox_lists_newest_first_and_shows_a_message(mailbox: Path) -> None:
    delivery.write_mail(
        "oncall@example.com", 'ALARM: "DlqNotEmpty"', "a poison <message>", "AWS Notifications"
    )
    delivery.write_mail("oncall@example.com", 'OK: "DlqNotEmpty"', "fine", "AWS Notifications")
    listing = get().body.decode()
    assert listing.index("OK: &quot;DlqNotEmpty&quot;") < listing.index("ALARM: &quot;DlqNotEmpty&quot;")
    links = re.findall(r'href="(/_emulator/console/mailbox\?message=[^"]+)"', listing)
    alarm = get(links[1].split("?", 1)[1].replace("&amp;", "&")).body.decode()
    assert "a poison &lt;message&gt;" in alarm and "oncall@example.com" in alarm


def test_only_messages_in_the_mailbox_are_shown(mailbox: Path) -> None:
    (mailbox.parent / "secret.eml").write_text("Subject: no\n\nnope")
    assert get("message=../secret.eml").status == 404
    assert get("message=x/none.eml").status == 404
    assert (
        pages.handle({"PATH_INFO": MAILBOX_PATH, "QUERY_STRING": "", "REQUEST_METHOD": "POST"}).status == 405
    )  # type: ignore[union-attr]
