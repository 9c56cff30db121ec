"""The local console's CloudWatch pages: a deployed dashboard rendered as the CloudWatch console
lays it out, from the metrics the emulator recorded (metrics.py) and the alarms it evaluates.

  GET /_emulator/console                          every dashboard and every alarm, by state
  GET /_emulator/console/dashboards/<name>        one dashboard; ?minutes=N the range (default 60)
  GET /_emulator/console/pipeline                 the pipeline at a glance, whatever is deployed
                                                  (pipeline.py), drawn as a dashboard
  GET /_emulator/console/alarms/<name>            an alarm's state changes

Widgets, placed on CloudWatch's 24-column grid by their x, y, width and height:
  metric (timeSeries)  one line per metric row (drawn by uPlot in the browser, from the data the
                       page carries), at the row's period and statistic (Sum, Average,
                       Minimum, Maximum, SampleCount, pNN), the right axis for rows that ask for it,
                       an alarm annotation's threshold as a dashed line; the legend gives each
                       line's latest value
  metric (singleValue) each row's latest value
  alarm                each alarm's state
  text                 the markdown, as text
  any other kind       "not rendered: <type>", never a blank
Everything the page shows is escaped; the page changes nothing.
"""

import html
import json
import time
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from emulator.cloudwatch import pipeline
from emulator.cloudwatch.metrics import MetricRecorder, Series, dimensions_of, statistic
from emulator.console import CONSOLE_PATH, PIPELINE_PATH, html_response, page
from emulator.http import Response

DASHBOARDS_PATH = f"{CONSOLE_PATH}/dashboards/"
ALARMS_PATH = f"{CONSOLE_PATH}/alarms/"
DEFAULT_MINUTES = 60
DEFAULT_PERIOD = 300  # CloudWatch's default for a dashboard widget
ROW_PX, COLUMNS = 60, 24  # one grid unit of height, in pixels; the grid's width, in units
STATE_COLOURS = {"OK": "#1d8102", "ALARM": "#d13212", "INSUFFICIENT_DATA": "#687078"}
LINE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _backend(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]


def metric_rows(metrics: list[list[Any]]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, name, dimensions, options) per row; "." repeats the row above's value, as
    CloudWatch's dashboard body allows."""
    rows: list[tuple[str, str, dict[str, str], dict[str, Any]]] = []
    previous: list[Any] = []
    for row in metrics:
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        values = [v for v in row if not isinstance(v, dict)]
        values = [previous[i] if v == "." and i < len(previous) else v for i, v in enumerate(values)]
        previous = values
        if len(values) < 2:
            continue
        namespace, name, rest = str(values[0]), str(values[1]), [str(v) for v in values[2:]]
        rows.append((namespace, name, dict(zip(rest[::2], rest[1::2], strict=False)), options))
    return rows


def points(
    recorder: MetricRecorder, account: str, region: str, row: tuple[str, str, dict[str, str], dict[str, Any]], widget: dict[str, Any],
    start: float, end: float,
) -> list[tuple[float, float]]:  # fmt: skip
    """(period start, value) of one metric row over [start, end), periods without data left out."""
    namespace, name, dimensions, options = row
    period = int(options.get("period") or widget.get("period") or DEFAULT_PERIOD)
    stat = str(options.get("stat") or widget.get("stat") or "Average")
    series = Series(account, options.get("region") or region, namespace, name, dimensions_of(dimensions))
    buckets = recorder.buckets(series, start - start % period, end)
    if stat not in ("Sum", "Average", "Minimum", "Maximum", "SampleCount") and not stat.startswith("p"):
        return []  # a statistic the emulator does not compute (trimmed means, ...): no data
    by_period: dict[float, list[Any]] = {}
    for bucket in buckets:
        by_period.setdefault(bucket.start - bucket.start % period, []).append(bucket)
    found = []
    for moment in sorted(by_period):
        value = statistic(by_period[moment], stat)
        if value is not None:
            found.append((moment, value))
    return found


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"


def _chart(lines: list[tuple[str, list[tuple[float, float]], str]], thresholds: list[float],
           start: float, end: float, height: int) -> str:  # fmt: skip
    """The chart's data (label, points, axis per line; thresholds; range), which uPlot draws in the
    browser (console.py's script)."""
    data = {
        "start": start,
        "end": end,
        "thresholds": thresholds,
        "lines": [
            {"label": label, "axis": axis, "colour": LINE_COLOURS[i % len(LINE_COLOURS)], "points": pts}
            for i, (label, pts, axis) in enumerate(lines)
        ],
    }
    return f'<div class="chart" style="height:{height}px" data-chart="{html.escape(json.dumps(data))}"></div>'


def _label(row: tuple[str, str, dict[str, str], dict[str, Any]]) -> str:
    return str(row[3].get("label") or row[1])


def _alarms(account: str, region: str) -> list[Any]:
    return sorted(_backend(account, region).alarms.values(), key=lambda a: (a.state_value != "ALARM", a.name))


def _metric_widget(recorder: MetricRecorder, account: str, region: str, properties: dict[str, Any],
                   start: float, end: float, height: int) -> str:  # fmt: skip
    rows = metric_rows(properties.get("metrics", []))
    series = [(row, points(recorder, account, region, row, properties, start, end)) for row in rows]
    if properties.get("view") == "singleValue":
        cells = [
            f'<div class="single"><span class="value">{html.escape(_number(pts[-1][1]) if pts else "-")}</span>'
            f'<span class="label">{html.escape(_label(row))}</span></div>'
            for row, pts in series
        ]
        return "".join(cells)
    thresholds = []
    alarms_by_arn = {a.alarm_arn: a for a in _backend(account, region).alarms.values()}
    for annotation in (properties.get("annotations") or {}).get("alarms", []):
        alarm = alarms_by_arn.get(annotation)
        if alarm is not None and alarm.threshold is not None:
            thresholds.append(float(alarm.threshold))
    lines = [(_label(row), pts, "right" if row[3].get("yAxis") == "right" else "left") for row, pts in series]
    legend = "".join(
        f'<li><span class="swatch" style="background:{LINE_COLOURS[i % len(LINE_COLOURS)]}"></span>'
        f"{html.escape(label)}: {html.escape(_number(pts[-1][1]) if pts else 'no data')}</li>"
        for i, (label, pts, _) in enumerate(lines)
    )
    return _chart(lines, thresholds, start, end, height - 70) + f'<ul class="legend">{legend}</ul>'


def _alarm_widget(account: str, region: str, properties: dict[str, Any]) -> str:
    wanted = set(properties.get("alarms", []))
    shown = [a for a in _alarms(account, region) if a.alarm_arn in wanted]
    return '<ul class="alarms">' + "".join(_alarm_item(a) for a in shown) + "</ul>"


def _alarm_item(alarm: Any) -> str:
    colour = STATE_COLOURS.get(alarm.state_value, "#687078")
    return (
        f'<li><span class="state" style="background:{colour}">{html.escape(alarm.state_value)}</span> '
        f'<a href="{ALARMS_PATH}{quote(alarm.name, safe="")}">{html.escape(alarm.name)}</a>'
        f"<br><small>{html.escape(alarm.state_reason or '')}</small></li>"
    )


def render_history(account: str, regions: list[str], name: str) -> str | None:
    """An alarm's state changes, newest first (what DescribeAlarmHistory answers)."""
    for region in regions:
        alarm = _backend(account, region).alarms.get(name)
        if alarm is None:
            continue
        rows = "".join(
            f"<tr><td>{html.escape(str(item['Timestamp'])[:19])}</td><td>{html.escape(item['HistorySummary'])}</td>"
            f"<td>{html.escape(json.loads(item['HistoryData'])['newState'].get('stateReason', ''))}</td></tr>"
            for item in alarm.history
            if isinstance(item, dict)
        )
        table = (
            "<table><tr><th>when (UTC)</th><th>change</th><th>reason</th></tr>"
            + (rows or '<tr><td colspan="3">no state change yet</td></tr>')
            + "</table>"
        )
        return page(f"Alarm {name}", f'<ul class="alarms">{_alarm_item(alarm)}</ul>{table}')
    return None


def render_dashboard(
    recorder: MetricRecorder, account: str, region: str, name: str, minutes: int, now: float | None = None
) -> str | None:
    """The dashboard's page, or None when there is no such dashboard."""
    dashboard = _backend(account, region).dashboards.get(name)
    if dashboard is None:
        return None
    try:
        widgets = json.loads(dashboard.body).get("widgets", [])
    except ValueError:
        widgets = []
    return render_widgets(recorder, account, region, widgets, minutes, f"Dashboard {name}", now)


def render_widgets(
    recorder: MetricRecorder, account: str, region: str, widgets: list[dict[str, Any]], minutes: int,
    title: str, now: float | None = None,
) -> str:  # fmt: skip
    """A page of DashboardBody widgets over the last `minutes`."""
    end = now if now is not None else time.time()
    start = end - minutes * 60
    cells = []
    for widget in widgets:
        properties = widget.get("properties") or {}
        width, height = int(widget.get("width") or 6), int(widget.get("height") or 6)
        x, y = int(widget.get("x") or 0), int(widget.get("y") or 0)
        kind = widget.get("type")
        if kind == "metric":
            body = _metric_widget(recorder, account, region, properties, start, end, height * ROW_PX)
        elif kind == "alarm":
            body = _alarm_widget(account, region, properties)
        elif kind == "text":
            body = f"<pre>{html.escape(str(properties.get('markdown', '')))}</pre>"
        else:
            body = f"<p>not rendered: {html.escape(str(kind))}</p>"
        placement = f"grid-column:{x + 1} / span {width};grid-row:{y + 1} / span {height}"
        cells.append(f'<section class="widget" style="{placement}"><h2>{html.escape(str(properties.get("title", "")))}'
                     f"</h2>{body}</section>")  # fmt: skip
    ranges = " ".join(
        f'<a href="?minutes={m}"{" class=current" if m == minutes else ""}>{label}</a>'
        for m, label in ((15, "15 min"), (60, "1 h"), (180, "3 h"))
    )
    content = f'<p class="range">{ranges}</p><div class="grid">{"".join(cells)}</div>'
    return page(title, content)


def render_index(account: str, regions: list[str]) -> str:
    dashboards, alarms = [], []
    for region in regions:
        backend = _backend(account, region)
        dashboards += [(region, name) for name in sorted(backend.dashboards)]
        alarms += _alarms(account, region)
    listed = (
        "".join(
            f'<li><a href="{DASHBOARDS_PATH}{quote(name, safe="")}">{html.escape(name)}</a> <small>{html.escape(region)}</small></li>'
            for region, name in dashboards
        )
        or "<li>none yet: `make up` deploys the stack's</li>"
    )
    content = f'<h2>Dashboards</h2><ul>{listed}</ul><h2>Alarms</h2><ul class="alarms">{"".join(_alarm_item(a) for a in alarms) or "<li>none</li>"}</ul>'
    return page("Local console", content)


def console(
    environ: dict[str, Any], account: str, default_region: str, recorder: MetricRecorder
) -> Response | None:
    """The console's pages (GET), or None for any other path; charts drawn from `recorder`'s metrics."""
    path = environ.get("PATH_INFO", "")
    if path not in (CONSOLE_PATH, f"{CONSOLE_PATH}/", PIPELINE_PATH) and not path.startswith(
        (DASHBOARDS_PATH, ALARMS_PATH)
    ):
        return None
    from moto.cloudwatch.models import cloudwatch_backends

    regions = [default_region, *[r for r in cloudwatch_backends[account] if r != default_region]]
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        return html_response(405, page("Not allowed", "<p>The console only reads.</p>"))
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        minutes = max(1, min(180, int(query.get("minutes", [DEFAULT_MINUTES])[0])))
    except ValueError:
        minutes = DEFAULT_MINUTES
    if path == PIPELINE_PATH:
        widgets = pipeline.widgets(account, default_region)
        return html_response(
            200, render_widgets(recorder, account, default_region, widgets, minutes, "Pipeline")
        )
    if path.startswith(ALARMS_PATH):
        name = unquote(path[len(ALARMS_PATH) :])
        history = render_history(account, regions, name)
        if history is None:
            return html_response(404, page("Not found", f"<p>No alarm named {html.escape(name)}.</p>"))
        return html_response(200, history)
    if not path.startswith(DASHBOARDS_PATH):
        return html_response(200, render_index(account, regions))
    name = unquote(path[len(DASHBOARDS_PATH) :])
    for region in regions:
        rendered = render_dashboard(recorder, account, region, name, minutes)
        if rendered is not None:
            return html_response(200, rendered)
    return html_response(404, page("Not found", f"<p>No dashboard named {html.escape(name)}.</p>"))
