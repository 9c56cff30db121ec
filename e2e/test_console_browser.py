"""What a person sees in the local console, in a real browser (headless Chromium, driven by
Playwright): after a few orders and one poison message, every widget of the deployed dashboard
with data points, the DLQ alarm in ALARM, and one order's journey through both functions. Each
run saves its screenshots in .local/screenshots; `CONSOLE_SCREENSHOTS=docs make e2e` refreshes
the README's (docs/console-*.png).

Chromium is Debian's package (`apt install chromium`; `.ci/run` installs it): a browser download
of Playwright's own cannot work on every machine, so the test points Playwright at the system's
and skips, saying why, where there is none."""

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from e2e.conftest import RecordingSession
from e2e.test_alarms import alarm_on, queue_name, state
from e2e.test_tracing import linked_traces
from e2e.waiting import eventually
from emulator.cloudwatch.dashboards import DASHBOARDS_PATH
from emulator.console import PIPELINE_PATH, TRACES_PATH
from workspace.deployment import Deployment

pytestmark = pytest.mark.needs("console")
REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / os.environ.get("CONSOLE_SCREENSHOTS", ".local/screenshots")
CHROMIUM_FLAGS = [  # headless, and nothing that reaches out of this machine
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no Chromium on this machine (`apt install chromium`, or CHROMIUM=<path>)")
    return found


@pytest.fixture
def browser_page() -> Iterator[Any]:
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by `make setup`")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1100})
        finally:
            browser.close()


def test_a_person_sees_the_dashboard_the_dlq_alarm_and_one_order_s_journey(
    browser_page: Any, http: RecordingSession, deployment: Deployment
) -> None:
    assert deployment.endpoint is not None
    order_ids = []
    for amount in (5, 6, 7):
        posted = http.post(f"{deployment.api_url}/orders", json={"amount": amount, "currency": "EUR"})
        assert posted.status_code == 202
        order_ids.append(posted.json()["orderId"])
    sqs = deployment.client("sqs")
    sqs.send_message(QueueUrl=deployment.outputs.queue_url, MessageBody=f"poison-{uuid.uuid4()}")
    dlq_alarm = alarm_on(
        deployment, "ApproximateNumberOfMessagesVisible", queue_name(deployment.outputs.dlq_url)
    )
    name = dlq_alarm["AlarmName"]
    eventually(lambda: state(deployment, name) == "ALARM", timeout=90, every=1, what=f"{name} in ALARM")

    body = deployment.client("cloudwatch").get_dashboard(DashboardName=deployment.outputs.dashboard_name)
    widgets = json.loads(body["DashboardBody"])["widgets"]
    page = browser_page
    dashboard = f"{deployment.endpoint}{DASHBOARDS_PATH}{quote(deployment.outputs.dashboard_name, safe='')}?minutes=15"

    def every_widget_drawn() -> dict[str, Any] | None:
        page.goto(dashboard)
        page.wait_for_selector(".chart canvas, .widget .alarms", timeout=10_000)
        seen = page.evaluate(
            """() => Array.from(document.querySelectorAll('section.widget')).map(w => ({
                title: w.querySelector('h2').textContent,
                points: w.querySelector('.chart canvas') ? Number(w.querySelector('.chart').dataset.points) : 0,
                text: w.innerText}))"""
        )
        drawn = {w["title"]: w for w in seen}
        charts = [w["properties"]["title"] for w in widgets if w["type"] == "metric"]
        if len(seen) == len(widgets) and all(drawn.get(t, {}).get("points") for t in charts):
            return drawn
        return None

    drawn, _ = eventually(every_widget_drawn, timeout=60, every=2, what="every widget with data points")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    [alarms] = [w for w in widgets if w["type"] == "alarm"]
    assert f"ALARM\n{name}" in drawn[alarms["properties"]["title"]]["text"].replace(" ", "\n")
    page.screenshot(path=str(SCREENSHOTS / "console-dashboard.png"), full_page=True)

    create, process = deployment.function_name("create_order"), deployment.function_name("process_order")
    page.goto(f"{deployment.endpoint}{PIPELINE_PATH}?minutes=15")  # whatever is deployed, at a glance
    page.wait_for_selector(".chart canvas")
    glance = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('section.widget')).map(w => [
            w.querySelector('h2').textContent, Number((w.querySelector('.chart') || {dataset: {}}).dataset.points || 0)]))"""
    )
    assert all(glance[title] for title in glance if title.startswith((create, process, "API ", "Queues")))
    page.goto(f"{deployment.endpoint}{TRACES_PATH}?orderId={order_ids[0]}")
    page.locator("table a").first.click()
    page.wait_for_load_state()
    journey = page.inner_text("body")
    assert create in journey and process in journey and linked_traces(journey) >= 2, journey[:300]
    assert page.locator(".bar").count() >= 6  # Lambda, function and its calls, in each trace
    page.screenshot(path=str(SCREENSHOTS / "console-journey.png"), full_page=True)
    print(f"screenshots in {SCREENSHOTS} at {time.strftime('%H:%M:%S')}")
