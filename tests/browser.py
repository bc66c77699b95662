"""Open an HTML file in headless Chromium with the network off, and say what a reader would have seen.

Used by tests of the offline HTML report: every chart must render, with no console errors and no
outside requests. Needs Debian's `chromium` on PATH and the `playwright` package (the `test` extra);
Playwright's own browser download is never used.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Without the background-networking flags Chromium calls home at start-up, and on a closed network
# that fails noisily; --no-sandbox is needed as root (CI). Playwright adds --headless and a fresh,
# temporary profile (--user-data-dir) itself.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # A second lock behind request blocking: no host name resolves, so nothing the routing
    # misses (a WebSocket, say) can leave the machine either.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# vega-embed adds the class `vega-embed` to the element it renders into; Altair names its target
# `vega-visualization`. A container is rendered when Vega drew at least one item into an SVG mark
# group, or painted a canvas that is not blank.
CHART_STATE_JS = """(selector) => {
  const containers = [...document.querySelectorAll(selector)];
  const drawn = (el) => {
    if (el.querySelector('svg g[class^="mark-"]:not(.mark-group) > *')) return true;
    return [...el.querySelectorAll('canvas')].some((c) => {
      if (!c.width || !c.height) return false;
      const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
      return false;
    });
  };
  return containers.map((el, i) => ({name: el.id || `#${i + 1} (no id)`, drawn: drawn(el)}));
}"""


@dataclass
class BrowserVisit:
    """What a reader of the page would have seen, and what went wrong while it loaded."""

    title: str
    text: str  # the page's visible text, as the browser lays it out
    charts: int  # chart containers that vega-embed rendered
    chart_errors: list[str] = field(default_factory=list)  # containers with nothing drawn, by id
    console_errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    outside_requests: list[str] = field(default_factory=list)  # URLs the page asked for, all blocked
    page_width: int = 0  # the laid-out page's width in CSS pixels (wider than the window: it scrolls sideways)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if shutil.which("chromium") is None:
        return "chromium is not on PATH (Debian: apt-get install chromium; `make test` does this as root)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


needs_browser = pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")


def open_in_browser(html: Path, *, screenshot: Path | None = None, timeout_s: float = 10.0,
                    chart_selector: str = ".vega-embed, .vega-visualization", width: int = 1280) -> BrowserVisit:
    """Load `html` in headless Chromium, `width` CSS pixels wide, with every outside request blocked,
    wait for its charts, report.

    Waits until every chart container is drawn, or, once something failed (an error or a blocked
    request), until the page has been still for a second; never longer than `timeout_s`.
    A full-page PNG is written to `screenshot` when given.
    """
    from playwright.sync_api import sync_playwright

    html = Path(html).resolve()
    if not html.is_file():
        raise FileNotFoundError(f"no HTML file at {html}")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError(browser_missing())

    page_url = html.as_uri()
    console_errors: list[str] = []
    outside_requests: list[str] = []

    def on_request(request_route) -> None:
        url = request_route.request.url
        if url.startswith(LOCAL_SCHEMES):
            request_route.continue_()
        else:
            outside_requests.append(url)
            request_route.abort("blockedbyclient")

    def on_console(message) -> None:
        if message.type == "error":
            # "Failed to load resource" names no resource in its text; its location does.
            where = message.location.get("url", "")
            console_errors.append(message.text if where in ("", page_url) else f"{message.text} ({where})")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(service_workers="block", viewport={"width": width, "height": 900})
            context.route("**/*", on_request)
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: console_errors.append(f"uncaught {error.name}: {error.message}"))
            page.on("websocket", lambda socket: outside_requests.append(socket.url))
            page.goto(page_url, wait_until="load", timeout=timeout_s * 1000)
            containers = _wait_for_charts(page, chart_selector, timeout_s,
                                          failed=lambda: bool(console_errors or outside_requests))
            if screenshot is not None:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
            visit = BrowserVisit(
                title=page.title(),
                text=page.inner_text("body"),
                charts=sum(c["drawn"] for c in containers),
                chart_errors=[c["name"] for c in containers if not c["drawn"]],
                console_errors=list(console_errors),
                outside_requests=list(outside_requests),
                page_width=page.evaluate("document.documentElement.scrollWidth"),
            )
        finally:
            browser.close()
    return visit


def _wait_for_charts(page, selector: str, timeout_s: float, failed) -> list[dict]:
    """Poll the chart containers until all are drawn, or the page has failed and gone still, or time runs out."""
    deadline = time.monotonic() + timeout_s
    state = page.evaluate(CHART_STATE_JS, selector)
    still_since = time.monotonic()
    while True:
        if state and all(c["drawn"] for c in state):
            return state
        now = time.monotonic()
        if now >= deadline or ((failed() or not state) and now - still_since >= 1.0):
            return state
        page.wait_for_timeout(100)
        new_state = page.evaluate(CHART_STATE_JS, selector)
        if new_state != state:
            state, still_since = new_state, time.monotonic()
