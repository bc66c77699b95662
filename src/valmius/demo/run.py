"""The demo: a SYNTHETIC year of the Central Uusimaa demo world, ingested night by night.

``valmius demo`` (and ``make demo``) writes the demo world and one year of overlapping nightly
exports into a folder (reused when already there), imports the world's risk grids, ingests the
exports one night at a time as a department's nightly job would, measures response times and
rolling medians, flags the class I cells and areas over target, writes the SQL catalog
(valmius.duckdb), the report and the year's service-level review, and prints the summary of the
whole year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from valmius.catalog import refresh_catalog
from valmius.columns import TABLES
from valmius.demo.generate import write_nightly_exports
from valmius.demo.world import build_world, write_world
from valmius.flags import FlagSummary, flag, last_flag_summary
from valmius.labels import english_count
from valmius.report import ReportResult, write_report
from valmius.review import ReviewResult, write_review
from valmius.grid import GridStatus, grid_status, grid_years, import_risk_grid
from valmius.ingest import IngestSummary, ingest
from valmius.definitions import open_results
from valmius.lake import open_lake
from valmius.mapping import load_mapping
from valmius.measure import MeasureSummary, measure
from valmius.settings import load_settings
from valmius.sql import QUERY_LIBRARY

DEMO_SETTINGS = """\
# Settings of the SYNTHETIC demo world (valmius demo). Paths are relative to this file.
[paths]
lake = "lake"
inbox = "inbox"                   # valmius nightly reads new exports here; the demo's own (exports/) are in the lake
catalog = "valmius.duckdb"
stations = "world/stations.csv"   # station locations, for valmius scenario --move
"""
EARLIER_DEMO_SETTINGS = """\
# Settings of the SYNTHETIC demo world (valmius demo). Paths are relative to this file.
[paths]
lake = "lake"
inbox = "exports"
catalog = "valmius.duckdb"
stations = "world/stations.csv"   # station locations, for valmius scenario --move
"""
"""The settings file of earlier demos, whose inbox was the folder of the exports the demo ingests: a
first valmius nightly found all of them waiting and archived them. Replaced when found unedited."""


@dataclass
class DemoSummary:
    folder: Path
    nights: list[IngestSummary] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    grid: GridStatus | None = None
    measured: MeasureSummary | None = None
    flags: FlagSummary | None = None
    report: ReportResult | None = None
    review: ReviewResult | None = None
    reports_folder: Path | None = None
    """Where the reports written by an earlier run are (set when this run wrote none)."""
    inbox: Path | None = None
    """The settings' inbox folder, for valmius nightly."""

    def to_text(self) -> str:
        reasons: dict[str, int] = {}
        for night in self.nights:
            for code, count in night.reasons.items():
                reasons[code] = reasons.get(code, 0) + count
        read = sum(n.rows_read for n in self.nights)
        lines = [
            "valmius demo: SYNTHETIC Central Uusimaa dispatch data (not real incidents)",
            f"Nights ingested:  {len(self.nights):>10,}",
            f"Rows read:        {read:>10,}",
            f"Rows stored:      {sum(n.rows_stored for n in self.nights):>10,}",
            f"Rows quarantined: {sum(n.rows_quarantined for n in self.nights):>10,}",
        ]
        lines += [f"  {code:<28}{count:>8,}" for code, count in sorted(reasons.items(), key=lambda kv: -kv[1])]
        lines.append(
            f"Rows repeated by overlapping exports: {sum(n.rows_duplicate for n in self.nights):,} identical, "
            f"{sum(n.rows_replaced for n in self.nights):,} corrected later (older versions kept in quarantine)"
        )
        if self.grid is not None:
            lines.append(self.grid.to_text())
        if self.measured is not None:
            lines.append(self.measured.to_text())
        if self.flags is not None:
            lines.append(self.flags.to_text())
        if self.report is not None:
            lines.append(self.report.to_text())
        if self.review is not None:
            lines.append(self.review.to_text())
        if self.reports_folder is not None:
            lines.append(f"No new exports: the report and the review written before are in {self.reports_folder}")
        lines.append(f"Lake {self.folder / 'lake'}:")
        lines += [f"  {name:<18}{english_count(rows, 'row'):>15}" for name, rows in self.table_rows.items()]
        config = self.folder / "valmius.toml"
        if self.inbox is not None:
            lines.append(f"Nightly: valmius --config {config} nightly --format fi-erc (reads new exports from "
                         f"{self.inbox}; the demo's own are in the lake already)")
        lines.append(f"SQL: valmius --config {config} sql -c \"select * from incidents limit 5\"")
        if (QUERY_LIBRARY / "class_i_by_month.sql").exists():  # the ready queries
            lines += [f"     valmius --config {config} sql class_i_by_month", f"     valmius --config {config} sql --list"]
        return "\n".join(lines)


def run_demo(
    folder: Path,
    *,
    year: int = 2025,
    seed: int = 1,
    nights: int | None = None,
    on_night: Callable[[int, int, IngestSummary], None] | None = None,
) -> DemoSummary:
    """Write (or reuse) the demo world and a year of nightly exports in ``folder``; ingest them in order.

    ``nights`` limits how many nights are ingested (all of the year by default). Nights already
    ingested are skipped by the lake's manifest, so running the demo again is quick.
    """
    folder.mkdir(parents=True, exist_ok=True)
    settings_file = folder / "valmius.toml"
    if not settings_file.exists() or settings_file.read_text(encoding="utf-8") == EARLIER_DEMO_SETTINGS:
        settings_file.write_text(DEMO_SETTINGS, encoding="utf-8")
    settings = load_settings(settings_file)
    settings.paths.inbox.mkdir(parents=True, exist_ok=True)  # empty: valmius nightly finds nothing waiting
    exports = folder / "exports"
    files = sorted(exports.glob("demo-synthetic-fi-erc-*.csv"))
    grid_years_wanted = (year - 1, year)  # the first nights' exports reach back into the previous year
    if not files:
        world = build_world(seed=0)
        write_world(world, folder / "world", years=grid_years_wanted)
        files = write_nightly_exports(world, exports, date(year, 1, 1), date(year + 1, 1, 1), seed=seed)
    stored = grid_years(open_lake(settings.lake_path))
    for grid_year in grid_years_wanted:
        if grid_year not in stored:
            import_risk_grid(folder / "world" / f"risk_grid_{grid_year}.csv", grid_year, settings)
    files = sorted(files)[: nights if nights is not None else len(files)]
    mapping = load_mapping("fi-erc")
    summary = DemoSummary(folder, inbox=settings.paths.inbox)
    for index, file in enumerate(files):
        night = ingest([file], mapping, settings)
        summary.nights.append(night)
        if on_night:
            on_night(index + 1, len(files), night)
    changed = any(night.run_id is not None for night in summary.nights) or not open_results(settings).partitions("responses")
    if changed:
        summary.measured = measure(settings)
        summary.flags = flag(settings)
    refresh_catalog(settings)
    if changed or not settings.paths.reports.exists():
        summary.report = write_report(settings)
        summary.review = write_review(settings, first_year=year, last_year=year)
    lake = open_results(settings)
    if not changed:  # run again on the same exports: what the first run found
        summary.flags = last_flag_summary(lake)
    if summary.report is None:  # and where it wrote the report and the review
        summary.reports_folder = settings.paths.reports
    summary.table_rows = {name: lake.scan(name).select(pl.len()).collect().item() for name in TABLES}
    summary.grid = grid_status(settings)
    return summary
