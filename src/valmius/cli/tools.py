"""The analyst's other tools: review notes, definitions, read-only SQL, risk grids and the listings
of the column dictionary, the built-in formats and the settings.
"""

from __future__ import annotations

from pathlib import Path

import click

from valmius.cli.base import command_settings, main
from valmius.errors import ValmiusError
from valmius.labels import english_count


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
      valmius annotate 2025-007814 --reason road_closed --note "Klaukkalantie closed for bridge works"
      valmius annotate 2025-007814 --reason other --note "Ice storm" --by analyst.name
    """
    from valmius.notes import annotate

    click.echo(annotate(command_settings(ctx), incident, reason, note_text, by=by, force=force).to_text())


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
      valmius notes --incident 2025-007814 --history
    """
    from valmius.notes import list_notes

    frame = list_notes(command_settings(ctx), incident_id=incident, history=history)
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
      valmius definitions --show default@v1 > old-rules.toml
      valmius definitions --diff default@v1 default@v2   # once a changed rule has made v2
      valmius definitions --drop default@v1              # once the settings make v2
    """
    from valmius import definitions
    from valmius.definitions import open_results

    settings = command_settings(ctx)
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
        click.echo(f"{a.label}  →  {b.label}: {english_count(len(rows), 'rule differs', 'rules differ')}")
        for key, before, after in rows:
            click.echo(f"  {key}: {before!r} → {after!r}")
    else:
        current = definitions.current(snapshot, settings)
        click.echo(f"The settings make definition {current.label}"
                   + ("" if current.version is not None else " (no results yet: run valmius measure)"))
        for row in definitions.listing(snapshot, settings).iter_rows(named=True):
            last = f"{row['last_run_at']:%Y-%m-%d %H:%M} UTC" if row["last_run_at"] else "never"
            click.echo(f"{row['active']:1} {row['definition_id']}  {row['name']} v{row['version']}  "
                       f"created {row['created_at']:%Y-%m-%d %H:%M} UTC  {english_count(row['responses'], 'response')}  "
                       f"last run {last}")


@main.command(name="sql")
@click.argument("query_file", required=False, type=click.Path(path_type=Path))
@click.option("-c", "--command", "sql_text", default=None, metavar="SQL", help="SQL to run instead of a query file.")
@click.option("--list", "list_queries", is_flag=True, help="List the ready queries: name, question, parameters.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A named parameter ($NAME in the query), typed as the query file declares it; repeatable.")
@click.option("--output", "-o", type=click.Choice(["table", "csv", "parquet", "json"]), default=None,
              help="table (the terminal; default), csv, parquet or json (default with --out: from its suffix).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the result to this file.")
@click.pass_context
def sql_command(ctx: click.Context, query_file: Path | None, sql_text: str | None, list_queries: bool,
                params: tuple[str, ...], output: str | None, out: Path | None) -> None:
    """Run a read-only SQL query on the lake: a query FILE (or a ready query's name), or SQL given with -c.

    Queries see every lake table as a view of the DuckDB catalog (see `valmius catalog`), written
    first when it is missing or stale, and the domain's macros (target_s, mmss, share_within,
    median_ci_low/high, local_time). Only reading statements run: COPY, INSERT, CREATE, ATTACH,
    INSTALL, LOAD, SET and the like are refused. Query files in queries/ declare their parameters
    and defaults in their header, so each runs without --param.

    \b
    Example:
      valmius sql queries/class_i_by_month.sql --param year=2025
      valmius sql --list
      valmius sql slowest_class_i_cells -p month=2025-06 --out cells.csv
      valmius sql -c "select risk_class, median(response_s) from responses where is_measured group by 1"
    """
    from valmius.sql import (QUERY_LIBRARY, QueryError, find_query, library_queries, parse_params, rich_table,
                             run_query, write_result)

    if list_queries:
        queries = library_queries()
        if not queries:
            raise QueryError(f"{QUERY_LIBRARY}: no ready queries there; give a query file or -c SQL")
        for query in queries:
            click.echo(f"{query.path.stem}\n  {query.question}")
            for parameter in query.parameters.values():
                click.echo(f"  ${parameter.name} {parameter.type} = {parameter.default_sql}  {parameter.meaning}")
        return
    if (query_file is None) == (sql_text is None):
        raise QueryError("give a query file or -c SQL (one of them), e.g. valmius sql class_i_by_month")
    if output is None:
        output = {".csv": "csv", ".parquet": "parquet", ".json": "json"}.get(out.suffix.lower(), "table") if out else "table"
    frame = run_query(command_settings(ctx), find_query(query_file) if query_file is not None else sql_text,
                      parse_params(params))
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
        click.echo(f"Wrote {english_count(frame.height, 'row')} to {out}", err=True)


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

    click.echo(import_risk_grid(file, year, command_settings(ctx, needs_lake=False), crs=crs).to_text())


@grid.command(name="show")
@click.pass_context
def grid_show(ctx: click.Context) -> None:
    """Show the stored risk grids and how the lake's incidents fall into risk classes.

    \b
    Example:
      valmius grid show
    """
    from valmius.grid import grid_status

    click.echo(grid_status(command_settings(ctx)).to_text())


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

    settings = command_settings(ctx, needs_lake=False)
    click.echo(f"# settings from {settings.source or 'built-in defaults'}")
    for key, default, meaning in settings_table(settings):
        click.echo(f"{key} = {default}    # {meaning}")
