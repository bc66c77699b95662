"""The commands that write or print documents from the lake: the report, the service-level review,
the changes between two periods and the station scenarios.
"""

from __future__ import annotations

from pathlib import Path

import click

from valmius.cli.base import command_settings, day_option, language_option, main, window_end_option


@main.command(name="report")
@window_end_option("Report")
@language_option("the report")
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
    from valmius.report import write_report

    settings = command_settings(ctx, language)
    click.echo(write_report(settings, at=at.date() if at else None).to_text())


@main.command(name="review")
@click.option("--from", "first_year", type=int, required=True, help="First local calendar year of the review period.")
@click.option("--to", "last_year", type=int, required=True, help="Last local calendar year of the review period.")
@language_option("the review")
@click.option("--previous", "previous", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Earlier review folder to compare with (default: the review under paths.reports made last).")
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
    manifest, in a new folder paths.reports/review-FROM-TO-<today> (-2, -3, ... for later reviews
    of the period that day: none is overwritten); prints the folder. Compares with the review made
    last (or --previous). Reads the lake, never writes it: rules that change only what flags and
    reviews judge are applied to the responses already measured.

    \b
    Example:
      valmius review --from 2022 --to 2025
      valmius review --from 2022 --to 2025 --language en
      valmius review --from 2023 --to 2026 --previous reports/review-2022-2025-2026-01-15
    """
    from valmius.review import write_review

    settings = command_settings(ctx, language)
    click.echo(write_review(settings, first_year=first_year, last_year=last_year, previous=previous).to_text())


@main.command(name="change")
@day_option("--from", "start", "First local day of the current period (default: the trailing window's first day).")
@day_option("--to", "end", "Last local day of the current period (default: the lake's last measured day).")
@day_option("--previous-from", "previous_start",
            "First day of the period to compare with (default: the current period a year earlier).")
@day_option("--previous-to", "previous_end", "Last day of the period to compare with.")
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
    result = change(command_settings(ctx), current=current if None not in current else None,
                    previous=previous if None not in previous else None,
                    at=current[1] if current[0] is None else None)
    if csv_path is not None:
        result.table.write_csv(csv_path)
    click.echo(result.to_text())


@main.command(name="scenario")
@click.option("--close", "close", metavar="STATION", default=None, help="Close this station: its units are gone.")
@click.option("--move", "move", nargs=3, type=(str, float, float), metavar="STATION X Y", default=None,
              help="Move this station to X (east) Y (north), metres in the grid's system (grid.crs).")
@window_end_option("Use")
@language_option("the page")
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
    writes scenario-<change>-<window end>-<language>.html and CSV tables into today's report folder
    (never over an earlier page: a page written again gets -2, -3, ...). The method, its
    assumptions and limits are written on the page.

    \b
    Example:
      valmius scenario --close KU12
      valmius scenario --move KU12 393000 6689000 --language en
      valmius scenario --close KU30 --at 2025-06-30
    """
    from valmius.scenario import run_scenario

    settings = command_settings(ctx, language)
    result = run_scenario(settings, close=close, move=move, at=at.date() if at else None)
    click.echo(result.to_text())
