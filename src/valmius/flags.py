"""The flag stage: cells over their target, joined into areas, with the evidence and what drives it.

``valmius flag`` (and the nightly pipeline, after measure) judges every cell of the flagged risk
classes (``flags.risk_classes``, class I by default) on the measured urgent tasks of the trailing
window (``windows.trailing_days``) that ends at ``evaluated_at``: by default the last second of the
local day of the lake's newest measured task, so that every night judges the trailing year up to
the newest data (``rolling_calendar``'s point for the month in progress is judged at the month's
end: early in a month its window lacks most of a month of data).

- A cell's class and target are those of the risk grid valid at ``evaluated_at`` (its local year,
  else the latest earlier grid); every task located in the cell counts against that target.
- Rules (``../shared/DOMAIN.md``): the strategy's median rule (median over target) and the share
  rule (under 50 % within target) are both computed; ``flags.rule`` says which one flags. Exactly
  on target is within; an even count's median is the mean of the two middle values.
- Confidence of a flag: ``too_few_tasks`` under ``flags.min_tasks`` tasks, else ``certain`` when the
  whole confidence interval of the median (order statistics, ``windows.ci_level``) is over the
  target, else ``likely``.
- Areas: flagged cells of one class that touch (``flags.neighbourhood``) are one area
  (:mod:`valmius.kernels.components`), judged on their pooled tasks. Its median ERC processing,
  turnout and travel are set beside those of the class's cells that meet the target: the largest
  excess says whether the delay is in the call centre, at the station or on the road.
- Problem: over target (by ``flags.rule``, on that year's tasks) in every local calendar year of
  the review period, the ``flags.review_years`` years ending with the last one the window reaches
  into December (:func:`last_review_year`: the evaluated year from 1 December on, else the year
  before), only years in which the lake has measured tasks, and of the years before the last one
  only those it holds from January on; a cell needs tasks in each. A year is judged whole or
  nearly: the first days of January, or the last days of a December that the first export
  overlaps, would judge every cell on a task or two.

Both tables are replaced whole, atomically, with a ``runs`` row that says which flags appeared and
cleared since the previous evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from valmius.grid import grid_at
from valmius.columns import AREAS, FLAGS, UTC_TIME, conform, empty_frame
from valmius.kernels.components import connected_components
from valmius.labels import english_count
from valmius.definitions import definition_id, register, require_results
from valmius.errors import InputError
from valmius.lake import Snapshot, new_snapshot
from valmius.measure import calendar_points, measured_call, open_measured
from valmius.rolling import ci_ranks
from valmius.runs import last_summary, record_run
from valmius.settings import Settings

COMPONENTS = ("erc", "turnout", "travel")
_INPUTS = ("responses", "rolling_calendar", "cells")
"""The tables an evaluation reads."""
CONFIDENCE_ORDER = {"certain": 0, "likely": 1, "too_few_tasks": 2}
"""Areas are ranked by confidence, then by pooled median (highest first)."""
_TASK_COLUMNS = ["call_at", "response_s", "erc_s", "turnout_s", "travel_s", "station_id",
                 "municipality_code", "cell_id"]


@dataclass
class FlagSummary:
    """What a flag run found."""

    evaluated_at: datetime | None = None
    last_day: date | None = None
    """The local day the window ends with (``evaluated_at`` is its last second, in UTC)."""
    cells_evaluated: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    """Flagged cells by confidence."""
    areas: int = 0
    problem_cells: int = 0
    appeared: list[str] = field(default_factory=list)
    """Cells flagged now that were not at the previous evaluation."""
    cleared: list[str] = field(default_factory=list)
    """Cells flagged at the previous evaluation that are not now."""
    duration_s: float = 0.0
    run_id: int | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, summary: dict) -> FlagSummary:
        """The summary as a ``runs`` row keeps it (:meth:`to_dict`, as JSON)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in summary.items() if key in known})

    def to_text(self) -> str:
        if self.evaluated_at is None:
            return "Flags: no measured urgent tasks yet; nothing to judge"
        flagged = sum(self.flagged.values())
        by = ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in self.flagged.items()) or "none"
        return (f"Flags for the window ending with {self.last_day}: {english_count(self.cells_evaluated, 'cell')} "
                f"judged, {flagged:,} over target ({by}) in {english_count(self.areas, 'area')}; "
                f"{english_count(self.problem_cells, 'problem cell')}; "
                f"since the last evaluation {len(self.appeared)} appeared, {len(self.cleared)} cleared")


def flag(settings: Settings, *, at: date | None = None) -> FlagSummary:
    """Judge the cells and areas at ``at`` (default: the lake's last measured day) and store ``flags``
    and ``areas``, in one atomic commit."""
    started, started_at = time.perf_counter(), datetime.now(timezone.utc)
    open_measured(settings)  # a new definition with a measured twin is set up from it first
    with new_snapshot(settings.lake_path, definition_id(settings)) as (base, writer):
        require_results(base, settings)
        register(base, writer, settings)
        flags, areas = evaluate(base, settings, at=at)
        summary = _summary(flags, areas, base.scan("flags").collect(), settings)
        writer.write_table("flags", flags)
        writer.write_table("areas", areas)
        summary.duration_s = time.perf_counter() - started
        summary.run_id = writer.snapshot_id
        record_run(base, writer, "flag", started_at, summary.duration_s,
                   {**summary.to_dict(), "inputs": base.inputs(_INPUTS)}, rows_stored=flags.height)
    return summary


def last_flag_summary(snapshot: Snapshot) -> FlagSummary | None:
    """What the definition's last flag run found, as it said then (None: never flagged)."""
    last = last_summary(snapshot, "flag")
    return FlagSummary.from_dict(last) if last else None


def stored_or_evaluated(snapshot: Snapshot, settings: Settings, *,
                        at: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What :func:`evaluate` gives, read from the lake's ``flags`` and ``areas`` when the last flag
    run of the definition judged the same window on the same ``responses``, ``rolling_calendar``
    and risk grid files (as the nightly report does, right after the flag stage), else evaluated."""
    last = last_summary(snapshot, "flag")
    evaluated_at = evaluation_time(snapshot, settings, at)
    if (evaluated_at is not None and last.get("evaluated_at") is not None
            and datetime.fromisoformat(last["evaluated_at"]) == evaluated_at
            and last.get("inputs") == snapshot.inputs(_INPUTS)):
        return conform(snapshot.scan("flags").collect(), FLAGS), conform(snapshot.scan("areas").collect(), AREAS)
    return evaluate(snapshot, settings, at=local_day(evaluated_at, settings) or at)  # the day found above


def evaluate(snapshot: Snapshot, settings: Settings, *, at: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``flags`` and ``areas`` tables of ``snapshot`` at ``at`` (a local date: the window ends at
    its last second; default: the lake's last measured day)."""
    evaluated_at = evaluation_time(snapshot, settings, at)
    if evaluated_at is None:
        return empty_frame(FLAGS), empty_frame(AREAS)
    cells = judged_cells(snapshot, settings, evaluated_at)
    start = evaluated_at - timedelta(days=settings.windows.trailing_days)
    zone = ZoneInfo(settings.time.zone)
    last_year = last_review_year(evaluated_at, settings)
    first_review_year = last_year - settings.flags.review_years + 1
    since = min(start, datetime(first_review_year, 1, 1, tzinfo=zone).astimezone(timezone.utc))  # older tasks judge nothing
    measured = snapshot.scan("responses").filter(pl.col("is_measured"), pl.col("call_at") >= since)
    # Only the judged cells' tasks are read whole (the reader decodes the other columns of those
    # rows only), without incident ids: a flag at 10M rows read 0.8M tasks of three years to keep
    # the judged cells' 0.35M, in 0.35-0.40 s, where this takes 0.19-0.25 s.
    tasks = (measured.filter(pl.col("cell_id").is_in(cells["cell_id"].implode())).select(_TASK_COLUMNS).collect()
             .join(cells.select("cell_id", "risk_class", "target_s"), on="cell_id", how="inner")
             .with_columns(within=pl.col("response_s") <= pl.col("target_s")))
    window = tasks.filter((pl.col("call_at") > start) & (pl.col("call_at") <= evaluated_at))
    review = _review_years(measured, settings, last_year, first_measured_day(snapshot, settings))

    judged = (
        judge_groups(window, ["cell_id"], settings)
        .join(most_common(window, ["cell_id"], "station_id"), on="cell_id", how="left")
        .join(most_common(window, ["cell_id"], "municipality_code"), on="cell_id", how="left")
        .join(_years_over(tasks, ["cell_id"], review, settings), on="cell_id", how="left")
        .join(cells.drop("target_s"), on="cell_id", how="inner")
        .join(_over_since(snapshot, settings, evaluated_at, cells), on="cell_id", how="left")
        .with_columns(over_since=pl.when("is_flagged").then("over_since"))
        .pipe(_with_review, review)
    )
    labelled = label_areas(judged, settings)
    areas = _areas(window, tasks, labelled, review, settings)
    flags = (
        labelled.join(areas.select("area_key", "area_id"), on="area_key", how="left")
        .with_columns(evaluated_at=pl.lit(evaluated_at, UTC_TIME), window_days=pl.lit(settings.windows.trailing_days),
                      cell_size_m=pl.lit(settings.grid.cell_size_m))
        .sort("cell_id")
    )
    areas = areas.with_columns(evaluated_at=pl.lit(evaluated_at, UTC_TIME),
                               window_days=pl.lit(settings.windows.trailing_days)).sort("area_id")
    return conform(flags, FLAGS), conform(areas, AREAS)


def evaluation_time(snapshot: Snapshot, settings: Settings, at: date | None = None) -> datetime | None:
    """End of the window to judge: the last second of local day ``at``, by default of the lake's
    last measured day (:func:`last_measured_day`), so that the window is the trailing year up to the
    newest data; None when nothing is measured yet. A window ending at ``at`` that holds none of the
    lake's measured tasks (a day before the first, or a window after the last) is an error: judged,
    it would show every cell as unmeasured."""
    if at is None:
        at = last_measured_day(snapshot, settings)
        if at is None:
            return None
    else:
        _require_tasks_in_window(snapshot, settings, at)
    midnight = datetime(at.year, at.month, at.day, tzinfo=ZoneInfo(settings.time.zone)) + timedelta(days=1)
    return midnight.astimezone(timezone.utc) - timedelta(seconds=1)


def _require_tasks_in_window(snapshot: Snapshot, settings: Settings, at: date) -> None:
    first, last = measured_call(snapshot, newest=False), measured_call(snapshot, newest=True)
    if first is None or last is None:
        return  # nothing measured at all: every window is empty, and the summaries say so
    days = settings.windows.trailing_days
    # From the first task's day to the last day whose window (its end minus the window) still
    # holds the newest task.
    earliest, latest = local_day(first, settings), local_day(last + timedelta(days=days), settings) - timedelta(days=1)
    if not earliest <= at <= latest:
        raise InputError(f"no measured urgent tasks in the {days}-day window ending {at}: the lake's measured "
                         f"tasks run from {earliest} to {local_day(last, settings)}; give a day from {earliest} to "
                         f"{latest}")


def local_day(moment: datetime | None, settings: Settings) -> date | None:
    """The local day (``time.zone``) of ``moment``: the day a window ending at ``moment`` ends with."""
    return None if moment is None else moment.astimezone(ZoneInfo(settings.time.zone)).date()


def judged_cells(snapshot: Snapshot, settings: Settings, evaluated_at: datetime) -> pl.DataFrame:
    """Cells of the judged classes (``flags.risk_classes``) in the grid valid at ``evaluated_at``:
    cell_id, x_m, y_m, risk_class and target_s."""
    year = evaluated_at.astimezone(ZoneInfo(settings.time.zone)).year
    return (grid_at(snapshot, year).filter(pl.col("risk_class").is_in(settings.flags.risk_classes))
            .select("cell_id", "x_m", "y_m", "risk_class").join(targets_frame(settings), on="risk_class"))


def targets_frame(settings: Settings) -> pl.DataFrame:
    """risk_class, target_s: the target of each class (``targets_s``)."""
    return pl.DataFrame({"risk_class": list(settings.targets_s), "target_s": list(settings.targets_s.values())},
                        schema={"risk_class": pl.String, "target_s": pl.Int64})


def first_measured_day(snapshot: Snapshot, settings: Settings) -> date | None:
    """The local day of the lake's first measured task (None: nothing measured)."""
    return local_day(measured_call(snapshot, newest=False), settings)


def last_measured_day(snapshot: Snapshot, settings: Settings) -> date | None:
    """The local day of the lake's newest measured task (None: nothing measured)."""
    return local_day(measured_call(snapshot, newest=True), settings)


def last_review_year(evaluated_at: datetime, settings: Settings) -> int:
    """The review period's last year: the local year of ``evaluated_at`` once the window reaches
    into its December, else the year before (in its first eleven months a year is held only in part)."""
    local = evaluated_at.astimezone(ZoneInfo(settings.time.zone))
    return local.year if local.month == 12 else local.year - 1


def _review_years(measured: pl.LazyFrame, settings: Settings, last: int, first_day: date | None) -> list[int]:
    """Local calendar years of the review period ending with ``last`` that have measured tasks in
    the lake: ``last`` and each earlier one that the lake holds from its January (``first_day``: the
    lake's first measured day). A year the lake starts later in, such as the last days of December
    that the first export's overlap brings, would judge its cells on a task or two."""
    wanted = set(range(last - settings.flags.review_years + 1, last + 1))
    years = measured.select(pl.col("call_at").dt.convert_time_zone(settings.time.zone).dt.year().unique()).collect()
    held = {year for year in wanted if year == last or holds_from_january(first_day, year)}
    return sorted(wanted & held & set(years.to_series().to_list()))


def holds_from_january(first_day: date | None, year: int) -> bool:
    """Whether a lake whose first measured day is ``first_day`` holds ``year`` from its January on
    (its first task before 1 February of it; None: nothing measured, nothing held in part)."""
    return first_day is None or first_day < date(year, 2, 1)


def judge_groups(tasks: pl.DataFrame, by: list[str], settings: Settings) -> pl.DataFrame:
    """Evidence and judgement of each group of measured tasks, by the rules of this module.

    ``tasks``: one row per measured task with ``response_s``, ``within`` (within its target) and
    ``target_s`` (one target per group), plus the ``by`` columns. One row per group: ``count``,
    ``median_s``, ``ci_low_s``, ``ci_high_s`` (order statistics, ``windows.ci_level``; null when
    the count is too small), ``share_within_target``, ``mean_s``, ``target_s``, both rules
    (``is_over_median``, ``is_over_share``), ``is_flagged`` by ``flags.rule`` and ``confidence``.
    The service-level review (:mod:`valmius.review`) and the what-if scenarios
    (:mod:`valmius.scenario`) judge their groups with it too.
    """
    return _judge(_evidence(tasks, by, settings), settings)


def _evidence(tasks: pl.DataFrame, by: list[str], settings: Settings) -> pl.DataFrame:
    """count, median_s, ci_low_s, ci_high_s, share_within_target, mean_s and target_s per group."""
    grouped = tasks.group_by(by).agg(
        count=pl.len(), sorted_s=pl.col("response_s").sort(), median_s=pl.col("response_s").median(),
        share_within_target=pl.col("within").mean(), mean_s=pl.col("response_s").mean(),
        target_s=pl.col("target_s").first(),
    )
    ks = ci_ranks(settings.windows.ci_level, int(grouped["count"].max() or 0))
    k = pl.Series("k", ks[grouped["count"].to_numpy()] if grouped.height else [], dtype=pl.Int64)
    has_interval = pl.col("k") > 0
    return (
        grouped.with_columns(k)
        .with_columns(
            ci_low_s=pl.when(has_interval).then(pl.col("sorted_s").list.get(pl.col("k") - 1)).cast(pl.Float64),
            ci_high_s=pl.when(has_interval).then(pl.col("sorted_s").list.get(pl.col("count") - pl.col("k")))
            .cast(pl.Float64),
        )
        .drop("sorted_s", "k")
    )


def _judge(evidence: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Add the two rules, the flag by ``flags.rule`` and the flag's confidence."""
    over_median = pl.col("median_s") > pl.col("target_s")
    over_share = pl.col("share_within_target") < 0.5
    return evidence.with_columns(is_over_median=over_median, is_over_share=over_share).with_columns(
        is_flagged=pl.col("is_over_median" if settings.flags.rule == "median" else "is_over_share"),
    ).with_columns(
        confidence=pl.when(~pl.col("is_flagged")).then(None)
        .when(pl.col("count") < settings.flags.min_tasks).then(pl.lit("too_few_tasks"))
        .when(pl.col("ci_low_s") > pl.col("target_s")).then(pl.lit("certain"))
        .otherwise(pl.lit("likely")),
    )


def _is_over(settings: Settings) -> pl.Expr:
    """Over target by ``flags.rule``, as an aggregation over tasks with ``response_s``, ``within``."""
    if settings.flags.rule == "median":
        return pl.col("response_s").median() > pl.col("target_s").first()
    return pl.col("within").mean() < 0.5


def _years_over(tasks: pl.DataFrame, by: list[str], review: list[int], settings: Settings) -> pl.DataFrame:
    """years_over, years_in_review and is_problem per group over the review period."""
    local_year = pl.col("call_at").dt.convert_time_zone(settings.time.zone).dt.year()
    yearly = (tasks.with_columns(review_year=local_year).filter(pl.col("review_year").is_in(review))
              .group_by([*by, "review_year"]).agg(is_over=_is_over(settings)))
    return yearly.group_by(by).agg(years_over=pl.col("is_over").sum().cast(pl.Int32))


def _with_review(frame: pl.DataFrame, review: list[int]) -> pl.DataFrame:
    """Complete years_over (0 for groups without tasks in the review years), years_in_review, is_problem."""
    years_over = pl.col("years_over").fill_null(0)
    return frame.with_columns(years_over=years_over, years_in_review=pl.lit(len(review), pl.Int32),
                              is_problem=(years_over == len(review)) & (len(review) > 0))


def most_common(tasks: pl.DataFrame, by: list[str], column: str) -> pl.DataFrame:
    """The most frequent non-null value of ``column`` per group of ``by`` (ties: the smallest value)."""
    counts = tasks.drop_nulls(column).group_by([*by, column]).len()
    return counts.sort([*by, "len", column], descending=[False] * len(by) + [True, False]).group_by(
        by, maintain_order=True).first().drop("len")


def _over_since(snapshot: Snapshot, settings: Settings, evaluated_at: datetime, cells: pl.DataFrame) -> pl.DataFrame:
    """Per cell, for a cell over target at ``evaluated_at``: the start of the unbroken run of
    calendar periods over target that ends with the latest period ended by then (``rolling_calendar``;
    periods with an empty window break the run), and goes on into the period in progress when
    ``evaluated_at`` is inside one. A cell whose last ended period was not over target (or that
    had no tasks in it) is over since the period in progress began."""
    over = (pl.col("median_s") > pl.col("target_s")) if settings.flags.rule == "median" else (
        pl.col("share_within_target") < 0.5)
    points = (
        snapshot.scan("rolling_calendar")
        .filter(pl.col("grouping") == "cell", pl.col("at") <= evaluated_at)
        .select(cell_id="group_key", period_start="period_start", at="at", median_s="median_s",
                share_within_target="share_within_target")
        .collect()
    )
    points = points.join(cells.select("cell_id", "target_s"), on="cell_id", how="inner").sort("cell_id", "at")
    # A run breaks at a period not over target or after a gap (the previous point is not the
    # period just before). Points after the last break belong to the final run.
    contiguous = pl.col("at").shift(1).over("cell_id") == pl.col("period_start") - timedelta(seconds=1)
    points = points.with_columns(is_over=over.fill_null(False)).with_columns(
        run_id=(~pl.col("is_over") | ~contiguous.fill_null(False)).cast(pl.Int32).cum_sum().over("cell_id"))
    final_run = pl.col("run_id") == pl.col("run_id").max().over("cell_id")
    runs = (points.filter(final_run, pl.col("is_over")).group_by("cell_id")
            .agg(over_since=pl.col("period_start").min(), run_end=pl.col("at").max()))
    period = calendar_points(pl.Series([int(evaluated_at.timestamp())]), settings.windows.calendar,
                             settings.time.zone).row(0, named=True)
    if period["at"] <= evaluated_at:  # judged at a period's end: that period's point is the window
        return runs.drop("run_end")
    reaches_now = pl.col("run_end") == period["period_start"] - timedelta(seconds=1)
    return cells.select("cell_id").join(runs, on="cell_id", how="left").select(
        "cell_id", over_since=pl.when(reaches_now).then("over_since").otherwise(pl.lit(period["period_start"])))


def label_areas(judged: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Add ``area_key`` (risk class and component of touching flagged cells) to judged cells
    (cell_id, x_m, y_m, risk_class, is_flagged); null for cells not flagged."""
    size = settings.grid.cell_size_m
    flagged = judged.filter(pl.col("is_flagged")).sort("risk_class", "x_m", "y_m")
    keys = np.empty(flagged.height, dtype=object)
    for risk_class in flagged["risk_class"].unique().to_list():
        rows = (flagged["risk_class"] == risk_class).to_numpy()
        labels = connected_components(flagged["x_m"].to_numpy()[rows] // size,
                                      flagged["y_m"].to_numpy()[rows] // size, settings.flags.neighbourhood)
        keys[rows] = [f"{risk_class}:{label}" for label in labels]
    labelled = flagged.with_columns(area_key=pl.Series(keys.tolist(), dtype=pl.String))
    return judged.join(labelled.select("cell_id", "area_key"), on="cell_id", how="left")


def _areas(window: pl.DataFrame, tasks: pl.DataFrame, labelled: pl.DataFrame, review: list[int],
           settings: Settings) -> pl.DataFrame:
    """One row per area: pooled evidence, member cells, and the components against those of the
    class's cells that meet the target."""
    members = labelled.drop_nulls("area_key").select("cell_id", "area_key")
    in_areas = window.join(members, on="cell_id")
    meeting = window.join(labelled.filter(~pl.col("is_flagged")).select("cell_id"), on="cell_id")
    medians = {f"{c}_median_s": pl.col(f"{c}_s").median().cast(pl.Float64) for c in COMPONENTS}
    reference = meeting.group_by("risk_class").agg(**{f"{c}_reference_s": pl.col(f"{c}_s").median().cast(pl.Float64)
                                                      for c in COMPONENTS})
    excess = {f"{c}_excess_s": pl.col(f"{c}_median_s") - pl.col(f"{c}_reference_s") for c in COMPONENTS}
    areas = (
        judge_groups(in_areas, ["area_key"], settings)
        .join(in_areas.group_by("area_key").agg(risk_class=pl.col("risk_class").first(), **medians), on="area_key")
        .join(members.group_by("area_key").agg(cells=pl.len().cast(pl.Int32), cell_ids=pl.col("cell_id").sort()),
              on="area_key")
        .join(most_common(in_areas, ["area_key"], "station_id"), on="area_key", how="left")
        .join(most_common(in_areas, ["area_key"], "municipality_code"), on="area_key", how="left")
        .join(_years_over(tasks.join(members, on="cell_id"), ["area_key"], review, settings), on="area_key", how="left")
        .join(reference, on="risk_class", how="left")
        .with_columns(**excess)
    )
    largest = pl.max_horizontal(*(pl.col(f"{c}_excess_s") for c in COMPONENTS))
    main_delay = pl.when(largest.is_null() | (largest <= 0)).then(None)
    for c in COMPONENTS:
        main_delay = main_delay.when(pl.col(f"{c}_excess_s") == largest).then(pl.lit(c))
    certainty = pl.col("confidence").replace_strict(CONFIDENCE_ORDER, default=len(CONFIDENCE_ORDER))
    ranked = areas.with_columns(main_delay=main_delay, first_cell=pl.col("cell_ids").list.first()).sort(
        [certainty, "median_s", "count", "first_cell"], descending=[False, True, True, False])
    return ranked.with_columns(area_id=pl.int_range(1, ranked.height + 1, dtype=pl.Int32)).pipe(_with_review, review)


def net_changes(summaries: list[FlagSummary]) -> tuple[list[str], list[str]]:
    """(appeared, cleared) over flag runs one after the other: the cells flagged after the last run
    that were not before the first, and the other way round (a cell that appeared and cleared
    again is in neither)."""
    before, now = {}, {}  # cell -> flagged before the first run / after the last
    for summary in summaries:
        for cells, flagged in ((summary.appeared, True), (summary.cleared, False)):
            for cell in cells:
                before.setdefault(cell, not flagged)
                now[cell] = flagged
    return (sorted(c for c in now if now[c] and not before[c]), sorted(c for c in now if before[c] and not now[c]))


def _summary(flags: pl.DataFrame, areas: pl.DataFrame, previous: pl.DataFrame, settings: Settings) -> FlagSummary:
    now = set(flags.filter("is_flagged")["cell_id"].to_list())
    before = set(previous.filter("is_flagged")["cell_id"].to_list())
    by = flags.filter("is_flagged").group_by("confidence").len().sort("confidence")
    evaluated_at = flags["evaluated_at"].max() if flags.height else None
    return FlagSummary(
        evaluated_at=evaluated_at, last_day=local_day(evaluated_at, settings),
        cells_evaluated=flags.height,
        flagged=dict(zip(by["confidence"].to_list(), by["len"].to_list())),
        areas=areas.height,
        problem_cells=int(flags["is_problem"].sum()),
        appeared=sorted(now - before),
        cleared=sorted(before - now),
    )
