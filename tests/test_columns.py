"""The column dictionary documents every stored column, and the lake's files follow it."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import fi_row, write_fi
from valmius.columns import TABLES, Column, Table, describe_markdown
from valmius.grid import import_risk_grid
from valmius.lake import write_parquet
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
            assert pl.read_parquet(file).schema == spec.schema, name  # types from Parquet alone (no Arrow schema kept)
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


def test_a_lake_file_gives_back_every_value_to_polars_and_duckdb(tmp_path):
    t = datetime(2025, 3, 30, 0, 59, 59, 123456, tzinfo=timezone.utc)
    frame = pl.DataFrame({
        "incident_id": ["a1", "a2", "a2", "a4"],
        "text": ["Kemiönsaari", None, "", "x" * 300],
        "at": [t, None, datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2262, 4, 11, tzinfo=timezone.utc)],
        "count": pl.Series([2**62, None, -(2**62), 0], dtype=pl.Int64),
        "small": pl.Series([1, -2, None, 2**31 - 1], dtype=pl.Int32),
        "value": [1.5, float("nan"), None, -0.0],
        "flag": [True, None, False, True],
        "names": [["a", "ö"], [], None, [None]],
    }, schema_overrides={"at": pl.Datetime("us", "UTC")})
    path = tmp_path / "part.parquet"
    spec = Table("example", "", tuple(Column(name, dtype, "") for name, dtype in frame.schema.items()))
    write_parquet(frame.select(frame.columns[::-1]), spec, path)  # written in the table's column order
    assert pl.read_parquet(path).equals(frame, null_equal=True)
    first_group = pq.read_metadata(path).row_group(0)
    encodings = {first_group.column(i).path_in_schema: first_group.column(i).encodings for i in range(first_group.num_columns)}
    assert "DELTA_BINARY_PACKED" in encodings["at"] and "DELTA_BINARY_PACKED" in encodings["count"]
    assert "BYTE_STREAM_SPLIT" in encodings["value"]
    assert "RLE_DICTIONARY" in encodings["text"] and "RLE_DICTIONARY" not in encodings["incident_id"]
    with_min_max = {first_group.column(i).path_in_schema for i in range(first_group.num_columns)
                    if first_group.column(i).statistics is not None and first_group.column(i).statistics.has_min_max}
    assert {"incident_id", "at", "count", "small", "value"} <= with_min_max and "text" not in with_min_max
    rows = duckdb.sql(f"""select "text", "at", "count", "names", "value" from '{path}'""").fetchall()
    assert rows[0] == ("Kemiönsaari", t, 2**62, ["a", "ö"], 1.5)
    assert rows[1][1] is None and rows[3][1] == datetime(2262, 4, 11, tzinfo=timezone.utc)


def test_categorical_and_arrow_dictionary_text_is_written_as_the_same_text(tmp_path):
    frame = pl.DataFrame({"group_key": ["KU10", None, "KU10", "Kemiönsaari"], "count": [1, 2, 3, 4]})
    spec = Table("example", "", tuple(Column(name, dtype, "") for name, dtype in frame.schema.items()))
    dictionary = pa.table({
        "group_key": pa.DictionaryArray.from_arrays(pa.array([0, None, 0, 1], pa.int32()), pa.array(["KU10", "Kemiönsaari"])),
        "count": pa.array([1, 2, 3, 4], pa.int64()),
    })
    for name, written in (("categorical", frame.with_columns(pl.col("group_key").cast(pl.Categorical))),
                          ("arrow", dictionary)):
        path = tmp_path / f"{name}.parquet"
        write_parquet(written, spec, path)
        assert pl.read_parquet(path).equals(frame, null_equal=True), name  # text again, to any reader
        assert duckdb.sql(f"select group_key from '{path}' order by count").fetchall() == [
            ("KU10",), (None,), ("KU10",), ("Kemiönsaari",)]
        group = pq.read_metadata(path).row_group(0)
        assert "RLE_DICTIONARY" in group.column(0).encodings, name
    with pytest.raises(ValueError, match=r"example: columns \['count', 'group_key'\] are not the stored"):
        write_parquet(dictionary.select(["count", "group_key"]), spec, tmp_path / "wrong.parquet")
