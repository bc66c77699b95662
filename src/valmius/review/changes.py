"""What changed: since the previous review (its stored tables) and since the year before.

Each review folder ``review-<first>-<last>-<made on>`` keeps its published tables and a manifest
(``review.json``: period, date, the settings that shape the numbers, the problem cells and areas).
A new review reads the latest earlier one, the newest other review folder under ``paths.reports``
made on or before its own date (or the folder given), and compares published numbers only: a
figure suppressed in either review is not compared, so that no difference reveals a small count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from valmius.errors import ReviewError
from valmius.review.tables import YEARLY_COLUMNS, ReviewTables
from valmius.definitions import document, flat_rules
from valmius.settings import Settings

MANIFEST = "review.json"
FOLDER_NAME = re.compile(r"^review-(\d{4})-(\d{4})-(\d{4}-\d{2}-\d{2})$")
_COMPARED = ("count", "median_s", "share_within_target", "mean_s")
_KEYS = ["grouping", "group_key", "risk_class", "year"]


def folder_name(first_year: int, last_year: int, made_on: date) -> str:
    return f"review-{first_year}-{last_year}-{made_on.isoformat()}"


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
    settings: dict[str, object]
    yearly: pl.DataFrame
    problem_cells: list[str]
    areas: int
    flagged_cells: int


@dataclass
class Changes:
    previous: PreviousReview | None
    since_previous: pl.DataFrame
    """Per class (and all tasks) and year in both reviews: the figures then and now, and the change."""
    headline: pl.DataFrame
    """Per class (and all tasks): the previous review's last year then, this review's last year now."""
    year_on_year: pl.DataFrame
    """Per class (and all tasks): the year before the last, and the last year (this review's figures)."""
    new_problem_cells: list[str] = field(default_factory=list)
    cleared_problem_cells: list[str] = field(default_factory=list)
    kept_problem_cells: list[str] = field(default_factory=list)
    settings_changed: list[tuple[str, object, object]] = field(default_factory=list)


def find_previous(reports: Path, current_folder: str, made_on: date) -> Path | None:
    """The newest other review folder made on or before ``made_on`` (ties: the later period)."""
    if not reports.is_dir():
        return None
    found = []
    for folder in reports.iterdir():
        match = FOLDER_NAME.match(folder.name)
        if not match or folder.name == current_folder or not (folder / MANIFEST).is_file():
            continue
        day = date.fromisoformat(match[3])
        if day <= made_on:
            found.append((day, int(match[2]), int(match[1]), folder))
    return max(found)[3] if found else None


def read_review(folder: Path) -> PreviousReview:
    """A stored review's manifest and yearly table; an error naming the file when it is unreadable."""
    manifest_path, yearly_path = folder / MANIFEST, folder / "tables" / "yearly.csv"
    for path in (manifest_path, yearly_path):
        if not path.is_file():
            raise ReviewError(f"{path}: missing from the earlier review in {folder}; give another one with "
                              f"--previous, or move the damaged folder away")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        previous = PreviousReview(
            folder=folder, first_year=int(manifest["first_year"]), last_year=int(manifest["last_year"]),
            made_on=date.fromisoformat(manifest["made_on"]), settings=dict(manifest["settings"]),
            yearly=read_yearly(yearly_path), problem_cells=list(manifest["problem_cells"]),
            areas=int(manifest["areas"]), flagged_cells=int(manifest["flagged_cells"]))
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


def compare(tables: ReviewTables, published: pl.DataFrame, settings: Settings,
            previous: PreviousReview | None) -> Changes:
    """What changed since ``previous`` (None: no earlier review) and since the year before the last."""
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
    return Changes(previous, _since(before, classes), headline, year_on_year,
                   new_problem_cells=sorted(now_cells - then_cells), cleared_problem_cells=sorted(then_cells - now_cells),
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
