"""Cell outlines: dissolved rings against the cells they come from; GeoJSON and GeoParquet readable."""

from __future__ import annotations

import json
import struct

import polars as pl
import pyarrow.parquet as pq
from hypothesis import given, settings as hsettings, strategies as st

from valmius import gis

SIZE = 1000


def _covered(point, parts) -> bool:
    return any(gis._inside(point, polygon[0]) and not any(gis._inside(point, hole) for hole in polygon[1:])
               for polygon in parts)


@hsettings(max_examples=200, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=40))
def test_dissolved_polygons_cover_exactly_the_cells(cells):
    corners = [(x * SIZE, y * SIZE) for x, y in cells]
    parts = gis.polygons(corners, SIZE)
    area = sum(gis.signed_area(p[0]) + sum(gis.signed_area(h) for h in p[1:]) for p in parts)
    assert area == len(cells) * SIZE * SIZE
    for polygon in parts:
        for ring in polygon:
            assert ring[0] == ring[-1] and len(set(ring[:-1])) == len(ring) - 1  # closed and simple
    for x in range(-1, 8):
        for y in range(-1, 8):
            centre = (x * SIZE + SIZE / 2, y * SIZE + SIZE / 2)
            assert _covered(centre, parts) == ((x, y) in cells)


def test_ring_with_a_hole_and_corner_touching_cells():
    ring_cells = [(x, y) for x in range(3) for y in range(3) if (x, y) != (1, 1)]
    parts = gis.polygons([(x * SIZE, y * SIZE) for x, y in ring_cells], SIZE)
    assert len(parts) == 1 and len(parts[0]) == 2
    assert gis.signed_area(parts[0][0]) > 0 > gis.signed_area(parts[0][1])
    assert parts[0][0] == [(0, 0), (3000, 0), (3000, 3000), (0, 3000), (0, 0)]
    diagonal = gis.polygons([(0, 0), (SIZE, SIZE)], SIZE)
    assert len(diagonal) == 2 and all(len(p[0]) == 5 for p in diagonal)


def test_geojson_and_geoparquet(tmp_path):
    frame = pl.DataFrame({"area_id": [1, 2], "median_s": [420.0, 400.0], "cell_ids": [["a", "b"], ["c"]]})
    geometries = [gis.polygons([(0, 0), (SIZE, 0)], SIZE), gis.polygons([(0, 0), (SIZE, SIZE)], SIZE)]
    gis.write_geojson(tmp_path / "areas.geojson", frame, geometries, "EPSG:3067")
    data = json.loads((tmp_path / "areas.geojson").read_text())
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::3067"
    assert data["features"][0]["geometry"]["type"] == "Polygon"
    assert data["features"][1]["geometry"]["type"] == "MultiPolygon"
    assert data["features"][0]["properties"] == {"area_id": 1, "median_s": 420.0, "cell_ids": ["a", "b"]}

    gis.write_geoparquet(tmp_path / "areas.parquet", frame, geometries, "EPSG:3067")
    table = pq.read_table(tmp_path / "areas.parquet")
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["columns"]["geometry"]["crs"]["id"] == {"authority": "EPSG", "code": 3067}
    first = table.column("geometry")[0].as_py()
    order, kind, n_rings, n_points = struct.unpack_from("<BIII", first)
    points = [struct.unpack_from("<dd", first, 13 + 16 * i) for i in range(n_points)]
    assert (order, kind, n_rings, len(first)) == (1, 3, 1, 13 + 16 * n_points)
    assert points == [(0, 0), (2000, 0), (2000, 1000), (0, 1000), (0, 0)]
    second = table.column("geometry")[1].as_py()
    assert struct.unpack_from("<BII", second) == (1, 6, 2)  # a MultiPolygon of two squares
