"""What changed: since the previous review (its stored tables) and since the year before.

Each review folder ``review-<first>-<last>-<made on>`` (``-2``, ``-3``, ... for later reviews of the
same period on the same day: a review folder is never overwritten) keeps its published tables and
a manifest (``review.json``: period, when it was made, the settings that shape the numbers, the
problem cells and areas). A new review reads the latest earlier one, the review folder under
``paths.reports`` made last, by its manifest, on or before the new review's day (or the folder
given), and compares published numbers only: a figure suppressed in either review is not compared,
so that no difference reveals a small count. The changes here are exact; the page shows the
differences of the figures as it shows them (rounded).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from valmius.errors import ReviewError
from valmius.names import numbered
from valmius.review.tables import YEARLY_COLUMNS, ReviewTables
from valmius.definitions import document, flat_rules
from valmius.settings import Settings

MANIFEST = "review.json"
FOLDER_NAME = re.compile(r"^review-(\d{4})-(\d{4})-(\d{4}-\d{2}-\d{2})(?:-(\d+))?$")
_COMPARED = ("count", "count_shown", "median_s", "share_within_target", "mean_s")


def folder_name(first_year: int, last_year: int, made_on: date) -> str:
    """``review-<first>-<last>-<made on>``: the review's folder, or the first name tried for it (:func:`place`)."""
    return f"review-{first_year}-{last_year}-{made_on.isoformat()}"


def place(work: Path, reports: Path, first_year: int, last_year: int, made_on: date) -> Path:
    """Move the finished folder ``work`` to the first free review folder name of the period and day
    (``-2``, ``-3``, ... after the first: never over an existing review, also when another review
    takes a name meanwhile) and return it."""
    def moved_to(final: Path) -> bool:
        """Whether ``work`` was renamed to ``final``; not when a review of that name is there already."""
        if final.exists():
            return False
        try:
            os.rename(work, final)  # refuses an existing folder with files in it
        except OSError:
            if final.exists():  # another review took the name meanwhile
                return False
            raise
        return True

    names = numbered(folder_name(first_year, last_year, made_on))
    return next(reports / name for name in names if moved_to(reports / name))


def manifest_settings(settings: Settings) -> dict[str, object]:
    """The rules that shape a review's numbers, as stored in its manifest: its definition's
    (``valmius.definitions``), keyed as the settings name them."""
    return flat_rules(document(settings))


@dataclass
class PreviousReview:
    """A stored review, as published."""

    folder: Path
    first_year: int
    last_year: int
    made_on: date
    made_at: datetime | None
    """When it was made (None: a review from before the moment was stored)."""
    settings: dict[str, object]
    yearly: pl.DataFrame
    problem_cells: list[str]
    areas: int
    flagged_cells: int
    cell_years: pl.DataFrame
    """Published figures per cell and year: of every judged cell (``tables/cell_years.csv``), or of
    its problem cells only when it is an older review without that table."""
    all_cells: bool
    """Whether ``cell_years`` holds every judged cell (else only the problem cells)."""


@dataclass
class CellChange:
    """A problem cell that appeared or cleared, and the years whose verdict differs between the
    reviews: (year, verdict then, verdict now), a verdict being ``missed``, ``met``, ``few`` (too
    few tasks to publish), ``none`` (no tasks), ``outside`` (not in that review's period) or
    ``unknown`` (the earlier review did not store the cell's years)."""

    cell_id: str
    years: list[tuple[int, str, str]]


@dataclass
class Changes:
    previous: PreviousReview | None
    since_previous: pl.DataFrame
    """Per class (and all tasks) and year in both reviews: the figures then and now, and the change."""
    headline: pl.DataFrame
    """Per class (and all tasks): the previous review's last year then, this review's last year now."""
    year_on_year: pl.DataFrame
    """Per class (and all tasks): the year before the last, and the last year (this review's figures)."""
    new_problem_cells: list[CellChange] = field(default_factory=list)
    cleared_problem_cells: list[CellChange] = field(default_factory=list)
    kept_problem_cells: list[str] = field(default_factory=list)
    settings_changed: list[tuple[str, object, object]] = field(default_factory=list)


def find_previous(reports: Path, made_on: date) -> Path | None:
    """The review folder made last on or before the day ``made_on`` (:func:`review_folders`), or None."""
    return next(iter(review_folders(reports, made_on)), None)


def review_folders(reports: Path, made_on: date) -> list[Path]:
    """The review folders in ``reports`` made on or before the day ``made_on``, the newest first, by
    their manifest (``made_on``, then ``made_at``; a manifest that cannot be read counts by its
    folder's name)."""
    if not reports.is_dir():
        return []
    found = []
    for folder in reports.iterdir():
        match = FOLDER_NAME.match(folder.name)
        if not match or not (folder / MANIFEST).is_file():
            continue
        day, made_at = _made(folder / MANIFEST, date.fromisoformat(match[3]))
        if day <= made_on:
            found.append((day, made_at, int(match[4] or 1), folder.name, folder))
    return [row[-1] for row in sorted(found, reverse=True)]


def _made(manifest: Path, named_day: date) -> tuple[date, datetime]:
    """When a review was made: its manifest's day and moment (reviews written before the moment was
    stored: the start of the day, so that any review made later that day is newer)."""
    earliest = datetime.min.replace(tzinfo=timezone.utc)
    try:
        stored = json.loads(manifest.read_text(encoding="utf-8"))
        day = date.fromisoformat(stored["made_on"])
        return day, datetime.fromisoformat(stored["made_at"]) if stored.get("made_at") else earliest
    except (OSError, ValueError, KeyError, TypeError):
        return named_day, earliest


def read_review(folder: Path) -> PreviousReview:
    """A stored review's manifest, yearly and cell tables; an error naming the file when it is unreadable."""
    manifest_path, yearly_path = folder / MANIFEST, folder / "tables" / "yearly.csv"
    all_cells_path = folder / "tables" / "cell_years.csv"
    cells_path = all_cells_path if all_cells_path.is_file() else folder / "tables" / "problem_cells.csv"
    for path in (manifest_path, yearly_path, cells_path):
        if not path.is_file():
            raise ReviewError(f"{path}: missing from the earlier review in {folder}; give another one with "
                              f"--previous, or move the damaged folder away")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        previous = PreviousReview(
            folder=folder, first_year=int(manifest["first_year"]), last_year=int(manifest["last_year"]),
            made_on=date.fromisoformat(manifest["made_on"]),
            made_at=datetime.fromisoformat(manifest["made_at"]) if manifest.get("made_at") else None,
            settings=dict(manifest["settings"]),
            yearly=read_yearly(yearly_path), problem_cells=list(manifest["problem_cells"]),
            areas=int(manifest["areas"]), flagged_cells=int(manifest["flagged_cells"]),
            cell_years=_read_cell_years(cells_path), all_cells=cells_path == all_cells_path)
    except (ValueError, KeyError, TypeError, pl.exceptions.PolarsError) as exc:
        raise ReviewError(f"{folder}: the earlier review cannot be read ({type(exc).__name__}: {exc}); give another "
                          f"one with --previous, or move the damaged folder away") from exc
    return previous


def read_yearly(path: Path) -> pl.DataFrame:
    """A stored ``yearly.csv`` with its types (group keys stay text: municipality 092 is not 92)."""
    raw = pl.read_csv(path, infer_schema=False)
    missing = [c for c in YEARLY_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path} has no column {missing[0]!r}")
    ints = {"year": pl.Int32, "count": pl.Int64, "target_s": pl.Int64, "national_target_s": pl.Int64}
    floats = ["median_s", "ci_low_s", "ci_high_s", "share_within_target", "mean_s"]
    flags = ["is_over_median", "is_over_share", "is_over_target", "is_over_national_target"]
    return raw.with_columns(
        *(pl.col(c).cast(t) for c, t in ints.items()),
        *(pl.col(c).cast(pl.Float64) for c in floats),
        *((pl.col(c) == "true").alias(c) for c in flags),
    )


def _read_cell_years(path: Path) -> pl.DataFrame:
    """A stored ``cell_years.csv`` (or an older review's ``problem_cells.csv``): cell, year, count, verdict."""
    raw = pl.read_csv(path, infer_schema=False)
    missing = [c for c in ("cell_id", "year", "count", "is_over_target") if c not in raw.columns]
    if missing:
        raise ValueError(f"{path} has no column {missing[0]!r}")
    return raw.select("cell_id", pl.col("year").cast(pl.Int32), pl.col("count").cast(pl.Int64),
                      is_over_target=pl.when(pl.col("is_over_target").is_not_null())
                      .then(pl.col("is_over_target") == "true"))


def verdicts(cell_years: pl.DataFrame) -> dict[tuple[str, int], str]:
    """The published verdict of each (cell, year) with tasks: ``missed``, ``met`` or ``few``."""
    return {(cell, year): "few" if count is None else "missed" if over else "met"
            for cell, year, count, over in cell_years.select("cell_id", "year", "count", "is_over_target").iter_rows()}


def _cell_change(cell_id: str, then: dict, then_years: list[int], then_known: bool, now: dict,
                 now_years: list[int]) -> CellChange:
    def verdict(found: dict, years: list[int], year: int, known: bool) -> str:
        if year not in years:
            return "outside"
        return found.get((cell_id, year), "none" if known else "unknown")

    years = sorted(set(then_years) | set(now_years))
    pairs = [(year, verdict(then, then_years, year, then_known), verdict(now, now_years, year, True))
             for year in years]
    return CellChange(cell_id, [pair for pair in pairs if pair[1] != pair[2]])


def compare(tables: ReviewTables, published: pl.DataFrame, cell_years: pl.DataFrame, settings: Settings,
            previous: PreviousReview | None) -> Changes:
    """What changed since ``previous`` (None: no earlier review) and since the year before the last.
    ``published`` and ``cell_years``: this review's published yearly and cell figures."""
    classes = published.filter(pl.col("grouping").is_in(["all", "risk_class"]))
    year_on_year = _pair(classes, tables.last_year - 1, tables.last_year)
    if previous is None:
        empty = _pair(classes.clear(), 0, 0)
        return Changes(None, _since(classes.clear(), classes.clear()), empty, year_on_year)
    before = previous.yearly.filter(pl.col("grouping").is_in(["all", "risk_class"]))
    headline = _join(before.filter(pl.col("year") == previous.last_year).drop("year"),
                     classes.filter(pl.col("year") == tables.last_year).drop("year"), ["grouping", "group_key"]
                     ).with_columns(year_before=pl.lit(previous.last_year, pl.Int32),
                                    year=pl.lit(tables.last_year, pl.Int32))
    now_cells = set(tables.problem_cells[settings.flags.rule])
    then_cells = set(previous.problem_cells)
    now_settings = manifest_settings(settings)
    changed = [(key, previous.settings.get(key), value) for key, value in now_settings.items()
               if previous.settings.get(key) != value]
    then_years = list(range(previous.first_year, previous.last_year + 1))
    then, now = verdicts(previous.cell_years), verdicts(cell_years)

    def changes(cells: set[str]) -> list[CellChange]:
        return [_cell_change(cell, then, then_years, previous.all_cells or cell in then_cells, now, tables.years)
                for cell in sorted(cells)]

    return Changes(previous, _since(before, classes), headline, year_on_year,
                   new_problem_cells=changes(now_cells - then_cells), cleared_problem_cells=changes(then_cells - now_cells),
                   kept_problem_cells=sorted(now_cells & then_cells), settings_changed=changed)


def _join(before: pl.DataFrame, after: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Figures before (``*_before``) and after side by side, with the changes of median, share and mean."""
    left = before.select(*keys, *(pl.col(c).alias(f"{c}_before") for c in _COMPARED))
    right = after.select(*keys, *_COMPARED)
    joined = left.join(right, on=keys, how="full", coalesce=True, nulls_equal=True)
    return joined.with_columns(
        median_change_s=pl.col("median_s") - pl.col("median_s_before"),
        share_change=pl.col("share_within_target") - pl.col("share_within_target_before"),
        mean_change_s=pl.col("mean_s") - pl.col("mean_s_before"),
    ).sort(pl.col("grouping") != "risk_class", "group_key")


def _since(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Per class and year in both reviews: then, now and the change."""
    common = before.select("year").unique().join(after.select("year").unique(), on="year")
    joined = _join(before.join(common, on="year"), after.join(common, on="year"), ["grouping", "group_key", "year"])
    return joined.sort(pl.col("grouping") != "risk_class", "group_key", "year")


def _pair(classes: pl.DataFrame, earlier: int, later: int) -> pl.DataFrame:
    return _join(classes.filter(pl.col("year") == earlier).drop("year"),
                 classes.filter(pl.col("year") == later).drop("year"), ["grouping", "group_key"]).with_columns(
        year_before=pl.lit(earlier, pl.Int32), year=pl.lit(later, pl.Int32))
