"""The bundled sample exports and the demo run, end to end."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from conftest import table
from valmius.demo.run import run_demo
from valmius.ingest import ingest
from valmius.mapping import load_mapping

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "demo" / "sample"


def test_bundled_week_across_the_october_change(settings):
    files = sorted(SAMPLE.glob("demo-synthetic-fi-erc-*.csv"))
    assert len(files) == 7
    reads = 0
    for file in files:
        summary = ingest([file], load_mapping("fi-erc"), settings)
        assert not summary.failed
        reads += summary.rows_read
    units, quarantine = table(settings, "units"), table(settings, "quarantine")
    assert units.height + quarantine.height == reads
    assert units.select("incident_id", "unit_id").is_duplicated().sum() == 0
    # Overlapping exports repeat rows; the repeats are kept in quarantine, not lost.
    assert quarantine.filter(pl.col("reason_code") == "duplicate").height > 0
    # The night of 26 October has the repeated hour: rows from it are stored in order.
    night = units.filter(pl.col("call_at").dt.date() == pl.date(2025, 10, 26))
    assert night.height > 0
    assert night.filter(pl.col("alarm_at") < pl.col("call_at")).height == 0


def test_demo_runs_night_by_night_and_again_quickly(tmp_path):
    first = run_demo(tmp_path / "demo", nights=3)
    assert len(first.nights) == 3 and first.table_rows["files"] == 3
    assert "SYNTHETIC" in first.to_text()
    again = run_demo(tmp_path / "demo", nights=3)
    assert all(n.run_id is None for n in again.nights)
    assert again.table_rows == first.table_rows
