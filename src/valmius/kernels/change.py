"""Two-sample change kernels: has the median moved between two periods, in many groups at once?

Each group has a *current* and a *previous* sample of values. The kernel gives, per group:

- ``median_current``, ``median_previous`` and their difference ``median_change`` (current minus
  previous; an even count's median is the mean of its two middle values);
- a two-sided **permutation p-value**: the pooled values are split at random into samples of the
  two sizes, again and again; the p-value is the share of splits whose statistic is at least as
  extreme as the observed one, counting the observed split itself, so it is valid (never too small)
  however few splits are drawn: ``(1 + extreme) / (1 + permutations)``. With ``stop_after > 0`` the
  drawing stops once ``stop_after`` extreme splits are seen, after ``l`` splits, and the p-value is
  ``stop_after / l`` (Besag & Clifford 1991, also valid): groups that are plainly noise cost a few
  hundred splits, and only small p-values are worth the full count. Statistic 0 is ``|median
  change|``; statistic 1 is the Mann–Whitney rank sum (midranks for ties) of one sample minus its
  expectation, in absolute value. Ties are no problem: the test is conditional on the pooled values;
- a **bootstrap percentile interval** of the median change: each period is resampled with
  replacement on its own, ``bootstraps`` times, and the interval is the pair of order statistics
  ``k`` and ``B + 1 - k`` of the resampled changes, ``k = floor((B + 1) * alpha / 2)`` (at least 1).

Random numbers come from splitmix64, one stream per group seeded by ``seeds[g]`` (the wrapper
derives it from the group's name), so a group's result never depends on the other groups and the
same seed gives the same result. A split draws ``k = min(n_current, n_previous)`` positions of the
sorted pooled values by a partial Fisher–Yates shuffle of one index array that is kept from one
split to the next; the drawn positions are the smaller sample (if the sizes are equal, either:
the statistic is symmetric). So swapping the two samples draws the very same splits and gives the
same p-value. ``tests/naive.py`` follows the same draws with plain Python lists and ``np.median``.

Layout: group ``g`` holds ``values[starts[g]:starts[g + 1]]``, its current sample first
(``n_current[g]`` values, ascending), then its previous sample (ascending).
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
BOOTSTRAP_STREAM = np.uint64(0xD1B54A32D192ED03)
"""XORed into a group's seed for the stream of its bootstrap resamples."""
_INV_2_53 = 1.0 / 9007199254740992.0
STATISTICS = {"median": 0, "rank": 1}


@numba.njit(cache=True, nogil=True, inline="always")
def _next(state):
    """splitmix64: (new state, 64 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True, inline="always")
def _below(bits, m):
    """A whole number in [0, m) from 64 random bits (53 of them used)."""
    return int(np.float64(bits >> np.uint64(11)) * _INV_2_53 * m)


@numba.njit(cache=True, nogil=True)
def _split_statistic(pooled, midranks, drawn, stamp, k, statistic):
    """|statistic| of the split whose drawn sample is the positions with ``drawn[p] == stamp``."""
    n = len(pooled)
    if statistic == 1:
        total = 0.0
        for p in range(n):
            if drawn[p] == stamp:
                total += midranks[p]
        return abs(total - k * (n + 1) / 2.0)
    m = n - k
    lo_a, hi_a, lo_b, hi_b = (k - 1) // 2, k // 2, (m - 1) // 2, m // 2
    seen_a = seen_b = 0
    a_lo = a_hi = b_lo = b_hi = 0.0
    for p in range(n):
        if drawn[p] == stamp:
            if seen_a == lo_a:
                a_lo = pooled[p]
            if seen_a == hi_a:
                a_hi = pooled[p]
            seen_a += 1
        else:
            if seen_b == lo_b:
                b_lo = pooled[p]
            if seen_b == hi_b:
                b_hi = pooled[p]
            seen_b += 1
    median_a = a_lo if k % 2 == 1 else (a_lo + a_hi) / 2.0
    median_b = b_lo if m % 2 == 1 else (b_lo + b_hi) / 2.0
    return abs(median_a - median_b)


@numba.njit(cache=True, nogil=True, inline="always")
def _sorted_median(values, lo, n):
    if n % 2 == 1:
        return values[lo + n // 2]
    return (values[lo + n // 2 - 1] + values[lo + n // 2]) / 2.0


@numba.njit(cache=True, nogil=True)
def _resampled_median(values, lo, n, counts, state):
    """Median of n draws with replacement from the ascending ``values[lo:lo + n]``; (median, state)."""
    counts[:n] = 0
    for _ in range(n):
        state, bits = _next(state)
        counts[_below(bits, n)] += 1
    low_rank, high_rank = (n - 1) // 2, n // 2
    low = high = -1
    seen = 0
    for i in range(n):
        seen += counts[i]
        if low < 0 and seen > low_rank:
            low = i
        if seen > high_rank:
            high = i
            break
    if n % 2 == 1:
        return values[lo + low], state
    return (values[lo + low] + values[lo + high]) / 2.0, state


@numba.njit(cache=True, nogil=True)
def shift_tests(values, starts, n_current, seeds, permutations, stop_after, bootstraps, alpha, statistic):
    """Per group: median_current, median_previous, median_change, ci_low, ci_high, p_value and the
    number of permutations drawn (see the module docstring). Groups with an empty side get NaN."""
    groups = len(starts) - 1
    median_current = np.full(groups, np.nan)
    median_previous = np.full(groups, np.nan)
    ci_low = np.full(groups, np.nan)
    ci_high = np.full(groups, np.nan)
    p_value = np.full(groups, np.nan)
    drawn_count = np.zeros(groups, dtype=np.int64)
    largest = 0
    for g in range(groups):
        largest = max(largest, starts[g + 1] - starts[g])
    pooled = np.empty(largest)
    from_current = np.empty(largest, dtype=np.bool_)
    midranks = np.empty(largest)
    index = np.empty(largest, dtype=np.int64)
    drawn = np.zeros(largest, dtype=np.int64)
    counts = np.zeros(largest, dtype=np.int64)
    changes = np.empty(max(bootstraps, 1))
    k_ci = max(1, int((bootstraps + 1) * alpha / 2.0))
    for g in range(groups):
        lo = starts[g]
        n1 = n_current[g]
        n = starts[g + 1] - lo
        n2 = n - n1
        if n1 == 0 or n2 == 0:
            continue
        median_current[g] = _sorted_median(values, lo, n1)
        median_previous[g] = _sorted_median(values, lo + n1, n2)
        # Merge the two ascending samples into the ascending pooled values.
        i, j = 0, 0
        for p in range(n):
            if j >= n2 or (i < n1 and values[lo + i] <= values[lo + n1 + j]):
                pooled[p] = values[lo + i]
                from_current[p] = True
                i += 1
            else:
                pooled[p] = values[lo + n1 + j]
                from_current[p] = False
                j += 1
        p = 0
        while p < n:  # midranks: tied values share the mean of their ranks
            q = p
            while q + 1 < n and pooled[q + 1] == pooled[p]:
                q += 1
            for r in range(p, q + 1):
                midranks[r] = (p + q) / 2.0 + 1.0
            p = q + 1
        # The drawn sample is the smaller one (the current one when the sizes are equal).
        k = min(n1, n2)
        current_is_drawn = n1 <= n2
        for p in range(n):
            index[p] = p
            drawn[p] = 1 if from_current[p] == current_is_drawn else 0
        observed = _split_statistic(pooled[:n], midranks[:n], drawn[:n], 1, k, statistic)
        for p in range(n):
            drawn[p] = 0
        state = seeds[g]
        extreme = 0
        done = 0
        p_value[g] = np.nan
        for r in range(permutations):
            for i in range(k):
                state, bits = _next(state)
                j = i + _below(bits, n - i)
                index[i], index[j] = index[j], index[i]
                drawn[index[i]] = r + 2  # a stamp per split: no clearing needed
            done += 1
            if _split_statistic(pooled[:n], midranks[:n], drawn[:n], r + 2, k, statistic) >= observed:
                extreme += 1
                if stop_after > 0 and extreme >= stop_after:
                    break
        drawn_count[g] = done
        if stop_after > 0 and extreme >= stop_after:
            p_value[g] = extreme / done
        else:
            p_value[g] = (extreme + 1.0) / (done + 1.0)
        if bootstraps > 0:
            state = seeds[g] ^ BOOTSTRAP_STREAM
            for b in range(bootstraps):
                current, state = _resampled_median(values, lo, n1, counts, state)
                previous, state = _resampled_median(values, lo + n1, n2, counts, state)
                changes[b] = current - previous
            ordered = np.sort(changes[:bootstraps])
            ci_low[g] = ordered[k_ci - 1]
            ci_high[g] = ordered[bootstraps - k_ci]
    return median_current, median_previous, median_current - median_previous, ci_low, ci_high, p_value, drawn_count


def group_seeds(keys, seed: int) -> np.ndarray:
    """One 64-bit seed per group from its name and the global ``seed``: a group's random stream
    depends on nothing else (not on which other groups are tested, nor on their order)."""
    import hashlib

    out = np.empty(len(keys), dtype=np.uint64)
    for i, key in enumerate(keys):
        digest = hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


LARGE_SAMPLE_FROM = 1000
"""Groups with at least this many tasks on both sides are tested by large-sample approximations:
resampling them costs (permutations + bootstraps) x n, minutes for a department's whole year, and
at such sizes the approximations are as good as the resampling they replace."""


def _midranks(pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midranks (1-based, ties averaged) and the sizes of the tie groups."""
    order = np.argsort(pooled, kind="stable")
    _, first, counts = np.unique(pooled[order], return_index=True, return_counts=True)
    ranks = np.empty(len(pooled))
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return ranks, counts


def _median_interval(sorted_values: np.ndarray, z: float) -> tuple[float, float]:
    """Order-statistic interval of a median, ranks from the normal approximation of Bin(n, 1/2)."""
    n = len(sorted_values)
    k = max(1, int(np.floor(n / 2 - z * np.sqrt(n) / 2)))
    return float(sorted_values[k - 1]), float(sorted_values[n - k])


def _large_sample(current: np.ndarray, previous: np.ndarray, level: float, statistic: str) -> tuple[float, ...]:
    """(p-value, ci_low, ci_high) of a large group: the rank-sum statistic's normal approximation
    with the tie correction (or, for the median statistic, the change over its standard error); the
    interval is the change plus and minus z standard errors, each median's standard error read off
    its distribution-free order-statistic interval."""
    from math import erfc, sqrt
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    change = float(np.median(current) - np.median(previous))
    errors = []
    for sample in (np.sort(current), np.sort(previous)):
        low, high = _median_interval(sample, z)
        errors.append((high - low) / (2 * z))
    error = sqrt(errors[0] ** 2 + errors[1] ** 2)
    if statistic == "rank":
        n1, n2 = len(current), len(previous)
        n = n1 + n2
        ranks, ties = _midranks(np.concatenate([current, previous]))
        u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
        variance = n1 * n2 / 12 * ((n + 1) - float((ties ** 3 - ties).sum()) / (n * (n - 1)))
        score = 0.0 if variance <= 0 else (u - n1 * n2 / 2) / sqrt(variance)
    else:
        score = 0.0 if error == 0 else change / error
    return erfc(abs(score) / sqrt(2)), change - z * error, change + z * error


def median_shift_tests(values, groups, is_current, seeds, *, permutations: int = 9999, stop_after: int = 100,
                       bootstraps: int = 1999, level: float = 0.95, statistic: str = "median",
                       large_sample_from: int = LARGE_SAMPLE_FROM) -> dict[str, np.ndarray]:
    """Per group ``0 .. len(seeds) - 1``: n_current, n_previous, median_current, median_previous,
    median_change (current minus previous), ci_low, ci_high (bootstrap percentile interval at
    ``level``), p_value (two-sided permutation test) and permutations (splits drawn; 0 for groups
    with ``large_sample_from`` tasks or more on both sides, which :func:`_large_sample` judges).

    ``values`` (finite numbers), ``groups`` (integer labels) and ``is_current`` (True: the current
    period, False: the previous one) have one entry per task, in any order. A group with an empty
    side gets NaN figures and 0 permutations."""
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups)
    is_current = np.asarray(is_current)
    seeds = np.asarray(seeds, dtype=np.uint64)
    n_groups = len(seeds)
    if not (values.ndim == groups.ndim == is_current.ndim == 1 and len(values) == len(groups) == len(is_current)):
        raise ValueError(f"values, groups and is_current must be 1-d arrays of one length, got shapes "
                         f"{values.shape}, {groups.shape} and {is_current.shape}")
    if len(values) and groups.dtype.kind not in "iu":
        raise ValueError(f"groups must be integer labels 0 .. {n_groups - 1}, got {groups.dtype}")
    if len(values) and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"groups must be labels 0 .. {n_groups - 1} (one seed per group), found "
                         f"{int(groups.min())} .. {int(groups.max())}")
    if is_current.dtype.kind != "b":
        raise ValueError(f"is_current must be booleans, got {is_current.dtype}")
    if not np.isfinite(values).all():
        row = int(np.argmin(np.isfinite(values)))
        raise ValueError(f"values must be finite numbers; row {row} is {values[row]}: drop missing responses first")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    if permutations < 0 or stop_after < 0 or bootstraps < 0:
        raise ValueError("permutations, stop_after and bootstraps must be at least 0")
    if not 0 < level < 1:
        raise ValueError(f"level must be a coverage between 0 and 1, such as 0.95, not {level!r}")
    # Order by group, current before previous, then value: each group's two ascending samples.
    order = np.lexsort((values, ~is_current, groups.astype(np.int64)))
    sorted_groups = groups[order].astype(np.int64)
    starts = np.searchsorted(sorted_groups, np.arange(n_groups + 1)).astype(np.int64)
    n_current = np.bincount(groups[is_current].astype(np.int64), minlength=n_groups).astype(np.int64)
    n_total = np.diff(starts)
    large = np.minimum(n_current, n_total - n_current) >= large_sample_from
    # Large groups go through the kernel without resampling; their p-values and intervals follow.
    sorted_values = values[order]
    keep = ~np.repeat(large, n_total)
    small_starts = np.concatenate([[0], np.cumsum(np.where(large, 0, n_total))]).astype(np.int64)
    median_current, median_previous, change, ci_low, ci_high, p_value, drawn = shift_tests(
        sorted_values[keep], small_starts, np.where(large, 0, n_current), seeds, int(permutations),
        int(stop_after), int(bootstraps), 1.0 - float(level), STATISTICS[statistic])
    for g in np.flatnonzero(large):
        lo, mid, hi = starts[g], starts[g] + n_current[g], starts[g + 1]
        current, previous = sorted_values[lo:mid], sorted_values[mid:hi]
        median_current[g], median_previous[g] = np.median(current), np.median(previous)
        change[g] = median_current[g] - median_previous[g]
        p_value[g], ci_low[g], ci_high[g] = _large_sample(current, previous, float(level), statistic)
        drawn[g] = 0
    return {"n_current": n_current, "n_previous": n_total - n_current, "median_current": median_current,
            "median_previous": median_previous, "median_change": change, "ci_low": ci_low, "ci_high": ci_high,
            "p_value": p_value, "permutations": drawn}
