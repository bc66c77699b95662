"""Cell assignment and cell ids against an independent exact computation (Fractions, Python ints)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from valmius.cells import is_national_grid, locate, parse_cell_ids

SIZES = [1000, 250, 100, 500, 2000]

# Points around Finland and far outside it (negative, huge), with many exactly on cell edges.
coordinate = st.one_of(
    st.floats(min_value=-2e7, max_value=2e7, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-20_000, max_value=20_000).map(lambda k: float(k * 250)),  # on edges
    st.integers(min_value=-20_000, max_value=20_000).map(lambda k: math.nextafter(k * 250.0, -math.inf)),
    st.integers(min_value=-20_000, max_value=20_000).map(lambda k: math.nextafter(k * 250.0, math.inf)),
)


def exact_corner(value: float, size: int) -> int:
    """floor(value / size) * size computed exactly with rational arithmetic."""
    return math.floor(Fraction(value) / size) * size


def inspire(x: int, y: int, size: int) -> str:
    if size % 1000 == 0:
        return f"{size // 1000}kmN{y // 1000}E{x // 1000}"
    divisor = 10 ** max(k for k in range(4) if size % 10**k == 0)
    return f"{size}mN{y // divisor}E{x // divisor}"


@hsettings(max_examples=300, deadline=None)
@given(points=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=50), size=st.sampled_from(SIZES))
def test_cell_of_random_points_matches_exact_floor(points, size):
    frame = pl.DataFrame({"x_m": [p[0] for p in points], "y_m": [p[1] for p in points]})
    got = locate(frame, size, "EPSG:3067")
    for (x, y), cx, cy, cid in zip(points, got["cell_x_m"], got["cell_y_m"], got["cell_id"]):
        assert (cx, cy) == (exact_corner(x, size), exact_corner(y, size)), (x, y)
        if cx >= 0 and cy >= 0:  # INSPIRE ids name cells of the positive quadrant
            assert cid == inspire(cx, cy, size)


def test_edges_belong_to_the_cell_above_and_to_the_right():
    frame = pl.DataFrame({"x_m": [389000.0, 389999.999, 390000.0], "y_m": [6711000.0, 6711999.999, 6712000.0]})
    got = locate(frame, 1000, "EPSG:3067")["cell_id"].to_list()
    assert got == ["1kmN6711E389", "1kmN6711E389", "1kmN6712E390"]


def test_missing_or_non_finite_locations_have_no_cell():
    frame = pl.DataFrame({"x_m": [None, float("nan"), 1.0, float("inf")], "y_m": [1.0, 2.0, None, 3.0]})
    got = locate(frame, 1000, "EPSG:3067")
    assert got["cell_id"].null_count() == 4
    assert got["cell_x_m"].null_count() == 4 and got["cell_y_m"].null_count() == 4


def test_other_metric_systems_use_corner_ids():
    frame = pl.DataFrame({"x_m": [551234.5], "y_m": [4180999.0]})
    assert locate(frame, 1000, "EPSG:32610")["cell_id"].to_list() == ["551000/4180000"]
    assert not is_national_grid("EPSG:32610")
    assert is_national_grid("urn:ogc:def:crs:EPSG::3067")


@pytest.mark.parametrize("text,corner", [
    ("1kmN6711E389", (389000, 6711000)),
    ("1kmN6711E0389", (389000, 6711000)),
    (" 1kmN06711E0389 ", (389000, 6711000)),
])
def test_both_padding_forms_are_read(text, corner):
    got = parse_cell_ids(pl.Series([text]), 1000, "EPSG:3067")
    assert got["problem"][0] is None
    assert (got["x_m"][0], got["y_m"][0]) == corner


def test_250_m_ids_round_trip():
    rng = np.random.default_rng(3)
    x = rng.integers(200, 700, 200) * 1000 + rng.integers(0, 4, 200) * 250
    y = rng.integers(6600, 7700, 200) * 1000 + rng.integers(0, 4, 200) * 250
    ids = locate(pl.DataFrame({"x_m": x.astype(float), "y_m": y.astype(float)}), 250, "EPSG:3067")["cell_id"]
    back = parse_cell_ids(ids, 250, "EPSG:3067")
    assert back["problem"].null_count() == 200
    assert back["x_m"].to_list() == x.tolist() and back["y_m"].to_list() == y.tolist()


def test_bad_and_foreign_ids_are_named():
    got = parse_cell_ids(pl.Series(["1kmN6711", "250mN671100E38900", "551000/4180000"]), 1000, "EPSG:3067")
    assert "not an INSPIRE-style cell id" in got["problem"][0]
    assert "another grid" in got["problem"][1]
    assert got["problem"][2] is not None
    utm = parse_cell_ids(pl.Series(["551000/4180000", "1kmN6711E389"]), 1000, "EPSG:32610")
    assert utm["x_m"][0] == 551000 and utm["problem"][1] is not None


def test_millions_of_points_vectorised():
    rng = np.random.default_rng(0)
    n = 2_000_000
    frame = pl.DataFrame({"x_m": rng.uniform(60_000, 740_000, n), "y_m": rng.uniform(6_600_000, 7_800_000, n)})
    got = locate(frame.lazy(), 1000, "EPSG:3067").collect()
    expected_x = (np.floor(frame["x_m"].to_numpy() / 1000) * 1000).astype(np.int64)
    assert np.array_equal(got["cell_x_m"].to_numpy(), expected_x)
