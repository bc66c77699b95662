"""Risk grid import: formats, every kind of defect, several years, and incidents' classes."""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings as hsettings, strategies as st

from conftest import fi_row, table, write_fi
from valmius.cli import main
from valmius.errors import InputError
from valmius.grid import _cell_key, assign_cells, grid_status, import_risk_grid, read_risk_grid
from valmius.ingest import ingest
from valmius.definitions import open_results
from valmius.mapping import load_mapping
from valmius.settings import GridSettings

GOOD = "x_m,y_m,risk_class,municipality_code\n393000,6711000,I,186\n394000,6711000,2,186\n393000,6712000,IV,92\n"


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def square(x, y, size=1000):
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def geojson(path, features, crs="urn:ogc:def:crs:EPSG::3067"):
    document = {"type": "FeatureCollection", "features": features}
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(document))
    return path


def test_csv_with_corners(tmp_path, settings):
    cells = read_risk_grid(write(tmp_path / "g.csv", GOOD), settings)
    assert cells["cell_id"].to_list() == ["1kmN6711E393", "1kmN6711E394", "1kmN6712E393"]
    assert cells["risk_class"].to_list() == ["I", "II", "IV"]
    assert cells["municipality_code"].to_list() == ["186", "186", "092"]


def test_finnish_csv_with_ids_decimal_comma_and_windows_1252(tmp_path, settings):
    text = "Ruutu_ID;Riskiluokka;Kunta;Nimi\n1kmN6711E0393;1;186;Järvenpää\n1kmN6711E394;III;186;Järvenpää\n"
    cells = read_risk_grid(write(tmp_path / "g.csv", text, "cp1252"), settings)
    assert cells["x_m"].to_list() == [393000, 394000]
    assert cells["risk_class"].to_list() == ["I", "III"]
    text = "x;y;luokka\n393000,0;6711000,0;II\n"
    assert read_risk_grid(write(tmp_path / "h.csv", text), settings)["x_m"].to_list() == [393000]


def test_parquet_and_geojson_read_the_same_grid(tmp_path, settings):
    expected = read_risk_grid(write(tmp_path / "g.csv", GOOD), settings).drop("source_file")
    pl.DataFrame({"x": [393000.0, 394000.0, 393000.0], "y": [6711000, 6711000, 6712000], "class": [1, 2, 4],
                  "kunta": [186, 186, 92]}).write_parquet(tmp_path / "g.parquet")
    assert read_risk_grid(tmp_path / "g.parquet", settings).drop("source_file").equals(expected)
    features = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(x, y)},
                 "properties": {"riskiluokka": c, "kunta": m}}
                for x, y, c, m in [(393000, 6711000, "I", "186"), (394000, 6711000, 2, "186"), (393000, 6712000, "IV", 92)]]
    assert read_risk_grid(geojson(tmp_path / "g.geojson", features), settings).drop("source_file").equals(expected)
    points = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [393000, 6711000]},
               "properties": {"risk_class": "I"}}]
    assert read_risk_grid(geojson(tmp_path / "p.geojson", points, crs=None), settings)["cell_id"][0] == "1kmN6711E393"


@pytest.mark.parametrize("text,message", [
    ("x_m,y_m,risk_class\n393000,6711000,I\n394000,6711000,II\n393000,6711000,III\n",
     "line 2 and line 4: cell (393000, 6711000) is given twice"),
    ("x_m,y_m,risk_class\n393000,6711000,I\n394000,6711000,V\n", "line 3, column 'risk_class': unknown risk class 'V'"),
    ("x_m,y_m,risk_class\n393000,6711000,\n", "line 2, column 'risk_class': unknown risk class"),
    ("x_m,y_m,risk_class\n393500,6711500,I\n394500,6711500,I\n", "not on the 1000 m grid lattice (these look like cell centres"),
    ("x_m,y_m,risk_class\n393000,6711020,I\n", "line 2, column 'x_m/y_m': corner (393000, 6.71102e+06) is not on the 1000 m grid lattice"),
    ("x_m,y_m,risk_class\n24.9,60.3,I\n", "look like longitude/latitude degrees"),
    ("x_m,y_m,risk_class\n393000,1000,I\n", "outside the grid's extent"),
    ("x_m,y_m,risk_class\nabc,6711000,I\n", "line 2, column 'x_m': 'abc' is not a coordinate"),
    ("cell_id,risk_class\n1kmN6711E393,I\n250mN671100E39300,I\n", "line 3, column 'cell_id': '250mN671100E39300' is a cell id of another grid"),
    ("cell_id,x_m,y_m,risk_class\n1kmN6711E393,394000,6711000,I\n", "does not match the corner (394000, 6711000)"),
    ("x_m,y_m,category\n393000,6711000,I\n", "no risk class column"),
    ("risk_class,kunta\nI,186\n", "no cell column"),
    ("x_m,y_m,risk_class\n", "has no cells"),
])
def test_defective_grids_are_clear_errors(tmp_path, settings, text, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError) as error:
        import_risk_grid(path, 2025, settings)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert open_results(settings).snapshot_id == 0  # nothing written


def test_crs_mismatch_in_geojson_and_option(tmp_path, settings):
    features = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(393000, 6711000)},
                 "properties": {"risk_class": "I"}}]
    with pytest.raises(InputError, match="the GeoJSON is in EPSG:3035"):
        read_risk_grid(geojson(tmp_path / "a.geojson", features, crs="EPSG:3035"), settings)
    wgs = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[24.9, 60.3], [24.92, 60.3], [24.92, 60.31], [24.9, 60.3]]]},
            "properties": {"risk_class": "I"}}]
    with pytest.raises(InputError, match="feature 1: coordinates look like longitude/latitude"):
        read_risk_grid(geojson(tmp_path / "b.geojson", wgs, crs=None), settings)
    with pytest.raises(InputError, match="the file is in EPSG:4326"):
        read_risk_grid(write(tmp_path / "g.csv", GOOD), settings, crs="EPSG:4326")
    assert read_risk_grid(write(tmp_path / "g.csv", GOOD), settings, crs="EPSG:3067").height == 3
    half = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(393000, 6711000, 250)},
             "properties": {"risk_class": "I"}}]
    with pytest.raises(InputError, match="feature 1: the polygon is not one 1000 m cell"):
        read_risk_grid(geojson(tmp_path / "c.geojson", half), settings)


def test_250_m_grid_is_a_setting(tmp_path, settings):
    fine = dataclasses.replace(settings, grid=GridSettings(cell_size_m=250))
    cells = read_risk_grid(write(tmp_path / "g.csv", "x_m,y_m,risk_class\n393250,6711750,I\n"), fine)
    assert cells["cell_id"].to_list() == ["250mN671175E39325"]
    with pytest.raises(InputError, match="not on the 1000 m grid lattice"):
        read_risk_grid(tmp_path / "g.csv", settings)


def _lake_with_incidents(tmp_path, settings):
    rows = [
        fi_row(incident="a", call="3.1.2023 07:05:09", alarm="3.1.2023 07:06:30", en_route="3.1.2023 07:07:25",
               on_scene="3.1.2023 07:12:40", free="3.1.2023 08:01:00", n="6711234,5", e="393123,2"),
        fi_row(incident="b", call="3.1.2024 07:05:09", alarm="3.1.2024 07:06:30", en_route="3.1.2024 07:07:25",
               on_scene="3.1.2024 07:12:40", free="3.1.2024 08:01:00", n="6711234,5", e="393123,2", muni=""),
        fi_row(incident="c", call="3.1.2026 07:05:09", alarm="3.1.2026 07:06:30", en_route="3.1.2026 07:07:25",
               on_scene="3.1.2026 07:12:40", free="3.1.2026 08:01:00", n="6711234,5", e="393123,2", muni=""),
        fi_row(incident="d", n="7000000", e="393000"),  # outside the grid's cells
        fi_row(incident="e", n="", e=""),  # no location
        # New Year's Eve local time, which is still the previous year in UTC: the local year counts.
        fi_row(incident="f", call="1.1.2025 01:30:00", alarm="1.1.2025 01:31:00", en_route="1.1.2025 01:32:00",
               on_scene="1.1.2025 01:36:00", free="1.1.2025 02:00:00", n="6711234,5", e="393123,2", muni=""),
    ]
    ingest([write_fi(tmp_path / "x.csv", rows)], load_mapping("fi-erc"), settings)


def test_incidents_take_the_grid_of_their_year_or_the_latest_earlier(tmp_path, settings):
    _lake_with_incidents(tmp_path, settings)
    import_risk_grid(write(tmp_path / "g24.csv", GOOD), 2024, settings)
    import_risk_grid(write(tmp_path / "g25.csv", GOOD.replace("393000,6711000,I,186", "393000,6711000,III,186")),
                     2025, settings)
    snapshot = open_results(settings)
    got = assign_cells(snapshot.scan("incidents"), snapshot, settings).collect().sort("incident_id")
    by_id = {r["incident_id"]: r for r in got.iter_rows(named=True)}
    assert by_id["a"]["risk_class"] is None and by_id["a"]["grid_year"] is None  # before the first grid
    assert (by_id["b"]["grid_year"], by_id["b"]["risk_class"]) == (2024, "I")
    assert (by_id["c"]["grid_year"], by_id["c"]["risk_class"]) == (2025, "III")  # 2026 uses 2025's grid
    assert (by_id["f"]["grid_year"], by_id["f"]["risk_class"]) == (2025, "III")  # local year 2025
    assert by_id["c"]["municipality_code"] == "186"  # from the cell: the export has none
    assert by_id["d"]["cell_id"] == "1kmN7000E393" and by_id["d"]["risk_class"] is None
    assert by_id["e"]["cell_id"] is None
    assert got.height == 6  # nobody dropped
    status = grid_status(settings)
    assert status.incidents_by_class["no risk class"] == 3
    assert status.no_class_reasons == {"before the first risk grid": 1, "outside the grid's cells": 1, "no location": 1}
    assert sum(status.incidents_by_class.values()) == 6


def test_reimport_replaces_the_year_and_other_years_stay(tmp_path, settings):
    import_risk_grid(write(tmp_path / "g.csv", GOOD), 2024, settings)
    import_risk_grid(write(tmp_path / "g.csv", GOOD), 2025, settings)
    result = import_risk_grid(write(tmp_path / "h.csv", "x_m,y_m,risk_class\n393000,6711000,II\n"), 2025, settings)
    assert result.replaced_cells == 3
    cells = table(settings, "cells")
    assert cells.group_by("valid_year").len().sort("valid_year").rows() == [(2024, 3), (2025, 1)]
    runs = table(settings, "runs")
    assert runs["command"].to_list() == ["grid import"] * 3


def test_cli_import_and_errors(tmp_path, settings):
    (tmp_path / "valmius.toml").write_text('[paths]\nlake = "lake"\n')
    write(tmp_path / "g.csv", GOOD)
    write(tmp_path / "bad.csv", "x_m,y_m,risk_class\n393000,6711000,I\n393000,6711000,I\n")
    runner = CliRunner()
    config = ["--config", str(tmp_path / "valmius.toml")]
    result = runner.invoke(main, [*config, "grid", "import", str(tmp_path / "g.csv"), "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "class I" in result.output and "3 cells" in result.output
    # One cell of class I, none of III: the singular for one, the counts right-aligned either way.
    assert "  class I             1 cell ( 33.3%)\n  class II            1 cell ( 33.3%)\n" \
           "  class III          0 cells (  0.0%)\n" in result.output
    result = runner.invoke(main, [*config, "grid", "import", str(tmp_path / "bad.csv"), "--year", "2025"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error:") and "given twice" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(main, [*config, "grid", "show"])
    assert "2025: I 1, II 1, III 0, IV 1; 3 cells" in result.output


@hsettings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2020, 2021, 2024]), st.integers(-3, 3), st.integers(-3, 3)), max_size=12, unique=True),
       st.lists(st.tuples(st.one_of(st.none(), st.sampled_from([2019, 2020, 2021, 2024])),
                          st.one_of(st.none(), st.integers(-6, 6)), st.integers(-6, 6)), max_size=30),
       st.sampled_from([0, 500]))
def test_one_integer_key_joins_cells_as_the_three_columns_do(cells, points, offset_m):
    """Stored cells on a 1 km raster (or off it by ``offset_m``); incidents' cells on it, inside and outside the box."""
    size = 1000
    stored = pl.DataFrame({"grid_year": [c[0] for c in cells], "cell_x_m": [c[1] * size + offset_m for c in cells],
                           "cell_y_m": [6_700_000 + c[2] * size for c in cells], "risk_class": [f"c{i}" for i in range(len(cells))]},
                          schema={"grid_year": pl.Int32, "cell_x_m": pl.Int64, "cell_y_m": pl.Int64, "risk_class": pl.String})
    incidents = pl.DataFrame({"grid_year": [p[0] for p in points],
                              "cell_x_m": [None if p[1] is None else p[1] * size for p in points],
                              "cell_y_m": [6_700_000 + p[2] * size for p in points]},
                             schema={"grid_year": pl.Int32, "cell_x_m": pl.Int64, "cell_y_m": pl.Int64})
    want = incidents.join(stored, on=["grid_year", "cell_x_m", "cell_y_m"], how="left", maintain_order="left")
    key = _cell_key(stored, size)
    got = (incidents.with_columns(_cell=key)
           .join(stored.select(key.alias("_cell"), "risk_class"), on="_cell", how="left", maintain_order="left").drop("_cell"))
    assert got.equals(want)
