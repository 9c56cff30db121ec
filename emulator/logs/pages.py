"""The local console's log lines (GET, read-only):

  /_emulator/console/logs?function=<name>&filter=<text>   a function's newest lines (its log group,
                                                          as its LoggingConfig says), those that
                                                          contain `filter` (an orderId, a request id)
  /_emulator/console/logs?group=<log group>&filter=...    any log group's (the API's access log)

A trace's function segments link here with the invocation's request id.
"""

import html
import time
from typing import Any
from urllib.parse import parse_qs

from emulator.console import LOGS_PATH, html_response, page
from emulator.http import Response

SHOWN = 200


def _log_group(account: str, region: str, function: str) -> str | None:
    from moto.awslambda.models import lambda_backends

    try:
        fn = lambda_backends[account][region].get_function(function)
    except Exception:
        return None
    configured = (getattr(fn, "logging_config", None) or {}).get("LogGroup")
    return str(configured or f"/aws/lambda/{fn.function_name}")


def lines(account: str, region: str, group: str, contains: str = "") -> list[tuple[int, str, str]]:
    """(timestamp ms, stream, message) of the group's newest SHOWN lines containing `contains`."""
    from moto.logs.models import logs_backends

    found = logs_backends[account][region].groups.get(group)
    if found is None:
        return []
    picked = [
        (int(event.timestamp), stream_name, str(event.message))
        for stream_name, stream in list(found.streams.items())
        for event in list(stream.events)
        if contains in str(event.message)
    ]
    return sorted(picked)[-SHOWN:]


class LogPages:
    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def handle(self, environ: dict[str, Any]) -> Response | None:
        if environ.get("PATH_INFO", "") != LOGS_PATH:
            return None
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return html_response(405, page("Not allowed", "<p>The console only reads.</p>"))
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        contains = query.get("filter", "")
        group = query.get("group") or (
            _log_group(self.account, self.region, query["function"]) if query.get("function") else None
        )
        if group is None:
            return html_response(404, page("Not found", "<p>No such function (or no group= given).</p>"))
        rows = "".join(
            f"<tr><td>{time.strftime('%H:%M:%S', time.localtime(ts / 1000))}.{ts % 1000:03d}</td>"
            f"<td><pre>{html.escape(message)}</pre></td></tr>"
            for ts, _, message in reversed(lines(self.account, self.region, group, contains))
        )
        form = (
            f'<form method="get" action="{LOGS_PATH}"><input type="hidden" name="group" value="{html.escape(group)}">'
            f'<input name="filter" placeholder="orderId or request id" value="{html.escape(contains)}"> '
            "<button>Filter</button></form>"
        )
        table = "<table>" + (rows or '<tr><td colspan="2">no lines</td></tr>') + "</table>"
        return html_response(
            200, page(f"Logs {group}", form + f"<p>newest first, at most {SHOWN}</p>" + table)
        )
