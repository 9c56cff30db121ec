"""`make mail`: the number a message is listed under is the number SHOW= prints, even while alarm
emails keep arriving (the first fresh-clone CI of session 6 showed an OK email for the confirmation
the listing had just numbered 1, because the numbers counted from the newest)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import wiring
from emulator.sns import delivery
from workspace import mail


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Path]:
    wiring.wire(wiring.Wiring(mailbox=tmp_path))
    yield tmp_path
    wiring.wire(wiring.Wiring())


def test_a_listed_number_keeps_its_message_when_new_mail_arrives(mailbox: Path) -> None:
    delivery.write_mail("me@example.com", "AWS Notification - Subscription Confirmation", "click", "AWS")
    listed = mail.listing(mailbox)
    assert "  1  " in listed and listed.rstrip().endswith("Subscription Confirmation")
    delivery.write_mail("me@example.com", 'OK: "DlqNotEmpty"', "fine", "AWS Notifications")
    assert "Subject: AWS Notification - Subscription Confirmation" in mail.show("1", mailbox)
    assert 'Subject: OK: "DlqNotEmpty"' in mail.show("last", mailbox)
    assert mail.listing(mailbox).rstrip().endswith('OK: "DlqNotEmpty"'), "the newest is listed last"


@pytest.mark.parametrize("which", ["0", "3", "-1", "first", ""])
def test_a_message_that_is_not_there_is_named(mailbox: Path, which: str) -> None:
    delivery.write_mail("me@example.com", "one", "1", "AWS")
    delivery.write_mail("me@example.com", "two", "2", "AWS")
    with pytest.raises(RuntimeError, match=f"no message {which}: there are 2"):
        mail.show(which, mailbox)
