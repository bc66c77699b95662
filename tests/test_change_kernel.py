"""The change kernel: exact agreement with the slow reference in tests/naive.py, its invariances,
and its error rates: false positives on data with no change, power on a planted shift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import naive
from valmius.kernels.change import group_seeds, median_shift_tests


def _run(samples: list[tuple[list[float], list[float]]], seed: int = 0, keys=None, **kw) -> dict[str, np.ndarray]:
    values, groups, current = [], [], []
    for g, (cur, prev) in enumerate(samples):
        values += list(cur) + list(prev)
        groups += [g] * (len(cur) + len(prev))
        current += [True] * len(cur) + [False] * len(prev)
    return median_shift_tests(np.array(values, dtype=float), np.array(groups, dtype=np.int64),
                              np.array(current, dtype=bool), group_seeds(keys or range(len(samples)), seed), **kw)


def _naive(cur, prev, seed_key, seed=0, permutations=9999, stop_after=100, bootstraps=1999, level=0.95,
           statistic="median"):
    seed_value = int(group_seeds([seed_key], seed)[0])
    return naive.shift_test(list(map(float, cur)), list(map(float, prev)), seed_value, permutations, stop_after,
                            bootstraps, 1 - level, statistic)


KEYS = ("median_current", "median_previous", "median_change", "ci_low", "ci_high", "p_value", "permutations")


@pytest.mark.parametrize("statistic", ["median", "rank"])
def test_hand_made_groups_match_the_reference(statistic):
    samples = [
        ([300, 320, 340, 360, 380], [400, 420, 440, 460, 480, 500]),  # clear shift, even count
        ([360, 360, 360, 361], [360, 360, 359, 360]),                  # ties everywhere
        ([5.5, 1.0, 3.25], [2.0]),                                      # unsorted, one task on a side
        ([7, 7], [7, 7, 7]),                                            # all equal: p = 1
    ]
    kw = dict(permutations=300, stop_after=20, bootstraps=199, statistic=statistic)
    out = _run(samples, seed=5, **kw)
    for g, (cur, prev) in enumerate(samples):
        expected = _naive(cur, prev, g, seed=5, **kw)
        for key in KEYS:
            assert out[key][g] == pytest.approx(expected[key], nan_ok=True, rel=0, abs=0), (g, key)
    assert out["median_change"].tolist()[:2] == [-110.0, 0.0]
    assert out["p_value"][3] == 1.0 and out["ci_low"][3] == out["ci_high"][3] == 0.0
    assert out["n_current"].tolist() == [5, 4, 3, 2] and out["n_previous"].tolist() == [6, 4, 1, 3]


def test_empty_side_and_no_groups():
    out = _run([([1.0, 2.0], []), ([], [])])
    assert np.isnan(out["p_value"]).all() and out["permutations"].tolist() == [0, 0]
    assert np.isnan(out["median_change"]).all() and out["n_current"].tolist() == [2, 0]
    empty = median_shift_tests(np.array([]), np.array([], dtype=np.int64), np.array([], dtype=bool),
                               group_seeds([], 0))
    assert all(len(v) == 0 for v in empty.values())


def test_p_values_are_never_below_their_resolution():
    out = _run([(list(range(100)), list(range(1000, 1100)))], permutations=99, stop_after=0)
    assert out["p_value"][0] == 1 / 100 and out["permutations"][0] == 99


def test_bad_input_says_what_to_do():
    seeds = group_seeds([0], 0)
    with pytest.raises(ValueError, match="finite.*row 1.*drop missing"):
        median_shift_tests([1.0, np.nan], [0, 0], [True, False], seeds)
    with pytest.raises(ValueError, match="labels 0 .. 0"):
        median_shift_tests([1.0, 2.0], [0, 1], [True, False], seeds)
    with pytest.raises(ValueError, match="statistic must be one of median, rank"):
        median_shift_tests([1.0], [0], [True], seeds, statistic="mean")
    with pytest.raises(ValueError, match="booleans"):
        median_shift_tests([1.0], [0], [1], seeds)


small_sample = st.lists(st.integers(0, 40), min_size=1, max_size=9)


@hsettings(max_examples=60, deadline=None)
@given(cur=small_sample, prev=small_sample, seed=st.integers(0, 2**31), statistic=st.sampled_from(["median", "rank"]),
       stop_after=st.sampled_from([0, 5]))
def test_matches_the_reference(cur, prev, seed, statistic, stop_after):
    kw = dict(permutations=60, stop_after=stop_after, bootstraps=39, statistic=statistic)
    out = _run([(cur, prev)], seed=seed, **kw)
    expected = _naive(cur, prev, 0, seed=seed, **kw)
    for key in KEYS:
        assert out[key][0] == pytest.approx(expected[key], rel=0, abs=0), key


@hsettings(max_examples=60, deadline=None)
@given(cur=small_sample, prev=small_sample, seed=st.integers(0, 2**31), shift=st.integers(-500, 500),
       statistic=st.sampled_from(["median", "rank"]))
def test_invariances(cur, prev, seed, shift, statistic):
    kw = dict(permutations=80, stop_after=10, bootstraps=59, statistic=statistic)
    base = _run([(cur, prev)], seed=seed, **kw)
    again = _run([(cur, prev)], seed=seed, **kw)
    assert all(np.array_equal(base[k], again[k], equal_nan=True) for k in KEYS)  # same seed, same result
    # Shifting both samples by a constant moves the medians and nothing else.
    moved = _run([([v + shift for v in cur], [v + shift for v in prev])], seed=seed, **kw)
    for key in ("median_change", "ci_low", "ci_high", "p_value", "permutations"):
        assert moved[key][0] == base[key][0], key
    assert moved["median_current"][0] == base["median_current"][0] + shift
    # Swapping the samples draws the same splits: the same p-value, the change mirrored.
    swapped = _run([(prev, cur)], seed=seed, **kw)
    assert swapped["p_value"][0] == base["p_value"][0]
    assert swapped["median_change"][0] == -base["median_change"][0]
    # Another group beside it changes nothing about it; the input order does not matter either.
    crowd = _run([([1, 2, 3], [4, 5]), (cur[::-1], prev)], seed=seed, keys=["other", 0], **kw)
    assert all(crowd[k][1] == base[k][0] for k in KEYS)


def _lognormal_groups(rng, groups: int, n: int, shift_s: float, sigma: float = 0.3):
    """Response times in whole seconds: lognormal around a 6:00 median (middle half about 4:55-7:18)."""
    cur = np.round(360 * rng.lognormal(0, sigma, (groups, n)) + shift_s)
    prev = np.round(360 * rng.lognormal(0, sigma, (groups, n)))
    return [(c, p) for c, p in zip(cur, prev)]


@pytest.mark.parametrize("statistic", ["median", "rank"])
def test_false_positive_rate_with_no_change(statistic):
    rng = np.random.default_rng(2024)
    groups = 600
    out = _run(_lognormal_groups(rng, groups, 25, 0.0), seed=1, statistic=statistic, bootstraps=0)
    rejected = int((out["p_value"] < 0.05).sum())
    # Binomial(600, 0.05): mean 30, sd 5.3; a valid test may be a little conservative (ties).
    assert 12 <= rejected <= 46, rejected
    # The interval of a no-change group covers 0 about 95 % of the time.
    out = _run(_lognormal_groups(rng, 300, 25, 0.0), seed=2, statistic=statistic, permutations=0)
    covered = int(((out["ci_low"] <= 0) & (out["ci_high"] >= 0)).sum())
    assert covered >= 270, covered


@pytest.mark.parametrize(("statistic", "power"), [("rank", 0.90), ("median", 0.80)])
def test_power_on_a_planted_90_s_shift(statistic, power):
    rng = np.random.default_rng(7)
    out = _run(_lognormal_groups(rng, 200, 40, 90.0), seed=3, statistic=statistic, bootstraps=499)
    assert (out["p_value"] < 0.05).mean() >= power
    covered = ((out["ci_low"] <= 90) & (out["ci_high"] >= 90)).mean()
    assert covered >= 0.9 and np.median(out["median_change"]) == pytest.approx(90, abs=15)


def test_large_groups_use_large_sample_approximations_that_agree_with_resampling():
    rng = np.random.default_rng(4)
    values, groups, current = [], [], []
    for g, shift in enumerate([0, 0, 25, 60]):
        for side, extra in ((True, shift), (False, 0)):
            drawn = np.round(rng.lognormal(np.log(360), 0.3, 1200) + extra)  # whole seconds: many ties
            values.append(drawn)
            groups.append(np.full(1200, g))
            current.append(np.full(1200, side))
    values, groups, current = np.concatenate(values), np.concatenate(groups), np.concatenate(current)
    seeds = group_seeds([str(g) for g in range(4)], 1)
    fast = median_shift_tests(values, groups, current, seeds, statistic="rank", large_sample_from=1000)
    slow = median_shift_tests(values, groups, current, seeds, statistic="rank", large_sample_from=10**9,
                              permutations=1999, stop_after=0, bootstraps=499)
    assert (fast["permutations"] == 0).all() and (slow["permutations"] == 1999).all()
    assert np.allclose(fast["median_change"], slow["median_change"])
    for g in range(4):  # resampling p-values have a standard error of about 0.01 here
        assert abs(fast["p_value"][g] - slow["p_value"][g]) < 0.04 + 0.2 * slow["p_value"][g]
        width_fast, width_slow = fast["ci_high"][g] - fast["ci_low"][g], slow["ci_high"][g] - slow["ci_low"][g]
        assert 0.6 < width_fast / width_slow < 1.6
    assert fast["p_value"][3] < 1e-6 and fast["ci_low"][3] > 0


def test_large_sample_false_positive_rate():
    rng = np.random.default_rng(9)
    n_groups, n = 200, 1000
    values = np.round(rng.lognormal(np.log(360), 0.3, n_groups * 2 * n))
    groups = np.repeat(np.arange(n_groups), 2 * n)
    current = np.tile(np.repeat([True, False], n), n_groups)
    out = median_shift_tests(values, groups, current, group_seeds([str(g) for g in range(n_groups)], 2),
                             statistic="rank")
    assert (out["permutations"] == 0).all()
    assert 2 <= (out["p_value"] < 0.05).sum() <= 22  # binomial(200, 0.05): mean 10
