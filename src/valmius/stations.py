"""Stations: where they are, and how long their units take to reach a place, learnt from the lake.

Used by what-if scenarios (:mod:`valmius.scenario`). Everything here is observed or fitted on
observations; nothing is a constant of the code.

- **Arrivals** (:func:`station_arrivals`): for every measured urgent task and every station whose
  counted unit arrived, the station's time to the task: alarm to on scene (turnout plus travel) of
  its fastest unit there, ``own_s``. It is measured from that unit's own alarm, so a unit alarmed
  late as a reinforcement still tells how long the station takes once alarmed.
- **Station-to-cell times** (:meth:`StationTimes.estimates`): per station and cell, the median of
  its arrivals in the cell when it has at least ``scenario.min_observations`` of them; else the
  median of its arrivals in the cells around (``scenario.neighbour_rings``); else the distance
  model. Each estimate says which of these it came from.
- **Locations** (:func:`read_stations`): the stations file ``paths.stations``, a CSV with
  ``station_id``, ``x_m`` and ``y_m`` in the grid's metres (other columns are ignored).
- **Distance model** (:class:`TravelCurve`), when station locations are known: the median travel
  time (en route to on scene) by straight-line distance from the station to the incident, in
  distance bands of equal counts (about the square root of the count of them, at most 40), pooled
  over all stations, made non-decreasing and interpolated
  between the bands (beyond the last band it goes on at the slope of its far half). A station's
  time to a place is its own median turnout plus the curve at that distance, times the station's
  own median ratio of observed to modelled travel (its roads are slower or faster than the pool's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from valmius.errors import InputError
from valmius.lake import Snapshot
from valmius.settings import Settings

MIN_CURVE_OBSERVATIONS = 10
"""Fewest travel times with a known station location needed to fit the distance model."""
_MAX_BANDS = 40


def read_stations(settings: Settings) -> pl.DataFrame | None:
    """Station locations from ``paths.stations`` (station_id, x_m, y_m), or None when there is no such
    file. Comma- or semicolon-separated (then decimal commas are read too), UTF-8 with or without BOM."""
    path = settings.paths.stations
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0] if text else ""
    separator = ";" if header.count(";") > header.count(",") else ","
    try:
        raw = pl.read_csv(path, separator=separator, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc}); the stations file (paths.stations) needs the "
                         f"columns station_id, x_m, y_m") from exc
    raw = raw.rename({c: c.strip().lstrip("\ufeff") for c in raw.columns})
    missing = [c for c in ("station_id", "x_m", "y_m") if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: the stations file (paths.stations) has no column {', '.join(missing)}; it needs "
                         f"station_id, x_m, y_m (metres in the grid's system {settings.grid.crs}); columns found: "
                         f"{', '.join(raw.columns)}")
    stations = raw.select(pl.col("station_id").str.strip_chars(),
                          *(pl.col(c).str.strip_chars().str.replace(",", ".", literal=True)
                            .cast(pl.Float64, strict=False).alias(c) for c in ("x_m", "y_m")))
    for index, row in enumerate(stations.iter_rows(named=True)):
        where = f"{path}, line {index + 2}"
        if not row["station_id"]:
            raise InputError(f"{where}: empty station_id")
        for column in ("x_m", "y_m"):
            if row[column] is None:
                raise InputError(f"{where}: {column} {raw[column][index]!r} is not a number of metres")
        if not _inside(settings, row["x_m"], row["y_m"]):
            raise InputError(f"{where}: station {row['station_id']} at x_m={row['x_m']}, y_m={row['y_m']} is outside "
                             f"the grid's extent (grid.extent_m); give metres in {settings.grid.crs}, not degrees")
    duplicated = stations.filter(pl.col("station_id").is_duplicated())["station_id"].unique().sort().to_list()
    if duplicated:
        raise InputError(f"{path}: station {', '.join(duplicated)} is listed more than once; keep one row per station")
    return stations


def _inside(settings: Settings, x_m: float, y_m: float) -> bool:
    x_min, y_min, x_max, y_max = settings.grid.extent_m
    return x_min <= x_m <= x_max and y_min <= y_m <= y_max


def check_location(settings: Settings, x_m: float, y_m: float, what: str) -> None:
    """An error when (x_m, y_m) is outside the grid's extent (most often: degrees given, not metres)."""
    if not _inside(settings, x_m, y_m):
        x_min, y_min, x_max, y_max = settings.grid.extent_m
        raise InputError(f"{what} x={x_m:.0f}, y={y_m:.0f} is outside the grid's extent ({x_min:.0f}-{x_max:.0f} east, "
                         f"{y_min:.0f}-{y_max:.0f} north, grid.extent_m); give metres in {settings.grid.crs}, not degrees")


def _cell_of(size_m: int) -> dict[str, pl.Expr]:
    """ix, iy: the column and row of the ``size_m`` grid cell holding (x_m, y_m)."""
    return {"ix": (pl.col("x_m") // size_m).cast(pl.Int64), "iy": (pl.col("y_m") // size_m).cast(pl.Int64)}


def _seconds(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_seconds().cast(pl.Int64)


def station_arrivals(snapshot: Snapshot, settings: Settings, start: datetime, end: datetime) -> pl.DataFrame:
    """One row per measured urgent task with its call in ``(start, end]`` and per station whose counted
    unit arrived there: incident_id, call_at, cell_id, x_m, y_m (the incident), station_id, own_s (alarm to on
    scene of the station's fastest unit), turnout_s and travel_s (that unit's; null when not recorded) and
    first_on_scene_at (the earliest on-scene time of the station's units there)."""
    in_window = (pl.col("call_at") > start) & (pl.col("call_at") <= end)
    tasks = (snapshot.scan("responses").filter(pl.col("is_measured"), pl.col("cell_id").is_not_null(), in_window)
             .select("incident_id", "call_at", "cell_id"))
    places = snapshot.scan("incidents").filter(in_window).select("incident_id", "x_m", "y_m")
    unit_types = settings.counting.unit_types
    units = snapshot.scan("units").filter(in_window, pl.col("alarm_at").is_not_null(),
                                          pl.col("on_scene_at").is_not_null(), pl.col("station_id").is_not_null())
    if unit_types:
        units = units.filter(pl.col("unit_type").is_in(unit_types))
    units = units.with_columns(own_s=_seconds("on_scene_at", "alarm_at"), turnout_s=_seconds("en_route_at", "alarm_at"),
                               travel_s=_seconds("on_scene_at", "en_route_at"))
    fastest = (units.sort("own_s", "unit_id").group_by("incident_id", "station_id", maintain_order=True)
               .agg(pl.col("own_s", "turnout_s", "travel_s").first(), first_on_scene_at=pl.col("on_scene_at").min()))
    return (tasks.join(places, on="incident_id").join(fastest, on="incident_id")
            .select("incident_id", "call_at", "cell_id", "x_m", "y_m", "station_id", "own_s", "turnout_s", "travel_s",
                    "first_on_scene_at")
            .sort("incident_id", "station_id").collect())


@dataclass(frozen=True)
class TravelCurve:
    """Median travel time by straight-line distance: knots (distance_m, travel_s), non-decreasing."""

    distance_m: np.ndarray
    travel_s: np.ndarray
    observations: int
    far_slope_s_per_m: float

    @classmethod
    def fit(cls, distance_m: np.ndarray, travel_s: np.ndarray) -> TravelCurve | None:
        """The curve of ``travel_s`` against ``distance_m``; None with fewer than
        :data:`MIN_CURVE_OBSERVATIONS` observations."""
        keep = np.isfinite(distance_m) & np.isfinite(travel_s)
        distance_m, travel_s = distance_m[keep], travel_s[keep]
        if distance_m.size < MIN_CURVE_OBSERVATIONS:
            return None
        order = np.argsort(distance_m, kind="stable")
        bands = int(np.clip(round(np.sqrt(distance_m.size)), 2, _MAX_BANDS))
        chunks = np.array_split(order, bands)
        knots_d = np.array([np.median(distance_m[c]) for c in chunks])
        knots_t = np.array([np.median(travel_s[c]) for c in chunks])
        weights = np.array([c.size for c in chunks], dtype=float)
        knots_d, knots_t, weights = _merge_equal(knots_d, knots_t, weights)
        knots_t = _non_decreasing(knots_t, weights)
        middle = knots_d.size // 2
        span = knots_d[-1] - knots_d[middle]
        slope = float((knots_t[-1] - knots_t[middle]) / span) if span > 0 else 0.0
        return cls(knots_d, knots_t, int(distance_m.size), max(slope, 0.0))

    def __call__(self, distance_m: np.ndarray) -> np.ndarray:
        distance_m = np.asarray(distance_m, dtype=float)
        inside = np.interp(distance_m, self.distance_m, self.travel_s)
        beyond = self.travel_s[-1] + self.far_slope_s_per_m * (distance_m - self.distance_m[-1])
        return np.where(distance_m > self.distance_m[-1], beyond, inside)


def _merge_equal(d: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One knot per distance (few distinct distances in small data): weighted mean of the band medians."""
    unique, inverse = np.unique(d, return_inverse=True)
    weight = np.bincount(inverse, weights=w)
    return unique, np.bincount(inverse, weights=t * w) / weight, weight


def _non_decreasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators): farther is never faster."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for value, weight in zip(values, weights):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(n, v) for v, _, n in blocks])


@dataclass(frozen=True)
class StationModel:
    """A station's modelled time to a place: turnout plus the pooled curve times its own road factor."""

    station_id: str
    x_m: float
    y_m: float
    turnout_s: float
    road_factor: float

    def time_s(self, curve: TravelCurve, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        return self.turnout_s + self.road_factor * curve(np.hypot(np.asarray(x_m) - self.x_m, np.asarray(y_m) - self.y_m))


@dataclass(frozen=True)
class StationTimes:
    """What the lake says about each station's time to each place; see the module's docstring."""

    arrivals: pl.DataFrame
    cell_size_m: int
    min_observations: int
    neighbour_rings: int
    curve: TravelCurve | None
    models: dict[str, StationModel]
    model_error_s: float | None
    """Median absolute difference between the distance model and the observed arrivals."""
    farthest_arrival_m: float | None
    """The longest straight-line distance from a station to a task its unit arrived at (None: no
    station located)."""

    @classmethod
    def learn(cls, arrivals: pl.DataFrame, stations: pl.DataFrame | None, settings: Settings) -> StationTimes:
        size = settings.grid.cell_size_m
        arrivals = arrivals.with_columns(**_cell_of(size))
        curve, models, error, farthest = None, {}, None, None
        if stations is not None:
            located = arrivals.join(stations.rename({"x_m": "station_x_m", "y_m": "station_y_m"}), on="station_id")
            located = located.with_columns(distance_m=(
                (pl.col("x_m") - pl.col("station_x_m")) ** 2 + (pl.col("y_m") - pl.col("station_y_m")) ** 2).sqrt())
            farthest = located["distance_m"].max()
            timed = located.drop_nulls("travel_s")
            curve = TravelCurve.fit(timed["distance_m"].to_numpy(), timed["travel_s"].to_numpy().astype(float))
            if curve is not None:
                models = _station_models(timed, stations, curve, settings.scenario.min_observations)
                error = _model_error(located, models, curve)
        return cls(arrivals, size, settings.scenario.min_observations, settings.scenario.neighbour_rings, curve,
                   models, error, farthest)

    def model_time_s(self, station_id: str, x_m: np.ndarray, y_m: np.ndarray,
                     at: tuple[float, float] | None = None) -> np.ndarray:
        """Modelled time of ``station_id`` to the places (x_m, y_m), from its location or from ``at``."""
        model = self.models[station_id]
        if at is not None:
            model = StationModel(station_id, at[0], at[1], model.turnout_s, model.road_factor)
        assert self.curve is not None
        return model.time_s(self.curve, x_m, y_m)

    def estimates(self, tasks: pl.DataFrame, station_ids: list[str]) -> pl.DataFrame:
        """Every station's estimated time to every task (incident_id, x_m, y_m): incident_id,
        station_id, estimate_s and source (cell, neighbourhood or distance_model). Pairs with no
        estimate are left out."""
        places = tasks.select("incident_id", "x_m", "y_m").with_columns(**_cell_of(self.cell_size_m))
        wanted = places.select("ix", "iy").unique()
        observed = self._observed(station_ids)
        in_cell = (observed.join(wanted, on=["ix", "iy"]).group_by("station_id", "ix", "iy")
                   .agg(cell_n=pl.len(), cell_s=pl.col("own_s").median()))
        near = self._around(wanted, observed)
        pairs = (places.join(pl.DataFrame({"station_id": station_ids}, schema={"station_id": pl.String}), how="cross")
                 .join(in_cell, on=["station_id", "ix", "iy"], how="left")
                 .join(near, on=["station_id", "ix", "iy"], how="left"))
        modelled = self._modelled(pairs)
        enough = self.min_observations
        return (
            pairs.with_columns(model_s=modelled)
            .with_columns(
                estimate_s=pl.when(pl.col("cell_n") >= enough).then("cell_s")
                .when(pl.col("near_n") >= enough).then("near_s").otherwise("model_s"),
                source=pl.when(pl.col("cell_n") >= enough).then(pl.lit("cell"))
                .when(pl.col("near_n") >= enough).then(pl.lit("neighbourhood"))
                .when(pl.col("model_s").is_not_null()).then(pl.lit("distance_model")),
            )
            .drop_nulls("estimate_s")
            .select("incident_id", "station_id", pl.col("estimate_s").cast(pl.Float64), "source")
        )

    def arrivals_near(self, tasks: pl.DataFrame, station_ids: list[str]) -> pl.DataFrame:
        """incident_id and ``arrivals``: the most arrivals that any one of ``station_ids`` has in the
        cells around each task (incident_id, x_m, y_m), its own cell included; 0 for none."""
        places = tasks.select("incident_id", **_cell_of(self.cell_size_m))
        most = self._around(places.select("ix", "iy").unique(), self._observed(station_ids)).group_by("ix", "iy").agg(
            arrivals=pl.col("near_n").max())
        return places.join(most, on=["ix", "iy"], how="left").select(
            "incident_id", arrivals=pl.col("arrivals").fill_null(0).cast(pl.Int64))

    def _observed(self, station_ids: list[str]) -> pl.DataFrame:
        """The arrivals of ``station_ids``: station_id, their cell (ix, iy) and own_s."""
        return self.arrivals.filter(pl.col("station_id").is_in(station_ids)).select("station_id", "ix", "iy", "own_s")

    def _around(self, wanted: pl.DataFrame, observed: pl.DataFrame) -> pl.DataFrame:
        """Per station and wanted cell (ix, iy): ``near_n`` and ``near_s``, the count and median of
        the station's ``observed`` times in the cells within ``neighbour_rings`` of it."""
        r = self.neighbour_rings
        offsets = pl.DataFrame({"dx": list(range(-r, r + 1))}).join(pl.DataFrame({"dy": list(range(-r, r + 1))}),
                                                                    how="cross")
        around = wanted.join(offsets, how="cross").select(ix=pl.col("ix") + pl.col("dx"), iy=pl.col("iy") + pl.col("dy"))
        return (observed.join(around.unique(), on=["ix", "iy"], how="semi").join(offsets, how="cross")
                .with_columns(ix=pl.col("ix") + pl.col("dx"), iy=pl.col("iy") + pl.col("dy"))
                .join(wanted, on=["ix", "iy"]).group_by("station_id", "ix", "iy")
                .agg(near_n=pl.len(), near_s=pl.col("own_s").median()))

    def _modelled(self, pairs: pl.DataFrame) -> pl.Series:
        values = np.full(pairs.height, np.nan)
        if self.curve is not None:
            station = pairs["station_id"].to_numpy()
            x, y = pairs["x_m"].to_numpy(), pairs["y_m"].to_numpy()
            for station_id, model in self.models.items():
                rows = station == station_id
                values[rows] = model.time_s(self.curve, x[rows], y[rows])
        return pl.Series("model_s", values).fill_nan(None)


def _station_models(timed: pl.DataFrame, stations: pl.DataFrame, curve: TravelCurve,
                    min_observations: int) -> dict[str, StationModel]:
    """Turnout and road factor of every located station with arrivals."""
    ratio = timed.with_columns(expected=pl.Series(curve(timed["distance_m"].to_numpy()))).filter(
        pl.col("expected") > 0).with_columns(ratio=pl.col("travel_s") / pl.col("expected"))
    factors = ratio.group_by("station_id").agg(n=pl.len(), factor=pl.col("ratio").median())
    turnouts = timed.drop_nulls("turnout_s").group_by("station_id").agg(turnout_s=pl.col("turnout_s").median())
    located = stations.join(turnouts, on="station_id").join(factors, on="station_id", how="left")
    models = {}
    for row in located.iter_rows(named=True):
        factor = row["factor"] if row["n"] is not None and row["n"] >= min_observations else 1.0
        models[row["station_id"]] = StationModel(row["station_id"], row["x_m"], row["y_m"], float(row["turnout_s"]),
                                                 float(factor))
    return models


def _model_error(located: pl.DataFrame, models: dict[str, StationModel], curve: TravelCurve) -> float | None:
    errors = []
    for station_id, model in models.items():
        rows = located.filter(pl.col("station_id") == station_id)
        modelled = model.time_s(curve, rows["x_m"].to_numpy(), rows["y_m"].to_numpy())
        errors.append(np.abs(modelled - rows["own_s"].to_numpy()))
    joined = np.concatenate(errors) if errors else np.zeros(0)
    return float(np.median(joined)) if joined.size else None


def stations_path_hint(settings: Settings) -> str:
    """Where the stations file is looked for, and how to point at another one."""
    return (f"no stations file at {settings.paths.stations}; set paths.stations in the settings file "
            f"({settings.source or 'valmius.toml'}) to a CSV with the columns station_id, x_m, y_m "
            f"(metres in {settings.grid.crs})")


def known_stations(arrivals: pl.DataFrame, stations: pl.DataFrame | None) -> list[str]:
    """Stations seen in the arrivals or listed in the stations file, sorted."""
    seen = set(arrivals["station_id"].to_list())
    if stations is not None:
        seen |= set(stations["station_id"].to_list())
    return sorted(seen)

