"""The ``valmius`` command: a thin skin over the library.

Each subcommand parses options, calls one library function and prints its result. Errors that
valmius raises on purpose become one ``Error: ...`` line and exit code 1, never a traceback.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import click

from valmius.errors import ValmiusError
from valmius.settings import Settings, load_settings

# valmius calls no BLAS routine, yet OpenBLAS (loaded with NumPy, which no import above loads)
# starts a thread per core that spins for a while: 0.1 s of CPU of each run, taken from the cores
# doing the work.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# NumPy asks for transparent huge pages for every array of 4 MB or more; on virtual machines whose
# host backs guest memory on first touch, each such fault stalls for the whole 2 MB (a full measure
# of 4.3M incidents on 2 cores: system time 10.6-14.0 -> 6.6-8.2 s, 12.3-14.8 -> 10.2-11.7 s).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

EXIT_OK, EXIT_ERROR, EXIT_WARNINGS = 0, 1, 3


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ValmiusError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", type=click.Path(path_type=Path), default=None,
              help="Settings file (default: ./valmius.toml if present, else built-in defaults).")
@click.version_option(package_name="valmius")
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """valmius: response-time analytics for rescue services.

    \b
    Example:
      valmius ingest exports/*.csv --format fi-erc
      valmius grid import risk_grid_2025.csv --year 2025
      valmius measure
      valmius sql queries/class_i_by_month.sql
      valmius schema
    """
    ctx.obj = config


def _settings(ctx: click.Context) -> Settings:
    """The command's settings. Every command reads them once it has imported what it runs; the
    objects made so far (those of Polars, NumPy, Numba, DuckDB...) live until the command ends, so
    the garbage collector is told to leave them be (``gc.freeze``): otherwise its collections walk
    them again and again, 0.1-0.2 s of CPU of a nightly run of 2 s."""
    gc.freeze()
    return load_settings(ctx.obj)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "format_name", default=None, help="Built-in format: valmius, fi-erc or sf-fire.")
@click.option("--mapping", "mapping_path", type=click.Path(path_type=Path), default=None,
              help="Mapping file (TOML) for another export format.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, files: tuple[Path, ...], format_name: str | None, mapping_path: Path | None,
           as_json: bool, quiet: bool) -> None:
    """Ingest dispatch export FILES into the lake (oldest export first).

    Bad rows are kept in the quarantine table with file, line, column and reason. Files already
    ingested (same content) are skipped. Exit code 0: all rows stored; 3: stored with some rows
    quarantined; 1: a file could not be read at all.

    \b
    Example:
      valmius ingest data/demo/exports/*.csv --format fi-erc
      valmius ingest calls.csv --mapping my-export.toml
    """
    from valmius.ingest import ingest as run_ingest
    from valmius.mapping import load_mapping

    settings = _settings(ctx)
    mapping = load_mapping(format_name, mapping_path) if (format_name or mapping_path) else load_mapping("valmius")
    if quiet or as_json:
        summary = run_ingest(files, mapping, settings)
    else:
        summary = _with_progress(lambda progress: run_ingest(files, mapping, settings, progress=progress))
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) if as_json else summary.to_text())
    _exit_for(summary)


def _exit_for(summary) -> None:
    """Exit 1 when a file failed, 3 when rows were quarantined, else carry on (0)."""
    for report in summary.failed:
        click.echo(f"Error: {report.message}", err=True)
    if summary.failed:
        sys.exit(EXIT_ERROR)
    if summary.rows_quarantined:
        sys.exit(EXIT_WARNINGS)


def _with_progress(work):
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        return work(progress)


@main.command()
@click.option("--folder", type=click.Path(path_type=Path), default=Path("demo-run"), show_default=True,
              help="Where the demo world, its exports and its lake go.")
@click.option("--year", type=int, default=2025, show_default=True, help="Year of synthetic exports.")
@click.option("--nights", type=int, default=None, help="Ingest only the first N nights.")
def demo(folder: Path, year: int, nights: int | None) -> None:
    """Ingest a SYNTHETIC year of Central Uusimaa dispatch exports night by night.

    Writes the demo world and its nightly exports into FOLDER (reused if present), ingests each
    night as the nightly job would, and prints the year's run summary.

    \b
    Example:
      valmius demo --folder demo-run
      valmius demo --nights 7
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from valmius.demo.run import run_demo

    gc.freeze()  # as in _settings, once its modules are imported: the demo 20.9-22.0 -> 19.5-20.7 s, user CPU -1.4 s
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task("nights ingested", total=None)

        def on_night(done: int, total: int, _summary) -> None:
            bar.update(task, completed=done, total=total)

        summary = run_demo(folder, year=year, nights=nights, on_night=on_night)
    click.echo(summary.to_text())


@main.command(name="nightly")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "format_name", default=None, help="Built-in format: valmius, fi-erc or sf-fire.")
@click.option("--mapping", "mapping_path", type=click.Path(path_type=Path), default=None,
              help="Mapping file (TOML) for another export format.")
@click.option("--no-report", is_flag=True, help="Skip writing the report (the tables are still updated).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def nightly_command(ctx: click.Context, files: tuple[Path, ...], format_name: str | None, mapping_path: Path | None,
                    no_report: bool, as_json: bool, quiet: bool) -> None:
    """The nightly run: ingest, measure, flag, refresh the SQL catalog, write the report.

    Reads the new export files in the inbox folder (paths.inbox; or FILES), then moves each to
    paths.archive once the lake holds it, or to paths.rejected with a .reason.txt when it could not
    be read at all. Only one nightly run at a time; a run that crashed or was killed is carried on
    by the next. The run, with every stage's duration and the flags that appeared or cleared, is
    recorded in the runs table.

    \b
    Exit codes for a scheduler:
      0  success
      3  success with data warnings (rows quarantined)
      1  failure (a file could not be read, or the run stopped with an error)

    \b
    Example:
      valmius nightly --format fi-erc
      valmius nightly exports/2025-11-23.csv --format fi-erc --no-report
    """
    from valmius.mapping import load_mapping
    from valmius.pipeline import nightly

    settings = _settings(ctx)
    mapping = load_mapping(format_name, mapping_path) if (format_name or mapping_path) else load_mapping("valmius")
    if quiet or as_json:
        summary = nightly(settings, mapping, files, report=not no_report)
    else:
        summary = _with_progress(lambda progress: nightly(settings, mapping, files, progress=progress,
                                                          report=not no_report))
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2, default=str) if as_json
               else summary.to_text())
    _exit_for(summary.ingest)


main.add_command(nightly_command, name="run")  # the earlier name, kept for existing schedules


@main.command(name="measure")
@click.option("--full", is_flag=True, help="Recompute everything instead of only what new rows touch.")
@click.pass_context
def measure_command(ctx: click.Context, full: bool) -> None:
    """Measure response times and update the rolling medians in the lake.

    Writes the responses, rolling_events and rolling_calendar tables: per incident the response
    time and its components, and trailing-window count, median, confidence interval, share within
    target, mean and 90th percentile for the department, each risk class, municipality, station
    and cell. A nightly run recomputes only the groups its new or corrected rows touch.

    \b
    Example:
      valmius measure
      valmius measure --full
    """
    from valmius.measure import measure

    click.echo(measure(_settings(ctx), full=full).to_text())


@main.command(name="flag")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Judge the window ending at the end of this local day (default: the lake's last measured day).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def flag_command(ctx: click.Context, at, as_json: bool) -> None:
    """Flag the cells over their target and join them into areas.

    Judges every cell of the flagged risk classes (flags.risk_classes, class I by default) on the
    trailing window's measured urgent tasks: median and share within target, confidence interval,
    confidence of the flag (certain, likely, too few tasks), problem cells missed every year of the
    review period. Touching flagged cells become areas with pooled evidence and the component (ERC,
    turnout, travel) that drives the delay. Writes the flags and areas tables.

    \b
    Example:
      valmius flag
      valmius flag --at 2025-12-31
    """
    from valmius.flags import flag

    summary = flag(_settings(ctx), at=at.date() if at else None)
    click.echo(json.dumps(summary.to_dict(), default=str, indent=2) if as_json else summary.to_text())


@main.command(name="annotate")
@click.argument("incident")
@click.option("--reason", required=True, metavar="CODE",
              help="wrong_address, road_closed, simultaneous_tasks, unit_busy or other.")
@click.option("--note", "note_text", required=True, help="Why the response was late, in words.")
@click.option("--by", default=None, help="Who writes the note (default: the OS user).")
@click.option("--force", is_flag=True, help="Record the note even if the incident is not over target now.")
@click.pass_context
def annotate_command(ctx: click.Context, incident: str, reason: str, note_text: str, by: str | None,
                     force: bool) -> None:
    """Record why the urgent response to INCIDENT was over target (a review note).

    Notes never change the statistics; the report counts, per flagged area, how many late responses
    are explained and by which reasons. A newer note for the same incident supersedes the older
    one, which is kept. An incident that is not over target is refused unless --force is given.

    \b
    Example:
      valmius annotate 2025-004711 --reason road_closed --note "Bridge on Tuusulantie closed for works"
      valmius annotate 2025-004711 --reason other --note "Ice storm" --by analyst.name
    """
    from valmius.notes import annotate

    click.echo(annotate(_settings(ctx), incident, reason, note_text, by=by, force=force).to_text())


@main.command(name="notes")
@click.option("--incident", default=None, help="Only this incident's notes.")
@click.option("--history", is_flag=True, help="Every note, also those superseded by a newer one.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.pass_context
def notes_command(ctx: click.Context, incident: str | None, history: bool, as_csv: bool) -> None:
    """List the review notes, newest first: the note that counts per incident (or all with --history).

    \b
    Example:
      valmius notes
      valmius notes --incident 2025-004711 --history
    """
    from valmius.notes import list_notes

    frame = list_notes(_settings(ctx), incident_id=incident, history=history)
    if as_csv:
        click.echo(frame.write_csv(), nl=False)
        return
    from rich.console import Console

    from valmius.sql import rich_table

    Console().print(rich_table(frame))


@main.command(name="definitions")
@click.option("--show", "show", default=None, metavar="REF",
              help="Print one definition as the settings that make it again (id, name or name@vN).")
@click.option("--diff", "diff", nargs=2, default=None, metavar="A B", help="The rules that differ between two definitions.")
@click.option("--drop", "drop", default=None, metavar="REF",
              help="Remove a definition's results (responses, rolling tables, flags, areas) from the lake; its "
                   "rules stay listed, so reports that name it can still be traced. Not the settings' own.")
@click.pass_context
def definitions_command(ctx: click.Context, show: str | None, diff: tuple[str, str] | None, drop: str | None) -> None:
    """List the definitions whose figures the lake holds (* marks the one the settings make), show
    one as settings, compare two, or drop one's results. A report's footer names its definition:
    trace it here.

    \b
    Example:
      valmius definitions
      valmius definitions --show 3f9a0c1d2e4b > old-rules.toml
      valmius definitions --diff default@v1 default@v2
      valmius definitions --drop default@v1
    """
    from valmius import definitions
    from valmius.definitions import open_results

    settings = _settings(ctx)
    if drop is not None:
        dropped = definitions.drop(settings, drop)
        click.echo(f"Dropped the results of {dropped.label}; its rules stay in the lake "
                   f"(valmius definitions --show {dropped.definition_id})")
        return
    snapshot = open_results(settings)
    if show is not None:
        click.echo(definitions.as_settings(definitions.find(snapshot, show)), nl=False)
    elif diff is not None:
        a, b = (definitions.find(snapshot, ref) for ref in diff)
        rows = definitions.differences(a, b)
        click.echo(f"{a.label}  →  {b.label}: {len(rows)} rule(s) differ")
        for key, before, after in rows:
            click.echo(f"  {key}: {before!r} → {after!r}")
    else:
        current = definitions.current(snapshot, settings)
        click.echo(f"The settings make definition {current.label}"
                   + ("" if current.version is not None else " (no results yet: run valmius measure)"))
        for row in definitions.listing(snapshot, settings).iter_rows(named=True):
            last = f"{row['last_run_at']:%Y-%m-%d %H:%M} UTC" if row["last_run_at"] else "never"
            click.echo(f"{row['active']:1} {row['definition_id']}  {row['name']} v{row['version']}  "
                       f"created {row['created_at']:%Y-%m-%d %H:%M} UTC  {row['responses']:,} responses  last run {last}")


@main.command(name="report")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Report the window ending at the end of this local day (default: the lake's last measured day).")
@click.option("--language", type=click.Choice(["fi", "en"]), default=None,
              help="Label language (default: the report.language setting, Finnish).")
@click.pass_context
def report_command(ctx: click.Context, at, language: str | None) -> None:
    """Write the report: class I areas over target, how sure, since when and why.

    One self-contained HTML file that opens offline (map of the cells, rolling medians per risk
    class, distribution of response times, what drives the delay, ranked areas and cells), each
    chart as PNG and SVG, the tables as CSV and the flagged cells and areas as GeoJSON and
    GeoParquet for QGIS, in a folder named by today's date under paths.reports. Prints its path.

    \b
    Example:
      valmius report
      valmius report --at 2025-12-31 --language en
    """
    import dataclasses

    from valmius.report import write_report

    settings = _settings(ctx)
    if language:
        settings = dataclasses.replace(settings, report=dataclasses.replace(settings.report, language=language))
    click.echo(write_report(settings, at=at.date() if at else None).to_text())


@main.command(name="review")
@click.option("--from", "first_year", type=int, required=True, help="First local calendar year of the review period.")
@click.option("--to", "last_year", type=int, required=True, help="Last local calendar year of the review period.")
@click.option("--language", type=click.Choice(["fi", "en"]), default=None,
              help="Label language (default: the report.language setting, Finnish).")
@click.option("--previous", "previous", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Earlier review folder to compare with (default: the newest other review under paths.reports).")
@click.pass_context
def review_command(ctx: click.Context, first_year: int, last_year: int, language: str | None,
                   previous: Path | None) -> None:
    """Write the service-level decision review (palvelutasopäätöksen seuranta) of the years FROM-TO.

    One offline HTML document for the board, summary first: per year and risk class the urgent
    tasks, median with its confidence interval, share within target and mean, judged by both rules
    (median at most the target; at least 50 % within it) with the deciding one (flags.rule) named;
    the mean of all urgent tasks against the national target (review.national_mean_target_s, 9:20);
    class I areas over target at the end of the period and problem cells over target in every year;
    tables by municipality and by station; trend charts; and what changed since the year before and
    since the previous review. Beside it: the charts as PNG and SVG, the tables as CSV and a
    manifest, in paths.reports/review-FROM-TO-<today>. Reads the lake, never writes it.

    \b
    Example:
      valmius review --from 2022 --to 2025
      valmius review --from 2022 --to 2025 --language en
      valmius review --from 2023 --to 2026 --previous reports/review-2022-2025-2026-01-15
    """
    import dataclasses

    from valmius.review import write_review

    settings = _settings(ctx)
    if language:
        settings = dataclasses.replace(settings, report=dataclasses.replace(settings.report, language=language))
    click.echo(write_review(settings, first_year=first_year, last_year=last_year, previous=previous).to_text())


@main.command(name="change")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First local day of the current period (default: the trailing window's first day).")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last local day of the current period (default: the lake's last measured day).")
@click.option("--previous-from", "previous_start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day of the period to compare with (default: the current period a year earlier).")
@click.option("--previous-to", "previous_end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of the period to compare with.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Also write every comparison (tested or not) to this CSV file.")
@click.pass_context
def change_command(ctx: click.Context, start, end, previous_start, previous_end, csv_path: Path | None) -> None:
    """Which medians changed beyond noise between two periods, per class, municipality, area and cell.

    A permutation test per group (change.statistic), the median change with its bootstrap interval,
    and Benjamini-Hochberg control of the false discovery rate (change.fdr) over every comparison
    made. Groups with fewer than change.min_tasks tasks in a period are not compared. Prints the
    number of comparisons and the changes unlikely to be noise.

    \b
    Example:
      valmius change
      valmius change --from 2025-01-01 --to 2025-12-31 --previous-from 2023-01-01 --previous-to 2023-12-31
    """
    from valmius.change import ChangeError, change

    def day(value):
        return value.date() if value else None

    current = (day(start), day(end))
    previous = (day(previous_start), day(previous_end))
    if None in previous and previous != (None, None):
        raise ChangeError("give both --previous-from and --previous-to, or neither (then: a year earlier)")
    if None in current and current != (None, None):
        if current[1] is None:
            raise ChangeError("give --to with --from: the last day of the current period")
        current = (None, current[1])
    result = change(_settings(ctx), current=current if None not in current else None,
                    previous=previous if None not in previous else None,
                    at=current[1] if current[0] is None else None)
    if csv_path is not None:
        result.table.write_csv(csv_path)
    click.echo(result.to_text())


@main.command(name="sql")
@click.argument("query_file", required=False, type=click.Path(path_type=Path))
@click.option("-c", "--command", "sql_text", default=None, metavar="SQL", help="SQL to run instead of a query file.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A named parameter ($NAME in the query), typed as the query file declares it; repeatable.")
@click.option("--output", "-o", type=click.Choice(["table", "csv", "parquet", "json"]), default=None,
              help="table (the terminal; default), csv, parquet or json (default with --out: from its suffix).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the result to this file.")
@click.pass_context
def sql_command(ctx: click.Context, query_file: Path | None, sql_text: str | None, params: tuple[str, ...],
                output: str | None, out: Path | None) -> None:
    """Run a read-only SQL query on the lake: a query FILE, or SQL given with -c.

    Queries see every lake table as a view of the DuckDB catalog (see `valmius catalog`), written
    first when it is missing or stale, and the domain's macros (target_s, mmss, share_within,
    median_ci_low/high, local_time). Only reading statements run: COPY, INSERT, CREATE, ATTACH,
    INSTALL, LOAD, SET and the like are refused. Query files in queries/ declare their parameters
    and defaults in their header, so each runs without --param.

    \b
    Example:
      valmius sql queries/class_i_by_month.sql --param year=2025
      valmius sql queries/slowest_class_i_cells.sql -p month=2025-06 --out cells.csv
      valmius sql -c "select risk_class, median(response_s) from responses where is_measured group by 1"
    """
    from valmius.sql import QueryError, parse_params, rich_table, run_query, write_result

    if (query_file is None) == (sql_text is None):
        raise QueryError("give a query file or -c SQL (one of them), e.g. valmius sql queries/class_i_by_month.sql")
    if output is None:
        output = {".csv": "csv", ".parquet": "parquet", ".json": "json"}.get(out.suffix.lower(), "table") if out else "table"
    frame = run_query(_settings(ctx), query_file if query_file is not None else sql_text, parse_params(params))
    if output == "table" and out is None:
        from rich.console import Console

        console = Console()
        if not console.is_terminal:  # piped or logged: as wide as the table needs, never folded
            console = Console(width=10_000)
        console.print(rich_table(frame))
        return
    text = write_result(frame, output, out)
    if text is not None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        click.echo(f"Wrote {frame.height:,} rows to {out}", err=True)


@main.command(name="catalog")
@click.pass_context
def catalog_command(ctx: click.Context) -> None:
    """Write the DuckDB catalog afresh and print how to open it.

    The catalog (paths.catalog, valmius.duckdb by default) has a documented view per lake table and
    macros for the domain; it holds no data and names the lake by a relative path, so the project
    folder can be moved. The nightly run refreshes it; `valmius sql` does when it is stale.

    \b
    Example:
      valmius catalog
      cd demo-run && duckdb -readonly valmius.duckdb -c "select * from responses limit 5"
    """
    from valmius.catalog import opening_instructions, refresh_catalog

    settings = _settings(ctx)
    path = refresh_catalog(settings)
    click.echo(f"Wrote {path}\n{opening_instructions(path)}")


@main.command(name="scenario")
@click.option("--close", "close", metavar="STATION", default=None, help="Close this station: its units are gone.")
@click.option("--move", "move", nargs=3, type=(str, float, float), metavar="STATION X Y", default=None,
              help="Move this station to X (east) Y (north), metres in the grid's system (grid.crs).")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Use the window ending at the end of this local day (default: the lake's last measured day).")
@click.option("--language", type=click.Choice(["fi", "en"]), default=None,
              help="Label language of the page (default: the report.language setting, Finnish).")
@click.pass_context
def scenario_command(ctx: click.Context, close: str | None, move: tuple[str, float, float] | None, at,
                     language: str | None) -> None:
    """What if a station changes? Estimate class I cells and areas if a station closed or moved.

    Re-judges the window's tasks (as valmius flag does) with each task's response time as it
    would have been: a task first reached by the station gets the next station's time, observed at
    that very task when another station's unit arrived there, else estimated from that station's
    observed times to the cell (its median there, else in the cells around, else a distance model
    from the station locations in paths.stations). A moved station's times change by what the
    distance model says the move changes. Prints the cells that would newly exceed the target and
    writes scenario-<change>.html and CSV tables into today's report folder. The method, its
    assumptions and limits are written on the page.

    \b
    Example:
      valmius scenario --close KU12
      valmius scenario --move KU12 393000 6689000 --language en
      valmius scenario --close KU30 --at 2025-06-30
    """
    import dataclasses

    from valmius.scenario import run_scenario

    settings = _settings(ctx)
    if language:
        settings = dataclasses.replace(settings, report=dataclasses.replace(settings.report, language=language))
    result = run_scenario(settings, close=close, move=move, at=at.date() if at else None)
    click.echo(result.to_text())


@main.group()
def grid() -> None:
    """Risk grids: the risk class I-IV of every cell, one grid per year.

    \b
    Example:
      valmius grid import risk_grid_2025.csv --year 2025
      valmius grid show
    """


@grid.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--year", type=int, required=True, help="The year the grid is valid for (later years use it too).")
@click.option("--crs", default=None, help="Coordinate system of the file, when not the grid's (grid.crs); must match it.")
@click.pass_context
def grid_import(ctx: click.Context, file: Path, year: int, crs: str | None) -> None:
    """Check a risk grid FILE (CSV, Parquet or GeoJSON) and store it as the grid of --year.

    Cells are given by their bottom-left corner (x_m, y_m), their id (cell_id, e.g. 1kmN6711E389)
    or, in GeoJSON, their square polygon; the class as I-IV or 1-4 (risk_class or riskiluokka);
    optionally the municipality code. Importing a year again replaces its grid.

    \b
    Example:
      valmius grid import risk_grid_2025.csv --year 2025
      valmius grid import riskiruudut_2024.geojson --year 2024
    """
    from valmius.grid import import_risk_grid

    click.echo(import_risk_grid(file, year, _settings(ctx), crs=crs).to_text())


@grid.command(name="show")
@click.pass_context
def grid_show(ctx: click.Context) -> None:
    """Show the stored risk grids and how the lake's incidents fall into risk classes.

    \b
    Example:
      valmius grid show
    """
    from valmius.grid import grid_status

    click.echo(grid_status(_settings(ctx)).to_text())


@main.command()
@click.option("--table", default=None, help="Only this table.")
def schema(table: str | None) -> None:
    """Print the column dictionary: every stored column with its type and meaning.

    \b
    Example:
      valmius schema --table units
    """
    from valmius.columns import TABLES, describe_markdown

    if table is not None and table not in TABLES:
        raise ValmiusError(f"unknown table {table!r}; tables are {', '.join(TABLES)}")
    click.echo(describe_markdown(table))


@main.command()
def formats() -> None:
    """List the built-in source formats (mappings).

    \b
    Example:
      valmius formats
    """
    from valmius.mapping import builtin_formats, load_mapping

    for name in builtin_formats():
        click.echo(f"{name:<10} {load_mapping(name).description}")


@main.command(name="settings")
@click.pass_context
def show_settings(ctx: click.Context) -> None:
    """Print every setting with its value in force and its meaning.

    \b
    Example:
      valmius --config valmius.toml settings
    """
    from valmius.settings import settings_table

    settings = _settings(ctx)
    click.echo(f"# settings from {settings.source or 'built-in defaults'}")
    for key, default, meaning in settings_table(settings):
        click.echo(f"{key} = {default}    # {meaning}")


if __name__ == "__main__":
    main()
