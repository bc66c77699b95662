"""Store stage: stage a run's valid rows, then merge them into the partitions they touch.

Rules of the merge:
- an incident lives in the partition (year, month, UTC) of its call time in its newest export,
  and all its unit rows live with it, so a correction that moves the call to another month moves
  the incident and its units;
- for each (incident, unit) the row from the newest export wins (a later line wins within one
  file); the rows it replaces are returned for quarantine as ``superseded`` (values changed) or
  ``duplicate`` (same values), each judged against the next newer row, the one that replaced it,
  on the unit's values and its incident's (urgency, task type, municipality, place: a stored row
  has those of its stored incident), which the quarantined row keeps in ``raw_row``;
- the incident row is the first row of the incident's newest export.

Staged rows stay in memory up to a budget and beyond it are Arrow IPC files (fast to write and map
back) inside the run's new snapshot, so an interrupted run leaves nothing behind in the lake.
"""

from __future__ import annotations

import bisect
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc  # noqa: F401  (pa.ipc)
import pyarrow.parquet as pq

from valmius.columns import INCIDENTS, UNITS
from valmius.kernels.key_order import order_units
from valmius.lake import Snapshot, SnapshotWriter, utc_months
from valmius.transform import empty_rejected

WIDE = list(dict.fromkeys([*UNITS.schema.names(), *INCIDENTS.schema.names()]))
"""Columns of a staged row: the unit's and its incident's."""
PER_FILE = {"source_file": pl.String, "file_seq": pl.Int64}
"""Columns with one value per file: staged pieces are kept without them (24 of about 120 bytes a
row); :meth:`Staging.add` is given the file's values, and the pieces get them back when read."""
STAGED = [name for name in WIDE if name not in PER_FILE]
COMPACT = ("unit_type", "station_id", "urgency", "task_type", "municipality_code")
"""Text columns with few distinct values: staged, merged and written as categorical codes (4 bytes
a row, where a string costs a 16-byte view and its text, and holds on to the batch's whole text
buffer; the stored rows of a partition are made categorical to merge with them). The Parquet writer
takes them as dictionaries: no text is made per row again, nor hashed by the writer (seven
alternating ingests of a 10M-row export, 12.8-13.0 -> 12.6-12.7 s in the calm ones). A mapping that
fills one of them with free text still works; its values then stay in Polars' global table of
categories until the process ends."""
MERGE_THREADS = 3
_US = 1_000_000
_UNIT_VALUES = [c for c in UNITS.schema.names() if c not in ("source_file", "source_row", "file_seq")]
_INCIDENT_VALUES = [c for c in INCIDENTS.schema.names() if c not in UNITS.schema.names()]
"""The incident's own values (urgency, task type, municipality, place), which every row of it repeats."""


def _part_keys(call_at: pl.Series) -> pl.Series:
    """Partition of each row's own call time (UTC) as one integer, year * 100 + month.

    Looked up among the month starts that the values span (a batch spans a month or two): at 10M
    rows 0.04 s of CPU, where ``dt.year()`` and ``dt.month()`` take 0.28 s."""
    micros = call_at.dt.epoch("us")
    if call_at.len() == 0 or call_at.null_count():
        return (call_at.dt.year() * 100 + call_at.dt.month()).cast(pl.Int32).alias("_part")
    months = utc_months(micros.min() // _US, micros.max() // _US)
    starts = np.array([int(datetime(y, m, 1, tzinfo=timezone.utc).timestamp()) * _US for y, m in months], dtype=np.int64)
    keys = np.array([y * 100 + m for y, m in months], dtype=np.int32)
    return pl.Series("_part", keys[np.searchsorted(starts, micros.to_numpy(), side="right") - 1])


def _batch_spread(incident_id: pl.Series, part: pl.Series) -> pl.DataFrame:
    """Lowest and highest partition of each incident in one batch (an incident may appear twice)."""
    frame = pl.DataFrame({"incident_id": incident_id, "p_min": part, "p_max": part})
    # An export lists an incident's units together; if no incident changes partition within its
    # run of rows, the first row of each run says it all and no hashing of ids is needed.
    new_run = (incident_id != incident_id.shift(1)).fill_null(True)
    new_part = (part != part.shift(1)).fill_null(True)
    if not (new_part & ~new_run).any():
        return frame.filter(new_run)
    return frame.group_by("incident_id").agg(pl.col("p_min").min(), pl.col("p_max").max())


MEMORY_BUDGET_BYTES = 1536 << 20
"""Staged rows are kept in memory up to about this size (as Polars estimates it; the process holds
about twice that), the rest go to Arrow IPC files. A 10M-row export stages 1.0 GB and fits. Measured
on that export (two rounds of three ingests each): with a 512 MB budget the process peaks at 1.7 GB
and takes 12.2-12.3 s, with all rows in memory at 2.2 GB and 11.7-12.2 s: writing the spill and
mapping it back costs more than the memory."""


class Staging:
    """Valid rows of a run by the partition of their own call time: in memory, then on disk."""

    def __init__(self, folder: Path, memory_budget: int | None = None) -> None:
        self.folder = folder
        self.memory_budget = MEMORY_BUDGET_BYTES if memory_budget is None else memory_budget
        self._spread: dict[int, dict[int, pl.DataFrame]] = {}
        self._file_names: dict[int, str] = {}
        self._in_memory: dict[tuple[int, str], pl.DataFrame] = {}
        self._memory_bytes = 0
        self._lock = threading.Lock()  # batches are staged from several threads
        self.schema: pl.Schema | None = None

    def add(self, file_seq: int, file_name: str, batch_index: int, rows: pl.DataFrame) -> None:
        """Stage one batch of valid rows of the file ``file_seq`` (named ``file_name``): wide rows
        without the file's own columns (``PER_FILE``; other columns are left out too)."""
        if rows.height == 0:
            return
        rows = rows.select(STAGED).with_columns(pl.col(COMPACT).cast(pl.Categorical))
        self.schema = pl.Schema({name: PER_FILE.get(name) or rows.schema[name] for name in WIDE})
        self._file_names[file_seq] = file_name
        part = _part_keys(rows["call_at"])
        self._spread.setdefault(file_seq, {})[batch_index] = _batch_spread(rows["incident_id"], part)
        if not part.is_sorted():  # months interleaved: sort once (stable: rows keep their file order)
            ordered = rows.with_columns(part).sort("_part", maintain_order=True)
            rows, part = ordered.drop("_part"), ordered["_part"]
        # Each partition's rows are one stretch now (usually the whole batch, in an export in call order).
        ends = [*(np.flatnonzero(np.diff(part.to_numpy())) + 1).tolist(), rows.height]
        start = 0
        for end in ends:
            self._keep(file_seq, batch_index, part[start], rows.slice(start, end - start))
            start = end

    def _keep(self, file_seq: int, batch_index: int, part: int, rows: pl.DataFrame) -> None:
        name = f"f{file_seq:06d}-b{batch_index:05d}"
        size = rows.estimated_size()
        with self._lock:
            in_memory = self._memory_bytes + size <= self.memory_budget
            if in_memory:
                self._memory_bytes += size
                self._in_memory[(part, name)] = rows
        if not in_memory:
            target = self.folder / f"p{part}" / f"{name}.arrow"
            target.parent.mkdir(parents=True, exist_ok=True)
            rows.write_ipc(target, compression="uncompressed", compat_level=pl.CompatLevel.newest())

    def _pieces(self, part: int | None = None) -> list[tuple[int, str, pl.DataFrame | Path]]:
        """(partition, name, rows or file) of every staged piece, in file and batch order."""
        with self._lock:
            pieces: list[tuple[int, str, pl.DataFrame | Path]] = [
                (p, name, rows) for (p, name), rows in self._in_memory.items() if part is None or p == part]
        files = self.folder.glob("p*/*.arrow" if part is None else f"p{part}/*.arrow")
        pieces += [(int(f.parent.name[1:]), f.stem, f) for f in files]
        return sorted(pieces, key=lambda piece: (piece[0], piece[1]))

    def _forget(self, keep_if) -> None:
        with self._lock:
            for key in [key for key in self._in_memory if not keep_if(key)]:
                self._memory_bytes -= self._in_memory.pop(key).estimated_size()

    def discard_file(self, file_seq: int) -> None:
        """Forget a file that failed part-way."""
        self._spread.pop(file_seq, None)
        prefix = f"f{file_seq:06d}-"
        self._forget(lambda key: not key[1].startswith(prefix))
        for path in self.folder.glob(f"p*/{prefix}*.arrow"):
            path.unlink()

    def spread(self) -> pl.DataFrame:
        """Per staged incident: the lowest and highest partition its rows fall in (in no set order)."""
        # In file order, whatever order the batches were staged in.
        parts = [frames[index] for _, frames in sorted(self._spread.items()) for index in sorted(frames)]
        if not parts:
            return pl.DataFrame(schema={"incident_id": pl.String, "p_min": pl.Int32, "p_max": pl.Int32})
        runs = pl.concat(parts)
        ids = runs["incident_id"].rechunk()  # comparing shifted Series of ~100 chunks is 15x slower
        if (ids >= ids.shift(1)).fill_null(True).all():
            # Ids rising (an export in id order): an incident's runs are neighbours (one batch ends
            # and the next begins with it). Only those few neighbours are combined.
            repeats = ids == ids.shift(1)
            joined = (repeats | repeats.shift(-1)).fill_null(False)
            if not joined.any():
                return runs
            combined = (runs.filter(joined).group_by("incident_id", maintain_order=True)
                        .agg(pl.col("p_min").min(), pl.col("p_max").max()))
            return pl.concat([runs.filter(~joined), combined])
        return runs.group_by("incident_id").agg(pl.col("p_min").min(), pl.col("p_max").max())

    def partition(self, part: int) -> pl.DataFrame:
        pieces = self._pieces(part)
        if not pieces:
            return pl.DataFrame(schema=self.schema)
        return pl.concat([self._load(name, rows) for _, name, rows in pieces])

    def scan_incidents(self, incident_ids: pl.Series) -> pl.DataFrame:
        """Every staged row of the given incidents (a small set: those that move)."""
        pieces = self._pieces()
        if not pieces or incident_ids.len() == 0:
            return pl.DataFrame(schema=self.schema).with_columns(_part=pl.lit(0, dtype=pl.Int32))
        wanted = incident_ids.unique().to_frame("incident_id")
        frames = []
        for part, name, rows in pieces:
            frame = self._load(name, rows).join(wanted, on="incident_id", how="semi")
            if frame.height:
                frames.append(frame.with_columns(_part=pl.lit(part, dtype=pl.Int32)))
        if not frames:
            return pl.DataFrame(schema=self.schema).with_columns(_part=pl.lit(0, dtype=pl.Int32))
        return pl.concat(frames)

    def release(self, part: int) -> None:
        """Drop a partition's staged rows once they are merged (freeing memory and disk early)."""
        self._forget(lambda key: key[0] != part)
        shutil.rmtree(self.folder / f"p{part}", ignore_errors=True)

    def remove(self) -> None:
        self._forget(lambda key: False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _load(self, name: str, rows: pl.DataFrame | Path) -> pl.DataFrame:
        """A staged piece with its file's columns back, in ``WIDE`` order."""
        frame = rows if isinstance(rows, pl.DataFrame) else _read_staged(rows)
        file_seq = int(name.split("-")[0][1:])  # f{file_seq:06d}-b{batch:05d}
        return frame.with_columns(
            source_file=pl.lit(self._file_names[file_seq], dtype=pl.String),
            file_seq=pl.lit(file_seq, dtype=pl.Int64),
        ).select(WIDE)


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``COMPACT`` columns categorical, as staged rows have them."""
    return frame.with_columns(pl.col(name).cast(pl.Categorical) for name in COMPACT if name in frame.columns)


def _read_staged(path: Path) -> pl.DataFrame:
    # Memory-mapped through Arrow, no copy (pl.read_ipc copies every column); the map lives as long
    # as the frame's buffers do.
    return pl.DataFrame(pa.ipc.open_file(pa.memory_map(str(path))).read_all())


@dataclass
class MergeResult:
    replaced: pl.DataFrame
    """Replaced unit rows, as quarantine rows."""
    incidents_touched: int
    partitions_written: int


def merge(base: Snapshot, writer: SnapshotWriter, staging: Staging) -> MergeResult:
    """Rewrite every partition the staged rows touch; return the rows they replace."""
    spread = staging.spread()
    if spread.height == 0:  # every row of the run was quarantined: no partition changes
        return MergeResult(empty_rejected(), 0, 0)
    # Incidents whose rows in this run fall in several partitions: the newest row decides.
    split = spread.filter(pl.col("p_min") != pl.col("p_max"))["incident_id"]
    split_rows = staging.scan_incidents(split)
    split_target = (
        split_rows.sort(["file_seq", "source_row"], descending=[True, False])
        .group_by("incident_id", maintain_order=True)
        .agg(pl.col("_part").first().alias("target"))
    )
    target = spread.select("incident_id", pl.col("p_min").alias("target")).update(split_target, on="incident_id")
    # Incidents already in the lake, possibly in another partition than their new one.
    in_lake = incidents_in_lake(base, target["incident_id"]).join(target, on="incident_id")
    moved = in_lake.filter(pl.col("lake_part") != pl.col("target"))
    moved_units = _rows_of(base, "units", moved) if moved.height else None
    moved_incidents = _rows_of(base, "incidents", moved) if moved.height else None
    split_rows = split_rows.join(split_target, on="incident_id")
    split_ids = split.to_frame("incident_id")

    parts = pl.concat([spread["p_min"], spread["p_max"], in_lake["lake_part"]]).unique().sort().to_list()

    def merge_partition(part: int) -> pl.DataFrame:
        year, month = divmod(part, 100)
        new_rows = staging.partition(part)
        if split.len():
            arriving_split = split_rows.filter(pl.col("target") == part).select(WIDE)
            new_rows = pl.concat([new_rows.join(split_ids, on="incident_id", how="anti"), arriving_split])
        old_units = base.read_partition("units", (year, month))
        old_incidents = base.read_partition("incidents", (year, month))
        if moved.height:
            leaving = moved.filter(pl.col("lake_part") == part).select("incident_id")
            arriving = moved.filter(pl.col("target") == part).select("incident_id")
            old_units = pl.concat([old_units.join(leaving, on="incident_id", how="anti"),
                                   moved_units.join(arriving, on="incident_id", how="semi").select(old_units.columns)])
            old_incidents = pl.concat([old_incidents.join(leaving, on="incident_id", how="anti"),
                                       moved_incidents.join(arriving, on="incident_id", how="semi").select(old_incidents.columns)])
        old_incidents = _compact(old_incidents)
        # Stored unit rows with their incident's values, as staged rows have them: a correction of
        # the incident alone (its place, urgency or task type) supersedes its units' older rows.
        old_rows = _compact(old_units).join(old_incidents.select("incident_id", *_INCIDENT_VALUES), on="incident_id",
                                            how="left", maintain_order="left")
        units, replaced = newest_units(pl.concat([old_rows, new_rows.select(old_rows.columns)]))
        incidents = newest_incidents(pl.concat([old_incidents, new_rows.select(old_incidents.columns)]))
        writer.write_partition("units", (year, month), units)
        writer.write_partition("incidents", (year, month), incidents)
        staging.release(part)
        return replaced

    # Partitions are independent and Polars works without the GIL: three at a time keep two cores busy
    # while one of them holds the GIL.
    with ThreadPoolExecutor(max_workers=MERGE_THREADS, thread_name_prefix="valmius-merge") as pool:
        replaced_parts = list(pool.map(merge_partition, parts))
    replaced = pl.concat(replaced_parts) if replaced_parts else empty_rejected()
    return MergeResult(replaced, spread.height, len(parts))


def _rows_of(base: Snapshot, table: str, located: pl.DataFrame) -> pl.DataFrame:
    """The stored rows of ``table`` of the incidents in ``located`` (incident_id, lake_part), read
    from the partitions they are in only."""
    parts = sorted(set(located["lake_part"].to_list()))
    rows = pl.concat([base.read_partition(table, divmod(part, 100)) for part in parts])
    return rows.join(located.select("incident_id"), on="incident_id", how="semi")


def incidents_in_lake(base: Snapshot, incident_ids: pl.Series) -> pl.DataFrame:
    """(incident_id, lake_part) of those of ``incident_ids`` that the lake holds.

    Reads the ids of only those partitions whose id range (min and max in the Parquet statistics of
    each row group) holds one of the wanted ids: where ids rise with time, as in most exports, a
    night's export looks into a partition or two instead of every month of the lake.
    """
    found = [pl.DataFrame(schema={"incident_id": pl.String, "lake_part": pl.Int32})]
    partitions = base.partitions("incidents")
    if not partitions or incident_ids.len() == 0:
        return found[0]
    wanted = incident_ids.drop_nulls().unique().sort()
    wanted_ids = wanted.to_list()
    for year, month in partitions:
        path = base.partition_file("incidents", (year, month))
        if path is None or not _may_hold(path, wanted_ids):
            continue
        ids = pl.read_parquet(path, columns=["incident_id"])
        found.append(ids.join(wanted.to_frame("incident_id"), on="incident_id", how="semi")
                     .with_columns(lake_part=pl.lit(year * 100 + month, dtype=pl.Int32)))
    return pl.concat(found)


def _may_hold(path: Path, sorted_ids: list[str]) -> bool:
    """Whether a partition file may hold one of ``sorted_ids``, by the id range of each row group.
    (Python strings order as their UTF-8 bytes do, like Polars and Parquet's statistics.)"""
    metadata = pq.read_metadata(path)
    column = metadata.schema.names.index("incident_id")
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max:
            return True
        if bisect.bisect_right(sorted_ids, stats.max) > bisect.bisect_left(sorted_ids, stats.min):
            return True
    return False


def _starts_new_key(key: list[str]) -> pl.Expr:
    """On rows sorted by ``key``: true where a row's key differs from the row before."""
    changed = pl.lit(False)
    for column in key:
        changed = changed | (pl.col(column) != pl.col(column).shift(1)).fill_null(True)
    return changed


def _sorted_firsts(rows: pl.DataFrame, key: list[str], descending: list[bool]) -> tuple[pl.Series, np.ndarray]:
    """(the positions of ``rows`` in ``key`` order, True at the first of each key but its last two
    columns, which only break ties). Only the key columns are gathered here; the callers gather
    the rows they keep once (a gather and then a filter of every column cost twice the memory)."""
    order = rows.select(pl.arg_sort_by(key, descending=descending)).to_series()
    keys = rows.select(key[:-2])[order]
    return order, keys.select(_starts_new_key(key[:-2])).to_series().to_numpy()


def _units_in_key_order(rows: pl.DataFrame) -> tuple[pl.Series, np.ndarray]:
    """``_sorted_firsts`` of unit rows by (incident, unit, newest first). Where incident ids never
    fall (an export in id order into a new partition, or a night's new incidents after the old),
    only each incident's rows need sorting: a kernel does that (a fifth of Polars' time for all
    rows by four keys)."""
    if rows.height and not rows["incident_id"].null_count():
        ids = pl.col("incident_id")
        runs = rows.select(rising=(ids >= ids.shift(1)).fill_null(True).all(), starts=(ids != ids.shift(1)).fill_null(True))
        if runs["rising"][0]:
            ordered = order_units(runs["starts"].to_numpy(), rows["unit_id"].to_arrow(compat_level=pl.CompatLevel.oldest()),
                                  rows["file_seq"].to_numpy(), rows["source_row"].to_numpy())
            if ordered is not None:
                return pl.Series(ordered[0]), ordered[1]
    return _sorted_firsts(rows, [*UNITS.key, "file_seq", "source_row"], [False, False, True, True])


def newest_units(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row per incident and unit, the newest, in the ``units`` columns; the replaced rows as
    quarantine rows). ``rows`` may also hold their incident's values (``_INCIDENT_VALUES``): a row
    is then a duplicate of the row that replaced it only when those are the same too, and its
    ``raw_row`` keeps them."""
    order, is_first = _units_in_key_order(rows)
    units = rows.select(UNITS.schema.names())
    if is_first.all():
        return units[order], empty_rejected()
    winners = units[order.filter(pl.Series(is_first))]
    values = [*_UNIT_VALUES, *(c for c in _INCIDENT_VALUES if c in rows.columns)]
    # Each replaced row is compared with the row that replaced it: the next newer row of its key,
    # the one just before it in the order. Many exports ingested at once then leave the same
    # quarantine as the nights that brought them one by one.
    losers_at = np.flatnonzero(~is_first)
    order_np = order.to_numpy()
    losers, replacers = rows[order_np[losers_at]], rows[order_np[losers_at - 1]]
    losers = losers.with_columns(
        _same=losers.select(pl.struct(values).hash()).to_series() == replacers.select(pl.struct(values).hash()).to_series(),
        _by_file=replacers["source_file"], _by_row=replacers["source_row"],
    )
    replaced = losers.select(
        "source_file", "source_row",
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.when(pl.col("_same")).then(pl.lit("duplicate")).otherwise(pl.lit("superseded")).alias("reason_code"),
        pl.format("replaced by {} line {} (newer export of the same incident and unit)", "_by_file", "_by_row").alias("reason"),
        "incident_id", "unit_id",
        pl.struct([*UNITS.schema.names(), *values[len(_UNIT_VALUES):]]).struct.json_encode().alias("raw_row"),
    )
    return winners, replaced


def newest_incidents(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per incident, in id order: the first row of its newest export."""
    starts = _one_export_in_id_order(rows)
    if starts is not None:  # each incident's rows together, from one export: its first row wins
        return rows if starts.all() else rows.filter(pl.Series(starts))
    order, is_first = _sorted_firsts(rows, ["incident_id", "file_seq", "source_row"], [False, True, False])
    return rows[order if is_first.all() else order.filter(pl.Series(is_first))]


def _one_export_in_id_order(rows: pl.DataFrame) -> np.ndarray | None:
    """Where ``rows`` come in incident id order and each incident's rows come from one export in
    line order (an export in incident order, into an empty partition): True at each incident's
    first row. None otherwise (then the rows must be sorted)."""
    if rows.height == 0 or rows["incident_id"].null_count():
        return None
    later = pl.col("incident_id") > pl.col("incident_id").shift(1)
    same_export_next_line = ((pl.col("incident_id") == pl.col("incident_id").shift(1))
                             & (pl.col("file_seq") == pl.col("file_seq").shift(1))
                             & (pl.col("source_row") > pl.col("source_row").shift(1)))
    checks = rows.select(starts=later.fill_null(True), fine=(later | same_export_next_line).fill_null(True))
    return checks["starts"].to_numpy() if checks["fine"].all() else None
