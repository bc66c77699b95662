"""Slow, obviously right references that the fast kernels must match."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import product
from zoneinfo import ZoneInfo


def local_to_utc_candidates(text: str, fmt: str, zone: str) -> list[int] | None:
    """All UTC epoch seconds whose wall-clock time in ``zone`` reads ``text``; None if it does not parse."""
    try:
        naive = datetime.strptime(text.strip(), fmt)
    except ValueError:
        return None
    tz = ZoneInfo(zone)
    found = set()
    for fold in (0, 1):
        aware = naive.replace(tzinfo=tz, fold=fold)
        utc = aware.astimezone(timezone.utc)
        # Keep only readings that map back to the same wall clock (skipped times do not).
        if utc.astimezone(tz).replace(tzinfo=None) == naive:
            found.add(int(utc.timestamp()))
    return sorted(found)


def resolve_row(candidates: list[list[int] | None]) -> list[int | None] | str:
    """Brute force over every combination of readings: keep ordered ones, take the shortest span.

    ``candidates[j]`` lists the possible UTC readings of time j (None: missing). Returns the chosen
    readings, or "ambiguous" when two different choices tie, or "unordered" when none is ordered.
    """
    options = [c if c else [None] for c in candidates]
    best: list[tuple[int, tuple]] = []
    for combo in product(*options):
        present = [v for v in combo if v is not None]
        if any(b < a for a, b in zip(present, present[1:])):
            continue
        span = present[-1] - present[0] if present else 0
        best.append((span, combo))
    if not best:
        return "unordered"
    shortest = min(s for s, _ in best)
    winners = {combo for s, combo in best if s == shortest}
    if len(winners) > 1:
        return "ambiguous"
    return list(next(iter(winners)))


def helsinki(text: str) -> datetime:
    """A Helsinki wall-clock text (d.m.yyyy hh:mm:ss) as an aware UTC datetime (first reading)."""
    naive = datetime.strptime(text, "%d.%m.%Y %H:%M:%S")
    return naive.replace(tzinfo=ZoneInfo("Europe/Helsinki")).astimezone(timezone.utc)


# --- Rolling windows ---------------------------------------------------------------------------
# One row at a time, straight from the conventions in valmius.rolling: (t - length, t], ties in
# time inside, NaN values left out, numpy on each window alone.

import functools
import math
from fractions import Fraction

import numpy as np


def window_rows(times, groups, length: int, at: int, group) -> list[int]:
    """Rows of ``group`` with time in (at - length, at]."""
    return [j for j in range(len(times)) if groups[j] == group and at - length < times[j] <= at]


@functools.cache
def median_ci_k(n: int, level: float) -> int:
    """Largest k with P(Binomial(n, 1/2) <= k - 1) <= (1 - level) / 2, by exact fractions; 0 if none."""
    half_alpha = (1 - Fraction(str(level))) / 2
    k = 0
    below = 0  # sum of C(n, i) for i < k + 1, built up one term at a time
    while k < n:
        below += math.comb(n, k)
        if Fraction(below, 2**n) > half_alpha:
            break
        k += 1
    return k


def window_stats(values: list[float], hits: list[bool] | None, level: float) -> dict:
    """Statistics of one window's rows (NaN values are dropped here) by numpy on the window alone."""
    keep = [i for i, v in enumerate(values) if not math.isnan(v)]
    x = np.sort(np.array([values[i] for i in keep], dtype=np.float64))
    n = len(x)
    if n == 0:
        return {"count": 0, "median": np.nan, "ci_low": np.nan, "ci_high": np.nan, "mean": np.nan, "p90": np.nan,
                "share_within": np.nan}
    k = median_ci_k(n, level)
    return {
        "count": n,
        "median": float(np.median(x)),
        "ci_low": float(x[k - 1]) if k >= 1 else np.nan,
        "ci_high": float(x[n - k]) if k >= 1 else np.nan,
        "mean": float(np.mean(x)),
        "p90": float(np.quantile(x, 0.9)),
        "share_within": float(np.mean([bool(hits[i]) for i in keep])) if hits is not None else np.nan,
    }


def rolling_stats(values, times, groups, length: int, within_target=None, level: float = 0.95) -> dict:
    """Per row: statistics of its group's window (t - length, t], in input order (integer times)."""
    n = len(times)
    groups = [0] * n if groups is None else list(groups)
    rows = []
    for i in range(n):
        members = window_rows(times, groups, length, times[i], groups[i])
        hits = None if within_target is None else [within_target[j] for j in members]
        rows.append(window_stats([values[j] for j in members], hits, level))
    keys = ["count", "median", "ci_low", "ci_high", "mean", "p90", "share_within"]
    return {key: np.array([row[key] for row in rows], dtype=np.int64 if key == "count" else np.float64) for key in keys}


def rolling_median(values, times, groups, length: int) -> np.ndarray:
    return rolling_stats(values, times, groups, length)["median"]


def rolling_stats_at(values, times, groups, length: int, at, within_target=None, level: float = 0.95) -> dict:
    """Per (group, a), groups sorted: statistics of the window (a - length, a]."""
    n = len(times)
    groups = [0] * n if groups is None else list(groups)
    rows = []
    for group in sorted(set(groups)):
        for a in at:
            members = window_rows(times, groups, length, a, group)
            hits = None if within_target is None else [within_target[j] for j in members]
            rows.append({"group": group, "at": a, **window_stats([values[j] for j in members], hits, level)})
    keys = ["group", "at", "count", "median", "ci_low", "ci_high", "mean", "p90", "share_within"]
    return {key: np.array([row[key] for row in rows]) for key in keys}


# --- Areas: connected components of cells --------------------------------------------------------

def connected_components(cells: list[tuple[int, int]], neighbourhood: int) -> list[int]:
    """Breadth-first search over a set of cells; components numbered in order of their smallest cell."""
    offsets = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    if neighbourhood == 8:
        offsets += [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    present = set(cells)
    component: dict[tuple[int, int], int] = {}
    for start in sorted(present):
        if start in component:
            continue
        label = len(set(component.values()))
        queue = [start]
        component[start] = label
        while queue:
            x, y = queue.pop()
            for dx, dy in offsets:
                other = (x + dx, y + dy)
                if other in present and other not in component:
                    component[other] = label
                    queue.append(other)
    return [component[c] for c in cells]
