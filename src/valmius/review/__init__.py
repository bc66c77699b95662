"""The service-level decision review (palvelutasopäätöksen seuranta): ``valmius review``.

One call, :func:`write_review`, reads the lake (never writes it) and writes a new folder::

    reports/review-2022-2025-2026-01-15/     (-2, -3, ... for later reviews of the period that day)
      review.html              the board's document: summary first, offline (Vega inlined)
      review.json              manifest: period, when made, settings in force, what counted, problem cells
      charts/median.png|svg, share.png|svg, mean.png|svg
      tables/yearly.csv        per year: all urgent tasks, each risk class, municipality, station
      tables/cell_years.csv    per judged cell and year
      tables/problem_cells.csv per problem cell and year
      tables/areas.csv         areas over target at the end of the period
      tables/coverage.csv      urgent tasks per year, measured or why not; rows rejected from the exports
      tables/changes.csv       since the year before and since the previous review
      tables/columns.csv       every column of these tables and what it means

The numbers are those of :mod:`valmius.review.tables`; the page is :mod:`valmius.review.page`;
what changed is :mod:`valmius.review.changes`; the CSV columns are :mod:`valmius.review.columns`.
The CSV tables use the column names of the lake (units in the names: ``median_s``,
``share_within_target`` 0-1) whatever the report language, and are published as the page is:
counts under ``report.min_count_shown`` are empty with their ``*_shown`` text ``< N``, and their
figures are left out. The folder is written beside the others and moved into place whole; an
existing review folder is never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from valmius.definitions import Definition, current, find
from valmius.errors import ReviewError
from valmius.labels import english_count, mmss, percent
from valmius.pages import chart_specs, is_synthetic, save_images, stamped
from valmius.review import charts, columns
from valmius.review.changes import (MANIFEST, CellChange, Changes, compare, find_previous, manifest_settings,
                                    place, read_review, review_folders)
from valmius.review.labels import text, year_span
from valmius.review.content import PageInput
from valmius.review.page import render
from valmius.review.summary import summary_lines
from valmius.review.tables import COVERAGE_COUNTS, ReviewTables, open_read_only, published, review_tables
from valmius.settings import Settings

__all__ = ["ReviewResult", "write_review"]


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
        lines = [f"Review {year_span(self.first_year, self.last_year)} written to {self.folder} "
                 f"({english_count(len(self.files), 'file')}; {compared})",
                 *(f"  {line}" for line in self.summary), str(self.html)]
        return "\n".join(lines)


def write_review(settings: Settings, *, first_year: int, last_year: int, today: date | None = None,
                 previous: Path | None = None) -> ReviewResult:
    """Write the review of the local calendar years ``first_year..last_year`` into a new folder
    ``paths.reports/review-<first>-<last>-<today>`` (``-2``, ``-3``, ... when a review of the same
    period was made that day: none is overwritten) and return what was written.

    ``previous``: the earlier review folder to compare with (default: the review folder made last,
    by its manifest, on or before ``today``, the same day's included). Raises :class:`ReviewError`
    when the years are out of order or some have no measured urgent tasks, before writing anything.
    """
    made_at = datetime.now(timezone.utc)
    today = today or made_at.astimezone(ZoneInfo(settings.time.zone)).date()
    if previous is not None:
        _check_previous(Path(previous), settings.paths.reports, today)
    snapshot = open_read_only(settings)
    tables = review_tables(snapshot, settings, first_year, last_year)
    previous_folder = Path(previous) if previous is not None else find_previous(settings.paths.reports, today)
    previous_review = read_review(previous_folder) if previous_folder else None

    min_count = settings.report.min_count_shown
    yearly = published(tables.yearly, min_count)
    cell_years = published(tables.cell_years, min_count)
    changes = compare(tables, yearly, cell_years, settings, previous_review)
    cells = cell_years.filter(pl.col("cell_id").is_in(tables.problem_cells[settings.flags.rule]))
    areas = _published_areas(tables.areas, min_count)
    definition = current(snapshot, settings)
    measured_as = (None if snapshot.definition_id == definition.definition_id
                   else find(snapshot, snapshot.definition_id))
    page = PageInput(settings, tables, yearly, cells, areas, changes, today, made_at, is_synthetic(snapshot), {},
                     definition, measured_as)

    reports = settings.paths.reports
    work = reports / f".review-{first_year}-{last_year}-{today.isoformat()}.{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    (work / "charts").mkdir(parents=True)
    (work / "tables").mkdir()
    try:
        page.specs = _charts(page, work / "charts")
        for file, frame in (("yearly", yearly), ("cell_years", cell_years), ("problem_cells", cells),
                            ("areas", areas), ("coverage", _coverage(tables, min_count)),
                            ("changes", _changes_table(changes))):
            stamped(frame.select(columns.names(file)), definition).write_csv(work / "tables" / f"{file}.csv")
        columns.dictionary().write_csv(work / "tables" / "columns.csv")
        manifest = _manifest(tables, settings, today, made_at, changes, snapshot.snapshot_id, definition, measured_as)
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (work / "review.html").write_text(render(page), encoding="utf-8")
        final = place(work, reports, first_year, last_year, today)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = sorted(p for p in final.rglob("*") if p.is_file())
    return ReviewResult(final, final / "review.html", first_year, last_year, previous_folder, summary_lines(page),
                        files)


def _check_previous(previous: Path, reports: Path, today: date) -> None:
    """An error unless ``previous`` is a review folder, saying what it is instead and naming up to
    three reviews in ``reports``, the newest first (those that would be compared with by default)."""
    if (previous / MANIFEST).is_file():
        return
    if previous.exists():
        wrong = f"{previous}: not a review folder (no {MANIFEST} in it)"
    elif previous.is_absolute():
        wrong = f"{previous}: no such folder"
    else:
        wrong = f"{previous}: no such folder (a relative path is read from the current folder, {Path.cwd()})"
    made = review_folders(reports, today)[:3]
    hint = (f"give a folder that valmius review wrote, e.g. the latest in paths.reports: {', '.join(map(str, made))}"
            if made else f"valmius review has written none in {reports} (paths.reports); leave out --previous")
    raise ReviewError(f"{wrong}; {hint}")


def _published_areas(areas: pl.DataFrame, min_count: int) -> pl.DataFrame:
    shown = pl.col("count") >= min_count
    parts = ("erc_median_s", "turnout_median_s", "travel_median_s", "main_delay")
    return published(areas, min_count).with_columns(
        cell_ids=pl.col("cell_ids").list.join(" "), **{c: pl.when(shown).then(c) for c in parts})


def _coverage(tables: ReviewTables, min_count: int) -> pl.DataFrame:
    """Coverage as published: counts from 1 to ``min_count - 1`` are left empty, their ``*_shown``
    text ``< N`` (the counts of the unknown year's row that are not quarantine counts stay empty)."""
    hidden = {c: pl.col(c).is_between(1, min_count - 1) for c in COVERAGE_COUNTS}
    return tables.coverage.with_columns(
        **{f"{c}_shown": pl.when(hidden[c]).then(pl.lit(f"< {min_count}")).otherwise(pl.col(c).cast(pl.String))
           for c in COVERAGE_COUNTS},
        **{c: pl.when(hidden[c]).then(None).otherwise(c) for c in COVERAGE_COUNTS})


def _changes_table(changes: Changes) -> pl.DataFrame:
    """One long table: ``kind`` is year_on_year, previous_review_last_year or same_year_then_now."""
    parts = [changes.year_on_year.with_columns(kind=pl.lit("year_on_year"))]
    if changes.previous is not None:
        parts.append(changes.headline.with_columns(kind=pl.lit("previous_review_last_year")))
        parts.append(changes.since_previous.with_columns(kind=pl.lit("same_year_then_now"),
                                                         year_before=pl.col("year")))
    frames = [p.with_columns(year_before=pl.col("year_before").cast(pl.Int32), year=pl.col("year").cast(pl.Int32))
              for p in parts]
    return pl.concat([f.select(columns.names("changes")) for f in frames], how="vertical_relaxed")


def _manifest(tables: ReviewTables, settings: Settings, today: date, made_at: datetime, changes: Changes,
              snapshot_id: int, definition: Definition, measured_as: Definition | None) -> dict:
    rule = settings.flags.rule

    def cell_changes(change: str, cells: list[CellChange]) -> list[dict]:
        return [{"cell_id": c.cell_id, "change": change,
                 "years": [{"year": year, "then": then, "now": now} for year, then, now in c.years]} for c in cells]

    first_day, last_day = tables.measured_span
    return {
        "definition": {"definition_id": definition.definition_id, "name": definition.name,
                       "version": definition.version},
        "responses_of_definition": None if measured_as is None else {
            "definition_id": measured_as.definition_id, "name": measured_as.name, "version": measured_as.version},
        "first_year": tables.first_year,
        "last_year": tables.last_year,
        "made_on": today.isoformat(),
        "made_at": made_at.isoformat(),
        "language": settings.report.language,
        "valmius_version": version("valmius"),
        "lake_snapshot": snapshot_id,
        "settings": manifest_settings(settings),
        "counted": tables.counted,
        "measured_days": {"first": first_day.isoformat(), "last": last_day.isoformat()},
        "partial_years": {str(year): {"first": start.isoformat(), "last": end.isoformat()}
                          for year, (start, end) in tables.partial_years.items()},
        "end_of_period": tables.evaluated_at.isoformat() if tables.evaluated_at else None,
        "flagged_cells": int(tables.flags["is_flagged"].sum()) if tables.flags.height else 0,
        "areas": tables.areas.height,
        "problem_cells": tables.problem_cells[rule],
        "problem_cells_by_other_rule": tables.problem_cells["share" if rule == "median" else "median"],
        "previous_review": changes.previous.folder.name if changes.previous else None,
        "new_problem_cells": [c.cell_id for c in changes.new_problem_cells],
        "cleared_problem_cells": [c.cell_id for c in changes.cleared_problem_cells],
        "problem_cell_changes": [*cell_changes("new", changes.new_problem_cells),
                                 *cell_changes("cleared", changes.cleared_problem_cells)],
    }


def _charts(page: PageInput, folder: Path) -> dict[str, dict]:
    """The three trend charts as Vega-Lite specs, each also saved as PNG and SVG."""
    lang = page.lang
    classes = page.yearly.filter(pl.col("grouping") == "risk_class")
    national = page.yearly.filter(pl.col("grouping") == "all")
    target = page.settings.review.national_mean_target_s
    level = percent(page.settings.windows.ci_level, lang)
    built = {}
    if classes.drop_nulls("median_s").height:
        built["median"] = charts.median_by_year(classes, lang, text("median_title", lang, level=level), level,
                                                page.min_count)
        built["share"] = charts.share_by_year(classes, lang, text("share_title", lang), page.min_count)
    if national.drop_nulls("mean_s").height:
        built["mean"] = charts.mean_by_year(national, target, lang, text("mean_title", lang, target=mmss(target)),
                                            page.min_count)
    specs = chart_specs(built, page.definition, lang)
    for name, spec in specs.items():
        save_images(spec, folder / name, lang)
    return specs
