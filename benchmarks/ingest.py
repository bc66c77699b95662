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
from _common import WORK, Run, measure, save  # noqa: E402

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
        timed = Run(statistics.median(run.seconds for run in runs), max(run.peak_gb for run in runs),
                    *(statistics.median(getattr(run, field) for run in runs) for field in ("user_s", "system_s", "faulted_gb")))
        timings[name] = timed
        print(f"{name:<46} {timed.seconds:8.1f} s  {args.rows / timed.seconds / 1e6:6.2f} M rows/s  peak "
              f"{timed.peak_gb:5.2f} GB  CPU {timed.user_s:.1f} user + {timed.system_s:.1f} system s, "
              f"{timed.faulted_gb:.1f} GB faulted  (runs {', '.join(f'{run.seconds:.1f}' for run in runs)})", flush=True)
    polars_s = timings["Polars scan_csv -> sink_parquet"].seconds
    valmius_s, valmius_gb = timings["valmius ingest (validated, partitioned lake)"][:2]
    ratio = polars_s / valmius_s
    print(f"valmius throughput / bare Polars = {ratio:.2f} (goal >= 0.5); peak memory {valmius_gb:.2f} GB (goal < 4)")
    rows = [[name, f"{t.seconds:.1f}", f"{args.rows / t.seconds / 1e6:.2f}", f"{polars_s / t.seconds:.2f}",
             f"{t.peak_gb:.2f}", f"{t.user_s:.1f} + {t.system_s:.1f}", f"{t.faulted_gb:.1f}"] for name, t in timings.items()]
    save("ingest", {
        "title": "Ingest: Finnish export to the lake",
        "description": f"One SYNTHETIC fi-erc export of {args.rows:,} unit rows ({csv.stat().st_size / 1e9:.2f} GB), ten years; "
                       f"each tool {args.warmup} time(s) untimed, then {args.repeat} times, each time in a fresh process "
                       "(median seconds, largest peak), pandas last (the process after it pays for the memory it held). "
                       "CPU: median seconds of all threads in user mode + in the kernel (system); memory faulted: "
                       "minor page faults x the page size, memory the process touched for the first time.",
        "columns": ["tool", "seconds", "M rows/s", "throughput / bare Polars", "peak memory GB", "CPU s: user + system",
                    "memory faulted GB"],
        "rows": rows,
        "goals": [f"valmius throughput / bare Polars: {ratio:.2f} (goal at least 0.5): {'met' if ratio >= 0.5 else 'NOT met'}",
                  f"valmius peak memory: {valmius_gb:.2f} GB (goal under 4 GB): {'met' if valmius_gb < 4 else 'NOT met'}"],
    })
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
