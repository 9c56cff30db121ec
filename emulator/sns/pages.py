"""The local console's mailbox (GET, read-only): what SNS's email subscriptions received, newest
first (<mailbox>/<address>/<time>-<id>.eml, written by delivery.py), and one message's text."""

import email
import email.policy
import html
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from emulator.console import MAILBOX_PATH, html_response, page
from emulator.http import Response
from emulator.wiring import wired

LISTED = 100


def _messages(mailbox: Path) -> list[Path]:
    found = [path for path in mailbox.glob("*/*.eml") if path.is_file()] if mailbox.is_dir() else []
    return sorted(found, key=lambda path: path.name, reverse=True)[:LISTED]


def _read(path: Path) -> email.message.EmailMessage:
    with open(path, "rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def handle(environ: dict[str, Any]) -> Response | None:
    if environ.get("PATH_INFO", "") != MAILBOX_PATH:
        return None
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        return html_response(405, page("Not allowed", "<p>The console only reads.</p>"))
    mailbox = wired().mailbox.resolve()
    wanted = parse_qs(environ.get("QUERY_STRING", "")).get("message", [""])[0]
    if wanted:
        path = (mailbox / wanted).resolve()
        if not path.is_relative_to(mailbox) or path.suffix != ".eml" or not path.is_file():
            return html_response(404, page("Not found", "<p>No such message in the mailbox.</p>"))
        message = _read(path)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        headers = "".join(
            f"<tr><th>{name}</th><td>{html.escape(str(message.get(name, '')))}</td></tr>"
            for name in ("From", "To", "Date", "Subject")
        )
        return html_response(200, page("Mail", f"<table>{headers}</table><pre>{html.escape(text)}</pre>"))
    rows = []
    for path in _messages(mailbox):
        message = _read(path)
        link = f"{MAILBOX_PATH}?message={quote(f'{path.parent.name}/{path.name}')}"
        rows.append(
            f"<tr><td>{html.escape(str(message.get('Date', '')))}</td><td>{html.escape(str(message.get('To', '')))}</td>"
            f'<td><a href="{html.escape(link)}">{html.escape(str(message.get("Subject", "")))}</a></td></tr>'
        )
    table = (
        "<table><tr><th>date</th><th>to</th><th>subject</th></tr>"
        + (
            "".join(rows)
            or '<tr><td colspan="3">no mail yet (alarms mail ALARM_EMAIL once they change state)</td></tr>'
        )
        + "</table>"
    )
    return html_response(200, page("Mailbox", f"<p>{html.escape(str(mailbox))}, newest first</p>{table}"))
