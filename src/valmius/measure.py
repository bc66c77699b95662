"""The measure stage: ``responses``, ``rolling_events`` and ``rolling_calendar``, incrementally.

``valmius measure`` (and the nightly pipeline) measures every incident's response (see
``valmius.responses``) and the trailing-window statistics of the measured urgent tasks (see
``valmius.rolling``) for the whole department (``all``), each risk class (pooled over its cells),
municipality, first unit's station and cell:

- ``rolling_events``: at every measured task, the window ending at its call time;
- ``rolling_calendar``: at the end of every local calendar period (``windows.calendar``: day, week
  or month), the window ending at the period's last second; periods with an empty window are left out.

Incremental: the run compares the new responses with the stored ones. Only groups that a new,
changed or removed measured task belongs to are recomputed, and only partitions from that task's
call time to one window length later are rewritten, plus calendar points that did not exist
before. The result equals a full recomputation (``--full``), which also runs on the first measure
of a definition (``valmius.definitions``: another setting that shapes a figure is another
definition, with tables of its own) and after a new risk grid.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa

from valmius.columns import RESPONSES, ROLLING_CALENDAR, ROLLING_EVENTS, UTC_TIME, Table
from valmius.definitions import definition_id, measured_twin, open_results, register, require_results
from valmius.labels import english_count
from valmius.lake import Snapshot, SnapshotWriter, new_snapshot, utc_months
from valmius.responses import measure_responses
from valmius.rolling import calendar, rolling_stats_at, rolling_stats_both
from valmius.runs import last_summary, record_run
from valmius.settings import Settings

GROUPINGS: dict[str, str | None] = {
    "all": None, "risk_class": "risk_class", "municipality": "municipality_code", "station": "station_id",
    "cell": "cell_id",
}
STATS = {"count": "count", "median": "median_s", "ci_low": "ci_low_s", "ci_high": "ci_high_s",
         "share_within": "share_within_target", "mean": "mean_s", "p90": "p90_s"}
_US = 1_000_000
_INPUTS = ("units", "incidents", "cells")
"""The tables a measure reads (responses are derived from the units and incidents in their cells)."""
WRITE_THREADS = 2
"""Partitions written at once by a full measure: 2 wrote the 121 monthly partitions of 13 million
rolling rows in 1.4 s instead of 2.0 s on 2 cores; 3 were no faster."""

RESPONSE_BATCH_MONTHS = 30
"""Partitions of incidents measured in one batch. The units of every partition at once are a gigabyte
at 10M rows, touched for the first time; by 30 months they are a quarter of it, reused. Three
alternating rounds at 10M: all at once 1.9-5.2 s (3.1-6.7 s CPU, 2.1-2.3 GB of fresh memory), by 30
months 1.8-2.0 s (2.8-3.1 s CPU, 1.5 GB), by 12 months 2.1-2.3 s."""
RESPONSE_THREADS = 2
"""Batches measured at once: one batch left a core idle in its single-threaded steps (the first-unit
kernel, gathers). Four alternating rounds of a full measure at 10M: 11.1-12.0 -> 10.6-11.6 s, peak
0.1 GB higher."""

Partitions = dict[tuple[int, int], Callable[[], pl.DataFrame | pa.Table]]
"""A table's new rows by (year, month) partition, each put together when it is written."""


@dataclass
class MeasureSummary:
    """What a measure run did."""

    mode: str  # "full" or "incremental"
    incidents: int = 0
    measured: int = 0
    no_response: dict[str, int] = field(default_factory=dict)
    responses_changed: int = 0
    groups_recomputed: int = 0
    partitions_written: int = 0
    measured_like: str | None = None
    """A new definition's twin whose responses and rolling tables it started from (same measure rules)."""
    duration_s: float = 0.0
    run_id: int | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def to_text(self) -> str:
        entering = english_count(self.measured, "urgent task with a response enters",
                                 "urgent tasks with a response enter")
        lines = [f"Measured {english_count(self.incidents, 'incident')} ({self.mode}); {entering} the rolling medians"]
        if self.measured_like:
            lines.append(f"  a new definition with the measure rules of {self.measured_like}: started from its tables")
        for reason, count in self.no_response.items():
            lines.append(f"  no response, {reason}: {count:,}")
        lines.append(f"Changed responses: {self.responses_changed:,}; groups recomputed: {self.groups_recomputed:,}; "
                     f"partitions written: {self.partitions_written:,}; {self.duration_s:.1f} s")
        return "\n".join(lines)


def measure(settings: Settings, *, full: bool = False) -> MeasureSummary:
    """Measure the lake's incidents and update the rolling tables of the settings' definition, in
    one atomic commit."""
    started, started_at = time.perf_counter(), datetime.now(timezone.utc)
    with new_snapshot(settings.lake_path, definition_id(settings)) as (base, writer):
        register(base, writer, settings)
        source = base
        twin = None if full or last_summary(base, "measure") else measured_twin(base, settings)
        if twin is not None:  # a new definition with a measured twin: carry on from the twin's tables
            source = base.for_definition(twin)
            for table in (RESPONSES, ROLLING_EVENTS, ROLLING_CALENDAR):
                writer.inherit(table.name, twin)
        summary = _run(source, writer, settings, full)
        summary.measured_like = twin
        summary.duration_s = time.perf_counter() - started
        summary.run_id = writer.snapshot_id
        record_run(base, writer, "measure", started_at, summary.duration_s,
                   {**summary.to_dict(), "inputs": base.inputs(_INPUTS)},
                   rows_read=summary.incidents, rows_stored=summary.incidents)
    return summary


def open_measured(settings: Settings) -> Snapshot:
    """The lake, opened for the settings' definition, with its results. A new definition that
    changes only flag, review, report or change rules of a measured one (``measured_twin``) is set
    up from that one first (one quick commit of hard links); any other definition without results
    is an error that says to run valmius measure."""
    snapshot = open_results(settings)
    if not snapshot.partitions("responses") and measured_twin(snapshot, settings) is not None:
        measure(settings)
        snapshot = open_results(settings)
    require_results(snapshot, settings)
    return snapshot


def _dirty_months(base: Snapshot, last: dict) -> set[tuple[int, int]] | None:
    """Partitions whose incidents or units changed since the definition's last measure; None:
    measure them all (its first run, or another risk grid)."""
    inputs = base.inputs(_INPUTS)
    before = last.get("inputs")
    if before is None or before.get("cells") != inputs["cells"]:
        return None
    dirty = set()
    for table in ("units", "incidents"):
        old, new = before.get(table, {}), inputs[table]
        for key in set(old) | set(new):
            if old.get(key) != new.get(key):
                year, month = key.split("/")
                dirty.add((int(year), int(month)))
    return dirty


def _in_months(months: set[tuple[int, int]]) -> pl.Expr:
    return (pl.col("year") * 100 + pl.col("month")).is_in([y * 100 + m for y, m in months])


def _run(base: Snapshot, writer: SnapshotWriter, settings: Settings, full: bool) -> MeasureSummary:
    """Measure, writing whole tables on a background thread while the next one is computed (the
    kernels and Polars leave part of two cores idle: three alternating rounds of a full measure of 4.3M
    incidents: 8.0-8.6 -> 7.2-7.5 s)."""
    with ThreadPoolExecutor(1, thread_name_prefix="valmius-write") as background:
        writes: list[Future[int]] = []

        def write_later(table: Table, old_partitions: set[tuple[int, int]], new: Partitions,
                        only: set[tuple[int, int]] | None) -> None:
            writes.append(background.submit(_write_changed_partitions, writer, table, old_partitions, new, only))

        summary = _measure(base, writer, settings, full, write_later)
        summary.partitions_written += sum(write.result() for write in writes)
    return summary


def _measure(base: Snapshot, writer: SnapshotWriter, settings: Settings, full: bool, write_later) -> MeasureSummary:
    """The measure itself; whole tables go to ``write_later`` (as to :func:`_write_changed_partitions`),
    the partitions written here are counted in the summary."""
    dirty = None if full else _dirty_months(base, last_summary(base, "measure"))
    full = dirty is None
    new = _responses(base, settings, dirty)
    stored = base.scan("responses")
    if dirty is None:
        changed = None
        clean = stored.filter(pl.lit(False))
        write_later(RESPONSES, set(base.partitions("responses")), _lazy(new), None)
    else:
        old = stored.filter(_in_months(dirty)).collect()
        changed = pl.concat([
            new.join(old, on=RESPONSES.names, how="anti", nulls_equal=True),
            old.join(new, on=RESPONSES.names, how="anti", nulls_equal=True),
        ])
        clean = stored.filter(~_in_months(dirty))  # partitions this run leaves as they are
        write_later(RESPONSES, _partitions(old), _lazy(new), _partitions(changed))
    summary = _counted(clean, new, "full" if full else "incremental")
    summary.responses_changed = new.height if changed is None else changed["incident_id"].n_unique()

    # Every measured task after this run, read lazily: a nightly run needs only the recent ones.
    measured = pl.concat([clean.filter("is_measured").select(_EVENT_COLUMNS),
                          new.lazy().filter("is_measured").select(_EVENT_COLUMNS)])
    window_s = settings.windows.trailing_days * 86_400
    all_points = calendar_points(_measured_range(base, new, dirty), settings.windows.calendar,
                                 settings.time.zone)
    old_points = base.scan("rolling_calendar").select("at").unique().collect()["at"]
    old_points_s = set((old_points.dt.epoch("us") // _US).to_list())
    if not full and not old_points_s <= set(all_points["at_s"].to_list()):
        full = True  # the calendar shrank (call times corrected backwards): start over
        summary.mode = "full"

    if full:
        events = _events(measured.collect())
        del new, measured  # the responses are freed once written (in the background), for the kernels to reuse
        summary.groups_recomputed = events.groups.height
        per_row, calendar_rows = _window_stats(events, all_points, window_s, settings)
        write_later(ROLLING_EVENTS, set(base.partitions(ROLLING_EVENTS.name)),
                    events.task_rows_by_partition(per_row, settings.windows.trailing_days), None)
        write_later(ROLLING_CALENDAR, set(base.partitions(ROLLING_CALENDAR.name)), _lazy(calendar_rows), None)
        return summary

    assert changed is not None
    touched = _events(changed.filter("is_measured"))
    affected = touched.groups.select("grouping", "group_key")
    summary.groups_recomputed = affected.height
    span = (touched.tasks["t"].min(), touched.tasks["t"].max() + window_s) if touched.tasks.height else None
    fresh_points = all_points.filter(~pl.col("at_s").is_in(list(old_points_s)))
    # Tasks from one window before the first partition the change reaches (or the first new
    # calendar point) on: the windows that end there need them; older windows stay as stored.
    starts = ([_month_bounds(span)[0]] if span else []) + ([int(fresh_points["at_s"].min())] if fresh_points.height else [])
    if not starts:
        return summary
    since = datetime.fromtimestamp(min(starts) - window_s, timezone.utc)
    events = _events(measured.filter(pl.col("call_at") > since).collect())
    _, fresh = _window_stats(events, fresh_points, window_s, settings, per_task=False)
    task_rows = no_tasks = events.task_rows(None, settings.windows.trailing_days)
    calendar_rows = fresh.clear()
    if span is not None:
        first, last = _month_bounds(span)
        codes = events.groups.join(affected, on=["grouping", "group_key"], how="semi")["code"].to_numpy()
        t = events.t
        subset = events.subset(np.isin(events.code, codes) & (t > first - window_s) & (t <= last))
        per_row, calendar_rows = _window_stats(
            subset, all_points.filter(pl.col("at_s").is_between(first, last)), window_s, settings)
        # Rows of the rewritten partitions only: the subset's earlier tasks are there to fill the
        # windows (a night at 10M rows built twelve months of them to drop them again: 0.08 s).
        task_rows = subset.task_rows(per_row, settings.windows.trailing_days, np.flatnonzero(subset.t >= first))
    summary.partitions_written = (
        _update_groups(base, writer, ROLLING_EVENTS, affected, span, task_rows, no_tasks)
        + _update_groups(base, writer, ROLLING_CALENDAR, affected, span, calendar_rows, fresh))
    return summary


def _measured_range(base: Snapshot, new: pl.DataFrame, dirty: set[tuple[int, int]] | None) -> pl.Series:
    """The first and the last call time (UTC seconds) of the measured tasks after the run, among
    the ``new`` responses and the stored ones outside the ``dirty`` partitions (None: all are
    measured anew); empty when there are none. Of the stored ones only the end partitions are read
    (:func:`measured_call`; reading every stored call time took 0.16 s of a night at 10M rows)."""
    stored = [] if dirty is None else sorted(set(base.partitions("responses")) - dirty)
    t = pl.col("call_at").dt.epoch("s")
    ends = new.lazy().filter("is_measured").select(t.min().alias("first"), t.max().alias("last"))
    new_first, new_last = ends.collect().row(0)
    stored_first, stored_last = (measured_call(base, newest=newest, months=stored) for newest in (False, True))
    firsts = [v for v in (new_first, _epoch_s(stored_first)) if v is not None]
    lasts = [v for v in (new_last, _epoch_s(stored_last)) if v is not None]
    return pl.Series([min(firsts), max(lasts)] if firsts else [], dtype=pl.Int64)


def measured_call(snapshot: Snapshot, *, newest: bool, months: list[tuple[int, int]] | None = None) -> datetime | None:
    """The call time of the first (newest) measured task in the stored responses of ``months``
    (None: every partition). Responses are partitioned by the UTC month of the call, so the oldest
    (newest) partition with a measured task holds it: usually the first partition read (scanning
    every partition took 0.05 s at 4.3M incidents)."""
    call_at = pl.col("call_at").max() if newest else pl.col("call_at").min()
    for values in sorted(snapshot.partitions("responses") if months is None else months, reverse=newest):
        path = snapshot.partition_file("responses", values)
        found = pl.scan_parquet(path).filter("is_measured").select(call_at).collect().item() if path else None
        if found is not None:
            return found
    return None


def _epoch_s(moment: datetime | None) -> int | None:
    """UTC seconds of ``moment``, rounded down (as ``dt.epoch("s")``)."""
    return None if moment is None else (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(seconds=1)


def _responses(base: Snapshot, settings: Settings, months: set[tuple[int, int]] | None) -> pl.DataFrame:
    """The responses of the incidents in ``months`` (None: all), measured ``RESPONSE_BATCH_MONTHS``
    partitions a batch, ``RESPONSE_THREADS`` batches at once, in partition order."""
    wanted = sorted(base.partitions("incidents") if months is None else months)
    batches = [set(wanted[i:i + RESPONSE_BATCH_MONTHS]) for i in range(0, len(wanted), RESPONSE_BATCH_MONTHS)]
    with ThreadPoolExecutor(RESPONSE_THREADS, thread_name_prefix="valmius-responses") as pool:
        return pl.concat(list(pool.map(lambda batch: measure_responses(base, settings, batch).collect(),
                                       batches or [set()])))


_EVENT_COLUMNS = ["incident_id", "call_at", "response_s", "within_target", "risk_class", "municipality_code",
                  "station_id", "cell_id"]


def _counted(clean: pl.LazyFrame, new: pl.DataFrame, mode: str) -> MeasureSummary:
    """The run's counts over every response after it: the stored clean partitions and the new ones."""
    columns = ["is_measured", "no_response_reason"]
    both = pl.concat([clean.select(columns), new.lazy().select(columns)])
    totals = both.select(pl.len(), pl.col("is_measured").sum()).collect().row(0)
    reasons = (both.drop_nulls("no_response_reason").group_by("no_response_reason").len()
               .sort("len", descending=True).collect())
    return MeasureSummary(mode, incidents=totals[0], measured=int(totals[1] or 0),
                          no_response=dict(zip(reasons["no_response_reason"].to_list(), reasons["len"].to_list())))


@dataclass(frozen=True)
class _Events:
    """Measured tasks as the kernels read them: each task once per grouping it has a key in.

    Event row ``i`` is the task ``tasks[task[i]]`` in the group ``code[i]``. Codes number the
    (grouping, group_key) pairs densely in their sorted order; ``groups`` has one row per code, at
    its code. Event rows come grouping by grouping, each in call order (``blocks``: where each
    grouping's rows start, and the end). No text is repeated per event row: a full measure's 13M
    ``rolling_events`` rows are put together a month partition at a time, as they are written."""

    tasks: pl.DataFrame
    """The tasks in call order: incident_id, at (call time), t (UTC seconds), value (response time,
    s), within (within target), year, month (the UTC month partition of ``at``)."""
    task: np.ndarray
    code: np.ndarray
    groups: pl.DataFrame
    """grouping, group_key, code."""
    blocks: np.ndarray

    @property
    def t(self) -> np.ndarray:
        return self.tasks["t"].to_numpy()[self.task]

    def subset(self, keep: np.ndarray) -> _Events:
        """The event rows where ``keep`` (a mask) is true, in the same order."""
        kept = np.concatenate([[0], np.cumsum(keep)])
        return _Events(self.tasks, self.task[keep], self.code[keep], self.groups, kept[self.blocks])

    def kernel_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """values, times (s), group codes and within target per event row. A task whose class has
        no target (no risk class) counts as not within it."""
        within = self.tasks["within"].fill_null(False).to_numpy()
        return self.tasks["value"].to_numpy()[self.task], self.t, self.code, within[self.task]

    def task_rows(self, per_row: dict[str, np.ndarray] | None, window_days: int,
                  rows: np.ndarray | None = None) -> pl.DataFrame:
        """``rolling_events`` rows (with year and month) of the event rows ``rows`` (all when None),
        with the kernels' statistics ``per_row`` (one value per event row; None: no rows)."""
        if per_row is None:
            per_row, rows = _no_stats(), np.zeros(0, dtype=np.int64)
        task = self.task if rows is None else self.task[rows]
        code = self.code if rows is None else self.code[rows]
        return pl.concat([
            self.groups.select("grouping", "group_key")[code],
            self.tasks.select("incident_id", "at", "year", "month")[task],
        ], how="horizontal").with_columns(
            window_days=pl.lit(window_days, pl.Int32),
            **{column: _nullable(per_row[key] if rows is None else per_row[key][rows]) for key, column in STATS.items()},
        )

    def task_rows_by_partition(self, per_row: dict[str, np.ndarray], window_days: int) -> Partitions:
        """:meth:`task_rows` of every event row, a month partition at a time, each partition's rows
        grouping by grouping in call order.

        Each partition is an Arrow table whose text columns are dictionaries: the groupings, the
        group keys and the partition's incident ids, indexed by the event rows' codes and tasks. No
        text is gathered per row, nor hashed again by the Parquet writer: three alternating rounds
        of a full measure at 10M rows, 10.5-12.5 -> 10.0-11.1 s (user CPU 14.1-16.8 -> 13.2-14.4 s)."""
        names = pa.array(sorted(GROUPINGS))
        grouping_of_code = np.searchsorted(names.to_numpy(zero_copy_only=False),
                                           self.groups["grouping"].to_numpy()).astype(np.int32)
        keys, ids = self.groups["group_key"].to_arrow(), self.tasks["incident_id"]
        at = self.tasks["at"].to_physical().to_numpy()

        def partition_table(first: int, end: int) -> pa.Table:  # the event rows of the tasks first..end-1
            rows = np.concatenate([start + np.arange(*np.searchsorted(self.task[start:stop], [first, end]))
                                   for start, stop in zip(self.blocks[:-1], self.blocks[1:])])
            task, code = self.task[rows], self.code[rows]
            columns = {
                "grouping": pa.DictionaryArray.from_arrays(grouping_of_code[code], names),
                "group_key": pa.DictionaryArray.from_arrays(code.astype(np.int32), keys),
                "incident_id": pa.DictionaryArray.from_arrays((task - first).astype(np.int32),
                                                              ids.slice(first, end - first).to_arrow()),
                "at": pa.array(at[task], pa.timestamp("us", "UTC")),
                "window_days": pa.array(np.full(rows.size, window_days, dtype=np.int32)),
                **{column: pa.array(per_row[key][rows], from_pandas=True) for key, column in STATS.items()},
            }
            return pa.table({name: columns[name] for name in ROLLING_EVENTS.schema})

        return {values: (lambda first=first, end=end: partition_table(first, end))
                for values, first, end in _month_runs(self.tasks)}


def _no_stats() -> dict[str, np.ndarray]:
    return {key: np.zeros(0, dtype=np.int64 if key == "count" else np.float64) for key in STATS}


def _events(responses: pl.DataFrame) -> _Events:
    """The measured tasks of ``responses`` (with ``_EVENT_COLUMNS``) as :class:`_Events`. The group
    keys are numbered where they are and only the codes put in call order (sorting the whole frame
    first copied its four key columns of text: 10M full measure, 0.60 -> 0.28 GB of fresh memory)."""
    order = responses["call_at"].arg_sort().to_numpy()
    n = responses.height
    task_parts, code_parts, group_parts, blocks = [], [], [], [0]
    for grouping, column in sorted(GROUPINGS.items()):
        offset = sum(g.height for g in group_parts)
        if column is None:
            rows, keys = np.arange(n), pl.Series("group_key", ["all"] if n else [], dtype=pl.String)
            code = np.zeros(n, dtype=np.int64)
        else:
            key = responses[column].alias("group_key")
            keys = key.drop_nulls().unique().sort()
            numbered = pl.DataFrame({"group_key": keys, "code": np.arange(keys.len(), dtype=np.int64)})
            code = key.to_frame().join(numbered, on="group_key", how="left", maintain_order="left")["code"]
            present = code.is_not_null().to_numpy()[order]
            rows = np.arange(n) if present.all() else np.flatnonzero(present)
            code = code.fill_null(0).to_numpy()[order][rows]
        task_parts.append(rows)
        code_parts.append(code + offset)
        group_parts.append(pl.DataFrame({"grouping": pl.Series([grouping] * keys.len(), dtype=pl.String),
                                         "group_key": keys,
                                         "code": np.arange(offset, offset + keys.len(), dtype=np.int64)}))
        blocks.append(blocks[-1] + rows.size)
    tasks = responses.select(
        "incident_id", at="call_at", t=pl.col("call_at").dt.epoch("us") // _US,
        value=pl.col("response_s").cast(pl.Float64), within="within_target",
        year=pl.col("call_at").dt.year().cast(pl.Int32), month=pl.col("call_at").dt.month().cast(pl.Int32))[order]
    return _Events(tasks, np.concatenate(task_parts).astype(np.int64), np.concatenate(code_parts),
                   pl.concat(group_parts), np.array(blocks, dtype=np.int64))


def _window_stats(events: _Events, points: pl.DataFrame, window_s: int, settings: Settings, *,
                  per_task: bool = True) -> tuple[dict[str, np.ndarray] | None, pl.DataFrame]:
    """From one sweep of the kernels: the statistics of the window ending at every event row (None
    unless ``per_task``) and the ``rolling_calendar`` rows at ``points`` (from :func:`calendar_points`)."""
    calendar_rows = pl.DataFrame(schema={c.name: c.dtype for c in ROLLING_CALENDAR.columns})
    if events.code.size == 0 or (points.height == 0 and not per_task):
        return _no_stats() if per_task else None, calendar_rows
    values, times, codes, within = events.kernel_inputs()
    inputs = (values, times, codes, window_s, points["at_s"].to_numpy())
    options = {"within_target": within, "level": settings.windows.ci_level}
    per_row = None
    if per_task:
        per_row, at = rolling_stats_both(*inputs, **options)
    else:
        at = rolling_stats_at(*inputs, **options)
    if points.height:
        kept = np.flatnonzero(at["count"] > 0)  # most (group, point) pairs of a small group have empty windows
        frame = pl.DataFrame({"code": np.asarray(at["group"], dtype=np.int64)[kept],
                              "at_s": np.asarray(at["at"], dtype=np.int64)[kept],
                              **{column: _nullable(at[key][kept]) for key, column in STATS.items()}})
        frame = (frame.join(events.groups, on="code", how="left").join(points, on="at_s", how="left")
                 .with_columns(window_days=pl.lit(settings.windows.trailing_days, pl.Int32),
                               count=pl.col("count").cast(pl.Int64)))
        calendar_rows = _with_partition(frame).select(calendar_rows.columns)
    return per_row, calendar_rows


def _nullable(values: np.ndarray) -> pl.Series:
    """Kernel output as a column: NaN (no value in the window) becomes null in the lake."""
    series = pl.Series(np.asarray(values))
    return series.fill_nan(None) if series.dtype.is_float() else series


def _with_partition(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(year=pl.col("at").dt.year().cast(pl.Int32), month=pl.col("at").dt.month().cast(pl.Int32))


def calendar_points(times_s: pl.Series, every: str, zone: str) -> pl.DataFrame:
    """Local calendar periods covering ``times_s`` (UTC seconds): ``period_start``, ``at`` (its last
    second) as UTC timestamps and ``at_s`` (seconds). Days and months follow local midnight; weeks
    start on Monday."""
    schema = {"period_start": UTC_TIME, "at": UTC_TIME, "at_s": pl.Int64}
    if times_s.len() == 0:
        return pl.DataFrame(schema=schema)
    tz = ZoneInfo(zone)
    first = datetime.fromtimestamp(int(times_s.min()), tz).date()
    last = datetime.fromtimestamp(int(times_s.max()), tz).date()
    if every == "week":
        first -= timedelta(days=first.weekday())
    elif every == "month":
        first = first.replace(day=1)
    # Period boundaries from the first period's start to past the last period's end (a month at most).
    boundaries = calendar(first, last + timedelta(days=32), every, zone).astype("int64")
    periods = int(np.searchsorted(boundaries, int(times_s.max()), side="right"))
    starts, ends = boundaries[:periods], boundaries[1:periods + 1] - 1
    return pl.DataFrame({"period_start": starts * _US, "at": ends * _US, "at_s": ends}).with_columns(
        pl.col("period_start", "at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def _partitions(frame: pl.DataFrame) -> set[tuple[int, int]]:
    if frame.height == 0:
        return set()
    return set(frame.select("year", "month").unique().iter_rows())


def _lazy(frame: pl.DataFrame) -> Partitions:
    return {values: (lambda part=part: part) for values, part in _by_partition(frame).items()}


def _write_changed_partitions(writer: SnapshotWriter, table: Table, old_partitions: set[tuple[int, int]],
                              new: Partitions, only: set[tuple[int, int]] | None) -> int:
    """Write the ``new`` partitions (all, or ``only``); stored partitions left empty are removed."""
    wanted = (old_partitions | set(new)) if only is None else only
    empty = pl.DataFrame()
    with ThreadPoolExecutor(WRITE_THREADS) as pool:  # Parquet writing releases the GIL
        list(pool.map(lambda values: writer.write_partition(table.name, values, new[values]() if values in new else empty),
                      sorted(wanted)))
    return len(wanted)


def _by_partition(frame: pl.DataFrame) -> dict[tuple[int, int], pl.DataFrame]:
    """``frame``'s rows per (year, month): slices without copying when each partition's rows come
    together (as :func:`_responses` gives them), else grouped."""
    months = _months_of(frame)
    starts = _run_starts(months)
    if starts.size > np.unique(months).size:  # a partition in several runs (rolling_calendar: by group)
        return frame.partition_by(["year", "month"], as_dict=True)
    return {values: frame.slice(first, end - first) for values, first, end in _runs(months, starts)}


def _month_runs(frame: pl.DataFrame) -> list[tuple[tuple[int, int], int, int]]:
    """Each run of consecutive rows of one (year, month): (partition, first row, end)."""
    months = _months_of(frame)
    return _runs(months, _run_starts(months))


def _months_of(frame: pl.DataFrame) -> np.ndarray:
    """Each row's partition as one number, year * 12 + month - 1."""
    return frame["year"].to_numpy().astype(np.int64) * 12 + frame["month"].to_numpy() - 1


def _run_starts(months: np.ndarray) -> np.ndarray:
    """Where each run of equal ``months`` begins."""
    return np.flatnonzero(np.r_[months.size > 0, months[1:] != months[:-1]])


def _runs(months: np.ndarray, starts: np.ndarray) -> list[tuple[tuple[int, int], int, int]]:
    bounds = [*starts.tolist(), months.size]
    return [((int(months[a]) // 12, int(months[a]) % 12 + 1), a, b) for a, b in zip(bounds, bounds[1:])]


def _month_bounds(span: tuple[int, int]) -> tuple[int, int]:
    """First second of the first (UTC) month partition of ``span``, last second of its last one."""
    months = sorted(_months(span))
    first = datetime(*months[0], 1, tzinfo=timezone.utc)
    year, month = months[-1]
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
    return int(first.timestamp()), int(after.timestamp()) - 1


def _months(span: tuple[int, int] | None) -> set[tuple[int, int]]:
    """(year, month) partitions from the first to the last second of ``span`` (UTC seconds)."""
    return set() if span is None else set(utc_months(*span))


def _update_groups(base: Snapshot, writer: SnapshotWriter, table: Table, affected: pl.DataFrame,
                   span: tuple[int, int] | None, recomputed: pl.DataFrame, fresh: pl.DataFrame) -> int:
    """Rewrite the partitions a change can reach: in those from the first changed call time to one
    window after the last, the affected groups' rows are replaced by ``recomputed``; ``fresh`` rows
    (calendar points that did not exist before, every group) are added wherever they fall."""
    keys = ["grouping", "group_key"]
    in_span = _months(span)
    months = pl.DataFrame(sorted(in_span), schema={"year": pl.Int32, "month": pl.Int32}, orient="row")
    recomputed = recomputed.join(months, on=["year", "month"], how="semi")
    fresh = fresh.join(recomputed.select(*keys, "at"), on=[*keys, "at"], how="anti")
    inserts = pl.concat([recomputed, fresh.select(recomputed.columns)])
    by_partition = _by_partition(inserts)
    wanted = in_span | set(by_partition)
    for values in sorted(wanted):
        old = base.read_partition(table.name, values).with_columns(
            year=pl.lit(values[0], pl.Int32), month=pl.lit(values[1], pl.Int32))
        if values in in_span:
            old = old.join(affected, on=keys, how="anti")
        part = by_partition.get(values)
        frame = old if part is None else pl.concat([old, part.select(old.columns)])
        writer.write_partition(table.name, values, frame.sort(*keys, "at"))
    return len(wanted)
