"""The report folder: its numbers read against the stored flags, small counts suppressed, GIS files
that QGIS can open, labels in both languages; the HTML needs nothing from the network."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from browser import needs_browser, open_in_browser
from conftest import table
from test_flags import AREA_A, SLOW, TOO_FEW, _cell_id, hand_lake  # noqa: F401  (fixture)
from valmius.cli import main
from valmius.flags import flag
from valmius.labels import axis_percent, count_text, count_text_expr, counted, mmss, mmss_expr, percent, text
from valmius.report import write_report
from valmius.settings import ReportSettings

TODAY = date(2026, 1, 5)


def _report(settings, **kw):
    return write_report(settings, today=TODAY, **kw)


def test_folder_contents_and_numbers_match_the_stored_tables(hand_lake):
    flag(hand_lake)
    result = _report(hand_lake)
    folder = hand_lake.paths.reports / "2026-01-05"
    assert result.folder == folder and result.html == folder / "report.html"
    names = {p.relative_to(folder).as_posix() for p in result.files}
    for chart in ("map", "trend", "ecdf", "components", "scorecards"):
        assert {f"charts/{chart}.png", f"charts/{chart}.svg"} <= names
        assert (folder / "charts" / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (folder / "charts" / f"{chart}.svg").read_text()[:400]
    assert {"tables/areas.csv", "tables/cells.csv", "tables/scorecards.csv", "gis/areas.geojson", "gis/flagged_cells.geojson",
            "gis/areas.parquet", "gis/flagged_cells.parquet"} <= names

    stored = table(hand_lake, "areas").sort("area_id")
    csv = pl.read_csv(folder / "tables" / "areas.csv", infer_schema=False)
    assert csv.height == stored.height
    for row, line in zip(stored.iter_rows(named=True), csv.iter_rows(named=True)):
        assert int(line["Alue"]) == row["area_id"]
        if row["count"] >= 5:
            assert line["Mediaani"] == mmss(row["median_s"]) and line["Tehtäviä"] == str(row["count"])
    page = result.html.read_text()
    area_1 = stored.row(0, named=True)
    assert mmss(area_1["median_s"]) in page and area_1["station_id"] in page
    assert result.flagged_cells == table(hand_lake, "flags")["is_flagged"].sum()


def test_a_chart_png_is_the_chart_itself_in_the_report_language(tmp_path):
    import altair as alt
    import vl_convert as vlc

    from valmius.pages import LOCALES, save_images

    spec = alt.Chart(pl.DataFrame({"x": [0.5, 1.5, 2.5], "y": [1234.5, 2.25, 3.0]})).mark_bar().encode(
        x="x:Q", y=alt.Y("y:Q", axis=alt.Axis(format=",.1f"))).to_dict()
    save_images(spec, tmp_path / "chart", "fi")
    locale = LOCALES["fi"]
    drawn = vlc.vegalite_to_png(spec, scale=2, format_locale=locale, time_format_locale=locale)
    assert (tmp_path / "chart.png").read_bytes() == drawn
    assert ">1\u00a0200,0</text>" in (tmp_path / "chart.svg").read_text()  # Finnish number format


def test_scorecards_section(hand_lake):
    result = _report(hand_lake)
    card = pl.read_csv(result.folder / "tables" / "scorecards.csv", infer_schema=False)
    units = table(hand_lake, "units")
    # Every task of the hand-made grid is one complete unit row: nothing missing, nothing quarantined.
    assert set(card["Asema"]) == set(units["station_id"]) and set(card["Kohteessa-aika puuttuu"]) <= {"0 %", ""}
    assert card["Karanteenissa"].unique().to_list() == ["0"]
    page = result.html.read_text()
    assert "Aineiston kattavuus" in page and "vegaEmbed('#chart-scorecards'" in page


def test_small_counts_are_never_shown(hand_lake):
    result = _report(hand_lake)
    cells = pl.read_csv(result.folder / "tables" / "cells.csv", infer_schema=False)
    few = cells.filter(pl.col("Ruutu") == _cell_id(TOO_FEW)).row(0, named=True)
    assert few["Tehtäviä"] == "< 5" and few["Mediaani"] is None and few["Luottamusväli"] is None
    assert few["Tavoiteajassa"] is None and few["Varmuus"] == "liian vähän tehtäviä"

    geo = json.loads((result.folder / "gis" / "flagged_cells.geojson").read_text())
    props = {f["properties"]["cell_id"]: f["properties"] for f in geo["features"]}
    assert props[_cell_id(TOO_FEW)]["count"] is None and props[_cell_id(TOO_FEW)]["median_s"] is None
    assert props[_cell_id(TOO_FEW)]["count_shown"] == "< 5"
    # In the map's data too: the cell's tooltip carries no median (10:00 would single out its tasks).
    page = result.html.read_text()
    record = re.search(r'\{[^{}]*"cell": "' + _cell_id(TOO_FEW) + r'[^{}]*\}', page).group(0)
    assert '"count": "< 5"' in record and '"median": null' in record


def test_gis_polygons(hand_lake):
    result = _report(hand_lake)
    areas = json.loads((result.folder / "gis" / "areas.geojson").read_text())
    assert areas["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::3067"
    by_cells = {frozenset(f["properties"]["cell_ids"]): f for f in areas["features"]}
    a = by_cells[frozenset(_cell_id(c) for c in AREA_A)]
    # Area A's cells touch at a corner only once (8-neighbourhood): two polygons, 4 km2 in all.
    assert a["geometry"]["type"] == "MultiPolygon"
    polygons = a["geometry"]["coordinates"]
    area_m2 = sum(_shoelace(poly[0]) for poly in polygons)
    assert area_m2 == 4_000_000
    cells = json.loads((result.folder / "gis" / "flagged_cells.geojson").read_text())
    assert {f["properties"]["cell_id"] for f in cells["features"]} == {_cell_id(c) for c in SLOW}
    square = cells["features"][0]["geometry"]
    assert square["type"] == "Polygon" and _shoelace(square["coordinates"][0]) == 1_000_000


def _shoelace(ring) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2


def test_languages_and_a_past_window(hand_lake):
    english = dataclasses.replace(hand_lake, report=ReportSettings(language="en"))
    page = _report(english, at=date(2025, 6, 30)).html.read_text()
    assert "Response times: risk class I areas over target" in page and "window ending 30.6.2025" in page
    assert '<html lang="en">' in page
    page = _report(hand_lake).html.read_text()
    assert "Toimintavalmius: riskiluokan I alueet yli tavoiteajan" in page and '<html lang="fi">' in page


def _class_i_headline(tasks: pl.DataFrame) -> str:
    values = tasks["response_s"].to_numpy()
    return text("headline", "en", risk_class="I", median=mmss(float(np.median(values))), target="6:00",
                share=percent(float((values <= 360).mean()), "en"), tasks=counted("n_tasks", values.size, "en", 5))


def test_headline_judges_the_window_up_to_the_newest_data(hand_lake):
    """The summary's class figures are those of the flags' window: by default the year up to the
    lake's last measured day (15.12.2025), not the calendar month that day falls in."""
    english = dataclasses.replace(hand_lake, report=ReportSettings(language="en"))
    page = _report(english).html.read_text()
    assert "window ending 15.12.2025" in page
    tasks = table(hand_lake, "responses").filter("is_measured", pl.col("risk_class") == "I")
    end = datetime(2025, 12, 15, 21, 59, 59, tzinfo=timezone.utc)
    in_window = tasks.filter(pl.col("call_at") > end - timedelta(days=365), pl.col("call_at") <= end)
    assert _class_i_headline(in_window) in page
    # The trend's last point, December in progress, is that window too (its stored calendar point is
    # judged at 31.12.2025); November's is the stored one.
    def trend_point(month: str) -> dict:
        record = re.search(r'\{"period": "' + month + r'-01T00:00:00",[^{}]*"risk_class": "I",[^{}]*\}', page).group(0)
        return json.loads(record)

    values = in_window["response_s"].to_numpy()
    assert trend_point("2025-12")["median_s"] == float(np.median(values))
    assert trend_point("2025-12")["count"] == count_text(values.size, 5)
    november = table(hand_lake, "rolling_calendar").filter(
        pl.col("grouping") == "risk_class", pl.col("group_key") == "I",
        pl.col("at") == datetime(2025, 11, 30, 21, 59, 59, tzinfo=timezone.utc)).row(0, named=True)
    assert trend_point("2025-11")["median_s"] == november["median_s"]
    assert trend_point("2025-11")["month"] == "11/2025"
    assert trend_point("2025-12")["month"] == "12/2025 (in progress: window ending 15.12.2025)"
    assert not re.search(r'"period": "2026-', page)
    # On 10.1.2025 January's stored point holds January 2025's tasks, still ahead; the year up to
    # that day holds only the two tasks of 15.1.2024, too few to draw.
    page = _report(english, at=date(2025, 1, 10)).html.read_text()
    assert "window ending 10.1.2025" in page and not re.search(r'"period": "2025-01-01', page)
    # At the end of a calendar period the figures are that period's point of rolling_calendar.
    page = _report(english, at=date(2025, 6, 30)).html.read_text()
    point = table(hand_lake, "rolling_calendar").filter(
        pl.col("grouping") == "risk_class", pl.col("group_key") == "I",
        pl.col("at") == datetime(2025, 6, 30, 20, 59, 59, tzinfo=timezone.utc)).row(0, named=True)
    headline = text("headline", "en", risk_class="I", median=mmss(point["median_s"]), target="6:00",
                    share=percent(point["share_within_target"], "en"), tasks=counted("n_tasks", point["count"], "en", 5))
    assert headline in page


def test_the_summary_writes_a_count_of_one_in_the_singular(hand_lake):
    """The hand-made lake has one problem cell, (3, 2): over target in 2024 and 2025."""
    page = _report(hand_lake).html.read_text()
    assert "; 1 ongelmaruutu (yli tavoitteen joka vuosi 2024–2025)." in page
    english = dataclasses.replace(hand_lake, report=ReportSettings(language="en"))
    page = _report(english).html.read_text()
    assert "; 1 problem cell (over target every year 2024–2025)." in page
    assert re.search(r"<p class='lead'>\d+ cells over target in \d+ areas;", page)
    # With every count shown, the map's grey band and the method say "fewer than 1 task".
    every = dataclasses.replace(english, report=ReportSettings(language="en", min_count_shown=1))
    page = _report(every).html.read_text()
    assert "Figures of fewer than 1 task are not shown." in page and '"fewer than 1 task"' in page


def test_offline_html_and_atomic_rewrite(hand_lake):
    first = _report(hand_lake)
    page = first.html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "vegaEmbed" in page and page.count("vegaEmbed('#chart-") == 5
    second = _report(hand_lake)
    assert second.folder == first.folder
    # The same lake gives the same page, but for the minute it was made (the two may straddle one).
    made = re.compile(r"Laadittu [^(]*\(")
    assert made.sub("", second.html.read_text()) == made.sub("", page) and len(made.findall(page)) == 1
    assert sorted(p.name for p in hand_lake.paths.reports.iterdir()) == ["2026-01-05"]  # no leftovers


def test_empty_lake_report(settings):
    result = _report(settings)
    assert result.evaluated_at is None and "Ei mitattuja kiireellisiä tehtäviä" in result.html.read_text()


def test_cli_report(hand_lake, tmp_path):
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{hand_lake.lake_path}"\nreports = "{tmp_path / "out"}"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "report", "--language", "en"])
    assert result.exit_code == 0, result.output
    path = result.output.strip().splitlines()[-1]
    assert path.endswith("report.html") and (tmp_path / "out").is_dir()
    assert "Response times" in open(path, encoding="utf-8").read()


@pytest.mark.parametrize(("seconds", "text"), [(360, "6:00"), (360.5, "6:01"), (359.4, "5:59"), (59.5, "1:00"),
                                               (0, "0:00"), (3725, "62:05"), (None, "")])
def test_mmss(seconds, text):
    assert mmss(seconds) == text


def test_mmss_expr_writes_what_mmss_writes():
    rng = np.random.default_rng(7)
    edges = [None, float("nan"), 0.0, 0.4, 0.49999999999999994, 0.5, 1.0, 59.4, 59.5, 60.0, 61.0, 119.5, 359.4,
             360.5, 3599.5, 3725.0, 86_400.0 * 7, 1e9 + 0.5, 2.0**53 + 2, -0.4, -0.5, -0.6, -1.0, -59.5, -60.0,
             -61.0, -3725.0, -1e9]
    values = edges + rng.uniform(-5000, 5000, 2000).tolist() + (rng.integers(-20_000, 20_000, 2000) / 2).tolist()
    written = pl.DataFrame({"s": values}, schema={"s": pl.Float64}).select(mmss_expr("s"))
    assert written.columns == ["s"]
    assert written["s"].to_list() == [mmss(v) for v in values]
    assert written["s"].to_list()[:3] == ["", "", "0:00"] and mmss(float("nan")) == ""
    counts = pl.DataFrame({"s": [None, 0, 59, 60, -61, 3725]}, schema={"s": pl.Int64})
    assert counts.select(mmss_expr("s"))["s"].to_list() == ["", "0:00", "0:59", "1:00", "-1:01", "62:05"]

def test_count_text():
    assert count_text(4, 5) == "< 5" and count_text(5, 5) == "5" and count_text(12345, 5) == "12\u00a0345"
    assert count_text(1, 5) == "< 5" and count_text(0, 5) == "0"  # no task picks out no incident


@pytest.mark.parametrize("min_count", [1, 2, 5, 10])
def test_count_text_expr_writes_what_count_text_writes(min_count):
    # None is a count that published figures (review.tables.published) left out for being under min_count.
    counts = [0, 1, min_count - 1, min_count, min_count + 1, 999, 1000, 12_345, 1_234_567, 10**12, None]
    written = pl.DataFrame({"count": counts}, schema={"count": pl.Int64}).select(count_text_expr("count", min_count))
    assert written["count"].to_list() == [count_text(c, min_count) for c in counts]
    if min_count == 5:
        assert written["count"].to_list() == ["0", "< 5", "< 5", "5", "6", "999", "1\u00a0000", "12\u00a0345",
                                              "1\u00a0234\u00a0567", "1\u00a0000\u00a0000\u00a0000\u00a0000", "< 5"]


@pytest.mark.parametrize("language, expected", [("fi", {"0 %", "0,4 %", "1,2 %", "80 %"}),
                                                ("en", {"0%", "0.4%", "1.2%", "80%"})])
def test_chart_percentages_are_written_as_the_pages_write_them(language, expected):
    import altair as alt
    import vl_convert

    data = pl.DataFrame({"x": [0, 1, 2], "share": [0.0, 0.005, 0.8]})
    chart = alt.Chart(data).mark_point().encode(
        x="x:Q", y=alt.Y("share:Q", axis=alt.Axis(labelExpr=axis_percent(language))),
        color=alt.Color("share:Q", scale=alt.Scale(domain=[0, 0.012]), legend=alt.Legend(labelExpr=axis_percent(language))))
    labels = set(re.findall(r">([0-9.,]+ ?%)<", vl_convert.vegalite_to_svg(chart.to_json())))
    assert expected <= labels
    assert not any(("." if language == "fi" else ",") in label for label in labels)


@needs_browser
def test_report_in_a_real_browser_offline(hand_lake, tmp_path):
    flag(hand_lake)
    result = _report(hand_lake)
    visit = open_in_browser(result.html, screenshot=tmp_path / "report.png", chart_selector=".vega-chart",
                            timeout_s=30)
    assert visit.outside_requests == []
    assert visit.console_errors == []
    assert (visit.charts, visit.chart_errors) == (5, [])
    assert visit.title == "Toimintavalmius: riskiluokan I alueet yli tavoiteajan"
    # The numbers a reader sees are those of the stored tables.
    areas = table(hand_lake, "areas").sort("area_id")
    for row in areas.filter(pl.col("count") >= 5).iter_rows(named=True):
        assert f"{mmss(row['median_s'])}" in visit.text
        assert f"{mmss(row['ci_low_s'])}–{mmss(row['ci_high_s'])}" in visit.text
    assert "< 5" in visit.text and (tmp_path / "report.png").stat().st_size > 10_000


def test_vega_bundle_is_built_once_per_vl_convert_version(tmp_path, monkeypatch):
    import vl_convert

    from valmius import pages

    built = vl_convert.javascript_bundle()
    calls = []

    def bundle():
        calls.append(1)
        return built

    monkeypatch.setattr(pages.vlc, "javascript_bundle", bundle)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pages.vega_bundle.cache_clear()
    try:
        assert pages.vega_bundle() == built and len(calls) == 1
        cached = list((tmp_path / "cache" / "valmius").glob("vega-bundle-vl-convert-*.js"))
        assert len(cached) == 1 and cached[0].read_text(encoding="utf-8") == built
        pages.vega_bundle.cache_clear()  # a new process: read from the cache, not built again
        assert pages.vega_bundle() == built and len(calls) == 1
        # A cache folder that cannot be written: built every time, still correct.
        (tmp_path / "blocked").write_text("a file, not a folder", encoding="utf-8")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
        pages.vega_bundle.cache_clear()
        assert pages.vega_bundle() == built and len(calls) == 2
    finally:
        pages.vega_bundle.cache_clear()
