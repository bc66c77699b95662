"""The service-level decision review (palvelutasopäätöksen seuranta): ``valmius review``.

One call, :func:`write_review`, reads the lake (never writes it) and writes a folder::

    reports/review-2022-2025-2026-01-15/
      review.html              the board's document: summary first, offline (Vega inlined)
      review.json              manifest: period, date, settings in force, problem cells, areas
      charts/median.png|svg, share.png|svg, mean.png|svg
      tables/yearly.csv        per year: all urgent tasks, each risk class, municipality, station
      tables/problem_cells.csv per problem cell and year
      tables/areas.csv         areas over target at the end of the period
      tables/coverage.csv      urgent tasks per year, measured or why not
      tables/changes.csv       since the year before and since the previous review

The numbers are those of :mod:`valmius.review.tables`; the page is :mod:`valmius.review.page`;
what changed is :mod:`valmius.review.changes`. The CSV tables use the column names of the lake
(units in the names: ``median_s``, ``share_within_target`` 0-1) whatever the report language, and
are published as the page is: counts under ``report.min_count_shown`` are empty with ``count_shown``
``< N``, and their figures are left out. The folder is written beside the old one and swapped in
whole.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from valmius.definitions import Definition, current
from valmius.errors import ReviewError
from valmius.labels import count_text, mmss, percent
from valmius.measure import open_measured
from valmius.pages import chart_specs, is_synthetic, save_images, stamped, swap_in
from valmius.review import charts
from valmius.review.changes import (MANIFEST, Changes, compare, find_previous, folder_name, manifest_settings,
                                    read_review)
from valmius.review.labels import text, year_span
from valmius.review.page import PageInput, render, summary_lines
from valmius.review.tables import YEARLY_COLUMNS, ReviewTables, published, review_tables
from valmius.settings import Settings

__all__ = ["ReviewResult", "write_review"]

_CELL_COLUMNS = ["cell_id", "year", "risk_class", "end_risk_class", "municipality_code", "station_id", "count",
                 "count_shown", "median_s", "ci_low_s", "ci_high_s", "share_within_target", "mean_s", "target_s",
                 "is_over_median", "is_over_share", "is_over_target"]
_AREA_COLUMNS = ["area_id", "risk_class", "cells", "cell_ids", "municipality_code", "station_id", "count",
                 "count_shown", "median_s", "ci_low_s", "ci_high_s", "share_within_target", "mean_s", "target_s",
                 "confidence", "erc_median_s", "turnout_median_s", "travel_median_s", "main_delay"]
_COVERAGE_COUNTS = ["urgent_tasks", "measured", "no_unit_arrived", "no_counted_unit", "no_alarm_time",
                    "measured_without_risk_class"]


@dataclass
class ReviewResult:
    """What ``valmius review`` wrote."""

    folder: Path
    html: Path
    first_year: int
    last_year: int
    previous: Path | None
    summary: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def to_text(self) -> str:
        compared = f"compared with {self.previous.name}" if self.previous else "no earlier review to compare with"
        lines = [f"Review {year_span(self.first_year, self.last_year)}: {len(self.files)} files in {self.folder} ({compared})",
                 *(f"  {line}" for line in self.summary), str(self.html)]
        return "\n".join(lines)


def write_review(settings: Settings, *, first_year: int, last_year: int, today: date | None = None,
                 previous: Path | None = None) -> ReviewResult:
    """Write the review of the local calendar years ``first_year..last_year`` into
    ``paths.reports/review-<first>-<last>-<today>`` and return what was written.

    ``previous``: the earlier review folder to compare with (default: the newest other review
    folder under ``paths.reports`` made on or before ``today``). Raises :class:`ReviewError` when
    the years are out of order or some have no measured urgent tasks, before writing anything.
    """
    today = today or datetime.now(ZoneInfo(settings.time.zone)).date()
    if previous is not None and not (Path(previous) / MANIFEST).is_file():
        raise ReviewError(f"{previous}: not a review folder (no {MANIFEST} in it); give a folder that valmius review "
                          f"wrote, e.g. {settings.paths.reports / folder_name(first_year - 1, last_year - 1, today)}")
    snapshot = open_measured(settings)
    tables = review_tables(snapshot, settings, first_year, last_year)
    name = folder_name(first_year, last_year, today)
    previous_folder = Path(previous) if previous is not None else find_previous(settings.paths.reports, name, today)
    previous_review = read_review(previous_folder) if previous_folder else None

    min_count = settings.report.min_count_shown
    yearly = published(tables.yearly, min_count)
    changes = compare(tables, yearly, settings, previous_review)
    problem = tables.problem_cells[settings.flags.rule]
    cells = published(tables.cell_years.filter(pl.col("cell_id").is_in(problem)), min_count)
    areas = _published_areas(tables.areas, min_count)
    definition = current(snapshot, settings)
    page = PageInput(settings, tables, yearly, cells, areas, changes, today, is_synthetic(snapshot), {}, definition)

    final = settings.paths.reports / name
    work = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    (work / "charts").mkdir(parents=True)
    (work / "tables").mkdir()
    try:
        page.specs = _charts(page, work / "charts")
        for file, frame in (("yearly", yearly.select(*YEARLY_COLUMNS, "count_shown")),
                            ("problem_cells", cells.select(_CELL_COLUMNS)), ("areas", areas.select(_AREA_COLUMNS)),
                            ("coverage", _coverage(tables, min_count)), ("changes", _changes_table(changes))):
            stamped(frame, definition).write_csv(work / "tables" / f"{file}.csv")
        manifest = _manifest(tables, settings, today, changes, snapshot.snapshot_id, definition)
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (work / "review.html").write_text(render(page), encoding="utf-8")
        swap_in(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = sorted(p for p in final.rglob("*") if p.is_file())
    return ReviewResult(final, final / "review.html", first_year, last_year, previous_folder, summary_lines(page),
                        files)


def _published_areas(areas: pl.DataFrame, min_count: int) -> pl.DataFrame:
    shown = pl.col("count") >= min_count
    parts = ("erc_median_s", "turnout_median_s", "travel_median_s", "main_delay")
    return published(areas, min_count).with_columns(
        cell_ids=pl.col("cell_ids").list.join(" "), **{c: pl.when(shown).then(c) for c in parts})


def _coverage(tables: ReviewTables, min_count: int) -> pl.DataFrame:
    """Coverage as published: counts from 1 to ``min_count - 1`` are left empty."""
    return tables.coverage.with_columns(
        **{c: pl.when((pl.col(c) == 0) | (pl.col(c) >= min_count)).then(c) for c in _COVERAGE_COUNTS})


def _changes_table(changes: Changes) -> pl.DataFrame:
    """One long table: ``kind`` is year_on_year, previous_review_last_year or same_year_then_now."""
    parts = [changes.year_on_year.with_columns(kind=pl.lit("year_on_year"))]
    if changes.previous is not None:
        parts.append(changes.headline.with_columns(kind=pl.lit("previous_review_last_year")))
        parts.append(changes.since_previous.with_columns(kind=pl.lit("same_year_then_now"),
                                                         year_before=pl.col("year")))
    frames = [p.with_columns(year_before=pl.col("year_before").cast(pl.Int32), year=pl.col("year").cast(pl.Int32))
              for p in parts]
    columns = ["kind", "grouping", "group_key", "year_before", "year", "count_before", "count", "median_s_before",
               "median_s", "median_change_s", "share_within_target_before", "share_within_target", "share_change",
               "mean_s_before", "mean_s", "mean_change_s"]
    return pl.concat([f.select(columns) for f in frames], how="vertical_relaxed")


def _manifest(tables: ReviewTables, settings: Settings, today: date, changes: Changes, snapshot_id: int,
              definition: Definition) -> dict:
    rule = settings.flags.rule
    return {
        "definition": {"definition_id": definition.definition_id, "name": definition.name,
                       "version": definition.version},
        "first_year": tables.first_year,
        "last_year": tables.last_year,
        "made_on": today.isoformat(),
        "language": settings.report.language,
        "valmius_version": version("valmius"),
        "lake_snapshot": snapshot_id,
        "settings": manifest_settings(settings),
        "end_of_period": tables.evaluated_at.isoformat() if tables.evaluated_at else None,
        "flagged_cells": int(tables.flags["is_flagged"].sum()) if tables.flags.height else 0,
        "areas": tables.areas.height,
        "problem_cells": tables.problem_cells[rule],
        "problem_cells_by_other_rule": tables.problem_cells["share" if rule == "median" else "median"],
        "previous_review": changes.previous.folder.name if changes.previous else None,
        "new_problem_cells": changes.new_problem_cells,
        "cleared_problem_cells": changes.cleared_problem_cells,
    }


def _charts(page: PageInput, folder: Path) -> dict[str, dict]:
    """The three trend charts as Vega-Lite specs, each also saved as PNG and SVG."""
    lang, min_count = page.lang, page.min_count
    classes = page.yearly.filter(pl.col("grouping") == "risk_class").with_columns(
        year=pl.col("year").cast(pl.String), risk_class=pl.col("group_key"),
        median=pl.col("median_s").map_elements(mmss, return_dtype=pl.String),
        ci=pl.when(pl.col("ci_low_s").is_not_null()).then(
            pl.col("ci_low_s").map_elements(mmss, return_dtype=pl.String) + "–"
            + pl.col("ci_high_s").map_elements(mmss, return_dtype=pl.String)),
        share=pl.col("share_within_target").map_elements(lambda s: percent(s, lang), return_dtype=pl.String),
        count=pl.col("count_shown"))
    national = page.yearly.filter(pl.col("grouping") == "all").with_columns(
        year=pl.col("year").cast(pl.String), mean=pl.col("mean_s").map_elements(mmss, return_dtype=pl.String),
        count=pl.col("count").map_elements(lambda n: count_text(n, min_count), return_dtype=pl.String))
    target = page.settings.review.national_mean_target_s
    level = percent(page.settings.windows.ci_level, lang)
    built = {}
    if classes.drop_nulls("median_s").height:
        built["median"] = charts.median_by_year(
            classes.select("year", "risk_class", "median_s", "ci_low_s", "ci_high_s", "target_s", "median", "ci",
                           "count"), lang, text("median_title", lang, level=level))
        built["share"] = charts.share_by_year(classes.select("year", "risk_class", "share_within_target", "share",
                                                             "count"), lang, text("share_title", lang))
    if national.drop_nulls("mean_s").height:
        built["mean"] = charts.mean_by_year(
            national.select("year", "mean_s", "mean", "count"), target, lang,
            text("mean_title", lang, target=mmss(target)))
    specs = chart_specs(built, page.definition, lang)
    for name, spec in specs.items():
        save_images(spec, folder / name, lang)
    return specs
