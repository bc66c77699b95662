"""Data-completeness scorecards: recomputed row by row in plain Python from the lake's tables, on a
hand-made export, the demo sample and the real San Francisco export; the catalog's SQL view agrees
with the Polars function; the report shows the heat map."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import SF_CALLS, fi_row, needs_shared_data, table, write_fi
from valmius.catalog import connect_catalog
from valmius.ingest import ingest
from valmius.definitions import open_results
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.scorecards import DEFECT_REASONS, SCORECARDS, report_parts, scorecards
from valmius.settings import GridSettings


def naive_scorecards(settings) -> dict[tuple, dict[str, int]]:
    """Counts per (station, unit, local month), one row at a time, as the module's notes define them."""
    zone = ZoneInfo(settings.time.zone)
    units = table(settings, "units").to_dicts()
    no_arrival = {r["incident_id"] for r in table(settings, "responses").to_dicts() if r["on_scene_at"] is None}
    calls = {r["incident_id"]: r["call_at"] for r in table(settings, "incidents").to_dicts()}
    stations: dict[str, Counter] = defaultdict(Counter)
    for row in units:
        if row["station_id"] is not None:
            stations[row["unit_id"]][row["station_id"]] += 1
    home = {unit: min(c, key=lambda s: (-c[s], s)) for unit, c in stations.items()}
    out: dict[tuple, dict[str, int]] = defaultdict(Counter)

    def month(moment):
        return None if moment is None else f"{moment.astimezone(zone):%Y-%m}"

    for row in units:
        card = out[(row["station_id"], row["unit_id"], month(row["call_at"]))]
        card["unit_rows"] += 1
        card["source_rows"] += 1
        for name in ("alarm", "en_route", "on_scene"):
            card[f"missing_{name}_rows"] += row[f"{name}_at"] is None
        card["zero_interval_rows"] += row["has_zero_interval"]
        card["no_arrival_incidents"] += row["incident_id"] in no_arrival
    for row in table(settings, "quarantine").to_dicts():
        if row["reason_code"] in ("superseded", "duplicate"):
            continue
        card = out[(home.get(row["unit_id"]), row["unit_id"], month(calls.get(row["incident_id"])))]
        card["quarantined_rows"] += 1
        card["source_rows"] += 1
        card[f"quarantined_{row['reason_code']}_rows"] += 1
    return out


def check_against_naive(settings) -> pl.DataFrame:
    frame = scorecards(open_results(settings), settings)
    expected = naive_scorecards(settings)
    assert frame.columns == SCORECARDS.names
    assert frame.height == len(expected)
    counts = [c.name for c in SCORECARDS.columns if c.dtype == pl.Int64]
    for row in frame.iter_rows(named=True):
        want = expected[(row["station_id"], row["unit_id"], row["local_month"])]
        assert {c: row[c] for c in counts} == {c: want.get(c, 0) for c in counts}, row
        if row["unit_rows"]:
            assert row["share_missing_on_scene"] == pytest.approx(row["missing_on_scene_rows"] / row["unit_rows"])
            assert row["share_no_arrival"] == pytest.approx(row["no_arrival_incidents"] / row["unit_rows"])
        else:
            assert row["share_missing_en_route"] is None
        assert row["share_quarantined"] == pytest.approx(row["quarantined_rows"] / row["source_rows"])
    return frame


def check_sql_view(settings, frame: pl.DataFrame) -> None:
    with connect_catalog(settings) as con:
        view = con.sql("select * from scorecards").pl()
    assert_frame_equal(view.sort(["station_id", "unit_id", "local_month"], nulls_last=True),
                       frame.sort(["station_id", "unit_id", "local_month"], nulls_last=True), check_dtypes=True)


@pytest.fixture
def hand_lake(tmp_path, settings):
    rows = [
        fi_row(incident="A1"),                                                   # complete
        fi_row(incident="A1", unit="KU102", en_route="", on_scene=""),            # never arrived, no en route
        fi_row(incident="A2", alarm="3.1.2025 07:06:30", en_route="3.1.2025 07:06:30"),  # zero-second turnout
        fi_row(incident="A2", unit="KU101", call="31.2.2025 07:05:09"),           # impossible call time: A2's month
        fi_row(incident="A3", unit="KU102", call="xx"),                           # bad call time, incident unknown
        fi_row(incident="A4", unit="KU103", station="KU30", free="20.1.2025 08:01:00"),  # free 17 days later: implausible
        fi_row(incident="B1", call="3.2.2025 07:05:09", alarm="3.2.2025 07:06:30", en_route="3.2.2025 07:07:25",
               on_scene="", free="3.2.2025 08:01:00"),                           # February: nobody arrived
    ]
    ingest([write_fi(tmp_path / "a.csv", rows)], load_mapping("fi-erc"), settings)
    measure(settings)
    return settings


def test_hand_made_export(hand_lake):
    frame = check_against_naive(hand_lake)
    cards = {(r["station_id"], r["unit_id"], r["local_month"]): r for r in frame.iter_rows(named=True)}
    assert set(cards) == {("KU10", "KU101", "2025-01"), ("KU10", "KU102", "2025-01"), ("KU10", "KU102", None),
                          (None, "KU103", None), ("KU10", "KU101", "2025-02")}
    january = cards[("KU10", "KU101", "2025-01")]
    assert (january["unit_rows"], january["zero_interval_rows"], january["quarantined_rows"]) == (2, 1, 1)
    assert january["quarantined_impossible_timestamp_rows"] == 1 and january["share_quarantined"] == pytest.approx(1 / 3)
    ku102 = cards[("KU10", "KU102", "2025-01")]
    assert (ku102["missing_en_route_rows"], ku102["missing_on_scene_rows"], ku102["no_arrival_incidents"]) == (1, 1, 0)
    # The row with no readable call time: the station from the unit's stored row, the month unknown.
    assert cards[("KU10", "KU102", None)]["quarantined_bad_timestamp_rows"] == 1
    # A unit with no stored row has no station; its only row was implausible.
    lone = cards[(None, "KU103", None)]
    assert (lone["unit_rows"], lone["quarantined_implausible_interval_rows"], lone["share_missing_on_scene"]) == (0, 1, None)
    february = cards[("KU10", "KU101", "2025-02")]
    assert (february["no_arrival_incidents"], february["share_no_arrival"]) == (1, 1.0)


def test_replaced_rows_are_not_defects(hand_lake, tmp_path):
    again = write_fi(tmp_path / "b.csv", [fi_row(incident="A1"), fi_row(incident="A1", unit="KU102", on_scene="3.1.2025 07:20:00")])
    ingest([again], load_mapping("fi-erc"), hand_lake)
    quarantine = table(hand_lake, "quarantine")
    assert {"duplicate", "superseded"} <= set(quarantine["reason_code"])
    frame = check_against_naive(hand_lake)
    assert frame["quarantined_rows"].sum() == quarantine.filter(pl.col("reason_code").is_in(DEFECT_REASONS)).height


def test_sql_view_matches_polars(hand_lake):
    check_sql_view(hand_lake, scorecards(open_results(hand_lake), hand_lake))


def test_demo_sample(sample_lake):
    frame = check_against_naive(sample_lake)
    assert frame["unit_rows"].sum() == table(sample_lake, "units").height
    check_sql_view(sample_lake, frame)


def _night_call(incident: str, day: str, **fields: str) -> str:
    """A task called at 00:30 local time on ``day``: still the month before in UTC."""
    times = {"call": f"{day} 00:30:00", "alarm": f"{day} 00:31:00", "en_route": f"{day} 00:32:00",
             "on_scene": f"{day} 00:37:00", "free": f"{day} 01:30:00"}
    return fi_row(incident=incident, **{**times, **fields})


def test_the_months_of_a_window_only(hand_lake, tmp_path):
    # Calls in the first half hour of February and of March (local time), one of them rejected.
    rows = [_night_call("C1", "1.2.2025"), _night_call("C2", "1.3.2025"),
            _night_call("C2", "1.3.2025", unit="KU102", free="28.3.2025 01:30:00")]
    ingest([write_fi(tmp_path / "b.csv", rows)], load_mapping("fi-erc"), hand_lake)
    measure(hand_lake)
    full = scorecards(open_results(hand_lake), hand_lake)
    assert set(full["local_month"]) == {"2025-01", "2025-02", "2025-03", None}
    window = scorecards(open_results(hand_lake), hand_lake, months=["2025-02"])
    # February's rows (C1 called on 1 February local time, 31 January in UTC) and the unknown months.
    assert_frame_equal(window, full.filter(pl.col("local_month").is_in(["2025-02"]) | pl.col("local_month").is_null()))
    assert window.filter(pl.col("local_month") == "2025-02")["unit_rows"].sum() == 2  # B1 and C1
    march = scorecards(open_results(hand_lake), hand_lake, months=["2025-02", "2025-03"])
    assert march.filter(pl.col("local_month") == "2025-03")["quarantined_implausible_interval_rows"].sum() == 1
    assert_frame_equal(march, full.filter(pl.col("local_month").ne_missing("2025-01")))
    apart = scorecards(open_results(hand_lake), hand_lake, months=["2025-01", "2025-03"])
    assert_frame_equal(apart, full.filter(pl.col("local_month").ne_missing("2025-02")))


def test_report_parts(hand_lake):
    from datetime import datetime, timezone

    chart, shown, note = report_parts(open_results(hand_lake), hand_lake,
                                      datetime(2025, 2, 28, 21, 59, 59, tzinfo=timezone.utc))
    assert chart is not None and shown.height == 2  # KU10 in January and February
    january = shown.row(0, named=True)
    assert january["Kuukausi"] == "2025-01" and january["Rivejä"] == "< 5"  # 3 rows stored + 1 quarantined
    assert january["Kohteessa-aika puuttuu"] == ""  # too few rows for a share
    assert "bad_timestamp" not in january["Syyt"] and "impossible_timestamp < 5" in january["Syyt"]
    assert note.endswith(": 2.")  # the two rows without a month
    spec = chart.to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rect"


@needs_shared_data
def test_real_sf_data(tmp_path):
    settings = dataclasses.replace(
        __import__("conftest").Settings(), paths=__import__("conftest").project_paths(tmp_path),
        grid=GridSettings(crs="EPSG:32610", extent_m=[540_000.0, 4_160_000.0, 560_000.0, 4_190_000.0]),
    )
    ingest([SF_CALLS], load_mapping("sf-fire"), settings)
    measure(settings)
    frame = check_against_naive(settings)
    assert frame["source_rows"].sum() == 7704
    assert frame["missing_on_scene_rows"].sum() > 0.1 * frame["unit_rows"].sum()  # ~20 % never arrived
    check_sql_view(settings, frame)


def test_sql_view_on_three_years(sql_lake):
    frame = scorecards(open_results(sql_lake), sql_lake)
    assert frame["local_month"].drop_nulls().n_unique() >= 36
    check_sql_view(sql_lake, frame)
