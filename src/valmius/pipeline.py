"""The nightly run, in one screen: read the inbox, ingest, measure, refresh the SQL catalog.

    exports in paths.inbox ──ingest──▶ units, incidents, quarantine   (valmius.ingest)
    risk grid (cells) + units ──measure──▶ responses, rolling_*       (valmius.measure)
    lake tables ──catalog──▶ paths.catalog: a DuckDB view per table    (valmius.catalog)

Each step commits atomically on its own; a failed step leaves the lake as the previous step left
it, and the next night picks up from there (ingested files are known by their content hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from valmius.catalog import refresh_catalog
from valmius.errors import InputError
from valmius.ingest import IngestSummary, ProgressCallback, ingest
from valmius.mapping import Mapping
from valmius.measure import MeasureSummary, measure
from valmius.settings import Settings


@dataclass
class NightSummary:
    ingest: IngestSummary
    measure: MeasureSummary

    def to_text(self) -> str:
        return f"{self.ingest.to_text()}\n{self.measure.to_text()}"


def inbox_files(settings: Settings) -> list[Path]:
    """Export files waiting in the inbox folder, oldest name first (nightly exports sort by date)."""
    inbox = settings.paths.inbox
    if not inbox.is_dir():
        raise InputError(f"{inbox}: inbox folder not found; set [paths] inbox or give the files to ingest")
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


def nightly(settings: Settings, mapping: Mapping, files: Sequence[Path] | None = None, *,
            progress: ProgressCallback | None = None) -> NightSummary:
    """Ingest ``files`` (default: the inbox; files seen before are skipped), measure, refresh the catalog."""
    ingested = ingest(list(files) if files else inbox_files(settings), mapping, settings, progress=progress)
    night = NightSummary(ingested, measure(settings))
    refresh_catalog(settings)
    return night
