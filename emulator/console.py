"""The local console's frame: its path, its style and the page every service's pages are drawn in
(cloudwatch/dashboards.py: dashboards and alarms; xray/pages.py: traces; logs/pages.py: log lines). Read-only, loopback
only, behind the same Host/Origin guard as every request."""

import html
from urllib.parse import urlencode

from emulator.http import Response

CONSOLE_PATH = "/_emulator/console"
TRACES_PATH = f"{CONSOLE_PATH}/traces"  # xray/pages.py
LOGS_PATH = f"{CONSOLE_PATH}/logs"  # logs/pages.py


STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;background:#f2f3f3;color:#16191f}
a{color:#0073bb} h1{font-size:20px} h2{font-size:14px;margin:0 0 6px}
.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:60px;gap:8px}
.widget{background:#fff;border:1px solid #d5dbdb;padding:8px;overflow:hidden}
.graph{width:100%;height:calc(100% - 70px)} .axis{stroke:#aab7b8} .tick{font-size:10px;fill:#545b64}
.threshold{stroke:#d13212;stroke-dasharray:4 3} .legend{list-style:none;padding:0;margin:4px 0;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
.single{display:inline-block;margin:8px 16px 0 0} .value{font-size:28px;display:block} .label{font-size:12px}
.alarms{list-style:none;padding:0} .alarms li{margin:4px 0;font-size:13px}
.state{color:#fff;padding:1px 6px;border-radius:3px;font-size:11px} .range a{margin-right:8px}
.range a.current{font-weight:bold} .nav a{margin-right:12px}
table{border-collapse:collapse;background:#fff;font-size:13px} td,th{padding:4px 8px;border-bottom:1px solid #eaeded;text-align:left}
.fault{color:#d13212} .error{color:#b7740f} .timeline{background:#fff;padding:8px;margin-bottom:12px;font-size:12px}
.span{position:relative;height:18px;margin:2px 0} .bar{position:absolute;height:14px;background:#7aa116;opacity:.8}
.bar.fault{background:#d13212} .bar.error{background:#f89256}
.span .name{position:absolute;left:0;white-space:nowrap;z-index:1;padding-left:4px}
pre{margin:0;white-space:pre-wrap;word-break:break-all}
"""


def page(title: str, content: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta http-equiv="refresh" content="10"><style>{STYLE}</style></head><body>'
        f'<h1><a href="{CONSOLE_PATH}">Local console</a> · {html.escape(title)}</h1>'
        f'<p class="nav"><a href="{CONSOLE_PATH}">Dashboards and alarms</a> <a href="{TRACES_PATH}">Traces</a></p>'
        f"{content}</body></html>"
    )


def logs_link(function: str, text: str = "") -> str:
    """The console's page of `function`'s log lines containing `text` (a request id, an orderId)."""
    return f"{LOGS_PATH}?{urlencode({'function': function, 'filter': text})}"


def html_response(status: int, body: str) -> Response:
    return Response(status, {"Content-Type": "text/html; charset=utf-8"}, body.encode())
