"""The timestamp kernels against the naive references in naive.py."""

from __future__ import annotations

import calendar

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from naive import local_to_utc_candidates, resolve_row
from valmius.kernels import timestamps as ts

FI = "%d.%m.%Y %H:%M:%S"
ZONES = ["Europe/Helsinki", "America/Los_Angeles", "UTC", "Australia/Lord_Howe"]


def fi_text(dt: datetime, pad: bool) -> str:
    if pad:
        return dt.strftime(FI)
    return f"{dt.day}.{dt.month}.{dt.year} {dt:%H:%M:%S}"


def parse(values: list[str | None], fmt: str = FI, zone: str = "Europe/Helsinki"):
    return ts.parse_to_utc(pa.array(values, type=pa.string()), ts.compile_format(fmt), zone)


# Times near daylight-saving changes are the interesting ones: draw many of them.
near_dst = st.sampled_from([datetime(2025, 3, 30, 2, 0), datetime(2025, 10, 26, 2, 0), datetime(2016, 11, 6, 0, 0),
                            datetime(2017, 3, 12, 1, 0), datetime(2024, 4, 7, 1, 0)]).flatmap(
    lambda base: st.integers(0, 4 * 3600).map(lambda s: base + timedelta(seconds=s)))
any_time = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2090, 12, 31)).map(lambda d: d.replace(microsecond=0))


@hsettings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(near_dst, any_time), min_size=1, max_size=30), st.sampled_from(ZONES), st.booleans())
def test_parse_and_convert_match_zoneinfo(times, zone, pad):
    texts = [fi_text(t, pad) for t in times]
    early, late, status = parse(texts, zone=zone)
    for text, e, l, s in zip(texts, early, late, status):
        expected = local_to_utc_candidates(text, FI, zone)
        assert expected is not None
        if not expected:
            assert s == ts.NONEXISTENT, text
        elif len(expected) == 1:
            assert (s, e, l) == (ts.OK, expected[0], expected[0]), text
        else:
            assert (s, e, l) == (ts.AMBIGUOUS, expected[0], expected[1]), text


# A year of each zone's changes; Kwajalein went back 23 hours in 1969 (+11 to -12), Apia skipped
# 30 December 2011 (-10 to +14): among the largest jumps in the zone rules since 1950.
YEARS_OF_CHANGES = [(zone, datetime(2024, 12, 30)) for zone in ZONES] + [
    ("Pacific/Kwajalein", datetime(1969, 3, 1)), ("Pacific/Apia", datetime(2011, 6, 1))]


@pytest.mark.parametrize("zone,start", YEARS_OF_CHANGES)
@pytest.mark.parametrize("step_s,reverse", [(1260, False), (3599, False), (1260, True)])
def test_long_runs_across_changes_match_zoneinfo(zone, start, step_s, reverse):
    """Runs of times in order (as exports come) through a year's changes, and backwards: the
    kernel reuses the last period it found while values stay well inside it."""
    times = [start + timedelta(seconds=s) for s in range(0, 370 * 86400, step_s)]
    times = times[::-1] if reverse else times
    texts = [fi_text(t, True) for t in times]
    early, late, status = parse(texts, zone=zone)
    expected = [local_to_utc_candidates(t, FI, zone) for t in texts]
    got = [[] if s == ts.NONEXISTENT else [e] if s == ts.OK else [e, l] for e, l, s in zip(early, late, status)]
    assert got == expected


@pytest.mark.parametrize("text,status", [
    ("", ts.MISSING), ("   ", ts.MISSING), (None, ts.MISSING),
    ("31.2.2025 10:00:00", ts.IMPOSSIBLE), ("29.2.2025 10:00:00", ts.IMPOSSIBLE), ("29.2.2024 10:00:00", ts.OK),
    ("1.1.2025 24:00:00", ts.IMPOSSIBLE), ("1.1.2025 10:60:00", ts.IMPOSSIBLE),
    ("--", ts.UNPARSEABLE), ("1.1.25 10:00:00", ts.UNPARSEABLE), ("1.1.2025 10:00", ts.UNPARSEABLE),
    ("1.1.2025 10:00:00 x", ts.UNPARSEABLE), ("2025-01-01 10:00:00", ts.UNPARSEABLE),
    (" 1.1.2025  10:00:00 ", ts.OK), ("01.01.2025 10:00:00\r", ts.OK),
    ("30.3.2025 03:30:00", ts.NONEXISTENT), ("26.10.2025 03:30:00", ts.AMBIGUOUS),
])
def test_edge_values(text, status):
    assert parse([text])[2][0] == status


@hsettings(max_examples=200, deadline=None)
@given(st.lists(any_time, min_size=1, max_size=20))
def test_twelve_hour_clock_matches_strptime(times):
    fmt = "%m/%d/%Y %I:%M:%S %p"
    texts = [t.strftime(fmt) for t in times]
    early, _, status = parse(texts, fmt=fmt, zone="UTC")
    assert (status == ts.OK).all()
    assert list(early) == [calendar.timegm(t.timetuple()) for t in times]


def test_unsupported_format_code_is_named():
    with pytest.raises(ValueError, match="%Q"):
        ts.compile_format("%Y-%Q")


# A row: call, alarm, en route, on scene, free, each a minute offset from a start near the October change.
row_offsets = st.lists(st.one_of(st.none(), st.integers(-30, 150)), min_size=5, max_size=5)


@hsettings(max_examples=500, deadline=None)
@given(st.lists(row_offsets, min_size=1, max_size=12), st.integers(0, 3600))
def test_repeated_hour_resolution_matches_brute_force(rows, start_s):
    base = datetime(2025, 10, 26, 2, 0) + timedelta(seconds=start_s)
    texts = [[None if m is None else fi_text(base + timedelta(minutes=m), True) for m in row] for row in rows]
    n = len(rows)
    early = np.zeros((n, 5), dtype=np.int64)
    late = np.zeros_like(early)
    status = np.zeros((n, 5), dtype=np.int8)
    for j in range(5):
        e, l, s = parse([r[j] for r in texts])
        early[:, j], late[:, j], status[:, j] = e, l, s
    ts.resolve_repeated_hour(early, late, status)
    for r, row in enumerate(texts):
        expected = resolve_row([None if t is None else local_to_utc_candidates(t, FI, "Europe/Helsinki") for t in row])
        if expected == "ambiguous" or (expected == "unordered" and (status[r] == ts.AMBIGUOUS).any()):
            assert (status[r] == ts.AMBIGUOUS).any(), row
            continue
        if expected == "unordered":
            continue  # no ambiguity involved: the interval checks reject the row later
        for j, value in enumerate(expected):
            if value is None:
                assert status[r, j] == ts.MISSING
            else:
                assert status[r, j] == ts.OK and early[r, j] == value, (row, j)


def test_transitions_of_helsinki_2025():
    starts, offsets = ts.zone_transitions("Europe/Helsinki")
    march = calendar.timegm((2025, 3, 30, 1, 0, 0))  # 01:00 UTC: clocks go 03:00 -> 04:00
    october = calendar.timegm((2025, 10, 26, 1, 0, 0))  # 01:00 UTC: clocks go 04:00 -> 03:00
    k = int(np.searchsorted(starts, march))
    assert starts[k] == march and offsets[k] == 3 * 3600 and offsets[k - 1] == 2 * 3600
    k = int(np.searchsorted(starts, october))
    assert starts[k] == october and offsets[k] == 2 * 3600
