"""Rolling-window statistics against the slow references in naive.py, and against Polars at scale.

One registry of (fast, naive) pairs drives the exact cases and the Hypothesis properties.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import naive
from valmius.rolling import (STATISTICS, calendar, ci_ranks, parse_window, rolling_median, rolling_stats,
                             rolling_stats_at, rolling_stats_both)


@dataclass
class Data:
    values: np.ndarray  # float64, NaN = missing
    times: np.ndarray  # int64 seconds
    groups: np.ndarray | None
    window: int  # seconds
    within: np.ndarray | None = None
    level: float = 0.95
    at: np.ndarray | None = None  # evaluation times for rolling_stats_at

    def evaluation_times(self) -> np.ndarray:
        if self.at is not None:
            return self.at
        return np.unique(np.concatenate([self.times, self.times - 1, [-10**6, 10**6]]))


def _list(array):
    return None if array is None else list(array)


@dataclass
class Kernel:
    name: str
    fast: Callable[[Data], dict]
    slow: Callable[[Data], dict]


REGISTRY = [
    Kernel("rolling_median",
           lambda d: {"median": rolling_median(d.values, d.times, d.groups, d.window)},
           lambda d: {"median": naive.rolling_median(list(d.values), list(d.times), _list(d.groups), d.window)}),
    Kernel("rolling_stats",
           lambda d: rolling_stats(d.values, d.times, d.groups, d.window, within_target=d.within, level=d.level),
           lambda d: naive.rolling_stats(list(d.values), list(d.times), _list(d.groups), d.window,
                                         within_target=_list(d.within), level=d.level)),
    Kernel("rolling_stats_at",
           lambda d: rolling_stats_at(d.values, d.times, d.groups, d.window, d.evaluation_times(),
                                      within_target=d.within, level=d.level),
           lambda d: naive.rolling_stats_at(list(d.values), list(d.times), _list(d.groups), d.window,
                                            list(d.evaluation_times()), within_target=_list(d.within),
                                            level=d.level)),
]

def _both(d: Data) -> dict:
    rows, at = rolling_stats_both(d.values, d.times, d.groups, d.window, d.evaluation_times(),
                                  within_target=d.within, level=d.level)
    return {**{f"row {key}": value for key, value in rows.items()}, **{f"at {key}": value for key, value in at.items()}}


_SLOW = {kernel.name: kernel.slow for kernel in REGISTRY}
REGISTRY.append(Kernel(  # one sweep for both: each part equals its own reference
    "rolling_stats_both", _both,
    lambda d: {**{f"row {key}": value for key, value in _SLOW["rolling_stats"](d).items()},
               **{f"at {key}": value for key, value in _SLOW["rolling_stats_at"](d).items()}}))
ids = [kernel.name for kernel in REGISTRY]


def assert_same(got: dict, expected: dict, data: Data) -> None:
    scale = 1.0 + float(np.nanmax(np.abs(data.values), initial=0.0))
    for key, want in expected.items():
        have = np.asarray(got[key])
        assert have.shape == np.shape(want), key
        statistic = key.split()[-1]  # "mean", or "at mean" from rolling_stats_both
        if statistic == "mean":  # a running sum: equal up to rounding
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-9 * scale, err_msg=key)
        elif statistic == "group":
            assert list(have) == list(want)
        else:
            np.testing.assert_array_equal(have, np.asarray(want, dtype=have.dtype), err_msg=key)


def check(data: Data) -> None:
    for kernel in REGISTRY:
        assert_same(kernel.fast(data), kernel.slow(data), data)


def make(values, times, groups=None, window=10, **kwargs) -> Data:
    return Data(np.asarray(values, dtype=np.float64), np.asarray(times, dtype=np.int64),
                None if groups is None else np.asarray(groups), window, **kwargs)


# --- Exact cases, every kernel against its reference ------------------------------------------------

EDGES = {
    "empty": make([], []),
    "one event": make([7.0], [100]),
    "even count": make([1, 2, 3, 10], [0, 1, 2, 3], window=100),
    "later ties are inside": make([300, 500, 400], [0, 10, 10], window=60),
    "ties out of input order": make([5, 1, 9, 3, 7], [4, 2, 4, 2, 4], window=3),
    "window longer than the data": make([4, 8, 15, 16, 23, 42], [0, 1, 2, 3, 4, 5], window=10**9),
    "window of one second holds only ties": make([1, 2, 3, 4], [0, 0, 1, 1], window=1),
    "events leave exactly at t - window": make([1, 100, 2], [0, 5, 10], window=10),
    "NaN rows get their window's statistics": make([np.nan, 4, np.nan, 6], [0, 1, 2, 3], window=10),
    "a window of only NaN": make([np.nan, np.nan, 3.0], [0, 1, 50], window=5),
    "all NaN": make([np.nan, np.nan], [0, 1]),
    "empty groups in the label range": make([1, 2, 3, 4], [0, 0, 1, 1], groups=[3, 9, 3, 9], window=5),
    "groups interleaved and unsorted": make([9, 1, 8, 2, 7, 3], [5, 5, 1, 1, 3, 3], groups=[1, 0, 1, 0, 1, 0]),
    "string groups": make([3, 1, 2, 5], [0, 1, 2, 3], groups=["b", "a", "b", "a"], window=5),
    "sparse huge group labels": make([1, 2, 3], [0, 1, 2], groups=[10**15, -(10**15), 10**15], window=5),
    "negative and fractional values": make([-1.5, 0.25, -1.5, 3.125, 1e-9], [0, 1, 2, 3, 4], window=4),
    "within target share": make([100, 500, np.nan, 300, 700], [0, 1, 2, 3, 4], window=10,
                                within=np.array([True, False, True, True, False])),
    "large window counts for the interval": make(np.arange(40) % 7, np.arange(40), window=1000, level=0.95),
    "low level": make(np.arange(12.0), np.zeros(12), level=0.5),
    "the largest group in one window (interval ranks up to its size)": make(
        np.arange(305) % 11, np.r_[np.zeros(300), np.arange(5)], groups=np.r_[np.zeros(300), np.ones(5)].astype(int)),
    "huge time range (no room to pack)": make(np.arange(50) % 9, (np.arange(50) * 3**36) % 2**60, window=2**59),
    "huge time range with many groups (ranked times)": make(np.arange(60) % 5, (np.arange(60) * 7**20) % 2**60,
                                                             groups=np.arange(60) % 4 * 1000, window=2**58),
}


@pytest.mark.parametrize("name", list(EDGES))
def test_edges_match_naive(name):
    check(EDGES[name])


def test_docstring_example():
    assert rolling_median([300.0, 500.0, 400.0], np.array([0, 10, 10]), window=60).tolist() == [300.0, 400.0, 400.0]


def test_statistics_by_hand():
    # Six values in one window: the median of an even count, the 95 % interval (x(1), x(6)), p90.
    got = rolling_stats([6, 1, 5, 2, 4, 3], np.zeros(6, dtype=np.int64), window=1,
                        within_target=[True, True, False, False, True, True])
    assert got["count"].tolist() == [6] * 6
    assert got["median"][0] == 3.5 and got["mean"][0] == 3.5
    assert (got["ci_low"][0], got["ci_high"][0]) == (1.0, 6.0)
    assert got["p90"][0] == np.quantile([1, 2, 3, 4, 5, 6], 0.9) == 5.5
    assert got["share_within"][0] == 4 / 6
    five = rolling_stats([1.0, 2, 3, 4, 5], np.zeros(5, dtype=np.int64), window=1)
    assert np.isnan(five["ci_low"]).all() and np.isnan(five["ci_high"]).all()  # n <= 5 cannot reach 95 %
    assert np.isnan(five["share_within"]).all()


def test_datetime_times_of_any_unit_match_seconds():
    rng = np.random.default_rng(3)
    seconds = rng.integers(0, 40 * 86400, 300)
    values = rng.integers(0, 50, 300).astype(float)
    groups = rng.integers(0, 4, 300)
    expected = rolling_median(values, seconds, groups, "7d")
    for unit in ("s", "ms", "us", "ns"):
        times = seconds.astype("datetime64[s]").astype(f"datetime64[{unit}]")
        np.testing.assert_array_equal(rolling_median(values, times, groups, "7d"), expected)
    minutes = (seconds // 60).astype("datetime64[m]")
    np.testing.assert_array_equal(rolling_median(values, minutes, groups, timedelta(days=7)),
                                  rolling_median(values, seconds // 60 * 60, groups, 7 * 86400))


def test_window_forms():
    day = 86400
    assert parse_window("365d") == 365 * day
    assert parse_window(" 2w ") == 14 * day
    assert parse_window("12h") == 12 * 3600 and parse_window("30min") == 1800 and parse_window("90s") == 90
    assert parse_window(timedelta(days=1, microseconds=5)) == day + Fraction(5, 10**6)
    assert parse_window(np.timedelta64(3, "h")) == 3 * 3600
    assert parse_window(np.int64(60)) == 60
    # A fractional window on whole-second times reaches the same rows as its ceiling.
    times = np.array([0, 1, 2, 3])
    assert rolling_median([1.0, 2, 3, 4], times, window=timedelta(seconds=1.5)).tolist() == [1.0, 1.5, 2.5, 3.5]


@pytest.mark.parametrize("window,message", [
    ("365", "not understood"), ("1y", "not understood"), ("3 months", "not understood"), ("1.5d", "not understood"),
    ("0d", "longer than zero"), (-5, "longer than zero"), (np.timedelta64(1, "Y"), "no fixed length"),
])
def test_bad_windows_say_what_to_write(window, message):
    with pytest.raises(ValueError, match=message):
        rolling_median([1.0], [0], window=window)


@pytest.mark.parametrize("window", [2.5, True, None])
def test_windows_of_the_wrong_type(window):
    with pytest.raises(TypeError, match="not a length of time"):
        rolling_median([1.0], [0], window=window)


@pytest.mark.parametrize("call,message", [
    (lambda: rolling_median([1.0, 2.0], [0]), "values has 2 rows but times has 1"),
    (lambda: rolling_median([1.0], [0], groups=[1, 2]), "groups has 2 rows but times has 1"),
    (lambda: rolling_stats([1.0], [0], within_target=[True, False]), "within_target has shape"),
    (lambda: rolling_stats([1.0], [0], within_target=[2]), "within_target must be booleans"),
    (lambda: rolling_median([1.0], [0.5]), "times must be datetime64 or integer seconds"),
    (lambda: rolling_median(["a"], [0]), "values must be numbers"),
    (lambda: rolling_median([1.0, np.inf], [0, 1]), "infinite value at row 1"),
    (lambda: rolling_median([1.0, 2.0], np.array(["2025-01-01", "NaT"], dtype="datetime64[s]")),
     "missing time \\(NaT\\) at row 1"),
    (lambda: rolling_stats([1.0], [0], level=95), "level 95 must be a number between 0 and 1"),
    (lambda: rolling_stats_at([1.0], [0], None, 10, [5, 3]), "at\\[1\\] comes before at\\[0\\]"),
    (lambda: rolling_stats_at([1.0], [0], None, 10, np.array([0], dtype="datetime64[s]")),
     "at is datetime64\\[s\\] but times are seconds"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_stats_at_covers_every_group_and_time():
    got = rolling_stats_at([1.0, 2.0, 3.0], [10, 20, 30], ["x", "y", "x"], 15, np.array([0, 25, 40]))
    assert got["group"].tolist() == ["x"] * 3 + ["y"] * 3
    assert got["at"].tolist() == [0, 25, 40] * 2
    assert got["count"].tolist() == [0, 0, 1, 0, 1, 0]
    assert np.isnan(got["median"][[0, 1, 3, 5]]).all() and got["median"][2] == 3.0 and got["median"][4] == 2.0


def test_stats_at_with_datetimes_and_calendar():
    days = calendar(date(2025, 3, 29), date(2025, 4, 1))
    # Local midnights in Helsinki: 29.3. and 30.3. 00:00 EET (UTC+2), 31.3. 00:00 EEST (UTC+3).
    assert days.tolist() == np.array(["2025-03-28T22:00", "2025-03-29T22:00", "2025-03-30T21:00"],
                                     dtype="datetime64[s]").tolist()
    times = np.array(["2025-03-29T21:59:59", "2025-03-29T22:00", "2025-03-30T20:00", "2025-03-30T21:00:01"],
                     dtype="datetime64[s]")
    got = rolling_stats_at([10.0, 20.0, 30.0, 40.0], times, None, "1d", days)
    assert got["count"].tolist() == [0, 2, 3]  # (a - 1 d, a]: the evaluation time is inside, a - 1 d is not
    assert got["median"][1:].tolist() == [15.0, 20.0]


def test_calendar_weeks_start_on_monday_and_months_on_the_first():
    weeks = calendar(date(2025, 1, 1), date(2025, 1, 20), "week", zone="UTC")
    assert weeks.tolist() == np.array(["2025-01-06", "2025-01-13"], dtype="datetime64[s]").tolist()
    months = calendar(date(2025, 1, 15), date(2025, 4, 1), "month", zone="UTC")
    assert months.tolist() == np.array(["2025-02-01", "2025-03-01"], dtype="datetime64[s]").tolist()
    with pytest.raises(ValueError, match="'day', 'week', 'month'"):
        calendar(date(2025, 1, 1), date(2025, 2, 1), "year")


# --- The interval's order statistics --------------------------------------------------------------

@pytest.mark.parametrize("level", [0.95, 0.9, 0.99, 0.5, 0.8])
def test_interval_ranks_are_exact(level):
    ks = ci_ranks(level, 600)
    assert ks.tolist() == [naive.median_ci_k(n, level) for n in range(601)]


def test_interval_ranks_far_beyond_the_exact_range():
    ks = ci_ranks(0.95, 10**6)
    for n in (1000, 4099):  # past the integer-arithmetic range: the recurrence still finds the exact k
        assert ks[n] == naive.median_ci_k(n, 0.95)
    n = 10**6  # normal approximation: k ~ n/2 - 1.96 sqrt(n)/2, to within a couple of ranks
    assert abs(ks[n] - (n / 2 - 1.959964 * math.sqrt(n) / 2)) < 2
    assert (np.diff(ks) >= 0).all() and (np.diff(ks) <= 1).all()
    assert ks[5] == 0 and ks[6] == 1


# --- Properties over random data -------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def datasets(draw) -> Data:
    n = draw(st.integers(0, 40))
    span = draw(st.sampled_from([1, 6, 60, 10**6]))  # small spans: many ties in time
    times = draw(st.lists(st.integers(-span, span), min_size=n, max_size=n))
    kind = draw(st.sampled_from(["small whole", "seconds", "floats", "halves"]))
    value = {"small whole": st.integers(0, 6).map(float), "seconds": st.integers(0, 7200).map(float),
             "floats": finite, "halves": st.integers(-8, 8).map(lambda k: k / 2)}[kind]
    values = draw(st.lists(st.one_of(value, value, value, st.just(np.nan)), min_size=n, max_size=n))
    labels = draw(st.sampled_from(["none", "ints", "strings", "sparse"]))
    codes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    groups = {"none": None, "ints": np.array(codes, dtype=np.int64), "strings": np.array([f"c{c}" for c in codes]),
              "sparse": np.array(codes, dtype=np.int64) * 10**12 - 5}[labels]
    window = draw(st.integers(1, 2 * span + 3))
    within = draw(st.none() | st.lists(st.booleans(), min_size=n, max_size=n).map(np.array))
    level = draw(st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]))
    at = draw(st.lists(st.integers(-2 * span, 2 * span), max_size=6).map(lambda a: np.array(sorted(a), np.int64)))
    return make(values, times, groups, window, within=within, level=level, at=at)


@pytest.mark.parametrize("kernel", REGISTRY, ids=ids)
@hsettings(max_examples=150, deadline=None)
@given(data=datasets())
def test_matches_naive_on_random_data(kernel, data):
    assert_same(kernel.fast(data), kernel.slow(data), data)


@hsettings(max_examples=40, deadline=None)
@given(data=datasets(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(data, seed):
    order = np.random.default_rng(seed).permutation(len(data.times))
    shuffled = replace(data, values=data.values[order], times=data.times[order],
                       groups=None if data.groups is None else data.groups[order],
                       within=None if data.within is None else data.within[order])
    straight = rolling_stats(data.values, data.times, data.groups, data.window, within_target=data.within)
    mixed = rolling_stats(shuffled.values, shuffled.times, shuffled.groups, shuffled.window,
                          within_target=shuffled.within)
    for key in STATISTICS:
        np.testing.assert_allclose(mixed[key][np.argsort(order)], straight[key], rtol=1e-12, atol=1e-6)


# --- At scale: the threaded path against Polars -----------------------------------------------------

@pytest.mark.parametrize("values_kind", ["whole seconds", "eighths (ranked)"])
def test_large_input_matches_polars(values_kind):
    rng = np.random.default_rng(11)
    n = 300_000
    groups = (rng.pareto(1.2, n) * 3).astype(np.int64) % 3000  # heavy-tailed group sizes
    times = rng.integers(0, 3 * 365 * 86400, n)
    times[::7] = times[::7] // 3600 * 3600  # ties in time
    values = np.rint(rng.lognormal(6, 0.6, n)).clip(0, 7200)
    if values_kind != "whole seconds":
        values = values / 8 + rng.integers(0, 10**6, n)  # many distinct values: ranked, still exact binary
    values[::53] = np.nan
    window = 90 * 86400
    got = rolling_median(values, times, groups, "90d")
    frame = pl.DataFrame({"g": groups, "t": times, "v": values}).with_columns(pl.col("v").fill_nan(None))
    expected = frame.select(pl.col("v").rolling_median_by("t", window_size=f"{window}i", closed="right")
                            .over("g")).to_series().to_numpy()
    np.testing.assert_array_equal(got, expected)
    # Every statistic of a sample of rows against numpy on the row's window (the interval's ranks
    # for these large windows from ci_ranks, which is checked against exact arithmetic above).
    stats = rolling_stats(values, times, groups, "90d", within_target=values < 400)
    ks = ci_ranks(0.95, n)
    for row in rng.choice(n, 60, replace=False):
        members = (groups == groups[row]) & (times > times[row] - window) & (times <= times[row])
        x = np.sort(values[members & ~np.isnan(values)])
        k = ks[len(x)]
        want = {"count": len(x), "median": np.median(x), "mean": np.mean(x), "p90": np.quantile(x, 0.9),
                "ci_low": x[k - 1] if k else np.nan, "ci_high": x[len(x) - k] if k else np.nan,
                "share_within": np.mean(x < 400)}
        for key in STATISTICS:
            assert stats[key][row] == pytest.approx(want[key], rel=1e-12, nan_ok=True), (key, row)
