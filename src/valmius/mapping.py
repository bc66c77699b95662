"""Source formats as data: a mapping file (TOML) says how to read one kind of dispatch export.

A mapping names the source column behind each stored column, the delimiter, decimal mark, encoding,
timestamp format and time zone, the coordinate columns and their coordinate system, and how the
urgency is read. Built-in mappings live in ``valmius/formats/`` (``valmius``, ``fi-erc``,
``sf-fire``); a department with another export writes its own file, no Python needed::

    name = "my-export"
    [file]
    delimiter = ";"
    decimal = ","
    encoding = "auto"                     # auto, utf-8, utf-8-sig, cp1252 or latin-1
    timestamp_format = "%d.%m.%Y %H:%M:%S"
    time_zone = "Europe/Helsinki"
    [columns]
    incident_id = "Tehtävänumero"                               # a source column
    station_id = { column = "Yksikkö", pattern = "^(KU\\d\\d)" }   # the first group of a regex
    unit_type = { value = "pelastusyksikkö" }                   # a constant
    [[coordinates]]                                             # first option present in the file wins
    crs = "EPSG:3067"
    x = "Koordinaatti_E"
    y = "Koordinaatti_N"
    [urgency]
    urgent = ["A", "B"]
    non_urgent = ["C", "D"]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from valmius.errors import MappingError
from valmius.kernels.timestamps import compile_format

TIME_COLUMNS = ("call_at", "alarm_at", "en_route_at", "on_scene_at", "free_at")
"""Status times in their natural order; a row's present times must not decrease along it."""
TEXT_COLUMNS = ("incident_id", "unit_id", "unit_type", "station_id", "urgency", "task_type", "municipality_code")
REQUIRED_COLUMNS = ("incident_id", "unit_id", "call_at", "urgency")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class ColumnSource:
    """Where one stored column comes from: a source column (optionally through a regex) or a constant."""

    column: str | None = None
    pattern: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class CoordinateSource:
    crs: str
    x: str | None = None
    y: str | None = None
    point: str | None = None
    """A single text column holding both numbers, e.g. "(37.74, -122.45)"."""
    point_order: str = "yx"
    """Order of the numbers in ``point``: "yx" (lat, lon) or "xy"."""

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.point,) if self.point else (self.x, self.y)  # type: ignore[return-value]


@dataclass(frozen=True)
class Mapping:
    name: str
    description: str
    columns: dict[str, ColumnSource]
    coordinates: tuple[CoordinateSource, ...]
    urgent: tuple[str, ...]
    non_urgent: tuple[str, ...]
    delimiter: str = ","
    decimal: str = "."
    encoding: str = "auto"
    timestamp_format: str = "%Y-%m-%dT%H:%M:%S"
    time_zone: str = "UTC"
    null_values: tuple[str, ...] = ("",)
    source: str = "built-in"

    def source_columns(self) -> set[str]:
        """Source columns this mapping reads (coordinate columns of every option included)."""
        names = {c.column for c in self.columns.values() if c.column}
        for option in self.coordinates:
            names.update(option.source_columns)
        return names


_FILE_KEYS = {"delimiter", "decimal", "encoding", "timestamp_format", "time_zone", "null_values"}
_TOP_KEYS = {"name", "description", "file", "columns", "coordinates", "urgency"}


def builtin_formats() -> list[str]:
    """Names of the built-in mappings."""
    folder = resources.files("valmius") / "formats"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_mapping(name: str | None = None, path: Path | str | None = None) -> Mapping:
    """Load a built-in mapping by ``name`` or a mapping file from ``path`` (exactly one of them)."""
    if (name is None) == (path is None):
        raise MappingError("give either a format name (--format) or a mapping file (--mapping), not both or neither")
    if name is not None:
        if name not in builtin_formats():
            raise MappingError(f"unknown format {name!r}; built-in formats are {', '.join(builtin_formats())}, or pass --mapping FILE")
        text = (resources.files("valmius") / "formats" / f"{name}.toml").read_text(encoding="utf-8")
        where = f"built-in format {name}"
    else:
        file = Path(path)  # type: ignore[arg-type]
        if not file.exists():
            raise MappingError(f"{file}: mapping file not found")
        text = file.read_text(encoding="utf-8")
        where = str(file)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{where}: not valid TOML: {exc}") from exc
    return _parse(raw, where)


def _parse(raw: dict, where: str) -> Mapping:
    _no_unknown(raw, _TOP_KEYS, where, "")
    file_opts = raw.get("file", {})
    _no_unknown(file_opts, _FILE_KEYS, where, "file.")
    columns = {key: _column_source(value, where, key) for key, value in raw.get("columns", {}).items()}
    known = set(TIME_COLUMNS) | set(TEXT_COLUMNS)
    for key in columns:
        if key not in known:
            raise MappingError(f"{where}: unknown stored column 'columns.{key}'; known: {', '.join(sorted(known))}")
    for key in REQUIRED_COLUMNS:
        if key not in columns:
            raise MappingError(f"{where}: 'columns.{key}' is required (which source column holds it?)")
    coordinates = tuple(_coordinate_source(opt, where, i) for i, opt in enumerate(raw.get("coordinates", [])))
    urgency = raw.get("urgency", {})
    _no_unknown(urgency, {"urgent", "non_urgent"}, where, "urgency.")
    urgent = tuple(str(v) for v in urgency.get("urgent", []))
    non_urgent = tuple(str(v) for v in urgency.get("non_urgent", []))
    if not urgent:
        raise MappingError(f"{where}: 'urgency.urgent' must list the source values of urgent tasks")
    encoding = file_opts.get("encoding", "auto").lower()
    if encoding not in ENCODINGS:
        raise MappingError(f"{where}: 'file.encoding' must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    timestamp_format = file_opts.get("timestamp_format", "%Y-%m-%dT%H:%M:%S")
    try:
        compile_format(timestamp_format)
    except ValueError as exc:
        raise MappingError(f"{where}: 'file.timestamp_format': {exc}") from exc
    delimiter = file_opts.get("delimiter", ",")
    if len(delimiter) != 1:
        raise MappingError(f"{where}: 'file.delimiter' must be one character, not {delimiter!r}")
    decimal = file_opts.get("decimal", ".")
    if decimal not in (".", ","):
        raise MappingError(f"{where}: 'file.decimal' must be \".\" or \",\"")
    return Mapping(
        name=str(raw.get("name", Path(where).stem)),
        description=str(raw.get("description", "")),
        columns=columns,
        coordinates=coordinates,
        urgent=urgent,
        non_urgent=non_urgent,
        delimiter=delimiter,
        decimal=decimal,
        encoding=encoding,
        timestamp_format=timestamp_format,
        time_zone=str(file_opts.get("time_zone", "UTC")),
        null_values=tuple(str(v) for v in file_opts.get("null_values", [""])),
        source=where,
    )


def _no_unknown(table: dict, known: set[str], where: str, prefix: str) -> None:
    if not isinstance(table, dict):
        raise MappingError(f"{where}: '{prefix.rstrip('.')}' must be a table")
    for key in table:
        if key not in known:
            raise MappingError(f"{where}: unknown key '{prefix}{key}'; known keys here: {', '.join(sorted(known))}")


def _column_source(value: object, where: str, key: str) -> ColumnSource:
    if isinstance(value, str):
        return ColumnSource(column=value)
    if isinstance(value, dict):
        _no_unknown(value, {"column", "pattern", "value"}, where, f"columns.{key}.")
        if ("column" in value) == ("value" in value):
            raise MappingError(f"{where}: 'columns.{key}' needs either column = \"...\" or value = \"...\"")
        pattern = value.get("pattern")
        if pattern is not None:
            try:
                if re.compile(pattern).groups != 1:
                    raise MappingError(f"{where}: 'columns.{key}.pattern' must have exactly one (group)")
            except re.error as exc:
                raise MappingError(f"{where}: 'columns.{key}.pattern' is not a valid regex: {exc}") from exc
        return ColumnSource(column=value.get("column"), pattern=pattern, value=value.get("value"))
    raise MappingError(f"{where}: 'columns.{key}' must be a column name or a table")


def _coordinate_source(opt: object, where: str, index: int) -> CoordinateSource:
    prefix = f"coordinates[{index}]."
    if not isinstance(opt, dict):
        raise MappingError(f"{where}: each [[coordinates]] must be a table")
    _no_unknown(opt, {"crs", "x", "y", "point", "point_order"}, where, prefix)
    if "crs" not in opt:
        raise MappingError(f"{where}: '{prefix}crs' is required (e.g. \"EPSG:3067\" or \"EPSG:4326\")")
    has_xy = "x" in opt and "y" in opt
    if has_xy == ("point" in opt):
        raise MappingError(f"{where}: '{prefix[:-1]}' needs either x and y columns or one point column")
    order = opt.get("point_order", "yx")
    if order not in ("yx", "xy"):
        raise MappingError(f"{where}: '{prefix}point_order' must be \"yx\" or \"xy\"")
    return CoordinateSource(crs=opt["crs"], x=opt.get("x"), y=opt.get("y"), point=opt.get("point"), point_order=order)
