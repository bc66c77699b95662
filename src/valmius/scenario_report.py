"""The scenario page: what a station change would do, as one offline HTML file plus CSV tables.

Written by :func:`valmius.scenario.run_scenario` into the day's report folder, beside the main
report (which keeps ``scenario-*`` files when it is rewritten), named by the change, the last day of
the window and the language::

    reports/2026-11-23/
      scenario-close-KU10-2026-11-22-fi.html          self-contained, Vega inlined, Finnish by default
      scenario-close-KU10-2026-11-22-fi-cells.csv     the cells whose median changes, as published
      scenario-close-KU10-2026-11-22-fi-areas.csv     the areas over target after the change

A page is never overwritten: the same scenario written again on the same day gets ``-2``, ``-3``, ...
after its name, and the terminal says which earlier page is kept.

Published figures follow the report's rules: counts from 1 to ``report.min_count_shown`` - 1 read
``< N`` and their medians, intervals and shares are left out; 0 is shown.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from valmius import charts, gis
from valmius.grid import grid_at
from valmius.labels import count_text, counted, day_text, mmss, municipality_name, percent, text
from valmius.lake import Snapshot, write_atomically
from valmius.names import numbered
from valmius.definitions import current
from valmius.pages import chart_div, chart_specs, escape, html_page, stamped, table_html
from valmius.report import municipality_borders
from valmius.scenario import SOURCES, ScenarioResult
from valmius.settings import Settings

STATUS_ORDER = ("newly_over", "still_over", "slower", "no_longer_over", "faster", "unchanged")
STATUS_COLOURS = {"newly_over": "#d73027", "still_over": "#fc8d59", "slower": "#fee08b",
                  "no_longer_over": "#4575b4", "faster": "#1a9850", "unchanged": "#a6d96a"}
_FEW_COLOUR, _OTHER_COLOUR = "#bdbdbd", "#f0f0f0"
_MOST_CHANGED = 20


def write_scenario_report(result: ScenarioResult, settings: Settings, snapshot: Snapshot, *,
                          today: date | None = None) -> None:
    """Write the scenario's HTML page and CSV tables into ``paths.reports/<today>/``; set
    ``result.html`` and ``result.files``."""
    zone = ZoneInfo(settings.time.zone)
    today = today or datetime.now(zone).date()
    folder = settings.paths.reports / today.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    lang = settings.report.language
    stem, result.earlier_html = _free_stem(folder, f"scenario-{result.change.name}-{result.last_day}-{lang}")
    cells_table, areas_table = _cells_table(result, lang), _areas_table(result, lang)
    definition = current(snapshot, settings)
    specs = chart_specs({"map": _map_chart(result, settings, snapshot), "change": _change_chart(result, lang)},
                        definition, lang)
    files = {"cells": folder / f"{stem}-cells.csv", "areas": folder / f"{stem}-areas.csv"}
    sections = [
        _lead(result, settings),
        chart_div("map", specs, text("scenario_map_note", lang), images=False),
        chart_div("change", specs, images=False),
        table_html(text("scenario_cells_table", lang), cells_table),
        _unchanged_note(result, cells_table, lang),
        table_html(text("scenario_areas_table", lang), areas_table),
        table_html(text("scenario_sources_table", lang), _sources_table(result, lang)),
        table_html(text("scenario_takeover_table", lang), _takeover_table(result, lang)),
        _method(result, settings),
        "<p class='files'>" + " · ".join(f"<a href='{escape(p.name)}'>{escape(p.name)}</a>" for p in files.values())
        + "</p>",
    ]
    page = html_page(settings, result.evaluated_at, sections, specs, snapshot, title=_title(result, lang))
    html = folder / f"{stem}.html"
    write_atomically(files["cells"], stamped(cells_table, definition).write_csv())
    write_atomically(files["areas"], stamped(areas_table, definition).write_csv())
    write_atomically(html, page)
    result.html, result.files = html, [html, *files.values()]


def _free_stem(folder: Path, name: str) -> tuple[str, Path | None]:
    """``name``, or ``name-2``, ``name-3``, ... when a page or table of that name is in ``folder``
    already; and the newest earlier page of the name (None when there is none)."""
    earlier = None
    for stem in numbered(name):
        if not any((folder / f"{stem}{end}").exists() for end in (".html", "-cells.csv", "-areas.csv")):
            return stem, earlier
        if (folder / f"{stem}.html").exists():
            earlier = folder / f"{stem}.html"


def _title(result: ScenarioResult, lang: str) -> str:
    change = result.change
    if change.to_m is None:
        what = text("scenario_close", lang, station=change.station_id)
    else:
        what = text("scenario_move", lang, station=change.station_id, x=f"{change.to_m[0]:.0f}", y=f"{change.to_m[1]:.0f}")
    return text("scenario_title", lang, what=what)


def _shown(result: ScenarioResult, count: str = "count") -> pl.Expr:
    return pl.col(count) >= result.min_count


def _signed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return ("+" if seconds >= 0.5 else "") + mmss(seconds)


def _lead(result: ScenarioResult, settings: Settings) -> str:
    lang, n = settings.report.language, result.min_count
    classes = ", ".join(settings.flags.risk_classes)
    first = int((result.tasks["station_id"] == result.change.station_id).sum())
    changed = int((result.tasks["new_response_s"] != result.tasks["response_s"]).sum())
    lines = [text("scenario_first", lang, tasks=counted("n_measured_tasks_of", result.tasks.height, lang, n),
                  classes=classes, station=result.change.station_id, first=count_text(first, n),
                  changed=count_text(changed, n))]
    for row in result.classes.iter_rows(named=True):
        shown = row["count"] >= n
        lines.append(text("scenario_class", lang, risk_class=row["risk_class"],
                          before=mmss(row["median_before_s"]) if shown else "–",
                          after=mmss(row["median_after_s"]) if shown else "–", target=mmss(row["target_s"]),
                          share_before=percent(row["share_within_target_before"], lang) if shown else "–",
                          share_after=percent(row["share_within_target_after"], lang) if shown else "–"))
    cells = result.cells
    newly = cells.filter(pl.col("status") == "newly_over").sort("change_s", descending=True)
    lines.append(text("scenario_cells", lang, before=int(cells["is_over_before"].sum()),
                      after=int(cells["is_over_after"].sum()), newly=newly.height,
                      back=int((cells["status"] == "no_longer_over").sum()), areas_before=result.areas_before,
                      areas_after=result.areas.height))
    if newly.height:
        lines.append(text("scenario_newly", lang, cells=", ".join(newly["cell_id"].to_list())))
    if cells.filter(pl.col("change_s") != 0).height == 0:
        lines.append(text("scenario_none", lang))
    html = [f"<p class='note'>{escape(text('scenario_estimate', lang))}</p>"]
    html += [f"<p class='lead'>{escape(line)}</p>" for line in lines]
    html += [f"<p class='warn'>{escape(note)}</p>" for note in result.notes(lang)]
    return "\n".join(html)


def _bands(result: ScenarioResult, lang: str) -> tuple[list[str], list[str]]:
    labels = [text(f"status_{s}", lang) for s in STATUS_ORDER]
    labels += [text("band_few", lang, tasks=counted("n_tasks", result.min_count, lang)), text("other_classes", lang)]
    return labels, [*STATUS_COLOURS.values(), _FEW_COLOUR, _OTHER_COLOUR]


def _map_chart(result: ScenarioResult, settings: Settings, snapshot: Snapshot):
    lang, size = settings.report.language, settings.grid.cell_size_m
    grid = grid_at(snapshot, result.evaluated_at.astimezone(ZoneInfo(settings.time.zone)).year)
    if grid.height == 0 or result.cells.height == 0:
        return None
    judged = result.cells
    points, kinds = _station_points(result, lang)
    held = judged.select(pl.col("x_m", "y_m").cast(pl.Float64))  # the cells and the changed station's places
    if points is not None:
        held = pl.concat([held, points.filter(pl.col("kind") != kinds[0]).select("x_m", "y_m")])
    pad = 3 * size
    grid = grid.filter(pl.col("x_m").is_between(held["x_m"].min() - pad, held["x_m"].max() + pad),
                       pl.col("y_m").is_between(held["y_m"].min() - pad, held["y_m"].max() + pad))
    bands, colours = _bands(result, lang)
    status_label = {s: text(f"status_{s}", lang) for s in STATUS_ORDER}
    shown = _shown(result)
    cells = (
        grid.select("cell_id", "x_m", "y_m", "risk_class")
        .join(judged.select("cell_id", "count", "median_before_s", "median_after_s", "change_s", "status"),
              on="cell_id", how="left")
        .with_columns(band=pl.when(pl.col("count").is_null()).then(pl.lit(bands[-1]))
                      .when(~shown).then(pl.lit(bands[-2]))
                      .otherwise(pl.col("status").replace_strict(status_label, default=None)))
        .with_columns(
            x2_m=pl.col("x_m") + size, y2_m=pl.col("y_m") + size,
            cell=pl.col("cell_id") + " (" + pl.col("risk_class") + ")",
            count=pl.col("count").map_elements(lambda c: count_text(c, result.min_count), return_dtype=pl.String),
            median_before=pl.when(shown).then(pl.col("median_before_s").map_elements(mmss, return_dtype=pl.String)),
            median_after=pl.when(shown).then(pl.col("median_after_s").map_elements(mmss, return_dtype=pl.String)),
            change=pl.when(shown).then(pl.col("change_s").map_elements(_signed, return_dtype=pl.String)),
            status=pl.col("status").replace_strict(status_label, default=None),
        )
    )
    outlines = []
    for ids in result.areas["cell_ids"].to_list():
        corners = judged.filter(pl.col("cell_id").is_in(ids)).select("x_m", "y_m").rows()
        outlines += gis.boundary_segments(corners, size)
    segments = pl.DataFrame([(a[0], a[1], b[0], b[1]) for a, b in outlines], schema=["x_m", "y_m", "x2_m", "y2_m"],
                            orient="row")
    tooltips = ("cell", "count", "median_before", "median_after", "change", "status")
    return charts.cell_map(
        cells.select("x_m", "y_m", "x2_m", "y2_m", "band", *tooltips), segments, municipality_borders(grid, size),
        bands, lang, text("scenario_map_title", lang, classes=", ".join(settings.flags.risk_classes)),
        colours=colours, tooltips=tooltips, points=points, point_kinds=kinds,
        line_labels=(text("scenario_map_areas", lang), text("municipality_border", lang)))


def _station_points(result: ScenarioResult, lang: str) -> tuple[pl.DataFrame | None, tuple[str, ...]]:
    """The stations of the stations file (x_m, y_m, label, kind) and the kinds in the legend's order:
    other stations, then the closed one or the moved one's current place and its new location."""
    change = result.change
    station = text("scenario_map_station", lang)
    if change.to_m is None:
        kinds: tuple[str, ...] = (station, text("scenario_map_closed", lang, station=change.station_id))
    else:
        kinds = (station, text("scenario_map_from", lang, station=change.station_id),
                 text("scenario_map_to", lang, station=change.station_id))
    if result.stations is None:
        return None, kinds
    points = result.stations.select("x_m", "y_m", label=pl.col("station_id"), kind=pl.when(
        pl.col("station_id") == change.station_id).then(pl.lit(kinds[1])).otherwise(pl.lit(station)))
    if change.to_m is not None:
        moved = pl.DataFrame({"x_m": [change.to_m[0]], "y_m": [change.to_m[1]], "label": [change.station_id],
                              "kind": [kinds[2]]})
        points = pl.concat([points, moved])
    drawn = set(points["kind"].to_list())  # a closed station missing from the file has no mark nor legend entry
    return points, (station, *(kind for kind in kinds[1:] if kind in drawn))


def _change_chart(result: ScenarioResult, lang: str):
    moved = (result.cells.filter(_shown(result), pl.col("change_s") != 0)
             .sort(pl.col("change_s").abs(), "cell_id", descending=[True, False]).head(_MOST_CHANGED)
             .sort("median_after_s", descending=True))
    if moved.height == 0:
        return None
    frame = moved.select(
        cell=pl.concat_str(pl.col("cell_id"), pl.col("municipality_code").map_elements(
            municipality_name, return_dtype=pl.String).fill_null(""), separator=" ").str.strip_chars(),
        before_s="median_before_s", after_s="median_after_s", target_s=pl.col("target_s").cast(pl.Float64),
        before=pl.col("median_before_s").map_elements(mmss, return_dtype=pl.String),
        after=pl.col("median_after_s").map_elements(mmss, return_dtype=pl.String),
        change=pl.col("change_s").map_elements(_signed, return_dtype=pl.String))
    return charts.median_change(frame, lang, text("scenario_change_title", lang))


def _cells_table(result: ScenarioResult, lang: str) -> pl.DataFrame:
    n, shown = result.min_count, _shown(result)
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    changes = (pl.col("change_s") != 0) | pl.col("status").is_in(["newly_over", "no_longer_over"])
    changed = result.cells.filter(changes).with_columns(
        order=pl.col("status").replace_strict(order, return_dtype=pl.Int64)).sort(
        "order", "change_s", "cell_id", descending=[False, True, False])

    def interval(low: str, high: str) -> pl.Expr:
        return pl.when(shown & pl.col(low).is_not_null()).then(
            pl.col(low).map_elements(mmss, return_dtype=pl.String) + "–" + pl.col(high).map_elements(mmss, return_dtype=pl.String))

    return changed.select(
        pl.col("cell_id").alias(text("cell", lang)),
        pl.col("municipality_code").map_elements(municipality_name, return_dtype=pl.String).alias(text("municipality", lang)),
        pl.col("count").map_elements(lambda c: count_text(c, n), return_dtype=pl.String).alias(text("tasks", lang)),
        pl.col("tasks_changed").map_elements(lambda c: count_text(c, n), return_dtype=pl.String).alias(text("tasks_changed", lang)),
        pl.when(shown).then(pl.col("median_before_s").map_elements(mmss, return_dtype=pl.String)).alias(text("median_before", lang)),
        pl.when(shown).then(pl.col("median_after_s").map_elements(mmss, return_dtype=pl.String)).alias(text("median_after", lang)),
        pl.when(shown).then(pl.col("change_s").map_elements(_signed, return_dtype=pl.String)).alias(text("change", lang)),
        interval("ci_low_after_s", "ci_high_after_s").alias(text("ci_after", lang)),
        pl.when(shown).then(pl.col("share_within_target_before").map_elements(lambda s: percent(s, lang), return_dtype=pl.String)).alias(text("share_before", lang)),
        pl.when(shown).then(pl.col("share_within_target_after").map_elements(lambda s: percent(s, lang), return_dtype=pl.String)).alias(text("share_after", lang)),
        pl.col("status").map_elements(lambda s: text(f"status_{s}", lang), return_dtype=pl.String).alias(text("status", lang)),
    )


def _unchanged_note(result: ScenarioResult, cells_table: pl.DataFrame, lang: str) -> str:
    """How many cells the cells table leaves out (none listed: the lead says that no median changes)."""
    if cells_table.height == 0:
        return ""
    unchanged = text("scenario_cells_unchanged", lang, count=result.cells.height - cells_table.height)
    return f"<p class='note'>{escape(unchanged)}</p>"


def _areas_table(result: ScenarioResult, lang: str) -> pl.DataFrame:
    n, shown = result.min_count, _shown(result)
    return result.areas.select(
        pl.col("area_id").alias(text("area", lang)),
        pl.col("risk_class").alias(text("risk_class", lang)),
        pl.col("cells").alias(text("cells", lang)),
        pl.col("new_cells").list.len().alias(text("new_cells", lang)),
        pl.col("count").map_elements(lambda c: count_text(c, n), return_dtype=pl.String).alias(text("tasks", lang)),
        pl.when(shown).then(pl.col("median_before_s").map_elements(mmss, return_dtype=pl.String)).alias(text("median_before", lang)),
        pl.when(shown).then(pl.col("median_after_s").map_elements(mmss, return_dtype=pl.String)).alias(text("median_after", lang)),
        pl.when(shown & pl.col("ci_low_after_s").is_not_null()).then(
            pl.col("ci_low_after_s").map_elements(mmss, return_dtype=pl.String) + "–"
            + pl.col("ci_high_after_s").map_elements(mmss, return_dtype=pl.String)).alias(text("ci_after", lang)),
        pl.when(shown).then(pl.col("share_within_target_after").map_elements(lambda s: percent(s, lang), return_dtype=pl.String)).alias(text("share_after", lang)),
        pl.col("confidence_after").map_elements(lambda c: text(c, lang), return_dtype=pl.String).alias(text("confidence_after", lang)),
        pl.col("cell_ids").list.join(", ").alias(text("cell", lang)),
    )


def _sources_table(result: ScenarioResult, lang: str) -> pl.DataFrame:
    found = result.sources
    return pl.DataFrame({text("how", lang): [text(f"source_{s}", lang) for s in SOURCES if s in found],
                         text("tasks", lang): [count_text(found[s], result.min_count) for s in SOURCES if s in found]},
                        schema={text("how", lang): pl.String, text("tasks", lang): pl.String})


def _takeover_table(result: ScenarioResult, lang: str) -> pl.DataFrame:
    takeover = result.takeover
    return pl.DataFrame({text("station_point", lang): list(takeover),
                         text("tasks", lang): [count_text(n, result.min_count) for n in takeover.values()]},
                        schema={text("station_point", lang): pl.String, text("tasks", lang): pl.String})


def _method(result: ScenarioResult, settings: Settings) -> str:
    lang, scenario = settings.report.language, settings.scenario
    end = day_text(result.evaluated_at.astimezone(ZoneInfo(settings.time.zone)).date())
    items = [
        text("scenario_m_window", lang, classes=", ".join(settings.flags.risk_classes), days=result.window_days, end=end,
             level=percent(settings.windows.ci_level, lang), rule=text(f"scenario_rule_{settings.flags.rule}", lang)),
        text("scenario_m_close", lang, station=result.change.station_id),
        text("scenario_m_estimate", lang, history=counted("n_last_days", scenario.history_days, lang),
             min_obs=scenario.min_observations,
             around=text("scenario_m_around", lang, side=result.block_side)
             if scenario.neighbour_rings else ""),
        (text("scenario_m_model", lang, trips=counted("n_trips", result.model_observations, lang, result.min_count),
              error=_signed(result.model_error_s).lstrip("+") if result.model_error_s is not None else "–")
         if result.model_observations else text("scenario_m_no_model", lang)),
    ]
    if result.change.to_m is not None:
        items.append(text("scenario_m_move", lang))
    limits = [text(key, lang) for key in ("scenario_l_free", "scenario_l_dispatch", "scenario_l_next",
                                          "scenario_l_straight", "scenario_l_erc", "scenario_l_demand")]
    limits.append(text("scenario_l_small", lang, min_count=result.min_count,
                       tasks=counted("n_tasks", result.min_count, lang)))
    listed = "".join(f"<li>{escape(item)}</li>" for item in items + limits)
    return f"<section><h2>{escape(text('scenario_method', lang))}</h2><ul>{listed}</ul></section>"
