"""The column dictionary: every stored column with its type, unit and meaning.

One place feeds the Parquet schemas, ``valmius schema``, the README's table and (later) the comments
of the DuckDB views. A test checks that every column written to the lake is documented here.

Conventions: times are UTC timestamps named ``*_at``; durations are whole seconds named ``*_s``;
coordinates are metres of the grid's coordinate system named ``*_m``; flags are ``is_*``/``has_*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    meaning: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    """Hive partition columns: folder names, not stored inside the Parquet files."""
    per_definition: bool = False
    """A derived table: one folder per definition (``definition_id=<id>/``), the id a column of the
    DuckDB views (see ``valmius.definitions``)."""

    @property
    def schema(self) -> pl.Schema:
        """Schema of the Parquet files (partition columns excluded)."""
        return pl.Schema({c.name: c.dtype for c in self.columns if c.name not in self.partition_by})

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _partition_columns(what: str) -> tuple[Column, ...]:
    return (
        Column("year", pl.Int32, f"Partition: calendar year of {what} (UTC).", nullable=False),
        Column("month", pl.Int32, f"Partition: calendar month 1-12 of {what} (UTC).", nullable=False),
    )


_SOURCE = (
    Column("source_file", pl.String, "Name of the export file the row came from.", nullable=False),
    Column("source_row", pl.Int64, "Line number of the row in its file (the header is line 1).", nullable=False),
    Column("file_seq", pl.Int64, "Order in which the file was ingested; a higher number is a newer export and wins.", nullable=False),
)

UNITS = Table(
    "units",
    "One row per unit per incident: the unit's status times.",
    (
        Column("incident_id", pl.String, "Incident (task) id of the source system.", nullable=False),
        Column("unit_id", pl.String, "Unit id, e.g. KU101 or E39.", nullable=False),
        Column("unit_type", pl.String, "Unit type as the source names it (e.g. pelastusyksikkö, ENGINE)."),
        Column("station_id", pl.String, "Station the unit belongs to."),
        Column("call_at", UTC_TIME, "Emergency call received by the ERC (UTC).", nullable=False),
        Column("alarm_at", UTC_TIME, "Unit alarmed by the ERC (UTC): the response clock starts here."),
        Column("en_route_at", UTC_TIME, "Unit en route (UTC)."),
        Column("on_scene_at", UTC_TIME, "Unit on scene (UTC); null if the unit never arrived."),
        Column("free_at", UTC_TIME, "Unit free again (UTC)."),
        Column("never_arrived", pl.Boolean, "Alarmed but no on-scene time (cancelled or not recorded).", nullable=False),
        Column("has_zero_interval", pl.Boolean, "Two consecutive status times are equal (kept; often a button pressed twice).", nullable=False),
        *_SOURCE,
        *_partition_columns("the incident's call"),
    ),
    key=("incident_id", "unit_id"),
    partition_by=("year", "month"),
)

INCIDENTS = Table(
    "incidents",
    "One row per incident (task): when, what, how urgent and where.",
    (
        Column("incident_id", pl.String, "Incident (task) id of the source system.", nullable=False),
        Column("call_at", UTC_TIME, "Emergency call received by the ERC (UTC).", nullable=False),
        Column("urgency", pl.String, "Urgency class as the source gives it (ERC classes A-D in Finland)."),
        Column("is_urgent", pl.Boolean, "Urgent task (lights and siren) by the source mapping or the counting.urgent_classes setting.", nullable=False),
        Column("task_type", pl.String, "Task type as the source gives it (e.g. '402 rakennuspalo: keskisuuri')."),
        Column("municipality_code", pl.String, "Three-digit Finnish municipality code (e.g. 186), or the source's area code."),
        Column("x_m", pl.Float64, "Easting of the incident in metres of the grid's coordinate system."),
        Column("y_m", pl.Float64, "Northing of the incident in metres of the grid's coordinate system."),
        Column("is_outside_extent", pl.Boolean, "Location outside the grid's plausible extent (kept, marked).", nullable=False),
        *_SOURCE,
        *_partition_columns("the call"),
    ),
    key=("incident_id",),
    partition_by=("year", "month"),
)

QUARANTINE_REASONS = {
    "missing_value": "a required value is missing",
    "bad_timestamp": "a timestamp does not match the format",
    "impossible_timestamp": "a timestamp names no real date or time",
    "nonexistent_local_time": "a local time in the hour skipped when clocks go forward",
    "ambiguous_local_time": "a local time in the repeated autumn hour that the row's order cannot resolve",
    "unknown_urgency": "an urgency value the mapping does not know",
    "bad_coordinate": "a coordinate that is not a number",
    "future_timestamp": "a status time later than the run itself (a clock or typing error)",
    "early_timestamp": "a status time before validation.first_year (a mistyped year)",
    "negative_interval": "a status time earlier than the one before it",
    "implausible_interval": "a gap between status times longer than the validation limit",
    "malformed_row": "a row with the wrong number of fields",
    "superseded": "replaced by a newer export of the same incident and unit (different values of the unit or its incident)",
    "duplicate": "the same incident and unit again in a newer or the same export (same values)",
}
"""The ``reason_code`` values of quarantined rows and what they mean, in the order the validation
checks them (a row gets the first that applies); the last two are given by the merge."""

QUARANTINE = Table(
    "quarantine",
    "Rows not stored in units, each with why: rejected input rows and rows replaced by a newer export.",
    (
        Column("source_file", pl.String, "Name of the export file the row came from.", nullable=False),
        Column("source_row", pl.Int64, "Line number of the row in its file (the header is line 1).", nullable=False),
        Column("column", pl.String, "Source column at fault, when one is."),
        Column("reason_code", pl.String, "Short reason, e.g. bad_timestamp, negative_interval, superseded.", nullable=False),
        Column("reason", pl.String, "What is wrong, in words, with the offending value.", nullable=False),
        Column("incident_id", pl.String, "Incident id as read, when readable."),
        Column("unit_id", pl.String, "Unit id as read, when readable."),
        Column("raw_row", pl.String, "The row's values as JSON (source column -> text), or the raw line."),
        Column("quarantined_at", UTC_TIME, "When the row was quarantined (UTC).", nullable=False),
        Column("run_id", pl.Int64, "The ingest run that quarantined the row.", nullable=False),
        *_partition_columns("quarantined_at"),
    ),
    partition_by=("year", "month"),
)

CELLS = Table(
    "cells",
    "The risk grid: the risk class of every cell, one grid per year (valmius grid import).",
    (
        Column("cell_id", pl.String, "Cell id: INSPIRE-style in ETRS-TM35FIN (1kmN6711E389), else the corner as x/y.", nullable=False),
        Column("x_m", pl.Int64, "Easting of the cell's bottom-left corner in metres of the grid's coordinate system.", nullable=False),
        Column("y_m", pl.Int64, "Northing of the cell's bottom-left corner in metres of the grid's coordinate system.", nullable=False),
        Column("cell_size_m", pl.Int32, "Side of the cell in metres.", nullable=False),
        Column("risk_class", pl.String, "Risk class I (highest risk) to IV, as the year's risk grid gives it.", nullable=False),
        Column("municipality_code", pl.String, "Municipality code of the cell, when the grid file gives it."),
        Column("source_file", pl.String, "Name of the risk grid file the cell came from.", nullable=False),
        Column("valid_year", pl.Int32, "Partition: the year this grid is valid for; later years use it until a newer grid is imported.", nullable=False),
    ),
    key=("valid_year", "cell_id"),
    partition_by=("valid_year",),
)

RESPONSES = Table(
    "responses",
    "One row per incident: its measured response time and components (valmius measure).",
    (
        Column("incident_id", pl.String, "Incident (task) id of the source system.", nullable=False),
        Column("call_at", UTC_TIME, "Emergency call received by the ERC (UTC); rolling windows are placed by it.", nullable=False),
        Column("alarm_at", UTC_TIME, "Earliest alarm among the counted units (UTC): the response clock starts here."),
        Column("on_scene_at", UTC_TIME, "Earliest on-scene time among the counted units (UTC)."),
        Column("response_s", pl.Int64, "Response time in seconds: alarm_at to on_scene_at (counting.clock_start = \"call\": call_at to on_scene_at); null with no_response_reason."),
        Column("erc_s", pl.Int64, "ERC processing in seconds: call received to the first alarm (not part of the response time)."),
        Column("turnout_s", pl.Int64, "Turnout of the first unit on scene in seconds: its alarm to en route."),
        Column("travel_s", pl.Int64, "Travel of the first unit on scene in seconds: en route to on scene."),
        Column("first_unit_id", pl.String, "The counted unit that arrived first (ties: earlier alarm, then unit id)."),
        Column("station_id", pl.String, "Station of the first unit on scene."),
        Column("units_counted", pl.Int32, "Counted units alarmed to the incident.", nullable=False),
        Column("no_response_reason", pl.String, "Why response_s is null: no_counted_unit, no_alarm_time or no_unit_arrived."),
        Column("urgency", pl.String, "Urgency class as the source gives it."),
        Column("is_urgent", pl.Boolean, "Urgent by counting.urgent_classes (default: the source mapping's urgent classes).", nullable=False),
        Column("task_type", pl.String, "Task type as the source gives it."),
        Column("is_counted_task", pl.Boolean, "The task type counts (counting.task_types; all by default).", nullable=False),
        Column("cell_id", pl.String, "Risk cell of the incident's location; null without a location."),
        Column("grid_year", pl.Int32, "Year of the risk grid used: the call's local year, else the latest earlier grid."),
        Column("risk_class", pl.String, "Risk class I-IV of the cell in that grid; null: no risk class."),
        Column("municipality_code", pl.String, "Municipality: from the export, else from the cell."),
        Column("target_s", pl.Int64, "Target for the first unit in seconds, by risk class (targets_s)."),
        Column("within_target", pl.Boolean, "response_s <= target_s (exactly on target counts as within)."),
        Column("is_measured", pl.Boolean, "Enters the rolling medians: urgent, counted task type, response measured.", nullable=False),
        *_partition_columns("the call"),
    ),
    key=("incident_id",),
    partition_by=("year", "month"),
    per_definition=True,
)

_ROLLING_STATS = (
    Column("grouping", pl.String, "What the group is: all, risk_class, municipality, station or cell.", nullable=False),
    Column("group_key", pl.String, "The group: 'all', a class I-IV, a municipality code, a station id or a cell id.", nullable=False),
    Column("window_days", pl.Int32, "Length of the trailing window (at - window, at] in days.", nullable=False),
    Column("count", pl.Int64, "Measured urgent tasks in the window.", nullable=False),
    Column("median_s", pl.Float64, "Median response time in the window, seconds (even count: mean of the two middle values)."),
    Column("ci_low_s", pl.Float64, "Lower bound of the distribution-free confidence interval of the median (order statistics), seconds."),
    Column("ci_high_s", pl.Float64, "Upper bound of that interval, seconds; both null when the count is too small to reach the level."),
    Column("share_within_target", pl.Float64, "Share of the window's tasks within their target (0-1)."),
    Column("mean_s", pl.Float64, "Mean response time in the window, seconds."),
    Column("p90_s", pl.Float64, "90th percentile of response time in the window, seconds (linear interpolation)."),
)

ROLLING_EVENTS = Table(
    "rolling_events",
    "Trailing-window statistics evaluated at every measured urgent task, per grouping and group.",
    (
        *_ROLLING_STATS[:2],
        Column("incident_id", pl.String, "The task at whose call time the window ends.", nullable=False),
        Column("at", UTC_TIME, "End of the window: the task's call time (UTC); tasks at the same second are all inside.", nullable=False),
        *_ROLLING_STATS[2:],
        *_partition_columns("at"),
    ),
    key=("grouping", "group_key", "incident_id"),
    partition_by=("year", "month"),
    per_definition=True,
)

ROLLING_CALENDAR = Table(
    "rolling_calendar",
    "Trailing-window statistics on a calendar (windows.calendar: day, week or month), per grouping and group.",
    (
        *_ROLLING_STATS[:2],
        Column("period_start", UTC_TIME, "Start of the calendar period, local midnight as UTC.", nullable=False),
        Column("at", UTC_TIME, "End of the window: the last second of the period (UTC).", nullable=False),
        *_ROLLING_STATS[2:],
        *_partition_columns("at"),
    ),
    key=("grouping", "group_key", "at"),
    partition_by=("year", "month"),
    per_definition=True,
)

FILES = Table(
    "files",
    "The manifest: every export file ingested, with its content hash.",
    (
        Column("file_seq", pl.Int64, "Order in which the file was ingested; higher is newer.", nullable=False),
        Column("source_file", pl.String, "File name.", nullable=False),
        Column("source_path", pl.String, "Absolute path at ingest time.", nullable=False),
        Column("sha256", pl.String, "SHA-256 of the file's bytes: the same content is never ingested twice.", nullable=False),
        Column("size_bytes", pl.Int64, "File size in bytes.", nullable=False),
        Column("format", pl.String, "Source format (mapping) name.", nullable=False),
        Column("encoding", pl.String, "Text encoding the file was read with.", nullable=False),
        Column("rows_read", pl.Int64, "Data rows in the file.", nullable=False),
        Column("rows_stored", pl.Int64, "Rows stored in units.", nullable=False),
        Column("rows_quarantined", pl.Int64, "Rows rejected into quarantine.", nullable=False),
        Column("run_id", pl.Int64, "Run that ingested the file.", nullable=False),
        Column("ingested_at", UTC_TIME, "When the file was ingested (UTC).", nullable=False),
    ),
    key=("file_seq",),
)

RUNS = Table(
    "runs",
    "One row per run that changed the lake.",
    (
        Column("run_id", pl.Int64, "Run number, increasing.", nullable=False),
        Column("command", pl.String, "What ran (e.g. ingest).", nullable=False),
        Column("started_at", UTC_TIME, "Start of the run (UTC).", nullable=False),
        Column("finished_at", UTC_TIME, "End of the run (UTC).", nullable=False),
        Column("files_read", pl.Int64, "Files ingested in the run.", nullable=False),
        Column("files_skipped", pl.Int64, "Files skipped because their content was already ingested.", nullable=False),
        Column("rows_read", pl.Int64, "Data rows read.", nullable=False),
        Column("rows_stored", pl.Int64, "Rows stored into units.", nullable=False),
        Column("rows_quarantined", pl.Int64, "Rows rejected into quarantine.", nullable=False),
        Column("rows_replaced", pl.Int64, "Stored rows replaced by a newer export of the same incident and unit.", nullable=False),
        Column("duration_s", pl.Float64, "Wall-clock duration of the run in seconds.", nullable=False),
        Column("summary_json", pl.String, "The full run summary as JSON (counts by reason, per file).", nullable=False),
        Column("definition_id", pl.String, "Definition whose derived tables the run wrote (definitions.definition_id); null for runs that wrote none, such as ingest."),
    ),
    key=("run_id",),
)

DEFINITIONS = Table(
    "definitions",
    "Every definition that has made figures in the lake: the rules that decide a figure (clock, counted tasks and units, "
    "targets, windows, median and tie conventions, flag rule, minimum counts), named, versioned and hashed "
    "(valmius definitions). Derived tables hold one set of results per definition.",
    (
        Column("definition_id", pl.String, "Short hash: the first 12 hex digits of sha256.", nullable=False),
        Column("name", pl.String, "Name of the definition (definition.name).", nullable=False),
        Column("version", pl.Int32, "Version of the name: 1 for the first rules stored under it, then 2, 3, ...", nullable=False),
        Column("sha256", pl.String, "sha256 of the canonical JSON document (sorted keys, no spaces): recompute it to check.", nullable=False),
        Column("document_json", pl.String, "The definition itself: every rule that decides a figure, as canonical JSON.", nullable=False),
        Column("created_at", UTC_TIME, "When a run first made figures with it (UTC).", nullable=False),
        Column("run_id", pl.Int64, "The run that stored it.", nullable=False),
    ),
    key=("definition_id",),
)

_EVIDENCE = (
    Column("count", pl.Int64, "Measured urgent tasks in the window.", nullable=False),
    Column("median_s", pl.Float64, "Median response time in the window, seconds (even count: mean of the two middle values).", nullable=False),
    Column("ci_low_s", pl.Float64, "Lower bound of the distribution-free confidence interval of the median, seconds; null when the count is too small to reach the level."),
    Column("ci_high_s", pl.Float64, "Upper bound of that interval, seconds."),
    Column("share_within_target", pl.Float64, "Share of the window's tasks within the target (0-1).", nullable=False),
    Column("mean_s", pl.Float64, "Mean response time in the window, seconds.", nullable=False),
    Column("target_s", pl.Int64, "Target for the first unit in this risk class, seconds (targets_s).", nullable=False),
    Column("is_over_median", pl.Boolean, "Median over the target (the strategy's rule).", nullable=False),
    Column("is_over_share", pl.Boolean, "Under 50 % of tasks within the target (the share rule; differs from the median rule only in ties and even counts).", nullable=False),
    Column("is_flagged", pl.Boolean, "Over target by the rule that flags (flags.rule).", nullable=False),
    Column("confidence", pl.String, "For flagged rows: certain (whole interval over the target), likely (median over, interval straddles or missing) or too_few_tasks (count under flags.min_tasks)."),
    Column("years_over", pl.Int32, "Years of the review period in which the tasks here missed the target (by flags.rule).", nullable=False),
    Column("years_in_review", pl.Int32, "Years in the review period (flags.review_years, ending with the evaluated year from its December on, else the year before; limited to years with data, and before the last year to years the lake holds from January on).", nullable=False),
    Column("is_problem", pl.Boolean, "Missed the target in every year of the review period (each year with tasks).", nullable=False),
)

FLAGS = Table(
    "flags",
    "Cells of the flagged risk classes (flags.risk_classes, default I) judged against their target over the trailing window ending at evaluated_at (valmius flag).",
    (
        Column("evaluated_at", UTC_TIME, "End of the trailing window (UTC): the last second of the local day evaluated (by default the lake's last measured day).", nullable=False),
        Column("window_days", pl.Int32, "Length of the trailing window in days.", nullable=False),
        Column("cell_id", pl.String, "Risk cell id.", nullable=False),
        Column("x_m", pl.Int64, "Easting of the cell's bottom-left corner, metres of the grid's coordinate system.", nullable=False),
        Column("y_m", pl.Int64, "Northing of the cell's bottom-left corner, metres.", nullable=False),
        Column("cell_size_m", pl.Int32, "Side of the cell in metres.", nullable=False),
        Column("risk_class", pl.String, "Risk class of the cell (grid of the window's tasks).", nullable=False),
        Column("municipality_code", pl.String, "Municipality of most of the cell's tasks."),
        Column("station_id", pl.String, "Station whose units most often arrived first in the window."),
        *_EVIDENCE,
        Column("over_since", UTC_TIME, "Start of the unbroken run of calendar periods, ending at evaluated_at (on into the period in progress), in which the cell was over target (flagged rows)."),
        Column("area_id", pl.Int32, "Area the flagged cell belongs to (areas.area_id); null when not flagged."),
    ),
    key=("cell_id",),
    per_definition=True,
)

AREAS = Table(
    "areas",
    "Flagged cells that touch, joined into areas (flags.neighbourhood), with pooled evidence and what drives the delay (valmius flag). Area ids are ranks and change between evaluations.",
    (
        Column("area_id", pl.Int32, "Area number, worst first: by confidence (certain, likely, too few tasks), then by pooled median.", nullable=False),
        Column("evaluated_at", UTC_TIME, "End of the trailing window (UTC).", nullable=False),
        Column("window_days", pl.Int32, "Length of the trailing window in days.", nullable=False),
        Column("risk_class", pl.String, "Risk class of the area's cells.", nullable=False),
        Column("cells", pl.Int32, "Cells in the area.", nullable=False),
        Column("cell_ids", pl.List(pl.String), "Ids of the area's cells.", nullable=False),
        Column("municipality_code", pl.String, "Municipality of most of the area's tasks."),
        Column("station_id", pl.String, "Station whose units most often arrived first in the area."),
        *_EVIDENCE,
        Column("erc_median_s", pl.Float64, "Median ERC processing (call to first alarm) of the area's tasks, seconds."),
        Column("turnout_median_s", pl.Float64, "Median turnout (alarm to en route) of the first unit on scene, seconds."),
        Column("travel_median_s", pl.Float64, "Median travel (en route to on scene) of the first unit on scene, seconds."),
        Column("erc_excess_s", pl.Float64, "erc_median_s minus the same median over the class's cells that meet the target, seconds."),
        Column("turnout_excess_s", pl.Float64, "turnout_median_s minus the same median over the class's cells that meet the target, seconds."),
        Column("travel_excess_s", pl.Float64, "travel_median_s minus the same median over the class's cells that meet the target, seconds."),
        Column("main_delay", pl.String, "The component with the largest excess: erc (call centre), turnout (station) or travel (road)."),
    ),
    key=("area_id",),
    per_definition=True,
)

NOTES = Table(
    "notes",
    "Review notes: why an urgent response was over target (valmius annotate). Written only by analysts, never "
    "derived from the exports, so re-ingest and rebuilds leave it alone; never read by the statistics. A newer "
    "note for an incident supersedes the older one, which is kept.",
    (
        Column("note_id", pl.Int64, "Note number, increasing; the incident's note with the highest number counts.", nullable=False),
        Column("incident_id", pl.String, "The incident the note explains (incidents.incident_id).", nullable=False),
        Column("reason_code", pl.String, "Why it was late: wrong_address, road_closed, simultaneous_tasks, unit_busy or other (valmius.notes.NOTE_REASONS).", nullable=False),
        Column("note", pl.String, "The analyst's note in words.", nullable=False),
        Column("noted_by", pl.String, "Who wrote the note (--by, default the OS user).", nullable=False),
        Column("noted_at", UTC_TIME, "When the note was written (UTC).", nullable=False),
        Column("response_s", pl.Int64, "The incident's response time when the note was written, seconds."),
        Column("target_s", pl.Int64, "Its target when the note was written, seconds."),
        Column("is_forced", pl.Boolean, "Written with --force although the incident was not over target then.", nullable=False),
        Column("supersedes_note_id", pl.Int64, "The incident's earlier note that this one replaces (null: the first)."),
        Column("run_id", pl.Int64, "The run (lake snapshot) that wrote the note.", nullable=False),
    ),
    key=("note_id",),
)

DEFINITION_ID_MEANING = ("Partition folder: the definition that made the row (definitions.definition_id); the "
                         "catalog's view of this table holds the settings' definition, its *_all_definitions view every one.")

TABLES: dict[str, Table] = {t.name: t for t in (UNITS, INCIDENTS, QUARANTINE, CELLS, RESPONSES, ROLLING_EVENTS,
                                                 ROLLING_CALENDAR, FLAGS, AREAS, FILES, RUNS, DEFINITIONS, NOTES)}


def empty_frame(table: Table) -> pl.DataFrame:
    """An empty frame with the stored schema of ``table``."""
    return pl.DataFrame(schema=table.schema)


def conform(frame: pl.DataFrame, table: Table, *, keep_categorical: bool = False) -> pl.DataFrame:
    """Select and cast ``frame`` to the stored schema of ``table`` (order and types exact); with
    ``keep_categorical``, categorical columns stored as text stay categorical."""
    if frame.schema == table.schema:
        return frame
    return frame.select([pl.col(name) if keep_categorical and dtype == pl.String and frame.schema[name] == pl.Categorical
                         else pl.col(name).cast(dtype) for name, dtype in table.schema.items()])


def describe_markdown(only: str | None = None) -> str:
    """The column dictionary as Markdown tables, for ``valmius schema`` and the docs."""
    lines: list[str] = []
    for table in TABLES.values():
        if only is not None and table.name != only:
            continue
        lines.append(f"### `{table.name}`\n\n{table.meaning}")
        if table.key:
            lines.append(f"Key: `{', '.join(table.key)}`.")
        lines.append("\n| column | type | meaning |\n|---|---|---|")
        if table.per_definition:
            lines.append(f"| `definition_id` | text | {DEFINITION_ID_MEANING} (never null) |")
        for col in table.columns:
            null = "" if col.nullable else " (never null)"
            lines.append(f"| `{col.name}` | {_type_name(col.dtype)} | {col.meaning}{null} |")
        lines.append("")
    return "\n".join(lines)


def _type_name(dtype: pl.DataType) -> str:
    if dtype == UTC_TIME:
        return "timestamp (UTC)"
    return {pl.String: "text", pl.Int64: "integer", pl.Int32: "integer", pl.Float64: "float",
            pl.Boolean: "boolean", pl.List(pl.String): "list of text"}.get(dtype, str(dtype))  # type: ignore[call-overload]
