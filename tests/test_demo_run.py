"""The bundled sample exports and the demo run, end to end."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from conftest import table
from valmius.cli import main
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
    # The lake's tables with their rows; the one definition is one row.
    assert first.table_rows["definitions"] == 1 and re.search(r"\n  definitions +1 row\n", first.to_text())
    again = run_demo(tmp_path / "demo", nights=3)
    assert all(n.run_id is None for n in again.nights)
    assert again.table_rows == first.table_rows
    # Run again, it still says what the flags found and where the report is.
    flags_line = next(line for line in first.to_text().splitlines() if line.startswith("Flags for the window"))
    assert flags_line in again.to_text().splitlines()
    assert f"the report and the review written before are in {tmp_path / 'demo' / 'reports'}" in again.to_text()


def test_the_demo_summary_ends_with_sql_commands_that_run(tmp_path, monkeypatch):
    """The commands the demo prints for trying SQL work as printed, from the folder it ran in."""
    monkeypatch.chdir(tmp_path)
    lines = run_demo(Path("demo"), nights=3).to_text().splitlines()
    commands = [line.removeprefix("SQL:").strip() for line in lines[lines.index(next(l for l in lines if l.startswith("SQL:"))):]]
    assert len(commands) == 3 and all(c.startswith("valmius --config demo/valmius.toml sql ") for c in commands)
    for command in commands:
        done = CliRunner().invoke(main, shlex.split(command)[1:])
        assert done.exit_code == 0, (command, done.output)
        if command.endswith("--list"):
            assert "class_i_by_month\n  How fast" in done.output
        else:
            assert re.search(r"\b[1-9][\d,]* rows?\b", done.output), done.output  # the table's caption
