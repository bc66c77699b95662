"""SYNTHETIC dispatch exports of the demo world in the Finnish ERC/PRONTO-style format (``fi-erc``).

Nothing here is real data. Two stages:

1. ``generate_incidents`` draws the TRUE unit rows (UTC instants, clean) month by month: incidents
   in proportion to population (and main roads for traffic), task types and urgency from a
   Finnish-style mix, units dispatched by expected arrival (usually the nearest full-time units
   first), status times from ERC processing, turnout, travel (``world.travel_median_s`` with noise,
   slower at rush hours and in winter) and time on scene.
2. ``write_export``, ``write_nightly_exports`` and ``write_bulk_export`` turn those rows into
   ``;``-separated text with Europe/Helsinki wall-clock times and the defects real logs have
   (``DEFECT_RATES``, documented in data/demo/README.md).

Defects are decided by hashing (seed, incident id, unit order), not by a running random state: an
incident carries the same defects in every export that contains it, and chunking never changes
the output. All work is vectorised per chunk (numpy + polars string ops); nothing loops per row.
"""

from __future__ import annotations

import calendar
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from valmius.demo.world import (
    CELL_SIZE_M, DIURNAL_WEIGHT, MONTH_WEIGHT, POOLS, SEASON_FACTOR, TASK_TYPES, World,
    road_length_m, travel_median_s,
)
from valmius.errors import ValmiusError

TIME_ZONE = ZoneInfo("Europe/Helsinki")
INCIDENTS_PER_YEAR = 8000  # the real department: ~8,000 rescue tasks a year, ~500,000 residents
EXPORT_HOUR_LOCAL = 2  # nightly exports run at 02:00 local time
EXPORT_COLUMNS: tuple[str, ...] = (
    "Tehtävänumero", "Vastaanotettu", "Kuntanumero", "Tehtävälaji", "Kiireellisyys",
    "Riskiruutu", "Riskiluokka", "Koordinaatti_N", "Koordinaatti_E", "Yksikkö",
    "Yksikkötyyppi", "Asema", "Hälytetty", "Matkalla", "Kohteessa", "Vapaa",
)
ENCODINGS = ("utf-8-sig", "utf-8", "cp1252")
_STATUS = ("alarm_at", "en_route_at", "on_scene_at", "free_at")
_TIME_FORMAT = "%-d.%-m.%Y %H:%M:%S"  # day and month without zero padding

# Rates of everything irregular in the exports. "Event" entries are true happenings, already in
# generate_incidents' rows; the rest are recording/export defects added by the writers.
# Row-level recording defects are mutually exclusive and apply only where the value exists.
DEFECT_RATES: dict[str, float] = {
    "cancelled_task": 0.02,  # event, per incident: whole task called off, no unit on scene
    "cancelled_unit": 0.05,  # event, per row not first on scene: called off en route
    "missing_en_route": 0.03,  # per row: Matkalla (en route) not recorded
    "missing_on_scene": 0.015,  # per row that arrived: Kohteessa not recorded, Vapaa is
    "missing_free": 0.01,  # per row: Vapaa (free) not recorded
    "zero_turnout": 0.02,  # per row: en route pressed at the alarm, a 0 s turnout
    "en_route_at_arrival": 0.04,  # per row that arrived: en route pressed on arrival, 0 s travel
    # per row that arrived: en route pressed 30-300 s after arrival, a negative travel time
    "on_scene_before_en_route": 0.003,
    "clock_hour_off": 0.002,  # per row: unit clock an hour off, all status times +-3600 s
    # per row: one status time unparseable, "--" or an impossible date such as 31.2.2025
    "unparseable_time": 0.001,
    "duplicate_row": 0.002,  # per row: written twice in the same file
    "missing_municipality": 0.01,  # per incident: Kuntanumero empty on all its rows
    # per incident, nightly exports only: first exported with a preliminary task type or on-scene
    # time, corrected in one export 1-5 nights after the incident left the overlap window
    "late_correction": 0.01,
}
ROW_DEFECTS = ("missing_en_route", "missing_on_scene", "missing_free", "zero_turnout",
               "en_route_at_arrival", "on_scene_before_en_route", "clock_hour_off",
               "unparseable_time", "duplicate_row")
INCIDENT_DEFECTS = ("missing_municipality", "late_correction")
_TASK_LABEL = {t.code: f"{t.code} {t.name}" for t in TASK_TYPES}
# What the ERC first called an incident whose type PRONTO later corrected (else "unclear").
_PRELIMINARY_CODE = {"401": "402", "402": "401", "403": "402", "202": "203", "203": "202",
                     "204": "203", "201": "202", "421": "420", "431": "401"}
_PRELIMINARY_LABEL = {label: _TASK_LABEL.get(_PRELIMINARY_CODE.get(code, ""),
                                             "490 epäselvä onnettomuus")
                      for code, label in _TASK_LABEL.items()}


# --- Per-world dispatch context: what does not change between chunks.

@dataclass(frozen=True)
class _Context:
    cell_text: pl.DataFrame  # cell_id, municipality_code, risk_class; gathered by cell index
    cell_x_m: np.ndarray
    cell_y_m: np.ndarray
    risk_class: np.ndarray
    location_p: dict[str, np.ndarray]  # location model -> probability per cell
    unit_text: pl.DataFrame  # unit_id, unit_type, station_id; gathered by unit index
    unit_type: np.ndarray
    unit_x_m: np.ndarray
    unit_y_m: np.ndarray
    unit_turnout_s: np.ndarray
    unit_full_time: np.ndarray
    ranked_units: dict[str, np.ndarray]  # pool -> (cells, depth) unit indices, fastest first


def _context(world: World) -> _Context:
    cells, units = world.cells, world.units.join(world.stations, on="station_id", how="left")
    cx, cy = cells["x_m"].to_numpy().astype(float), cells["y_m"].to_numpy().astype(float)
    population = cells["population"].to_numpy().astype(float)
    road_m = road_length_m(cx, cy)
    location_weight = {
        "people": population,
        "dense": population**1.3,
        "road": population / population.sum() + road_m / max(road_m.sum(), 1.0),
        "wild": np.sqrt(population) + 3.0,
    }
    unit_type, full_time = units["unit_type"].to_numpy(), units["is_full_time"].to_numpy()
    # At full-time stations the second crew (tank truck, aerial) leaves a little later; a
    # first-response car needs a smaller crew than a rescue unit, so it leaves sooner.
    is_support = np.isin(unit_type, ["säiliöyksikkö", "nostolava"]) & full_time
    turnout_s = units["turnout_s_median"].to_numpy() * np.where(is_support, 1.3, 1.0) \
        * np.where(unit_type == "ensivasteyksikkö", 0.8, 1.0)
    ux, uy = units["x_m"].to_numpy(), units["y_m"].to_numpy()
    half = CELL_SIZE_M / 2
    expected_s = turnout_s + travel_median_s(np.hypot(cx[:, None] + half - ux,
                                                      cy[:, None] + half - uy))
    ranked = {}
    for pool, (types, depth) in POOLS.items():
        members = np.flatnonzero(np.isin(unit_type, types))
        ranked[pool] = members[np.argsort(expected_s[:, members], axis=1, kind="stable")[:, :depth]]
    return _Context(
        cell_text=cells.select("cell_id", "municipality_code", "risk_class"),
        cell_x_m=cx, cell_y_m=cy, risk_class=cells["risk_class"].to_numpy(),
        location_p={k: v / v.sum() for k, v in location_weight.items()},
        unit_text=units.select("unit_id", "unit_type", "station_id"), unit_type=unit_type,
        unit_x_m=ux, unit_y_m=uy,
        unit_turnout_s=turnout_s, unit_full_time=full_time, ranked_units=ranked,
    )


# --- Incidents: when, what and where.

def _local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TIME_ZONE).astimezone(timezone.utc)


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _month_count(seed: int, year: int, month: int, scale: float) -> int:
    """Incidents in a local month: its own random stream, so numbering needs no other draws."""
    days = np.array([calendar.monthrange(year, m)[1] for m in range(1, 13)])
    weight = np.asarray(MONTH_WEIGHT) * days
    expected = INCIDENTS_PER_YEAR * scale * weight[month - 1] / weight.sum()
    return int(np.random.default_rng([seed, year, month, 0]).poisson(expected))


def _hour_bins(year: int, month: int) -> dict[str, np.ndarray]:
    """UTC hour starts of a local calendar month with their local hour, weekday and weight."""
    start = _local_midnight_utc(date(year, month, 1))
    end = _local_midnight_utc(_next_month(year, month))
    start_s = int(start.timestamp()) + 3600 * np.arange((end - start) // timedelta(hours=1))
    local = pl.Series(start_s * 1_000_000).cast(pl.Datetime("us", "UTC")) \
        .dt.convert_time_zone(TIME_ZONE.key)
    hour, day = local.dt.hour().to_numpy(), local.dt.day().to_numpy()
    weekday = local.dt.weekday().to_numpy()  # 1 = Monday
    fireworks = (((month == 12) & (day == 31) & (hour >= 18))
                 | ((month == 1) & (day == 1) & (hour < 4)))
    weight = np.asarray(DIURNAL_WEIGHT)[hour] * np.where(weekday >= 6, 0.95, 1.0) \
        * np.where(fireworks, 3.0, 1.0)
    return {"start_s": start_s, "hour": hour, "weekday": weekday, "p": weight / weight.sum()}


def _draw_incidents(ctx: _Context, seed: int, year: int, month: int, scale: float) -> dict:
    """Incident-level arrays for one local month, sorted by call time."""
    rng = np.random.default_rng([seed, year, month, 1])
    count = _month_count(seed, year, month, scale)
    bins = _hour_bins(year, month)
    pick = rng.choice(bins["p"].size, size=count, p=bins["p"])
    call_s = bins["start_s"][pick] + rng.integers(0, 3600, count)
    order = np.argsort(call_s, kind="stable")
    pick, call_s = pick[order], call_s[order]
    hour = bins["hour"][pick]
    shares = np.array([t.share * SEASON_FACTOR[t.season][month - 1] for t in TASK_TYPES])
    task = rng.choice(len(TASK_TYPES), size=count, p=shares / shares.sum())
    cell = np.zeros(count, dtype=np.int64)
    task_location = np.array([t.location for t in TASK_TYPES])[task]
    for model, p in ctx.location_p.items():
        mask = task_location == model
        cell[mask] = rng.choice(p.size, size=int(mask.sum()), p=p)
    urgency_cum = np.cumsum([t.urgency for t in TASK_TYPES], axis=1)
    urgency = np.minimum((rng.random(count)[:, None] > urgency_cum[task]).sum(axis=1), 3)
    first_number = 1 + sum(_month_count(seed, year, m, scale) for m in range(1, month))
    return {
        "rng": rng, "call_s": call_s, "task": task, "cell": cell, "urgency": urgency,
        "x_m": ctx.cell_x_m[cell] + np.round(rng.uniform(0, CELL_SIZE_M - 0.1, count), 1),
        "y_m": ctx.cell_y_m[cell] + np.round(rng.uniform(0, CELL_SIZE_M - 0.1, count), 1),
        "is_rush": (bins["weekday"][pick] <= 5) & np.isin(hour, [7, 8, 15, 16, 17]),
        "is_night": (hour >= 23) | (hour < 6),
        "is_winter": np.full(count, month in (12, 1, 2, 3)),
        "is_cancelled": rng.random(count) < DEFECT_RATES["cancelled_task"],
        "number": first_number + np.arange(count),
    }


# --- Units: who goes, and their status times.

def _dispatch(ctx: _Context, inc: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(incident index, unit index, unit order) per unit row, grouped by incident."""
    rng, task, cell = inc["rng"], inc["task"], inc["cell"]
    n = task.size
    counts = np.array([t.units for t in TASK_TYPES])[task]  # (incidents, pools)
    primary = np.array([t.primary_pool for t in TASK_TYPES])[task]
    counts[np.arange(n), primary] += rng.random(n) < np.array([t.extra_unit_prob
                                                               for t in TASK_TYPES])[task]
    counts[:, list(POOLS).index("aerial")] *= np.isin(ctx.risk_class[cell], ["I", "II"])
    busy = (rng.random(n) < 0.08).astype(np.int64)  # nearest unit busy: take the next one
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for pool_index, pool in enumerate(POOLS):
        table = ctx.ranked_units[pool]
        shift = np.where(primary == pool_index, busy, 0)
        for k in range(table.shape[1]):
            rows = np.flatnonzero(counts[:, pool_index] > k)
            rank = np.minimum(k + shift[rows], table.shape[1] - 1)
            parts.append((rows, table[cell[rows], rank], np.full(rows.size, 10 * pool_index + k)))
    inc_idx, unit_idx, slot = (np.concatenate([p[i] for p in parts]) for i in range(3))
    order = np.lexsort((slot, inc_idx))
    inc_idx, unit_idx = inc_idx[order], unit_idx[order]
    starts = np.flatnonzero(np.r_[True, inc_idx[1:] != inc_idx[:-1]]) if inc_idx.size else inc_idx
    unit_order = np.arange(inc_idx.size) - np.repeat(starts, np.diff(np.r_[starts, inc_idx.size]))
    return inc_idx, unit_idx, unit_order


def _erc_processing_s(rng: np.random.Generator, inc: dict) -> np.ndarray:
    """Call received -> unit alarmed: ~1-2 min for urgent calls, with a heavy tail."""
    n = inc["task"].size
    automatic = np.array([t.is_automatic_alarm for t in TASK_TYPES])[inc["task"]]
    median = np.where(automatic, 20.0, np.array([60.0, 80.0, 150.0, 300.0])[inc["urgency"]])
    tail = np.where(rng.random(n) < 0.05, rng.exponential(200.0, n), 0.0)
    return median * rng.lognormal(0.0, 0.45, n) + tail


def _status_times(ctx: _Context, inc: dict, inc_idx: np.ndarray, unit_idx: np.ndarray,
                  unit_order: np.ndarray) -> dict[str, np.ndarray]:
    rng, m = inc["rng"], inc_idx.size
    urgent = inc["urgency"][inc_idx] <= 1
    later = unit_order > 0
    alarm = (inc["call_s"] + _erc_processing_s(rng, inc))[inc_idx] \
        + np.where(later & (rng.random(m) < 0.4), rng.exponential(8.0, m), 0.0) \
        + np.where(later & (rng.random(m) < 0.08), rng.uniform(120, 900, m), 0.0)  # reinforcements
    sleepy = np.where(ctx.unit_full_time[unit_idx], 1.2, 1.1)
    turnout = ctx.unit_turnout_s[unit_idx] * rng.lognormal(0.0, 0.3, m) \
        * np.where(inc["is_night"][inc_idx], sleepy, 1.0) * np.where(urgent, 1.0, 1.5)
    distance_m = np.hypot(inc["x_m"][inc_idx] - ctx.unit_x_m[unit_idx],
                          inc["y_m"][inc_idx] - ctx.unit_y_m[unit_idx])
    travel = travel_median_s(distance_m) * rng.lognormal(0.0, 0.2, m) \
        * np.where(inc["is_rush"][inc_idx], 1.2, 1.0) \
        * np.where(inc["is_winter"][inc_idx], 1.1, 1.0) * np.where(urgent, 1.0, 1.3)
    on_scene_min = np.array([t.on_scene_min for t in TASK_TYPES])[inc["task"]][inc_idx]
    en_route = alarm + turnout
    on_scene = en_route + travel
    free = on_scene + 60.0 * on_scene_min * rng.lognormal(0.0, 0.6, m)
    cancelled = _cancelled_rows(rng, inc, inc_idx, on_scene)
    before_en_route = cancelled & (rng.random(m) < 0.2)
    cancel_at = np.where(before_en_route, alarm + turnout * rng.uniform(0.2, 0.9, m),
                         en_route + travel * rng.uniform(0.1, 0.9, m))
    return {
        "alarm_at": np.round(alarm),
        "en_route_at": np.round(np.where(before_en_route, np.nan, en_route)),
        "on_scene_at": np.round(np.where(cancelled, np.nan, on_scene)),
        "free_at": np.round(np.where(cancelled, cancel_at, free)),
        "is_cancelled": cancelled,
    }


def _cancelled_rows(rng: np.random.Generator, inc: dict, inc_idx: np.ndarray,
                    on_scene: np.ndarray) -> np.ndarray:
    """Whole cancelled tasks, plus units called off because an earlier unit had arrived."""
    if inc_idx.size == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, inc_idx[1:] != inc_idx[:-1]])
    first = np.repeat(np.minimum.reduceat(on_scene, starts), np.diff(np.r_[starts, inc_idx.size]))
    called_off = (on_scene > first) & (rng.random(inc_idx.size) < DEFECT_RATES["cancelled_unit"])
    return inc["is_cancelled"][inc_idx] | called_off


def _utc(epoch_s: np.ndarray) -> pl.Series:
    return (pl.Series(np.asarray(epoch_s, dtype=float)).fill_nan(None).cast(pl.Int64)
            * 1_000_000).cast(pl.Datetime("us", "UTC"))


_TASK_TEXT = pl.Series("task_type", list(_TASK_LABEL.values()))
_URGENCY_TEXT = pl.Series("urgency", ["A", "B", "C", "D"])


def _month_rows(ctx: _Context, seed: int, year: int, month: int, scale: float) -> pl.DataFrame:
    inc = _draw_incidents(ctx, seed, year, month, scale)
    inc_idx, unit_idx, unit_order = _dispatch(ctx, inc)
    times = _status_times(ctx, inc, inc_idx, unit_idx, unit_order)
    cell_text = ctx.cell_text[inc["cell"][inc_idx]]  # gathering text is far cheaper than
    unit_text = ctx.unit_text[unit_idx]               # converting numpy unicode arrays
    number = pl.Series(inc["number"][inc_idx]).cast(pl.Utf8).str.zfill(6)
    return pl.DataFrame([
        (f"{year}-" + number).alias("incident_id"),
        _utc(inc["call_s"][inc_idx]).alias("call_at"),
        cell_text["municipality_code"],
        _TASK_TEXT.gather(inc["task"][inc_idx]),
        _URGENCY_TEXT.gather(inc["urgency"][inc_idx]),
        cell_text["cell_id"], cell_text["risk_class"],
        pl.Series("x_m", inc["x_m"][inc_idx]), pl.Series("y_m", inc["y_m"][inc_idx]),
        pl.Series("unit_order", unit_order.astype(np.int32)),
        *unit_text.get_columns(),
        *(_utc(times[c]).alias(c) for c in _STATUS),
        pl.Series("is_cancelled", times["is_cancelled"]),
    ])


def generate_incidents(world: World, start: date, end: date, seed: int,
                       scale: float = 1.0) -> Iterator[pl.DataFrame]:
    """Yield the TRUE unit rows of incidents received on local (Europe/Helsinki) days
    ``start <= day < end``, one DataFrame per calendar month, sorted by call time.

    Times are UTC instants (``Datetime("us", "UTC")``, whole seconds) and clean: only true events
    (cancelled tasks and units, see ``DEFECT_RATES``) leave a status time empty. Columns:
    incident_id ("2025-000123", numbered per local year), call_at, municipality_code, task_type,
    urgency (A-D), cell_id, risk_class, x_m, y_m (ETRS-TM35FIN, 0.1 m), unit_order (0 = first
    alarmed), unit_id, unit_type, station_id, alarm_at, en_route_at, on_scene_at, free_at and
    is_cancelled (the unit never arrived). ``scale`` multiplies the incident rate (1.0: ~8,000
    incidents, ~18,000 unit rows a year). A month depends only on (world, seed, year, month,
    scale), so every window of days sees the same incidents. ``seed`` must be >= 0.
    """
    if seed < 0 or not scale > 0:
        raise ValmiusError(f"generate_incidents needs seed >= 0 and scale > 0, got seed={seed}, "
                           f"scale={scale}; pass a non-negative integer seed.")
    ctx = _context(world)
    window = (_local_midnight_utc(start), _local_midnight_utc(end))
    year, month = start.year, start.month
    while date(year, month, 1) < end:
        rows = _month_rows(ctx, seed, year, month, scale)
        if start > date(year, month, 1) or end < _next_month(year, month):
            rows = rows.filter(pl.col("call_at").is_between(*window, closed="left"))
        yield rows
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


# --- Defects, decided by hashing so that every export of an incident agrees.

def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _uniform(keys: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """A uniform [0, 1) number per key, stable across chunks, files and runs."""
    stream = _splitmix64(np.array([seed * 1_000 + salt], dtype=np.uint64))
    with np.errstate(over="ignore"):
        mixed = _splitmix64(keys.astype(np.uint64) ^ stream)
    return (mixed >> np.uint64(11)).astype(np.float64) / 2.0**53


def _pick(u: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Index into ``names`` per number (``len(names)`` = no defect)."""
    return np.searchsorted(np.cumsum([DEFECT_RATES[name] for name in names]), u, side="right")


def _labels(index: np.ndarray, names: tuple[str, ...], column: str) -> pl.Series:
    return pl.Series(column, [*names, None], dtype=pl.Utf8).gather(index)


def mark_defects(rows: pl.DataFrame, seed: int = 0) -> pl.DataFrame:
    """Add the defects each true row will carry in an export (deterministic for ``seed``).

    New columns: ``defect`` (one of ``ROW_DEFECTS`` or null; only where the affected value
    exists), ``incident_defect`` (one of ``INCIDENT_DEFECTS`` or null) and ``defect_u`` (a uniform
    number that picks details such as the sign of a clock error). Tests use this to know which
    rows of an export should differ from the truth.
    """
    incident_key = rows["incident_id"].str.replace("-", "", literal=True).cast(pl.Int64).to_numpy()
    row_key = incident_key * 64 + rows["unit_order"].to_numpy()
    row_defect = _pick(_uniform(row_key, seed, 1), ROW_DEFECTS)
    has = {c: rows[c].is_not_null().to_numpy() for c in _STATUS}
    variant = _uniform(row_key, seed, 3)
    broken_column = np.floor(variant * 4).astype(np.int64)  # which status time to break
    needs = {"unparseable_time": np.stack(list(has.values()))[broken_column,
                                                              np.arange(rows.height)],
             "missing_en_route": has["en_route_at"], "missing_on_scene": has["on_scene_at"],
             "missing_free": has["free_at"], "zero_turnout": has["en_route_at"],
             "en_route_at_arrival": has["on_scene_at"],
             "on_scene_before_en_route": has["on_scene_at"] & has["en_route_at"]}
    for name, exists in needs.items():
        row_defect[(row_defect == ROW_DEFECTS.index(name)) & ~exists] = len(ROW_DEFECTS)
    return rows.with_columns(
        _labels(row_defect, ROW_DEFECTS, "defect"),
        _labels(_pick(_uniform(incident_key, seed, 2), INCIDENT_DEFECTS), INCIDENT_DEFECTS,
                "incident_defect"),
        pl.Series("defect_u", variant),
        pl.Series("incident_u", _uniform(incident_key, seed, 4)),
    )


def _seconds(expr: pl.Expr) -> pl.Expr:
    return pl.duration(seconds=expr.cast(pl.Int64))


def _apply_time_defects(rows: pl.DataFrame, preliminary: bool) -> pl.DataFrame:
    d, u = pl.col("defect"), pl.col("defect_u")
    shift = _seconds(pl.when(d == "clock_hour_off").then(pl.when(u < 0.5).then(3600)
                                                         .otherwise(-3600)).otherwise(0))
    exprs = [
        (pl.col("alarm_at") + shift).alias("alarm_at"),
        pl.when(d == "missing_en_route").then(None)
        .when(d == "zero_turnout").then(pl.col("alarm_at"))
        .when(d == "en_route_at_arrival").then(pl.col("on_scene_at"))
        .when(d == "on_scene_before_en_route").then(pl.col("on_scene_at") + _seconds(30 + 270 * u))
        .otherwise(pl.col("en_route_at") + shift).alias("en_route_at"),
        pl.when(d == "missing_on_scene").then(None).otherwise(pl.col("on_scene_at") + shift)
        .alias("on_scene_at"),
        pl.when(d == "missing_free").then(None).otherwise(pl.col("free_at") + shift)
        .alias("free_at"),
    ]
    rows = rows.with_columns(exprs)
    if not preliminary:
        return rows
    is_late = pl.col("incident_defect") == "late_correction"
    wrong_type = is_late & (pl.col("incident_u") < 0.5)
    wrong_time = is_late & (pl.col("incident_u") >= 0.5) & (pl.col("unit_order") == 0)
    return rows.with_columns(
        pl.when(wrong_type).then(pl.col("task_type").replace(_PRELIMINARY_LABEL))
        .otherwise(pl.col("task_type")).alias("task_type"),
        pl.when(wrong_time).then(pl.col("on_scene_at") + _seconds(60 + 540 * pl.col("incident_u")))
        .otherwise(pl.col("on_scene_at")).alias("on_scene_at"),
    )


# --- The fi-erc text format.

def _local_text(column: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(TIME_ZONE.key).dt.strftime(_TIME_FORMAT)


def _decimal_comma(column: str) -> pl.Expr:
    tenths = (pl.col(column) * 10).round(0).cast(pl.Int64)
    return pl.concat_str([(tenths // 10).cast(pl.Utf8), pl.lit(","), (tenths % 10).cast(pl.Utf8)])


def _break_times(text: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """Make one status time per "unparseable_time" row unreadable (few rows: patch them)."""
    broken = np.flatnonzero((rows["defect"] == "unparseable_time").fill_null(False).to_numpy())
    if broken.size == 0:
        return text
    u = rows["defect_u"].to_numpy()[broken]
    columns = np.array(EXPORT_COLUMNS[-4:])[np.floor(u * 4).astype(np.int64)]
    for column in np.unique(columns):
        index = broken[columns == column]
        values = text[column].gather(index)
        impossible = values.str.replace(r"^\d+\.\d+\.", "31.2.")  # 31 February
        is_dash = pl.Series(np.floor(u[columns == column] * 8) % 2 == 0)
        garbage = pl.select(pl.when(values.is_null()).then(values).when(is_dash).then(pl.lit("--"))
                            .otherwise(impossible)).to_series()
        text = text.with_columns(text[column].scatter(index, garbage))
    return text


def _export_frame(marked: pl.DataFrame, *, preliminary: bool = False,
                  cutoff: datetime | None = None) -> pl.DataFrame:
    """Marked true rows -> the fi-erc text columns, defects applied."""
    rows = _apply_time_defects(marked, preliminary)
    if cutoff is not None:  # not yet happened when the export ran
        rows = rows.with_columns([pl.when(pl.col(c) <= cutoff).then(pl.col(c)).alias(c)
                                  for c in _STATUS])
    text = rows.select(
        pl.col("incident_id"), _local_text("call_at"),
        pl.when(pl.col("incident_defect") == "missing_municipality").then(None)
        .otherwise(pl.col("municipality_code")).alias("municipality_code"),
        "task_type", "urgency", "cell_id", "risk_class",
        _decimal_comma("y_m").alias("y"), _decimal_comma("x_m").alias("x"),
        "unit_id", "unit_type", "station_id",
        *(_local_text(c) for c in _STATUS),
    )
    text.columns = list(EXPORT_COLUMNS)
    text = _break_times(text, rows)
    duplicated = (rows["defect"] == "duplicate_row").fill_null(False).to_numpy()
    if duplicated.any():
        text = text[np.repeat(np.arange(text.height), 1 + duplicated)]
    return text


def _write_text(path: Path, frames: Iterable[pl.DataFrame], encoding: str,
                line_ending: str) -> int:
    if encoding not in ENCODINGS or line_ending not in ("\n", "\r\n"):
        raise ValmiusError(f"cannot write {path}: encoding must be one of {ENCODINGS} (got "
                           f"{encoding!r}) and line_ending '\\n' or '\\r\\n' "
                           f"(got {line_ending!r}).")
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    written = 0
    with open(path, "wb") as out:
        out.write((";".join(EXPORT_COLUMNS) + line_ending).encode(encoding))  # -sig adds the BOM
        for frame in frames:
            target = out if codec == "utf-8" else io.BytesIO()
            frame.write_csv(target, separator=";", include_header=False, null_value="",
                            line_terminator=line_ending, quote_style="necessary")
            if target is not out:
                out.write(target.getvalue().decode("utf-8").encode(codec))
            written += frame.height
    return written


def write_export(path: str | Path, rows_chunks: Iterable[pl.DataFrame], *,
                 encoding: str = "utf-8-sig", line_ending: str = "\n", defects: bool = True,
                 seed: int = 0) -> int:
    """Write true rows (from ``generate_incidents``) as one fi-erc export; return rows written.

    ``encoding`` is "utf-8-sig" (UTF-8 with BOM), "utf-8" or "cp1252"; ``line_ending`` "\\n" or
    "\\r\\n". With ``defects`` the row- and incident-level recording defects of ``DEFECT_RATES``
    are applied (late corrections only happen across nightly exports). Duplicated rows count.
    """
    def frames() -> Iterator[pl.DataFrame]:
        for rows in rows_chunks:
            marked = mark_defects(rows, seed)
            if not defects:
                marked = marked.with_columns(pl.lit(None, pl.Utf8).alias("defect"),
                                             pl.lit(None, pl.Utf8).alias("incident_defect"))
            yield _export_frame(marked)
    return _write_text(Path(path), frames(), encoding, line_ending)


def write_nightly_exports(world: World, folder: str | Path, start: date, end: date, seed: int,
                          overlap_days: int = 2, scale: float = 1.0, *,
                          encoding: str = "utf-8-sig", line_ending: str = "\n") -> list[Path]:
    """Write one SYNTHETIC nightly export ``demo-synthetic-fi-erc-YYYYMMDD.csv`` per night
    ``start <= night < end``; returns the paths.

    The export of night D runs at 02:00 local time and covers calls of the ``overlap_days`` local
    days before D, so consecutive files share rows; status times after 02:00 are still empty in
    it. Late corrections: the incident's preliminary values appear while it is in the window and
    the corrected rows appear once more, 1-5 nights after it has left the window. Holds the
    rows of the period in memory: meant for days to months, not decades.
    """
    if overlap_days < 1:
        raise ValmiusError(f"overlap_days must be >= 1, got {overlap_days}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if end <= start:
        return []
    first_call_day = start - timedelta(days=2 * overlap_days + 6)
    rows = pl.concat(list(generate_incidents(world, first_call_day, end, seed, scale)))
    rows = mark_defects(rows, seed)
    call_day = pl.col("call_at").dt.convert_time_zone(TIME_ZONE.key).dt.date()
    lag_days = overlap_days + 1 + (pl.col("incident_u") * 1e6 % 5).floor().cast(pl.Int64)
    rows = rows.with_columns(call_day.alias("call_day"),
                             (call_day + pl.duration(days=lag_days)).alias("correction_day"))
    paths = []
    night = start
    while night < end:
        cutoff = datetime(night.year, night.month, night.day, EXPORT_HOUR_LOCAL,
                          tzinfo=TIME_ZONE).astimezone(timezone.utc)
        in_window = rows.filter(pl.col("call_day").is_between(
            night - timedelta(days=overlap_days), night, closed="left"))
        corrected = rows.filter((pl.col("incident_defect") == "late_correction")
                                & (pl.col("correction_day") == night))
        path = folder / f"demo-synthetic-fi-erc-{night:%Y%m%d}.csv"
        frames = [_export_frame(in_window, preliminary=True, cutoff=cutoff),
                  _export_frame(corrected, cutoff=cutoff)]
        _write_text(path, frames, encoding, line_ending)
        paths.append(path)
        night += timedelta(days=1)
    return paths


def bulk_scale(world: World, n_unit_rows: int, seed: int, years: int = 10) -> float:
    """The incident rate (a multiple of the demo department's) at which ``years`` years hold
    ``n_unit_rows`` export rows, with 1 % to spare: the scale of :func:`write_bulk_export`."""
    sample = pl.concat(list(generate_incidents(world, date(2020, 1, 1), date(2021, 1, 1), seed,
                                               scale=2.0)))
    rows_per_year = sample.height / 2.0 * (1 + DEFECT_RATES["duplicate_row"])
    return 1.01 * n_unit_rows / (years * rows_per_year)


def write_bulk_export(world: World, path: str | Path, n_unit_rows: int, seed: int,
                      start: date = date(2016, 1, 1), *, years: int = 10,
                      encoding: str = "utf-8-sig", line_ending: str = "\n") -> int:
    """Write one SYNTHETIC fi-erc export of exactly ``n_unit_rows`` rows (with defects) spread
    over ``years`` years from ``start``, streamed month by month; returns rows written.

    The incident rate is scaled to fit (10,000,000 rows over ten years is ~54x the demo
    department, several times national scale); the file stops at ``n_unit_rows`` even if that
    cuts the last incident's rows, and may end a few days before ``years`` are over.
    """
    if n_unit_rows <= 0 or years <= 0:
        raise ValmiusError(f"write_bulk_export needs n_unit_rows > 0 and years > 0, got "
                           f"{n_unit_rows} and {years}.")
    scale = bulk_scale(world, n_unit_rows, seed, years)
    end = date(start.year + years, start.month, 1)

    def frames() -> Iterator[pl.DataFrame]:
        remaining = n_unit_rows
        for rows in generate_incidents(world, start, end, seed, scale):
            text = _export_frame(mark_defects(rows, seed))
            yield text.head(remaining)
            remaining -= min(remaining, text.height)
            if remaining == 0:
                return
    return _write_text(Path(path), frames(), encoding, line_ending)
