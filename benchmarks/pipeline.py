"""The whole pipeline at scale: a full rebuild and one incremental night, against hand-written
DuckDB, Polars and pandas scripts.

Ten years of SYNTHETIC exports (10 million unit rows by default, the demo world's generator, the
same file as benchmarks/ingest.py), with the world's risk grid for every year. Each step runs in a
fresh process:
- valmius full rebuild: `valmius ingest` of the export into an empty lake, `valmius measure
  --full` (responses, rolling medians per department, class, municipality, station and cell, at
  every task and every month), `valmius flag` (cells and areas), `valmius catalog` (the DuckDB
  views), one after the other in one process: the four stages of a night, over everything;
- three hand-written scripts, one per peer (DuckDB SQL, Polars, pandas), that compute the same
  per-incident response times (earliest alarm to earliest on scene over the urgent units, local
  time to UTC, ambiguous autumn hour read as standard time) and per-cell trailing medians at every
  task, window (t - 365 d, t], from the same CSV, and write them to Parquet. The three outputs must
  be equal row for row, or the script stops with status 1 and saves nothing. They apply none of
  valmius's validation, quarantine, duplicate or counted-unit rules; how often their response
  times and cell medians equal valmius's is printed and saved;
- one incremental night on top of the rebuilt lake: `valmius nightly` with the next night's export
  (ingest, measure, flag, catalog; and again with the report). The night's export is written at the
  ten years' incident rate (about 54x the demo department for 10 million rows) and covers the two
  days before it, the last of the year and the first of the next: like every first night of a
  month, it adds a month to the monthly rolling tables of every group;
- a night's fixed cost: a process that only imports the nightly run's modules, and the time the
  night spends in its Numba kernels' first calls (loading each from the disk cache), against what
  20x of the rebuild allows a night.
pandas runs last in each round: a process started right after it pays for the memory it held (the
next round begins with an untimed set-up process).
Before the timed steps, every step runs once, untimed, on a 100,000-row export, so that the Numba
kernels are compiled and cached (as after a department's first night) and no step is charged for it;
valmius's own modules are compiled to bytecode, as pip does when it installs a package.
Goals (issue 7): full rebuild within 2x of the DuckDB script; an incremental night at least 20x
faster than the full rebuild; peak memory under 6 GB.

    python benchmarks/pipeline.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import WORK, Run, measure, save  # noqa: E402
from ingest import EXPORT_SEED, export_file  # noqa: E402

FIRST_YEAR, YEARS = 2016, 10
WARMUP_ROWS = 100_000

WINDOW_S = 365 * 86_400
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
-- Times are whole seconds: a RANGE of one second less than 365 days is the window (t - 365 d, t].
COPY (
  SELECT incident_id, cell_id, call_at, response_s,
         median(response_s) OVER (PARTITION BY cell_id ORDER BY call_at
                                  RANGE BETWEEN INTERVAL {window_s} SECONDS PRECEDING AND CURRENT ROW) AS median_s
  FROM responses WHERE response_s IS NOT NULL
) TO '{out}/duckdb_cell_medians.parquet';
""".replace("{window_s}", str(WINDOW_S - 1))

POLARS_SCRIPT = """
import polars as pl

def utc(column):  # local wall-clock text to UTC; the autumn's repeated hour read as standard time
    return (pl.col(column).str.strptime(pl.Datetime('us'), '%d.%m.%Y %H:%M:%S', strict=False)
            .dt.replace_time_zone('Europe/Helsinki', ambiguous='latest', non_existent='null')
            .dt.convert_time_zone('UTC'))

def metres(column):
    return pl.col(column).str.replace(',', '.', literal=True).cast(pl.Float64, strict=False)

def km(column):
    return (pl.col(column).drop_nulls().first() / 1000).floor().cast(pl.Int64)

(pl.scan_csv(r'{csv}', separator=';', infer_schema=False)
 .filter(pl.col('Kiireellisyys').is_in(['A', 'B']))
 .select(incident_id='Tehtävänumero', call_at=utc('Vastaanotettu'), alarm_at=utc('Hälytetty'),
         on_scene_at=utc('Kohteessa'), x_m=metres('Koordinaatti_E'), y_m=metres('Koordinaatti_N'))
 .group_by('incident_id')
 .agg(pl.col('call_at').min(), response_s=(pl.col('on_scene_at').min() - pl.col('alarm_at').min()).dt.total_seconds(),
      cell_id=pl.format('1kmN{{}}E{{}}', km('y_m'), km('x_m')))
 .drop_nulls('response_s')
 .sort('call_at')
 .with_columns(median_s=pl.col('response_s').rolling_median_by('call_at', window_size='365d', closed='right')
               .over('cell_id'))
 .select('incident_id', 'cell_id', 'call_at', 'response_s', 'median_s')
 .collect().write_parquet(r'{out}/polars_cell_medians.parquet'))
"""

PANDAS_SCRIPT = """
import numpy as np
import pandas as pd

raw = pd.read_csv(r'{csv}', sep=';', dtype=str, usecols=['Tehtävänumero', 'Vastaanotettu', 'Kiireellisyys',
                  'Koordinaatti_N', 'Koordinaatti_E', 'Hälytetty', 'Kohteessa'])
raw = raw[raw['Kiireellisyys'].isin(['A', 'B'])]

def utc(text):  # local wall-clock text to UTC; the autumn's repeated hour read as standard time
    local = pd.to_datetime(text, format='%d.%m.%Y %H:%M:%S', errors='coerce')
    return local.dt.tz_localize('Europe/Helsinki', ambiguous=np.zeros(len(local), dtype=bool),
                                nonexistent='NaT').dt.tz_convert('UTC')

def metres(text):
    return pd.to_numeric(text.str.replace(',', '.', regex=False), errors='coerce')

units = pd.DataFrame({{'incident_id': raw['Tehtävänumero'], 'call_at': utc(raw['Vastaanotettu']),
                      'alarm_at': utc(raw['Hälytetty']), 'on_scene_at': utc(raw['Kohteessa']),
                      'x_m': metres(raw['Koordinaatti_E']), 'y_m': metres(raw['Koordinaatti_N'])}})
del raw
tasks = units.groupby('incident_id', sort=False).agg(
    call_at=('call_at', 'min'), alarm_at=('alarm_at', 'min'), on_scene_at=('on_scene_at', 'min'),
    x_m=('x_m', 'first'), y_m=('y_m', 'first'))
tasks['response_s'] = (tasks['on_scene_at'] - tasks['alarm_at']).dt.total_seconds()
tasks = tasks.dropna(subset=['response_s'])
tasks['cell_id'] = ('1kmN' + np.floor(tasks['y_m'] / 1000).astype('int64').astype(str) + 'E'
                    + np.floor(tasks['x_m'] / 1000).astype('int64').astype(str))
tasks = tasks.reset_index().sort_values(['cell_id', 'call_at'], kind='stable').reset_index(drop=True)
medians = tasks.groupby('cell_id', sort=False).rolling('365D', on='call_at')['response_s'].median().to_numpy()
# pandas leaves later rows with the same time out of a row's window: every row of a (cell, time)
# tie takes the median of the tie's last row, the window they share.
cells, times = tasks['cell_id'].to_numpy(), tasks['call_at'].to_numpy()
new = np.r_[True, (cells[1:] != cells[:-1]) | (times[1:] != times[:-1])]
last = np.r_[np.flatnonzero(new)[1:] - 1, len(new) - 1]
tasks['median_s'] = medians[last[np.cumsum(new) - 1]]
tasks[['incident_id', 'cell_id', 'call_at', 'response_s', 'median_s']].to_parquet(r'{out}/pandas_cell_medians.parquet')
"""

PEERS = {"DuckDB": "duckdb", "Polars": "polars", "pandas": "pandas"}
"""Each peer's name, and the stem of its output file."""

DUCKDB = "DuckDB SQL script: responses + per-cell trailing medians"
POLARS = "Polars script: responses + per-cell trailing medians"
PANDAS = "pandas script: responses + per-cell trailing medians"
REBUILD = "valmius full rebuild: ingest + measure + flag + catalog"
NIGHT = "valmius nightly, one night (ingest, measure, flag, catalog)"
NIGHT_REPORT = "valmius nightly, one night with the report"
IMPORTS = "a process that imports the nightly run's modules, no work"
KERNEL_LOADING = """
import json, time
from numba.core.dispatcher import Dispatcher
loading = {{"seconds": 0.0, "kernels": 0, "depth": 0}}
first_call = Dispatcher._compile_for_args

def timed_first_call(self, *args, **kwargs):  # a kernel's first call with its types: loaded from the cache
    loading["depth"] += 1
    started = time.perf_counter()
    try:
        return first_call(self, *args, **kwargs)
    finally:
        loading["depth"] -= 1
        if loading["depth"] == 0:
            loading["seconds"] += time.perf_counter() - started
            loading["kernels"] += 1

Dispatcher._compile_for_args = timed_first_call
try:
    {work}
finally:
    with open("kernel-loading.json", "w") as handle:
        json.dump(loading, handle)
"""
"""A step's code, timing its kernels' first calls (Numba loads each from its cache then) into
kernel-loading.json in the step's folder."""


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


def _run_steps(csv: Path, project: Path, night_file: Path, out: Path,
               show: bool) -> tuple[dict[str, Run], dict[str, float]]:
    """Run every step, each in a fresh process: ({step: its run}, the night's stages)."""
    config = project / "valmius.toml"
    steps: dict[str, Run] = {}

    def run(name: str, code: str, cwd: Path) -> None:
        steps[name] = measure(code, cwd, show_output=show)
        if show:
            done = steps[name]
            print(f"{name:<58} {done.seconds:8.1f} s  peak {done.peak_gb:5.2f} GB  CPU {done.user_s:.1f} user + "
                  f"{done.system_s:.1f} system s, {done.faulted_gb:.1f} GB faulted", flush=True)

    run(DUCKDB, f"import duckdb; duckdb.connect().execute({DUCKDB_SCRIPT.format(csv=csv, out=out)!r})", out)
    run(POLARS, POLARS_SCRIPT.format(csv=csv, out=out), out)
    # The commands an analyst runs, one after the other in one process (exit code 3: rows quarantined).
    rebuild = [["ingest", str(csv), "--format", "fi-erc", "--quiet"], ["measure", "--full"], ["flag"], ["catalog"]]
    run(REBUILD,
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
    run(IMPORTS, "import valmius.cli, valmius.pipeline", project)
    night = f"from valmius.cli import main; main(['--config', r'{config}', 'nightly', '--format', 'fi-erc', '--quiet', '--no-report'])"
    run(NIGHT, KERNEL_LOADING.format(work=night), project)
    stages = {**_night_stages(project), **_kernel_loading(project)}
    second = night_file.with_name(night_file.name.replace(".csv", "-again.csv"))
    shutil.copy(night_file, second)  # same content: the second night ingests nothing new but runs every stage
    shutil.move(second, inbox / second.name)
    run(NIGHT_REPORT,
        f"from valmius.cli import main; main(['--config', r'{config}', 'nightly', '--format', 'fi-erc', '--quiet'])",
        project)
    run(PANDAS, PANDAS_SCRIPT.format(csv=csv, out=out), out)
    _check_peers(out)
    return steps, stages


def _night_stages(project: Path) -> dict[str, float]:
    """Seconds of each stage of the project's first nightly run, and of the whole run inside the
    process ("nightly"), from its ``runs`` row."""
    import json

    import polars as pl

    from valmius.lake import open_lake
    from valmius.settings import load_settings

    runs = (open_lake(load_settings(project / "valmius.toml").lake_path).scan("runs")
            .filter(pl.col("command") == "nightly").sort("run_id").collect())
    night = runs.row(0, named=True)
    return {**json.loads(night["summary_json"])["stage_s"], "nightly": night["duration_s"]}


def _kernel_loading(project: Path) -> dict[str, float]:
    """Seconds the night spent in its Numba kernels' first calls, and how many kernels it called."""
    import json

    loading = json.loads((project / "kernel-loading.json").read_text())
    return {"kernel loading": loading["seconds"], "kernels": loading["kernels"]}


def _check_peers(out: Path) -> None:
    """Stop unless the three scripts wrote the same rows."""
    import polars as pl

    frames = {name: pl.read_parquet(out / f"{stem}_cell_medians.parquet").sort("incident_id")
              .with_columns(pl.col("response_s").cast(pl.Int64), pl.col("median_s").cast(pl.Float64),
                            pl.col("call_at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
              for name, stem in PEERS.items()}
    reference = frames["DuckDB"]
    for name, frame in frames.items():
        if not frame.equals(reference):
            differ = frame.join(reference, on="incident_id", how="full", suffix="_duckdb", nulls_equal=True).filter(
                pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_duckdb")) for c in reference.columns))
            raise SystemExit(f"the {name} script disagrees with the DuckDB script on {differ.height:,} rows, e.g.\n"
                             f"{differ.head(3)}")


def _agreement(out: Path, project: Path) -> str:
    """How often the scripts' response times and cell medians equal valmius's, over the tasks called
    before the first day of the nights' export (which replaced some of that day's rows)."""
    import polars as pl

    from valmius.lake import open_lake
    from valmius.settings import load_settings

    settings = load_settings(project / "valmius.toml")
    lake = open_lake(settings.lake_path)
    definition = lake.definitions_with("responses")[0]
    lake = lake.for_definition(definition)
    # The night's export covers the year's last day: compare the tasks before it.
    night_begins = datetime(FIRST_YEAR + YEARS - 1, 12, 31, tzinfo=ZoneInfo("Europe/Helsinki")).astimezone(timezone.utc)
    measured = (lake.scan("responses").filter("is_measured", pl.col("call_at") < night_begins)
                .select("incident_id", "response_s").collect())
    cells = (lake.scan("rolling_events").filter(pl.col("grouping") == "cell", pl.col("at") < night_begins)
             .select("incident_id", "median_s").collect())
    script = (pl.read_parquet(out / "duckdb_cell_medians.parquet").filter(pl.col("call_at") < night_begins)
              .select("incident_id", "response_s", "median_s"))
    same_response = measured.join(script, on=["incident_id", "response_s"], how="semi").height
    same_median = cells.join(script, on=["incident_id", "median_s"], how="semi").height
    return (f"the scripts' response time equals valmius's for {same_response / measured.height:.1%} of valmius's "
            f"{measured.height:,} measured tasks, their cell median for {same_median / cells.height:.1%} "
            f"(the scripts have {script.height:,} rows: no validation, quarantine or counted-unit rules)")


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
    runs, night_stages = [], []
    for _ in range(args.repeat):  # each time from an empty lake; single runs of a step vary by 20 %
        night_file = _prepare(project, csv, args.rows)
        steps, stages = _run_steps(csv, project, night_file, out, show=True)
        runs.append(steps)
        night_stages.append(stages)
    with open(night_file, "rb") as handle:
        night_rows = sum(1 for _ in handle) - 1  # the header
    steps = {name: Run(statistics.median(run[name].seconds for run in runs), max(run[name].peak_gb for run in runs),
                       *(statistics.median(getattr(run[name], field) for run in runs)
                         for field in ("user_s", "system_s", "faulted_gb")))
             for name in runs[0]}

    agreement = _agreement(out, project)
    stage_s = {name: statistics.median(stages[name] for stages in night_stages) for name in night_stages[0]}
    inside_s = stage_s.pop("nightly")
    loading_s, kernels = stage_s.pop("kernel loading"), round(stage_s.pop("kernels"))
    duckdb_s, polars_s, pandas_s = (steps[name].seconds for name in (DUCKDB, POLARS, PANDAS))
    full_s = steps[REBUILD].seconds
    night_s, night_report_s = steps[NIGHT].seconds, steps[NIGHT_REPORT].seconds
    peak_gb = max(step.peak_gb for name, step in steps.items() if name.startswith("valmius"))
    # The goals' ratios are taken within each round, a minute apart, and their median reported: on a
    # shared host a step's time drifts by a fifth from one round to the next, and a ratio of the
    # steps' medians could pair a fast round of one with a slow round of the other.
    full_ratios = [run[REBUILD].seconds / run[DUCKDB].seconds for run in runs]
    night_ratios = [run[REBUILD].seconds / run[NIGHT].seconds for run in runs]
    full_ratio, night_ratio = statistics.median(full_ratios), statistics.median(night_ratios)
    # What a night costs before any work, against what 20x of the rebuild allows it.
    imports_s = steps[IMPORTS].seconds
    allowed_s = full_s / 20
    floor_text = (f"A night's fixed cost before any work: {imports_s:.2f} s for a process that only imports the "
                  f"nightly run's modules, and {loading_s:.2f} s in the night for its {kernels} Numba kernels' first "
                  f"calls (each loaded from the disk cache): {imports_s + loading_s:.2f} s of the {allowed_s:.2f} s "
                  f"that 20x of the rebuild allows the whole night, leaving {allowed_s - imports_s - loading_s:.2f} s "
                  f"for ingest, measure, flag and catalog, whose work took {sum(stage_s.values()) - loading_s:.2f} s "
                  f"besides that loading")
    by_round = ", ".join(f"{ratio:.2f}" for ratio in full_ratios)
    print(f"full rebuild / DuckDB script = {full_ratio:.2f} (goal <= 2; by round {by_round}); full rebuild / night = "
          f"{night_ratio:.1f} (goal >= 20); peak memory {peak_gb:.2f} GB (goal < 6)")
    print(f"full rebuild / Polars script = {full_s / polars_s:.2f}; / pandas script = {full_s / pandas_s:.2f}")
    print(agreement)
    stage_text = (f"One night's stages (median, from its runs row): "
                  f"{', '.join(f'{name} {s:.2f} s' for name, s in stage_s.items())}; the nightly run "
                  f"{inside_s:.2f} s of the process's {night_s:.1f} s (the rest: interpreter start, imports, exit)")
    print(stage_text)
    print(floor_text)
    rows = [[name, f"{step.seconds:.1f}", ", ".join(f"{run[name].seconds:.1f}" for run in runs),
             f"{step.seconds / duckdb_s:.2f}", f"{step.seconds / polars_s:.2f}", f"{step.seconds / pandas_s:.2f}",
             f"{step.peak_gb:.2f}", f"{step.user_s:.1f} + {step.system_s:.1f}", f"{step.faulted_gb:.1f}"]
            for name, step in steps.items()]
    save("pipeline", {
        "title": "Pipeline: full rebuild and one incremental night",
        "description": f"Ten years of SYNTHETIC exports, {args.rows:,} unit rows; the night's export "
                       f"{night_rows:,} rows (two days at the ten years' incident rate, the first night of a "
                       f"month); each step in a fresh process (interpreter start and imports included; valmius's "
                       f"modules compiled to bytecode beforehand, as an installed package has them), all "
                       f"of them {args.repeat} times from an empty lake: median seconds, largest peak; the goals' "
                       f"ratios are taken within each round, a minute apart, and their median given. The "
                       f"DuckDB, Polars and pandas scripts compute per-incident response times and per-cell "
                       f"trailing medians at every task, and wrote the same rows; {agreement}. {stage_text}. "
                       f"{floor_text}. "
                       f"CPU: median seconds of all threads in user mode + in the kernel (system), on "
                       f"{os.cpu_count()} cores; memory faulted: minor page faults x the page size, memory the "
                       f"process touched for the first time (system time is mostly the kernel handing out those "
                       f"pages, zeroed, and copying the files read and written).",
        "columns": ["step", "seconds", "runs", "time / DuckDB script", "time / Polars script",
                    "time / pandas script", "peak memory GB", "CPU s: user + system", "memory faulted GB"],
        "rows": rows,
        "goals": [
            f"full rebuild / DuckDB script, median of the rounds' ratios: {full_ratio:.2f} (goal at most 2): "
            f"{'met' if full_ratio <= 2 else 'NOT met'}; by round {by_round}; ratio of the median times "
            f"{full_s / duckdb_s:.2f}",
            f"full rebuild / one night, median of the rounds' ratios: {night_ratio:.1f}x (goal at least 20x): "
            f"{'met' if night_ratio >= 20 else 'NOT met'}; with the report {full_s / night_report_s:.1f}x",
            f"valmius peak memory: {peak_gb:.2f} GB (goal under 6 GB): {'met' if peak_gb < 6 else 'NOT met'}",
        ],
    })
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
