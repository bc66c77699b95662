"""The ``runs`` table: one row for every run that changed the lake, whatever the command."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import polars as pl

from valmius.columns import RUNS
from valmius.lake import Snapshot, SnapshotWriter


def record_run(base: Snapshot, writer: SnapshotWriter, command: str, started_at: datetime, duration_s: float,
               summary: dict, **counts: int) -> None:
    """Append the run's row to ``runs`` in the snapshot being written.

    ``counts`` fills the count columns (files_read, rows_read, rows_stored, ...); missing ones are 0.
    ``definition_id``: the definition ``base`` was opened for (None for runs that write no derived table).
    """
    runs = base.scan("runs").collect()
    count_columns = [c.name for c in RUNS.columns if c.dtype == pl.Int64 and c.name != "run_id"]
    unknown = set(counts) - set(count_columns)
    if unknown:
        raise ValueError(f"unknown run counts: {sorted(unknown)}")
    record = pl.DataFrame([{
        "run_id": writer.snapshot_id, "command": command, "started_at": started_at,
        "finished_at": datetime.now(timezone.utc), **{name: counts.get(name, 0) for name in count_columns},
        "duration_s": duration_s, "summary_json": json.dumps(summary, ensure_ascii=False, default=str),
        "definition_id": base.definition_id,
    }], schema=RUNS.schema)
    writer.write_table("runs", pl.concat([runs.select(RUNS.names), record], how="vertical_relaxed"))


def last_summary(snapshot: Snapshot, command: str) -> dict:
    """The summary of the last ``command`` run of ``snapshot``'s definition (empty: there was none)."""
    runs = (snapshot.scan("runs").filter(pl.col("command") == command, pl.col("definition_id") == snapshot.definition_id)
            .sort("run_id").collect())
    return json.loads(runs["summary_json"][-1]) if runs.height else {}


def runs_after_last(snapshot: Snapshot, command: str) -> pl.DataFrame:
    """The runs recorded after the last ``command`` run (every run when there was none), in order:
    what changed the lake since, such as the finished stages of a night that was interrupted."""
    runs = snapshot.scan("runs").select("run_id", "command", "definition_id", "summary_json").sort("run_id").collect()
    last = runs.filter(pl.col("command") == command)["run_id"].max()
    return runs if last is None else runs.filter(pl.col("run_id") > last)
