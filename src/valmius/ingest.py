"""Ingest export files into the lake: read -> validate -> normalise -> store, in one atomic run.

Each file is read in batches (extract), validated and normalised (transform); valid rows are
staged and rejected rows kept for quarantine. The store stage then rewrites only the partitions
the run touches, newest export winning (see ``valmius.store``), and the lake commits the run in one
atomic step. Files whose content was ingested before (same SHA-256) are skipped, so re-running a
night changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from valmius.columns import FILES, UTC_TIME
from valmius.errors import InputError, ValmiusError
from valmius.extract import BLOCK_BYTES, BatchRead, NeedsExactLines, SourceFile, file_sha256, open_source, prefetch, read_batches
from valmius.labels import english_count
from valmius.lake import Snapshot, SnapshotWriter, lake_lock, open_lake
from valmius.mapping import Mapping
from valmius.runs import record_run
from valmius.settings import Settings
from valmius.store import Staging, merge
from valmius.transform import empty_rejected, malformed_rows, transform_batch

STAGE_THREADS = 3
SKIPPED_LISTED = 5
"""Skipped files (content already ingested) named one by one in a run's text summary; more are
counted on one line, so that a folder of old exports does not bury a failed file."""
ProgressCallback = Callable[[str, int, int], None]
"""Called as (file name, bytes done, bytes total) while a file is read."""


@dataclass
class FileReport:
    name: str
    status: str  # ingested, skipped or failed
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass
class IngestSummary:
    """What one ingest run did; ``to_text()`` is the run summary an analyst reads."""

    lake: Path
    run_id: int | None
    files: list[FileReport]
    rows_replaced: int = 0
    rows_duplicate: int = 0
    incidents_touched: int = 0
    partitions_written: int = 0
    duration_s: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_stored(self) -> int:
        return sum(f.rows_stored for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def reasons(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for report in self.files:
            for code, count in report.reasons.items():
                total[code] = total.get(code, 0) + count
        return dict(sorted(total.items(), key=lambda kv: -kv[1]))

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def run_counts(self) -> dict[str, int]:
        """The counts of the run's ``runs`` row (``rows_replaced``: every older row a newer export
        replaced, changed or identical)."""
        return {"files_read": sum(f.status == "ingested" for f in self.files),
                "files_skipped": sum(f.status == "skipped" for f in self.files), "rows_read": self.rows_read,
                "rows_stored": self.rows_stored, "rows_quarantined": self.rows_quarantined,
                "rows_replaced": self.rows_replaced + self.rows_duplicate}

    def to_dict(self) -> dict:
        return {
            "lake": str(self.lake), "run_id": self.run_id, "rows_read": self.rows_read,
            "rows_stored": self.rows_stored, "rows_quarantined": self.rows_quarantined,
            "quarantined_by_reason": self.reasons, "rows_replaced": self.rows_replaced,
            "rows_duplicate": self.rows_duplicate, "incidents_touched": self.incidents_touched,
            "partitions_written": self.partitions_written, "duration_s": round(self.duration_s, 3),
            "files": [vars(f) for f in self.files],
        }

    def to_text(self) -> str:
        lines = [f"Run {self.run_id if self.run_id is not None else '-'} into {self.lake}"]
        skipped = [f for f in self.files if f.status == "skipped"]
        for f in self.files:
            if f.status == "ingested":
                lines.append(f"  {f.name}: {english_count(f.rows_read, 'row')} read, {f.rows_stored:,} stored, "
                             f"{f.rows_quarantined:,} quarantined ({f.message})")
            elif f.status != "skipped" or len(skipped) <= SKIPPED_LISTED:
                lines.append(f"  {f.name}: {f.status}: {f.message}")
        if len(skipped) > SKIPPED_LISTED:  # a folder of old exports: one line, so that failures stand out
            lines.append(f"  {len(skipped):,} files skipped, each with the same content as a file already ingested: "
                         f"{skipped[0].name} ... {skipped[-1].name}")
        lines.append(f"Rows read:        {self.rows_read:>12,}")
        lines.append(f"Rows stored:      {self.rows_stored:>12,}")
        lines.append(f"Rows quarantined: {self.rows_quarantined:>12,}")
        for code, count in self.reasons.items():
            lines.append(f"  {code:<28}{count:>10,}")
        lines.append(f"Older rows replaced by newer exports: {self.rows_replaced:,} changed, {self.rows_duplicate:,} identical (kept in quarantine)")
        lines.append(f"Incidents touched: {self.incidents_touched:,} in {english_count(self.partitions_written, 'partition')}; "
                     f"{self.duration_s:.1f} s")
        return "\n".join(lines)


def ingest(
    paths: Sequence[Path | str],
    mapping: Mapping,
    settings: Settings,
    *,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Ingest export files, oldest first (a later file is a newer export), into the lake.

    Returns the run summary. A file that cannot be read at all is reported as failed and leaves no
    trace; the other files are still ingested. The lake changes in one atomic commit.
    """
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    root = settings.lake_path
    with lake_lock(root):
        base = open_lake(root)
        writer = SnapshotWriter(base)
        try:
            summary = _run(base, writer, [Path(p) for p in paths], mapping, settings, progress, started_at)
            summary.duration_s = time.perf_counter() - started
            if summary.run_id is None:
                writer.abandon()
                return summary
            _write_bookkeeping(base, writer, summary, started_at)
            writer.commit()
        except BaseException:
            writer.abandon()
            raise
    return summary


def _run(base: Snapshot, writer: SnapshotWriter, paths: list[Path], mapping: Mapping, settings: Settings,
         progress: ProgressCallback | None, started_at: datetime) -> IngestSummary:
    files = base.scan("files").collect()
    known_hashes = dict(zip(files["sha256"].to_list(), files["source_file"].to_list()))
    known_sizes = set(files["size_bytes"].to_list())
    next_seq = (files["file_seq"].max() or 0) + 1  # type: ignore[operator]
    staging = Staging(writer.folder / "_staging")
    reports: list[FileReport] = []
    rejected: list[pl.DataFrame] = []
    self_files: list[dict] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="valmius-sha256") as hasher:
        for path in paths:
            size = path.stat().st_size if path.exists() else None
            hashing = None
            if size is None:
                digest = ""
            elif size in known_sizes:  # possibly ingested before: hash first, skip it if so
                digest = file_sha256(path)
                if digest in known_hashes:
                    reports.append(FileReport(path.name, "skipped", message=f"same content as {known_hashes[digest]}, already ingested"))
                    continue
            else:  # no earlier file has this size, so the content is new: hash while reading
                hashing = hasher.submit(file_sha256, path)
            try:
                report, file_rejected, encoding = _stage_file(path, mapping, settings, next_seq, staging, progress,
                                                              int(started_at.timestamp()))
            except ValmiusError as exc:
                staging.discard_file(next_seq)
                reports.append(FileReport(path.name, "failed", message=str(exc)))
                continue
            if hashing is not None:
                digest = hashing.result()
            reports.append(report)
            rejected.append(file_rejected)
            known_hashes[digest] = path.name
            known_sizes.add(path.stat().st_size)
            self_files.append({
                "file_seq": next_seq, "source_file": path.name, "source_path": str(path.resolve()), "sha256": digest,
                "size_bytes": path.stat().st_size, "format": mapping.name, "encoding": encoding,
                "rows_read": report.rows_read, "rows_stored": report.rows_stored,
                "rows_quarantined": report.rows_quarantined, "run_id": writer.snapshot_id, "ingested_at": started_at,
            })
            next_seq += 1
    summary = IngestSummary(base.root, None, reports)
    if not self_files:
        return summary
    summary.run_id = writer.snapshot_id
    result = merge(base, writer, staging)
    staging.remove()
    replaced = result.replaced
    summary.incidents_touched = result.incidents_touched
    summary.partitions_written = result.partitions_written
    summary.rows_replaced = replaced.filter(pl.col("reason_code") == "superseded").height
    summary.rows_duplicate = replaced.filter(pl.col("reason_code") == "duplicate").height
    quarantine = pl.concat([*rejected, replaced], how="vertical_relaxed").with_columns(
        quarantined_at=pl.lit(started_at, dtype=UTC_TIME), run_id=pl.lit(writer.snapshot_id, dtype=pl.Int64)
    )
    month = (started_at.year, started_at.month)
    earlier = base.read_partition("quarantine", month)
    writer.write_partition("quarantine", month, pl.concat([earlier, quarantine.select(earlier.columns)]))
    new_files = pl.DataFrame(self_files, schema=FILES.schema)
    writer.write_table("files", pl.concat([files.select(FILES.names), new_files]))
    return summary


def _stage_file(path: Path, mapping: Mapping, settings: Settings, file_seq: int, staging: Staging,
                progress: ProgressCallback | None, run_started_s: int) -> tuple[FileReport, pl.DataFrame, str]:
    source = open_source(path, mapping)
    try:
        stored, rejected_parts = _stage_batches(source, settings, file_seq, staging, progress, run_started_s, exact_lines=False)
    except NeedsExactLines:
        staging.discard_file(file_seq)
        stored, rejected_parts = _stage_batches(source, settings, file_seq, staging, progress, run_started_s, exact_lines=True)
    total = path.stat().st_size
    if progress:
        progress(path.name, total, total)
    if source.rows_read == 0:
        raise InputError(f"{path}: the file has a header but no data rows")
    rejected_parts.append(malformed_rows(source))
    rejected = pl.concat(rejected_parts)
    reasons = rejected.group_by("reason_code").len().sort("len", descending=True)
    absent = f"; columns missing from the file, stored empty: {', '.join(source.absent_columns)}" if source.absent_columns else ""
    report = FileReport(
        path.name, "ingested", rows_read=source.rows_read, rows_stored=stored, rows_quarantined=rejected.height,
        reasons=dict(zip(reasons["reason_code"].to_list(), reasons["len"].to_list())),
        message=f"read as {source.encoding}{absent}",
    )
    return report, rejected, source.encoding


def _stage_batches(source: SourceFile, settings: Settings, file_seq: int, staging: Staging,
                   progress: ProgressCallback | None, run_started_s: int, exact_lines: bool) -> tuple[int, list[pl.DataFrame]]:
    """Read, validate and stage every batch of a file.

    ``STAGE_THREADS`` threads each read (the fast path), validate and stage one batch at a time, and as
    many batches wait their turn so that no thread idles (Arrow, Polars and the Numba kernels release
    the GIL; one thread more than cores covers the moments a thread holds it); results are taken in
    file order. On the exact path the reading itself runs ahead on its own thread.
    """
    total = source.path.stat().st_size
    stored = 0
    rejected_parts = [empty_rejected()]

    def stage(index: int, read: BatchRead) -> tuple[int, pl.DataFrame]:
        batch, lines = read()
        if batch.num_rows == 0:
            return 0, empty_rejected()
        valid, rejected = transform_batch(batch, lines, source, settings, run_started_s)
        staging.add(file_seq, source.path.name, index, valid)
        return valid.height, rejected

    pending: deque[Future] = deque()

    def take_oldest() -> None:
        nonlocal stored
        index = len(rejected_parts) - 1
        count, rejected = pending.popleft().result()
        stored += count
        rejected_parts.append(rejected)
        if progress:
            progress(source.path.name, min(total, (index + 1) * BLOCK_BYTES), total)

    with ThreadPoolExecutor(max_workers=STAGE_THREADS, thread_name_prefix="valmius-stage") as pool:
        try:
            for index, read in enumerate(prefetch(read_batches(source, exact_lines))):
                pending.append(pool.submit(stage, index, read))
                if len(pending) >= 2 * STAGE_THREADS:
                    take_oldest()
            while pending:
                take_oldest()
        finally:
            for future in pending:  # on failure: let running batches finish before the caller cleans up
                future.cancel()
            wait(pending)
    return stored, rejected_parts


def _write_bookkeeping(base: Snapshot, writer: SnapshotWriter, summary: IngestSummary, started_at: datetime) -> None:
    record_run(base, writer, "ingest", started_at, summary.duration_s, summary.to_dict(), **summary.run_counts())

