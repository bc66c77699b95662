"""The browser harness passes an offline Altair page and catches what the report checks must catch."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from browser import needs_browser, open_in_browser

pytestmark = needs_browser

CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/vega-embed@6"
CDN_IMAGE = "https://example.org/logo.png"


def bars() -> alt.Chart:
    frame = pd.DataFrame({"station": ["KU10", "KU20", "KU30"], "median_response_min": [5.2, 7.9, 6.1]})
    return alt.Chart(frame).mark_bar().encode(x="station", y="median_response_min")


def write(tmp_path: Path, name: str, html: str) -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def inline_page(tmp_path_factory) -> tuple[Path, Path, object]:
    """Altair's own inline page, with a second vega-embed chart and a line of text added to its body."""
    folder = tmp_path_factory.mktemp("inline")
    page = folder / "report.html"
    bars().properties(title="Median response by station").save(page, inline=True)
    line = alt.Chart(pd.DataFrame({"year": [2023, 2024, 2025], "tasks": [410, 452, 437]})).mark_line().encode(
        x="year:O", y="tasks")
    second = (f'<p>Median 5.2 min in KU10.</p><div class="vega-visualization" id="trend"></div>\n'
              f"<script>vegaEmbed('#trend', {json.dumps(line.to_dict())}).catch(console.error);</script>\n</body>")
    # The inlined bundle itself mentions </body>: the page's own is the last one.
    before, _, after = page.read_text(encoding="utf-8").rpartition("</body>")
    page.write_text(before.replace("<head>", "<head><title>Valmius test report</title>", 1) + second + after,
                    encoding="utf-8")
    screenshot = folder / "report.png"
    return page, screenshot, open_in_browser(page, screenshot=screenshot)


def test_altair_inline_page_renders_every_chart_offline(inline_page):
    _, _, visit = inline_page
    assert visit.console_errors == []
    assert visit.outside_requests == []
    assert visit.chart_errors == []
    assert visit.charts == 2
    assert visit.title == "Valmius test report"
    assert "Median 5.2 min in KU10." in visit.text


def test_screenshot_is_a_png_of_the_page(inline_page):
    _, screenshot, _ = inline_page
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 5_000  # two drawn charts, not a blank page


def test_outside_requests_are_blocked_and_reported(tmp_path):
    spec = json.dumps(bars().to_dict())
    page = write(tmp_path, "cdn.html", f"""<!DOCTYPE html><html><head><script src="{CDN_SCRIPT}"></script></head>
<body><img src="{CDN_IMAGE}" alt="logo"><div class="vega-visualization" id="by-station"></div>
<script>vegaEmbed('#by-station', {spec});</script></body></html>""")
    visit = open_in_browser(page)
    assert sorted(visit.outside_requests) == sorted([CDN_SCRIPT, CDN_IMAGE])
    assert visit.charts == 0
    assert visit.chart_errors == ["by-station"]
    assert any("vegaEmbed is not defined" in error for error in visit.console_errors), visit.console_errors


def test_script_errors_are_console_errors(tmp_path):
    page = write(tmp_path, "throws.html", """<!DOCTYPE html><html><head><title>Broken</title></head>
<body><p>Some text.</p><script>console.error("data for cell 1kmN6711E393 missing");</script>
<script>throw new TypeError("report script failed");</script></body></html>""")
    visit = open_in_browser(page)
    assert visit.console_errors == ["data for cell 1kmN6711E393 missing",
                                    "uncaught TypeError: report script failed"]
    assert visit.outside_requests == []
    assert (visit.charts, visit.chart_errors) == (0, [])
    assert visit.text.strip() == "Some text."


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no HTML file at .*nowhere.html"):
        open_in_browser(tmp_path / "nowhere.html")
