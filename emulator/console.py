"""The local console's frame: its path, its style and the page every service's pages are drawn in
(cloudwatch/: the pipeline, dashboards and alarms; xray/pages.py: traces; logs/pages.py: log
lines; sns/pages.py: the mailbox).
Read-only, loopback only, behind the same Host/Origin guard as every request.

Charts are drawn in the browser by uPlot (npm, installed by `make setup` from the lockfile and
served from here: no CDN), from the data each chart's element carries; every page refreshes its
content every 10 s without reloading (it fetches itself and swaps the content in)."""

import html
from typing import Any
from urllib.parse import urlencode

from emulator.http import Response
from emulator.settings import REPO

CONSOLE_PATH = "/_emulator/console"
PIPELINE_PATH = f"{CONSOLE_PATH}/pipeline"  # cloudwatch/pipeline.py
TRACES_PATH = f"{CONSOLE_PATH}/traces"  # xray/pages.py
LOGS_PATH = f"{CONSOLE_PATH}/logs"  # logs/pages.py
MAILBOX_PATH = f"{CONSOLE_PATH}/mailbox"  # sns/pages.py
ASSETS_PATH = f"{CONSOLE_PATH}/assets/"
UPLOT = REPO / "node_modules" / "uplot" / "dist"
ASSETS = {"uPlot.iife.min.js": "application/javascript", "uPlot.min.css": "text/css"}
REFRESH_SECONDS = 10

SCRIPT = """
function drawCharts(root) {
  for (const el of root.querySelectorAll('.chart[data-chart]')) {
    const d = JSON.parse(el.dataset.chart);
    const xs = [...new Set(d.lines.flatMap(l => l.points.map(p => p[0])))].sort((a, b) => a - b);
    const data = [xs, ...d.lines.map(l => { const m = new Map(l.points); return xs.map(x => m.has(x) ? m.get(x) : null); })];
    el.dataset.points = data.slice(1).reduce((n, ys) => n + ys.filter(v => v !== null).length, 0);
    if (typeof uPlot === 'undefined') { el.textContent = 'charts need uPlot: run make setup'; continue; }
    const right = d.lines.some(l => l.axis === 'right');
    const top = (max) => Math.max(max || 0, ...d.thresholds) * 1.1 || 1;
    const opts = {
      width: el.clientWidth || 300, height: el.clientHeight || 150, legend: {show: false},
      scales: {x: {time: true, range: () => [d.start, d.end]}, y: {range: (u, min, max) => [0, top(max)]},
               right: {range: (u, min, max) => [0, top(max)]}},
      series: [{}, ...d.lines.map(l => ({label: l.label, stroke: l.colour, width: 2,
               scale: l.axis === 'right' ? 'right' : 'y', points: {show: true, size: 5}}))],
      axes: [{}, {scale: 'y', size: 40}, ...(right ? [{scale: 'right', side: 1, grid: {show: false}, size: 40}] : [])],
      hooks: {draw: [u => {
        const c = u.ctx; c.save(); c.strokeStyle = '#d13212'; c.setLineDash([4, 3]); c.lineWidth = 1;
        for (const t of d.thresholds) { const y = u.valToPos(t, 'y', true);
          c.beginPath(); c.moveTo(u.bbox.left, y); c.lineTo(u.bbox.left + u.bbox.width, y); c.stroke(); }
        c.restore(); }]},
    };
    el.textContent = '';
    new uPlot(opts, data, el);
  }
}
async function refresh() {
  try {
    const answer = await fetch(location.href);
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html').getElementById('content');
    const shown = document.getElementById('content');
    if (fresh && shown) { shown.replaceWith(fresh); drawCharts(fresh); }
  } catch (error) { /* the emulator stopped: keep what is shown */ }
}
document.addEventListener('DOMContentLoaded', () => {
  drawCharts(document);
  setInterval(refresh, REFRESH_MS);
});
""".replace("REFRESH_MS", str(REFRESH_SECONDS * 1000))


STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;background:#f2f3f3;color:#16191f}
a{color:#0073bb} h1{font-size:20px} h2{font-size:14px;margin:0 0 6px}
.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:60px;gap:8px}
.widget{background:#fff;border:1px solid #d5dbdb;padding:8px;overflow:hidden}
.chart{width:100%} .legend{list-style:none;padding:0;margin:4px 0;font-size:12px}
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
        f'<link rel="stylesheet" href="{ASSETS_PATH}uPlot.min.css"><style>{STYLE}</style>'
        f'<script src="{ASSETS_PATH}uPlot.iife.min.js"></script><script>{SCRIPT}</script></head><body>'
        f'<h1><a href="{CONSOLE_PATH}">Local console</a> · {html.escape(title)}</h1>'
        f'<p class="nav"><a href="{PIPELINE_PATH}">Pipeline</a> <a href="{CONSOLE_PATH}">Dashboards and alarms</a> '
        f'<a href="{TRACES_PATH}">Traces</a> <a href="{MAILBOX_PATH}">Mailbox</a></p>'
        f'<main id="content">{content}</main></body></html>'
    )


def logs_link(function: str, text: str = "") -> str:
    """The console's page of `function`'s log lines containing `text` (a request id, an orderId)."""
    return f"{LOGS_PATH}?{urlencode({'function': function, 'filter': text})}"


def assets(environ: dict[str, Any]) -> Response | None:
    """uPlot's script and style, from node_modules (GET /_emulator/console/assets/<file>)."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith(ASSETS_PATH):
        return None
    name = path[len(ASSETS_PATH) :]
    if name not in ASSETS:
        return Response(404, {"Content-Type": "text/plain"}, b"no such asset")
    try:
        body = (UPLOT / name).read_bytes()
    except OSError:
        return Response(
            404, {"Content-Type": "text/plain"}, b"uPlot is not installed: run `make setup` (npm ci)"
        )
    return Response(200, {"Content-Type": ASSETS[name], "Cache-Control": "max-age=3600"}, body)


def html_response(status: int, body: str) -> Response:
    return Response(status, {"Content-Type": "text/html; charset=utf-8"}, body.encode())
