"""Read-only SQL over the lake: ``run_query`` and the query files of ``queries/``.

A query runs on the DuckDB catalog (``valmius.catalog``), opened read-only and written first when
it is missing or stale. Only reading statements run: ``SELECT`` (with ``FROM``, ``WITH``,
``DESCRIBE``, ``SHOW``, ``SUMMARIZE``) and ``EXPLAIN`` of one. Anything that could change the lake
or the session (``COPY``, ``INSERT``, ``CREATE``, ``ATTACH``, ``INSTALL``/``LOAD``, ``SET``,
``PRAGMA``, ``CALL``, ``EXPORT``, ...) is refused before it reaches DuckDB, and the connection's
configuration is locked and extensions are never installed or loaded behind the query's back.

A query file starts with a header of ``--`` comments::

    -- Question: How fast were urgent tasks in class I areas reached, month by month?
    -- (more lines that explain the answer)
    --
    -- Parameters:
    --   $risk_class VARCHAR = 'I'   risk class of the cells
    --   $year INTEGER = NULL        local calendar year; NULL: the latest year with measured tasks
    --
    -- Example (demo lake):
    --   | month | tasks | median | ...

The ready queries (``QUERY_LIBRARY``) can be named without their folder and suffix
(``valmius sql class_i_by_month``) and listed with their questions (``valmius sql --list``).

Each parameter is declared with its DuckDB type and its default (an SQL literal), so that every
file runs without parameters. A value given as text (``--param year=2024``) is cast to the
declared type. The examples are results on the demo lake (``valmius demo``), written by
:func:`write_examples`.

A result keeps the types DuckDB's conversion to Polars gives it (a ``HUGEINT``, which ``sum``
returns, as a Decimal; an ``ENUM`` as Categorical), but for the types that Polars cannot hold or the
outputs cannot write: those come as DuckDB writes them as text, on the terminal, in csv, json and
parquet and in :func:`run_query`'s frame alike. An ``INTERVAL`` reads ``'365 days 21:58:55'`` or
``'1 month 2 days'`` (a month has no fixed length, so no duration can hold one; ``epoch(interval)``
gives seconds), a ``BLOB`` ``'x\\xAA'``, a ``BIT`` ``'101'``, a ``TIME WITH TIME ZONE``
``'12:00:00+02'``, a ``BIGNUM``, ``UHUGEINT`` or ``UNION`` its value; a list, struct or map that
holds one of them is written whole as text (``'[1 day]'``).

So does a column, of any type, that holds a value Python cannot hold: an infinite date or
timestamp (``'infinity'``, ``'-infinity'``), a year before 1 or after 9999 (``'0044-03-15 (BC)'``),
the time ``'24:00:00'``, a ``HUGEINT`` of 39 digits; its ordinary values then read as DuckDB writes
them too (``'2024-05-01'``). Such a value never turns into a wrong date, a null or a rounded
number, and a column without one keeps its type.

In json a decimal (a ``DECIMAL``, or a ``HUGEINT`` such as ``sum`` of integers gives) is a number
with all its digits (``123456789012345.678``), in lists, structs and maps too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.sqltypes import DuckDBPyType

from valmius.catalog import connect_catalog
from valmius.errors import ValmiusError
from valmius.labels import english_count
from valmius.settings import Settings


QUERY_LIBRARY = (Path(__file__).parent / "queries").resolve()
"""The ready queries: ``valmius/queries``, in the repository a link to its ``queries/`` folder
(resolved: messages name that folder), in an installed package the files themselves."""
OUTPUTS = ("table", "csv", "parquet", "json")
TABLE_ROWS_SHOWN = 100
EXAMPLE_ROWS = 8
_PARAMETER = re.compile(r"^--\s+\$(?P<name>[A-Za-z_]\w*)\s+(?P<type>[A-Z][A-Z0-9_]*(?:\[\])?)\s*=\s*"
                        r"(?P<default>'(?:[^']|'')*'|\S+)(?:\s+(?P<meaning>.*))?$")
_READING = (duckdb.StatementType.SELECT,)
_AS_TEXT = frozenset({"interval", "blob", "bit", "bignum", "uhugeint", "union", "time with time zone"})
"""DuckDB types (``DuckDBPyType.id``) that a result gives as text: Polars has no such type (intervals
of months, unions, big numbers), or holds it wrongly (a time's offset is dropped; a UHUGEINT comes
as a signed Decimal(38, 0), negative beyond 2^127, and its largest values have 39 digits) or as
bytes that no text output writes (a blob, a bit string)."""
_NESTED = frozenset({"list", "array", "struct", "map"})
_EPOCH = dt.date(1970, 1, 1)
_PYTHON_DAYS = ((dt.date.min - _EPOCH).days, (dt.date.max - _EPOCH).days)
"""The first and last day that Python's date holds (the years 1 to 9999), in days since 1970."""
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


class QueryError(ValmiusError):
    """A query is not valid, is refused (it would write), or failed in DuckDB."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    """DuckDB type, e.g. INTEGER, VARCHAR, DATE."""
    default_sql: str
    """The default as an SQL literal, e.g. NULL, 'I', 2025."""
    meaning: str
    default: object = None


@dataclass(frozen=True)
class QueryFile:
    """A query file: its SQL and the header's question, parameters and example."""

    path: Path
    text: str
    question: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    example: list[str] = field(default_factory=list)
    """The example result's lines, without the leading ``--``."""


def read_query(path: Path) -> QueryFile:
    """Read a query file and its header; an error names the file and line of a malformed header."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QueryError(f"{path}: query file not found; query files are in queries/ (e.g. queries/class_i_by_month.sql)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"{path}: cannot read the query file: {exc}") from exc
    question, parameters, example = "", {}, []
    section = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        if body.startswith("Question:"):
            question, section = body.removeprefix("Question:").strip(), None
        elif body == "Parameters:":
            section = "parameters"
        elif body.startswith("Example"):
            section = "example"
        elif section == "parameters" and body:
            match = _PARAMETER.match(line)
            if match is None:
                raise QueryError(f"{path}, line {number}: a parameter line reads '--   $name TYPE = default  meaning', "
                                 f"e.g. '--   $year INTEGER = NULL  local calendar year'; found {line!r}")
            parameters[match["name"]] = Parameter(match["name"], match["type"], match["default"], match["meaning"] or "",
                                                  _cast(match["default"], match["type"], path, number, literal=True))
        elif section == "parameters":
            section = None
        elif section == "example":
            example.append(line[2:].rstrip())
    while example and not example[-1].strip():
        example.pop()
    return QueryFile(path, text, question, parameters, example)


def _cast(value: str, type_name: str, where: Path | str, line: int | None, *, literal: bool = False) -> object:
    """``value`` (an SQL literal, or text given on the command line) as a Python value of ``type_name``."""
    sql = f"SELECT CAST({value} AS {type_name})" if literal else f"SELECT CAST($value AS {type_name})"
    try:
        with duckdb.connect() as con:
            return con.execute(sql, None if literal else {"value": value}).fetchall()[0][0]
    except duckdb.Error as exc:
        place = f"{where}, line {line}" if line else str(where)
        raise QueryError(f"{place}: {value!r} is not of type {type_name}: {_first_line(exc)}") from exc


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["year=2025", "risk_class=II"]`` as a dict of text values (typed later by the query's header)."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lstrip("$")
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise QueryError(f"--param {pair!r}: write NAME=VALUE, e.g. --param year=2025")
        params[name] = value
    return params


def guess_value(text: str) -> object:
    """A parameter given as text without a declared type: a whole number, a number, true/false,
    null, an ISO date, else the text itself."""
    lowered = text.strip().lower()
    if lowered in ("null", ""):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float, dt.date.fromisoformat):
        try:
            return convert(text.strip())
        except ValueError:
            pass
    return text


def library_queries() -> list[QueryFile]:
    """The ready queries of ``QUERY_LIBRARY``, by name (none when it is absent)."""
    return [read_query(path) for path in sorted(QUERY_LIBRARY.glob("*.sql"))]


def find_query(query: Path) -> Path:
    """``query`` when it is a file, else the ready query of that name (``class_i_by_month``, with or
    without ``.sql``); an error lists the ready queries."""
    if query.exists() or len(query.parts) > 1:
        return query
    named = QUERY_LIBRARY / query.with_suffix(".sql").name
    if named.is_file():
        return named
    names = ", ".join(q.path.stem for q in library_queries()) or f"none ({QUERY_LIBRARY} is absent)"
    raise QueryError(f"{query}: no such query file, nor a ready query of that name; the ready queries: {names} "
                     "(valmius sql --list says what each answers)")


def run_query(settings: Settings, query: str | Path, params: Mapping[str, object] | None = None) -> pl.DataFrame:
    """Run a query file (a ``Path``, or text ending in ``.sql``) or SQL text, read-only; the result.

    ``params`` are the named parameters (``$year``): values of any type, or text that is cast to
    the type the query file declares. A query file's declared defaults fill the rest.
    """
    source, where = _source(query)
    statement, offset = _one_reading_statement(source.text, where)
    values = _bind(source, statement.named_parameters, dict(params or {}), where)
    body = _without_final_semicolon(statement.query)
    con = connect_catalog(settings, config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                            "allow_community_extensions": False})
    try:
        con.execute("SET TimeZone = 'UTC'")  # results never depend on the machine's zone
        con.execute("SET lock_configuration = true")
        try:
            return _frame(con, con.sql(body, params=values or None))
        except duckdb.Error as exc:
            raise QueryError(_describe(_positioned(con, body, values, exc), where, offset)) from exc
    finally:
        con.close()


def _frame(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    """The result as a Polars DataFrame, with DuckDB's text for a column of a type in ``_AS_TEXT``
    (or holding one) and for a column holding a value that Python cannot hold (``_beyond_python``).

    Columns are named by position (``#2``), as their names may repeat, and take the unique names
    DuckDB gives them read as a subquery (``a``, ``a_1``), as ``relation.pl()`` names them.
    """
    names, types = relation.project("*").columns, relation.types
    table = relation.project(", ".join(
        (f"CAST(#{number} AS VARCHAR)" if _as_text(type_) else f"#{number}") + f" AS {_quoted(name)}"
        for number, (name, type_) in enumerate(zip(names, types), start=1))).to_arrow_table()
    beyond = [index for index, column in enumerate(table.columns) if any(map(_beyond_python, column.chunks))]
    if beyond:  # written as text from the rows fetched, so that the query runs once
        texts = con.from_arrow(table.select(beyond)).project(
            ", ".join(f"CAST(#{number} AS VARCHAR)" for number in range(1, len(beyond) + 1))).to_arrow_table()
        for index, text in zip(beyond, texts.columns):
            table = table.set_column(index, table.column_names[index], text)
    return pl.from_arrow(table, rechunk=False)


def _as_text(type_: DuckDBPyType) -> bool:
    if type_.id in _AS_TEXT:
        return True
    return type_.id in _NESTED and any(isinstance(child, DuckDBPyType) and _as_text(child)
                                       for _, child in type_.children)


def _beyond_python(array: pa.Array) -> bool:
    """Whether ``array`` holds, at any depth, a value that Polars cannot give back to Python as it
    is: a date or timestamp that is infinite or outside the years 1 to 9999 (Polars panics, or
    reads an infinite TIMESTAMP_S as 1969), the time 24:00:00 (read as null), a number of more
    digits than its decimal type holds (a HUGEINT past 10^38, rounded)."""
    if isinstance(array, pa.MapArray):
        return _beyond_python(array.keys) or _beyond_python(array.items)
    if isinstance(array, (pa.ListArray, pa.LargeListArray, pa.FixedSizeListArray)):
        return _beyond_python(array.flatten())
    if isinstance(array, pa.StructArray):
        return any(map(_beyond_python, array.flatten()))
    held = _held_by_python(array.type)
    if held is None or array.null_count == len(array):
        return False
    as_type, lowest, highest = held
    extremes = pc.min_max(array if as_type is None else array.view(as_type)).as_py()
    return extremes["min"] < lowest or extremes["max"] > highest


def _held_by_python(type_: pa.DataType) -> tuple[pa.DataType | None, object, object] | None:
    """For a date, time, timestamp or decimal type: the type its values are compared as (their
    integers; None: as they are), and the lowest and highest that Python holds. None for others."""
    if pa.types.is_date32(type_):
        return pa.int32(), *_PYTHON_DAYS
    if pa.types.is_time64(type_):
        return pa.int64(), 0, 86_400 * _PER_SECOND[type_.unit] - 1
    if pa.types.is_timestamp(type_):
        (first, last), per_day = _PYTHON_DAYS, 86_400 * _PER_SECOND[type_.unit]
        finite = 2**63 - 2  # DuckDB's infinities are ±(2^63 - 1)
        return pa.int64(), max(first * per_day, -finite), min((last + 1) * per_day - 1, finite)
    if pa.types.is_decimal(type_):
        largest = Decimal((0, (9,) * type_.precision, -type_.scale))
        return None, -largest, largest
    return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source(query: str | Path) -> tuple[QueryFile, str]:
    if isinstance(query, Path) or (query.strip().endswith(".sql") and not re.search(r"\s", query.strip())):
        path = Path(query)
        return read_query(path), str(path)
    return QueryFile(Path("-c"), query, ""), "query"


def _one_reading_statement(text: str, where: str) -> tuple[duckdb.Statement, int]:
    """The text's one statement, if it only reads, and the number of lines before it."""
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise QueryError(_describe(exc, where, 0)) from exc
    if not statements:
        raise QueryError(f"{where}: no SQL statement found")
    offset = text[: max(text.find(statements[0].query), 0)].count("\n")
    if len(statements) > 1:
        line = text[: max(text.rfind(statements[1].query), 0)].count("\n") + 1
        raise QueryError(f"{where}, line {line}: a second statement; run one statement at a time")
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.EXPLAIN:
        inner = re.sub(r"^\s*explain\s+(analy[sz]e\s+)?", "", statement.query, flags=re.IGNORECASE)
        kind = next((s.type for s in _quiet_extract(inner)), kind)
    if kind not in _READING:
        name = kind.name if hasattr(kind, "name") else str(kind)
        raise QueryError(f"{where}, line {offset + 1}: valmius sql only reads: {name} statements are refused, so that "
                         "nothing can change the lake; to save a result use --output csv|parquet|json --out FILE")
    return statement, offset


def _quiet_extract(text: str) -> list:
    try:
        return duckdb.extract_statements(text)
    except duckdb.Error:
        return []


def _bind(source: QueryFile, used: set[str], given: dict[str, object], where: str) -> dict[str, object]:
    declared = source.parameters
    unknown = sorted(set(given) - set(used) - set(declared))
    if unknown:
        known = ", ".join(f"${n}" for n in sorted(set(used) | set(declared))) or "none"
        raise QueryError(f"{where}: unknown parameter ${unknown[0]}; this query's parameters: {known}")
    values: dict[str, object] = {}
    for name in sorted(used):
        if name in given:
            value = given[name]
            if isinstance(value, str):
                value = (_cast(value, declared[name].type, f"{where}: --param {name}", None)
                         if name in declared else guess_value(value))
            values[name] = value
        elif name in declared:
            values[name] = declared[name].default
        else:
            raise QueryError(f"{where}: parameter ${name} has no value and no declared default; "
                             f"give --param {name}=VALUE")
    return values


def _without_final_semicolon(query: str) -> str:
    return re.sub(r";\s*$", "", query.rstrip())


def _positioned(con: duckdb.DuckDBPyConnection, body: str, values: dict[str, object], exc: duckdb.Error) -> duckdb.Error:
    """DuckDB's relation API leaves the position out of binder errors; binding the statement again
    through ``execute`` reports it (binding fails before anything runs)."""
    if "\nLINE " in str(exc) or not isinstance(exc, (duckdb.BinderException, duckdb.CatalogException)):
        return exc
    try:
        con.execute(body, values or None)
        con.abort()
    except duckdb.Error as positioned:
        return positioned
    return exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _describe(exc: BaseException, where: str, offset: int) -> str:
    """DuckDB's error as one line: where (file and line), then its message without the excerpt."""
    text = str(exc)
    match = re.search(r"^LINE (\d+):", text, flags=re.MULTILINE)
    kept = [line.strip() for line in text.splitlines()
            if line.strip() and not line.startswith("LINE ") and set(line.strip()) != {"^"}]
    message = " ".join(kept)
    if "Values were not provided for the following parameters" in message:
        message += "; give them with --param NAME=VALUE"
    if match:
        return f"{where}, line {int(match[1]) + offset}: {message}"
    return f"{where}: {message}"


# --- Output


def write_result(frame: pl.DataFrame, output: str, out: Path | None = None) -> str | None:
    """Write ``frame`` to ``out`` as csv, parquet or json; without ``out``, return csv or json text."""
    if output not in OUTPUTS or output == "table" and out is not None:
        raise QueryError(f"--output {output}: write to a file as csv, parquet or json" if output == "table"
                         else f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
    if output == "parquet":
        if out is None:
            raise QueryError("--output parquet needs --out FILE (Parquet is not for the terminal)")
        frame.write_parquet(out)
        return None
    text = _csv(frame) if output == "csv" else "[" + ",\n ".join(map(_json, frame.to_dicts())) + "]"
    if out is None:
        return text
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return None


def _json(value: object) -> str:
    """``value`` (a row, or a value in it) as JSON text. A decimal (``sum`` of integers gives one)
    is a number with all its digits: json.dumps writes none, and a float with a double's digits
    only. JSON's keys are text: a map's other keys are written as text (``{"2024-05-01": 1}``)."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):  # a row, a struct or a map
        pairs = ((key if isinstance(key, str) else _json(key).strip('"'), item) for key, item in value.items())
        return "{" + ", ".join(f"{_json(key)}: {_json(item)}" for key, item in pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_json, value)) + "]"
    return json.dumps(value, default=str, ensure_ascii=False)


def _csv(frame: pl.DataFrame) -> str:
    """CSV has no nested values: a list of plain values is written joined by spaces (``1 2``), any
    other (a struct, a map, a list of lists) as JSON, as the json output writes it (``{"a": 1}``,
    ``[[1, 2]]``)."""
    def flat(column: pl.Series) -> pl.Series:
        if isinstance(column.dtype, (pl.List, pl.Array)) and not column.dtype.inner.is_nested():
            return column.cast(pl.List(pl.String)).list.join(" ")
        return pl.Series(column.name, [None if v is None else _json(v) for v in column.to_list()], pl.String)

    return frame.with_columns(flat(frame[name]) for name, dtype in frame.schema.items() if dtype.is_nested()).write_csv()


def cell_text(value: object) -> str:
    """A value as shown in the terminal table and in the examples of query headers."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "NaN"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo is not None else "")
    if isinstance(value, list):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


def rich_table(frame: pl.DataFrame, rows: int = TABLE_ROWS_SHOWN):
    """The first ``rows`` rows as a rich Table for the terminal, numbers right-aligned. Cells and
    column names are ``Text``, shown as they are: a string would be read as markup (``[red]``) and
    emoji codes (``:warning:``)."""
    from rich.table import Table
    from rich.text import Text

    shown = f"{min(rows, frame.height):,} of {frame.height:,} rows; --output csv for all" if frame.height > rows else \
        f"{frame.height:,} row" + ("" if frame.height == 1 else "s")
    table = Table(caption=shown, caption_justify="left")
    for name, dtype in frame.schema.items():
        table.add_column(Text(name), justify="right" if dtype.is_numeric() else "left", overflow="fold")
    for row in frame.head(rows).iter_rows():
        table.add_row(*(Text(cell_text(v)) for v in row))
    return table


def markdown_table(frame: pl.DataFrame, rows: int = EXAMPLE_ROWS) -> list[str]:
    """The first ``rows`` rows as a Markdown table (the examples of query headers); a ``|`` in a
    name or cell is escaped (``\\|``), so that it does not start a new column."""
    def cells(texts) -> str:
        return "| " + " | ".join(text.replace("|", "\\|") for text in texts) + " |"

    lines = [cells(frame.columns), "|" + "---|" * len(frame.columns)]
    lines += [cells(cell_text(v) for v in row) for row in frame.head(rows).iter_rows()]
    if frame.height > rows:
        lines.append(f"({english_count(frame.height - rows, 'more row')})")
    elif frame.height == 0:
        lines.append("(no rows)")
    return lines


def write_examples(settings: Settings, files: Sequence[Path], params: Mapping[str, object] | None = None) -> list[Path]:
    """Rewrite the ``Example`` block of each query file's header with its result on ``settings``' lake."""
    changed = []
    for path in files:
        query = read_query(path)
        frame = run_query(settings, path, {k: v for k, v in (params or {}).items() if k in query.parameters})
        lines = query.text.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("-- Example")), None)
        if start is None:
            raise QueryError(f"{path}: the header has no '-- Example' line to write the result under")
        end = start + 1
        while end < len(lines) and lines[end].startswith("--") and lines[end].strip() != "--":
            end += 1
        block = [f"--   {line}" for line in markdown_table(frame)]
        new = "\n".join([*lines[: start + 1], *block, *lines[end:]]) + "\n"
        if new != query.text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed
