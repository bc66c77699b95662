"""The ``valmius`` command: a thin skin over the library.

Each subcommand parses options, calls one library function and prints its result. Errors that
valmius raises on purpose become one ``Error: ...`` line and exit code 1, never a traceback.
``base`` holds the group and what every command shares; the commands are cut by concept into
``pipeline`` (ingest, demo, nightly, measure, flag, catalog), ``documents`` (report, review,
change, scenario) and ``tools`` (annotate, notes, definitions, sql, grid, schema, formats,
settings). Each command imports what it runs when it runs, so ``valmius --help`` loads no NumPy.
"""

from valmius.cli.base import EXIT_ERROR, EXIT_OK, EXIT_WARNINGS, main
from valmius.cli import pipeline, documents, tools  # each registers its commands on main

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_WARNINGS", "main", "pipeline", "documents", "tools"]
