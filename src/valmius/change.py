"""Significant change: has the median response time moved between two periods, per group, beyond noise?

:func:`compare_periods` compares the measured urgent tasks of a *current* and a *previous* period
(local calendar days, both ends included) for the department (``all``), each risk class, each
municipality, each flagged area and each cell of the judged classes (``flags.risk_classes``):

- Classes, cells and areas are those of the evaluation at the current period's end (the risk grid
  valid then, the areas of :func:`valmius.flags.evaluate`), for the tasks of both periods: the
  same territory is compared with itself, and a re-classified cell does not look like a change.
- A group is compared when it has at least ``change.min_tasks`` tasks in each period; others are
  listed with ``is_tested`` false and are not counted as comparisons.
- Nothing is compared when the lake holds under ``MIN_HELD_SHARE`` (half) of a period's days, those
  between its first and last measured task: the tasks of a few days, at one end of the period and
  in one season, do not stand for the period (on the demo's one year, the previous year is held for
  one day, 30.12.2024, and its 12 tasks made the department's median look 1:46 faster). Every group
  is then listed with ``is_tested`` false and ``untested_reason`` "period_held_in_part"; the text
  says how much of the period the lake holds.
- Per comparison (:mod:`valmius.kernels.change`): the two medians and their difference
  ``median_change_s`` (current minus previous), a bootstrap percentile interval of that difference
  at ``windows.ci_level``, and a two-sided permutation p-value (``change.statistic``: the
  Mann–Whitney rank sum by default, or the difference of medians), valid however few permutations.
- Multiple comparisons: Benjamini–Hochberg q-values over all comparisons made together (every
  grouping in one family); ``is_significant`` when ``q_value <= change.fdr``. So among the changes
  marked, the expected share that are noise is at most ``change.fdr``.

Default periods (:func:`default_periods`): the trailing window (``windows.trailing_days``) ending at
the flags' evaluation time, against the same calendar days one year earlier (or, for a window
longer than a year, the window of the same length just before it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from valmius.errors import ValmiusError
from valmius.flags import evaluate, evaluation_time, first_measured_day, last_measured_day, local_day
from valmius.grid import grid_at
from valmius.kernels.change import group_seeds, median_shift_tests
from valmius.labels import (count_text, counted, day_text, decimal_text, english_count, mmss, municipality_name,
                            percent, text, whole_text)
from valmius.lake import Snapshot
from valmius.measure import open_measured
from valmius.settings import Settings

GROUPINGS = ("all", "risk_class", "municipality", "area", "cell")
"""Groupings compared, in the order they are listed."""

Period = tuple[date, date]

MIN_HELD_SHARE = 0.5
"""Smallest share of a period's days the lake must hold (from its first to its last measured task)
for the two periods to be compared. Under half, more of the period is missing than held, and what
is held is one stretch of it (the lake's first or last days), so a change would as likely be that
stretch's season as a change of the period. The periods of the default comparison, a year and the
year before, are held in full once the lake is two years old; a lake that starts two weeks into the
earlier year (352 of 366 days) is compared, and the text says what it holds. Fixed in code like the
review's rule that a year held only from later than January is not judged."""


class ChangeError(ValmiusError):
    """The periods to compare are not usable (reversed, overlapping)."""


@dataclass
class ChangeResult:
    """What ``valmius change`` found: the comparison table and its periods."""

    table: pl.DataFrame
    current: Period
    previous: Period
    settings: Settings
    measured: tuple[date | None, date | None]
    """The local days of the lake's first and last measured task: a period reaching outside them is
    held only in part."""

    @property
    def comparisons(self) -> int:
        return int(self.table["is_tested"].sum())

    @property
    def is_compared(self) -> bool:
        """Whether the lake holds enough of both periods to compare them (``MIN_HELD_SHARE``)."""
        return is_comparable(self.current, self.previous, self.measured)

    @property
    def significant(self) -> pl.DataFrame:
        return self.table.filter("is_significant")

    def to_text(self) -> str:
        held = held_texts(self.current, self.previous, self.measured, "en", day=date.isoformat)
        if not self.is_compared:
            first, last = self.measured
            hint = (f"Give two periods within {first}..{last} with --from, --to, --previous-from and --previous-to"
                    if first else "Nothing is measured yet: run valmius measure")
            return "\n".join([f"Change {_span(self.current)} against {_span(self.previous)}: not compared", *held,
                              text("change_not_compared", "en", share=percent(MIN_HELD_SHARE, "en")), hint])
        found = text("change_summary", "en", comparisons=counted("change_comparisons", self.comparisons, "en"),
                     changes=counted("change_changes", self.significant.height, "en"),
                     fdr=percent(self.settings.change.fdr, "en"))
        lines = [f"Change {_span(self.current)} against {_span(self.previous)}: {found.removesuffix('.')}"]
        untested = self.table.height - self.comparisons
        if untested:
            lines.append(counted("change_untested", untested, "en"))
        lines += held
        warning = resolution_warning(self.comparisons, self.settings)
        if warning:
            lines.append(warning)
        for row in self.significant.iter_rows(named=True):
            lines.append(f"  {row['grouping']:<12} {row['group_key']:<16} {row['previous_median_s']:>7.0f} s -> "
                         f"{row['current_median_s']:>7.0f} s  change {row['median_change_s']:+.0f} s "
                         f"[{row['change_ci_low_s']:+.0f}, {row['change_ci_high_s']:+.0f}]  "
                         f"n {row['previous_count']}/{row['current_count']}  q {row['q_value']:.2g}")
        return "\n".join(lines)


def _span(period: Period) -> str:
    return f"{period[0].isoformat()}..{period[1].isoformat()}"


def _days(period: Period) -> int:
    return (period[1] - period[0]).days + 1


def held_days(period: Period, measured: tuple[date | None, date | None]) -> int:
    """Days of ``period`` from the lake's first to its last measured day (``measured``)."""
    first, last = measured
    if first is None or last is None:
        return 0
    return max(0, (min(period[1], last) - max(period[0], first)).days + 1)


def is_comparable(current: Period, previous: Period, measured: tuple[date | None, date | None]) -> bool:
    """Whether the lake holds at least ``MIN_HELD_SHARE`` of the days of both periods."""
    return all(held_days(period, measured) >= MIN_HELD_SHARE * _days(period) for period in (current, previous))


def held_texts(current: Period, previous: Period, measured: tuple[date | None, date | None], lang: str,
               day: Callable[[date], str] = day_text) -> list[str]:
    """A sentence for each period the lake holds only in part: how many of its days, and which days
    the lake's measured tasks cover (``day`` writes a day)."""
    lines = []
    for name, period in (("change_current_period", current), ("change_previous_period", previous)):
        held = held_days(period, measured)
        if held < _days(period):
            first, last = measured
            lines.append(text("change_partial" if held else "change_none_held", lang, period=text(name, lang),
                              held=held, days=_days(period), first=day(first) if first else "-",
                              last=day(last) if last else "-"))
    return lines


def change(settings: Settings, *, current: Period | None = None, previous: Period | None = None,
           at: date | None = None) -> ChangeResult:
    """Compare two periods of the lake at ``settings.lake_path`` (defaults: :func:`default_periods`)."""
    snapshot = open_measured(settings)
    if current is None or previous is None:
        periods = default_periods(snapshot, settings, at=current[1] if current else at)
        if periods is None:
            raise ChangeError("no measured urgent tasks in the lake yet: run valmius measure first")
        current = current or periods[0]
        previous = previous or _previous_of(current, settings)
    measured = measured_span(snapshot, settings)
    table = compare_periods(snapshot, settings, current=current, previous=previous, measured=measured)
    return ChangeResult(table, current, previous, settings, measured)


def measured_span(snapshot: Snapshot, settings: Settings) -> tuple[date | None, date | None]:
    """The local days of the lake's first and last measured task (None, None: nothing measured)."""
    return first_measured_day(snapshot, settings), last_measured_day(snapshot, settings)


def default_periods(snapshot: Snapshot, settings: Settings, at: date | None = None) -> tuple[Period, Period] | None:
    """(current, previous): the trailing window ending at the flags' evaluation time (``at``, else
    the lake's last measured day) and the same days a year earlier; None when nothing is measured."""
    evaluated_at = evaluation_time(snapshot, settings, at)
    if evaluated_at is None:
        return None
    end = local_day(evaluated_at, settings)
    current = (end - timedelta(days=settings.windows.trailing_days - 1), end)
    return current, _previous_of(current, settings)


def _previous_of(current: Period, settings: Settings) -> Period:
    start, end = current
    if (end - start).days >= 365:
        length = end - start + timedelta(days=1)
        return start - length, start - timedelta(days=1)
    return _year_earlier(start), _year_earlier(end)


def _year_earlier(day: date) -> date:
    return day.replace(year=day.year - 1, day=28 if (day.month, day.day) == (2, 29) else day.day)


def compare_periods(snapshot: Snapshot, settings: Settings, *, current: Period, previous: Period,
                    areas: pl.DataFrame | None = None,
                    measured: tuple[date | None, date | None] | None = None) -> pl.DataFrame:
    """One row per group of every grouping (see the module docstring): counts, medians, median
    change with its interval, p-value, q-value, ``is_tested`` (with ``untested_reason`` when not)
    and ``is_significant``, and the days of each period the lake holds. ``areas`` (the ``areas``
    table evaluated at the current period's end) and ``measured`` (:func:`measured_span`) are
    read from the lake when not given."""
    _check_periods(current, previous)
    measured = measured if measured is not None else measured_span(snapshot, settings)
    zone = ZoneInfo(settings.time.zone)
    bounds = {name: _utc_bounds(period, zone) for name, period in (("current", current), ("previous", previous))}
    in_period = {name: (pl.col("call_at") >= lo) & (pl.col("call_at") < hi) for name, (lo, hi) in bounds.items()}
    tasks = (
        snapshot.scan("responses")
        .filter(pl.col("is_measured"), in_period["current"] | in_period["previous"])
        .select("response_s", "municipality_code", "cell_id", is_current=in_period["current"])
        .collect()
    )
    grid = grid_at(snapshot, current[1].year).select("cell_id", "risk_class")
    tasks = tasks.join(grid, on="cell_id", how="left")
    if areas is None:
        _, areas = evaluate(snapshot, settings, at=current[1])
    members = areas.select(pl.col("area_id").cast(pl.String).alias("area"), pl.col("cell_ids").alias("cell_id"),
                           pl.col("risk_class").alias("area_class")).explode("cell_id")
    tasks = tasks.join(members, on="cell_id", how="left")
    judged = set(settings.flags.risk_classes)
    long = pl.concat([
        tasks.select(pl.lit("all").alias("group_key"), pl.lit(None, pl.String).alias("class_of_group"),
                     "response_s", "is_current").with_columns(grouping=pl.lit("all")),
        tasks.drop_nulls("risk_class").select(pl.col("risk_class").alias("group_key"),
                                              pl.col("risk_class").alias("class_of_group"), "response_s",
                                              "is_current").with_columns(grouping=pl.lit("risk_class")),
        tasks.drop_nulls("municipality_code").select(pl.col("municipality_code").alias("group_key"),
                                                     pl.lit(None, pl.String).alias("class_of_group"), "response_s",
                                                     "is_current").with_columns(grouping=pl.lit("municipality")),
        tasks.drop_nulls("area").select(pl.col("area").alias("group_key"), pl.col("area_class").alias("class_of_group"),
                                        "response_s", "is_current").with_columns(grouping=pl.lit("area")),
        tasks.filter(pl.col("risk_class").is_in(judged)).select(
            pl.col("cell_id").alias("group_key"), pl.col("risk_class").alias("class_of_group"), "response_s",
            "is_current").with_columns(grouping=pl.lit("cell")),
    ], how="vertical_relaxed")
    return _compare(long, settings, current, previous, measured)


def _check_periods(current: Period, previous: Period) -> None:
    for name, (start, end) in (("current", current), ("previous", previous)):
        if start > end:
            raise ChangeError(f"the {name} period starts ({start}) after it ends ({end}): give the earlier day first")
    if current[0] <= previous[1] and previous[0] <= current[1]:
        raise ChangeError(f"the periods overlap ({_span(current)} and {_span(previous)}): a task would be "
                          f"compared with itself; choose periods that share no day")


def _utc_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of local days period[0] .. period[1]."""
    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
    return midnight(period[0]), midnight(period[1] + timedelta(days=1))


def _compare(long: pl.DataFrame, settings: Settings, current: Period, previous: Period,
             measured: tuple[date | None, date | None]) -> pl.DataFrame:
    order = pl.col("grouping").replace_strict({g: i for i, g in enumerate(GROUPINGS)}, return_dtype=pl.Int32)
    enough = pl.min_horizontal("current_count", "previous_count") >= settings.change.min_tasks
    comparable = is_comparable(current, previous, measured)
    groups = (
        long.group_by("grouping", "group_key")
        .agg(risk_class=pl.col("class_of_group").first(), current_count=pl.col("is_current").sum().cast(pl.Int64),
             previous_count=(~pl.col("is_current")).sum().cast(pl.Int64))
        .sort(order, "group_key")
        .with_columns(is_tested=enough & comparable,
                      untested_reason=pl.when(pl.lit(not comparable)).then(pl.lit("period_held_in_part"))
                      .when(~enough).then(pl.lit("too_few_tasks")).otherwise(pl.lit(None, pl.String)))
    )
    tested = groups.filter("is_tested").with_row_index("code")
    keys = [f"{g}:{k}" for g, k in tested.select("grouping", "group_key").iter_rows()]
    rows = long.join(tested.select("grouping", "group_key", "code"), on=["grouping", "group_key"], how="inner")
    c = settings.change
    out = median_shift_tests(rows["response_s"].cast(pl.Float64).to_numpy(), rows["code"].cast(pl.Int64).to_numpy(),
                             rows["is_current"].to_numpy(), group_seeds(keys, c.seed), permutations=c.permutations,
                             stop_after=c.stop_after_extreme, bootstraps=c.bootstraps, level=settings.windows.ci_level,
                             statistic=c.statistic)
    results = tested.select("grouping", "group_key").with_columns(
        current_median_s=out["median_current"], previous_median_s=out["median_previous"],
        median_change_s=out["median_change"], change_ci_low_s=out["ci_low"], change_ci_high_s=out["ci_high"],
        p_value=out["p_value"], q_value=benjamini_hochberg(out["p_value"]),
        permutations=pl.Series(out["permutations"], dtype=pl.Int64),
    )
    return (
        groups.join(results, on=["grouping", "group_key"], how="left", maintain_order="left")
        .with_columns(is_significant=pl.col("q_value").fill_null(1.0) <= c.fdr, statistic=pl.lit(c.statistic),
                      current_from=pl.lit(current[0]), current_to=pl.lit(current[1]),
                      previous_from=pl.lit(previous[0]), previous_to=pl.lit(previous[1]),
                      current_days_held=pl.lit(held_days(current, measured), pl.Int64),
                      previous_days_held=pl.lit(held_days(previous, measured), pl.Int64))
    )


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values: the smallest FDR at which each p-value's hypothesis is rejected."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return np.empty(0)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def resolution_warning(comparisons: int, settings: Settings) -> str | None:
    """A warning when the permutations are too few for a lone real change to pass the FDR control
    (Benjamini–Hochberg needs the smallest p-value at most fdr / comparisons)."""
    fdr, drawn = settings.change.fdr, settings.change.permutations
    if not comparisons or 1 / (drawn + 1) <= fdr / comparisons:
        return None
    return (f"with {english_count(comparisons, 'comparison')} a lone change needs p <= {fdr / comparisons:.1e}, below "
            f"the smallest p-value {english_count(drawn, 'permutation')} can give: set change.permutations to at least "
            f"{math.ceil(comparisons / fdr):,}")


def published_changes(snapshot: Snapshot, settings: Settings, evaluated_at: datetime,
                      areas: pl.DataFrame | None = None) -> tuple[list[str], pl.DataFrame]:
    """The report's change section: its sentences and the table of changes unlikely to be noise,
    labelled in ``report.language``, counts under ``report.min_count_shown`` shown as ``< N``
    without their figures. Default periods at ``evaluated_at``. The table's q-values are plain numbers
    ("0.012"), as tables/changes.csv keeps them: :func:`shown_changes` writes them as the page does."""
    lang, min_count = settings.report.language, settings.report.min_count_shown
    current, previous = default_periods(snapshot, settings, at=local_day(evaluated_at, settings))
    measured = measured_span(snapshot, settings)
    held = held_texts(current, previous, measured, lang)
    if not is_comparable(current, previous, measured):
        lines = [text("change_skipped", lang, current=_dates(current), previous=_dates(previous)), *held,
                 text("change_not_compared", lang, share=percent(MIN_HELD_SHARE, lang))]
        return lines, _published_table([], lang)
    table = compare_periods(snapshot, settings, current=current, previous=previous, areas=areas, measured=measured)
    comparisons = int(table["is_tested"].sum())
    significant = table.filter("is_significant").sort(pl.col("median_change_s").abs(), descending=True)
    c = settings.change
    untested = table.height - comparisons
    lines = [
        text("change_summary", lang, comparisons=counted("change_comparisons", comparisons, lang),
             changes=counted("change_changes", significant.height, lang), fdr=percent(c.fdr, lang)),
        text("change_periods", lang, current=_dates(current), previous=_dates(previous), min_tasks=c.min_tasks,
             classes=", ".join(settings.flags.risk_classes), untested=counted("change_untested", untested, lang)),
        text("change_method", lang, statistic=text(f"change_statistic_{c.statistic}", lang),
             level=percent(settings.windows.ci_level, lang)),
        *held,
    ]
    if resolution_warning(comparisons, settings):
        lines.append(text("change_resolution", lang, needed=whole_text(math.ceil(comparisons / c.fdr))))
    names = {"all": text("change_all", lang), "risk_class": text("risk_class", lang),
             "municipality": text("municipality", lang), "area": text("area", lang), "cell": text("cell", lang)}
    rows = []
    for row in significant.iter_rows(named=True):
        shown = min(row["current_count"], row["previous_count"]) >= min_count
        group = municipality_name(row["group_key"]) if row["grouping"] == "municipality" else row["group_key"]
        rows.append((
            names[row["grouping"]], "" if row["grouping"] == "all" else group,
            count_text(row["previous_count"], min_count), count_text(row["current_count"], min_count),
            mmss(row["previous_median_s"]) if shown else None, mmss(row["current_median_s"]) if shown else None,
            _signed(row["median_change_s"]) if shown else None,
            f"{_signed(row['change_ci_low_s'])} … {_signed(row['change_ci_high_s'])}" if shown else None,
            f"{row['q_value']:.2g}",
        ))
    return lines, _published_table(rows, lang)


def shown_changes(changes: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The table of :func:`published_changes` as the page shows it: q-values with the decimal comma
    in Finnish ("0,012"), the point in English."""
    q = text("change_q", lang)
    return changes.with_columns(pl.col(q).map_elements(lambda v: decimal_text(float(v), lang), return_dtype=pl.String))


def _published_table(rows: list[tuple], lang: str) -> pl.DataFrame:
    headers = [text(k, lang) for k in ("change_grouping", "change_group", "change_count_before", "change_count_now",
                                       "change_median_before", "change_median_now", "change_change", "ci", "change_q")]
    return pl.DataFrame(rows, schema={h: pl.String for h in headers}, orient="row")


def _dates(period: Period) -> str:
    return f"{day_text(period[0])}–{day_text(period[1])}"


def _signed(seconds: float | None) -> str:
    """A change in seconds as +m:ss or -m:ss."""
    if seconds is None or math.isnan(seconds):
        return ""
    return ("+" if seconds >= 0 else "-") + mmss(abs(seconds))
