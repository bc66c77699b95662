"""Cells and areas as geometry: outlines for the map, GeoJSON and GeoParquet for QGIS.

Cells are squares given by their bottom-left corner and side in metres of the grid's coordinate
system (ETRS-TM35FIN, EPSG:3067, by default). An area's outline is the boundary of its cells
dissolved: every cell edge walked counter-clockwise, edges shared by two cells cancelled, the rest
chained into rings (outer rings counter-clockwise, holes clockwise, as GeoJSON asks). Where two
cells touch only at a corner the walk turns left, and a walk that still comes back to a corner it
passed is cut there into two rings, so every ring is simple; rings that only touch at a corner are
valid polygons and holes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

Point = tuple[int, int]
Ring = list[Point]


def _directed_edges(corners: list[Point], size: int) -> set[tuple[Point, Point]]:
    edges: set[tuple[Point, Point]] = set()
    for x, y in corners:
        square = [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]
        for a, b in zip(square, square[1:] + square[:1]):
            if (b, a) in edges:
                edges.discard((b, a))  # shared with a neighbour: inside the area
            else:
                edges.add((a, b))
    return edges


def boundary_segments(corners: list[Point], size: int) -> list[tuple[Point, Point]]:
    """Edges of the cells that are not shared by two of them: the outline of the cell set."""
    return sorted(_directed_edges(corners, size))


def _turn(incoming: Point, outgoing: Point) -> int:
    """0 left, 1 straight, 2 right (for unit steps on the grid)."""
    cross = incoming[0] * outgoing[1] - incoming[1] * outgoing[0]
    return 0 if cross > 0 else (1 if cross == 0 else 2)


def rings(corners: list[Point], size: int) -> list[Ring]:
    """Closed rings of the dissolved cells (first point repeated at the end), corners only."""
    edges = _directed_edges(corners, size)
    leaving: dict[Point, list[Point]] = {}
    for a, b in edges:
        leaving.setdefault(a, []).append(b)
    found: list[Ring] = []
    while leaving:
        start = min(leaving)
        ring = [start]
        point, direction = start, None
        while True:
            options = leaving[point]
            # Where two cells meet at a corner there are two ways on: the left turn keeps to one cell.
            nxt = options[0] if direction is None else min(options, key=lambda b: _turn(direction, _unit(point, b)))
            options.remove(nxt)
            if not options:
                del leaving[point]
            direction, point = _unit(point, nxt), nxt
            ring.append(point)
            if point == start:
                break
        found.extend(_drop_collinear(r) for r in _split_at_repeats(ring))
    return found


def _split_at_repeats(ring: Ring) -> list[Ring]:
    """Closed rings without repeated points: where a walk comes back to a point it passed, the loop
    in between is cut out as a ring of its own (an area touching itself, or a hole, at a corner)."""
    found: list[Ring] = []
    path: Ring = []
    seen: dict[Point, int] = {}
    for point in ring:
        if point in seen:
            start = seen[point]
            loop = path[start:] + [point]
            for p in path[start + 1:]:
                del seen[p]
            del path[start + 1:]
            found.append(loop)
        else:
            seen[point] = len(path)
            path.append(point)
    return found


def _unit(a: Point, b: Point) -> Point:
    return ((b[0] > a[0]) - (b[0] < a[0]), (b[1] > a[1]) - (b[1] < a[1]))


def _drop_collinear(ring: Ring) -> Ring:
    points = ring[:-1]
    kept = [p for i, p in enumerate(points)
            if _unit(points[i - 1], p) != _unit(p, points[(i + 1) % len(points)])]
    return kept + kept[:1]


def signed_area(ring: Ring) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2


def _inside(point: tuple[float, float], ring: Ring) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def polygons(corners: list[Point], size: int) -> list[list[Ring]]:
    """The dissolved cells as polygons: each an outer ring followed by its holes."""
    outers, holes = [], []
    for ring in rings(corners, size):
        (outers if signed_area(ring) > 0 else holes).append(ring)
    result = [[outer] for outer in outers]
    for hole in holes:
        (x1, y1), (x2, y2) = hole[0], hole[1]
        dx, dy = _unit(hole[0], hole[1])
        probe = ((x1 + x2) / 2 + dy * size / 4, (y1 + y2) / 2 - dx * size / 4)  # just right of the edge: in the hole
        owner = next(p for p in result if _inside(probe, p[0]))
        owner.append(hole)
    return result


def cell_polygon(x: int, y: int, size: int) -> list[Ring]:
    return [[(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]]


def _crs_member(crs: str) -> dict:
    code = crs.split(":")[-1]
    return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}


def _json_value(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return value


def write_geojson(path: Path, frame: pl.DataFrame, geometries: list[list[list[Ring]]], crs: str) -> None:
    """A FeatureCollection of ``frame``'s rows (properties) with (multi)polygons, in ``crs`` (named in
    the legacy ``crs`` member that QGIS reads)."""
    features = []
    for row, parts in zip(frame.iter_rows(named=True), geometries):
        coordinates = [[[list(p) for p in ring] for ring in polygon] for polygon in parts]
        geometry = ({"type": "Polygon", "coordinates": coordinates[0]} if len(coordinates) == 1
                    else {"type": "MultiPolygon", "coordinates": coordinates})
        features.append({"type": "Feature", "properties": {k: _json_value(v) for k, v in row.items()},
                         "geometry": geometry})
    collection = {"type": "FeatureCollection", "name": path.stem, "crs": _crs_member(crs), "features": features}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")


def _wkb_polygon(polygon: list[Ring]) -> bytes:
    out = [struct.pack("<BII", 1, 3, len(polygon))]
    for ring in polygon:
        out.append(struct.pack("<I", len(ring)))
        out.extend(struct.pack("<dd", float(x), float(y)) for x, y in ring)
    return b"".join(out)


def _wkb(parts: list[list[Ring]]) -> bytes:
    if len(parts) == 1:
        return _wkb_polygon(parts[0])
    return struct.pack("<BII", 1, 6, len(parts)) + b"".join(_wkb_polygon(p) for p in parts)


def write_geoparquet(path: Path, frame: pl.DataFrame, geometries: list[list[list[Ring]]], crs: str) -> None:
    """GeoParquet 1.0: ``frame`` plus a WKB ``geometry`` column and the ``geo`` metadata with the CRS."""
    from pyproj import CRS

    # The WKB column is made by Polars: pyarrow's pa.array() on a list imports pandas, when installed,
    # to check the list is not a pandas object (0.2 s of a nightly report).
    wkb = pl.Series("geometry", [_wkb(g) for g in geometries], dtype=pl.Binary).to_arrow().cast(pa.binary())
    table = frame.to_arrow().append_column("geometry", wkb)
    kinds = sorted({"Polygon" if len(g) == 1 else "MultiPolygon" for g in geometries})
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": kinds, "crs": CRS(crs).to_json_dict()}}}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()})
    pq.write_table(table, path)
