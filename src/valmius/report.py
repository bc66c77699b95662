"""The report stage: one offline HTML file that says which class I areas are over target, how sure
we are, since when and what drives it, with its charts as PNG and SVG and the flags as GIS files.

``valmius report`` (and the nightly pipeline) judges the lake as ``valmius flag`` does (see
:mod:`valmius.flags`; the same function, so the report's numbers are those of the ``flags`` and
``areas`` tables after a flag run, which it reads instead when that run judged the same window on
the same files) and writes a dated folder::

    reports/2026-11-23/
      report.html                 self-contained: Vega libraries inlined, no network needed
      charts/map.png|svg, trend.png|svg, ecdf.png|svg, components.png|svg, scorecards.png|svg
      tables/areas.csv, tables/cells.csv, tables/scorecards.csv (data completeness by station and month)
      gis/areas.geojson|parquet, gis/flagged_cells.geojson|parquet   polygons in the grid's CRS

Published figures never single out an incident: counts under ``report.min_count_shown`` read
``< N`` and their medians, intervals and shares are left out, everywhere in the folder. The folder
is written beside the old one and swapped in whole.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import altair as alt
import numpy as np
import polars as pl

from valmius import charts, gis, notes, scorecards
from valmius.definitions import Definition, current
from valmius.flags import evaluation_time, judge_groups, local_day, stored_or_evaluated, targets_frame
from valmius.grid import grid_at
from valmius.labels import count_text, counted, day_text, english_count, mmss, municipality_name, percent, text
from valmius.lake import Snapshot
from valmius.measure import open_measured
from valmius.pages import chart_div, chart_specs, escape, html_page, save_images, stamped, swap_in, table_html
from valmius.settings import Settings


@dataclass
class ReportResult:
    """What ``valmius report`` wrote."""

    folder: Path
    html: Path
    evaluated_at: datetime | None
    last_day: date | None
    """The local day the window ends with."""
    flagged_cells: int = 0
    areas: int = 0
    files: list[Path] = field(default_factory=list)

    def to_text(self) -> str:
        if self.evaluated_at is None:
            return f"Report (no measured urgent tasks yet): {self.html}"
        return (f"Report for the window ending with {self.last_day}: {english_count(self.flagged_cells, 'flagged cell')} "
                f"in {english_count(self.areas, 'area')}; {english_count(len(self.files), 'file')} in {self.folder}"
                f"\n{self.html}")


def write_report(settings: Settings, *, at: date | None = None, today: date | None = None) -> ReportResult:
    """Write the report folder ``paths.reports/<today>`` for the window ending at ``at`` (default:
    the lake's last measured day) and return what was written."""
    snapshot = open_measured(settings)
    today = today or datetime.now(ZoneInfo(settings.time.zone)).date()
    final = settings.paths.reports / today.isoformat()
    work = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    (work / "charts").mkdir(parents=True)
    (work / "tables").mkdir()
    (work / "gis").mkdir()
    try:
        evaluated_at, flagged, area_count = _build(snapshot, settings, at, work)
        swap_in(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = sorted(p for p in final.rglob("*") if p.is_file())
    return ReportResult(final, final / "report.html", evaluated_at, local_day(evaluated_at, settings), flagged,
                        area_count, files)


def _build(snapshot: Snapshot, settings: Settings, at: date | None, folder: Path) -> tuple[datetime | None, int, int]:
    lang = settings.report.language
    evaluated_at = evaluation_time(snapshot, settings, at)
    sections: list[str] = []
    specs: dict[str, dict] = {}
    flagged_count = area_count = 0
    if evaluated_at is None:
        sections.append(f"<p>{escape(text('no_data', lang))}</p>")
    else:
        flags, areas = stored_or_evaluated(snapshot, settings, at=at)
        flagged_count, area_count = int(flags["is_flagged"].sum()), areas.height
        ctx = _Context(snapshot, settings, evaluated_at, flags, areas, current(snapshot, settings))
        sections.append(_summary_html(ctx))
        built = {
            "map": _map_chart(ctx),
            "trend": _trend_chart(ctx),
            "ecdf": _ecdf_chart(ctx),
            "components": _components_chart(ctx),
        }
        built["scorecards"], card_table, card_note = scorecards.report_parts(snapshot, settings, evaluated_at)
        specs = chart_specs(built, ctx.definition, lang)
        for name, spec in specs.items():
            save_images(spec, folder / "charts" / name, lang)
        areas_table, cells_table = _areas_table(ctx), _cells_table(ctx)
        sections.append(chart_div("map", specs, text("map_note", lang)))
        sections.append(table_html(text("areas_table", lang), areas_table))
        sections.append(chart_div("components", specs))
        sections.append(chart_div("trend", specs))
        sections.append(chart_div("ecdf", specs))
        sections.append(table_html(text("cells_table", lang), cells_table))
        sections.append(chart_div("scorecards", specs, card_note))
        for name, frame in (("scorecards", card_table), ("areas", areas_table), ("cells", cells_table)):
            stamped(frame, ctx.definition).write_csv(folder / "tables" / f"{name}.csv")
        _write_gis(ctx, folder / "gis")
        sections.append(_change_html(ctx, folder))
        sections.append(_method_html(ctx))
    (folder / "report.html").write_text(html_page(settings, evaluated_at, sections, specs, snapshot), encoding="utf-8")
    return evaluated_at, flagged_count, area_count


@dataclass
class _Context:
    snapshot: Snapshot
    settings: Settings
    evaluated_at: datetime
    flags: pl.DataFrame
    areas: pl.DataFrame
    definition: Definition

    @property
    def lang(self) -> str:
        return self.settings.report.language

    @property
    def min_count(self) -> int:
        return self.settings.report.min_count_shown

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.time.zone)

    @functools.cached_property
    def window_tasks(self) -> pl.DataFrame:
        """risk_class and response_s of the window's measured tasks that have a class."""
        start = self.evaluated_at - timedelta(days=self.settings.windows.trailing_days)
        return (self.snapshot.scan("responses")
                .filter(pl.col("is_measured"), pl.col("call_at") > start, pl.col("call_at") <= self.evaluated_at,
                        pl.col("risk_class").is_not_null())
                .select("risk_class", "response_s").collect())

    @functools.cached_property
    def window_by_class(self) -> pl.DataFrame:
        """Per risk class (each task's own), the window's evidence (:func:`valmius.flags.judge_groups`:
        count, median_s, ci_low_s, ci_high_s, share_within_target, ...): the figures of
        ``rolling_calendar`` at the window's end, up to the newest data."""
        tasks = self.window_tasks.join(targets_frame(self.settings), on="risk_class").with_columns(
            within=pl.col("response_s") <= pl.col("target_s"))
        return judge_groups(tasks, ["risk_class"], self.settings).sort("risk_class")

    def shown(self, count: pl.Expr | str = "count") -> pl.Expr:
        """Rows whose figures may be published."""
        return (pl.col(count) if isinstance(count, str) else count) >= self.min_count


# --- Summary -------------------------------------------------------------------------------------

def _summary_html(ctx: _Context) -> str:
    lang, flags = ctx.lang, ctx.flags
    lines = []
    for row in ctx.window_by_class.iter_rows(named=True):
        if row["risk_class"] not in ctx.settings.flags.risk_classes:
            continue
        shown = row["count"] >= ctx.min_count
        lines.append(text("headline", lang, risk_class=row["risk_class"],
                          median=mmss(row["median_s"]) if shown else "–",
                          target=mmss(ctx.settings.targets_s[row["risk_class"]]),
                          share=percent(row["share_within_target"], lang) if shown else "–",
                          tasks=counted("n_tasks", row["count"], lang, ctx.min_count)))
    flagged = flags.filter("is_flagged")
    if flagged.height:
        by = dict(zip(*flagged.group_by("confidence").len().to_dict(as_series=False).values()))
        years = _review_span(flags)
        lines.append(text("summary_flags", lang, cells=counted("n_cells", flagged.height, lang),
                          areas=counted("n_in_areas", ctx.areas.height, lang),
                          certain=by.get("certain", 0), likely=by.get("likely", 0), few=by.get("too_few_tasks", 0),
                          problem=counted("n_problem_cells", int(flags["is_problem"].sum()), lang), years=years))
    else:
        lines.append(text("no_flags", lang))
    rule = ctx.settings.flags.rule
    other = int(flags["is_over_share" if rule == "median" else "is_over_median"].sum())
    lines.append(text(f"flag_rule_{rule}", lang, other=counted("n_cells_object", other, lang)))
    return "\n".join(f"<p class='lead'>{escape(line)}</p>" for line in lines)


def _review_span(flags: pl.DataFrame) -> str:
    years = int(flags["years_in_review"].max() or 0)
    end = flags["evaluated_at"][0].year if flags.height else 0
    return f"{end - years + 1}–{end}" if years > 1 else str(end)


# --- Charts --------------------------------------------------------------------------------------

def _bands(lang: str, min_count: int) -> list[str]:
    return [text("band_met", lang), text("band_1", lang), text("band_2", lang), text("band_3", lang),
            text("band_few", lang, tasks=counted("n_tasks", min_count, lang)), text("other_classes", lang)]


def _map_chart(ctx: _Context) -> alt.LayerChart | None:
    lang, size = ctx.lang, ctx.settings.grid.cell_size_m
    grid = grid_at(ctx.snapshot, ctx.evaluated_at.astimezone(ctx.zone).year)
    if grid.height == 0:
        return None
    judged_classes = ctx.settings.flags.risk_classes
    focus = grid.filter(pl.col("risk_class").is_in(judged_classes))
    if focus.height:  # keep the map to the judged cells' surroundings
        pad = 3 * size
        grid = grid.filter(pl.col("x_m").is_between(focus["x_m"].min() - pad, focus["x_m"].max() + pad),
                           pl.col("y_m").is_between(focus["y_m"].min() - pad, focus["y_m"].max() + pad))
    bands = _bands(lang, ctx.min_count)
    over = pl.col("median_s") - pl.col("target_s")
    cells = (
        grid.select("cell_id", "x_m", "y_m", "risk_class", "municipality_code")
        .join(ctx.flags.select("cell_id", "count", "median_s", "ci_low_s", "ci_high_s", "share_within_target",
                               "target_s", "confidence"), on="cell_id", how="left")
        .with_columns(count=pl.col("count").fill_null(0))
        .with_columns(band=pl.when(~pl.col("risk_class").is_in(judged_classes)).then(pl.lit(bands[5]))
                      .when(~ctx.shown()).then(pl.lit(bands[4]))
                      .when(over <= 0).then(pl.lit(bands[0]))
                      .when(over < 60).then(pl.lit(bands[1]))
                      .when(over <= 120).then(pl.lit(bands[2]))
                      .otherwise(pl.lit(bands[3])))
    )
    cells = _with_evidence_text(ctx, cells).with_columns(
        x2_m=pl.col("x_m") + size, y2_m=pl.col("y_m") + size,
        cell=pl.col("cell_id") + " (" + pl.col("risk_class") + ")")
    outlines = []
    for ids in ctx.areas["cell_ids"].to_list():
        corners = ctx.flags.filter(pl.col("cell_id").is_in(ids)).select("x_m", "y_m").rows()
        outlines += gis.boundary_segments(corners, size)
    return charts.cell_map(
        cells.select("x_m", "y_m", "x2_m", "y2_m", "band", "cell", "count", "median", "ci", "share", "confidence"),
        _segments(outlines), municipality_borders(grid, size), bands, lang,
        text("map_title", lang, classes=", ".join(judged_classes)))


def _segments(edges: list) -> pl.DataFrame:
    return pl.DataFrame([(a[0], a[1], b[0], b[1]) for a, b in edges], schema=["x_m", "y_m", "x2_m", "y2_m"],
                        orient="row")


def municipality_borders(grid: pl.DataFrame, size: int) -> pl.DataFrame:
    """Segments (x_m, y_m, x2_m, y2_m) between neighbouring grid cells of different municipalities
    (when the grid names them)."""
    cells = grid.drop_nulls("municipality_code").select("x_m", "y_m", "municipality_code")
    edges = []
    for dx, dy in ((size, 0), (0, size)):
        neighbours = cells.join(cells.with_columns(pl.col("x_m") - dx, pl.col("y_m") - dy), on=["x_m", "y_m"],
                                suffix="_next").filter(pl.col("municipality_code") != pl.col("municipality_code_next"))
        for x, y in neighbours.select("x_m", "y_m").iter_rows():
            edges.append(((x + size, y), (x + size, y + size)) if dx else ((x, y + size), (x + size, y + size)))
    return _segments(edges)


def _with_evidence_text(ctx: _Context, frame: pl.DataFrame) -> pl.DataFrame:
    """count, median, ci, share and confidence as published text (suppressed under the threshold)."""
    lang, shown = ctx.lang, ctx.shown()
    return frame.with_columns(
        count=pl.col("count").map_elements(lambda n: count_text(n, ctx.min_count), return_dtype=pl.String),
        median=pl.when(shown).then(pl.col("median_s").map_elements(mmss, return_dtype=pl.String)),
        ci=pl.when(shown & pl.col("ci_low_s").is_not_null()).then(
            pl.col("ci_low_s").map_elements(mmss, return_dtype=pl.String) + "–"
            + pl.col("ci_high_s").map_elements(mmss, return_dtype=pl.String)),
        share=pl.when(shown).then(pl.col("share_within_target").map_elements(
            lambda s: percent(s, lang), return_dtype=pl.String)),
        confidence=pl.col("confidence").map_elements(lambda c: text(c, lang), return_dtype=pl.String),
    )


def _trend_points(ctx: _Context) -> pl.DataFrame:
    """Per risk class, the calendar periods ended by the window's end, then the period in progress
    (if any, ``in_progress``) drawn with the window's own figures: its stored point is judged at the
    period's end, a window that early in the period still lacks most of a month of data."""
    columns = ["period_start", "risk_class", "count", "median_s", "ci_low_s", "ci_high_s", "share_within_target"]
    points = (ctx.snapshot.scan("rolling_calendar").filter(pl.col("grouping") == "risk_class")
              .rename({"group_key": "risk_class"}).select(*columns, "at").collect())
    ended = points.filter(pl.col("at") <= ctx.evaluated_at).select(columns).with_columns(in_progress=pl.lit(False))
    current = points.filter(pl.col("at") > ctx.evaluated_at, pl.col("period_start") <= ctx.evaluated_at)
    if current.height == 0:
        return ended
    to_date = ctx.window_by_class.with_columns(period_start=pl.lit(current["period_start"].min()))
    return pl.concat([ended, to_date.select(columns).with_columns(in_progress=pl.lit(True))], how="vertical_relaxed")


def _trend_chart(ctx: _Context) -> alt.FacetChart | None:
    points = _trend_points(ctx)
    if points.height == 0:
        return None
    points = (
        points.join(targets_frame(ctx.settings), on="risk_class")
        .with_columns(period=pl.col("period_start").dt.convert_time_zone(ctx.settings.time.zone).dt.date())
        .filter(ctx.shown())
    )
    points = _with_evidence_text(ctx, points.with_columns(confidence=pl.lit(None, pl.String)))
    month = pl.col("period").dt.strftime("%m/%Y")
    to_date = text("month_to_date", ctx.lang, month="{}", day=day_text(ctx.evaluated_at.astimezone(ctx.zone).date()))
    points = points.with_columns(month=pl.when("in_progress").then(pl.format(to_date, month)).otherwise(month))
    return charts.class_trend(
        points.select("period", "month", "risk_class", "median_s", "ci_low_s", "ci_high_s", "target_s", "count",
                      "median", "ci"),
        ctx.lang, text("trend_title", ctx.lang, days=ctx.settings.windows.trailing_days,
                       level=percent(ctx.settings.windows.ci_level, ctx.lang)))


def _ecdf_chart(ctx: _Context) -> alt.LayerChart | None:
    """Share of tasks within t on a 15-second grid (a curve of counts, never single tasks)."""
    tasks = ctx.window_tasks
    rows, targets = [], []
    limit = 3 * max(ctx.settings.targets_s.values())
    for (risk_class,), group in tasks.sort("risk_class").group_by("risk_class", maintain_order=True):  # same page for the same lake
        if group.height < ctx.min_count:
            continue
        values = np.sort(group["response_s"].to_numpy())
        top = min(limit, float(np.quantile(values, 0.99)))
        grid = np.arange(0, top + 15, 15)
        share = np.searchsorted(values, grid, side="right") / values.size
        rows.append(pl.DataFrame({"risk_class": risk_class, "response_s": grid, "share": share}))
        targets.append((risk_class, ctx.settings.targets_s[risk_class]))
    if not rows:
        return None
    return charts.response_ecdf(pl.concat(rows), pl.DataFrame(targets, schema=["risk_class", "target_s"],
                                                              orient="row"),
                                ctx.lang, text("ecdf_title", ctx.lang))


def _components_chart(ctx: _Context) -> alt.Chart | None:
    lang = ctx.lang
    areas = ctx.areas.filter(ctx.shown()).sort("area_id").head(15)
    if areas.height == 0:
        return None
    rows = []
    for order, area in enumerate(areas.iter_rows(named=True)):
        label = f"{text('area', lang)} {area['area_id']}: {municipality_name(area['municipality_code'])}"
        for part in charts.PART_COLOURS:
            rows.append((label, order, part, area[f"{part}_median_s"]))
    for area in areas.unique("risk_class", keep="first", maintain_order=True).iter_rows(named=True):
        # The excess is the area's median minus that of the class's cells meeting the target.
        label = f"{text('meeting', lang)} ({area['risk_class']})"
        for part in charts.PART_COLOURS:
            median, excess = area[f"{part}_median_s"], area[f"{part}_excess_s"]
            rows.append((label, 10_000, part, None if median is None or excess is None else median - excess))
    parts = pl.DataFrame(rows, schema={"group": pl.String, "group_order": pl.Int64, "part": pl.String,
                                       "median_s": pl.Float64}, orient="row").drop_nulls("median_s")
    parts = parts.with_columns(part_label=pl.col("part").map_elements(lambda p: text(p, lang), return_dtype=pl.String),
                               median=pl.col("median_s").map_elements(mmss, return_dtype=pl.String))
    return charts.component_bars(parts, lang, text("components_title", lang))


# --- Tables and GIS ------------------------------------------------------------------------------

def _month_text(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else f"{moment.astimezone(zone):%m/%Y}"


def _evidence_columns(ctx: _Context) -> list[pl.Expr]:
    """Where, who and how sure, as published: the columns both ranked tables share."""
    lang = ctx.lang
    return [
        pl.col("municipality_code").map_elements(municipality_name, return_dtype=pl.String).alias(text("municipality", lang)),
        pl.col("station_id").alias(text("station", lang)),
        pl.col("count").alias(text("count", lang)),
        pl.col("median").alias(text("median", lang)),
        pl.col("ci").alias(text("ci", lang)),
        pl.col("share").alias(text("share", lang)),
        pl.col("confidence").alias(text("confidence", lang)),
    ]


def _review_columns(ctx: _Context) -> list[pl.Expr]:
    lang = ctx.lang
    return [
        (pl.col("years_over").cast(pl.String) + "/" + pl.col("years_in_review").cast(pl.String)).alias(text("years_over", lang)),
        pl.col("is_problem").map_elements(lambda b: text("yes" if b else "no", lang), return_dtype=pl.String).alias(text("problem", lang)),
    ]


def _areas_table(ctx: _Context) -> pl.DataFrame:
    lang = ctx.lang
    explained = notes.explained_text(notes.explained_by_area(ctx.snapshot, ctx.areas), lang, ctx.min_count)
    frame = _with_evidence_text(ctx, ctx.areas.sort("area_id")).join(explained, on="area_id", how="left")
    return frame.select(
        pl.col("area_id").alias(text("area", lang)),
        pl.col("risk_class").alias(text("risk_class", lang)),
        pl.col("cells").alias(text("cells", lang)),
        *_evidence_columns(ctx),
        *_review_columns(ctx),
        pl.col("main_delay").map_elements(lambda d: text(d, lang), return_dtype=pl.String).alias(text("main_delay", lang)),
        pl.col("explained").alias(text("note_explained", lang)),
    )


def _cells_table(ctx: _Context) -> pl.DataFrame:
    lang = ctx.lang
    flagged = ctx.flags.filter("is_flagged").sort("area_id", "median_s", descending=[False, True])
    return _with_evidence_text(ctx, flagged).select(
        pl.col("cell_id").alias(text("cell", lang)),
        pl.col("area_id").alias(text("area", lang)),
        *_evidence_columns(ctx),
        pl.col("over_since").map_elements(lambda t: _month_text(t, ctx.zone), return_dtype=pl.String).alias(text("over_since", lang)),
        *_review_columns(ctx),
    )


_SUPPRESSED = ("median_s", "ci_low_s", "ci_high_s", "share_within_target", "mean_s",
               "erc_median_s", "turnout_median_s", "travel_median_s", "erc_excess_s", "turnout_excess_s",
               "travel_excess_s")


def _published(ctx: _Context, frame: pl.DataFrame) -> pl.DataFrame:
    """Evidence columns as published: figures of too few tasks removed, the count kept as text."""
    shown = ctx.shown()
    return frame.with_columns(
        count_shown=pl.col("count").map_elements(lambda n: count_text(n, ctx.min_count), return_dtype=pl.String),
        count=pl.when(shown).then("count"),
        **{c: pl.when(shown).then(c) for c in _SUPPRESSED if c in frame.columns},
    )


def _write_gis(ctx: _Context, folder: Path) -> None:
    size, crs = ctx.settings.grid.cell_size_m, ctx.settings.grid.crs
    cells = _published(ctx, ctx.flags.filter("is_flagged"))
    cell_shapes = [[gis.cell_polygon(x, y, size)] for x, y in cells.select("x_m", "y_m").iter_rows()]
    areas = _published(ctx, ctx.areas)
    area_shapes = [gis.polygons(ctx.flags.filter(pl.col("cell_id").is_in(ids)).select("x_m", "y_m").rows(), size)
                   for ids in areas["cell_ids"].to_list()]
    cells, areas = stamped(cells, ctx.definition), stamped(areas, ctx.definition)
    for name, frame, shapes in (("flagged_cells", cells, cell_shapes), ("areas", areas, area_shapes)):
        gis.write_geojson(folder / f"{name}.geojson", frame, shapes, crs)
        gis.write_geoparquet(folder / f"{name}.parquet", frame, shapes, crs)


# --- Sections ------------------------------------------------------------------------------------

def _change_html(ctx: _Context, folder: Path) -> str:
    """Changes unlikely to be noise since the same window a year earlier (:mod:`valmius.change`)."""
    from valmius.change import published_changes, shown_changes

    lines, changes = published_changes(ctx.snapshot, ctx.settings, ctx.evaluated_at, ctx.areas)
    stamped(changes, ctx.definition).write_csv(folder / "tables" / "changes.csv")
    return (f"<section><h2>{escape(text('change_title', ctx.lang))}</h2>" + "".join(f"<p>{escape(line)}</p>" for line in lines)
            + table_html(text("change_table", ctx.lang), shown_changes(changes, ctx.lang)) + "</section>")


def _method_html(ctx: _Context) -> str:
    lang = ctx.lang
    files = " · ".join(f"<a href='{p}'>{p}</a>" for p in (
        "tables/areas.csv", "tables/cells.csv", "tables/scorecards.csv", "tables/changes.csv", "gis/areas.geojson", "gis/flagged_cells.geojson",
        "gis/areas.parquet", "gis/flagged_cells.parquet"))
    method = text("method_text", lang, min_count=ctx.min_count, tasks=counted("n_tasks", ctx.min_count, lang),
                  neighbourhood=ctx.settings.flags.neighbourhood)
    return (f"<section><h2>{escape(text('method', lang))}</h2><p>{escape(method)}</p>"
            f"<h2>{escape(text('files', lang))}</h2><p class='files'>{files}</p></section>")
