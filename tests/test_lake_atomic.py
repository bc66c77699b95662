"""A killed run leaves every table as it was before or after; two runs never write at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from conftest import fi_row, write_fi
from valmius.columns import TABLES
from valmius.errors import LakeError
from valmius.lake import SPARE, Snapshot, lake_lock, new_snapshot, open_lake

ROOT = Path(__file__).resolve().parents[1]


def _export(path: Path, start: int, n: int) -> Path:
    rows = [fi_row(incident=f"i{i}", call=f"{1 + i % 28}.{1 + i % 12}.2025 07:05:09",
                   alarm=f"{1 + i % 28}.{1 + i % 12}.2025 07:06:30", en_route=f"{1 + i % 28}.{1 + i % 12}.2025 07:07:25",
                   on_scene=f"{1 + i % 28}.{1 + i % 12}.2025 07:12:40", free=f"{1 + i % 28}.{1 + i % 12}.2025 08:01:00")
            for i in range(start, start + n)]
    return write_fi(path, rows)


def _state(lake: Path) -> dict[str, int]:
    """Row counts per table as an outside reader (DuckDB, no valmius recovery) sees them."""
    counts = {}
    for table in ("units", "incidents", "files"):
        files = list((lake / table).rglob("*.parquet")) if (lake / table).exists() else []
        if not files:
            counts[table] = 0
            continue
        glob = str(lake / table / "**" / "*.parquet")
        counts[table] = duckdb.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning = true)").fetchall()[0][0]
    return counts


def _ingest_cmd(lake_parent: Path, export: Path) -> list[str]:
    return [sys.executable, "-m", "valmius.cli", "ingest", str(export), "--format", "fi-erc", "--quiet"]


@pytest.mark.parametrize("earlier, delay_s", [(1, d) for d in (0.3, 0.8, 1.3, 1.8, 2.4, 3.0)] + [(3, d) for d in (0.8, 1.8, 3.0)])
def test_killed_ingest_leaves_lake_before_or_after(tmp_path, earlier, delay_s):
    """After three earlier runs the killed run builds its snapshot from the spare (a recycled one)."""
    work = tmp_path
    second = _export(work / "second.csv", 2000, 30000)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for k in range(earlier):
        n = 3000 // earlier
        first = _export(work / f"first-{k}.csv", k * n, n)
        subprocess.run(_ingest_cmd(work, first), cwd=work, env=env, check=False, capture_output=True)
    assert (work / "lake" / SPARE).is_dir() == (earlier >= 3)
    before = _state(work / "lake")
    assert before["units"] == 3000
    proc = subprocess.Popen(_ingest_cmd(work, second), cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    seen = _state(work / "lake")
    after = {"units": 32000, "incidents": 32000, "files": earlier + 1}
    assert seen in (before, after)
    # The next run recovers and finishes the work exactly once.
    subprocess.run(_ingest_cmd(work, second), cwd=work, env=env, check=False, capture_output=True)
    assert _state(work / "lake") == after
    leftovers = [p.name for p in (work / "lake" / ".snapshots").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_second_writer_gets_a_clear_error(tmp_path):
    with lake_lock(tmp_path / "lake"):
        with pytest.raises(LakeError, match="busy"):
            with lake_lock(tmp_path / "lake"):
                pass


def test_damaged_current_pointer_is_reported(tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "CURRENT").write_text("7\n")
    with pytest.raises(LakeError, match="snapshot 7"):
        open_lake(lake)


def _units(incident: str, month: int) -> pl.DataFrame:
    row = {"incident_id": incident, "unit_id": "KU101", "call_at": datetime(2025, month, 3, tzinfo=timezone.utc),
           "source_file": "f.csv", "source_row": 2, "file_seq": 1}
    return pl.DataFrame([row]).with_columns(pl.col("call_at").cast(TABLES["units"].schema["call_at"])).select(
        pl.col(name).cast(dtype) if name in row else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in TABLES["units"].schema.items())


def _commit(lake: Path, writes: dict[int, pl.DataFrame]) -> Snapshot:
    with new_snapshot(lake) as (_, writer):
        for month, frame in writes.items():
            writer.write_partition("units", (2025, month), frame)
    return open_lake(lake)


def test_a_recycled_snapshot_holds_exactly_the_committed_files(tmp_path):
    """From the fourth commit on, a run starts from an older snapshot (the spare): partitions it
    holds that are gone must go, rewritten ones must not be written through links that the kept
    snapshots share, and unchanged ones stay the same file."""
    lake = tmp_path / "lake"
    _commit(lake, {1: _units("a", 1), 2: _units("b", 2)})
    _commit(lake, {3: _units("c", 3)})
    third = _commit(lake, {1: _units("a", 1).clear()})  # January emptied
    assert (lake / SPARE).is_dir()  # the first snapshot, superseded twice
    b_before = third.partition_file("units", (2025, 2)).read_bytes()
    fourth = _commit(lake, {2: _units("b2", 2), 4: _units("d", 4)})
    assert (lake / SPARE).is_dir()  # the second snapshot now
    assert fourth.partitions("units") == [(2025, 2), (2025, 3), (2025, 4)]
    assert sorted(fourth.scan("units").collect()["incident_id"].to_list()) == ["b2", "c", "d"]
    assert third.partition_file("units", (2025, 2)).read_bytes() == b_before  # the kept snapshot is untouched
    assert os.path.samefile(third.partition_file("units", (2025, 3)), fourth.partition_file("units", (2025, 3)))
    assert not (fourth.folder / "units" / "year=2025" / "month=1").exists()
    for _ in range(3):  # spares go round: every later snapshot is the lake as written
        latest = _commit(lake, {5: _units("e", 5)})
        assert sorted(latest.scan("units").collect()["incident_id"].to_list()) == ["b2", "c", "d", "e"]
        glob = str(lake / "units" / "**" / "*.parquet")
        assert duckdb.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning = true)").fetchall()[0][0] == 4
