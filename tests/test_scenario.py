"""What if a station changes: on a hand-made lake of two stations where every new time is known.

One row of class I cells, west to east (column numbers are cells of 1 km):

    col 0 (P)   1 (P2)   ...   5 (Q)   ...   9 (R)
    WEST                                     EAST        <- the two stations, at the cells' centres

Every unit turns out in 60 s, and travel grows with distance (about 40 s + 35 s/km), so a
distance model fitted on the lake agrees with the hand-made numbers:

- P: WEST first in 5 tasks (90-110 s); EAST's units also arrived at three of them (400, 420, 440 s,
  the last one alarmed 5 minutes late as a reinforcement).
- P2: EAST first (370-390 s), WEST never came (busy, as far as the lake can tell).
- Q: EAST first (230-250 s). R: EAST first (95-105 s), EAST's own cell.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from click.testing import CliRunner

from conftest import fi_row, write_fi
from valmius.cli import main
from valmius.errors import InputError, ScenarioError
from valmius.flags import evaluate
from valmius.grid import import_risk_grid
from valmius.ingest import ingest
from valmius.definitions import open_results
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.report import write_report
from valmius.scenario import _cell_line, run_scenario
from valmius.settings import ScenarioSettings

X0, Y0 = 390_000, 6_710_000
HELSINKI = ZoneInfo("Europe/Helsinki")
AT = date(2025, 12, 31)
TODAY = date(2026, 1, 5)
WEST, EAST = "KU10", "KU20"
P, P2, Q, R = 0, 1, 5, 9
P_WEST = [90, 95, 100, 105, 110]
P_EAST = [400, 420, 440]  # at P's first three tasks; the third alarmed 300 s after the first alarm
P2_EAST, Q_EAST, R_EAST = [370, 375, 380, 385, 390], [230, 235, 240, 245, 250], [95, 98, 100, 102, 105]


def _cell_id(col: int) -> str:
    return f"1kmN{Y0 // 1000}E{X0 // 1000 + col}"


def _text(moment: datetime) -> str:
    local = moment.astimezone(HELSINKI)
    return f"{local.day}.{local.month}.{local.year} {local:%H:%M:%S}"


def _incident(number: int, col: int, units: list[tuple[str, int, int]]) -> list[str]:
    """Rows of one task in cell ``col``: units as (station, alarm to on scene in s, alarm delay in s)."""
    call = datetime(2025, number % 12 + 1, 15, 10, 0, tzinfo=HELSINKI) + timedelta(hours=number)
    first_alarm = call + timedelta(seconds=60)
    rows = []
    for station, own_s, delay_s in units:
        alarm = first_alarm + timedelta(seconds=delay_s)
        rows.append(fi_row(incident=f"S{number:04d}", call=_text(call), e=str(X0 + col * 1000 + 500), n=str(Y0 + 500),
                           unit=f"{station}1", station=station, alarm=_text(alarm),
                           en_route=_text(alarm + timedelta(seconds=60)), on_scene=_text(alarm + timedelta(seconds=own_s)),
                           free=_text(alarm + timedelta(seconds=own_s + 3600))))
    return rows


def _rows() -> list[str]:
    tasks: list[tuple[int, list[tuple[str, int, int]]]] = []
    for i, own in enumerate(P_WEST):
        tasks.append((P, [(WEST, own, 0)] + ([(EAST, P_EAST[i], 300 if i == 2 else 0)] if i < 3 else [])))
    for col, times in ((P2, P2_EAST), (Q, Q_EAST), (R, R_EAST)):
        tasks += [(col, [(EAST, own, 0)]) for own in times]
    return [row for number, (col, units) in enumerate(tasks) for row in _incident(number, col, units)]


@pytest.fixture
def two_stations(tmp_path, settings):
    ingest([write_fi(tmp_path / "tasks.csv", _rows())], load_mapping("fi-erc"), settings)
    grid = tmp_path / "grid.csv"
    grid.write_text("x_m,y_m,risk_class,municipality_code\n"
                    + "".join(f"{X0 + col * 1000},{Y0},I,186\n" for col in range(10)))
    import_risk_grid(grid, 2025, settings)
    measure(settings)
    return settings


def _with_stations(settings, tmp_path, rows: str | None = None):
    path = tmp_path / "stations.csv"
    path.write_text(rows if rows is not None else
                    f"station_id,name,x_m,y_m\n{WEST},West,{X0 + 500},{Y0 + 500}\n{EAST},East,{X0 + 9500},{Y0 + 500}\n")
    return dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, stations=path))


def _cells(result) -> dict[str, dict]:
    return {row["cell_id"]: row for row in result.cells.iter_rows(named=True)}


def _new_times(result, col: int) -> list[float]:
    return result.tasks.filter(pl.col("cell_id") == _cell_id(col)).sort("incident_id")["new_response_s"].to_list()


def test_closing_the_west_station_puts_its_cell_over_target(two_stations):
    result = run_scenario(two_stations, close=WEST, at=AT, write=False)
    p = _cells(result)[_cell_id(P)]
    # Tasks 1-3: EAST's unit arrived at that very task (the reinforcement's own 440 s counts, not the
    # 740 s from the task's first alarm). Tasks 4-5: EAST's median in P and P2 together (8 arrivals:
    # too few in P alone): (385 + 390) / 2.
    assert _new_times(result, P) == [400.0, 420.0, 440.0, 387.5, 387.5]
    assert (p["median_before_s"], p["median_after_s"], p["change_s"]) == (100.0, 400.0, 300.0)
    assert (p["share_within_target_before"], p["share_within_target_after"]) == (1.0, 0.0)
    assert (p["tasks_observed"], p["tasks_neighbourhood"], p["tasks_changed"]) == (3, 2, 5)
    assert (p["is_over_before"], p["is_over_after"], p["status"]) == (False, True, "newly_over")
    assert p["confidence_after"] == "too_few_tasks"  # 5 tasks, under flags.min_tasks
    unchanged = [c for c in result.cells.iter_rows(named=True) if c["cell_id"] != _cell_id(P)]
    assert {c["status"] for c in unchanged} == {"unchanged", "still_over"} and all(c["change_s"] == 0 for c in unchanged)
    # P joins P2 (over target already): still one area, now of two cells, one of them new.
    assert result.areas.height == 1 and result.areas_before == 1
    merged = result.areas.row(0, named=True)
    assert merged["cell_ids"] == [_cell_id(P), _cell_id(P2)] and merged["new_cells"] == [_cell_id(P)]
    assert (merged["count"], merged["median_before_s"], merged["median_after_s"], merged["is_new"]) == (10, (110 + 370) / 2, 387.5, False)
    assert result.sources == {"observed": 3, "neighbourhood": 2} and result.takeover == {EAST: 5}
    assert "Newly over target: 1" in result.to_text()
    assert f"{_cell_id(P)}: median 1:40 -> 6:40 (5 tasks, 5 changed)" in result.to_text()


def test_before_is_exactly_what_flags_judges(two_stations):
    flags, _ = evaluate(open_results(two_stations), two_stations, at=AT)
    result = run_scenario(two_stations, close=WEST, at=AT, write=False)
    joined = flags.join(result.cells, on="cell_id")
    assert joined.height == flags.height == result.cells.height == 4
    for row in joined.iter_rows(named=True):
        assert (row["count"], row["median_s"], row["ci_low_s"], row["ci_high_s"], row["share_within_target"],
                row["is_flagged"]) == (row["count_right"], row["median_before_s"], row["ci_low_before_s"],
                                       row["ci_high_before_s"], row["share_within_target_before"], row["is_over_before"])


def test_closing_never_makes_a_task_faster_and_says_what_it_could_not_estimate(two_stations):
    result = run_scenario(two_stations, close=EAST, at=AT, write=False)
    # P2: WEST's median near it (100 s, in P) is faster than what was observed: the observed time stays.
    assert _new_times(result, P2) == [float(t) for t in P2_EAST]
    # Q and R: no WEST arrival within a cell of them and no stations file: kept, as lower bounds.
    assert result.sources == {"unestimated": 10}
    assert all(c["change_s"] == 0 for c in result.cells.iter_rows(named=True))
    (note,) = result.notes("en")
    assert "lower bounds" in note and "paths.stations" in note


def test_notes_say_why_a_task_has_no_estimate_in_the_page_language(two_stations, tmp_path):
    result = run_scenario(two_stations, close=EAST, at=AT, today=TODAY)
    (note,) = result.notes("en")
    assert note.startswith(f"Tasks first reached by {EAST} left without an estimate: 10 (no other station's unit")
    assert "Why: no other station arrived in the 3 × 3 cells around the task's cell: 10." in note
    assert note.endswith(f"lower bounds: {_cell_id(Q)}, {_cell_id(R)}. Set paths.stations to a CSV of station "
                         "locations (station_id, x_m, y_m) so that a distance model can estimate them.")
    (huomio,) = result.notes("fi")
    assert huomio.startswith(f"Tehtäviä, joihin asema {EAST} ehti ensimmäisenä ja joille ei saatu arviota: 10")
    assert "Syy: mikään muu asema ei ole käynyt tehtävän ruudun ympäröivällä 3 × 3 ruudun alueella: 10." in huomio
    assert huomio in result.html.read_text(encoding="utf-8")  # the page is Finnish by default
    # P's last two tasks: EAST arrived 3 times in P itself (and 5 in P2, not counted without rings).
    strict = dataclasses.replace(two_stations, scenario=ScenarioSettings(min_observations=4, neighbour_rings=0),
                                 report=dataclasses.replace(two_stations.report, min_count_shown=1))
    (note,) = run_scenario(strict, close=WEST, at=AT, write=False).notes("en")
    assert "Why: other stations arrived in the task's cell fewer than 4 times each (scenario.min_observations): 2." in note
    listed = _with_stations(two_stations, tmp_path, f"station_id,x_m,y_m\n{WEST},{X0 + 500},{Y0 + 500}\n"
                                                    f"{EAST},{X0 + 9500},{Y0 + 500}\nKU30,{X0 + 5500},{Y0 + 500}\n")
    never_first = run_scenario(listed, close="KU30", at=AT, today=TODAY)
    assert never_first.notes("fi") == ["Asema KU30 ei ollut ensimmäisenä paikalla yhdessäkään arvioitujen ruutujen "
                                       "tehtävässä tässä ikkunassa: sen sulkeminen ei muuta täällä mitään."]
    assert never_first.notes("fi")[0] in never_first.html.read_text(encoding="utf-8")
    assert "Note: KU30 was not first on scene at any task" in never_first.to_text()


def test_the_distance_model_fills_in_from_the_stations_file(two_stations, tmp_path):
    result = run_scenario(_with_stations(two_stations, tmp_path), close=EAST, at=AT, write=False)
    cells = _cells(result)
    q, r = cells[_cell_id(Q)], cells[_cell_id(R)]
    assert (q["tasks_distance_model"], r["tasks_distance_model"]) == (5, 5)
    # WEST is 4.5 km from Q's tasks and 9 km from R's: turnout 60 s plus about 40 s + 35 s/km.
    assert 240 < q["median_after_s"] < 300 and 380 < r["median_after_s"] < 440
    assert r["status"] == "newly_over" and result.notes("en") == []
    assert result.model_observations == 23 and result.model_error_s < 15


def test_moving_a_station_where_it_is_changes_nothing(two_stations, tmp_path):
    result = run_scenario(_with_stations(two_stations, tmp_path), move=(WEST, X0 + 500, Y0 + 500), at=AT, write=False)
    assert (result.tasks["new_response_s"] == result.tasks["response_s"].cast(pl.Float64)).all()
    assert result.from_m == (X0 + 500, Y0 + 500)


def test_moving_toward_a_cell_speeds_it_up_and_away_slows_the_old_one(two_stations, tmp_path):
    settings = _with_stations(two_stations, tmp_path)
    result = run_scenario(settings, move=(WEST, X0 + 4500, Y0 + 500), at=AT, write=False)
    cells = _cells(result)
    q, p, p2 = cells[_cell_id(Q)], cells[_cell_id(P)], cells[_cell_id(P2)]
    assert q["median_after_s"] < q["median_before_s"] - 60 and q["status"] == "faster"
    assert q["tasks_moved_station"] == 5
    assert p["median_after_s"] > p["median_before_s"] + 60 and p["status"] == "slower"
    # WEST could have been first at P2 from where it was, yet never came: taken as busy, unchanged.
    assert p2["change_s"] == 0 and p2["tasks_changed"] == 0
    farther = run_scenario(settings, move=(WEST, X0 + 2500, Y0 + 500), at=AT, write=False)
    assert _cells(farther)[_cell_id(Q)]["median_after_s"] > q["median_after_s"]
    assert _cells(farther)[_cell_id(P)]["median_after_s"] < p["median_after_s"]


def test_a_move_farther_than_any_observed_response_is_warned_of(two_stations, tmp_path):
    settings = _with_stations(two_stations, tmp_path)
    # EAST's units drove 9 km to P, the farthest seen; WEST moved 30 km east is 20.5 km from R.
    far = run_scenario(settings, move=(WEST, X0 + 30_000, Y0 + 500), at=AT, today=TODAY)
    closed = run_scenario(settings, close=WEST, at=AT, write=False)
    assert far.cells["median_after_s"].to_list() == closed.cells["median_after_s"].to_list()
    (note,) = far.notes("en")
    assert note == (f"The new location of {WEST} is 20 km from the nearest judged cell, farther than any station's unit "
                    "was seen to go to a task in the last 730 days (9 km): the distance model's times from there are "
                    "guesses. Check the coordinates: metres (EPSG:3067), east (x) first. From there the station is "
                    "first at no task: the result is that of closing it.")
    assert f"Note: {note}" in far.to_text()
    assert far.notes("fi")[0].startswith(f"Aseman {WEST} uusi paikka on 20 km:n päässä lähimmästä arvioidusta ruudusta")
    assert far.notes("fi")[0] in far.html.read_text(encoding="utf-8")
    near = run_scenario(settings, move=(WEST, X0 + 4500, Y0 + 500), at=AT, write=False)
    assert not near.is_far_move and near.notes("en") == []


def _map_spec(page: Path) -> dict:
    embedded = re.search(r"vegaEmbed\('#chart-map', (.*?), options\)", page.read_text(encoding="utf-8"))
    assert embedded is not None
    return json.loads(embedded.group(1))


def _layer(spec: dict, mark: str, **style) -> tuple[dict, list[dict]]:
    """The first layer drawing ``mark`` (with ``style`` in its mark), and its rows."""
    layer = next(la for la in spec["layer"] if la["mark"]["type"] == mark
                 and all(la["mark"].get(k) == v for k, v in style.items()))
    return layer, spec["datasets"][layer["data"]["name"]]


def test_the_map_shows_the_changed_station_wherever_it_is_named_and_in_the_legend(two_stations, tmp_path):
    far_north = Y0 + 20_500  # 20 km north of the row of cells: beyond the map's cells
    settings = _with_stations(two_stations, tmp_path, f"station_id,x_m,y_m\n{WEST},{X0 + 500},{Y0 + 500}\n"
                                                      f"{EAST},{X0 + 9500},{Y0 + 500}\nKU30,{X0 + 5500},{far_north}\n"
                                                      f"KU40,{X0 + 5500},{Y0 - 20_500}\n")
    closed = _map_spec(run_scenario(settings, close="KU30", at=AT, today=TODAY).html)
    points, stations = _layer(closed, "point")
    assert {(p["label"], p["kind"]) for p in stations} == {(WEST, "asema"), (EAST, "asema"),
                                                           ("KU30", "suljettava asema KU30")}  # KU40: beyond the cells
    assert points["encoding"]["y"]["scale"]["domain"][1] >= far_north
    assert points["encoding"]["shape"]["legend"] is not None and points["mark"]["stroke"] == "white"
    # The changed station stands out on any cell: larger, outlined in white (ordinary stations: 45, 1).
    assert (points["encoding"]["size"]["value"], points["encoding"]["strokeWidth"]["value"]) == (280, 2.5)
    assert (points["encoding"]["size"]["condition"]["value"], points["encoding"]["strokeWidth"]["condition"]["value"]) \
        == (45, 1)
    _, names = _layer(closed, "text", color="black")
    assert {n["label"] for n in names} == {WEST, EAST, "KU30"}  # written beside the marks
    lines, _ = _layer(closed, "rule")
    # One municipality: no border drawn, none in the legend.
    assert lines["encoding"]["color"]["scale"]["domain"] == ["tavoiteajan ylittävä alue muutoksen jälkeen"]
    (tmp_path / "west").mkdir()  # a stations file without EAST: closed, but it has no place to mark
    only_west = _with_stations(two_stations, tmp_path / "west", f"station_id,x_m,y_m\n{WEST},{X0 + 500},{Y0 + 500}\n")
    unlocated = _map_spec(run_scenario(only_west, close=EAST, at=AT, today=TODAY).html)
    points, stations = _layer(unlocated, "point")
    assert points["encoding"]["shape"]["scale"]["domain"] == ["asema"] and [p["label"] for p in stations] == [WEST]
    english = dataclasses.replace(settings, report=dataclasses.replace(settings.report, language="en"))
    moved = _map_spec(run_scenario(english, move=(WEST, X0 + 30_000, Y0 + 500), at=AT, today=TODAY).html)
    points, stations = _layer(moved, "point")
    assert sorted((p["label"], p["kind"], p["x_m"]) for p in stations) == [
        (WEST, f"station {WEST} at its new location", X0 + 30_000), (WEST, f"station {WEST} where it is", X0 + 500),
        (EAST, "station", X0 + 9500)]
    assert points["encoding"]["x"]["scale"]["domain"][1] >= X0 + 30_000
    assert points["encoding"]["shape"]["scale"]["domain"] == ["station", f"station {WEST} where it is",
                                                              f"station {WEST} at its new location"]


def test_fewer_neighbours_or_a_stricter_minimum_change_the_fallback(two_stations):
    no_rings = dataclasses.replace(two_stations, scenario=ScenarioSettings(neighbour_rings=0))
    result = run_scenario(no_rings, close=WEST, at=AT, write=False)
    assert result.sources == {"observed": 3, "unestimated": 2}
    loose = dataclasses.replace(two_stations, scenario=ScenarioSettings(min_observations=3))
    result = run_scenario(loose, close=WEST, at=AT, write=False)
    assert _new_times(result, P)[3:] == [420.0, 420.0] and result.sources == {"observed": 3, "cell": 2}


def test_the_notes_and_the_method_name_the_same_block_of_cells(two_stations):
    """Q and R (the eastern cells): no WEST arrival even two rings around them."""
    wide = dataclasses.replace(two_stations, scenario=ScenarioSettings(neighbour_rings=2))
    result = run_scenario(wide, close=EAST, at=AT, today=TODAY)
    assert result.block_side == 5
    (note,) = result.notes("fi")
    assert "mikään muu asema ei ole käynyt tehtävän ruudun ympäröivällä 5 × 5 ruudun alueella" in note
    assert "muuten sitä ympäröivällä 5 × 5 ruudun alueella; " in result.html.read_text(encoding="utf-8")
    assert run_scenario(two_stations, close=EAST, at=AT, write=False).block_side == 3


def test_errors_say_what_and_what_to_try(two_stations, tmp_path):
    with pytest.raises(ScenarioError, match=r"unknown station 'KU99': .*know KU10, KU20$"):
        run_scenario(two_stations, close="KU99", at=AT, write=False)
    with pytest.raises(ScenarioError, match=r"unknown station 'ku10 ' \(did you mean KU10\?\): .*know KU10, KU20$"):
        run_scenario(two_stations, close="ku10 ", at=AT, write=False)
    with pytest.raises(ScenarioError, match=r"unknown station 'KU2' \(did you mean KU20\?\)"):
        run_scenario(two_stations, close="KU2", at=AT, write=False)
    one_day = dataclasses.replace(two_stations, scenario=ScenarioSettings(history_days=1))
    with pytest.raises(ScenarioError, match=r"arrivals of the last 1 day \(scenario\.history_days\)"):
        run_scenario(one_day, close="KU99", at=AT, write=False)
    with pytest.raises(ScenarioError, match=r"--move needs station locations: no stations file at .*set paths\.stations"):
        run_scenario(two_stations, move=(WEST, X0, Y0), at=AT, write=False)
    with pytest.raises(ScenarioError, match="give one change"):
        run_scenario(two_stations, close=WEST, move=(WEST, X0, Y0), write=False)
    located = _with_stations(two_stations, tmp_path)
    with pytest.raises(InputError, match=r"x=25, y=60 is outside the grid's extent.*not degrees"):
        run_scenario(located, move=(WEST, 25.0, 60.4), write=False)
    unlocated = _with_stations(two_stations, tmp_path, f"station_id,x_m,y_m\n{EAST},{X0 + 9500},{Y0 + 500}\n")
    with pytest.raises(ScenarioError, match=r"station KU10 cannot be moved: it has no location in .*stations\.csv"):
        run_scenario(unlocated, move=(WEST, X0, Y0), at=AT, write=False)
    broken = _with_stations(two_stations, tmp_path, "station;itä;pohjoinen\nKU10;390500;6710500\n")
    with pytest.raises(InputError, match=r"stations\.csv: the stations file \(paths\.stations\) has no column station_id, x_m, y_m"):
        run_scenario(broken, close=WEST, write=False)
    empty = dataclasses.replace(two_stations, paths=dataclasses.replace(two_stations.paths, lake=tmp_path / "empty"))
    with pytest.raises(ScenarioError, match="no measured urgent tasks yet; run valmius measure"):
        run_scenario(empty, close=WEST, write=False)


def test_stations_file_in_finnish_style(two_stations, tmp_path):
    finnish = _with_stations(two_stations, tmp_path,
                             f"\ufeffstation_id;x_m;y_m\n{WEST};{X0 + 500},0;{Y0 + 500},0\n{EAST};{X0 + 9500},0;{Y0 + 500},0\n")
    result = run_scenario(finnish, move=(WEST, X0 + 500, Y0 + 500), at=AT, write=False)
    assert result.from_m == (X0 + 500.0, Y0 + 500.0)


def test_page_and_tables_beside_the_report_and_kept_when_it_is_rewritten(two_stations):
    write_report(two_stations, at=AT, today=TODAY)
    result = run_scenario(two_stations, close=WEST, at=AT, today=TODAY)
    folder = two_stations.paths.reports / TODAY.isoformat()
    assert [p.name for p in result.files] == ["scenario-close-KU10-2025-12-31-fi.html",
                                              "scenario-close-KU10-2025-12-31-fi-cells.csv",
                                              "scenario-close-KU10-2025-12-31-fi-areas.csv"]
    page = result.html.read_text(encoding="utf-8")
    assert "Mitä jos asema muuttuu? Asema KU10 suljetaan" in page and "Menetelmä, oletukset ja rajoitukset" in page
    assert "samanaikaisia tehtäviä ei simuloida" in page and "suoraviivaisia etäisyyksiä" in page
    cells = pl.read_csv(folder / "scenario-close-KU10-2025-12-31-fi-cells.csv", infer_schema=False)
    # P has 5 tasks: shown (5 is the smallest count shown), newly over target.
    row = cells.row(0, named=True)
    assert (row["Ruutu"], row["Tehtäviä"], row["Mediaani ennen"], row["Mediaani jälkeen"], row["muutos"]) == (
        _cell_id(P), "5", "1:40", "6:40", "+5:00")
    assert row["Tila"] == "ylittäisi tavoitteen uutena"
    write_report(two_stations, at=AT, today=TODAY)  # the nightly report rewrites the folder
    assert result.html.exists() and (folder / "report.html").exists()
    assert {p.name for p in folder.iterdir() if p.name.startswith("scenario-")} == {p.name for p in result.files}


def test_pages_are_named_by_change_window_and_language_and_never_overwritten(two_stations):
    english = dataclasses.replace(two_stations, report=dataclasses.replace(two_stations.report, language="en"))
    pages = [run_scenario(two_stations, close=WEST, at=AT, today=TODAY),
             run_scenario(two_stations, close=WEST, at=date(2025, 12, 30), today=TODAY),
             run_scenario(english, close=WEST, at=AT, today=TODAY),
             run_scenario(two_stations, close=WEST, at=AT, today=TODAY)]
    assert [p.html.name for p in pages] == ["scenario-close-KU10-2025-12-31-fi.html",
                                            "scenario-close-KU10-2025-12-30-fi.html",
                                            "scenario-close-KU10-2025-12-31-en.html",
                                            "scenario-close-KU10-2025-12-31-fi-2.html"]
    assert [p.name for p in pages[-1].files[1:]] == ["scenario-close-KU10-2025-12-31-fi-2-cells.csv",
                                                     "scenario-close-KU10-2025-12-31-fi-2-areas.csv"]
    folder = two_stations.paths.reports / TODAY.isoformat()
    assert len(list(folder.glob("scenario-*"))) == 4 * 3
    assert pages[0].earlier_html is None and pages[-1].earlier_html == pages[0].html
    assert "An earlier page of this scenario, window and language is kept: scenario-close-KU10-2025-12-31-fi.html" \
        in pages[-1].to_text()
    assert "What if a station changes?" in pages[2].html.read_text(encoding="utf-8")
    assert "Mitä jos asema muuttuu?" in pages[0].html.read_text(encoding="utf-8")


def test_small_counts_are_not_shown(two_stations):
    hidden = dataclasses.replace(two_stations, report=dataclasses.replace(two_stations.report, min_count_shown=6))
    result = run_scenario(hidden, close=WEST, at=AT, today=TODAY)
    cells = pl.read_csv(result.files[1], infer_schema=False).row(0, named=True)
    assert cells["Tehtäviä"] == "< 6" and cells["Mediaani jälkeen"] is None and cells["Tavoiteajassa jälkeen"] is None
    page = result.html.read_text(encoding="utf-8")
    assert "6:40" not in page and "1:40" not in page


def test_zero_is_shown_and_small_counts_are_suppressed_alike_on_the_terminal(two_stations, tmp_path):
    listed = _with_stations(two_stations, tmp_path, f"station_id,x_m,y_m\n{WEST},{X0 + 500},{Y0 + 500}\n"
                                                    f"{EAST},{X0 + 9500},{Y0 + 500}\nKU30,{X0 + 5500},{Y0 + 500}\n")
    never_first = run_scenario(listed, close="KU30", at=AT, today=TODAY)
    assert "first on scene from KU30: 0; times changed: 0" in never_first.to_text()
    page = never_first.html.read_text(encoding="utf-8")
    assert "asema KU30 oli ensimmäisenä paikalla 0 tehtävässä; muutos muuttaa 0 tehtävän aikaa" in page
    assert "Muutos ei muuta yhdenkään ruudun mediaania." in page and "Muiden ruutujen mediaani" not in page
    hidden = dataclasses.replace(two_stations, report=dataclasses.replace(two_stations.report, min_count_shown=6))
    text = run_scenario(hidden, close=WEST, at=AT, write=False).to_text()
    # 5 tasks of WEST, all changed, 3 observed and 2 estimated, all taken over by EAST: each under 6.
    assert "first on scene from KU10: < 6; times changed: < 6 (< 6 by another station's unit at the same task, " \
           "< 6 by a station's median in the cells around)" in text
    assert "First on scene after the change: KU20 < 6" in text and f"{_cell_id(P)} (< 6 tasks)" in text


def test_a_cell_of_one_task_reads_in_the_singular_on_the_terminal():
    row = dict(cell_id="1kmN6710E390", count=1, tasks_changed=1, median_before_s=100.0, median_after_s=400.0)
    assert _cell_line(row, 1) == "1kmN6710E390: median 1:40 -> 6:40 (1 task, 1 changed)"
    assert _cell_line(row, 5) == "1kmN6710E390 (< 5 tasks)"
    assert _cell_line(dict(row, count=2), 1) == "1kmN6710E390: median 1:40 -> 6:40 (2 tasks, 1 changed)"


def test_cli(two_stations, tmp_path):
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{two_stations.lake_path}"\nreports = "{tmp_path / "out"}"\n')
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "scenario", "--close", WEST, "--at", "2025-12-31",
                                  "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "Newly over target: 1" in result.output
    assert result.output.strip().endswith("scenario-close-KU10-2025-12-31-en.html")
    page = open(result.output.strip().splitlines()[-1], encoding="utf-8").read()
    assert "What if a station changes? Station KU10 closed" in page
    result = runner.invoke(main, ["--config", str(config), "scenario", "--move", WEST, str(X0), str(Y0)])
    assert result.exit_code == 1 and result.output.startswith("Error: --move needs station locations")
    assert "set paths.stations in the settings file" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["--config", str(config), "scenario", "--close", "KU99"])
    assert result.exit_code == 1 and "KU10, KU20" in result.output
    result = runner.invoke(main, ["--config", str(config), "scenario", "--close", "ku10"])
    assert result.exit_code == 1 and result.output.startswith("Error: unknown station 'ku10' (did you mean KU10?): ")
    help_text = runner.invoke(main, ["scenario", "--help"]).output
    assert "Example" in help_text and "--move KU12 393000 6689000" in help_text
