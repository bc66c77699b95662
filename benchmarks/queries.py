"""The query library on a lake of 10 million unit rows, against the same questions asked of the raw CSV.

Builds once (cached in benchmarks/work/queries-project/) a project whose lake holds the SYNTHETIC
fi-erc export of the ingest benchmark (N unit rows over ten years, from the demo world's
generator): the export is ingested, the demo world's risk grid imported for each of its years, the
responses and rolling tables measured and the catalog written. Then, in this process:

- every file of queries/ runs through ``valmius.sql.run_query`` with its default parameters (the
  latest year): the median of ``--repeat`` runs, each opening the catalog afresh;
- the questions that the raw export can answer run through DuckDB over the raw CSV file: the very
  same query text, on an in-memory DuckDB where ``units`` and ``responses`` are views computed from
  ``read_csv`` (times parsed as Europe/Helsinki wall-clock time, the response time of an incident
  as earliest alarm to earliest on scene, the first unit by on-scene time, the risk class and cell
  from the export's own columns, urgent = A and B) with the catalog's macros. The export keeps its
  defects (duplicates, bad times), so the answers differ a little: the time is what is compared.
  The quarantine and the risk-grid assignment exist only in the lake, so data_quality and
  grid_coverage have no CSV counterpart. Each CSV question runs once. The lake answers from the
  responses table that measure wrote once; over the CSV every question derives them again, which
  is what asking the raw export costs.

Goal (issue 6): each query of the library within 1-2 s on 2 cores. Ratio: CSV time / lake time.

    python benchmarks/queries.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import WORK, save  # noqa: E402
from ingest import export_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "queries"
GOAL_S = 2.0
LAKE_ONLY = {"data_quality.sql": "quarantine exists only in the lake",
             "grid_coverage.sql": "risk-grid assignment exists only in the lake"}


def build_project(rows: int) -> Path:
    """The benchmark's project folder: lake, grids, measured tables and catalog (built once)."""
    from valmius.catalog import refresh_catalog
    from valmius.demo import build_world, write_world
    from valmius.grid import import_risk_grid
    from valmius.ingest import ingest
    from valmius.mapping import load_mapping
    from valmius.measure import measure
    from valmius.settings import load_settings

    folder = WORK / f"queries-project-{rows}"
    done = folder / "built.json"
    if done.exists():
        return folder
    csv = export_file(rows)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "valmius.toml").write_text('[paths]\nlake = "lake"\ncatalog = "valmius.duckdb"\n')
    settings = load_settings(folder / "valmius.toml")
    steps = {}
    started = time.perf_counter()
    summary = ingest([csv], load_mapping("fi-erc"), settings)
    steps["ingest_s"] = time.perf_counter() - started
    print(f"ingested {summary.rows_stored:,} rows in {steps['ingest_s']:.0f} s", flush=True)
    years = range(2016, 2027)
    write_world(build_world(0), folder / "world", years=years)
    for year in years:
        import_risk_grid(folder / "world" / f"risk_grid_{year}.csv", year, settings)
    started = time.perf_counter()
    measured = measure(settings)
    steps["measure_s"] = time.perf_counter() - started
    print(f"{measured.to_text()}", flush=True)
    refresh_catalog(settings)
    done.write_text(json.dumps({"rows": rows, "units": summary.rows_stored, "incidents": measured.incidents,
                                "measured": measured.measured, **steps}, indent=2) + "\n")
    return folder


def csv_connection(csv: Path, settings):
    """An in-memory DuckDB whose units and responses views are computed from the raw export."""
    import duckdb

    from valmius.catalog import macro_sql

    con = duckdb.connect()
    macros = macro_sql(settings)
    after_views = [m for m in macros if "FROM responses" in m]  # latest_year() reads the responses view
    for statement in macros:
        if statement not in after_views:
            con.execute(statement)
    zone = settings.time.zone
    local = lambda column: f"timezone('{zone}', try_strptime(\"{column}\", '%d.%m.%Y %H:%M:%S'))"  # noqa: E731
    con.execute(f"""
        CREATE VIEW units AS
        SELECT "Tehtävänumero" AS incident_id, "Yksikkö" AS unit_id, "Asema" AS station_id,
               "Kiireellisyys" AS urgency, "Tehtävälaji" AS task_type, "Kuntanumero" AS municipality_code,
               "Riskiruutu" AS cell_id, "Riskiluokka" AS risk_class,
               {local('Vastaanotettu')} AS call_at, {local('Hälytetty')} AS alarm_at,
               {local('Matkalla')} AS en_route_at, {local('Kohteessa')} AS on_scene_at,
               year(timezone('UTC', {local('Vastaanotettu')})) AS year
        FROM read_csv('{csv}', delim = ';', header = true, all_varchar = true)""")
    con.execute("""
        CREATE VIEW responses AS
        WITH incidents AS (
            SELECT incident_id, min(call_at) AS call_at, min(alarm_at) AS alarm_at, min(on_scene_at) AS on_scene_at,
                   arg_min(station_id, (on_scene_at, alarm_at, unit_id)) FILTER (WHERE on_scene_at IS NOT NULL) AS station_id,
                   arg_min(epoch(en_route_at) - epoch(alarm_at), (on_scene_at, alarm_at, unit_id))
                       FILTER (WHERE on_scene_at IS NOT NULL) AS turnout_s,
                   arg_min(epoch(on_scene_at) - epoch(en_route_at), (on_scene_at, alarm_at, unit_id))
                       FILTER (WHERE on_scene_at IS NOT NULL) AS travel_s,
                   count(*) AS units_counted, any_value(urgency) AS urgency, any_value(task_type) AS task_type,
                   any_value(municipality_code) AS municipality_code, any_value(cell_id) AS cell_id,
                   any_value(risk_class) AS risk_class, min(year) AS year
            FROM units
            GROUP BY incident_id
        )
        SELECT *, CAST(epoch(on_scene_at) - epoch(alarm_at) AS BIGINT) AS response_s,
               CAST(epoch(alarm_at) - epoch(call_at) AS BIGINT) AS erc_s,
               urgency IN ('A', 'B') AS is_urgent,
               urgency IN ('A', 'B') AND on_scene_at IS NOT NULL AND alarm_at IS NOT NULL AS is_measured,
               target_s(risk_class) AS target_s,
               CASE WHEN alarm_at IS NULL THEN 'no_alarm_time' WHEN on_scene_at IS NULL THEN 'no_unit_arrived' END
                   AS no_response_reason,
               year(local_time(call_at)) AS grid_year
        FROM incidents""")
    for statement in after_views:
        con.execute(statement)
    return con


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from valmius.settings import load_settings
    from valmius.sql import read_query, run_query

    folder = build_project(args.rows)
    built = json.loads((folder / "built.json").read_text())
    settings = load_settings(folder / "valmius.toml")
    csv = export_file(args.rows)
    run_query(settings, "SELECT 1")  # the catalog is fresh before anything is timed
    results = []
    for path in sorted(QUERIES.glob("*.sql")):
        times, frame = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            frame = run_query(settings, path)
            times.append(time.perf_counter() - started)
        lake_s = statistics.median(times)
        row = {"query": path.name, "lake_s": lake_s, "rows": frame.height, "csv_s": None}
        if path.name not in LAKE_ONLY:
            query = read_query(path)
            defaults = {name: p.default for name, p in query.parameters.items()}
            body = query.text.rstrip().rstrip(";")
            con = csv_connection(csv, settings)
            started = time.perf_counter()
            con.sql(body, params=defaults or None).pl()
            row["csv_s"] = time.perf_counter() - started
            con.close()
        results.append(row)
        csv_text = f"{row['csv_s']:8.2f} s  CSV/lake {row['csv_s'] / lake_s:6.1f}" if row["csv_s"] else "   (lake only)"
        print(f"{path.name:<34} lake {lake_s:6.3f} s  {frame.height:>5} rows   CSV {csv_text}", flush=True)
    slowest = max(results, key=lambda r: r["lake_s"])
    ratios = [r["csv_s"] / r["lake_s"] for r in results if r["csv_s"]]
    print(f"slowest query {slowest['query']}: {slowest['lake_s']:.2f} s (goal <= {GOAL_S:.0f} s); "
          f"CSV / lake: {min(ratios):.0f}x to {max(ratios):.0f}x")
    table_rows = [[r["query"], f"{r['lake_s']:.3f}", r["rows"], f"{r['csv_s']:.2f}" if r["csv_s"] else LAKE_ONLY[r["query"]],
                   f"{r['csv_s'] / r['lake_s']:.0f}" if r["csv_s"] else ""] for r in results]
    save("queries", {
        "title": "Query library: the lake's catalog against DuckDB over the raw CSV",
        "description": (f"Each file of queries/ with its default parameters (the latest year) on a lake of "
                        f"{built['units']:,} unit rows ({built['incidents']:,} incidents, ten SYNTHETIC years; ingest "
                        f"{built['ingest_s']:.0f} s, measure {built['measure_s']:.0f} s): median of {args.repeat} runs of "
                        f"run_query, each opening the catalog. CSV: the same query text on DuckDB views over the raw "
                        f"{csv.stat().st_size / 1e9:.1f} GB export, one run. The lake answers from the responses table "
                        f"that measure wrote once (nightly runs update it incrementally); over the CSV every question "
                        f"derives each incident's response from the raw rows again."),
        "columns": ["query", "lake seconds", "result rows", "raw CSV seconds", "CSV / lake"],
        "rows": table_rows,
        "goals": [f"slowest query on the lake: {slowest['query']} {slowest['lake_s']:.2f} s (goal at most "
                  f"{GOAL_S:.0f} s): {'met' if slowest['lake_s'] <= GOAL_S else 'NOT met'}",
                  f"raw CSV / lake: {min(ratios):.0f}x to {max(ratios):.0f}x (median "
                  f"{statistics.median(ratios):.0f}x)"],
    })


if __name__ == "__main__":
    main()
