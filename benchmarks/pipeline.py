"""The whole pipeline at scale: a full rebuild, one incremental night, and a hand-written DuckDB script.

Ten years of SYNTHETIC exports (10 million unit rows by default, the demo world's generator, the
same file as benchmarks/ingest.py), with the world's risk grid for every year. Each step runs in a
fresh process:
- valmius full rebuild: `valmius ingest` of the export into an empty lake, `valmius measure
  --full` (responses, rolling medians per department, class, municipality, station and cell, at
  every task and every month), `valmius flag` (cells and areas), one after the other;
- a hand-written DuckDB SQL script that computes the same per-incident response times (earliest
  counted alarm to earliest on scene, local time to UTC) and per-cell trailing 365-day medians at
  every task, from the same CSV;
- one incremental night on top of the rebuilt lake: `valmius nightly` with the next night's export
  (ingest, measure, flag, catalog; and again with the report). The night's export is written at the
  ten years' incident rate (about 54x the demo department for 10 million rows) and covers the two
  days before it, the last of the year and the first of the next: like every first night of a
  month, it adds a month to the monthly rolling tables of every group.
Before the timed steps, every step runs once, untimed, on a 100,000-row export, so that the Numba
kernels are compiled and cached (as after a department's first night) and no step is charged for it.
Goals (issue 7): full rebuild within 2x of the DuckDB script; an incremental night at least 20x
faster than the full rebuild; peak memory under 6 GB.

    python benchmarks/pipeline.py [--rows 10000000] [--repeat 3]
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
from ingest import EXPORT_SEED, export_file  # noqa: E402

FIRST_YEAR, YEARS = 2016, 10
WARMUP_ROWS = 100_000

DUCKDB_SCRIPT = """
SET enable_progress_bar = false;
CREATE TEMP TABLE raw AS
SELECT "Tehtävänumero" AS incident_id, "Kiireellisyys" AS urgency,
       strptime("Vastaanotettu", '%d.%m.%Y %H:%M:%S') AT TIME ZONE 'Europe/Helsinki' AS call_at,
       try_strptime("Hälytetty", '%d.%m.%Y %H:%M:%S') AT TIME ZONE 'Europe/Helsinki' AS alarm_at,
       try_strptime("Kohteessa", '%d.%m.%Y %H:%M:%S') AT TIME ZONE 'Europe/Helsinki' AS on_scene_at,
       TRY_CAST(replace("Koordinaatti_E", ',', '.') AS DOUBLE) AS x_m,
       TRY_CAST(replace("Koordinaatti_N", ',', '.') AS DOUBLE) AS y_m
FROM read_csv('{csv}', delim=';', header=true, all_varchar=true);
CREATE TEMP TABLE responses AS
SELECT incident_id, min(call_at) AS call_at,
       date_diff('second', min(alarm_at), min(on_scene_at)) AS response_s,
       '1kmN' || CAST(floor(any_value(y_m) / 1000) AS BIGINT) || 'E' || CAST(floor(any_value(x_m) / 1000) AS BIGINT) AS cell_id
FROM raw WHERE urgency IN ('A', 'B') GROUP BY incident_id;
COPY (
  SELECT incident_id, cell_id, call_at, response_s,
         median(response_s) OVER (PARTITION BY cell_id ORDER BY call_at
                                  RANGE BETWEEN INTERVAL 365 DAYS PRECEDING AND CURRENT ROW) AS median_s
  FROM responses WHERE response_s IS NOT NULL
) TO '{out}/duckdb_cell_medians.parquet';
"""


def _prepare(project: Path, csv: Path, rows: int) -> Path:
    """A project folder with the world's grids imported, and the next night's export at the
    incident rate of the ten years' export of ``rows`` rows."""
    from valmius.demo import build_world, bulk_scale, write_nightly_exports, write_world

    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    (project / "valmius.toml").write_text('[paths]\nlake = "lake"\ninbox = "inbox"\n', encoding="utf-8")
    world = build_world(0)
    years = tuple(range(FIRST_YEAR, FIRST_YEAR + YEARS + 1))
    write_world(world, project / "world", years=years)
    night = date(FIRST_YEAR + YEARS, 1, 2)
    staged = write_nightly_exports(world, project / "next-night", night, night.replace(day=3), seed=11,
                                   scale=bulk_scale(world, rows, seed=EXPORT_SEED, years=YEARS))
    grid_code = "; ".join(
        f"import_risk_grid(Path(r'{project}/world/risk_grid_{y}.csv'), {y}, s)" for y in years)
    measure(f"from pathlib import Path; from valmius.settings import load_settings; "
            f"from valmius.grid import import_risk_grid; s = load_settings(r'{project}/valmius.toml'); {grid_code}",
            project)
    return staged[0]


def _run_steps(csv: Path, project: Path, night_file: Path, out: Path, show: bool) -> dict[str, tuple[float, float]]:
    """Run every step, each in a fresh process: {step: (seconds, peak GB)}."""
    config = project / "valmius.toml"
    steps: dict[str, tuple[float, float]] = {}

    def run(name: str, code: str, cwd: Path) -> None:
        steps[name] = measure(code, cwd, show_output=show)
        if show:
            print(f"{name:<58} {steps[name][0]:8.1f} s  peak {steps[name][1]:5.2f} GB", flush=True)

    run("DuckDB SQL script: responses + per-cell trailing medians",
        f"import duckdb; duckdb.connect().execute({DUCKDB_SCRIPT.format(csv=csv, out=out)!r})", out)
    # The commands an analyst runs, one after the other in one process (exit code 3: rows quarantined).
    rebuild = [["ingest", str(csv), "--format", "fi-erc", "--quiet"], ["measure", "--full"], ["flag"]]
    run("valmius full rebuild: ingest + measure + flag",
        f"from valmius.cli import main\n"
        f"for args in {rebuild!r}:\n"
        f"    try:\n"
        f"        main(['--config', r'{config}', *args])\n"
        f"    except SystemExit as done:\n"
        f"        assert done.code in (0, 3), done.code",
        project)
    inbox = project / "inbox"
    inbox.mkdir(exist_ok=True)
    shutil.copy(night_file, inbox / night_file.name)
    run("valmius nightly, one night (ingest, measure, flag, catalog)",
        f"from valmius.cli import main; main(['--config', r'{config}', 'nightly', '--format', 'fi-erc', '--quiet', '--no-report'])",
        project)
    second = night_file.with_name(night_file.name.replace(".csv", "-again.csv"))
    shutil.copy(night_file, second)  # same content: the second night ingests nothing new but runs every stage
    shutil.move(second, inbox / second.name)
    run("valmius nightly, one night with the report",
        f"from valmius.cli import main; main(['--config', r'{config}', 'nightly', '--format', 'fi-erc', '--quiet'])",
        project)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = WORK / "pipeline-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # Every step once on a small export first, untimed: Numba kernels compile on their first call
    # with each type signature and are cached on disk, and no step should be charged for that.
    warm = WORK / "pipeline-warmup"
    _run_steps(export_file(WARMUP_ROWS), warm, _prepare(warm, export_file(WARMUP_ROWS), WARMUP_ROWS), out,
               show=False)
    shutil.rmtree(warm)
    csv = export_file(args.rows)
    project = WORK / "pipeline"
    runs = []
    for _ in range(args.repeat):  # each time from an empty lake; single runs of a step vary by 20 %
        night_file = _prepare(project, csv, args.rows)
        runs.append(_run_steps(csv, project, night_file, out, show=True))
    with open(night_file, "rb") as handle:
        night_rows = sum(1 for _ in handle) - 1  # the header
    steps = {name: (statistics.median(run[name][0] for run in runs), max(run[name][1] for run in runs))
             for name in runs[0]}

    duckdb_s = steps["DuckDB SQL script: responses + per-cell trailing medians"][0]
    full_s, full_gb = steps["valmius full rebuild: ingest + measure + flag"]
    night_s = steps["valmius nightly, one night (ingest, measure, flag, catalog)"][0]
    night_report_s = steps["valmius nightly, one night with the report"][0]
    peak_gb = max(gb for _, gb in steps.values())
    full_ratio, night_ratio = full_s / duckdb_s, full_s / night_s
    print(f"full rebuild / DuckDB script = {full_ratio:.2f} (goal <= 2); full rebuild / night = {night_ratio:.1f} "
          f"(goal >= 20); peak memory {peak_gb:.2f} GB (goal < 6)")
    rows = [[name, f"{s:.1f}", ", ".join(f"{run[name][0]:.1f}" for run in runs), f"{s / duckdb_s:.2f}", f"{gb:.2f}"]
            for name, (s, gb) in steps.items()]
    save("pipeline", {
        "title": "Pipeline: full rebuild and one incremental night",
        "description": f"Ten years of SYNTHETIC exports, {args.rows:,} unit rows; the night's export "
                       f"{night_rows:,} rows (two days at the ten years' incident rate, the first night of a "
                       f"month); each step in a fresh process (interpreter start and imports included), all "
                       f"of them {args.repeat} times from an empty lake: median seconds, largest peak.",
        "columns": ["step", "seconds", "runs", "time / DuckDB script", "peak memory GB"],
        "rows": rows,
        "goals": [
            f"full rebuild / DuckDB script: {full_ratio:.2f} (goal at most 2): {'met' if full_ratio <= 2 else 'NOT met'}",
            f"full rebuild / one night: {night_ratio:.1f}x (goal at least 20x): {'met' if night_ratio >= 20 else 'NOT met'}"
            f"; with the report {full_s / night_report_s:.1f}x",
            f"peak memory: {peak_gb:.2f} GB (goal under 6 GB): {'met' if peak_gb < 6 else 'NOT met'}",
        ],
    })
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
