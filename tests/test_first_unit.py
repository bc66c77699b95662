"""first_units: the one pass over units in the lake's order, the sorted way, and a naive loop agree."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import polars as pl
from hypothesis import given, settings as hsettings, strategies as st

import naive
from valmius.responses import _stored_order_starts, _with_first_units, first_units
from valmius.settings import Settings

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
TIME = st.one_of(st.none(), st.integers(0, 5).map(lambda s: T0 + timedelta(seconds=s)))  # few values: many ties


@st.composite
def unit_rows(draw) -> list[dict]:
    rows = []
    for i in range(draw(st.integers(0, 12))):
        units = draw(st.lists(st.sampled_from(["KU101", "KU103", "EU201", "PU301", "KU102"]), min_size=1, max_size=4,
                              unique=True))
        for unit in units:
            rows.append({"incident_id": f"2025-{i:06d}", "unit_id": unit, "station_id": f"S{unit[-1]}",
                         "alarm_at": draw(TIME), "en_route_at": draw(TIME), "on_scene_at": draw(TIME),
                         "unit_type": unit[:2], "year": 2025, "month": 3})
    return rows


def _frame(rows: list[dict]) -> pl.DataFrame:
    schema = {"incident_id": pl.String, "unit_id": pl.String, "station_id": pl.String,
              "alarm_at": pl.Datetime("us", "UTC"), "en_route_at": pl.Datetime("us", "UTC"),
              "on_scene_at": pl.Datetime("us", "UTC"), "unit_type": pl.String, "year": pl.Int32, "month": pl.Int32}
    return pl.DataFrame(rows, schema=schema)


def _check(result: pl.DataFrame, rows: list[dict]) -> None:
    expected = naive.first_units(rows)
    assert result["incident_id"].n_unique() == result.height == len(expected)
    for got in result.iter_rows(named=True):
        want = expected[got["incident_id"]]
        assert got["first_unit_id"] == want["first"]["unit_id"]
        assert got["station_id"] == want["first"]["station_id"]
        assert got["on_scene_at"] == want["first"]["on_scene_at"]
        assert got["first_alarm_at"] == want["first"]["alarm_at"]
        assert got["first_en_route_at"] == want["first"]["en_route_at"]
        assert got["alarm_at"] == want["alarm_at"]
        assert got["units_counted"] == want["units_counted"]


@hsettings(max_examples=150, deadline=None)
@given(unit_rows(), st.randoms(use_true_random=False))
def test_first_units_in_lake_order_and_shuffled_match_naive(rows, rnd):
    stored = _frame(rows).sort("incident_id", "unit_id")  # the lake's order: the one-pass way
    assert _stored_order_starts(stored, ["year", "month"]) is not None
    _check(first_units(stored.lazy(), Settings()).collect(), rows)
    shuffled = rows[:]
    rnd.shuffle(shuffled)  # any other order: sorted first
    _check(first_units(_frame(shuffled).lazy(), Settings()).collect(), rows)


def test_stored_order_check():
    rows = _frame([
        {"incident_id": "A", "unit_id": "U2", "year": 2025, "month": 3},
        {"incident_id": "A", "unit_id": "U1", "year": 2025, "month": 3},
    ])
    assert _stored_order_starts(rows, ["year", "month"]) is None  # units of an incident out of order
    assert _stored_order_starts(rows.reverse(), ["year", "month"]).tolist() == [True, False]
    two_months = _frame([
        {"incident_id": "B", "unit_id": "U1", "year": 2025, "month": 3},
        {"incident_id": "A", "unit_id": "U1", "year": 2025, "month": 4},
    ])
    assert _stored_order_starts(two_months, ["year", "month"]) is not None  # each partition in order
    assert _stored_order_starts(two_months, []) is None


def test_unit_types_narrow_the_counted_units():
    rows = [{"incident_id": "A", "unit_id": "KU1", "station_id": "S1", "alarm_at": T0, "en_route_at": None,
             "on_scene_at": T0 + timedelta(seconds=50), "unit_type": "KU", "year": 2025, "month": 3},
            {"incident_id": "A", "unit_id": "PU1", "station_id": "S2", "alarm_at": T0, "en_route_at": None,
             "on_scene_at": T0 + timedelta(seconds=10), "unit_type": "PU", "year": 2025, "month": 3}]
    plain = Settings()
    settings = dataclasses.replace(plain, counting=dataclasses.replace(plain.counting, unit_types=["KU"]))
    result = first_units(_frame(rows).lazy(), settings).collect()
    assert result["first_unit_id"].to_list() == ["KU1"] and result["units_counted"].to_list() == [1]


@hsettings(max_examples=60, deadline=None)
@given(unit_rows(), st.randoms(use_true_random=False))
def test_first_units_go_beside_their_incidents_as_the_join_puts_them(rows, rnd):
    firsts = first_units(_frame(rows).sort("incident_id", "unit_id").lazy(), Settings()).collect()
    ids = sorted({row["incident_id"] for row in rows})
    for incident_ids in (ids, [*ids, "2025-999999"], ids[::-1], [i for i in ids if rnd.random() < 0.7]):
        incidents = pl.DataFrame({"incident_id": incident_ids, "x": range(len(incident_ids))},
                                 schema={"incident_id": pl.String, "x": pl.Int64})
        joined = _with_first_units(incidents.lazy(), firsts.lazy()).collect()
        assert joined.equals(incidents.join(firsts, on="incident_id", how="left", maintain_order="left"))
