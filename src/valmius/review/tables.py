"""The numbers of the service-level decision review, computed from the lake (read-only).

Every figure comes from the stored ``responses`` table: the measured urgent tasks (``is_measured``)
whose call falls in a local calendar year (``time.zone``) of the review period, with the conventions
of the rest of valmius (median of an even count = mean of the two middle values; a response exactly
on target is within it; the median's confidence interval from order statistics, ``windows.ci_level``).
A task's target is that of its stored risk class in ``targets_s`` as now set (as the flags take it;
the same as the stored ``target_s`` unless the targets changed since the last ``valmius measure``).
Groups are judged by :func:`valmius.flags.judge_groups`, the function that judges cells and areas.

- ``yearly``: per year and group, in the layout of ``rolling_calendar`` (``grouping`` and
  ``group_key``): ``all`` (every measured urgent task, with or without a risk class), ``risk_class``
  (I-IV: the class of the task's cell in the risk grid of its year, as stored), ``municipality``
  and ``station`` (the first unit's station), each for the judged classes (``flags.risk_classes``)
  and for all tasks (``risk_class`` empty). Rows of one class have its target and both rules:
  ``is_over_median`` (median over target, the strategy's rule), ``is_over_share`` (under 50 %
  within target) and ``is_over_target`` by ``flags.rule``. Rows of all classes are judged against
  the national target for the mean (``review.national_mean_target_s``).
- ``cell_years``: per cell of the judged classes (in the grid valid in the last year) and year, the
  same evidence, each year against the target of that year's class. A **problem cell** was over
  its target by ``flags.rule`` in every year of the period, with tasks in each.
- ``flags`` and ``areas``: :func:`valmius.flags.evaluate` at the end of the last year (the
  trailing window ending 31 December).
- ``coverage``: per year, the urgent tasks and why some are not measured or have no risk class,
  and the export rows rejected into quarantine, by reason, counted as the data-completeness
  scorecards count them (:mod:`valmius.scorecards`): a row belongs to the local year of its
  incident's call when another row of the incident was stored; a row whose incident has no stored
  row has no known call time and is counted in one row of unknown year (``year`` null), over the
  whole lake. Rows replaced by a newer export (``superseded``, ``duplicate``) are not defects and
  are not counted.
- ``measured_span``: the local days of the lake's first and last measured task, which say whether
  a year of the period is held only in part (``partial_years``).
- ``counted``: what counted as an urgent task in the period: the urgency classes (the settings'
  list, or the urgent classes of the source formats the exports were read with), the unit types and
  the task types, with the classes and types the period's data holds.

Nothing here writes the lake: a definition that differs from a measured one only in flag, review,
report or change rules reads that one's responses (:func:`open_read_only`), as ``valmius measure``
would set them up, and judges its cells afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from valmius.definitions import definition_id, measured_twin, open_results, require_results
from valmius.errors import ReviewError
from valmius.flags import (evaluate, first_measured_day, holds_from_january, judge_groups, last_measured_day,
                           most_common, stored_or_evaluated)
from valmius.grid import grid_at
from valmius.labels import day_text
from valmius.lake import Snapshot
from valmius.mapping import builtin_formats, load_mapping
from valmius.scorecards import DEFECT_REASONS, REPLACED_REASONS
from valmius.settings import Settings

GROUPINGS = ("all", "risk_class", "municipality", "station")
_EVIDENCE = ["count", "median_s", "ci_low_s", "ci_high_s", "share_within_target", "mean_s"]
_JUDGEMENT = ["target_s", "is_over_median", "is_over_share", "is_over_target", "confidence"]
YEARLY_COLUMNS = ["year", "grouping", "group_key", "risk_class", *_EVIDENCE, *_JUDGEMENT,
                  "national_target_s", "is_over_national_target"]
"""Columns of ``ReviewTables.yearly`` (and of the stored ``tables/yearly.csv``)."""
QUARANTINE_COUNTS = ["quarantined_rows", *(f"quarantined_{code}_rows" for code in DEFECT_REASONS)]
COVERAGE_COUNTS = ["urgent_tasks", "measured", "no_unit_arrived", "no_counted_unit", "no_alarm_time",
                   "measured_without_risk_class", *QUARANTINE_COUNTS]
"""Count columns of ``ReviewTables.coverage``, in order."""
REFERENCE_CLASSES = ("IV",)
"""Risk classes whose time is a reference limit, not a target (../shared/DOMAIN.md: class IV has no
firm target; after its 40 minutes residents' own preparedness matters): the page reports them
against the limit without calling it met or missed."""


@dataclass
class ReviewTables:
    """The review's figures, unsuppressed (publishing suppresses small counts)."""

    first_year: int
    last_year: int
    yearly: pl.DataFrame
    cell_years: pl.DataFrame
    """cell_id, year, evidence and rules, risk_class of the year, plus the cell's class in the last
    year's grid (``end_risk_class``), municipality and most frequent first station."""
    problem_cells: dict[str, list[str]]
    """Problem cells of the period by rule: {"median": [...], "share": [...]} (cell ids, sorted)."""
    flags: pl.DataFrame
    areas: pl.DataFrame
    evaluated_at: datetime | None
    coverage: pl.DataFrame
    """Per year (null: the quarantined rows of unknown year): the ``COVERAGE_COUNTS`` and the first
    and last local day of the year's urgent tasks."""
    measured_span: tuple[date, date]
    """Local days of the lake's first and last measured task."""
    counted: dict[str, object]
    """What counted: ``urgent_classes`` and where that rule comes from (``urgent_classes_from``:
    settings, the ``formats`` the exports were read with, or the data), ``urgent_classes_seen``
    among the period's urgent tasks, ``other_urgency_classes`` of its other tasks, ``unit_types``
    and ``unit_types_not_counted`` of its units, and ``task_types`` (empty: every type)."""

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def partial_years(self) -> dict[int, tuple[date, date]]:
        """The years of the period the lake's measured data covers only in part (it starts after 1
        January or ends before 31 December), with the first and last day it covers."""
        first, last = self.measured_span
        partial = {}
        for year in self.years:
            start, end = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
            if (start, end) != (date(year, 1, 1), date(year, 12, 31)):
                partial[year] = (start, end)
        return partial


def open_read_only(settings: Settings) -> Snapshot:
    """The lake with the responses of the settings' definition, never written: when the definition
    has no results yet but differs from a measured one only in flag, review, report or change rules
    (:func:`valmius.definitions.measured_twin`), that one's responses, which are this definition's
    too (``valmius measure`` would link them, as a commit of the lake). Any other definition without
    results is the error that says to run valmius measure."""
    snapshot = open_results(settings)
    if not snapshot.partitions("responses"):
        twin = measured_twin(snapshot, settings)
        if twin is not None:
            return snapshot.for_definition(twin)
    require_results(snapshot, settings)
    return snapshot


def local_year(settings: Settings) -> pl.Expr:
    """The local calendar year (``time.zone``) of the call, as Int32."""
    return pl.col("call_at").dt.convert_time_zone(settings.time.zone).dt.year().cast(pl.Int32)


def review_tables(snapshot: Snapshot, settings: Settings, first_year: int, last_year: int) -> ReviewTables:
    """Compute the review of the local calendar years ``first_year..last_year`` from ``snapshot``."""
    if first_year > last_year:
        raise ReviewError(f"--from {first_year} is after --to {last_year}; give the first year of the review "
                          f"period first, e.g. --from {last_year} --to {first_year}")
    years = list(range(first_year, last_year + 1))
    _check_years(snapshot, settings, years)
    # Partitions are by UTC year; a local year starts a few hours earlier in UTC.
    urgent = (snapshot.scan("responses").filter(pl.col("year").is_between(first_year - 1, last_year))
              .with_columns(year=local_year(settings))
              .filter(pl.col("year").is_between(first_year, last_year), pl.col("is_urgent") & pl.col("is_counted_task"))
              .select("year", "call_at", "response_s", "risk_class", "municipality_code", "station_id", "cell_id",
                      "is_measured", "no_response_reason", "urgency")
              .collect())
    # Targets of the settings in force (as the flags take them), so that the manifest's are the ones used.
    targets = {k: int(v) for k, v in settings.targets_s.items()}
    measured = urgent.filter("is_measured").with_columns(
        target_s=pl.col("risk_class").replace_strict(targets, default=None, return_dtype=pl.Int64),
    ).with_columns(within=pl.col("response_s") <= pl.col("target_s")).drop("is_measured", "no_response_reason",
                                                                           "urgency")
    cell_years = _cell_years(snapshot, settings, measured, last_year)
    flags, areas, evaluated_at = _end_of_period(snapshot, settings, last_year)
    return ReviewTables(
        first_year, last_year,
        yearly=_yearly(measured, settings),
        cell_years=cell_years,
        problem_cells={rule: _problem_cells(cell_years, years, column)
                       for rule, column in (("median", "is_over_median"), ("share", "is_over_share"))},
        flags=flags, areas=areas, evaluated_at=evaluated_at,
        coverage=_coverage(urgent, years, settings).join(
            _quarantined(snapshot, settings, years), on="year", how="full", coalesce=True, nulls_equal=True)
        .with_columns(pl.col(c).fill_null(0) for c in QUARANTINE_COUNTS).sort("year", nulls_last=True),
        measured_span=(first_measured_day(snapshot, settings), last_measured_day(snapshot, settings)),
        counted=_counted(snapshot, settings, urgent, first_year, last_year),
    )


def _check_years(snapshot: Snapshot, settings: Settings, years: list[int]) -> None:
    """Every year of the period must have measured urgent tasks, and every year before the last
    must be held from January on (as the flags' review period: a year the lake starts later in
    would judge its cells on a few days' or weeks' tasks); say which years do when some do not."""
    measured = snapshot.scan("responses").filter("is_measured")
    with_data = sorted(measured.select(local_year(settings).unique()).collect().to_series().to_list())
    missing = [y for y in years if y not in with_data]
    where = f"the lake at {snapshot.root}"
    if not missing:
        first = first_measured_day(snapshot, settings)
        if first.year in years[:-1] and not holds_from_january(first, first.year):
            raise ReviewError(
                f"{where} holds {first.year} only from {day_text(first)} (its first measured "
                f"task): every year of the review but the last must be held from January, or its cells are "
                f"judged on part of a year; start the review at --from {first.year + 1}, or ingest "
                f"{first.year}'s earlier exports and run valmius measure")
        return
    if not with_data:
        hint = ("it has no measured urgent tasks at all: ingest exports and run valmius measure"
                if snapshot.scan("incidents").select(pl.len()).collect().item() else
                "it is empty: ingest exports, import the risk grids and run valmius measure")
        raise ReviewError(f"no measured urgent tasks in {_spans(missing)} in {where}; {hint}")
    first = first_measured_day(snapshot, settings)
    partial = "" if holds_from_january(first, first.year) or first.year == with_data[-1] else (
        f" ({first.year} only from {day_text(first)}: a review of more years starts at "
        f"{first.year + 1})")
    raise ReviewError(
        f"no measured urgent tasks in {_spans(missing)} in {where}, which has them in {_spans(with_data)}{partial}; "
        f"choose --from and --to within those years, or ingest the missing years' exports and run valmius measure")


def _spans(years: list[int]) -> str:
    """[2019, 2020, 2021, 2024] -> '2019–2021 and 2024'."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _judged(tasks: pl.DataFrame, by: list[str], settings: Settings, *, one_class: bool) -> pl.DataFrame:
    """judge_groups per group; groups of mixed classes get no target, no rules and no confidence."""
    judged = judge_groups(tasks, by, settings).rename({"is_flagged": "is_over_target"})
    if not one_class:
        judged = judged.with_columns(**{c: pl.lit(None, judged.schema[c]) for c in _JUDGEMENT})
    return judged


def _yearly(measured: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    judged_classes = settings.flags.risk_classes
    classed = measured.drop_nulls("risk_class")
    parts = [
        _judged(measured.with_columns(grouping=pl.lit("all"), group_key=pl.lit("all"),
                                      risk_class=pl.lit(None, pl.String)),
                ["year", "grouping", "group_key", "risk_class"], settings, one_class=False),
        _judged(classed.with_columns(grouping=pl.lit("risk_class"), group_key=pl.col("risk_class")),
                ["year", "grouping", "group_key", "risk_class"], settings, one_class=True),
    ]
    for grouping, column in (("municipality", "municipality_code"), ("station", "station_id")):
        present = measured.drop_nulls(column).with_columns(grouping=pl.lit(grouping), group_key=pl.col(column))
        by = ["year", "grouping", "group_key", "risk_class"]
        parts.append(_judged(present.filter(pl.col("risk_class").is_in(judged_classes)), by, settings, one_class=True))
        parts.append(_judged(present.with_columns(risk_class=pl.lit(None, pl.String)), by, settings, one_class=False))
    national = settings.review.national_mean_target_s
    yearly = pl.concat([p.select(_stored_order(p)) for p in parts], how="vertical_relaxed").with_columns(
        national_target_s=pl.when(pl.col("risk_class").is_null()).then(pl.lit(national, pl.Int64)),
    ).with_columns(is_over_national_target=pl.col("mean_s") > pl.col("national_target_s"))
    order = pl.col("grouping").replace_strict({g: i for i, g in enumerate(GROUPINGS)}, return_dtype=pl.Int32)
    return (yearly.with_columns(count=pl.col("count").cast(pl.Int64), target_s=pl.col("target_s").cast(pl.Int64))
            .sort(order, pl.col("risk_class").is_null(), "risk_class", "group_key", "year")
            .select(YEARLY_COLUMNS))


def _stored_order(frame: pl.DataFrame) -> list[str]:
    """The yearly columns ``frame`` has, in the stored order (before the national target is added)."""
    return [c for c in YEARLY_COLUMNS if c in frame.columns]


def _cell_years(snapshot: Snapshot, settings: Settings, measured: pl.DataFrame, last_year: int) -> pl.DataFrame:
    """Evidence per judged cell and year; a cell is judged when the last year's grid gives it a judged class."""
    cells = (grid_at(snapshot, last_year).filter(pl.col("risk_class").is_in(settings.flags.risk_classes))
             .select("cell_id", end_risk_class="risk_class", grid_municipality_code="municipality_code"))
    tasks = measured.drop_nulls("risk_class").join(cells.select("cell_id"), on="cell_id", how="inner")
    # Each year against that year's class: one grid per local year, so one target per cell and year.
    judged = judge_groups(tasks, ["cell_id", "year"], settings).rename({"is_flagged": "is_over_target"})
    classes = tasks.group_by("cell_id", "year").agg(risk_class=pl.col("risk_class").first())
    return (
        judged.join(classes, on=["cell_id", "year"]).join(cells, on="cell_id")
        .join(most_common(tasks, ["cell_id"], "station_id"), on="cell_id", how="left")
        .join(most_common(tasks, ["cell_id"], "municipality_code").rename(
            {"municipality_code": "task_municipality_code"}), on="cell_id", how="left")
        .with_columns(count=pl.col("count").cast(pl.Int64),
                      municipality_code=pl.coalesce("grid_municipality_code", "task_municipality_code"))
        .select("cell_id", "year", "risk_class", "end_risk_class", "municipality_code", "station_id",
                *_EVIDENCE, *_JUDGEMENT)
        .sort("cell_id", "year")
    )


def _problem_cells(cell_years: pl.DataFrame, years: list[int], over: str) -> list[str]:
    """Cells over target by ``over`` in every year of ``years``, with tasks in each."""
    per_cell = cell_years.group_by("cell_id").agg(years=pl.len(), over=pl.col(over).all())
    return sorted(per_cell.filter((pl.col("years") == len(years)) & pl.col("over"))["cell_id"].to_list())


def _end_of_period(snapshot: Snapshot, settings: Settings,
                   last_year: int) -> tuple[pl.DataFrame, pl.DataFrame, datetime | None]:
    """Flags and areas of the trailing window ending 31 December of the last year, as the nightly
    flags would judge them on that day (stored flags only when they are the settings' definition's:
    a measured twin's were judged by its own flag rules)."""
    at = date(last_year, 12, 31)
    own = snapshot.definition_id == definition_id(settings)
    flags, areas = stored_or_evaluated(snapshot, settings, at=at) if own else evaluate(snapshot, settings, at=at)
    evaluated_at = flags["evaluated_at"][0] if flags.height else None
    return flags, areas, evaluated_at


def _coverage(urgent: pl.DataFrame, years: list[int], settings: Settings) -> pl.DataFrame:
    """Per year: urgent tasks (counted task types), measured, not measured by reason, measured
    without a risk class, and the first and last local call day."""
    local_day = pl.col("call_at").dt.convert_time_zone(settings.time.zone).dt.date()
    counts = urgent.group_by("year").agg(
        urgent_tasks=pl.len().cast(pl.Int64),
        measured=pl.col("is_measured").sum().cast(pl.Int64),
        no_unit_arrived=(pl.col("no_response_reason") == "no_unit_arrived").sum().cast(pl.Int64),
        no_counted_unit=(pl.col("no_response_reason") == "no_counted_unit").sum().cast(pl.Int64),
        no_alarm_time=(pl.col("no_response_reason") == "no_alarm_time").sum().cast(pl.Int64),
        measured_without_risk_class=(pl.col("is_measured") & pl.col("risk_class").is_null()).sum().cast(pl.Int64),
        first_day=local_day.min(),
        last_day=local_day.max(),
    )
    return pl.DataFrame({"year": years}, schema={"year": pl.Int32}).join(counts, on="year", how="left").sort("year")


def _quarantined(snapshot: Snapshot, settings: Settings, years: list[int]) -> pl.DataFrame:
    """Quarantined rows per local year of their incident's call (as the scorecards attribute them),
    for the period's years, and one row of unknown year (null) for rows whose incident has no
    stored row, from the whole lake: their call time is unknown."""
    calls = snapshot.scan("incidents").select("incident_id", "call_at")
    rows = (snapshot.scan("quarantine").filter(~pl.col("reason_code").is_in(REPLACED_REASONS))
            .select("incident_id", "reason_code").join(calls, on="incident_id", how="left")
            .with_columns(year=local_year(settings))
            .filter(pl.col("year").is_null() | pl.col("year").is_in(years))
            .group_by("year").agg(
                quarantined_rows=pl.len().cast(pl.Int64),
                **{f"quarantined_{code}_rows": (pl.col("reason_code") == code).sum().cast(pl.Int64)
                   for code in DEFECT_REASONS})
            .collect())
    return rows.with_columns(year=pl.col("year").cast(pl.Int32))


def _counted(snapshot: Snapshot, settings: Settings, urgent: pl.DataFrame, first_year: int,
             last_year: int) -> dict[str, object]:
    """What counted in the period: the urgent classes by rule (``counting.urgent_classes``, else the
    urgent classes of the built-in formats the exports were read with, else those the data marks
    urgent), the urgency classes seen, the unit types seen (counted or not) and the task types."""
    def in_period(table: str) -> pl.LazyFrame:
        return (snapshot.scan(table).filter(pl.col("year").is_between(first_year - 1, last_year))
                .filter(local_year(settings).is_between(first_year, last_year)))

    def values(frame: pl.LazyFrame | pl.DataFrame, column: str) -> list[str]:
        return sorted(frame.lazy().select(pl.col(column).drop_nulls().unique()).collect().to_series().to_list())

    seen = values(urgent, "urgency")
    formats = values(snapshot.scan("files"), "format")
    if settings.counting.urgent_classes:
        classes, source = list(settings.counting.urgent_classes), "settings"
    elif formats and set(formats) <= set(builtin_formats()):
        classes, source = sorted({c for f in formats for c in load_mapping(f).urgent}), "formats"
    else:
        classes, source = seen, "data"
    unit_types = values(in_period("units"), "unit_type")
    counted_types = settings.counting.unit_types
    return {
        "urgent_classes": classes,
        "urgent_classes_from": source,
        "formats": formats,
        "urgent_classes_seen": seen,
        "other_urgency_classes": [c for c in values(in_period("responses").filter(~pl.col("is_urgent")), "urgency")
                                  if c not in classes],
        "unit_types": [t for t in unit_types if not counted_types or t in counted_types],
        "unit_types_not_counted": [t for t in unit_types if counted_types and t not in counted_types],
        "task_types": list(settings.counting.task_types),
    }


_HIDDEN = ("median_s", "ci_low_s", "ci_high_s", "share_within_target", "mean_s", "is_over_median", "is_over_share",
           "is_over_target", "confidence", "is_over_national_target")


def published(frame: pl.DataFrame, min_count: int) -> pl.DataFrame:
    """Figures as published: under ``min_count`` tasks the count reads ``< N`` (``count_shown``) and
    the count, median, interval, share, mean and the verdicts drawn from them are left out."""
    shown = pl.col("count") >= min_count
    return frame.with_columns(
        count_shown=pl.when(shown).then(pl.col("count").cast(pl.String)).otherwise(pl.lit(f"< {min_count}")),
        **{c: pl.when(shown).then(c) for c in (*_HIDDEN, "count") if c in frame.columns},
    )
