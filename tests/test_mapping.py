"""Source formats as data: built-in mappings load, and an unseen export is read through a mapping file alone."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest
from pyproj import Transformer

from conftest import table
from valmius.errors import MappingError
from valmius.ingest import ingest
from valmius.mapping import builtin_formats, load_mapping

UNSEEN_MAPPING = '''
name = "regional-x"
description = "A made-up regional export: comma, WGS84 lat/lon, ISO local times"
[file]
delimiter = "|"
decimal = "."
encoding = "utf-8"
timestamp_format = "%Y-%m-%d %H:%M:%S"
time_zone = "Europe/Helsinki"
[columns]
incident_id = "case"
call_at = "t_call"
urgency = "prio"
unit_id = "vehicle"
station_id = { column = "vehicle", pattern = "^([A-Z]+[0-9]{2})" }
unit_type = { value = "rescue" }
alarm_at = "t_alarm"
on_scene_at = "t_arrive"
[[coordinates]]
crs = "EPSG:4326"
x = "lon"
y = "lat"
[urgency]
urgent = ["1"]
non_urgent = ["2", "3"]
'''


def test_builtin_formats():
    assert builtin_formats() == ["fi-erc", "sf-fire", "valmius"]
    for name in builtin_formats():
        mapping = load_mapping(name)
        assert mapping.urgent and "incident_id" in mapping.columns


def test_unseen_format_through_a_mapping_file(tmp_path, settings):
    mapping_path = tmp_path / "regional.toml"
    mapping_path.write_text(UNSEEN_MAPPING, encoding="utf-8")
    export = tmp_path / "export.txt"
    export.write_text(
        "case|t_call|prio|vehicle|t_alarm|t_arrive|lat|lon\n"
        "C1|2025-06-01 12:00:00|1|KU101|2025-06-01 12:01:10|2025-06-01 12:07:00|60.4731|25.0880\n"
        "C2|2025-06-01 13:00:00|3|KU201|2025-06-01 13:01:00||60.4000|24.9000\n"
        "C3|2025-06-01 14:00:00|9|KU201|2025-06-01 14:01:00||60.4000|24.9000\n",
        encoding="utf-8",
    )
    summary = ingest([export], load_mapping(path=mapping_path), settings)
    assert (summary.rows_stored, summary.rows_quarantined) == (2, 1)
    units = table(settings, "units").sort("incident_id")
    assert units["station_id"].to_list() == ["KU10", "KU20"]
    assert units["unit_type"].to_list() == ["rescue", "rescue"]
    assert units["alarm_at"][0] == datetime(2025, 6, 1, 9, 1, 10, tzinfo=timezone.utc)
    assert units["never_arrived"].to_list() == [False, True]
    incidents = table(settings, "incidents").sort("incident_id")
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(25.0880, 60.4731)
    assert incidents["x_m"][0] == pytest.approx(x, abs=0.01) and incidents["y_m"][0] == pytest.approx(y, abs=0.01)
    assert incidents["is_urgent"].to_list() == [True, False]
    q = table(settings, "quarantine").row(0, named=True)
    assert (q["source_row"], q["column"], q["reason_code"]) == (4, "prio", "unknown_urgency")


VALID_COLUMNS = 'incident_id="a"\nunit_id="b"\ncall_at="c"\nurgency="d"\n'
VALID_REST = '[urgency]\nurgent=["A"]\n'


@pytest.mark.parametrize("text,message", [
    ('name="x"\n[columns]\nincident_id="a"\n', "'columns.unit_id' is required"),
    ('[file]\ndelimiter=";;"\n', "one character"),
    ('[file]\nencoding="ebcdic"\n', "file.encoding"),
    ('[file]\ntimestamp_format="%Y %Q"\n', "%Q"),
    ('[filez]\n', "unknown key 'filez'"),
    ('[columns]\nincident_id={column="a", pattern="(x)(y)"}\nunit_id="b"\ncall_at="c"\nurgency="d"\n', "exactly one (group)"),
    ('[columns]\nhat="a"\n', "unknown stored column 'columns.hat'"),
    ('[[coordinates]]\nx="e"\ny="n"\n', "crs' is required"),
])
def test_bad_mapping_files_are_named(tmp_path, text, message):
    path = tmp_path / "m.toml"
    if "[columns]" not in text:
        text = f"{text}[columns]\n{VALID_COLUMNS}"
    path.write_text(text + ("" if "[urgency]" in text else VALID_REST))
    with pytest.raises(MappingError) as err:
        load_mapping(path=path)
    assert message in str(err.value) and "m.toml" in str(err.value)


def test_format_and_mapping_are_exclusive():
    with pytest.raises(MappingError, match="not both"):
        load_mapping("fi-erc", "x.toml")
    with pytest.raises(MappingError, match="unknown format 'fi'"):
        load_mapping("fi")


def test_canonical_format_round_trip(tmp_path, settings):
    export = tmp_path / "canon.csv"
    export.write_text(
        "incident_id,call_at,urgency,task_type,municipality_code,x_m,y_m,unit_id,unit_type,station_id,alarm_at,en_route_at,on_scene_at,free_at\n"
        "I1,2025-01-01T10:00:00Z,A,402,92,391000.5,6684500.5,KU101,pelastusyksikkö,KU10,2025-01-01T10:01:00Z,2025-01-01T10:02:00Z,2025-01-01T10:06:00Z,2025-01-01T11:00:00Z\n",
        encoding="utf-8",
    )
    ingest([export], load_mapping("valmius"), settings)
    inc = table(settings, "incidents").row(0, named=True)
    assert inc["municipality_code"] == "092" and inc["x_m"] == 391000.5
    unit = table(settings, "units").row(0, named=True)
    assert (unit["on_scene_at"] - unit["alarm_at"]).total_seconds() == 300
    assert pl.Series([unit["call_at"]]).dt.hour()[0] == 10
