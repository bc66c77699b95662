"""The pipeline's commands: ingest, the demo, the nightly run (also ``run``), measure, flag and the
SQL catalog the nightly run refreshes.
"""

from __future__ import annotations

import copy
import gc
import json
import sys
from pathlib import Path

import click

from valmius.cli.base import EXIT_ERROR, EXIT_WARNINGS, command_settings, main, window_end_option


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
      valmius ingest data/demo/sample/*.csv --format fi-erc
      valmius ingest calls.csv --mapping my-export.toml
    """
    from valmius.ingest import ingest as run_ingest

    settings = command_settings(ctx, needs_lake=False)  # creates the lake
    mapping = _mapping(format_name, mapping_path)
    if quiet or as_json:
        summary = run_ingest(files, mapping, settings)
    else:
        summary = _with_progress(lambda progress: run_ingest(files, mapping, settings, progress=progress))
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) if as_json else summary.to_text())
    _exit_for(summary)


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

    gc.freeze()  # as in command_settings, once its modules are imported: the demo 20.9-22.0 -> 19.5-20.7 s, user CPU -1.4 s
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
    from valmius.pipeline import nightly

    settings = command_settings(ctx, needs_lake=False)  # creates the lake
    mapping = _mapping(format_name, mapping_path)
    if quiet or as_json:
        summary = nightly(settings, mapping, files, report=not no_report)
    else:
        summary = _with_progress(lambda progress: nightly(settings, mapping, files, progress=progress,
                                                          report=not no_report))
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2, default=str) if as_json
               else summary.to_text())
    _exit_for(summary.ingest)


# The nightly run's earlier name: schedules that call it keep working; the command list shows one name.
main.add_command(copy.copy(nightly_command), name="run")
main.commands["run"].hidden = True


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

    click.echo(measure(command_settings(ctx), full=full).to_text())


@main.command(name="flag")
@window_end_option("Judge")
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

    summary = flag(command_settings(ctx), at=at.date() if at else None)
    click.echo(json.dumps(summary.to_dict(), default=str, indent=2) if as_json else summary.to_text())


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

    settings = command_settings(ctx)
    path = refresh_catalog(settings)
    click.echo(f"Wrote {path}\n{opening_instructions(path)}")


def _mapping(format_name: str | None, mapping_path: Path | None):
    """The source format of ``--format`` or ``--mapping``, else valmius's own."""
    from valmius.mapping import load_mapping

    return load_mapping(format_name, mapping_path) if (format_name or mapping_path) else load_mapping("valmius")


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
