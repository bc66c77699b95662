"""Flags and areas: recomputed independently from the stored responses, on a hand-made grid whose
areas, confidences, components and problem cells are known."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from conftest import fi_row, table, write_fi
from valmius.catalog import refresh_catalog
from valmius.cli import main
import valmius.flags
from valmius.flags import evaluate, flag, last_measured_day, stored_or_evaluated
from valmius.grid import import_risk_grid
from valmius.ingest import ingest
from valmius.definitions import definition_id, open_results
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.settings import FlagSettings
from valmius.sql import run_query

X0, Y0 = 390_000, 6_710_000
HELSINKI = ZoneInfo("Europe/Helsinki")
# Class I cells (column, row) of the hand-made grid; all others in the 10 x 3 block are class I too
# but see fast tasks. Picture (row 2 on top), F = slow:
#   F F . F . . L . S .        L: likely (interval straddles), S: over by the median rule only
#   F . . F . . . . . .
#   . F . . . . T . . .        T: too few tasks
AREA_A = [(0, 2), (1, 2), (0, 1), (1, 0)]  # travel is slow: 480 s
AREA_B = [(3, 2), (3, 1)]                  # turnout is slow: 420 s
LIKELY, TOO_FEW, MEDIAN_ONLY = (6, 2), (6, 0), (8, 2)
SLOW = set(AREA_A) | set(AREA_B) | {LIKELY, TOO_FEW, MEDIAN_ONLY}


def _cell_id(cell: tuple[int, int]) -> str:
    return f"1kmN{(Y0 + cell[1] * 1000) // 1000}E{(X0 + cell[0] * 1000) // 1000}"


def _text(moment: datetime) -> str:
    local = moment.astimezone(HELSINKI)
    return f"{local.day}.{local.month}.{local.year} {local:%H:%M:%S}"


def _task(n: int, cell: tuple[int, int], call: datetime, response_s: int, turnout_s: int = 60, erc_s: int = 60,
          station: str = "KU10") -> str:
    alarm = call + timedelta(seconds=erc_s)
    return fi_row(incident=f"T{n:05d}", call=_text(call), alarm=_text(alarm),
                  en_route=_text(alarm + timedelta(seconds=turnout_s)),
                  on_scene=_text(alarm + timedelta(seconds=response_s)),
                  free=_text(alarm + timedelta(seconds=response_s + 3600)),
                  e=str(X0 + cell[0] * 1000 + 500), n=str(Y0 + cell[1] * 1000 + 500), station=station,
                  unit=station + "1")


def _month(year: int, month: int, index: int = 0) -> datetime:
    return datetime(year, month, 15, 10, 0, tzinfo=HELSINKI) + timedelta(hours=index)


def _rows() -> list[str]:
    rows: list[str] = []

    def add(cell, call, response_s, **kw):
        rows.append(_task(len(rows), cell, call, response_s, **kw))

    for cx in range(10):
        for cy in range(3):
            cell = (cx, cy)
            if cell in SLOW:
                continue
            for m in range(1, 13):
                add(cell, _month(2025, m), 240)  # meets: turnout 60, travel 180
    for cell in AREA_A:
        for m in range(1, 13):
            add(cell, _month(2025, m), 480, station="KU20")
    for cell in AREA_B:
        for m in range(1, 13):
            add(cell, _month(2025, m), 420, turnout_s=300, station="KU30")
    add((3, 2), _month(2024, 1), 500)  # (3, 2) was over in 2024 too: a problem cell
    add((0, 2), _month(2024, 1), 200)  # (0, 2) met the target in 2024
    for m, value in enumerate([300] * 5 + [400] * 7, start=1):
        add(LIKELY, _month(2025, m), value)
    for m in (3, 6, 9):
        add(TOO_FEW, _month(2025, m), 600)
    for m, value in enumerate([300, 360, 400, 400], start=1):
        add(MEDIAN_ONLY, _month(2025, m), value)
    return rows


@pytest.fixture
def hand_lake(tmp_path, settings):
    ingest([write_fi(tmp_path / "tasks.csv", _rows())], load_mapping("fi-erc"), settings)
    grid = tmp_path / "grid.csv"
    lines = ["x_m,y_m,risk_class,municipality_code"]
    lines += [f"{X0 + cx * 1000},{Y0 + cy * 1000},I,186" for cx in range(10) for cy in range(3)]
    lines.append(f"{X0 + 20_000},{Y0},II,186")
    grid.write_text("\n".join(lines) + "\n")
    for year in (2024, 2025):
        import_risk_grid(grid, year, settings)
    measure(settings)
    return settings


def _ci(values: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Order-statistic interval of the median: largest k with P(Bin(n, 1/2) <= k - 1) <= (1 - level) / 2."""
    v, n = np.sort(values), values.size
    k = max([j for j in range(1, n + 1) if sum(math.comb(n, i) for i in range(j)) / 2**n <= (1 - level) / 2],
            default=0)
    return (float(v[k - 1]), float(v[n - k])) if k else (None, None)


def _check_against_responses(settings, flags: pl.DataFrame) -> None:
    responses = table(settings, "responses").filter("is_measured")
    for row in flags.iter_rows(named=True):
        start = row["evaluated_at"] - timedelta(days=row["window_days"])
        mine = responses.filter(pl.col("cell_id") == row["cell_id"], pl.col("call_at") > start,
                                pl.col("call_at") <= row["evaluated_at"])
        values = mine["response_s"].to_numpy().astype(float)
        assert row["count"] == values.size
        assert row["median_s"] == pytest.approx(float(np.median(values)))
        assert row["mean_s"] == pytest.approx(float(values.mean()))
        assert row["share_within_target"] == pytest.approx(float((values <= row["target_s"]).mean()))
        low, high = _ci(values, settings.windows.ci_level)
        assert (row["ci_low_s"], row["ci_high_s"]) == (low, high)
        assert row["is_over_median"] == (np.median(values) > row["target_s"])
        assert row["is_over_share"] == ((values <= row["target_s"]).mean() < 0.5)


def test_flags_recomputed_from_the_stored_responses(hand_lake):
    flag(hand_lake)
    flags = table(hand_lake, "flags")
    assert flags.height == 30  # every class I cell with tasks; the class II cell is not judged
    # By default the window ends with the local day of the newest measured task (15.12.2025).
    newest = table(hand_lake, "responses").filter("is_measured")["call_at"].max()
    assert newest.astimezone(ZoneInfo("Europe/Helsinki")).date() == date(2025, 12, 15)
    assert flags["evaluated_at"].unique().to_list() == [datetime(2025, 12, 15, 21, 59, 59, tzinfo=timezone.utc)]
    _check_against_responses(hand_lake, flags)
    flagged = set(flags.filter("is_flagged")["cell_id"].to_list())
    assert flagged == {_cell_id(c) for c in SLOW}


def test_confidence_and_the_two_rules(hand_lake):
    flags = {r["cell_id"]: r for r in evaluate(open_results(hand_lake), hand_lake)[0].iter_rows(named=True)}
    assert flags[_cell_id((0, 2))]["confidence"] == "certain"
    assert flags[_cell_id(LIKELY)]["confidence"] == "likely"
    assert flags[_cell_id(TOO_FEW)]["confidence"] == "too_few_tasks"
    # 300, 360, 400, 400: median 380 is over 360, yet half the tasks are within: the rules differ.
    median_only = flags[_cell_id(MEDIAN_ONLY)]
    assert (median_only["is_over_median"], median_only["is_over_share"], median_only["is_flagged"]) == (True, False, True)
    assert flags[_cell_id((2, 2))]["confidence"] is None and not flags[_cell_id((2, 2))]["is_flagged"]

    by_share = dataclasses.replace(hand_lake, flags=FlagSettings(rule="share"))
    shared = {r["cell_id"]: r for r in evaluate(open_results(hand_lake), by_share)[0].iter_rows(named=True)}
    assert not shared[_cell_id(MEDIAN_ONLY)]["is_flagged"]
    assert shared[_cell_id((0, 2))]["is_flagged"]


def test_areas_known_components_pooled_evidence_and_why(hand_lake):
    flags, areas = evaluate(open_results(hand_lake), hand_lake)
    by_cells = {frozenset(r["cell_ids"]): r for r in areas.iter_rows(named=True)}
    expected = [frozenset(_cell_id(c) for c in group) for group in
                (AREA_A, AREA_B, [LIKELY], [TOO_FEW], [MEDIAN_ONLY])]
    assert set(by_cells) == set(expected)
    a, b = by_cells[expected[0]], by_cells[expected[1]]
    assert (a["count"], a["median_s"], a["cells"], a["confidence"]) == (48, 480.0, 4, "certain")
    assert (a["station_id"], a["main_delay"], a["travel_excess_s"], a["turnout_excess_s"]) == ("KU20", "travel", 240.0, 0.0)
    assert (b["station_id"], b["main_delay"], b["turnout_excess_s"], b["travel_excess_s"]) == ("KU30", "turnout", 240.0, -60.0)
    # Worst first: certain areas by median, then likely, then too few tasks.
    assert [frozenset(r) for r in areas.sort("area_id")["cell_ids"].to_list()] == [
        expected[0], expected[1], expected[2], expected[3], expected[4]]
    assert areas.sort("area_id")["confidence"].to_list()[:3] == ["certain", "certain", "likely"]
    # Each flagged cell points at its area.
    area_of = dict(zip(flags["cell_id"], flags["area_id"]))
    for row in areas.iter_rows(named=True):
        assert {area_of[c] for c in row["cell_ids"]} == {row["area_id"]}

    sides_only = dataclasses.replace(hand_lake, flags=FlagSettings(neighbourhood=4))
    areas4 = evaluate(open_results(hand_lake), sides_only)[1]
    assert {frozenset(r) for r in areas4["cell_ids"].to_list()} >= {
        frozenset(_cell_id(c) for c in AREA_A[:3]), frozenset([_cell_id(AREA_A[3])])}


def test_problem_cells_and_since_when(hand_lake):
    flags = {r["cell_id"]: r for r in evaluate(open_results(hand_lake), hand_lake)[0].iter_rows(named=True)}
    problem, once = flags[_cell_id((3, 2))], flags[_cell_id((0, 2))]
    assert (problem["years_over"], problem["years_in_review"], problem["is_problem"]) == (2, 2, True)
    assert (once["years_over"], once["years_in_review"], once["is_problem"]) == (1, 2, False)
    # Over in every monthly window since its first task (January 2024), and since January 2025.
    assert problem["over_since"] == datetime(2024, 1, 1, tzinfo=HELSINKI).astimezone(timezone.utc)
    assert flags[_cell_id((0, 1))]["over_since"] == datetime(2025, 1, 1, tzinfo=HELSINKI).astimezone(timezone.utc)
    # (0, 2) met the target in January 2024: its windows were under target through 2024, over from
    # January 2025 when its 2025 tasks took over.
    assert once["over_since"] == datetime(2025, 1, 1, tzinfo=HELSINKI).astimezone(timezone.utc)
    # Judged on 20 January 2025, inside January: (0, 2)'s window holds its first 2025 task only and is
    # over, while December 2024's point (its 2024 task) was not: over since January began. (3, 2)'s
    # run goes on from the months ended before.
    mid = {r["cell_id"]: r for r in evaluate(open_results(hand_lake), hand_lake, at=date(2025, 1, 20))[0]
           .iter_rows(named=True)}
    assert mid[_cell_id((0, 2))]["is_flagged"] and mid[_cell_id((3, 2))]["is_flagged"]
    assert mid[_cell_id((0, 2))]["over_since"] == datetime(2025, 1, 1, tzinfo=HELSINKI).astimezone(timezone.utc)
    assert mid[_cell_id((3, 2))]["over_since"] == datetime(2024, 1, 1, tzinfo=HELSINKI).astimezone(timezone.utc)
    assert all(r["over_since"] is not None for r in mid.values() if r["is_flagged"])


def _class_i_lake(tmp_path, settings, rows: list[str], grid_years: tuple[int, ...]) -> None:
    """Ingest ``rows`` and measure them on the hand-made grid, every cell class I in ``grid_years``."""
    ingest([write_fi(tmp_path / "tasks.csv", rows)], load_mapping("fi-erc"), settings)
    grid = tmp_path / "grid.csv"
    grid.write_text("x_m,y_m,risk_class,municipality_code\n"
                    + "".join(f"{X0 + cx * 1000},{Y0 + cy * 1000},I,186\n" for cx in range(10) for cy in range(3)))
    for year in grid_years:
        import_risk_grid(grid, year, settings)
    measure(settings)


@pytest.mark.parametrize(("first_call", "years_in_review"), [
    (datetime(2023, 12, 30, 10, 0, tzinfo=HELSINKI), 2),  # the lake starts in late December: 2023 is left out
    (datetime(2023, 1, 15, 10, 0, tzinfo=HELSINKI), 3),   # it holds 2023 from January: 2023 counts
])
def test_a_year_the_lake_holds_only_in_part_is_not_reviewed(tmp_path, settings, first_call, years_in_review):
    rows = _rows()
    rows.append(_task(len(rows), (3, 2), first_call, 500))  # (3, 2) over target in 2023 as well
    # A non-urgent task months before: the lake's oldest partition, but no measured task in it.
    rows.append(_task(len(rows), (3, 2), datetime(2022, 6, 15, 10, 0, tzinfo=HELSINKI), 500).replace(";B;", ";C;", 1))
    _class_i_lake(tmp_path, settings, rows, (2023, 2024, 2025))
    flags = {r["cell_id"]: r for r in evaluate(open_results(settings), settings)[0].iter_rows(named=True)}
    problem, once = flags[_cell_id((3, 2))], flags[_cell_id((0, 2))]
    assert (problem["years_over"], problem["years_in_review"], problem["is_problem"]) == (
        years_in_review, years_in_review, True)
    assert (once["years_in_review"], once["is_problem"]) == (years_in_review, False)
    # The query library's problem cells follow the same rule.
    refresh_catalog(settings)
    sql = run_query(settings, Path(__file__).resolve().parents[1] / "queries" / "problem_cells.sql")
    assert set(sql["cell_id"]) == {cell for cell, row in flags.items() if row["is_problem"]}
    assert sql["years_in_review"].to_list() == [years_in_review] * sql.height and sql.height > 0
    # Nor does year_over_year.sql compare 2024 with a 2023 held from 30 December only.
    yearly = run_query(settings, Path(__file__).resolve().parents[1] / "queries" / "year_over_year.sql")
    class_i = yearly.filter(pl.col("risk_class") == "I").sort("year")
    assert class_i["year"].to_list() == [2023, 2024, 2025]
    assert class_i["first_day"][0] == first_call.date()
    assert (class_i["median_change_s"][1] is None) == (years_in_review == 2)
    assert class_i["median_change_s"][2] is not None


def test_a_year_begun_is_not_reviewed_before_its_december(tmp_path, settings):
    """On 2 January 2026 the review period ends with 2025: the new year's first task, under target,
    must not clear a problem cell (or decide any other). From December on, the year counts."""
    rows = _rows()
    rows.append(_task(len(rows), (3, 2), datetime(2026, 1, 2, 10, 0, tzinfo=HELSINKI), 200))
    _class_i_lake(tmp_path, settings, rows, (2024, 2025, 2026))
    flags = evaluate(open_results(settings), settings)[0]
    assert flags["evaluated_at"][0] == datetime(2026, 1, 2, 21, 59, 59, tzinfo=timezone.utc)
    problem = flags.filter(pl.col("cell_id") == _cell_id((3, 2))).row(0, named=True)
    assert (problem["years_over"], problem["years_in_review"], problem["is_problem"]) == (2, 2, True)
    refresh_catalog(settings)
    sql = run_query(settings, Path(__file__).resolve().parents[1] / "queries" / "problem_cells.sql")
    assert set(sql["cell_id"]) == set(flags.filter("is_problem")["cell_id"]) and _cell_id((3, 2)) in set(sql["cell_id"])
    # Judged in December 2026, 2026 is the period's last year and (3, 2) met the target in it.
    december = evaluate(open_results(settings), settings, at=date(2026, 12, 1))[0]
    later = december.filter(pl.col("cell_id") == _cell_id((3, 2))).row(0, named=True)
    assert (later["years_in_review"], later["is_problem"]) == (3, False)


def test_an_earlier_window_and_what_changed(hand_lake):
    june = evaluate(open_results(hand_lake), hand_lake, at=datetime(2025, 6, 30).date())[0]
    assert june["evaluated_at"][0] == datetime(2025, 6, 30, 20, 59, 59, tzinfo=timezone.utc)
    _check_against_responses(hand_lake, june)

    earlier = flag(hand_lake, at=datetime(2025, 6, 30).date())
    june_flagged = set(june.filter("is_flagged")["cell_id"])
    assert sorted(earlier.appeared) == sorted(june_flagged) and not earlier.cleared
    latest = flag(hand_lake)
    now_flagged = set(table(hand_lake, "flags").filter("is_flagged")["cell_id"])
    assert sorted(latest.appeared) == sorted(now_flagged - june_flagged)
    assert sorted(latest.cleared) == sorted(june_flagged - now_flagged)

    # Another flag rule is another definition, with tables of its own; it measures nothing anew but
    # starts from the tables of the definition with the same measure rules. Both results stay.
    by_share = dataclasses.replace(hand_lake, flags=FlagSettings(rule="share"))
    assert flag(by_share).cleared == []  # its first evaluation: nothing to clear
    assert table(by_share, "responses").equals(table(hand_lake, "responses"))
    assert table(by_share, "rolling_calendar").equals(table(hand_lake, "rolling_calendar"))
    assert _cell_id(MEDIAN_ONLY) in set(table(hand_lake, "flags").filter("is_flagged")["cell_id"])
    assert _cell_id(MEDIAN_ONLY) not in set(table(by_share, "flags").filter("is_flagged")["cell_id"])
    runs = table(hand_lake, "runs").filter(pl.col("command") == "flag")
    assert runs["definition_id"].to_list() == [definition_id(hand_lake)] * 2 + [definition_id(by_share)]


def test_stored_flags_are_read_only_for_the_window_and_files_they_judged(hand_lake, monkeypatch):
    """The report reads the stored flags and areas when the last flag run judged the same window
    on the same files; any other window, or rewritten responses, is evaluated afresh."""
    evaluations = []

    def counted(*args, **kwargs):
        evaluations.append(kwargs.get("at"))
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(valmius.flags, "evaluate", counted)
    fresh = evaluate(open_results(hand_lake), hand_lake)
    assert fresh[0]["is_flagged"].sum() > 0 and fresh[1].height > 0
    assert [f.equals(e) for f, e in zip(stored_or_evaluated(open_results(hand_lake), hand_lake), fresh)] == [True] * 2
    newest = evaluations[0]
    assert evaluations == [newest] and newest == last_measured_day(open_results(hand_lake), hand_lake)  # nothing stored yet: evaluated

    flag(hand_lake)
    evaluations.clear()
    stored = stored_or_evaluated(open_results(hand_lake), hand_lake)
    assert evaluations == [] and [s.equals(e) for s, e in zip(stored, fresh)] == [True] * 2
    june = date(2025, 6, 30)
    assert stored_or_evaluated(open_results(hand_lake), hand_lake, at=june)[0].equals(
        evaluate(open_results(hand_lake), hand_lake, at=june)[0])
    assert evaluations == [june]

    measure(hand_lake, full=True)  # same responses, rewritten files: not known to be the judged ones
    evaluations.clear()
    again = stored_or_evaluated(open_results(hand_lake), hand_lake)
    assert evaluations == [newest] and [a.equals(e) for a, e in zip(again, fresh)] == [True] * 2


def test_flags_on_the_demo_sample_week(sample_lake):
    flag(sample_lake)
    flags = table(sample_lake, "flags")
    assert flags.height > 0 and set(flags["risk_class"]) == {"I"}
    _check_against_responses(sample_lake, flags)
    # Judged at the end of a calendar period, a cell's flag and its calendar point say the same.
    period_end = table(sample_lake, "rolling_calendar")["at"].max()
    flag(sample_lake, at=period_end.astimezone(ZoneInfo("Europe/Helsinki")).date())
    flags = table(sample_lake, "flags")
    assert flags["evaluated_at"][0] == period_end
    last = table(sample_lake, "rolling_calendar").filter(pl.col("grouping") == "cell", pl.col("at") == period_end)
    joined = flags.join(last, left_on="cell_id", right_on="group_key", suffix="_rolling")
    assert joined.height == flags.height
    assert (joined["count"] == joined["count_rolling"]).all()
    assert (joined["median_s"] == joined["median_s_rolling"]).all()


def test_cli_flag(hand_lake, tmp_path):
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{hand_lake.lake_path}"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "flag"])
    assert result.exit_code == 0, result.output
    assert "over target" in result.output and "areas" in result.output
    result = CliRunner().invoke(main, ["--config", str(config), "flag", "--at", "2025-06-30", "--json"])
    assert result.exit_code == 0 and '"evaluated_at": "2025-06-30 20:59:59+00:00"' in result.output


def test_a_window_without_any_measured_task_is_an_error_that_gives_the_days_to_choose(hand_lake, tmp_path):
    from valmius.errors import InputError
    from valmius.flags import first_measured_day

    snapshot = open_results(hand_lake)
    first, last = first_measured_day(snapshot, hand_lake), last_measured_day(snapshot, hand_lake)
    days = hand_lake.windows.trailing_days
    latest = last + timedelta(days=days - 1)  # the last window that still holds the newest task
    before = table(hand_lake, "flags")
    for at in (first - timedelta(days=1), latest + timedelta(days=1), date(2031, 1, 1)):
        with pytest.raises(InputError) as raised:
            flag(hand_lake, at=at)
        assert str(raised.value) == (f"no measured urgent tasks in the {days}-day window ending {at}: the lake's "
                                     f"measured tasks run from {first} to {last}; give a day from {first} to {latest}")
    assert table(hand_lake, "flags").equals(before)  # nothing written
    assert flag(hand_lake, at=first).evaluated_at is not None
    edge = evaluate(open_results(hand_lake), hand_lake, at=latest)[0]
    assert edge["count"].sum() >= 1  # the newest task is still in its window
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{hand_lake.lake_path}"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "report", "--at", "2031-01-01"])
    assert result.exit_code == 1 and "Error: no measured urgent tasks in the" in result.output


def test_empty_lake(settings):
    flags, areas = evaluate(open_results(settings), settings)
    assert flags.height == 0 and areas.height == 0
    assert "nothing to judge" in flag(settings).to_text()
