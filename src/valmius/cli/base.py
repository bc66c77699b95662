"""What every ``valmius`` command shares: the ``main`` group, which turns a ``ValmiusError`` into one
``Error: ...`` line and exit code 1, the exit codes, and the settings each command reads. Imported
first, so that the process is set up before anything loads NumPy.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from pathlib import Path

import click

from valmius.errors import ValmiusError
from valmius.settings import Settings, load_settings, require_lake

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
      valmius sql class_i_by_month
      valmius schema
    """
    ctx.obj = config


def day_option(flag: str, name: str, help_text: str):
    """An option that takes a local day (2025-12-31) as a datetime, None when not given."""
    return click.option(flag, name, type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
                        help=help_text)


def language_option(what: str):
    """``--language fi|en`` for a command that writes ``what`` (read by :func:`command_settings`)."""
    return click.option("--language", type=click.Choice(["fi", "en"]), default=None,
                        help=f"Label language of {what} (default: the report.language setting, Finnish).")


def window_end_option(verb: str):
    """``--at DAY``: the trailing window ends at the end of this local day; ``verb`` says what the
    command does with it ("Judge", "Report", ...)."""
    return day_option("--at", "at", f"{verb} the window ending at the end of this local day (default: the lake's "
                                     "last measured day).")


def command_settings(ctx: click.Context, language: str | None = None, *, needs_lake: bool = True) -> Settings:
    """The command's settings (with ``language``, the reports' language instead of the
    ``report.language`` setting). Every command reads them once it has imported what it runs; the
    objects made so far (those of Polars, NumPy, Numba, DuckDB...) live until the command ends, so
    the garbage collector is told to leave them be (``gc.freeze``): otherwise its collections walk
    them again and again, 0.1-0.2 s of CPU of a nightly run of 2 s. A command that reads the lake
    (``needs_lake``: all but those that make it and ``valmius settings``) stops with an error when
    the lake's folder does not exist, before anything is written (:func:`require_lake`)."""
    gc.freeze()
    settings = load_settings(ctx.obj)
    if needs_lake:
        require_lake(settings)
    if language:
        settings = dataclasses.replace(settings, report=dataclasses.replace(settings.report, language=language))
    return settings
