"""Ingest throughput and memory: valmius against Polars, DuckDB and pandas on one Finnish export.

Generates (once, cached in benchmarks/work/) a SYNTHETIC fi-erc export of N unit rows over ten
years with the demo world's generator, then times, each in a fresh process on the same file:
- Polars ``scan_csv -> sink_parquet`` (no validation: the bare cost of CSV to Parquet),
- DuckDB ``COPY (FROM read_csv(...)) TO parquet``,
- ``valmius ingest`` into an empty lake (parse, validate, quarantine, local time to UTC, dedup,
  partitioned atomic write),
- pandas ``read_csv -> to_parquet``.
Each tool runs ``--warmup`` times untimed (1) and then ``--repeat`` times (3), each time in a fresh
process after the files of the run before are flushed to disk; the median time counts. On a virtual
machine the first run of a tool that needs more memory than the one before it pays for the host
handing out fresh memory (valmius: 13.7-15.3 s first, 12.0-13.3 s after); the warm-up run takes that
cost for every tool alike. pandas goes last: it holds 6 GB, and a process started right after it
spent over a second more on page faults in our runs.
Before the timed runs, valmius ingests a 100,000-row export of the same format, untimed, so that its
Numba kernels are compiled and cached.
Goal (issue 2): valmius throughput at least half of bare Polars, peak memory under 4 GB.

    python benchmarks/ingest.py [--rows 10000000] [--warmup 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import WORK, measure, save  # noqa: E402

WARMUP_ROWS = 100_000
EXPORT_SEED = 7


def export_file(rows: int) -> Path:
    path = WORK / f"fi-erc-{rows}.csv"
    if not path.exists():
        from valmius.demo import build_world, write_bulk_export

        WORK.mkdir(parents=True, exist_ok=True)
        print(f"generating {rows:,} rows -> {path}", flush=True)
        write_bulk_export(build_world(0), path, rows, seed=EXPORT_SEED, start=date(2016, 1, 1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each tool before its timed runs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    csv = export_file(args.rows)
    out = WORK / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    peers = {
        "Polars scan_csv -> sink_parquet": f"import polars as pl; pl.scan_csv(r'{csv}', separator=';').sink_parquet(r'{out}/polars.parquet')",
        "DuckDB read_csv -> COPY parquet": f"import duckdb; duckdb.sql('SET enable_progress_bar = false'); duckdb.sql(\"COPY (FROM read_csv('{csv}', delim=';')) TO '{out}/duckdb.parquet'\")",
        "valmius ingest (validated, partitioned lake)": f"from valmius.cli import main; main(['ingest', r'{csv}', '--format', 'fi-erc', '--quiet'])",
        # Last: a process started after pandas (6 GB) spends over a second more on page faults.
        "pandas read_csv -> to_parquet": f"import pandas as pd; pd.read_csv(r'{csv}', sep=';', dtype=str).to_parquet(r'{out}/pandas.parquet')",
    }
    # Fill the Numba cache by the same command on a small export, so that no compilation is timed
    # (kernels compile on their first call; importing them compiles nothing).
    warm = WORK / "ingest-warmup"
    shutil.rmtree(warm, ignore_errors=True)
    warm.mkdir(parents=True)
    measure(peers["valmius ingest (validated, partitioned lake)"].replace(str(csv), str(export_file(WARMUP_ROWS))), warm,
            show_output=False)
    shutil.rmtree(warm)
    timings = {}
    for name, code in peers.items():
        runs = []
        for run in range(args.warmup + args.repeat):
            shutil.rmtree(out / "lake", ignore_errors=True)  # valmius ingests into an empty lake every time
            timed = measure(code, out, show_output=run >= args.warmup)
            if run >= args.warmup:
                runs.append(timed)
        seconds, peak_gb = statistics.median(s for s, _ in runs), max(gb for _, gb in runs)
        timings[name] = (seconds, peak_gb)
        print(f"{name:<46} {seconds:8.1f} s  {args.rows / seconds / 1e6:6.2f} M rows/s  peak {peak_gb:5.2f} GB  "
              f"(runs {', '.join(f'{s:.1f}' for s, _ in runs)})", flush=True)
    polars_s = timings["Polars scan_csv -> sink_parquet"][0]
    valmius_s, valmius_gb = timings["valmius ingest (validated, partitioned lake)"]
    ratio = polars_s / valmius_s
    print(f"valmius throughput / bare Polars = {ratio:.2f} (goal >= 0.5); peak memory {valmius_gb:.2f} GB (goal < 4)")
    rows = [[name, f"{s:.1f}", f"{args.rows / s / 1e6:.2f}", f"{polars_s / s:.2f}", f"{gb:.2f}"] for name, (s, gb) in timings.items()]
    save("ingest", {
        "title": "Ingest: Finnish export to the lake",
        "description": f"One SYNTHETIC fi-erc export of {args.rows:,} unit rows ({csv.stat().st_size / 1e9:.2f} GB), ten years; "
                       f"each tool {args.warmup} time(s) untimed, then {args.repeat} times, each time in a fresh process "
                       "(median seconds, largest peak), pandas last (the process after it pays for the memory it held).",
        "columns": ["tool", "seconds", "M rows/s", "throughput / bare Polars", "peak memory GB"],
        "rows": rows,
        "goals": [f"valmius throughput / bare Polars: {ratio:.2f} (goal at least 0.5): {'met' if ratio >= 0.5 else 'NOT met'}",
                  f"valmius peak memory: {valmius_gb:.2f} GB (goal under 4 GB): {'met' if valmius_gb < 4 else 'NOT met'}"],
    })
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
