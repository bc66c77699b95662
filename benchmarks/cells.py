"""Cell assignment: points to 1 km cells with INSPIRE-style ids, valmius against DuckDB and pandas.

Times, on the same N random points over Finland (ETRS-TM35FIN metres), the corner and the id
``1kmN{y//1000}E{x//1000}`` of every point:
- valmius ``cells.locate`` (Polars, exact floor even where the division rounds),
- DuckDB ``floor(x / 1000)`` and string concatenation over the same Arrow table,
- pandas ``//`` and string concatenation.
All three must give the same ids. Goal (issue 3): millions of points per second.

    python benchmarks/cells.py [--points 10000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    args = parser.parse_args()
    import duckdb
    import pandas  # noqa: F401  (frame.to_pandas needs it; fail here, before any timing, without it)
    import polars as pl

    from valmius.cells import locate

    rng = np.random.default_rng(1)
    frame = pl.DataFrame({"x_m": rng.uniform(60_000, 740_000, args.points), "y_m": rng.uniform(6_600_000, 7_780_000, args.points)})
    arrow = frame.to_arrow()
    pandas_frame = frame.to_pandas()

    def run_valmius():
        return locate(frame.lazy(), 1000, "EPSG:3067").select("cell_id").collect()["cell_id"]

    def run_duckdb():
        con = duckdb.connect()
        con.register("points", arrow)
        sql = ("select '1kmN' || cast(floor(y_m / 1000) as bigint) || 'E' || cast(floor(x_m / 1000) as bigint) "
               "as cell_id from points")
        return pl.from_arrow(con.sql(sql).arrow()).to_series()

    def run_pandas():
        north = (pandas_frame["y_m"] // 1000).astype("int64").astype(str)
        east = (pandas_frame["x_m"] // 1000).astype("int64").astype(str)
        return pl.Series("cell_id", ("1kmN" + north + "E" + east).to_numpy())

    timings, results = {}, {}
    for name, run in (("valmius cells.locate (Polars)", run_valmius), ("DuckDB floor + concat", run_duckdb),
                      ("pandas // + concat", run_pandas)):
        started = time.perf_counter()
        results[name] = run()
        timings[name] = time.perf_counter() - started
        print(f"{name:<32} {timings[name]:7.2f} s  {args.points / timings[name] / 1e6:6.1f} M points/s", flush=True)
    reference = results["valmius cells.locate (Polars)"]
    for name, ids in results.items():
        if not ids.equals(reference, check_names=False):
            raise SystemExit(f"{name} gives other cell ids than valmius")
    valmius_s = timings["valmius cells.locate (Polars)"]
    rate = args.points / valmius_s / 1e6
    save("cells", {
        "title": "Cells: points to 1 km cells with INSPIRE ids",
        "description": f"{args.points:,} random points over Finland (SYNTHETIC), corner and id per point; one process, same data.",
        "columns": ["tool", "seconds", "M points/s", "valmius speed / tool speed"],
        "rows": [[name, f"{s:.2f}", f"{args.points / s / 1e6:.1f}", f"{s / valmius_s:.2f}"] for name, s in timings.items()],
        "goals": [f"valmius: {rate:.1f} M points/s (goal: millions per second): {'met' if rate >= 1 else 'NOT met'}"],
    })


if __name__ == "__main__":
    main()
