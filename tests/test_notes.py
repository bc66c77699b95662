"""Review notes: validated, stored atomically beside the statistics without changing them, kept
through re-ingest and full rebuilds, and counted per flagged area in the report."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from conftest import table, write_fi
from test_flags import AREA_A, _cell_id, _rows, hand_lake  # noqa: F401  (fixture)
from valmius.cli import main
from valmius.flags import evaluate, flag
from valmius.ingest import ingest
from valmius.definitions import open_results
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.notes import NOTE_REASONS, NoteError, annotate, explained_by_area, list_notes
from valmius.report import write_report
from valmius.settings import ReportSettings

AREA_A_CELLS = [_cell_id(c) for c in AREA_A]


def _late_in_area_a(settings) -> list[str]:
    responses = table(settings, "responses").filter(pl.col("cell_id").is_in(AREA_A_CELLS), pl.col("is_measured"),
                                                    ~pl.col("within_target"))
    return sorted(responses["incident_id"].to_list())


def _within_target(settings) -> str:
    return table(settings, "responses").filter(pl.col("is_measured"), pl.col("response_s") == 240)["incident_id"][0]


def test_validation_errors(hand_lake):
    late = _late_in_area_a(hand_lake)[0]
    with pytest.raises(NoteError, match=r"incident 'NOPE-1' is not in the lake at .*lake \(table incidents\)"):
        annotate(hand_lake, "NOPE-1", "road_closed", "x")
    with pytest.raises(NoteError, match=r"unknown reason 'snow'; use one of: wrong_address .*road_closed.*other"):
        annotate(hand_lake, late, "snow", "x")
    with pytest.raises(NoteError, match="the note is empty"):
        annotate(hand_lake, late, "other", "  ")
    fast = _within_target(hand_lake)
    with pytest.raises(NoteError, match=rf"incident {fast} was within its target \(response 4:00 against a target "
                                        r"of 6:00\).*pass --force"):
        annotate(hand_lake, fast, "other", "checking")
    assert table(hand_lake, "notes").height == 0  # nothing was written
    forced = annotate(hand_lake, fast, "other", "checking", force=True, by="auditor")
    assert forced.is_forced and "not over target" in forced.to_text()
    stored = table(hand_lake, "notes").row(0, named=True)
    assert (stored["incident_id"], stored["is_forced"], stored["noted_by"], stored["response_s"]) == (fast, True, "auditor", 240)


def test_history_and_the_latest_note_counts(hand_lake):
    late = _late_in_area_a(hand_lake)[0]
    first = annotate(hand_lake, late, "road_closed", "Closed for works", by="a")
    second = annotate(hand_lake, late, "unit_busy", "Actually KU101 was on another task", by="b")
    assert (first.note_id, second.note_id, second.supersedes_note_id) == (1, 2, 1)
    assert not second.is_forced and "response 8:00 against a target of 6:00" in second.to_text()
    assert list_notes(hand_lake)["reason_code"].to_list() == ["unit_busy"]
    assert list_notes(hand_lake, history=True)["note_id"].to_list() == [2, 1]
    runs = table(hand_lake, "runs").filter(pl.col("command") == "annotate")
    assert runs.height == 2 and runs["rows_stored"].to_list() == [1, 1]
    # Visible in SQL: the catalog makes a view of every lake table.
    from valmius.catalog import connect_catalog

    with connect_catalog(hand_lake) as con:
        assert con.execute("select count(*), max(note_id) from notes").fetchall() == [(2, 2)]


def test_notes_survive_measure_full_and_reingest(hand_lake, tmp_path):
    late = _late_in_area_a(hand_lake)[:2]
    annotate(hand_lake, late[0], "wrong_address", "Street name misheard")
    annotate(hand_lake, late[1], "simultaneous_tasks", "Two fires at once")
    before = table(hand_lake, "notes")
    measure(hand_lake, full=True)
    assert_frame_equal(table(hand_lake, "notes"), before)
    # The same incidents again, in a newer export whose times are corrected by one second.
    again = [row.replace(":00;", ":01;", 1) for row in _rows()]
    summary = ingest([write_fi(tmp_path / "again.csv", again)], load_mapping("fi-erc"), hand_lake)
    assert summary.rows_replaced > 0
    measure(hand_lake)
    flag(hand_lake)
    assert_frame_equal(table(hand_lake, "notes"), before)
    assert set(list_notes(hand_lake)["incident_id"]) == set(late)


def test_notes_never_change_the_statistics(hand_lake):
    snapshot = open_results(hand_lake)
    flags, areas = evaluate(snapshot, hand_lake)
    tables = {name: table(hand_lake, name) for name in ("responses", "rolling_events", "rolling_calendar")}
    for incident in _late_in_area_a(hand_lake)[:5]:
        annotate(hand_lake, incident, "road_closed", "Closed")
    measure(hand_lake)
    snapshot = open_results(hand_lake)
    flags_after, areas_after = evaluate(snapshot, hand_lake)
    assert_frame_equal(flags_after, flags)
    assert_frame_equal(areas_after, areas)
    for name, frame in tables.items():
        assert_frame_equal(table(hand_lake, name), frame)


def test_report_counts_explained_late_responses(hand_lake):
    late = _late_in_area_a(hand_lake)
    assert len(late) == 48  # every task of area A is 8:00 against 6:00
    annotate(hand_lake, late[0], "road_closed", "Closed")
    annotate(hand_lake, late[1], "road_closed", "Closed")
    annotate(hand_lake, late[1], "unit_busy", "On another task")  # supersedes: counts as unit_busy only
    annotate(hand_lake, late[2], "unit_busy", "On another task")
    annotate(hand_lake, _within_target(hand_lake), "other", "Not late: never counts", force=True)
    _, areas = evaluate(open_results(hand_lake), hand_lake)
    counts = explained_by_area(open_results(hand_lake), areas)
    area_a = areas.filter(pl.col("cell_ids").list.sort() == pl.lit(sorted(AREA_A_CELLS))).row(0, named=True)
    row = counts.filter(pl.col("area_id") == area_a["area_id"]).row(0, named=True)
    assert (row["late"], row["explained"], row["note_road_closed"], row["note_unit_busy"]) == (48, 3, 1, 2)
    assert row["late"] == round(area_a["count"] * (1 - area_a["share_within_target"]))
    assert counts.filter(pl.col("area_id") != area_a["area_id"])["explained"].sum() == 0
    assert set(NOTE_REASONS) == {c.removeprefix("note_") for c in counts.columns if c.startswith("note_")}

    english = dataclasses.replace(hand_lake, report=ReportSettings(language="en", min_count_shown=1))
    result = write_report(english)
    csv = pl.read_csv(result.folder / "tables" / "areas.csv", infer_schema=False)
    line = csv.filter(pl.col("Area") == str(area_a["area_id"])).row(0, named=True)
    assert line["Late responses explained"] == "3 of 48: road closed 1, unit already on a task 2"
    finnish = write_report(hand_lake)  # small counts suppressed as everywhere in the report
    csv = pl.read_csv(finnish.folder / "tables" / "areas.csv", infer_schema=False)
    line = csv.filter(pl.col("Alue") == str(area_a["area_id"])).row(0, named=True)
    assert line["Selitetyt myöhästymiset"] == "< 5/48: tie suljettu < 5, yksikkö toisessa tehtävässä < 5"


def test_cli_annotate_and_notes(hand_lake, tmp_path):
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{hand_lake.lake_path}"\ncatalog = "{tmp_path / "c.duckdb"}"\n')
    late = _late_in_area_a(hand_lake)[0]
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "annotate", late, "--reason", "road_closed",
                                  "--note", "Bridge closed", "--by", "analyst"])
    assert result.exit_code == 0, result.output
    assert f"Note 1 on incident {late}: road_closed, by analyst" in result.output
    result = runner.invoke(main, ["--config", str(config), "annotate", "NOPE", "--reason", "other", "--note", "x"])
    assert result.exit_code == 1 and "Error: incident 'NOPE' is not in the lake" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["--config", str(config), "annotate", late, "--reason", "bogus", "--note", "x"])
    assert result.exit_code == 1 and "unit_busy" in result.output
    result = runner.invoke(main, ["--config", str(config), "notes", "--csv"])
    assert result.exit_code == 0 and late in result.output and "analyst" in result.output
