"""A killed run leaves every table as it was before or after; two runs never write at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import fi_row, write_fi
from valmius.errors import LakeError
from valmius.lake import lake_lock, open_lake

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


@pytest.mark.parametrize("delay_s", [0.3, 0.8, 1.3, 1.8, 2.4, 3.0])
def test_killed_ingest_leaves_lake_before_or_after(tmp_path, delay_s):
    work = tmp_path
    first = _export(work / "first.csv", 0, 3000)
    second = _export(work / "second.csv", 2000, 30000)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(_ingest_cmd(work, first), cwd=work, env=env, check=False, capture_output=True)
    before = _state(work / "lake")
    assert before["units"] == 3000
    proc = subprocess.Popen(_ingest_cmd(work, second), cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    seen = _state(work / "lake")
    after = {"units": 32000, "incidents": 32000, "files": 2}
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
