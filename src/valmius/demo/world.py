"""A SYNTHETIC demo world of the Central Uusimaa rescue department (Keusote) plus Vantaa and Kerava.

Everything here is made up for demonstrations and tests. The town centres sit near their real
places (converted from WGS84 to ETRS-TM35FIN / EPSG:3067), but the populations per cell, the
municipal "borders" (a weighted nearest-centre rule), the risk classes, the stations and the units
are invented. Never use this world for real planning.

The world is a set of polars DataFrames:

- ``cells``: 1 km cells of the national grid, identified by their bottom-left corner,
  ``cell_id`` = ``1kmN{y_m//1000}E{x_m//1000}``, with a synthetic ``population``, the
  ``municipality_code`` they belong to and a ``risk_class`` "I".."IV".
- ``stations``: fire stations with their median turnout time and whether they are staffed
  around the clock (``is_full_time``). Pornainen (611) has no station, as in reality.
- ``units``: the units of each station. Unit ids follow ``{station_id}{type digit}``: station
  ``KU30`` (Järvenpää) has ``KU301`` (pelastusyksikkö), ``KU303`` (säiliöyksikkö), ...
  The type digit is listed in ``UNIT_TYPE_DIGITS``.
- ``municipalities``: code, Finnish name and the town centre.

The end of the module holds what happens in the world, used by ``generate.py``: the task mix
with its response plans (``TASK_TYPES``, ``POOLS``), seasonal and diurnal weights, and the
travel-time model (``travel_median_s``).

``build_world`` is pure and deterministic; ``write_world`` is the only function doing I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import polars as pl

from valmius.cells import NATIONAL_GRID_CRS, locate

CELL_SIZE_M = 1000
ROAD_DISTANCE_FACTOR = 1.3  # road distance / straight-line distance

# Type digit at the end of a unit id (our own consistent scheme, documented in data/demo/README.md).
UNIT_TYPE_DIGITS: dict[str, str] = {
    "pelastusyksikkö": "1",
    "säiliöyksikkö": "3",
    "johtoyksikkö": "4",
    "nostolava": "6",
    "ensivasteyksikkö": "7",
}


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    centre_x_m: float  # town centre, ETRS-TM35FIN
    centre_y_m: float
    territory_x_m: float  # rough centre of the whole territory (for assigning cells)
    territory_y_m: float
    area_km2: float
    rural_population: int  # spread thinly over the whole territory


MUNICIPALITIES: tuple[Municipality, ...] = (
    Municipality("092", "Vantaa", 391900, 6685600, 388500, 6687800, 240, 9_000),
    Municipality("106", "Hyvinkää", 382900, 6723600, 380500, 6721500, 337, 4_000),
    Municipality("186", "Järvenpää", 395000, 6705700, 396300, 6706300, 40, 800),
    Municipality("245", "Kerava", 395600, 6697800, 396600, 6697300, 31, 600),
    Municipality("505", "Mäntsälä", 408000, 6723200, 407000, 6726500, 590, 7_500),
    Municipality("543", "Nurmijärvi", 379400, 6705200, 376500, 6705000, 367, 4_500),
    Municipality("611", "Pornainen", 410700, 6705600, 411000, 6706000, 147, 1_900),
    Municipality("858", "Tuusula", 391100, 6698200, 390500, 6706000, 225, 4_500),
)

# (name, municipality code, x_m, y_m, residents, spread sigma in metres). Railway towns (Korso,
# Kerava, Järvenpää, Jokela, Hyvinkää, Mäntsälä, Kivistö) are among them.
SETTLEMENTS: tuple[tuple[str, str, float, float, int, float], ...] = (
    ("Tikkurila", "092", 391900, 6685600, 40_000, 1200),
    ("Myyrmäki", "092", 381300, 6682500, 35_000, 1300),
    ("Martinlaakso", "092", 382700, 6685200, 15_000, 900),
    ("Hakunila", "092", 395500, 6683600, 22_000, 1100),
    ("Korso", "092", 394000, 6692000, 22_000, 1100),
    ("Koivukylä", "092", 392800, 6689300, 18_000, 1000),
    ("Kivistö", "092", 381000, 6688400, 12_000, 1000),
    ("Aviapolis", "092", 388000, 6688000, 6_000, 1000),
    ("Hakkila", "092", 390500, 6683000, 15_000, 1000),
    ("Hämeenkylä", "092", 378900, 6682900, 12_000, 1000),
    ("Ylästö", "092", 388500, 6685000, 10_000, 900),
    ("Mikkola", "092", 395400, 6690500, 8_000, 800),
    ("Rekola", "092", 393600, 6687500, 12_000, 900),
    ("Länsimäki", "092", 397300, 6682900, 8_000, 800),
    ("Hyvinkää", "106", 382900, 6723600, 32_000, 1200),
    ("Hyvinkäänkylä", "106", 381000, 6720500, 6_000, 900),
    ("Paavola", "106", 384600, 6725700, 4_000, 800),
    ("Ridasjärvi", "106", 387500, 6729000, 1_000, 600),
    ("Järvenpää", "186", 395000, 6705700, 30_000, 1200),
    ("Kyrölä", "186", 393800, 6707300, 6_000, 700),
    ("Haarajoki", "186", 398500, 6704600, 5_000, 700),
    ("Saunakallio", "186", 396600, 6706900, 4_000, 600),
    ("Kerava", "245", 395600, 6697800, 28_000, 1200),
    ("Kaskela", "245", 397600, 6696000, 6_000, 700),
    ("Savio", "245", 396000, 6699800, 3_500, 600),
    ("Mäntsälä", "505", 408000, 6723200, 10_000, 750),
    ("Sälinkää", "505", 416800, 6719200, 1_200, 600),
    ("Ohkola", "505", 404000, 6713000, 1_200, 600),
    ("Hirvihaara", "505", 405500, 6732000, 1_000, 600),
    ("Nurmijärvi", "543", 379400, 6705200, 13_000, 800),
    ("Klaukkala", "543", 376000, 6696200, 18_000, 900),
    ("Rajamäki", "543", 376500, 6711400, 7_000, 900),
    ("Röykkä", "543", 369300, 6710600, 1_500, 600),
    ("Perttula", "543", 371500, 6713500, 1_000, 600),
    ("Pornainen", "611", 410700, 6705600, 2_500, 700),
    ("Laukkoski", "611", 413500, 6701000, 600, 500),
    ("Hyrylä", "858", 391100, 6698200, 20_000, 1100),
    ("Jokela", "858", 388700, 6714800, 6_000, 800),
    ("Kellokoski", "858", 396300, 6711600, 4_000, 700),
    ("Riihikallio", "858", 389500, 6700600, 3_000, 600),
    ("Ruotsinkylä", "858", 388200, 6694200, 2_000, 600),
)

# Main road corridors as polylines of (x_m, y_m) with a traffic weight (1 = busiest).
MAIN_ROADS: tuple[tuple[str, float, tuple[tuple[float, float], ...]], ...] = (
    ("vt4 Lahdenväylä (E75)", 1.0, (
        (393500, 6679500), (392500, 6684500), (393000, 6690000), (394300, 6696000),
        (394500, 6702000), (395000, 6707500), (398500, 6712000), (404500, 6717500),
        (407500, 6722500), (411500, 6728500), (416000, 6736000), (419000, 6745000))),
    ("vt3 Hämeenlinnanväylä (E12)", 0.9, (
        (384000, 6679500), (383500, 6684000), (381500, 6690000), (379500, 6697000),
        (380500, 6703000), (380000, 6710000), (378500, 6716000), (378000, 6722000),
        (375500, 6728000), (373000, 6734000))),
    ("Kehä III", 1.0, (
        (375500, 6686000), (380000, 6688500), (386000, 6689500), (392500, 6689000),
        (397000, 6686500), (400000, 6685000))),
    ("kt45 Tuusulanväylä", 0.7, (
        (387500, 6679500), (389500, 6686000), (390500, 6692000), (391000, 6698000))),
    ("vt25 Hyvinkää–Mäntsälä", 0.4, (
        (382000, 6722000), (390000, 6722500), (398000, 6723000), (408000, 6723000))),
)


@dataclass(frozen=True)
class StationSpec:
    station_id: str
    name: str
    municipality_code: str
    x_m: float
    y_m: float
    turnout_s_median: float
    is_full_time: bool
    unit_types: tuple[str, ...]


_FULL = ("pelastusyksikkö", "säiliöyksikkö")
# Eight stations staffed around the clock give the ~8 units on immediate readiness (turnout ~60 s);
# part-time and contract (sopimuspalokunta, VPK) stations turn out in minutes. Pornainen has none.
STATIONS: tuple[StationSpec, ...] = (
    StationSpec("KU10", "Tikkurila", "092", 391500, 6685500, 60, True,
                _FULL + ("johtoyksikkö", "nostolava")),
    StationSpec("KU11", "Myyrmäki", "092", 381500, 6683500, 60, True, _FULL + ("nostolava",)),
    StationSpec("KU12", "Korso", "092", 394300, 6691500, 60, True, _FULL),
    StationSpec("KU13", "Hakunila", "092", 396000, 6684000, 60, True, ("pelastusyksikkö",)),
    StationSpec("KU14", "Kivistö", "092", 382500, 6689000, 60, True, _FULL),
    StationSpec("KU20", "Kerava–Tuusula", "245", 393800, 6697500, 60, True,
                _FULL + ("johtoyksikkö",)),
    StationSpec("KU30", "Järvenpää", "186", 395500, 6706000, 60, True, _FULL + ("nostolava",)),
    StationSpec("KU40", "Hyvinkää", "106", 382500, 6723500, 60, True,
                _FULL + ("johtoyksikkö", "nostolava")),
    StationSpec("KU50", "Nurmijärvi", "543", 379500, 6705000, 300, False,
                _FULL + ("ensivasteyksikkö",)),
    StationSpec("KU51", "Klaukkala VPK", "543", 376000, 6696500, 360, False,
                _FULL + ("ensivasteyksikkö",)),
    StationSpec("KU52", "Rajamäki VPK", "543", 376500, 6711500, 360, False, _FULL),
    StationSpec("KU53", "Röykkä VPK", "543", 369500, 6710500, 480, False, ("pelastusyksikkö",)),
    StationSpec("KU21", "Jokela VPK", "858", 388700, 6714800, 360, False,
                ("pelastusyksikkö", "ensivasteyksikkö")),
    StationSpec("KU22", "Kellokoski VPK", "858", 396300, 6711600, 420, False, _FULL),
    StationSpec("KU60", "Mäntsälä", "505", 408000, 6723000, 300, False,
                _FULL + ("ensivasteyksikkö",)),
    StationSpec("KU61", "Sälinkää VPK", "505", 416800, 6719200, 540, False,
                ("pelastusyksikkö", "ensivasteyksikkö")),
    StationSpec("KU62", "Hirvihaara VPK", "505", 405500, 6732000, 540, False,
                ("pelastusyksikkö",)),
)

# Territory: cells whose weighted distance to a territory centre is within this many
# "equivalent radii" (sqrt(area / pi)) belong to the world.
_TERRITORY_REACH = 1.1
_SOUTH_EDGE_Y_M = 6680000  # Helsinki begins south of Vantaa
# Risk score = residents + main-road bonus (equivalent residents per metre of road in the cell).
_ROAD_BONUS_PER_M = 1.2
_RISK_I_MIN_SCORE = 2500.0
_RISK_II_MIN_SCORE = 1200.0
_RISK_III_MIN_SCORE = 25.0
_POPULATION_NOISE_SIGMA = 0.35  # lognormal spread of cell population around the smooth density


@dataclass(frozen=True)
class World:
    """A SYNTHETIC world: cells, stations, units and municipalities as polars DataFrames."""

    cells: pl.DataFrame
    stations: pl.DataFrame
    units: pl.DataFrame
    municipalities: pl.DataFrame


def _candidate_grid() -> tuple[np.ndarray, np.ndarray]:
    """Bottom-left corners of every cell in a box around the area."""
    xs = np.arange(360_000, 422_000, CELL_SIZE_M, dtype=np.float64)
    ys = np.arange(_SOUTH_EDGE_Y_M, 6_750_000, CELL_SIZE_M, dtype=np.float64)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return grid_x.ravel(), grid_y.ravel()


def _assign_territory(x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the owning municipality per cell and whether the cell is inside the world.

    A weighted nearest-centre rule: distance divided by the municipality's equivalent radius, so
    big rural municipalities reach further than compact towns. Not real borders.
    """
    cx, cy = x_m + CELL_SIZE_M / 2, y_m + CELL_SIZE_M / 2
    tx = np.array([m.territory_x_m for m in MUNICIPALITIES])
    ty = np.array([m.territory_y_m for m in MUNICIPALITIES])
    radius_m = np.sqrt(np.array([m.area_km2 for m in MUNICIPALITIES]) / np.pi) * 1000
    relative = np.hypot(cx[:, None] - tx, cy[:, None] - ty) / radius_m
    owner = relative.argmin(axis=1)
    inside = relative.min(axis=1) <= _TERRITORY_REACH
    return owner, inside


def _settlement_population(x_m: np.ndarray, y_m: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Expected residents per cell from Gaussian settlements, kept inside their municipality."""
    codes = [m.code for m in MUNICIPALITIES]
    cx, cy = x_m + CELL_SIZE_M / 2, y_m + CELL_SIZE_M / 2
    expected = np.zeros(x_m.size)
    for _name, code, sx, sy, residents, sigma_m in SETTLEMENTS:
        in_muni = owner == codes.index(code)
        weight = np.exp(-((cx - sx) ** 2 + (cy - sy) ** 2) / (2 * sigma_m**2)) * in_muni
        expected += residents * weight / weight.sum()
    return expected


def _rural_population(owner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scattered houses: about half the forest cells are inhabited, unevenly."""
    expected = np.zeros(owner.size)
    is_inhabited = rng.random(owner.size) < 0.55
    weight = rng.gamma(0.8, 1.0, owner.size) * is_inhabited
    for index, muni in enumerate(MUNICIPALITIES):
        mask = owner == index
        expected[mask] = muni.rural_population * weight[mask] / weight[mask].sum()
    return expected


def _cell_key(x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    return (np.asarray(x_m) // CELL_SIZE_M).astype(np.int64) * 10_000_000 \
        + (np.asarray(y_m) // CELL_SIZE_M).astype(np.int64)


def road_length_m(x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """Traffic-weighted length of main road (metres) inside each cell (by bottom-left corner)."""
    xs, ys, metres = [], [], []
    for _name, traffic, points in MAIN_ROADS:
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
            steps = max(int(np.hypot(x1 - x0, y1 - y0) // 50.0), 1)  # a sample every ~50 m
            t = (np.arange(steps) + 0.5) / steps
            xs.append(x0 + t * (x1 - x0))
            ys.append(y0 + t * (y1 - y0))
            metres.append(np.full(steps, np.hypot(x1 - x0, y1 - y0) / steps * traffic))
    cell_keys = _cell_key(x_m, y_m)
    order = np.argsort(cell_keys)
    sample_keys = _cell_key(np.concatenate(xs), np.concatenate(ys))
    position = np.minimum(np.searchsorted(cell_keys[order], sample_keys), cell_keys.size - 1)
    hit = cell_keys[order][position] == sample_keys
    length = np.zeros(cell_keys.size)
    np.add.at(length, order[position[hit]], np.concatenate(metres)[hit])
    return length


def _risk_classes(population: np.ndarray, road_m: np.ndarray) -> np.ndarray:
    """Classes from a risk score (residents plus a main-road bonus): I dense, IV forest.

    Stands in for the national regression model, whose coefficients are not public. Class II
    also covers populated cells next to a class I cell ("around them").
    """
    score = population + _ROAD_BONUS_PER_M * road_m
    risk = np.full(population.size, "IV", dtype=object)
    risk[score >= _RISK_III_MIN_SCORE] = "III"
    risk[score >= _RISK_II_MIN_SCORE] = "II"
    risk[score >= _RISK_I_MIN_SCORE] = "I"
    return risk


def _ring_of_class_ii(cells: pl.DataFrame) -> pl.DataFrame:
    """Raise class III cells with 150+ residents that touch a class I cell to class II."""
    class_i = cells.filter(pl.col("risk_class") == "I").select("x_m", "y_m")
    neighbours = (
        class_i.join(pl.DataFrame({"dx": [-1000.0, 0.0, 1000.0]}), how="cross")
        .join(pl.DataFrame({"dy": [-1000.0, 0.0, 1000.0]}), how="cross")
        .select((pl.col("x_m") + pl.col("dx")).alias("x_m"),
                (pl.col("y_m") + pl.col("dy")).alias("y_m"))
        .unique()
        .with_columns(pl.lit(True).alias("near_class_i"))
    )
    return (
        cells.join(neighbours, on=["x_m", "y_m"], how="left")
        .with_columns(
            pl.when(pl.col("near_class_i").fill_null(False) & (pl.col("risk_class") == "III")
                    & (pl.col("population") >= 150))
            .then(pl.lit("II")).otherwise(pl.col("risk_class")).alias("risk_class"))
        .drop("near_class_i")
    )


def _cells(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng([seed, 1])
    x_m, y_m = _candidate_grid()
    owner, inside = _assign_territory(x_m, y_m)
    x_m, y_m, owner = x_m[inside], y_m[inside], owner[inside]
    expected = _settlement_population(x_m, y_m, owner) + _rural_population(owner, rng)
    noise = rng.lognormal(-_POPULATION_NOISE_SIGMA**2 / 2, _POPULATION_NOISE_SIGMA, x_m.size)
    population = np.floor(expected * noise + rng.random(x_m.size)).astype(np.int64)
    road_m = road_length_m(x_m, y_m)
    codes = np.array([m.code for m in MUNICIPALITIES])
    cells = pl.DataFrame({
        "cell_id": locate(pl.DataFrame({"x_m": x_m, "y_m": y_m}), CELL_SIZE_M, NATIONAL_GRID_CRS)["cell_id"],
        "x_m": x_m.astype(np.int64),
        "y_m": y_m.astype(np.int64),
        "population": population,
        "municipality_code": codes[owner],
        "risk_class": _risk_classes(population, road_m).astype(str),
    })
    cells = _ring_of_class_ii(cells.with_columns(pl.col("x_m", "y_m").cast(pl.Float64)))
    return cells.with_columns(pl.col("x_m", "y_m").cast(pl.Int64)).sort("y_m", "x_m")


def _stations() -> pl.DataFrame:
    return pl.DataFrame({
        "station_id": [s.station_id for s in STATIONS],
        "name": [s.name for s in STATIONS],
        "municipality_code": [s.municipality_code for s in STATIONS],
        "x_m": [float(s.x_m) for s in STATIONS],
        "y_m": [float(s.y_m) for s in STATIONS],
        "turnout_s_median": [float(s.turnout_s_median) for s in STATIONS],
        "is_full_time": [s.is_full_time for s in STATIONS],
    })


def _units() -> pl.DataFrame:
    rows = [(s.station_id + UNIT_TYPE_DIGITS[t], t, s.station_id)
            for s in STATIONS for t in s.unit_types]
    return pl.DataFrame(rows, schema=["unit_id", "unit_type", "station_id"], orient="row")


def _municipalities() -> pl.DataFrame:
    return pl.DataFrame({
        "municipality_code": [m.code for m in MUNICIPALITIES],
        "name": [m.name for m in MUNICIPALITIES],
        "centre_x_m": [float(m.centre_x_m) for m in MUNICIPALITIES],
        "centre_y_m": [float(m.centre_y_m) for m in MUNICIPALITIES],
    })


def build_world(seed: int = 0) -> World:
    """Build the SYNTHETIC Central Uusimaa demo world (pure, deterministic for a seed).

    The seed only changes the population noise (and so a few risk classes near thresholds);
    municipalities, stations and units are fixed.
    """
    return World(cells=_cells(seed), stations=_stations(), units=_units(),
                 municipalities=_municipalities())


def write_world(world: World, folder: str | Path, *,
                years: int | Iterable[int] = 2025) -> dict[str, Path]:
    """Write ``risk_grid_<year>.csv`` (one per year, same classes), ``stations.csv`` and
    ``units.csv`` into ``folder`` (comma-separated, UTF-8, header row).

    Returns the written paths keyed by file stem, e.g. ``{"risk_grid_2025": ..., "stations": ...}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    grid = world.cells.select("cell_id", "x_m", "y_m", "risk_class", "municipality_code")
    for year in ([years] if isinstance(years, int) else list(years)):
        path = folder / f"risk_grid_{year}.csv"
        grid.write_csv(path)
        written[path.stem] = path
    for name, frame in (("stations", world.stations), ("units", world.units)):
        path = folder / f"{name}.csv"
        frame.write_csv(path)
        written[name] = path
    return written


# ----------------------------------------------------------------------------------------------
# What happens in the world: the task mix and the response plans (used by generate.py).

# Unit pools a response plan draws from, with how many ranked candidates to keep per cell.
# First response can be done by an ensivasteyksikkö or by any pelastusyksikkö.
POOLS: dict[str, tuple[tuple[str, ...], int]] = {
    "rescue": (("pelastusyksikkö",), 6),
    "tank": (("säiliöyksikkö",), 3),
    "command": (("johtoyksikkö",), 1),
    "aerial": (("nostolava",), 1),
    "first_response": (("ensivasteyksikkö", "pelastusyksikkö"), 3),
}
_RESCUE, _FIRST_RESPONSE = 0, 4


@dataclass(frozen=True)
class TaskType:
    """A task type with its share of incidents, urgency mix and response plan (SYNTHETIC)."""

    code: str
    name: str
    share: float  # of all incidents, before seasonal adjustment
    urgency: tuple[float, float, float, float]  # probabilities of ERC classes A, B, C, D
    units: tuple[int, int, int, int, int]  # units per pool, in POOLS order
    extra_unit_prob: float  # chance of one more unit from the primary pool
    location: str  # "people", "dense" (big buildings), "road" or "wild"
    on_scene_min: float  # median time on scene, minutes
    season: str = "flat"  # key of SEASON_FACTOR
    is_automatic_alarm: bool = False  # automatic fire alarms skip the ERC interview

    @property
    def primary_pool(self) -> int:
        return _FIRST_RESPONSE if self.units[_FIRST_RESPONSE] else _RESCUE


# ERC task codes and Finnish names as used by Finnish emergency response centres (codes 1xx-5xx
# rescue, 7xx first response for the ambulance service). Shares are plausible, not measured.
TASK_TYPES: tuple[TaskType, ...] = (
    TaskType("103", "palohälytys", 0.170, (0.02, 0.88, 0.1, 0), (2, 0, 0, 0, 0), 0.9, "dense",
             15, is_automatic_alarm=True),
    TaskType("401", "rakennuspalo: pieni", 0.045, (0.25, 0.75, 0, 0), (2, 1, 1, 0, 0), 0.5,
             "people", 60),
    TaskType("402", "rakennuspalo: keskisuuri", 0.012, (0.85, 0.15, 0, 0), (3, 1, 1, 1, 0), 0.5,
             "people", 150),
    TaskType("403", "rakennuspalo: suuri", 0.004, (1, 0, 0, 0), (4, 2, 1, 1, 0), 0.0, "people",
             300),
    TaskType("420", "savuhavainto", 0.025, (0, 0.7, 0.3, 0), (1, 0, 0, 0, 0), 0.7, "wild", 20),
    TaskType("411", "liikennevälinepalo: pieni", 0.025, (0.05, 0.85, 0.1, 0), (1, 1, 0, 0, 0),
             0.6, "road", 40),
    TaskType("421", "maastopalo: pieni", 0.035, (0, 0.6, 0.4, 0), (1, 1, 0, 0, 0), 0.8, "wild",
             60, "summer"),
    TaskType("431", "tulipalo, muu: pieni", 0.045, (0, 0.5, 0.5, 0), (1, 0, 0, 0, 0), 0.8,
             "people", 30),
    TaskType("201", "tieliikenneonnettomuus: peltikolari, suistuminen", 0.045, (0, 0.3, 0.5, 0.2),
             (1, 0, 0, 0, 0), 0.4, "road", 30, "winter"),
    TaskType("202", "tieliikenneonnettomuus: pieni", 0.085, (0.05, 0.85, 0.1, 0), (2, 0, 0, 0, 0),
             0.7, "road", 45, "winter"),
    TaskType("203", "tieliikenneonnettomuus: keskisuuri", 0.020, (0.7, 0.3, 0, 0),
             (2, 1, 1, 0, 0), 0.5, "road", 75, "winter"),
    TaskType("204", "tieliikenneonnettomuus: suuri", 0.003, (1, 0, 0, 0), (3, 1, 1, 0, 0), 0.5,
             "road", 120, "winter"),
    TaskType("461", "vahingontorjunta: pieni", 0.070, (0, 0.05, 0.5, 0.45), (1, 0, 0, 0, 0), 0.8,
             "people", 60),
    TaskType("471", "öljyvahinko/ympäristöonnettomuus: maalla: pieni", 0.040, (0, 0.1, 0.5, 0.4),
             (1, 1, 0, 0, 0), 0.0, "road", 60),
    TaskType("480", "ihmisen pelastaminen: muu", 0.020, (0.2, 0.8, 0, 0), (2, 0, 1, 0, 0), 0.6,
             "people", 40),
    TaskType("487", "ihmisen pelastaminen: ylhäältä/alhaalta", 0.010, (0.1, 0.9, 0, 0),
             (1, 0, 0, 1, 0), 0.3, "people", 40),
    TaskType("483", "ihmisen pelastaminen: vedestä", 0.005, (1, 0, 0, 0), (2, 0, 1, 0, 0), 0.5,
             "wild", 60, "summer"),
    TaskType("552", "avunantotehtävä", 0.090, (0, 0.1, 0.5, 0.4), (1, 0, 0, 0, 0), 0.6,
             "people", 30),
    TaskType("554", "tarkistus-/varmistustehtävä", 0.050, (0, 0.1, 0.5, 0.4), (1, 0, 0, 0, 0),
             0.5, "people", 20),
    TaskType("581", "eläimen pelastaminen", 0.020, (0, 0, 0.5, 0.5), (1, 0, 0, 0, 0), 0.4,
             "wild", 40),
    TaskType("700", "eloton", 0.030, (1, 0, 0, 0), (0, 0, 0, 0, 1), 0.5, "people", 40),
    TaskType("702", "tajuttomuus", 0.035, (0.4, 0.6, 0, 0), (0, 0, 0, 0, 1), 0.3, "people", 25),
    TaskType("703", "hengitysvaikeus", 0.050, (0.15, 0.85, 0, 0), (0, 0, 0, 0, 1), 0.3, "people",
             25),
    TaskType("704", "rintakipu", 0.030, (0.1, 0.9, 0, 0), (0, 0, 0, 0, 1), 0.1, "people", 25),
    TaskType("745", "kaatuminen", 0.020, (0, 0.4, 0.4, 0.2), (0, 0, 0, 0, 1), 0.1, "people", 25),
)

# Monthly multipliers of task shares (Jan..Dec): wildfires and drownings in summer, crashes
# in winter.
SEASON_FACTOR: dict[str, tuple[float, ...]] = {
    "flat": (1,) * 12,
    "summer": (0.2, 0.2, 0.5, 2.0, 3.0, 2.5, 2.0, 1.5, 0.7, 0.4, 0.2, 0.2),
    "winter": (1.3, 1.3, 1.1, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.1, 1.3, 1.4),
}
# Relative incidents per day by month (Jan..Dec): busiest in late spring and summer.
MONTH_WEIGHT: tuple[float, ...] = (1.0, 0.9, 0.9, 1.0, 1.25, 1.2, 1.2, 1.05, 0.9, 0.9, 0.85, 1.0)
# Relative incidents per local hour of day (0..23): quiet before dawn, busiest in the afternoon.
DIURNAL_WEIGHT: tuple[float, ...] = (
    0.5, 0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.8, 1.0, 1.1, 1.15, 1.2,
    1.25, 1.25, 1.3, 1.35, 1.4, 1.4, 1.35, 1.3, 1.2, 1.0, 0.8, 0.65,
)


def mean_units_per_incident() -> float:
    """Expected unit rows per incident from the task mix (before aerial-ladder filtering)."""
    shares = np.array([t.share for t in TASK_TYPES])
    units = np.array([sum(t.units) + t.extra_unit_prob for t in TASK_TYPES])
    return float((shares * units).sum() / shares.sum())


def travel_median_s(distance_m: np.ndarray) -> np.ndarray:
    """Median emergency driving time (s) for a straight-line distance: road distance is 1.3 x the
    straight line; short urban trips average ~45 km/h, long main-road trips approach 80 km/h."""
    road_km = np.maximum(np.asarray(distance_m, dtype=float) * ROAD_DISTANCE_FACTOR, 200.0) / 1000
    speed_kmh = 45.0 + 35.0 * (1.0 - np.exp(-road_km / 10.0))
    return 20.0 + road_km / speed_kmh * 3600.0

