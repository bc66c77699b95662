"""The DuckDB catalog: one file with a documented view per lake table and macros for the domain.

``refresh_catalog`` writes ``paths.catalog`` (``valmius.duckdb`` beside the settings file by
default). It holds no data: every view reads the lake's Parquet files, and every comment and type
comes from the column dictionary (``valmius.columns``). A table that is not in the lake yet (e.g.
``flags`` before the first flag run) is an empty view with the right columns and types.

**Moving the project.** The views name the lake by a path *relative to the catalog's folder*
(``lake/units/year=*/month=*/*.parquet``), never an absolute one, so the folder can be moved or
copied to another machine. DuckDB resolves relative paths against its working directory, or
against the folders of its ``file_search_path`` setting. So open the catalog either from its own
folder (``cd project && duckdb -readonly valmius.duckdb``) or with ``file_search_path`` set to
that folder (Python: ``connect_catalog``; DBeaver: the driver property ``file_search_path``).
``valmius sql`` does this for you.

**Definitions.** A derived table (``responses``, rolling tables, ``flags``, ``areas``) has two views:
``responses`` holds the rows of the settings' definition (``valmius.definitions``), with
``definition_id`` and ``definition_name`` as its first columns, and ``responses_all_definitions``
the rows of every stored definition, labelled the same way.

**Derived views** over the lake views (their definitions live beside their Polars twins, and a
test checks that both give the same rows): ``scorecards``, data completeness per station, unit and
month (``valmius.scorecards``).

**Macros** (settings are read when the catalog is refreshed; ``valmius_catalog()`` lists them):

- ``target_s(risk_class)``: the response-time target of a risk class, seconds (``targets_s``).
- ``mmss(seconds)``: seconds as ``m:ss`` text, rounded to the second (``mmss(395.5)`` is ``6:36``).
- ``share_within(response_s, target_s)``: aggregate, the share of measured responses (not null)
  within their target; exactly on target is within, a response without a target is not.
- ``median_ci_rank(n)``, ``median_ci_low(x)``, ``median_ci_high(x)``: the distribution-free
  confidence interval of the median at ``windows.ci_level``, from order statistics: the k-th
  smallest and k-th largest value, with k from the binomial distribution exactly as the rolling
  engine computes it (``valmius.median_ci``, here without Numba) for up to ``CI_RANKS_EXACT_UP_TO``
  values, from the normal approximation ``floor((n + 1 - z sqrt(n)) / 2)`` beyond (which equals the
  exact rank for 99.95 % of counts up to a million, and is one lower for the rest). Null when the
  count is too small to reach the level (5 or fewer values at 95 %).
- ``local_time(ts)``: a UTC time as local wall-clock time (``time.zone``), a plain TIMESTAMP.
- ``local_midnight(day)``: the instant at which a local day begins.
- ``trailing_window()``: the trailing window's length (``windows.trailing_days``) as an exact
  interval of seconds; a window ending at ``at`` covers ``(at - trailing_window(), at]``.
- ``trailing_days()``: the same length in days (an integer).
- ``year_start(year)``: the instant a local calendar year begins; filter with
  ``call_at >= year_start(y) AND call_at < year_start(y + 1)`` (cheaper than converting every time).
- ``latest_year()``: the latest local calendar year with a measured task (``responses``).
- ``last_review_year()``: the last year a review period ends with by default, the latest year the
  lake holds into December: the year of its newest measured task from 1 December on, else the year
  before (as the flags judge it).
- ``held_from_january(calendar_year)``: whether the lake holds that local year from its January
  on (its first measured task is before 1 February of it): the years before a review's last one
  must be, or their cells would be judged on a task or two.
- ``valmius_catalog()``: table of what the catalog was built from (lake path, settings, fingerprint),
  with the lake's current snapshot id.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import polars as pl

from valmius.columns import TABLES, UTC_TIME, Column, Table
from valmius.errors import ValmiusError
from valmius.definitions import open_results
from valmius.lake import CURRENT, DEFINITION_KEY, Snapshot, fsync_path
from valmius.median_ci import ci_ranks
from valmius import scorecards
from valmius.settings import RISK_CLASSES, Settings

CI_RANKS_EXACT_UP_TO = 100_000
STORAGE_VERSION = "v1.0.0"
"""Storage format of the catalog file: readable by DuckDB 1.0 and later (e.g. an older driver in DBeaver)."""

_DUCKDB_TYPES: dict[pl.DataType, str] = {
    pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN", UTC_TIME: "TIMESTAMPTZ", pl.List(pl.String): "VARCHAR[]",
}


_CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
"""This module's own version: a catalog written by other code is written again."""


class CatalogError(ValmiusError):
    """The DuckDB catalog cannot be written or opened."""


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB type of a column-dictionary type."""
    try:
        return _DUCKDB_TYPES[dtype]
    except KeyError:  # pragma: no cover - a new dictionary type needs a line above
        raise ValueError(f"no DuckDB type for {dtype}; add it to valmius.catalog._DUCKDB_TYPES") from None


def quote(identifier: str) -> str:
    """A quoted SQL identifier (``column`` is a keyword, so every name is quoted)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def lake_location(settings: Settings) -> str:
    """The lake's path as the views name it: relative to the catalog's folder, with ``/``."""
    lake = Path(os.path.abspath(settings.paths.lake))
    folder = Path(os.path.abspath(settings.paths.catalog)).parent
    try:
        return Path(os.path.relpath(lake, folder)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return lake.as_posix()


def _has_files(snapshot: Snapshot, table: Table) -> bool:
    folder = snapshot.table_folder(table.name)
    return folder is not None and any(folder.rglob("*.parquet"))


ALL_DEFINITIONS = "_all_definitions"
"""Suffix of the view of a derived table that holds the results of every stored definition."""


@dataclass(frozen=True)
class _ViewOf:
    """Which rows a view of a derived table shows: one definition's (``definition_id``) or every
    stored definition's (None)."""

    definition_id: str | None
    definition_name: str = ""


def view_sql(table: Table, location: str | None, definition: _ViewOf | None = None) -> str:
    """``CREATE VIEW`` of one lake table; ``location`` None: the empty view of a table not in the lake.

    A derived table (``table.per_definition``) needs ``definition``: its view is named after the
    table and reads one definition's folder, with ``definition_id`` and ``definition_name`` as
    constant columns, or it is the ``<table>_all_definitions`` view of every definition's rows."""
    name, folder, extra, partitions = table.name, "", [], dict.fromkeys(table.partition_by, "")
    if table.per_definition:
        assert definition is not None
        if definition.definition_id is None:
            name, folder = table.name + ALL_DEFINITIONS, f"{DEFINITION_KEY}=*/"
            partitions = {DEFINITION_KEY: "VARCHAR", **partitions}
            extra = [f"t.{quote(DEFINITION_KEY)}", f"(SELECT d.name FROM {quote('definitions')} d WHERE d.definition_id = "
                     f"t.{quote(DEFINITION_KEY)}) AS definition_name"]
        else:
            folder = f"{DEFINITION_KEY}={definition.definition_id}/"
            extra = [f"CAST({literal(definition.definition_id)} AS VARCHAR) AS {quote(DEFINITION_KEY)}",
                     f"CAST({literal(definition.definition_name)} AS VARCHAR) AS definition_name"]
    if location is None:
        labels = [DEFINITION_KEY, "definition_name"] if table.per_definition else []
        columns = ",\n    ".join([f"CAST(NULL AS VARCHAR) AS {quote(c)}" for c in labels]
                                  + [f"CAST(NULL AS {duckdb_type(c.dtype)}) AS {quote(c.name)}" for c in table.columns])
        return f"CREATE VIEW {quote(name)} AS\nSELECT\n    {columns}\nWHERE false"
    columns = ",\n    ".join(extra + [_select_column(c, table) for c in table.columns])
    folders = folder + "".join(f"{key}=*/" for key in table.partition_by)
    pattern = literal(f"{location}/{table.name}/{folders}*.parquet")
    if partitions:
        dtypes = {c.name: duckdb_type(c.dtype) for c in table.columns} | {DEFINITION_KEY: "VARCHAR"}
        types = ", ".join(f"{literal(key)}: {dtypes[key]}" for key in partitions)
        source = f"read_parquet({pattern}, hive_partitioning = true, hive_types = {{{types}}})"
    else:
        source = f"read_parquet({pattern}, hive_partitioning = false)"
    return f"CREATE VIEW {quote(name)} AS\nSELECT\n    {columns}\nFROM {source} AS t"


def _select_column(column: Column, table: Table) -> str:
    if column.name in table.partition_by:
        return quote(column.name)  # typed by hive_types
    # Parquet files have the dictionary's types already; the cast pins the view's type if one ever differs.
    return f"CAST({quote(column.name)} AS {duckdb_type(column.dtype)}) AS {quote(column.name)}"


def comment_sql(table: Table, in_lake: bool, *, all_definitions: bool = False) -> list[str]:
    """``COMMENT ON`` the view and each of its columns, from the column dictionary."""
    meaning = table.meaning
    name = table.name + (ALL_DEFINITIONS if all_definitions else "")
    if table.per_definition:
        meaning += (" Every stored definition's rows: filter on definition_id (see the definitions view)."
                    if all_definitions else
                    f" Rows of the settings' definition only; {table.name}{ALL_DEFINITIONS} holds every stored definition's.")
    if table.key:
        meaning += f" Key: {', '.join(table.key)}."
    if table.partition_by:
        meaning += f" Partitioned by {', '.join(table.partition_by)} (filter on them to read fewer files)."
    if not in_lake:
        meaning += " Not in the lake yet: empty until the stage that writes it has run (then refresh the catalog)."
    columns = [(c.name, c.meaning) for c in table.columns]
    if table.per_definition:
        columns = [(DEFINITION_KEY, "The definition that made the row (definitions.definition_id)."),
                   ("definition_name", "Its name (definitions.name)."), *columns]
    statements = [f"COMMENT ON VIEW {quote(name)} IS {literal(meaning)}"]
    statements += [f"COMMENT ON COLUMN {quote(name)}.{quote(c)} IS {literal(m)}" for c, m in columns]
    return statements


def macro_sql(settings: Settings) -> list[str]:
    """The domain's macros, with the settings' targets, zone, window and interval level baked in."""
    targets = " ".join(f"WHEN {literal(c)} THEN {int(settings.targets_s[c])}" for c in RISK_CLASSES
                       if c in settings.targets_s)
    zone = literal(settings.time.zone)
    window_s = settings.windows.trailing_days * 86_400
    return [
        f"CREATE MACRO target_s(risk_class) AS CAST(CASE risk_class {targets} END AS BIGINT)",
        "CREATE MACRO mmss(seconds) AS CASE WHEN seconds IS NOT NULL THEN "
        "(CASE WHEN round(seconds) < 0 THEN '-' ELSE '' END) || CAST(CAST(abs(round(seconds)) AS BIGINT) // 60 AS VARCHAR)"
        " || ':' || lpad(CAST(CAST(abs(round(seconds)) AS BIGINT) % 60 AS VARCHAR), 2, '0') END",
        "CREATE MACRO share_within(response_s, target_s) AS "
        "avg(CASE WHEN response_s IS NOT NULL THEN CAST(coalesce(response_s <= target_s, false) AS DOUBLE) END)",
        _ci_rank_macro(settings.windows.ci_level),
        "CREATE MACRO median_ci_low(x) AS "
        "list_sort(list(x) FILTER (WHERE x IS NOT NULL))[nullif(median_ci_rank(count(x)), 0)]",
        "CREATE MACRO median_ci_high(x) AS "
        "list_sort(list(x) FILTER (WHERE x IS NOT NULL))[count(x) + 1 - nullif(median_ci_rank(count(x)), 0)]",
        f"CREATE MACRO local_time(ts) AS timezone({zone}, ts)",
        f"CREATE MACRO local_midnight(day) AS timezone({zone}, CAST(CAST(day AS DATE) AS TIMESTAMP))",
        f"CREATE MACRO trailing_window() AS to_seconds({window_s})",
        f"CREATE MACRO trailing_days() AS {settings.windows.trailing_days}",
        f"CREATE MACRO year_start(year) AS timezone({zone}, make_timestamp(CAST(year AS BIGINT), 1, 1, 0, 0, 0))",
        # The latest call is the latest in local time too: one conversion instead of one per task.
        "CREATE MACRO latest_year() AS (SELECT year(local_time(max(call_at))) FROM responses WHERE is_measured)",
        # The review period's rules, as valmius.flags.last_review_year and holds_from_january.
        "CREATE MACRO last_review_year() AS (SELECT year(newest) - CASE WHEN month(newest) = 12 THEN 0 ELSE 1 END "
        "FROM (SELECT local_time(max(call_at)) AS newest FROM responses WHERE is_measured))",
        # (a parameter named year would clash with the responses view's partition column in the subquery)
        "CREATE MACRO held_from_january(calendar_year) AS (SELECT local_time(min(call_at)) FROM responses "
        "WHERE is_measured) < make_timestamp(CAST(calendar_year AS BIGINT), 2, 1, 0, 0, 0)",
    ]


def _ci_rank_macro(level: float) -> str:
    """``median_ci_rank(n)``: the normal approximation plus the counts where the exact rank is one higher."""
    n_max = CI_RANKS_EXACT_UP_TO
    exact = ci_ranks(level, n_max)
    z = NormalDist().inv_cdf((1 + level) / 2)
    n = np.arange(n_max + 1, dtype=np.float64)
    approx = np.maximum(np.floor((n + 1 - z * np.sqrt(n)) / 2), 0).astype(np.int64)
    diff = exact - approx
    if not set(np.unique(diff)) <= {0, 1}:  # pragma: no cover - guarded by a test over levels
        raise CatalogError(f"ci_level {level}: the normal approximation is more than one rank off; "
                           "choose another windows.ci_level")
    ones = ", ".join(str(int(i)) for i in np.flatnonzero(diff))
    approx_sql = f"CAST(greatest(floor((n + 1 - CAST('{z!r}' AS DOUBLE) * sqrt(n)) / 2), 0) AS BIGINT)"
    return (f"CREATE MACRO median_ci_rank(n) AS CASE WHEN n >= 0 THEN {approx_sql}"
            f" + CASE WHEN n <= {n_max} AND list_contains([{ones}], n) THEN 1 ELSE 0 END END")


def derived_view_statements(settings: Settings) -> list[str]:
    """Views computed from the lake views (no data of their own), with their comments."""
    return [scorecards.view_sql(settings), *comment_sql(scorecards.SCORECARDS, True)]


def _fingerprint(settings: Settings, snapshot: Snapshot, empty: list[str]) -> str:
    """What the catalog's content depends on: when it changes, the catalog is written again. Not the
    snapshot: the views read the lake through its table links, and ``valmius_catalog()`` reads the
    snapshot id from the lake when queried, so a new snapshot of the same tables needs no new catalog."""
    stored = {name: sorted(snapshot.definitions_with(name)) for name, table in TABLES.items() if table.per_definition}
    inputs = {"code": _CODE_VERSION, "duckdb": duckdb.__version__, "lake": lake_location(settings),
              "empty": empty, "stored": stored, "definition": snapshot.definition_id,
              "targets_s": settings.targets_s,
              "zone": settings.time.zone, "ci_level": settings.windows.ci_level,
              "trailing_days": settings.windows.trailing_days, "derived": derived_view_statements(settings),
              "tables": {t.name: [(c.name, str(c.dtype), c.meaning) for c in t.columns] + [t.meaning] for t in TABLES.values()}}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _info_sql(settings: Settings, snapshot: Snapshot, fingerprint: str) -> str:
    location = lake_location(settings)
    rows = {
        "lake": location,
        "opening": "relative paths: open from the catalog's folder, or set file_search_path to it",
        "definition_id": str(snapshot.definition_id),
        "definition_name": settings.definition.name,
        "refreshed_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_zone": settings.time.zone,
        "targets_s": json.dumps(settings.targets_s),
        "ci_level": str(settings.windows.ci_level),
        "trailing_days": str(settings.windows.trailing_days),
        "fingerprint": fingerprint,
    }
    values = ", ".join(f"({literal(k)}, {literal(v)})" for k, v in rows.items())
    current = literal(f"{location}/{CURRENT}")
    return (f"CREATE MACRO valmius_catalog() AS TABLE SELECT * FROM (VALUES {values}) AS info(key, value) "
            f"UNION ALL SELECT 'snapshot_id', trim(content, chr(10) || chr(13) || ' ') FROM read_text({current})")


def catalog_statements(settings: Settings) -> tuple[list[str], str]:
    """Every statement that builds the catalog, and the catalog's fingerprint."""
    snapshot = open_results(settings)
    location = lake_location(settings)
    in_lake = {name: _has_files(snapshot, table) for name, table in TABLES.items()}
    fingerprint = _fingerprint(settings, snapshot, sorted(n for n, present in in_lake.items() if not present))
    active = _ViewOf(snapshot.definition_id, settings.definition.name)
    statements, every_definition = [], []  # the second read the definitions view: made after it
    for name, table in TABLES.items():
        statements.append(view_sql(table, location if in_lake[name] else None, active))
        statements += comment_sql(table, in_lake[name])
        if table.per_definition:
            stored = bool(snapshot.definitions_with(name))
            every_definition.append(view_sql(table, location if stored else None, _ViewOf(None)))
            every_definition += comment_sql(table, stored, all_definitions=True)
    statements += every_definition
    statements += macro_sql(settings)
    statements += derived_view_statements(settings)
    statements.append(_info_sql(settings, snapshot, fingerprint))
    return statements, fingerprint


def refresh_catalog(settings: Settings, *, when_stale: bool = False) -> Path:
    """Write the catalog at ``paths.catalog`` afresh (a temporary file renamed into place); its path.
    With ``when_stale``, only when it is missing or stale (:func:`is_stale`)."""
    target = Path(os.path.abspath(settings.paths.catalog))
    if when_stale and not is_stale(settings):
        return target
    statements, _ = catalog_statements(settings)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove(tmp)
        # Views are bound when created: their relative paths must resolve against the catalog's folder.
        con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_VERSION,
                                               "file_search_path": str(target.parent)})
        try:
            con.execute("BEGIN TRANSACTION")
            for statement in statements:
                con.execute(statement)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(target.parent)
    except OSError as exc:
        raise CatalogError(f"{target}: could not write the DuckDB catalog: {exc}; check that its folder is "
                           "writable, or set paths.catalog to another file") from exc
    except duckdb.Error as exc:
        raise CatalogError(f"{target}: could not build the DuckDB catalog: {exc}") from exc
    finally:
        _remove(tmp)
    return target


def opening_instructions(path: Path) -> str:
    """How to open the catalog at ``path`` from the DuckDB command line, Python and DBeaver."""
    folder, name = path.parent, path.name
    return "\n".join([
        "Open it read-only from its own folder, or with file_search_path set to that folder:",
        f"  DuckDB CLI: cd {folder} && duckdb -readonly {name}",
        f"  Python:     duckdb.connect('{path}', read_only=True, config={{'file_search_path': '{folder}'}})",
        f"  DBeaver:    a DuckDB connection to {path}, driver property file_search_path = {folder}",
    ])


def catalog_fingerprint(settings: Settings) -> str:
    """The fingerprint a fresh catalog of the current lake and settings would have (cheap: no ranks)."""
    snapshot = open_results(settings)
    empty = sorted(name for name, table in TABLES.items() if not _has_files(snapshot, table))
    return _fingerprint(settings, snapshot, empty)


def connect_catalog(settings: Settings, *, refresh_if_stale: bool = True,
                    config: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog, with relative paths resolved against its folder.

    The catalog is written first when it is missing or stale (:func:`is_stale`).
    """
    path = Path(os.path.abspath(settings.paths.catalog))
    if refresh_if_stale:
        refresh_catalog(settings, when_stale=True)
    if not path.exists():
        raise CatalogError(f"{path}: no catalog yet; run `valmius catalog` to write it")
    options = {"file_search_path": str(path.parent), **(config or {})}
    try:
        return duckdb.connect(str(path), read_only=True, config=options)
    except duckdb.Error as exc:
        raise CatalogError(f"{path}: could not open the DuckDB catalog: {exc}; run `valmius catalog` to write "
                           "it again") from exc


def is_stale(settings: Settings) -> bool:
    """Whether the catalog is missing or was built from other tables, definitions or settings of the
    lake, or by another valmius or DuckDB version."""
    path = Path(os.path.abspath(settings.paths.catalog))
    return not path.exists() or _stored_fingerprint(path) != catalog_fingerprint(settings)


def _stored_fingerprint(path: Path) -> str | None:
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT value FROM valmius_catalog() WHERE key = 'fingerprint'").fetchall()
    except duckdb.Error:
        return None  # unreadable or from an older valmius: write it again
    return rows[0][0] if rows else None


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        try:
            leftover.unlink()
        except OSError:  # not there (or no folder): nothing to clean up
            pass

