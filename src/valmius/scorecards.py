"""Data-completeness scorecards: how complete the dispatch log is, per station, unit and local month.

One row per station, unit and local calendar month (``time.zone``) of the incident's call, counting
the rows the exports gave for that unit: stored in ``units`` or rejected into ``quarantine``. It
says where status times go missing, where rows are rejected and why, and where incidents end with no
counted unit on scene, so that fixes can be aimed at the source (a station's terminal, a unit's
buttons, an export's format).

Decisions, so that a figure can be traced:

- **Station** of a stored row: its ``station_id``. A quarantined row's own values are the source's
  text in the source's column names (``raw_row``), which differ between formats, so its station is
  the one its unit's stored rows most often name (ties: the smallest id): units rarely move. A
  quarantined row with no readable unit id, or a unit with no stored row, has no station (null).
- **Month** of a stored row: the local month of its call. A quarantined row's call time may be the
  very value that was rejected, so its month is that of its incident's call in ``incidents``, when
  another row of the incident was stored; else null ("month unknown"; the report counts them in a
  note).
- Rows replaced by a newer export (``superseded``, ``duplicate``) are not defects: the newer row is
  stored. They are left out; every other quarantine reason is counted, one column each.
- An incident with **no counted arrival** has no on-scene time among its counted units
  (``responses.on_scene_at`` null: no counted unit, no unit arrived, or none recorded one); each of
  its stored unit rows counts it once. Incidents not measured yet (``valmius measure``) do not count.

The same definition exists twice: :func:`scorecards` (Polars, for the report) and :func:`view_sql`
(DuckDB, the ``scorecards`` view of the SQL catalog over the lake's own tables, so the catalog holds
no data the lake does not). A test checks that the two agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import polars as pl

from valmius.columns import QUARANTINE_REASONS, Column, Table
from valmius.labels import axis_percent, count_text, counted, percent, text
from valmius.lake import Snapshot
from valmius.settings import Settings

if TYPE_CHECKING:  # Altair only when a chart is drawn: the catalog imports this module too
    import altair as alt

REPLACED_REASONS = ("superseded", "duplicate")
DEFECT_REASONS = tuple(code for code in QUARANTINE_REASONS if code not in REPLACED_REASONS)
"""Quarantine reasons that are defects of the source rows, in the order ingest checks them."""
KEY = ("station_id", "unit_id", "local_month")
_MISSING = {"alarm": "alarm_at", "en_route": "en_route_at", "on_scene": "on_scene_at"}
_SHARES = {  # share column -> (numerator, denominator)
    "share_missing_alarm": ("missing_alarm_rows", "unit_rows"),
    "share_missing_en_route": ("missing_en_route_rows", "unit_rows"),
    "share_missing_on_scene": ("missing_on_scene_rows", "unit_rows"),
    "share_zero_interval": ("zero_interval_rows", "unit_rows"),
    "share_no_arrival": ("no_arrival_incidents", "unit_rows"),
    "share_quarantined": ("quarantined_rows", "source_rows"),
}

SCORECARDS = Table(
    "scorecards",
    "Data completeness per station, unit and local month of the call: rows stored and quarantined, missing "
    "status times, zero-second intervals, incidents with no counted arrival (a catalog view over the lake "
    "tables; valmius.scorecards).",
    (
        Column("station_id", pl.String, "Station of the unit; for a quarantined row, the station its unit's stored rows most often name (null: unknown)."),
        Column("unit_id", pl.String, "Unit id (null: a quarantined row without a readable unit id)."),
        Column("local_month", pl.String, "Local calendar month of the incident's call, YYYY-MM (time.zone); null: a quarantined row whose incident has no stored row."),
        Column("source_rows", pl.Int64, "Rows the exports gave: unit_rows + quarantined_rows.", nullable=False),
        Column("unit_rows", pl.Int64, "Rows stored in units.", nullable=False),
        Column("missing_alarm_rows", pl.Int64, "Stored rows without an alarm time.", nullable=False),
        Column("missing_en_route_rows", pl.Int64, "Stored rows without an en-route time.", nullable=False),
        Column("missing_on_scene_rows", pl.Int64, "Stored rows without an on-scene time (never_arrived, or no alarm either).", nullable=False),
        Column("zero_interval_rows", pl.Int64, "Stored rows with two equal consecutive status times (has_zero_interval).", nullable=False),
        Column("no_arrival_incidents", pl.Int64, "Stored rows whose incident has no counted unit on scene (responses.on_scene_at null).", nullable=False),
        Column("quarantined_rows", pl.Int64, "Rows rejected into quarantine (rows replaced by a newer export not counted).", nullable=False),
        *(Column(f"quarantined_{code}_rows", pl.Int64, f"Quarantined as {code}: {meaning}; its share is this / source_rows.",
                 nullable=False) for code, meaning in QUARANTINE_REASONS.items() if code in DEFECT_REASONS),
        Column("share_missing_alarm", pl.Float64, "missing_alarm_rows / unit_rows (0-1; null without stored rows)."),
        Column("share_missing_en_route", pl.Float64, "missing_en_route_rows / unit_rows (0-1; null without stored rows)."),
        Column("share_missing_on_scene", pl.Float64, "missing_on_scene_rows / unit_rows (0-1; null without stored rows)."),
        Column("share_zero_interval", pl.Float64, "zero_interval_rows / unit_rows (0-1; null without stored rows)."),
        Column("share_no_arrival", pl.Float64, "no_arrival_incidents / unit_rows (0-1; null without stored rows)."),
        Column("share_quarantined", pl.Float64, "quarantined_rows / source_rows (0-1)."),
    ),
    key=KEY,
)
_COUNTS = [c.name for c in SCORECARDS.columns if c.dtype == pl.Int64]


# --- Polars ----------------------------------------------------------------------------------------

def scorecards(snapshot: Snapshot, settings: Settings, *, months: list[str] | None = None) -> pl.DataFrame:
    """The scorecard of the lake: one row per station, unit and local month (see the module's notes).

    ``months``: only the rows of these local months (``YYYY-MM``) and those whose month is unknown,
    as the report shows them. Units and responses of other months are then not read: at 10 million
    unit rows, 0.27 s instead of the whole lake's 1.2 s."""
    month = pl.col("call_at").dt.convert_time_zone(settings.time.zone).dt.strftime("%Y-%m").alias("local_month")
    units = snapshot.scan("units").select("incident_id", "unit_id", "station_id", "call_at", "alarm_at",
                                          "en_route_at", "on_scene_at", "has_zero_interval")
    responses = snapshot.scan("responses")
    in_months = units
    if months is not None:
        calls_in = _calls_in(months, settings)
        in_months = units.filter(calls_in)
        responses = responses.filter(calls_in)  # an incident's rows share its call time
    no_arrival = (responses.filter(pl.col("on_scene_at").is_null())
                  .select("incident_id").unique().with_columns(no_arrival=pl.lit(True)))
    stored = (
        in_months.join(no_arrival, on="incident_id", how="left").with_columns(month)
        .group_by(KEY).agg(
            unit_rows=pl.len(),
            **{f"missing_{name}_rows": pl.col(column).is_null().sum() for name, column in _MISSING.items()},
            zero_interval_rows=pl.col("has_zero_interval").sum(),
            no_arrival_incidents=pl.col("no_arrival").fill_null(False).sum(),
        )
    )
    home = (units.drop_nulls("station_id").group_by("unit_id", "station_id").len()
            .sort(["unit_id", "len", "station_id"], descending=[False, True, False])
            .group_by("unit_id", maintain_order=True).first().drop("len"))
    calls = snapshot.scan("incidents").select("incident_id", "call_at")
    rejected = (
        snapshot.scan("quarantine").filter(~pl.col("reason_code").is_in(REPLACED_REASONS))
        .select("incident_id", "unit_id", "reason_code")
        .join(calls, on="incident_id", how="left").join(home, on="unit_id", how="left").with_columns(month)
        .group_by(KEY).agg(
            quarantined_rows=pl.len(),
            **{f"quarantined_{code}_rows": (pl.col("reason_code") == code).sum() for code in DEFECT_REASONS},
        )
    )
    both = pl.concat([stored.collect(), rejected.collect()], how="diagonal_relaxed")
    if months is not None:
        both = both.filter(pl.col("local_month").is_in(months) | pl.col("local_month").is_null())
    frame = (
        both
        .with_columns(pl.col(c).fill_null(0) for c in _COUNTS if c != "source_rows")
        .group_by(KEY).agg(pl.col(c).sum() for c in _COUNTS if c != "source_rows")
        .with_columns(source_rows=pl.col("unit_rows") + pl.col("quarantined_rows"))
        .with_columns(**{share: pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))
                         for share, (num, den) in _SHARES.items()})
    )
    return frame.select([pl.col(c.name).cast(c.dtype) for c in SCORECARDS.columns]).sort(list(KEY), nulls_last=True)


def _calls_in(months: list[str], settings: Settings) -> pl.Expr:
    """Calls from the first to the end of the last of the local months ``months`` (``YYYY-MM``): a
    range of UTC times, which the Parquet reader uses to skip partitions and row groups."""
    zone = ZoneInfo(settings.time.zone)
    first_year, first_month = map(int, min(months).split("-"))
    last_year, last_month = map(int, max(months).split("-"))
    begins = datetime(first_year, first_month, 1, tzinfo=zone).astimezone(timezone.utc)
    ends = datetime(last_year + last_month // 12, last_month % 12 + 1, 1, tzinfo=zone).astimezone(timezone.utc)
    return pl.col("call_at").is_between(begins, ends, closed="left")


# --- DuckDB ----------------------------------------------------------------------------------------

def view_sql(settings: Settings) -> str:
    """``CREATE VIEW scorecards``: the same scorecard in DuckDB over the catalog's lake views."""
    zone = "'" + settings.time.zone.replace("'", "''") + "'"
    month = f"strftime(timezone({zone}, {{alias}}.call_at), '%Y-%m')"
    missing = ",\n        ".join(f"count(*) FILTER (WHERE u.{column} IS NULL) AS missing_{name}_rows"
                                 for name, column in _MISSING.items())
    reasons = ",\n        ".join(f"count(*) FILTER (WHERE q.reason_code = '{code}') AS quarantined_{code}_rows"
                                 for code in DEFECT_REASONS)
    replaced = ", ".join(f"'{code}'" for code in REPLACED_REASONS)
    summed = ",\n    ".join(f"CAST(coalesce(sum({c}), 0) AS BIGINT) AS {c}" for c in _COUNTS if c != "source_rows")
    shares = ",\n    ".join(f"CASE WHEN {den} > 0 THEN CAST({num} AS DOUBLE) / {den} END AS {share}"
                            for share, (num, den) in _SHARES.items())
    columns = ", ".join(c.name for c in SCORECARDS.columns)
    return f"""CREATE VIEW scorecards AS
WITH home AS (
    SELECT unit_id, station_id FROM (
        SELECT unit_id, station_id,
               row_number() OVER (PARTITION BY unit_id ORDER BY count(*) DESC, station_id) AS rank
        FROM units WHERE station_id IS NOT NULL GROUP BY unit_id, station_id)
    WHERE rank = 1
), no_arrival AS (
    SELECT DISTINCT incident_id FROM responses WHERE on_scene_at IS NULL
), stored AS (
    SELECT u.station_id, u.unit_id, {month.format(alias='u')} AS local_month,
        count(*) AS unit_rows,
        {missing},
        count(*) FILTER (WHERE u.has_zero_interval) AS zero_interval_rows,
        count(n.incident_id) AS no_arrival_incidents
    FROM units AS u LEFT JOIN no_arrival AS n ON n.incident_id = u.incident_id
    GROUP BY ALL
), rejected AS (
    SELECT h.station_id, q.unit_id, {month.format(alias='i')} AS local_month,
        count(*) AS quarantined_rows,
        {reasons}
    FROM quarantine AS q
    LEFT JOIN incidents AS i ON i.incident_id = q.incident_id
    LEFT JOIN home AS h ON h.unit_id = q.unit_id
    WHERE q.reason_code NOT IN ({replaced})
    GROUP BY ALL
), summed AS (
    SELECT station_id, unit_id, local_month,
    {summed}
    FROM (SELECT * FROM stored UNION ALL BY NAME SELECT * FROM rejected)
    GROUP BY station_id, unit_id, local_month
), totals AS (
    SELECT *, unit_rows + quarantined_rows AS source_rows FROM summed
)
SELECT {columns}
FROM (SELECT *,
    {shares}
    FROM totals)
ORDER BY station_id NULLS LAST, unit_id NULLS LAST, local_month NULLS LAST"""


# --- The report's section ----------------------------------------------------------------------------

def window_months(settings: Settings, evaluated_at: datetime) -> list[str]:
    """Local months (YYYY-MM) that the trailing window ending at ``evaluated_at`` reaches."""
    zone = ZoneInfo(settings.time.zone)
    first = (evaluated_at - timedelta(days=settings.windows.trailing_days)).astimezone(zone)
    last = evaluated_at.astimezone(zone)
    months, (year, month) = [], (first.year, first.month)
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def station_months(card: pl.DataFrame, months: list[str]) -> tuple[pl.DataFrame, int]:
    """The scorecard pooled over units: one row per station and local month of ``months``, and the
    number of quarantined rows left out because their month is unknown."""
    unknown = int(card.filter(pl.col("local_month").is_null())["quarantined_rows"].sum())
    counts = [c for c in _COUNTS if c != "source_rows"]
    pooled = (card.filter(pl.col("local_month").is_in(months)).group_by("station_id", "local_month")
              .agg(pl.col(c).sum() for c in counts)
              .with_columns(source_rows=pl.col("unit_rows") + pl.col("quarantined_rows"))
              .with_columns(**{share: pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))
                               for share, (num, den) in _SHARES.items()}))
    return pooled.sort("station_id", "local_month", nulls_last=True), unknown


def published(pooled: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Station-month rows as the report shows them: labelled texts, counts under
    ``report.min_count_shown`` as ``< N`` and no shares of fewer stored rows than that."""
    lang, low = settings.report.language, settings.report.min_count_shown

    def share(value: float | None, n: int) -> str:
        return percent(value, lang) if n >= low else ""

    rows = []
    for row in pooled.iter_rows(named=True):
        shown = row["unit_rows"] >= low
        reasons = ", ".join(f"{code} {count_text(row[f'quarantined_{code}_rows'], low)}" for code in DEFECT_REASONS
                            if row[f"quarantined_{code}_rows"])
        rows.append({
            "station": row["station_id"] or text("scorecard_no_station", lang),
            "month": row["local_month"],
            "colour_share": row["share_missing_on_scene"] if shown else None,
            "rows": count_text(row["source_rows"], low),
            "missing_en_route": share(row["share_missing_en_route"], row["unit_rows"]),
            "missing_on_scene": share(row["share_missing_on_scene"], row["unit_rows"]),
            "zero_interval": count_text(row["zero_interval_rows"], low),
            "no_arrival": share(row["share_no_arrival"], row["unit_rows"]),
            "quarantined": (count_text(row["quarantined_rows"], low)
                            + (f" ({share(row['share_quarantined'], row['source_rows'])})"
                               if row["source_rows"] >= low and row["quarantined_rows"] else "")),
            "reasons": reasons or "–",
        })
    schema = {k: pl.String for k in ("station", "month", "rows", "missing_en_route", "missing_on_scene",
                                     "zero_interval", "no_arrival", "quarantined", "reasons")}
    return pl.DataFrame(rows, schema={**schema, "colour_share": pl.Float64}).select(
        "station", "month", "colour_share", *[k for k in schema if k not in ("station", "month")])


TOOLTIP = ("station", "month", "rows", "missing_en_route", "missing_on_scene", "zero_interval", "no_arrival",
           "quarantined", "reasons")


def heatmap(cells: pl.DataFrame, language: str, title: str) -> alt.LayerChart:
    """Stations by months, coloured by the share of stored unit rows missing the on-scene time.

    ``cells``: the frame of :func:`published`. Cells with too few rows to show are grey.
    """
    import altair as alt

    stations = cells["station"].unique(maintain_order=True).to_list()
    x = alt.X("month:O", title=text("scorecard_month", language), axis=alt.Axis(labelAngle=-45))
    y = alt.Y("station:N", title=text("scorecard_station", language), sort=stations)
    tooltip = [alt.Tooltip(f"{c}:N", title=text(f"scorecard_{c}", language)) for c in TOOLTIP]
    base = alt.Chart(cells).mark_rect(stroke="white", strokeWidth=0.5, color="#d9d9d9").encode(
        x=x, y=y, tooltip=tooltip)
    coloured = alt.Chart(cells.drop_nulls("colour_share")).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("colour_share:Q", title=text("scorecard_missing_on_scene", language),
                        scale=alt.Scale(scheme="orangered", domain=[0, max(0.05, float(cells["colour_share"].max() or 0))]),
                        legend=alt.Legend(labelExpr=axis_percent(language), orient="bottom")))
    months = cells["month"].n_unique()
    return alt.layer(base, coloured).properties(
        width=max(240, 38 * months), height=max(60, 18 * len(stations)), title=title,
    ).configure(font="DejaVu Sans, Liberation Sans, Arial, sans-serif")


def report_parts(snapshot: Snapshot, settings: Settings, evaluated_at: datetime
                 ) -> tuple[alt.LayerChart | None, pl.DataFrame, str]:
    """What the report shows: the heat map (None without rows in the window), the published
    station-month table and the note under the chart."""
    lang = settings.report.language
    months = window_months(settings, evaluated_at)
    pooled, unknown = station_months(scorecards(snapshot, settings, months=months), months)
    cells = published(pooled, settings)
    note = text("scorecard_note", lang, rows=counted("n_stored_rows", settings.report.min_count_shown, lang),
                unknown=unknown)
    chart = heatmap(cells, lang, text("scorecard_title", lang)) if cells.height else None
    table = cells.drop("colour_share").rename({c: text(f"scorecard_{c}", lang) for c in TOOLTIP})
    return chart, table, note
