"""The ranks of the median's confidence interval, without Numba.

With n values sorted x(1) <= ... <= x(n), the distribution-free interval of the median at ``level``
is (x(k), x(n - k + 1)), where k is the largest integer with P(Binomial(n, 1/2) <= k - 1) <=
(1 - level) / 2; k = 0 means that n values cannot reach the level (n <= 5 at 95 %). k is exact
(integer arithmetic) up to n = ``EXACT_UP_TO`` and follows a floating-point recurrence of the
binomial tail beyond (relative error below 1e-9).

The recurrence, :func:`ranks_beyond`, is one plain loop with two users. The rolling engine
(``valmius.rolling.ci_ranks``) runs it compiled by Numba (``valmius.kernels.rolling.ci_ranks``), for
windows of any size; the catalog's ``median_ci_rank`` macro runs it here in Python, 0.05 s for
100,000 counts, so that writing the catalog does not load Numba and its kernels (0.6 s). Both run
the same source and give the same ranks (checked over many levels in tests/test_catalog.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache

import numpy as np

EXACT_UP_TO = 256


def check_level(level: float) -> None:
    """Raise ValueError unless ``level`` is a number strictly between 0 and 1."""
    if not (isinstance(level, (float, int, np.floating)) and 0 < level < 1):
        raise ValueError(f"level {level!r} must be a number between 0 and 1 (exclusive), e.g. 0.95")


@lru_cache(maxsize=8)
def exact_ranks(level_text: str) -> tuple[list[int], int, float, float, float]:
    """k(n) for n <= ``EXACT_UP_TO`` by integer arithmetic, and the binomial state at n =
    ``EXACT_UP_TO`` to continue from (the arguments ``j0``, ``f0``, ``pmf0``, ``pmf1`` of
    :func:`ranks_beyond`)."""
    alpha = 1 - Fraction(level_text)
    ks = []
    state = (0, 0.0, 0.0, 0.0)
    for n in range(EXACT_UP_TO + 1):
        # P(X <= j) <= alpha/2  <=>  2 * sum_{i<=j} C(n, i) <= alpha * 2^n
        limit = alpha * 2**n
        total = 0
        term = 1
        j = -1
        while 2 * (total + term) <= limit:
            total += term
            j += 1
            term = term * (n - j) // (j + 1)
        ks.append(j + 1)
        if n == EXACT_UP_TO:
            pmf_j = math.comb(n, j) / 2**n if j >= 0 else 0.0
            state = (j, total / 2**n, pmf_j, term / 2**n)
    return ks, *state


def ranks_beyond(n_max, half_alpha, n0, j0, f0, pmf0, pmf1):
    """k(n) for n = n0..n_max: the largest k with P(Binomial(n, 1/2) <= k - 1) <= half_alpha.

    Continues from an exactly computed state at ``n0``: ``j0 = k(n0) - 1``, ``f0`` = P(X <= j0),
    ``pmf0`` = P(X = j0), ``pmf1`` = P(X = j0 + 1) (0 where j0 = -1). Uses
    P_{n+1}(X <= j) = P_n(X <= j) - P_n(X = j) / 2; k grows by at most one per step. Entries
    below ``n0`` are left 0 for the caller to fill. Plain Python that Numba also compiles as it is
    (``valmius.kernels.rolling.ci_ranks``): keep it to what Numba compiles.
    """
    out = np.zeros(n_max + 1, dtype=np.int64)
    j = j0
    f = f0
    p0 = pmf0
    p1 = pmf1
    if n0 <= n_max:
        out[n0] = j + 1
    for n in range(n0, n_max):
        f -= p0 / 2
        if j >= 0:
            p0 = p0 * (n + 1) / (2 * (n + 1 - j))
        p1 = p1 * (n + 1) / (2 * (n - j))
        while f + p1 <= half_alpha:
            j += 1
            f += p1
            p0 = p1
            p1 = p1 * (n + 1 - j) / (j + 1)
        out[n + 1] = j + 1
    return out


def ci_ranks(level: float, n_max: int, beyond: Callable[..., np.ndarray] = ranks_beyond) -> np.ndarray:
    """k(n) for n = 0..n_max: the median's interval is (x(k), x(n - k + 1)); k = 0 means no interval.

    ``beyond`` computes the ranks past ``EXACT_UP_TO``: :func:`ranks_beyond` itself, or its
    compiled twin."""
    check_level(level)
    ks, j, f, pmf0, pmf1 = exact_ranks(str(float(level)))
    if n_max <= EXACT_UP_TO:
        return np.array(ks[: n_max + 1], dtype=np.int64)
    half_alpha = float((1 - Fraction(str(float(level)))) / 2)
    out = beyond(n_max, half_alpha, EXACT_UP_TO, j, f, pmf0, pmf1)
    out[:EXACT_UP_TO] = ks[:EXACT_UP_TO]
    return out
