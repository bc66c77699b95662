"""The nightly run, in one screen: read the inbox, ingest, measure, flag, refresh the catalog, report.

    exports in paths.inbox ──ingest──▶ units, incidents, quarantine   (valmius.ingest)
    risk grid (cells) + units ──measure──▶ responses, rolling_*       (valmius.measure)
    responses + rolling_calendar ──flag──▶ flags, areas               (valmius.flags)
    lake tables ──catalog──▶ paths.catalog: a DuckDB view per table    (valmius.catalog)
    the lake ──report──▶ paths.reports/<date>/report.html, charts, GIS (valmius.report)

Each stage commits atomically on its own, so a run that crashed or was killed leaves the lake as its
last finished stage left it, and the next run carries on from there: files already ingested are
known by their content hash (and only then moved out of the inbox), measure recomputes whatever
differs from the stored responses, flags and report are made afresh, and the catalog is written
again when it is stale (new tables, definitions or settings; a new snapshot alone is not). A lock
(``paths.lake/.nightly.lock``) keeps two nightly runs from overlapping.

Inbox files are moved when the run is done with them: ingested or already-known files to
``paths.archive``, files that could not be read at all to ``paths.rejected`` with a ``.reason.txt``
beside them. The run's own ``runs`` row (command ``nightly``) holds every stage's summary and
duration, and the flags that appeared or cleared. Runs recorded since the last nightly run (the
stages an interrupted night finished, or commands run by hand) are listed in it, and the flags are
then also compared over them: what appeared or cleared since the last nightly run.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from valmius.catalog import refresh_catalog
from valmius.definitions import definition_id
from valmius.errors import InputError, LakeError
from valmius.flags import FlagSummary, flag, net_changes
from valmius.ingest import IngestSummary, ProgressCallback, ingest
from valmius.labels import english_count
from valmius.lake import new_snapshot, open_lake
from valmius.mapping import Mapping
from valmius.measure import MeasureSummary, measure
from valmius.names import numbered
from valmius.runs import record_run, runs_after_last
from valmius.settings import Settings

if TYPE_CHECKING:
    from valmius.report import ReportResult


EARLIER_RUNS_LISTED = 5
"""Runs since the last nightly run named one by one in a night's text summary; more (the first
nightly run after the demo or a backfill by hand) are counted by command on one line. The JSON
summary (``runs_since_last_night``) lists them all."""


@dataclass
class NightSummary:
    """What one nightly run did, stage by stage."""

    ingest: IngestSummary
    measure: MeasureSummary | None = None
    flags: FlagSummary | None = None
    catalog: Path | None = None
    report: ReportResult | None = None
    stage_s: dict[str, float] = field(default_factory=dict)
    moved: dict[str, list[str]] = field(default_factory=dict)
    """Inbox files moved, by destination: archive or rejected."""
    earlier_runs: list[tuple[int, str]] = field(default_factory=list)
    """(run_id, command) of the runs recorded since the last nightly run, before this one."""
    earlier_flags: list[FlagSummary] = field(default_factory=list)
    """The summaries of the flag runs among them, of this run's definition."""
    run_id: int | None = None

    @property
    def flags_since_last_night(self) -> tuple[list[str], list[str]]:
        """(appeared, cleared) since the last nightly run: over the earlier flag runs and this one."""
        return net_changes([*self.earlier_flags, *([self.flags] if self.flags else [])])

    @property
    def has_warnings(self) -> bool:
        """Data warnings: rows quarantined (the run itself succeeded)."""
        return self.ingest.rows_quarantined > 0

    @property
    def has_failures(self) -> bool:
        """A file could not be read at all."""
        return bool(self.ingest.failed)

    def to_dict(self) -> dict:
        return {
            "ingest": self.ingest.to_dict(),
            "measure": self.measure.to_dict() if self.measure else None,
            "flags": self.flags.to_dict() if self.flags else None,
            "catalog": str(self.catalog) if self.catalog else None,
            "report": str(self.report.html) if self.report else None,
            "stage_s": {k: round(v, 3) for k, v in self.stage_s.items()},
            "moved": self.moved,
            "runs_since_last_night": [{"run_id": run_id, "command": command} for run_id, command in self.earlier_runs],
            "flags_since_last_night": dict(zip(("appeared", "cleared"), self.flags_since_last_night)),
        }

    def to_text(self) -> str:
        parts = [self.ingest.to_text() if self.ingest.files else "No export files waiting: nothing ingested"]
        parts += [s.to_text() for s in (self.measure, self.flags) if s is not None]
        if self.flags is not None and (self.flags.appeared or self.flags.cleared):
            parts.append(f"Flags appeared: {', '.join(self.flags.appeared) or '-'}; "
                         f"cleared: {', '.join(self.flags.cleared) or '-'}")
        if self.earlier_runs:
            parts.append(self._earlier_runs_text())
            if self.earlier_flags:
                appeared, cleared = self.flags_since_last_night
                parts.append(f"Flags since the last nightly run: appeared: {', '.join(appeared) or '-'}; "
                             f"cleared: {', '.join(cleared) or '-'}")
        if self.catalog is not None:
            parts.append(f"SQL catalog: {self.catalog}")
        if self.report is not None:
            parts.append(self.report.to_text())
        for where, names in self.moved.items():
            parts.append(f"Moved to {where}: {english_count(len(names), 'file')}")
        stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.stage_s.items())
        parts.append(f"Nightly run {self.run_id if self.run_id is not None else '-'}: {stages}")
        return "\n".join(parts)

    def _earlier_runs_text(self) -> str:
        """The runs since the last nightly run, one by one, or counted by command when there are more
        than ``EARLIER_RUNS_LISTED``; either way the flag runs that changed flags are named."""
        changed = [s.run_id for s in self.earlier_flags if s.appeared or s.cleared]
        why = "an interrupted night, or commands run by hand"
        if len(self.earlier_runs) <= EARLIER_RUNS_LISTED:
            runs = ", ".join(f"{run_id} {command}" + (" (flags changed)" if run_id in changed else "")
                             for run_id, command in self.earlier_runs)
            return f"Since the last nightly run, runs {runs} changed the lake ({why})"
        by_command: dict[str, int] = {}
        for _, command in self.earlier_runs:
            by_command[command] = by_command.get(command, 0) + 1
        counts = ", ".join(f"{count:,} {command}" for command, count in by_command.items())
        ids = [run_id for run_id, _ in self.earlier_runs]
        text = (f"Since the last nightly run, {len(ids):,} runs changed the lake (runs {ids[0]} to {ids[-1]}; {why}): "
                f"{counts}")
        if len(changed) > EARLIER_RUNS_LISTED:
            text += f"; {len(changed):,} flag runs changed flags, {changed[0]} to {changed[-1]}"
        elif changed:
            text += f"; flags changed by run{'s' if len(changed) > 1 else ''} {', '.join(map(str, changed))}"
        return text


IN_TRANSFER_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", "~")
"""Names that file transfers and editors give a file still being written (as does a leading dot)."""


def inbox_files(settings: Settings) -> list[Path]:
    """Export files waiting in the inbox folder, oldest name first (nightly exports sort by date).
    A file still being written, named with a leading dot or an ``IN_TRANSFER_SUFFIXES`` ending, is
    left for the next run: read now, it would be stored in part and archived."""
    inbox = settings.paths.inbox
    if not inbox.is_dir():
        raise InputError(f"{inbox}: inbox folder not found; set [paths] inbox or give the files to ingest")
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")
                  and not p.name.lower().endswith(IN_TRANSFER_SUFFIXES))


def nightly(settings: Settings, mapping: Mapping, files: Sequence[Path] | None = None, *,
            progress: ProgressCallback | None = None, report: bool = True) -> NightSummary:
    """The nightly run over ``files`` (default: the inbox, whose files are then archived or rejected)."""
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    with nightly_lock(settings):
        from_inbox = not files
        paths = inbox_files(settings) if from_inbox else list(files or [])
        earlier = runs_after_last(open_lake(settings.lake_path), "nightly")
        stage_s: dict[str, float] = {}
        ingested = _timed(stage_s, "ingest", lambda: ingest(paths, mapping, settings, progress=progress))
        night = NightSummary(ingested, stage_s=stage_s, earlier_runs=earlier.select("run_id", "command").rows())
        if from_inbox:
            night.moved = _move_done(settings, paths, ingested)
        night.measure = _timed(stage_s, "measure", lambda: measure(settings))
        night.flags = _timed(stage_s, "flag", lambda: flag(settings))
        night.earlier_flags = [FlagSummary.from_dict(json.loads(row["summary_json"])) for row in earlier.filter(
            pl.col("command") == "flag", pl.col("definition_id") == definition_id(settings)).iter_rows(named=True)]
        night.catalog = _timed(stage_s, "catalog", lambda: refresh_catalog(settings, when_stale=True))
        if report:
            from valmius.report import write_report  # charts and Vega load only when a report is written

            night.report = _timed(stage_s, "report", lambda: write_report(settings))
        night.run_id = _record(settings, night, started_at, time.perf_counter() - started)
    return night


def _timed(stage_s: dict[str, float], name: str, work: Callable):
    started = time.perf_counter()
    result = work()
    stage_s[name] = time.perf_counter() - started
    return result


@contextmanager
def nightly_lock(settings: Settings) -> Iterator[None]:
    """Only one nightly run at a time; a second one stops with a clear error instead of waiting."""
    root = settings.lake_path
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".nightly.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)  # "a+" opens at the end
            raise LakeError(f"{root}: another nightly run (process {handle.read().strip() or '?'}) is still going; "
                            "wait for it to finish") from exc
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def _move_done(settings: Settings, paths: list[Path], ingested: IngestSummary) -> dict[str, list[str]]:
    """Archive the inbox files the lake now holds; reject (with a reason file) those it could not read."""
    reports = {r.name: r for r in ingested.files}
    moved: dict[str, list[str]] = {}
    for path in paths:
        report = reports.get(path.name)
        if report is None or not path.exists():
            continue
        where = settings.paths.rejected if report.status == "failed" else settings.paths.archive
        where.mkdir(parents=True, exist_ok=True)
        names = numbered(path.stem, path.suffix, separator=".", first=1)  # a.csv, a.1.csv, a.2.csv, ...
        target = next(where / name for name in names if not (where / name).exists())
        if report.status == "failed":
            target.with_name(target.name + ".reason.txt").write_text(
                f"{path.name} could not be read, so nothing of it is in the lake; moved here from {path.parent}.\n"
                f"{report.message}\n", encoding="utf-8")
        shutil.move(path, target)
        moved.setdefault(where.name, []).append(path.name)
    return moved


def _record(settings: Settings, night: NightSummary, started_at: datetime, duration_s: float) -> int:
    """The nightly run's own ``runs`` row: every stage's summary and duration."""
    with new_snapshot(settings.lake_path, definition_id(settings)) as (base, writer):
        record_run(base, writer, "nightly", started_at, duration_s, night.to_dict(), **night.ingest.run_counts())
    return writer.snapshot_id
