"""The nightly run, in one screen: read the inbox, ingest, measure, flag, report.

    exports in paths.inbox ──ingest──▶ units, incidents, quarantine   (valmius.ingest)
    risk grid (cells) + units ──measure──▶ responses, rolling_*       (valmius.measure)
    responses + rolling_calendar ──flag──▶ flags, areas               (valmius.flags)
    the lake ──report──▶ paths.reports/<date>/report.html, charts, GIS (valmius.report)

Each step commits atomically on its own; a failed step leaves the lake as the previous step left
it, and the next night picks up from there (ingested files are known by their content hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from valmius.errors import InputError
from valmius.flags import FlagSummary, flag
from valmius.ingest import IngestSummary, ProgressCallback, ingest
from valmius.mapping import Mapping
from valmius.measure import MeasureSummary, measure
from valmius.report import ReportResult, write_report
from valmius.settings import Settings


@dataclass
class NightSummary:
    ingest: IngestSummary
    measure: MeasureSummary
    flags: FlagSummary
    report: ReportResult

    def to_text(self) -> str:
        return "\n".join(s.to_text() for s in (self.ingest, self.measure, self.flags, self.report))


def inbox_files(settings: Settings) -> list[Path]:
    """Export files waiting in the inbox folder, oldest name first (nightly exports sort by date)."""
    inbox = settings.paths.inbox
    if not inbox.is_dir():
        raise InputError(f"{inbox}: inbox folder not found; set [paths] inbox or give the files to ingest")
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


def nightly(settings: Settings, mapping: Mapping, files: Sequence[Path] | None = None, *,
            progress: ProgressCallback | None = None) -> NightSummary:
    """Ingest ``files`` (default: the inbox; files seen before are skipped), measure, flag, report."""
    ingested = ingest(list(files) if files else inbox_files(settings), mapping, settings, progress=progress)
    measured = measure(settings)
    flagged = flag(settings)
    return NightSummary(ingested, measured, flagged, write_report(settings))
