"""Ingest of Finnish exports: validation, quarantine, marks, local time, dedup and idempotence."""

from __future__ import annotations

import dataclasses
import json
from datetime import timezone

import polars as pl
import pytest

from conftest import fi_row, project_paths, table, write_fi
from naive import helsinki
from valmius.errors import InputError
from valmius.ingest import ingest
from valmius.mapping import load_mapping

FI = load_mapping("fi-erc")


def quarantine_by_line(settings) -> dict[int, dict]:
    return {r["source_row"]: r for r in table(settings, "quarantine").iter_rows(named=True)}


def test_clean_row_is_stored_in_utc_with_incident(tmp_path, settings):
    path = write_fi(tmp_path / "a.csv", [fi_row(), fi_row(unit="KU102", on_scene="3.1.2025 07:14:00")])
    summary = ingest([path], FI, settings)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (2, 2, 0)
    units = table(settings, "units").sort("unit_id")
    first = units.row(0, named=True)
    assert first["call_at"] == helsinki("3.1.2025 07:05:09")
    assert first["on_scene_at"] == helsinki("3.1.2025 07:12:40")
    assert first["call_at"].tzinfo is not None and first["call_at"].utcoffset().total_seconds() == 0
    assert (first["source_file"], first["source_row"], first["year"], first["month"]) == ("a.csv", 2, 2025, 1)
    incidents = table(settings, "incidents")
    assert incidents.height == 1
    inc = incidents.row(0, named=True)
    assert inc["municipality_code"] == "186" and inc["is_urgent"] and inc["urgency"] == "B"
    assert inc["x_m"] == pytest.approx(393123.2) and inc["y_m"] == pytest.approx(6711234.5)
    assert not inc["is_outside_extent"]


@pytest.mark.parametrize("row,column,code", [
    (fi_row(incident=""), "Tehtävänumero", "missing_value"),
    (fi_row(unit=" "), "Yksikkö", "missing_value"),
    (fi_row(call=""), "Vastaanotettu", "missing_value"),
    (fi_row(alarm="3.1.2025 7.06"), "Hälytetty", "bad_timestamp"),
    (fi_row(on_scene="31.2.2025 10:00:00"), "Kohteessa", "impossible_timestamp"),
    (fi_row(call="30.3.2025 03:10:00", alarm="30.3.2025 04:11:00", en_route="30.3.2025 04:12:00",
            on_scene="30.3.2025 04:20:00", free="30.3.2025 05:00:00"), "Vastaanotettu", "nonexistent_local_time"),
    (fi_row(urgency="X"), "Kiireellisyys", "unknown_urgency"),
    (fi_row(urgency=""), "Kiireellisyys", "missing_value"),
    (fi_row(n="67112x4"), "Koordinaatti_E, Koordinaatti_N", "bad_coordinate"),
    (fi_row(on_scene="3.1.2025 07:07:00"), "Kohteessa", "negative_interval"),
    (fi_row(alarm="3.1.2025 07:00:00"), "Hälytetty", "negative_interval"),
    (fi_row(on_scene="5.1.2025 07:12:40", free="5.1.2025 08:00:00"), "Kohteessa", "implausible_interval"),
    # A mistyped year: every time of the row in 2052, in order.
    (fi_row(call="3.1.2052 07:05:09", alarm="3.1.2052 07:06:30", en_route="3.1.2052 07:07:25",
            on_scene="3.1.2052 07:12:40", free="3.1.2052 08:01:00"), "Vastaanotettu", "future_timestamp"),
    (fi_row(free="3.1.2095 08:01:00"), "Vapaa", "future_timestamp"),
    (fi_row(call="3.1.1925 07:05:09", alarm="3.1.1925 07:06:30", en_route="3.1.1925 07:07:25",
            on_scene="3.1.1925 07:12:40", free="3.1.1925 08:01:00"), "Vastaanotettu", "early_timestamp"),
])
def test_bad_rows_are_quarantined_with_file_line_column_reason(tmp_path, settings, row, column, code):
    path = write_fi(tmp_path / "bad.csv", [fi_row(incident="ok-1"), row])
    summary = ingest([path], FI, settings)
    assert (summary.rows_stored, summary.rows_quarantined) == (1, 1)
    q = quarantine_by_line(settings)[3]
    assert (q["source_file"], q["column"], q["reason_code"]) == ("bad.csv", column, code)
    assert column.split(",")[0] in q["reason"]
    assert json.loads(q["raw_row"])["Tehtävänumero"] == row.split(";")[0]
    assert summary.reasons == {code: 1}


def test_a_time_after_the_run_or_before_the_records_is_quarantined(tmp_path, settings):
    """A year typed 2052 would carry the rolling calendar and the flags' window decades ahead; how
    far past the run's clock a time may be is validation.max_future_s. A year typed 1925 would make
    the lake seem to hold every year since; the first year of records is validation.first_year."""
    future = fi_row(incident="typo", call="3.1.2052 07:05:09", alarm="3.1.2052 07:06:30", en_route="3.1.2052 07:07:25",
                    on_scene="3.1.2052 07:12:40", free="3.1.2052 08:01:00")
    path = write_fi(tmp_path / "typo.csv", [fi_row(), future])
    assert ingest([path], FI, settings).reasons == {"future_timestamp": 1}
    typo = quarantine_by_line(settings)[3]
    message = typo["reason"]
    assert message.startswith("Vastaanotettu '3.1.2052 07:05:09' is ") and "validation.max_future_s is 3600 s" in message
    # How far: from the run's start, the time the rows are quarantined at (one clock for the run).
    call_s = int(helsinki("3.1.2052 07:05:09").timestamp())
    assert f" is {call_s - int(typo['quarantined_at'].timestamp())} s after the time of this run" in message
    lenient = dataclasses.replace(settings, paths=project_paths(tmp_path / "lenient"),
                                  validation=dataclasses.replace(settings.validation, max_future_s=40 * 366 * 86_400))
    assert ingest([path], FI, lenient).rows_stored == 2
    # Before validation.first_year (1990) likewise: a year typed 1925, unless the records go back so far.
    past = write_fi(tmp_path / "past.csv", [fi_row(incident="old", call="31.12.1989 23:59:59", alarm="1.1.1990 00:01:00",
                                                   en_route="1.1.1990 00:02:00", on_scene="1.1.1990 00:09:00",
                                                   free="1.1.1990 01:00:00")])
    assert ingest([past], FI, settings).reasons == {"early_timestamp": 1}
    assert "before 1990, the first year of records (validation.first_year)" in quarantine_by_line(settings)[2]["reason"]
    older = dataclasses.replace(settings, paths=project_paths(tmp_path / "older"),
                                validation=dataclasses.replace(settings.validation, first_year=1980))
    assert ingest([past], FI, older).rows_stored == 1


def test_imperfect_rows_are_kept_and_marked(tmp_path, settings):
    rows = [
        fi_row(incident="never", on_scene="", free="3.1.2025 07:20:00"),
        fi_row(incident="zero", en_route="3.1.2025 07:06:30"),
        fi_row(incident="far", n="1000,0", e="20,0"),
        fi_row(incident="nowhere", n="", e=""),
        fi_row(incident="no-en-route", en_route="-"),
    ]
    summary = ingest([write_fi(tmp_path / "x.csv", rows)], FI, settings)
    assert summary.rows_quarantined == 0
    units = {r["incident_id"]: r for r in table(settings, "units").iter_rows(named=True)}
    incidents = {r["incident_id"]: r for r in table(settings, "incidents").iter_rows(named=True)}
    assert units["never"]["never_arrived"] and units["never"]["on_scene_at"] is None
    assert units["zero"]["has_zero_interval"] and not units["never"]["has_zero_interval"]
    assert incidents["far"]["is_outside_extent"] and not incidents["zero"]["is_outside_extent"]
    assert incidents["nowhere"]["x_m"] is None and not incidents["nowhere"]["is_outside_extent"]
    assert units["no-en-route"]["en_route_at"] is None


def test_repeated_october_hour_is_resolved_from_order_or_quarantined(tmp_path, settings):
    rows = [
        # Clock goes back between alarm (first 03:50) and en route (second 03:05): resolvable.
        fi_row(incident="back", call="26.10.2025 03:48:00", alarm="26.10.2025 03:50:00",
               en_route="26.10.2025 03:05:00", on_scene="26.10.2025 03:12:00", free="26.10.2025 04:30:00"),
        # Call before the repeated hour anchors the row: first reading.
        fi_row(incident="anchored", call="26.10.2025 02:58:00", alarm="26.10.2025 03:00:30",
               en_route="26.10.2025 03:01:30", on_scene="26.10.2025 03:08:00", free="26.10.2025 03:40:00"),
        # Everything inside the repeated hour: cannot tell which.
        fi_row(incident="inside", call="26.10.2025 03:10:00", alarm="26.10.2025 03:11:00",
               en_route="26.10.2025 03:12:00", on_scene="26.10.2025 03:18:00", free="26.10.2025 03:50:00"),
    ]
    ingest([write_fi(tmp_path / "dst.csv", rows)], FI, settings)
    units = {r["incident_id"]: r for r in table(settings, "units").iter_rows(named=True)}
    back = units["back"]
    assert (back["en_route_at"] - back["alarm_at"]).total_seconds() == 15 * 60
    assert back["alarm_at"].astimezone(timezone.utc).hour == 0 and back["en_route_at"].hour == 1
    anchored = units["anchored"]
    assert (anchored["alarm_at"] - anchored["call_at"]).total_seconds() == 150
    assert "inside" not in units
    q = quarantine_by_line(settings)[4]
    assert q["reason_code"] == "ambiguous_local_time"


def test_every_row_ends_in_units_or_quarantine_exactly_once(tmp_path, settings):
    night1 = write_fi(tmp_path / "n1.csv", [fi_row(incident="a"), fi_row(incident="b"), fi_row(incident="c", urgency="?")])
    night2 = write_fi(tmp_path / "n2.csv", [fi_row(incident="b"), fi_row(incident="b", unit="KU201"),
                                             fi_row(incident="c"), fi_row(incident="d", call="")])
    ingest([night1], FI, settings)
    ingest([night2], FI, settings)
    units, quarantine = table(settings, "units"), table(settings, "quarantine")
    seen = pl.concat([units.select("source_file", "source_row"), quarantine.select("source_file", "source_row")])
    assert seen.height == 7 and seen.unique().height == 7
    assert units.select("incident_id", "unit_id").is_duplicated().sum() == 0
    assert sorted(units["incident_id"].to_list()) == ["a", "b", "b", "c"]


def test_same_file_twice_changes_nothing(tmp_path, settings):
    path = write_fi(tmp_path / "a.csv", [fi_row(), fi_row(incident="z", urgency="?")])
    first = ingest([path], FI, settings)
    before = {name: table(settings, name) for name in ("units", "incidents", "quarantine", "files")}
    second = ingest([path], FI, settings)
    assert first.run_id == 1 and second.run_id is None and second.files[0].status == "skipped"
    for name, frame in before.items():
        assert table(settings, name).equals(frame), name


def test_many_skipped_files_take_one_line_of_the_summary(tmp_path, settings):
    from valmius.ingest import SKIPPED_LISTED

    paths = [write_fi(tmp_path / f"export-{i:02d}.csv", [fi_row(incident=f"2025-{i:06d}")])
             for i in range(SKIPPED_LISTED + 1)]
    broken = tmp_path / "broken.csv"
    broken.write_text("not;an;export\n1;2;3\n", encoding="utf-8")
    ingest(paths, FI, settings)
    few = ingest(paths[:SKIPPED_LISTED], FI, settings).to_text()  # named one by one
    assert all(f"{path.name}: skipped: same content as {path.name}" in few for path in paths[:SKIPPED_LISTED])
    again = ingest([*paths, broken], FI, settings)
    text = again.to_text()
    assert [f.status for f in again.files] == ["skipped"] * len(paths) + ["failed"]
    assert f"{len(paths)} files skipped, each with the same content as a file already ingested: " \
           f"export-00.csv ... export-{len(paths) - 1:02d}.csv" in text
    assert "export-01.csv" not in text and "broken.csv: failed: " in text


def test_newest_export_wins_and_older_rows_are_kept_in_quarantine(tmp_path, settings):
    old = write_fi(tmp_path / "e1.csv", [fi_row(on_scene="3.1.2025 07:12:40"), fi_row(unit="KU102")])
    new = write_fi(tmp_path / "e2.csv", [fi_row(on_scene="3.1.2025 07:11:00", task="403 rakennuspalo: pieni"),
                                         fi_row(unit="KU102")])
    summary = ingest([old, new], FI, settings)
    assert (summary.rows_replaced, summary.rows_duplicate) == (1, 1)
    units = table(settings, "units").sort("unit_id")
    assert units["source_file"].to_list() == ["e2.csv", "e2.csv"]
    assert units.row(0, named=True)["on_scene_at"] == helsinki("3.1.2025 07:11:00")
    assert table(settings, "incidents")["task_type"].to_list() == ["403 rakennuspalo: pieni"]
    reasons = table(settings, "quarantine").sort("source_row")["reason_code"].to_list()
    assert reasons == ["superseded", "duplicate"]


@pytest.mark.parametrize("together", [False, True], ids=["night by night", "in one run"])
def test_a_correction_of_the_incident_alone_supersedes_its_units_older_rows(tmp_path, settings, together):
    """An export that changes only the incident's values (its place and urgency) replaces the
    older rows as corrections, not duplicates, and the quarantine keeps the older values."""
    old = write_fi(tmp_path / "e1.csv", [fi_row(), fi_row(unit="KU102")])
    new = write_fi(tmp_path / "e2.csv", [fi_row(e="399123,2", urgency="A"), fi_row(unit="KU102", e="399123,2", urgency="A")])
    same = write_fi(tmp_path / "e3.csv", [fi_row(unit="KU102", e="399123,2", urgency="A"), fi_row(e="399123,2", urgency="A")])
    for files in ([[old, new, same]] if together else [[old], [new], [same]]):
        ingest(files, FI, settings)
    assert table(settings, "incidents").select("x_m", "urgency").rows() == [(399123.2, "A")]
    quarantine = table(settings, "quarantine").sort("source_file", "source_row")
    assert quarantine.select("source_file", "reason_code").rows() == [
        ("e1.csv", "superseded"), ("e1.csv", "superseded"), ("e2.csv", "duplicate"), ("e2.csv", "duplicate")]
    kept = [json.loads(raw) for raw in quarantine["raw_row"]]
    assert [(row["x_m"], row["urgency"]) for row in kept] == [(393123.2, "B")] * 2 + [(399123.2, "A")] * 2


def test_overlapping_batches_give_the_same_lake_as_one_run(tmp_path, settings):
    a = write_fi(tmp_path / "a.csv", [fi_row(incident="1"), fi_row(incident="2")])
    b = write_fi(tmp_path / "b.csv", [fi_row(incident="2", on_scene="3.1.2025 07:13:00"), fi_row(incident="3")])
    c = write_fi(tmp_path / "c.csv", [fi_row(incident="3", urgency="A"), fi_row(incident="4")])
    ingest([a, b], FI, settings)
    ingest([b, c], FI, settings)  # b again: skipped
    stepwise = table(settings, "units").drop("file_seq").sort("incident_id")
    import dataclasses
    from valmius.settings import PathSettings

    once = dataclasses.replace(settings, paths=PathSettings(lake=tmp_path / "lake2"))
    ingest([a, b, c], FI, once)
    assert stepwise.equals(table(once, "units").drop("file_seq").sort("incident_id"))
    assert table(settings, "incidents").filter(pl.col("incident_id") == "3")["urgency"].to_list() == ["A"]


def test_correction_moving_the_call_to_another_month_moves_the_incident(tmp_path, settings):
    jan = write_fi(tmp_path / "e1.csv", [fi_row(call="31.1.2025 23:50:00", alarm="31.1.2025 23:51:00",
                                                en_route="31.1.2025 23:52:00", on_scene="31.1.2025 23:58:00",
                                                free="1.2.2025 00:30:00"),
                                         fi_row(unit="KU102", call="31.1.2025 23:50:00", alarm="31.1.2025 23:51:00",
                                                en_route="31.1.2025 23:52:00", on_scene="31.1.2025 23:59:00",
                                                free="1.2.2025 00:30:00")])
    feb = write_fi(tmp_path / "e2.csv", [fi_row(call="1.3.2025 07:05:09", alarm="1.3.2025 07:06:30",
                                                en_route="1.3.2025 07:07:25", on_scene="1.3.2025 07:12:40",
                                                free="1.3.2025 08:01:00")])
    ingest([jan], FI, settings)
    ingest([feb], FI, settings)
    incidents = table(settings, "incidents")
    assert incidents.select("year", "month").rows() == [(2025, 3)]
    units = table(settings, "units")
    assert sorted(units.select("unit_id", "month").rows()) == [("KU101", 3), ("KU102", 3)]


def test_windows_1252_file_is_detected(tmp_path, settings):
    path = write_fi(tmp_path / "cp.csv", [fi_row(station="Järvenpää")], encoding="cp1252", newline="\r\n")
    summary = ingest([path], FI, settings)
    assert summary.rows_stored == 1
    assert table(settings, "units")["station_id"].to_list() == ["Järvenpää"]
    assert table(settings, "files")["encoding"].to_list() == ["cp1252"]


def test_wrong_declared_encoding_names_line_and_column(tmp_path, settings):
    import dataclasses

    whole_cp1252 = write_fi(tmp_path / "cp.csv", [fi_row()], encoding="cp1252")
    strict = dataclasses.replace(FI, encoding="utf-8")
    assert "cp.csv: line 1 is not valid utf-8" in ingest([whole_cp1252], strict, settings).failed[0].message
    mixed = write_fi(tmp_path / "mixed.csv", [fi_row(), fi_row(unit="KU102")])
    mixed.write_bytes(mixed.read_bytes() + (fi_row(unit="KU103", unit_type="RVA", station="Järvenpää") + "\n").encode("cp1252"))
    summary = ingest([mixed], strict, settings)
    assert summary.failed and "mixed.csv: line 4, column 'Asema': not valid UTF-8" in summary.failed[0].message
    assert "cp1252" in summary.failed[0].message
    assert table(settings, "units").height == 0


def test_truncated_file_quarantines_the_broken_row(tmp_path, settings):
    path = tmp_path / "cut.csv"
    write_fi(path, [fi_row(incident="1"), fi_row(incident="2")])
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # the last row loses its last fields and its line break
    summary = ingest([path], FI, settings)
    assert summary.rows_read == 2 and summary.rows_stored == 1
    q = quarantine_by_line(settings)[3]
    assert q["reason_code"] == "malformed_row" and q["incident_id"] is None


def test_ragged_rows_are_quarantined_with_their_text(tmp_path, settings):
    path = write_fi(tmp_path / "r.csv", [fi_row(incident="1"), "2;3.1.2025 07:05:09;186", fi_row(incident="3"),
                                         fi_row(incident="4") + ";extra"])
    summary = ingest([path], FI, settings)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (4, 2, 2)
    lines = quarantine_by_line(settings)
    assert lines[3]["reason_code"] == "malformed_row" and "3 fields" in lines[3]["reason"]
    assert lines[5]["reason_code"] == "malformed_row"
    assert sorted(table(settings, "units")["source_row"].to_list()) == [2, 4]


def test_rows_longer_than_a_parse_block_are_read_whole(tmp_path, settings, monkeypatch):
    from valmius import extract

    monkeypatch.setattr(extract, "PARSE_BLOCK_BYTES", 256)  # a stretch is parsed in blocks of this size
    rows = [fi_row(incident=f"2025-{i:06d}", task="402 rakennuspalo: " + "pitkä kuvaus " * (60 if i == 7 else 1))
            for i in range(20)]
    path = write_fi(tmp_path / "long.csv", rows)
    summary = ingest([path], FI, settings)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (20, 20, 0)
    incidents = table(settings, "incidents").sort("incident_id")
    assert incidents["task_type"][7] == ("402 rakennuspalo: " + "pitkä kuvaus " * 60).strip()
    assert table(settings, "units").sort("incident_id")["source_row"].to_list() == list(range(2, 22))


def test_missing_required_column_is_a_file_error(tmp_path, settings):
    path = tmp_path / "h.csv"
    path.write_text("Tehtävänumero;Yksikkö\n1;KU101\n", encoding="utf-8")
    summary = ingest([path], FI, settings)
    message = summary.failed[0].message
    assert "h.csv: line 1" in message and "call_at (source column 'Vastaanotettu')" in message


def test_a_header_is_quoted_in_errors_with_its_control_characters_escaped(tmp_path, settings):
    path = tmp_path / "odd.csv"
    path.write_text("Teht\x07v\x1b;Yksikk\u00f6\n1;KU101\n", encoding="utf-8")
    message = ingest([path], FI, settings).failed[0].message
    assert "the header has: Teht\\x07v\\x1b, Yksikkö." in message


def test_a_binary_file_is_a_file_error(tmp_path, settings):
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00;Teht\xc3\xa4v\xc3\xa4numero\n")
    message = ingest([path], FI, settings).failed[0].message
    assert message.startswith(f"{path}: not a text export") and "export the data as CSV" in message


def test_empty_file_is_a_file_error(tmp_path, settings):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        from valmius.extract import open_source

        open_source(path, FI)
    assert ingest([path], FI, settings).failed


def test_counting_setting_overrides_urgent_classes(tmp_path, settings):
    import dataclasses

    from valmius.settings import CountingSettings

    wide = dataclasses.replace(settings, counting=CountingSettings(urgent_classes=["A", "B", "C"]))
    ingest([write_fi(tmp_path / "u.csv", [fi_row(incident="c", urgency="C"), fi_row(incident="d", urgency="D")])], FI, wide)
    urgent = dict(table(wide, "incidents").select("incident_id", "is_urgent").iter_rows())
    assert urgent == {"c": True, "d": False}


def test_a_file_whose_every_row_is_quarantined(tmp_path, settings):
    for first in (True, False):  # into an empty lake, and into one that has rows
        if not first:
            ingest([write_fi(tmp_path / "good.csv", [fi_row()])], load_mapping("fi-erc"), settings)
        bad = write_fi(tmp_path / f"bad-{first}.csv", [fi_row(incident=f"x{first}", urgency="?")])
        summary = ingest([bad], load_mapping("fi-erc"), settings)
        assert (summary.rows_stored, summary.rows_quarantined, summary.failed) == (0, 1, [])
