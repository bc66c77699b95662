"""Risk cells: which cell of the grid a point lies in, and how cells are named.

A cell is a square of side ``grid.cell_size_m`` (1000 m by default, 250 m possible) in the grid's
metric coordinate system (``grid.crs``, ETRS-TM35FIN by default). It is identified by its
bottom-left corner ``(x_m, y_m)``; a point belongs to the cell with corner
``(floor(x / size) * size, floor(y / size) * size)``. So a point on a cell's left or bottom edge
belongs to that cell, and a point on its right or top edge to the neighbouring cell.

Cell ids:

- In ETRS-TM35FIN (EPSG:3067), the INSPIRE-style id of Statistics Finland's grid: the size, then the
  corner's northing and easting divided by the largest power of ten that divides the size:
  ``1kmN6711E389`` (1 km cells: metres / 1000), ``250mN667125E38950`` (250 m cells: metres / 10).
  valmius writes the unpadded form and reads zero-padded ones too (``1kmN6711E0389``).
- In any other coordinate system (e.g. UTM zone 10N for San Francisco), the corner in metres as
  ``x/y``, e.g. ``551000/4180000``.

Everything here is vectorised Polars: tens of millions of points per second.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from valmius.errors import SettingsError

NATIONAL_GRID_CRS = "EPSG:3067"
_INSPIRE_ID = r"^(\d+)(km|m)N(\d+)E(\d+)$"
_CORNER_ID = r"^(-?\d+)/(-?\d+)$"


@lru_cache(maxsize=64)
def same_crs(a: str, b: str) -> bool:
    """Whether two names mean the same coordinate system (EPSG:3067 = urn:ogc:def:crs:EPSG::3067)."""
    if a.strip().upper() == b.strip().upper():  # the usual case, without loading pyproj (0.2 s)
        return True
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(a).equals(CRS.from_user_input(b), ignore_axis_order=True)
    except CRSError as exc:
        raise SettingsError(f"unknown coordinate system {a!r} or {b!r}: {exc}") from exc


def is_national_grid(crs: str) -> bool:
    """True for ETRS-TM35FIN, whose cells carry INSPIRE-style ids."""
    return same_crs(crs, NATIONAL_GRID_CRS)


def corner(coordinate: pl.Expr, cell_size_m: int) -> pl.Expr:
    """The cell corner (metres, Int64) along one axis for coordinates in metres; null stays null."""
    value = coordinate.cast(pl.Float64)
    quotient = (value / cell_size_m).floor()
    # The division rounds: nudge the quotient so that the corner is exactly floor(value / size).
    floored = (pl.when(quotient * cell_size_m > value).then(quotient - 1)
               .when((quotient + 1) * cell_size_m <= value).then(quotient + 1)
               .otherwise(quotient))
    return pl.when(floored.is_finite()).then(floored).cast(pl.Int64) * cell_size_m


def _id_scale(cell_size_m: int) -> tuple[str, int]:
    """(size label, divisor of corner metres) of an INSPIRE-style id."""
    if cell_size_m % 1000 == 0:
        return f"{cell_size_m // 1000}km", 1000
    divisor = 1
    while cell_size_m % (divisor * 10) == 0:
        divisor *= 10
    return f"{cell_size_m}m", divisor


def cell_id(x_corner: pl.Expr, y_corner: pl.Expr, cell_size_m: int, crs: str) -> pl.Expr:
    """The id of the cell with the given corner (metres); null where a corner is null."""
    if not is_national_grid(crs):
        return pl.concat_str([x_corner.cast(pl.String), pl.lit("/"), y_corner.cast(pl.String)])
    label, divisor = _id_scale(cell_size_m)
    return pl.concat_str([
        pl.lit(f"{label}N"), (y_corner // divisor).cast(pl.String), pl.lit("E"), (x_corner // divisor).cast(pl.String),
    ])


def locate(frame: pl.LazyFrame | pl.DataFrame, cell_size_m: int, crs: str, *, x: str = "x_m", y: str = "y_m"):
    """Add ``cell_x_m``, ``cell_y_m`` (the corner) and ``cell_id`` for the points in columns ``x``, ``y``."""
    known = pl.col(x).is_not_null() & pl.col(y).is_not_null()
    return frame.with_columns(
        cell_x_m=pl.when(known).then(corner(pl.col(x), cell_size_m)),
        cell_y_m=pl.when(known).then(corner(pl.col(y), cell_size_m)),
    ).with_columns(
        cell_x_m=pl.when(pl.col("cell_y_m").is_not_null()).then("cell_x_m"),
        cell_y_m=pl.when(pl.col("cell_x_m").is_not_null()).then("cell_y_m"),
    ).with_columns(cell_id=cell_id(pl.col("cell_x_m"), pl.col("cell_y_m"), cell_size_m, crs))


def parse_cell_ids(ids: pl.Series, cell_size_m: int, crs: str) -> pl.DataFrame:
    """Corners of cell ids in either padding form: columns ``x_m``, ``y_m`` (Int64) and ``problem``.

    ``problem`` is null for a good id and says what is wrong otherwise (not an id, or an id of
    another cell size than ``grid.cell_size_m``); the caller decides how to report it.
    """
    text = ids.cast(pl.String).str.strip_chars()
    frame = pl.DataFrame({"id": text})
    if not is_national_grid(crs):
        parts = frame.select(pl.col("id").str.extract_groups(_CORNER_ID).alias("p")).unnest("p")
        x_m = parts.to_series(0).cast(pl.Int64, strict=False)
        y_m = parts.to_series(1).cast(pl.Int64, strict=False)
        problem = pl.when(x_m.is_null()).then(pl.lit(f"not a cell id of the form x/y (corner metres in {crs})"))
        return pl.DataFrame({"x_m": x_m, "y_m": y_m}).with_columns(problem=problem)
    label, divisor = _id_scale(cell_size_m)
    parts = frame.select(pl.col("id").str.extract_groups(_INSPIRE_ID).alias("p")).unnest("p")
    size_label = parts.to_series(0) + parts.to_series(1)
    north = parts.to_series(2).cast(pl.Int64, strict=False)
    east = parts.to_series(3).cast(pl.Int64, strict=False)
    result = pl.DataFrame({"x_m": east * divisor, "y_m": north * divisor, "label": size_label})
    return result.with_columns(
        problem=pl.when(pl.col("label").is_null())
        .then(pl.lit("not an INSPIRE-style cell id such as 1kmN6711E389"))
        .when(pl.col("label") != label)
        .then(pl.lit(f"a cell id of another grid (expected {label} cells; grid.cell_size_m is {cell_size_m})"))
    ).drop("label")
