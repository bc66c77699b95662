"""The column dictionary documents every stored column, and the lake's files follow it."""

from __future__ import annotations

import pyarrow.parquet as pq

from conftest import fi_row, write_fi
from valmius.columns import TABLES, describe_markdown
from valmius.grid import import_risk_grid
from valmius.ingest import ingest
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.flags import flag
from valmius.notes import annotate


def test_every_stored_column_is_documented(tmp_path, settings):
    path = write_fi(tmp_path / "a.csv", [fi_row(), fi_row(incident="bad", urgency="?")])
    ingest([path], load_mapping("fi-erc"), settings)
    grid = tmp_path / "grid.csv"
    grid.write_text("x_m,y_m,risk_class\n393000,6711000,I\n")
    import_risk_grid(grid, 2025, settings)
    measure(settings)
    flag(settings)
    annotate(settings, "2025-000001", "road_closed", "Bridge closed")
    lake = settings.lake_path
    for name, spec in TABLES.items():
        files = list((lake / name).rglob("*.parquet"))
        assert files, name
        for file in files:
            stored = pq.read_schema(file).names
            assert stored == list(spec.schema.names()), (name, stored)
        for column in spec.columns:
            assert column.meaning.strip(), (name, column.name)


def test_units_in_names():
    for spec in TABLES.values():
        for column in spec.columns:
            if column.name.endswith("_at"):
                assert "UTC" in column.meaning or "(UTC)" in column.meaning, column.name


def test_markdown_lists_every_column():
    text = describe_markdown()
    for spec in TABLES.values():
        for column in spec.columns:
            assert f"| `{column.name}` |" in text
