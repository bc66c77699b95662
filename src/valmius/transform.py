"""Validate and normalise one batch of text rows into stored rows and quarantined rows.

Rejected (quarantined, with file, line, column and reason):
missing ids, call time or urgency; timestamps that do not parse, name no real time, fall in the
skipped spring hour or in the repeated autumn hour when the row's order cannot tell which; unknown
urgency; coordinates that are not numbers; a status time later than the run itself (more than
``validation.max_future_s``: a clock or typing error, such as a mistyped year, that would otherwise
carry the rolling calendar and the flags' window into the future) or before
``validation.first_year`` (a mistyped year that would make the lake seem to hold every year since);
a status time earlier than the one before it; a gap longer than the validation limits.

Kept and marked: a unit that never arrived, a zero-second interval, a missing location, a location
outside the grid's extent.
"""

from __future__ import annotations

import functools
import json
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa

from valmius.columns import QUARANTINE_REASONS, UTC_TIME
from valmius.extract import SourceFile
from valmius.kernels import timestamps as ts
from valmius.kernels.text import decimals, null_markers
from valmius.mapping import TEXT_COLUMNS, TIME_COLUMNS, ColumnSource
from valmius.settings import Settings

_CODES = list(QUARANTINE_REASONS)  # in the order they are checked: a row gets the first that applies
_STATUS_REASON = {ts.UNPARSEABLE: "bad_timestamp", ts.IMPOSSIBLE: "impossible_timestamp",
                  ts.NONEXISTENT: "nonexistent_local_time", ts.AMBIGUOUS: "ambiguous_local_time"}


def transform_batch(
    batch: pa.RecordBatch, lines: np.ndarray, source: SourceFile, settings: Settings, run_started_s: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(stored rows, rejected rows) of one batch. Stored rows are wide: unit and incident columns,
    but for the file's own (``source_file``, ``file_seq``: one value per file, added when staged
    rows are read back, see ``valmius.store.Staging``). A status time later than ``run_started_s``
    (UTC seconds) by more than ``validation.max_future_s`` is rejected: every batch of a run is
    judged by the same clock."""
    mapping = source.mapping
    n = batch.num_rows
    sources = {mapping.columns[key].column for key in TEXT_COLUMNS if key in mapping.columns} & set(batch.schema.names)
    as_polars = pl.from_arrow(batch.select(sorted(sources)))  # one call: a call per column holds the GIL twice as long
    assert isinstance(as_polars, pl.DataFrame)
    text = _pad_municipality_codes(pl.DataFrame(
        [_text_column(batch, as_polars, key, mapping.columns.get(key), mapping.null_values, source.absent_columns)
         for key in TEXT_COLUMNS]
    ))

    seconds, status = _parse_times(batch, source)
    x_m, y_m, coord_bad = _coordinates(batch, source, settings)

    reason = np.full(n, -1, dtype=np.int16)
    column = np.full(n, -1, dtype=np.int16)  # index into FAULT_COLUMNS
    detail = np.zeros(n, dtype=np.int64)

    def flag(mask: np.ndarray, code: str, col: int) -> None:
        hit = mask & (reason < 0)
        reason[hit] = _CODES.index(code)
        column[hit] = col

    for key in ("incident_id", "unit_id"):
        flag(text[key].is_null().to_numpy(), "missing_value", FAULT_COLUMNS.index(key))
    for j, key in enumerate(TIME_COLUMNS):
        for st, code in _STATUS_REASON.items():
            flag(status[:, j] == st, code, FAULT_COLUMNS.index(key))
    flag(status[:, 0] == ts.MISSING, "missing_value", FAULT_COLUMNS.index("call_at"))
    urgency = text["urgency"]
    flag(urgency.is_null().to_numpy(), "missing_value", FAULT_COLUMNS.index("urgency"))
    known = set(mapping.urgent) | set(mapping.non_urgent) | set(settings.counting.urgent_classes)
    flag(~urgency.is_in(list(known)).fill_null(True).to_numpy(), "unknown_urgency", FAULT_COLUMNS.index("urgency"))
    flag(coord_bad, "bad_coordinate", FAULT_COLUMNS.index("coordinates"))
    _check_year_range(seconds, status, settings, run_started_s, flag, detail, reason)
    zero = _check_intervals(seconds, status, settings, flag, detail, reason)

    good = reason < 0
    urgent_classes = settings.counting.urgent_classes or list(mapping.urgent)
    extent = settings.grid.extent_m
    times = {key: _utc(seconds[:, j], status[:, j]) for j, key in enumerate(TIME_COLUMNS)}
    stored = text.with_columns(
        **times,
        x_m=pl.Series(x_m, nan_to_null=True),
        y_m=pl.Series(y_m, nan_to_null=True),
        source_row=pl.Series(lines, dtype=pl.Int64),
    ).with_columns(
        is_urgent=pl.col("urgency").is_in(urgent_classes).fill_null(False),
        is_outside_extent=(
            (pl.col("x_m") < extent[0]) | (pl.col("y_m") < extent[1]) | (pl.col("x_m") > extent[2]) | (pl.col("y_m") > extent[3])
        ).fill_null(False),
        never_arrived=pl.col("alarm_at").is_not_null() & pl.col("on_scene_at").is_null(),
        has_zero_interval=pl.Series(zero),
    )
    valid = stored if good.all() else stored.filter(pl.Series(good))
    rejected = _rejected_rows(batch, text, lines, reason, column, detail, seconds, source, settings)
    return valid, rejected


FAULT_COLUMNS = (*TEXT_COLUMNS, *TIME_COLUMNS, "coordinates")


def _text_column(batch: pa.RecordBatch, as_polars: pl.DataFrame, key: str, src: ColumnSource | None,
                 null_values: tuple[str, ...], absent: list[str]) -> pl.Series:
    """A stored text column: the source's text stripped of white space, null values made null."""
    if src is None or src.column in absent:
        return pl.repeat(None, batch.num_rows, dtype=pl.String, eager=True).alias(key)
    if src.value is not None:
        return pl.repeat(src.value, batch.num_rows, dtype=pl.String, eager=True).alias(key)
    array = batch.column(src.column)  # type: ignore[arg-type]
    if not src.pattern:
        # Usually no value has white space to strip: the null values are found in Arrow's buffer
        # and the text is taken over as it is.
        markers = null_markers(array, null_values)
        if markers is not None:
            series = as_polars[src.column].alias(key)
            return series.set(pl.Series(markers), None) if markers.any() else series
    text = as_polars[src.column].alias(key).str.strip_chars()
    if src.pattern:
        text = text.str.extract(src.pattern, 1)
    return text.set(text.is_in(list(null_values)).fill_null(False), None)


def _arrow_positions(positions: np.ndarray) -> pa.Array:
    """Row positions as an Arrow array, built on the buffer (``pa.array`` would import pandas to look
    at the type, a third of a second in a fresh process)."""
    positions = np.ascontiguousarray(positions, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(positions), [None, pa.py_buffer(positions)])


def _polars(array: pa.Array, name: str) -> pl.Series:
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series.alias(name)


def _pad_municipality_codes(text: pl.DataFrame) -> pl.DataFrame:
    """Finnish codes are three digits: 92 and 092 are both Vantaa."""
    code = pl.col("municipality_code")
    # Only codes shorter than three characters can change; most exports have none, so look first.
    if not text.select((code.str.len_bytes() < 3).any()).item():
        return text
    return text.with_columns(pl.when(code.str.contains(r"^\d{1,3}$")).then(code.str.zfill(3)).otherwise(code))


def _parse_times(batch: pa.RecordBatch, source: SourceFile) -> tuple[np.ndarray, np.ndarray]:
    """UTC seconds and status, shape (rows, 5), in TIME_COLUMNS order, repeated-hour values resolved."""
    mapping = source.mapping
    pattern = ts.compile_format(mapping.timestamp_format)
    early, late, status = _time_scratch(batch.num_rows)
    for j, key in enumerate(TIME_COLUMNS):
        src = mapping.columns.get(key)
        if src is None or src.column is None or src.column in source.absent_columns:
            early[:, j], late[:, j], status[:, j] = 0, 0, ts.MISSING
            continue
        array = batch.column(src.column)
        if src.pattern:
            array = _polars(array, src.column).str.extract(src.pattern, 1).to_arrow()
        st = status[:, j]
        ts.parse_to_utc(array, pattern, mapping.time_zone, out=(early[:, j], late[:, j], st))
        unparsed = st == ts.UNPARSEABLE
        if len(mapping.null_values) > 1 and unparsed.any():  # a null value other than empty text: MISSING
            markers = null_markers(array, mapping.null_values)  # in the buffer: no Polars calls under the GIL
            if markers is not None:
                st[unparsed & markers] = ts.MISSING
                continue
            positions = np.flatnonzero(unparsed)  # some value has white space to strip
            values = _polars(array.take(_arrow_positions(positions)), src.column).str.strip_chars()
            st[positions[values.is_in(list(mapping.null_values)).to_numpy()]] = ts.MISSING
    if (status == ts.AMBIGUOUS).any():
        ts.resolve_repeated_hour(early, late, status)
    return early, status


_scratch = threading.local()


def _time_scratch(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(early, late, status) arrays of shape (rows, 5) for :func:`_parse_times`, column-major (each
    time column is one contiguous array the kernels write into) and reused by the next batch of the
    same thread: they never leave ``transform_batch``. Fresh arrays for each batch cost 7 MB of new
    pages per 84,000 rows, and new pages are what costs most on a virtual machine."""
    k = len(TIME_COLUMNS)
    arrays = getattr(_scratch, "times", None)
    if arrays is None or arrays[0].shape[1] < rows:
        arrays = (np.empty((k, rows), dtype=np.int64), np.empty((k, rows), dtype=np.int64), np.empty((k, rows), dtype=np.int8))
        _scratch.times = arrays
    early, late, status = (a[:, :rows].T for a in arrays)
    return early, late, status


def _check_year_range(seconds: np.ndarray, status: np.ndarray, settings: Settings, run_started_s: int,
                      flag, detail, reason) -> None:
    """Flag status times more than ``validation.max_future_s`` after the run's start (``detail``:
    how far) or before 1 January of ``validation.first_year``, local time."""
    first_s = int(datetime(settings.validation.first_year, 1, 1, tzinfo=ZoneInfo(settings.time.zone)).timestamp())
    for j, key in enumerate(TIME_COLUMNS):
        present = status[:, j] == ts.OK
        future = present & (seconds[:, j] > run_started_s + settings.validation.max_future_s)
        if future.any():
            fresh = future & (reason < 0)
            detail[fresh] = seconds[fresh, j] - run_started_s
            flag(future, "future_timestamp", FAULT_COLUMNS.index(key))
        early = present & (seconds[:, j] < first_s)
        if early.any():
            flag(early, "early_timestamp", FAULT_COLUMNS.index(key))


def _check_intervals(seconds: np.ndarray, status: np.ndarray, settings: Settings, flag, detail, reason) -> np.ndarray:
    """Flag negative and implausible gaps between consecutive present times; return zero-gap marks."""
    present = status == ts.OK
    limits = [settings.validation.max_interval_s] * 3 + [settings.validation.max_task_duration_s]
    prev = seconds[:, 0].copy()
    prev_ok = present[:, 0].copy()
    zero = np.zeros(len(seconds), dtype=bool)
    for j in range(1, len(TIME_COLUMNS)):
        both = prev_ok & present[:, j]
        gap = seconds[:, j] - prev
        col = FAULT_COLUMNS.index(TIME_COLUMNS[j])
        for mask, code in ((both & (gap < 0), "negative_interval"), (both & (gap > limits[j - 1]), "implausible_interval")):
            fresh = mask & (reason < 0)
            detail[fresh] = gap[fresh]
            flag(mask, code, col)
        zero |= both & (gap == 0)
        prev = np.where(present[:, j], seconds[:, j], prev)
        prev_ok |= present[:, j]
    return zero


def _utc(seconds: np.ndarray, status: np.ndarray) -> pl.Series:
    # Built from buffers: a validity bitmap and the microseconds, no per-value conversion.
    valid = np.packbits(status == ts.OK, bitorder="little")
    micros = seconds * 1_000_000
    array = pa.Array.from_buffers(pa.timestamp("us", tz="UTC"), len(micros), [pa.py_buffer(valid), pa.py_buffer(micros)])
    return pl.Series(array).cast(UTC_TIME)


@functools.lru_cache(maxsize=16)
def _transformer(source_crs: str, grid_crs: str):
    from pyproj import Transformer  # imported when an export needs it: most give grid coordinates

    return Transformer.from_crs(source_crs, grid_crs, always_xy=True)


def _coordinates(batch: pa.RecordBatch, source: SourceFile, settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x_m, y_m, is_bad) in the grid's coordinate system; missing values are NaN and not bad."""
    n = batch.num_rows
    option = source.coordinates
    if option is None:
        nan = np.full(n, np.nan)
        return nan, nan.copy(), np.zeros(n, dtype=bool)
    nulls = list(source.mapping.null_values)
    if option.point:
        text = _polars(batch.column(option.point), option.point).str.strip_chars()
        parts = text.str.extract_groups(r"^\(?\s*([-+0-9.eE]+)\s*[,; ]\s*([-+0-9.eE]+)\s*\)?$")
        first, second = parts.struct.field("1"), parts.struct.field("2")
        a, b = (first, second) if option.point_order == "xy" else (second, first)
        missing = text.is_in(nulls).fill_null(True)
        bad = (first.is_null() & ~missing).to_numpy()
        x = a.cast(pl.Float64, strict=False).to_numpy()
        y = b.cast(pl.Float64, strict=False).to_numpy()
    else:
        cols = []
        bad = np.zeros(n, dtype=bool)
        # Usually every value is a plain number or a null marker, read straight from Arrow's buffer
        # (unless a marker holds the decimal comma, which the plain way turns into a point first).
        fast = not (source.mapping.decimal == "," and any("," in v for v in nulls))
        for name in (option.x, option.y):
            numbers = decimals(batch.column(name), source.mapping.decimal, tuple(nulls)) if fast else None
            if numbers is not None:
                cols.append(numbers)
                continue
            text = _polars(batch.column(name), name).str.strip_chars()  # type: ignore[arg-type]
            if source.mapping.decimal == ",":
                text = text.str.replace(",", ".", literal=True)
            number = text.cast(pl.Float64, strict=False)
            missing = text.is_in(nulls).fill_null(True)
            bad |= (number.is_null() & ~missing).to_numpy()
            cols.append(number.to_numpy())
        x, y = cols
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    bad |= ~np.isfinite(x) & ~np.isnan(x) | ~np.isfinite(y) & ~np.isnan(y)
    if option.crs != "grid" and option.crs != settings.grid.crs:
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            tx, ty = _transformer(option.crs, settings.grid.crs).transform(x[ok], y[ok])
            x, y = x.copy(), y.copy()
            x[ok], y[ok] = tx, ty
    # Points the projection cannot place (inf) are kept without a location.
    x = np.where(np.isfinite(x), x, np.nan)
    y = np.where(np.isfinite(y), y, np.nan)
    return x, y, bad


def _rejected_rows(batch: pa.RecordBatch, text, lines, reason, column, detail, seconds, source: SourceFile,
                   settings: Settings) -> pl.DataFrame:
    bad = np.flatnonzero(reason >= 0)
    if len(bad) == 0:
        return empty_rejected()
    raw_bad = pl.from_arrow(batch.take(_arrow_positions(bad)))
    assert isinstance(raw_bad, pl.DataFrame)
    raw_json = raw_bad.select(pl.struct(pl.all()).struct.json_encode()).to_series().to_list()
    ids = text[bad]
    incident_ids, unit_ids = ids["incident_id"].to_list(), ids["unit_id"].to_list()
    in_raw = set(raw_bad.columns)
    values: dict[str, list] = {}  # source column -> its values in the bad rows, read once

    def value_at(name: str, k: int):
        if name not in values:
            values[name] = raw_bad.get_column(name).to_list()
        return values[name][k]

    # Built column by column: a frame from a list of row dicts costs more than the messages.
    source_columns, reason_codes, messages = [], [], []
    for k, (i, code_index, column_index) in enumerate(zip(bad.tolist(), reason[bad].tolist(), column[bad].tolist())):
        code = _CODES[code_index]
        key = FAULT_COLUMNS[column_index]
        src_col = _source_column(source, key)
        if key == "coordinates" and source.coordinates is not None:
            value = ", ".join(str(value_at(c, k)) for c in source.coordinates.source_columns if c)
        else:
            value = value_at(src_col, k) if src_col in in_raw else None
        source_columns.append(src_col)
        reason_codes.append(code)
        messages.append(_message(code, key, src_col, value, int(detail[i]), seconds[i], source, settings))
    return pl.DataFrame({
        "source_file": [source.path.name] * len(bad), "source_row": lines[bad], "column": source_columns,
        "reason_code": reason_codes, "reason": messages, "incident_id": incident_ids, "unit_id": unit_ids,
        "raw_row": raw_json,
    }, schema=REJECTED_SCHEMA)


REJECTED_SCHEMA = {"source_file": pl.String, "source_row": pl.Int64, "column": pl.String, "reason_code": pl.String,
                   "reason": pl.String, "incident_id": pl.String, "unit_id": pl.String, "raw_row": pl.String}


def empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTED_SCHEMA)


def malformed_rows(source: SourceFile) -> pl.DataFrame:
    """Rows the CSV reader could not split into the header's number of fields."""
    rows = [{
        "source_file": source.path.name, "source_row": m.line, "column": None, "reason_code": "malformed_row",
        "reason": f"line has {m.fields} fields, the header has {m.expected} (a truncated or broken row)",
        "incident_id": None, "unit_id": None, "raw_row": json.dumps(m.text, ensure_ascii=False),
    } for m in source.malformed]
    return pl.DataFrame(rows, schema=REJECTED_SCHEMA) if rows else empty_rejected()


def _source_column(source: SourceFile, key: str) -> str:
    if key == "coordinates":
        option = source.coordinates
        return ", ".join(c for c in option.source_columns if c) if option else "coordinates"
    src = source.mapping.columns.get(key)
    return src.column if src is not None and src.column else key


def _message(code, key, src_col, value, gap_s, row_seconds, source: SourceFile, settings: Settings) -> str:
    mapping = source.mapping
    shown = repr(value) if value is not None else "empty"
    if code == "missing_value":
        return f"{src_col} is empty; {key} is required"
    if code == "bad_timestamp":
        return f"{src_col} {shown} does not match the timestamp format {mapping.timestamp_format!r}"
    if code == "impossible_timestamp":
        return f"{src_col} {shown} is not a real date and time"
    if code == "nonexistent_local_time":
        return f"{src_col} {shown} does not exist in {mapping.time_zone}: clocks skip that hour in spring"
    if code == "ambiguous_local_time":
        return (f"{src_col} {shown} occurs twice in {mapping.time_zone} (clocks go back in autumn) "
                "and the row's other times do not tell which")
    if code == "unknown_urgency":
        known = ", ".join([*mapping.urgent, *mapping.non_urgent])
        return f"{src_col} {shown} is not a known urgency; the mapping knows {known}"
    if code == "bad_coordinate":
        return f"{src_col}: {shown} is not a coordinate pair of numbers"
    if code == "early_timestamp":
        return (f"{src_col} {shown} is before {settings.validation.first_year}, the first year of records "
                "(validation.first_year): a mistyped year?")
    if code == "future_timestamp":
        return (f"{src_col} {shown} is {gap_s} s after the time of this run; a status time cannot be later "
                f"than the export (the limit validation.max_future_s is {settings.validation.max_future_s} s)")
    j = TIME_COLUMNS.index(key)
    before = [TIME_COLUMNS[i] for i in range(j - 1, -1, -1) if row_seconds[i] == row_seconds[j] - gap_s]
    prev_col = _source_column(source, before[0]) if before else "the previous status time"
    if code == "negative_interval":
        return f"{src_col} {shown} is {-gap_s} s before {prev_col}"
    limit = "validation.max_task_duration_s" if key == "free_at" else "validation.max_interval_s"
    limit_s = getattr(settings.validation, limit.split(".")[1])
    return f"{src_col} {shown} is {gap_s} s after {prev_col}; the limit {limit} is {limit_s} s"
