"""The review's CSV tables: every column, its type and its meaning, in the order written.

The review writes each table with exactly these columns (``tables/<file>.csv``) and the dictionary
itself beside them (``tables/columns.csv``: file, column, type, meaning), so that a reader of a CSV
learns what each column means without the code. Column names are the lake's (units in the names:
``*_s`` seconds, ``share_*`` 0-1) whatever the page's language. Counts under
``report.min_count_shown`` are published as the page shows them: the count empty, its ``*_shown``
text ``< N``, and every figure computed from those tasks empty.
"""

from __future__ import annotations

import polars as pl

from valmius.columns import QUARANTINE_REASONS, Column
from valmius.scorecards import DEFECT_REASONS

_SHOWN = "as published: the count, or '< N' under report.min_count_shown"
_YEAR = Column("year", pl.Int32, "Local calendar year (time.zone) of the tasks' calls.")
_EVIDENCE = (
    Column("count", pl.Int64, "Measured urgent tasks; empty under report.min_count_shown (see count_shown)."),
    Column("count_shown", pl.String, f"The count {_SHOWN}."),
    Column("median_s", pl.Float64, "Median response time, seconds (even count: mean of the two middle values)."),
    Column("ci_low_s", pl.Float64, "Lower bound of the median's distribution-free confidence interval "
                                   "(order statistics, windows.ci_level), seconds."),
    Column("ci_high_s", pl.Float64, "Upper bound of that interval, seconds; both empty when the tasks are too few "
                                    "for an interval at that level."),
    Column("share_within_target", pl.Float64, "Share of the tasks within their target (0-1; exactly on target is "
                                              "within)."),
    Column("mean_s", pl.Float64, "Mean response time, seconds."),
)
_JUDGEMENT = (
    Column("target_s", pl.Int64, "Target of the risk class (targets_s), seconds; for class IV the 40-minute "
                                 "reference limit, not a firm target. Empty for rows of several classes."),
    Column("is_over_median", pl.Boolean, "Median over the target (the strategy's rule)."),
    Column("is_over_share", pl.Boolean, "Under 50 % of the tasks within the target (the share rule)."),
    Column("is_over_target", pl.Boolean, "Over the target by flags.rule, the rule that decides."),
    Column("confidence", pl.String, "For a row over target: certain (the whole interval over the target), likely, "
                                    "or too_few_tasks (under flags.min_tasks tasks); empty when not over."),
)
_CELL = (
    Column("cell_id", pl.String, "Risk cell of the grid (bottom-left corner id)."),
    _YEAR,
    Column("risk_class", pl.String, "Class of the cell in the risk grid of the year."),
    Column("end_risk_class", pl.String, "Class of the cell in the risk grid of the period's last year."),
    Column("municipality_code", pl.String, "Municipality of the cell (its grid's, else that of most of its tasks)."),
    Column("station_id", pl.String, "Station whose units most often arrived first at the cell's tasks in the period."),
    *_EVIDENCE,
    *_JUDGEMENT,
)
_CHANGE = {"median": "median_s", "share": "share_within_target", "mean": "mean_s"}

FILES: dict[str, tuple[Column, ...]] = {
    "yearly": (
        _YEAR,
        Column("grouping", pl.String, "What the row groups: all, risk_class, municipality or station."),
        Column("group_key", pl.String, "The group: 'all', a risk class I-IV, a municipality code or a station id "
                                       "(the station of the first unit on scene)."),
        Column("risk_class", pl.String, "The class of the row's tasks; empty: tasks of every class (and those "
                                        "without one)."),
        *_EVIDENCE,
        *_JUDGEMENT,
        Column("national_target_s", pl.Int64, "National target for the mean of all urgent tasks "
                                              "(review.national_mean_target_s), seconds; rows of all classes only."),
        Column("is_over_national_target", pl.Boolean, "mean_s over national_target_s."),
    ),
    "cell_years": _CELL,
    "problem_cells": _CELL,
    "areas": (
        Column("area_id", pl.Int32, "Area number at the end of the period, worst first."),
        Column("risk_class", pl.String, "Risk class of the area's cells."),
        Column("cells", pl.Int32, "Cells in the area."),
        Column("cell_ids", pl.String, "Ids of the area's cells, separated by spaces."),
        Column("municipality_code", pl.String, "Municipality of most of the area's tasks."),
        Column("station_id", pl.String, "Station whose units most often arrived first in the area."),
        *_EVIDENCE,
        *_JUDGEMENT[:1],
        Column("confidence", pl.String, "certain (the whole interval over the target), likely, or too_few_tasks."),
        Column("erc_median_s", pl.Float64, "Median ERC processing (call to first alarm), seconds."),
        Column("turnout_median_s", pl.Float64, "Median turnout (alarm to en route) of the first unit, seconds."),
        Column("travel_median_s", pl.Float64, "Median travel (en route to on scene) of the first unit, seconds."),
        Column("main_delay", pl.String, "Where the delay is largest against the class's cells that meet the target: "
                                        "erc (call centre), turnout (station) or travel (road)."),
    ),
    "coverage": (
        Column("year", pl.Int32, "Local calendar year of the tasks' calls; empty: quarantined rows whose call time is "
                                 "unknown (no row of their incident was stored), of the whole lake, any year."),
        *(column for name, meaning in (
            ("urgent_tasks", "Urgent tasks of counted task types."),
            ("measured", "Of those, measured (a counted unit arrived; alarm and on-scene times known)."),
            ("no_unit_arrived", "Not measured: no counted unit arrived."),
            ("no_counted_unit", "Not measured: no unit of a counted type was alarmed."),
            ("no_alarm_time", "Not measured: no alarm time."),
            ("measured_without_risk_class", "Measured, but without a risk class (no location or no grid cell)."),
            ("quarantined_rows", "Export rows rejected into quarantine (one row per unit per task, urgent or not), "
                                 "attributed to the year of their incident's call as the scorecards do; rows "
                                 "replaced by a newer export are not counted."),
            *((f"quarantined_{code}_rows", f"Of those, rejected as {code}: {QUARANTINE_REASONS[code]}.")
              for code in DEFECT_REASONS),
        ) for column in (Column(name, pl.Int64, f"{meaning} Empty under report.min_count_shown (see {name}_shown)."),
                         Column(f"{name}_shown", pl.String, f"{name} {_SHOWN}."))),
        Column("first_day", pl.Date, "Local day of the year's first urgent task."),
        Column("last_day", pl.Date, "Local day of the year's last urgent task."),
    ),
    "changes": (
        Column("kind", pl.String, "year_on_year (the year before the last, and the last), previous_review_last_year "
                                  "(the previous review's last year then, this review's last year now) or "
                                  "same_year_then_now (a year in both reviews: then and now)."),
        Column("grouping", pl.String, "all or risk_class."),
        Column("group_key", pl.String, "'all' or the risk class I-IV."),
        Column("year_before", pl.Int32, "Year of the figures before."),
        _YEAR,
        Column("count_before", pl.Int64, "Measured urgent tasks before; empty under report.min_count_shown."),
        Column("count_shown_before", pl.String, f"count_before {_SHOWN}."),
        Column("count", pl.Int64, "Measured urgent tasks now; empty under report.min_count_shown."),
        Column("count_shown", pl.String, f"count {_SHOWN}."),
        *(column for what, name in _CHANGE.items() for column in (
            Column(f"{name}_before", pl.Float64, f"The {what} before ({name})."),
            Column(name, pl.Float64, f"The {what} now ({name})."),
            Column(f"{what}_change{'_s' if name.endswith('_s') else ''}", pl.Float64,
                   f"{name} minus {name}_before, exact (the page shows the difference of the two figures as it "
                   f"shows them, rounded{' to whole seconds' if name.endswith('_s') else ' to whole percent'}); "
                   f"empty when either is not published."),
        )),
    ),
}
"""Per CSV file (``tables/<name>.csv``): its columns in order, before the definition's two."""

DEFINITION_COLUMNS = (
    Column("definition_id", pl.String, "The definition that made the figures (valmius definitions)."),
    Column("definition", pl.String, "Its name and version (name vN; just the name when it is not stored in the lake)."),
)


def names(file: str) -> list[str]:
    """The columns of ``tables/<file>.csv`` before the definition's, in order."""
    return [c.name for c in FILES[file]]


def dictionary() -> pl.DataFrame:
    """Every CSV column of the review: file, column, type, meaning (``tables/columns.csv``)."""
    rows = [(f"{file}.csv", c.name, str(c.dtype), c.meaning)
            for file, columns in FILES.items() for c in (*columns, *DEFINITION_COLUMNS)]
    return pl.DataFrame(rows, schema=["file", "column", "type", "meaning"], orient="row")
