"""order_units: sorting each incident's unit rows agrees with a plain sort of all rows by the key."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from valmius.kernels import key_order

# Prefixes of each other, upper and lower case, and text beyond ASCII (UTF-8 bytes order "Ö" after "z").
UNIT_IDS = ["KU101", "KU10", "KU1011", "ku101", "EU201", "Ö1", "Z9", "", "KU102"]


@st.composite
def incidents(draw) -> list[tuple[int, str, int, int]]:
    """(incident, unit id, file_seq, source_row) rows, incidents rising, each incident's rows in any order."""
    rows = []
    line = 2
    for incident in range(draw(st.integers(0, 15))):
        for _ in range(draw(st.integers(1, 7))):  # a unit may appear more than once: later exports, repeated lines
            rows.append((incident, draw(st.sampled_from(UNIT_IDS)), draw(st.integers(1, 3)), line))
            line += draw(st.integers(1, 3))
    return rows


def _naive(rows: list[tuple[int, str, int, int]]) -> tuple[list[int], list[bool]]:
    """Positions sorted by (incident, unit id's UTF-8 bytes, newest export first, later line first)."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1].encode(), -rows[i][2], -rows[i][3]))
    firsts = [k == 0 or rows[order[k]][:2] != rows[order[k - 1]][:2] for k in range(len(order))]
    return order, firsts


def _order(rows: list[tuple[int, str, int, int]]):
    starts = np.array([i == 0 or rows[i][0] != rows[i - 1][0] for i in range(len(rows))], dtype=bool)
    return key_order.order_units(starts, pa.array([r[1] for r in rows], pa.string()),
                                 np.array([r[2] for r in rows], dtype=np.int64), np.array([r[3] for r in rows], dtype=np.int64))


@hsettings(max_examples=300, deadline=None)
@given(incidents())
def test_order_within_incidents_matches_a_plain_sort(rows):
    result = _order(rows)
    assert result is not None
    order, firsts = result
    want_order, want_firsts = _naive(rows)
    assert order.tolist() == want_order
    assert firsts.tolist() == want_firsts


def test_an_incident_with_too_many_rows_or_a_missing_unit_gives_up(monkeypatch):
    rows = [(1, f"U{i:03d}", 1, i + 2) for i in range(10)] + [(2, "U1", 1, 20)]
    monkeypatch.setattr(key_order, "MAX_RUN_ROWS", 9)
    assert _order(rows) is None
    monkeypatch.setattr(key_order, "MAX_RUN_ROWS", 10)
    assert _order(rows) is not None
    starts = np.array([True, False])
    with_null = pa.array(["KU101", None], pa.string())
    assert key_order.order_units(starts, with_null, np.ones(2, np.int64), np.arange(2, dtype=np.int64)) is None


def test_large_string_arrays_and_slices_are_read_in_place():
    rows = [(0, "b", 1, 2), (0, "a", 1, 3), (1, "c", 1, 4), (1, "a", 2, 5)]
    ids = pa.array(["x", *[r[1] for r in rows]], pa.large_string()).slice(1)
    starts = np.array([True, False, True, False])
    order, firsts = key_order.order_units(starts, ids, np.array([r[2] for r in rows]), np.array([r[3] for r in rows]))
    assert order.tolist() == [1, 0, 3, 2]
    assert firsts.all()


@pytest.mark.parametrize("rows", [[], [(0, "KU101", 1, 2)]])
def test_no_rows_and_one_row(rows):
    order, firsts = _order(rows)
    assert order.tolist() == list(range(len(rows))) and firsts.all()
