"""The Parquet lake: hive-partitioned tables, written atomically as whole snapshots.

Layout (``lake`` is the ``paths.lake`` setting)::

    lake/
      units -> .snapshots/000007/units          one relative link per table
      units/year=2025/month=1/part.parquet     (as readers see it)
      incidents/ quarantine/ files/ runs/ definitions/ notes/ cells/
      responses/definition_id=3f9a0c1d2e4b/year=2025/month=1/part.parquet
                                                derived tables: one folder per definition
      CURRENT                                   id of the committed snapshot
      .snapshots/000007/                        the committed snapshot (and the one before it)
      .lock                                     held while a run writes
      .spare/                                   a superseded snapshot, the next one's starting point
      .trash/                                   superseded snapshots, being deleted

A run builds a complete new snapshot beside the current one: unchanged partition files are hard
links (no copy), changed partitions are new files. It starts from the spare, an older snapshot that
holds links to most of the same files already, so that only what changed since is relinked
(building every snapshot afresh meant making every partition folder and link of the lake, and later
deleting them, in every run). It then commits by replacing ``CURRENT`` (an atomic rename) and swaps
each table's link (also atomic). A crash before the commit leaves an unfinished snapshot that the
next run deletes; a crash after it is finished by the next run. Any reader, valmius or not, sees
each table either as it was before a run or as it is after it.

Derived tables (``Table.per_definition``: responses, rolling tables, flags, areas) hold one folder
per definition (``valmius.definitions``). A snapshot opened for a definition reads and writes that
definition's folder only; every other definition's results are carried into the next snapshot
unchanged.
"""

from __future__ import annotations

import dataclasses
import fcntl
import glob
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from valmius.columns import TABLES, Table, conform, empty_frame
from valmius.errors import LakeError

SNAPSHOTS = ".snapshots"
TRASH = ".trash"
"""Superseded snapshots moved out of the way (one rename), deleted in the background."""
SPARE = ".spare"
"""A superseded committed snapshot that the next run turns into its new snapshot (see the module
docstring). Nothing reads it: the committed snapshot and the one before it are kept for readers."""
CURRENT = "CURRENT"
PART_FILE = "part.parquet"
DEFINITION_KEY = "definition_id"
"""Folder level of the derived tables: ``responses/definition_id=<id>/year=.../``."""
FLUSH_THREADS = 16
"""Files or folders flushed to disk at once: the disk serves many flushes in one journal commit."""
PARQUET_COMPRESSION = {"compression": "zstd", "compression_level": 1}
"""zstd level 1 writes about twice as fast as the default level 3 for files about a quarter larger."""


def write_parquet(frame: pl.DataFrame | pa.Table, table: Table, path: Path) -> None:
    """Write ``frame`` as one Parquet file of ``table``, in its stored schema, the lake's way. An
    Arrow table must have the stored columns in their order already; its dictionary columns, as
    a frame's categorical ones, are written with their dictionaries as they are (the same text to
    a reader).

    Times and integers are delta-encoded (values near their neighbours, as times in call order
    are, take a few bits each), floats split by byte (``BYTE_STREAM_SPLIT``: zstd then finds the
    repeated high bytes), text is dictionary-encoded except incident ids (nearly every row has its
    own: a dictionary only costs time), all pages zstd-compressed. Min and max are kept for readers
    that skip row groups, except of dictionary-encoded text: its few values (classes, stations,
    cells, groupings) turn up in every month, so they would skip nothing, and computing them took a
    sixth of the CPU of writing the 10M units (2.3-2.8 -> 1.9-2.0 s) and an eighth of the 4.3M
    responses' (1.65 -> 1.44 s). On the units of a 10M-row export this
    writes 37 % smaller files with a quarter less CPU than Polars' writer (which encodes times
    plainly), and Polars and DuckDB read them as fast; the float statistics of ``rolling_events``
    take a quarter less CPU split by byte; with their incident ids written plainly, the 10M units,
    4.3M incidents and 4.3M responses of ten years take a tenth less CPU and 6-13 % less space. No
    Arrow schema is stored: the Parquet types alone (UTC timestamps, text, lists) say what every
    column is, to any reader.
    """
    if isinstance(frame, pa.Table):
        if frame.column_names != list(table.schema):
            raise ValueError(f"{table.name}: columns {frame.column_names} are not the stored {list(table.schema)}")
        arrow = frame
    else:
        frame = conform(frame, table, keep_categorical=True)
        categorical = [name for name, dtype in frame.schema.items() if dtype == pl.Categorical]
        arrow = frame.drop(categorical).to_arrow(compat_level=pl.CompatLevel.newest())
        for name in categorical:  # Arrow's Parquet writer takes dictionaries of strings, not of string views
            arrow = arrow.add_column(frame.columns.index(name), name, frame[name].to_arrow(compat_level=pl.CompatLevel.oldest()))
    encodings, text = {}, []
    for field in arrow.schema:
        if pa.types.is_temporal(field.type) or pa.types.is_integer(field.type):
            encodings[field.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(field.type):
            encodings[field.name] = "BYTE_STREAM_SPLIT"
        elif pa.types.is_dictionary(field.type) or (pa.types.is_string_view(field.type) and field.name != "incident_id"):
            text.append(field.name)
    pq.write_table(arrow, path, use_dictionary=text,
                   column_encoding=encodings, write_statistics=[name for name in arrow.column_names if name not in text],
                   store_schema=False, **PARQUET_COMPRESSION)


@dataclass(frozen=True)
class Snapshot:
    """A readable, committed state of the lake."""

    root: Path
    """The lake folder."""
    folder: Path | None
    """The committed snapshot's folder (None: the lake is still empty)."""
    snapshot_id: int
    definition_id: str | None = None
    """The definition whose derived tables this snapshot reads (None: only shared tables)."""

    def for_definition(self, definition_id: str) -> Snapshot:
        """The same snapshot, reading the derived tables of ``definition_id``."""
        return dataclasses.replace(self, definition_id=definition_id)

    def table_folder(self, table: str) -> Path | None:
        if self.folder is None:
            return None
        path = self.folder / table
        if TABLES[table].per_definition:
            path = path / definition_folder(table, self.definition_id)
        return path if path.exists() else None

    def definitions_with(self, table: str) -> list[str]:
        """Ids of the definitions that have ``table`` (a derived table) in this snapshot."""
        folder = None if self.folder is None else self.folder / table
        if folder is None or not folder.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in folder.glob(f"{DEFINITION_KEY}=*") if any(p.rglob(PART_FILE)))

    def partitions(self, table: str) -> list[tuple[int, ...]]:
        """Partition values present in ``table``, e.g. [(2025, 1), (2025, 2)]."""
        folder = self.table_folder(table)
        if folder is None:
            return []
        return sorted(values for values, _ in _part_files(folder, table))

    def file_identities(self, table: str) -> dict[str, str]:
        """Each partition file of ``table`` as ``inode:size:mtime_ns``, keyed by its partition
        ("2025/3"; "" when unpartitioned). A partition a run did not rewrite is a hard link to the
        same file, so its identity stays; a rewritten one gets a new file and a new identity."""
        folder = self.table_folder(table)
        if folder is None:
            return {}
        found = {}
        for values, file in _part_files(folder, table):
            info = os.stat(file)
            found["/".join(map(str, values))] = f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
        return found

    def inputs(self, tables: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """:meth:`file_identities` of each of ``tables``: what a run records of the files it read,
        to tell later whether they changed."""
        return {table: self.file_identities(table) for table in tables}

    def partition_file(self, table: str, values: tuple[int, ...]) -> Path | None:
        folder = self.table_folder(table)
        if folder is None:
            return None
        path = folder / partition_path(TABLES[table], values) / PART_FILE
        return path if path.exists() else None

    def read_partition(self, table: str, values: tuple[int, ...]) -> pl.DataFrame:
        path = self.partition_file(table, values)
        if path is None:
            return empty_frame(TABLES[table])
        return pl.read_parquet(path)

    def scan(self, table: str) -> pl.LazyFrame:
        """The whole table, partition columns included."""
        spec = TABLES[table]
        folder = self.table_folder(table)
        if folder is None or not any(folder.rglob("*.parquet")):
            schema = {c.name: c.dtype for c in spec.columns}
            return pl.LazyFrame(schema=schema)
        if spec.partition_by:
            schema = {c.name: c.dtype for c in spec.columns}
            hive = {k: schema[k] for k in spec.partition_by}
            if spec.per_definition:  # Polars reads the definition's folder name as a column too
                hive = {DEFINITION_KEY: pl.String, **hive}
            return pl.scan_parquet(
                folder / "**" / "*.parquet", hive_partitioning=True, hive_schema=hive
            ).select(spec.names)
        return pl.scan_parquet(folder / PART_FILE)


def _part_files(folder: Path, table: str) -> list[tuple[tuple[int, ...], str]]:
    """Each partition file in ``folder`` (a table's) with its partition values. Globbed at the
    table's partition depth: a third of the time of a recursive search, which a night ran about
    twenty times over folders of 121 partitions."""
    top = str(folder)
    pattern = os.path.join(glob.escape(top), *["*=*"] * len(TABLES[table].partition_by), PART_FILE)
    return [(tuple(int(part.split("=", 1)[1]) for part in path[len(top) + 1:].split(os.sep)[:-1]), path)
            for path in glob.glob(pattern)]


def definition_folder(table: str, definition_id: str | None) -> str:
    """The folder of one definition inside a derived table."""
    if definition_id is None:
        raise LakeError(f"{table} is a derived table: open the lake for a definition to read or write it")
    return f"{DEFINITION_KEY}={definition_id}"


def partition_path(table: Table, values: tuple[int, ...]) -> Path:
    # Unpadded numbers, so that every reader (DuckDB too) infers integer partition columns.
    return Path(*(f"{k}={v}" for k, v in zip(table.partition_by, values)))


def utc_months(first_s: int, last_s: int) -> list[tuple[int, int]]:
    """The (year, month) partitions from the UTC month of second ``first_s`` to that of ``last_s``, in order."""
    first, last = (datetime.fromtimestamp(t, timezone.utc) for t in (first_s, last_s))
    year, month, months = first.year, first.month, []
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = year + month // 12, month % 12 + 1
    return months


def open_lake(root: Path, definition_id: str | None = None) -> Snapshot:
    """The committed state of the lake at ``root`` (an empty lake if there is none yet), reading the
    derived tables of ``definition_id``."""
    current = root / CURRENT
    if not current.exists():
        return Snapshot(root, None, 0, definition_id)
    text = current.read_text().strip()
    try:
        snapshot_id = int(text)
    except ValueError as exc:
        raise LakeError(f"{current}: expected a snapshot number, found {text!r}; the lake is damaged") from exc
    folder = root / SNAPSHOTS / f"{snapshot_id:06d}"
    if not folder.is_dir():
        raise LakeError(f"{current} names snapshot {snapshot_id}, but {folder} is missing; the lake is damaged")
    return Snapshot(root, folder, snapshot_id, definition_id)


@contextmanager
def lake_lock(root: Path) -> Iterator[None]:
    """Hold the lake's write lock; a second writer gets a clear error instead of waiting.

    The lock is an OS file lock, so a crashed run releases it automatically.
    """
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / ".lock"
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LakeError(f"{root}: the lake is busy: {holder} is writing to it; wait for it to finish") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"valmius process {os.getpid()}")
        handle.flush()
        recover(root)
        yield
    finally:
        handle.close()


@contextmanager
def new_snapshot(root: Path, definition_id: str | None = None) -> Iterator[tuple[Snapshot, SnapshotWriter]]:
    """Hold the lock and build the next snapshot: ``(base, writer)``; committed when the block ends,
    abandoned (leaving the lake as it was) when it raises. ``definition_id``: the definition whose
    derived tables the run reads and writes."""
    with lake_lock(root):
        base = open_lake(root, definition_id)
        writer = SnapshotWriter(base)
        try:
            yield base, writer
            writer.commit()
        except BaseException:
            writer.abandon()
            raise


def recover(root: Path) -> None:
    """Finish a committed run or discard an unfinished one (call with the lock held)."""
    snapshot = open_lake(root)
    snapshots = root / SNAPSHOTS
    if snapshot.folder is not None:
        _point_links(root, snapshot.folder)
    keep = {snapshot.snapshot_id, snapshot.snapshot_id - 1} if snapshot.folder else set()
    trash = root / TRASH
    spare = root / SPARE
    if snapshots.exists():
        # The newest committed snapshot that readers no longer need becomes the spare; unfinished
        # ones (.tmp) and older ones are deleted.
        superseded = sorted((e for e in snapshots.iterdir() if not (e.name.isdigit() and int(e.name) in keep)),
                            key=lambda e: (e.name.isdigit(), int(e.name) if e.name.isdigit() else 0))
        if superseded and superseded[-1].name.isdigit() and not spare.exists():
            os.replace(superseded.pop(), spare)
        for entry in superseded:
            trash.mkdir(exist_ok=True)
            os.replace(entry, trash / f"{entry.name}-{os.getpid()}-{time.time_ns()}")
    if trash.exists() and any(trash.iterdir()):
        _empty_in_background(trash)


def _empty_in_background(trash: Path) -> None:
    """Delete what is in ``trash`` without waiting: a snapshot is hundreds of partition folders, and
    removing them takes about a second that the run need not wait for. Nothing reads the trash; a
    deletion cut short (the machine stopped) is finished by the next run's :func:`recover`."""
    rm = shutil.which("rm")
    if rm is None:  # pragma: no cover - every POSIX system has rm
        shutil.rmtree(trash, ignore_errors=True)
        return
    subprocess.Popen([rm, "-rf", "--", *map(str, trash.iterdir())], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


class SnapshotWriter:
    """Builds the next snapshot beside the current one; :meth:`commit` makes it the lake."""

    def __init__(self, base: Snapshot) -> None:
        self.base = base
        self.snapshot_id = base.snapshot_id + 1
        self.folder = base.root / SNAPSHOTS / f"{self.snapshot_id:06d}.tmp"
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        spare = base.root / SPARE
        self._recycled = spare.is_dir()
        if self._recycled:  # its links are checked and corrected at commit (keep_unchanged)
            os.replace(spare, self.folder)
            for entry in self.folder.iterdir():
                if entry.name in TABLES:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        else:
            self.folder.mkdir()
        self._written: set[tuple[str, tuple[int, ...]]] = set()
        self._kept: set[str] = set()
        self._new_files: list[Path] = []
        self._flushes: list[Future[None]] = []
        self._flusher = ThreadPoolExecutor(FLUSH_THREADS, thread_name_prefix="valmius-fsync")
        self._inherited: dict[str, str] = {}
        self._dropped: set[str] = set()

    def inherit(self, table: str, definition_id: str) -> None:
        """Start ``table`` of the run's definition, which has none yet, as a copy (hard links) of
        ``definition_id``'s: partitions this run does not write are taken from there. For a new
        definition whose rules give the table the same content as a stored one's."""
        assert TABLES[table].per_definition and self.base.table_folder(table) is None
        self._inherited[table] = definition_id

    def drop_definition(self, definition_id: str) -> None:
        """Leave every derived table of ``definition_id`` (its results) out of the new snapshot."""
        assert definition_id != self.base.definition_id, "a run cannot drop the definition it writes"
        self._dropped.add(definition_id)

    def write_partition(self, table: str, values: tuple[int, ...], frame: pl.DataFrame | pa.Table) -> None:
        """Write one partition of ``table`` (an empty frame removes the partition)."""
        self._written.add((table, values))
        spec = TABLES[table]
        target = self._table_folder(table) / partition_path(spec, values) / PART_FILE
        _unlink_if_present(target)
        if len(frame) == 0:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(frame, spec, target)
        self._written_out(target)

    def write_table(self, table: str, frame: pl.DataFrame) -> None:
        """Write an unpartitioned table whole."""
        spec = TABLES[table]
        target = self._table_folder(table) / PART_FILE
        _unlink_if_present(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(frame, spec, target)
        self._written.add((table, ()))
        self._written_out(target)

    def _written_out(self, target: Path) -> None:
        """A new file is complete: flush it to disk now, in the background, while the run goes on.
        The commit waits for these flushes; flushing every file then took a full measure's commit
        1.0 s (the 0.4 GB it wrote went to the disk only then) and an ingest's 0.6 s."""
        self._new_files.append(target)
        self._flushes.append(self._flusher.submit(_flush_if_present, target))

    def _table_folder(self, table: str) -> Path:
        folder = self.folder / table
        if TABLES[table].per_definition:
            folder = folder / definition_folder(table, self.base.definition_id)
        return folder

    def keep_unchanged(self) -> None:
        """Hard-link every partition of the base snapshot that this run did not write (every
        definition's, for the derived tables, but those of dropped definitions)."""
        for table, spec in TABLES.items():
            if self.base.folder is None or not (self.base.folder / table).is_dir():
                continue
            if not spec.per_definition:
                self._keep(table, self.base.table_folder(table), self.folder / table, written=True)
                continue
            for definition_id in self.base.definitions_with(table):
                if definition_id in self._dropped:
                    continue
                folder = definition_folder(table, definition_id)
                self._keep(table, self.base.folder / table / folder, self.folder / table / folder,
                           written=definition_id == self.base.definition_id)
            if table in self._inherited:
                source = self.base.folder / table / definition_folder(table, self._inherited[table])
                self._keep(table, source, self._table_folder(table), written=True)
        if self._recycled:
            self._remove_stale()

    def _remove_stale(self) -> None:
        """Delete the recycled snapshot's files that are neither kept nor written by this run (and
        the folders that leaves empty): partitions that no longer exist, dropped definitions."""
        wanted = self._kept | {str(path) for path in self._new_files}
        for table in TABLES:
            top = str(self.folder / table)
            removed: set[str] = set()
            for folder, dirs, files in os.walk(top, topdown=False):  # children first
                stale = [name for name in files if os.path.join(folder, name) not in wanted]
                for name in stale:
                    os.unlink(os.path.join(folder, name))
                emptied = len(stale) == len(files) and all(os.path.join(folder, d) in removed for d in dirs)
                if folder != top and emptied:
                    os.rmdir(folder)
                    removed.add(folder)

    def _keep(self, table: str, source: Path | None, target: Path, *, written: bool) -> None:
        """Link the part files of ``source`` into ``target``, except the partitions this run wrote
        (``written``: ``source`` is the folder this run writes to). Plain ``os`` calls on strings:
        a night links a few thousand files, and pathlib's overhead per file was half the time."""
        if source is None:
            return
        for folder, _, files in os.walk(source):
            if PART_FILE not in files:
                continue
            rel = os.path.relpath(folder, source)
            values = () if rel == "." else tuple(int(p.split("=", 1)[1]) for p in rel.split(os.sep))
            if written and (table, values) in self._written:
                continue
            kept = os.path.normpath(os.path.join(target, rel, PART_FILE))
            self._kept.add(kept)
            _link_or_copy(os.path.join(folder, PART_FILE), kept)

    def commit(self) -> Snapshot:
        """Make the new snapshot the lake: the one atomic step is replacing CURRENT."""
        self.keep_unchanged()
        for table in TABLES:
            (self.folder / table).mkdir(exist_ok=True)
        for flushed in self._flushes:  # hard-linked files were synced when first written
            flushed.result()
        # Then the folders of the new files (their entries), on the same threads: the disk serves
        # many flushes in one journal commit, about five times faster than one after the other.
        list(self._flusher.map(fsync_path, {path.parent for path in self._new_files}))
        self._flusher.shutdown()
        final = self.folder.with_name(f"{self.snapshot_id:06d}")
        if final.exists():
            shutil.rmtree(final)
        os.replace(self.folder, final)
        root = self.base.root
        write_atomically(root / CURRENT, f"{self.snapshot_id}\n")
        recover(root)
        return open_lake(root)

    def abandon(self) -> None:
        self._flusher.shutdown(cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def _point_links(root: Path, snapshot_folder: Path) -> None:
    for table in TABLES:
        link = root / table
        target = Path(SNAPSHOTS) / snapshot_folder.name / table
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.exists() and not link.is_symlink():
            raise LakeError(f"{link} is a real folder, not a link valmius made; move it out of the lake folder")
        tmp = root / f".{table}.link"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(target, tmp)
        os.replace(tmp, link)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    """Make ``target`` the file ``source``: a hard link (a copy where the file system has none). A
    recycled snapshot usually holds that link already (nothing to do) or an older file (replaced)."""
    try:
        if os.path.samestat(os.stat(source), os.stat(target)):
            return
        os.unlink(target)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _unlink_if_present(target: Path) -> None:
    """Remove what a recycled snapshot holds at a path about to be written: a link to a file that
    committed snapshots share, which writing in place would change under them."""
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write ``path`` whole or not at all: a synced temporary file beside it, renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def _flush_if_present(path: Path) -> None:
    """:func:`fsync_path`, unless the file is gone: a partition written again (that write flushes
    its own file) or removed."""
    try:
        fsync_path(path)
    except FileNotFoundError:
        pass


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a folder: so that a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
