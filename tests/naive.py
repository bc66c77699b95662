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


# --- Change between two periods: permutation test and bootstrap interval -------------------------
# The same random draws as valmius.kernels.change (splitmix64, partial Fisher-Yates over one index
# array kept between splits, the smaller sample drawn), but each split builds its two samples as
# lists and takes np.median of each; ranks are counted pair by pair.

_MASK64 = (1 << 64) - 1


def splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def below(bits: int, m: int) -> int:
    return int(float(bits >> 11) * (1.0 / 9007199254740992.0) * m)


def midrank_sum(sample: list[float], pooled: list[float]) -> float:
    """Sum over ``sample`` of 1 + (number of pooled values below) + (number of others equal) / 2."""
    return sum(1 + sum(v < x for v in pooled) + (sum(v == x for v in pooled) - 1) / 2 for x in sample)


def split_statistic(a: list[float], b: list[float], statistic: str) -> float:
    if statistic == "rank":
        n = len(a) + len(b)
        return abs(midrank_sum(a, a + b) - len(a) * (n + 1) / 2)
    return abs(float(np.median(a)) - float(np.median(b)))


def shift_test(current: list[float], previous: list[float], seed: int, permutations: int, stop_after: int,
               bootstraps: int, alpha: float, statistic: str) -> dict:
    n1, n2 = len(current), len(previous)
    pooled = sorted(current + previous)
    n, k = n1 + n2, min(n1, n2)
    small, large = (current, previous) if n1 <= n2 else (previous, current)
    observed = split_statistic(small, large, statistic)
    index = list(range(n))
    state, extreme, done = seed, 0, 0
    for _ in range(permutations):
        for i in range(k):
            state, bits = splitmix64(state)
            j = i + below(bits, n - i)
            index[i], index[j] = index[j], index[i]
        chosen = set(index[:k])
        a = [pooled[p] for p in range(n) if p in chosen]
        b = [pooled[p] for p in range(n) if p not in chosen]
        done += 1
        if split_statistic(a, b, statistic) >= observed:
            extreme += 1
            if stop_after and extreme >= stop_after:
                break
    p = extreme / done if stop_after and extreme >= stop_after else (extreme + 1) / (done + 1)
    changes = []
    state = seed ^ 0xD1B54A32D192ED03
    cur, prev = sorted(current), sorted(previous)
    for _ in range(bootstraps):
        medians = []
        for sample in (cur, prev):
            draws = []
            for _ in sample:
                state, bits = splitmix64(state)
                draws.append(sample[below(bits, len(sample))])
            medians.append(float(np.median(draws)))
        changes.append(medians[0] - medians[1])
    changes.sort()
    k_ci = max(1, int((bootstraps + 1) * alpha / 2))
    return {"median_current": float(np.median(current)), "median_previous": float(np.median(previous)),
            "median_change": float(np.median(current)) - float(np.median(previous)),
            "ci_low": changes[k_ci - 1] if bootstraps else math.nan,
            "ci_high": changes[bootstraps - k_ci] if bootstraps else math.nan,
            "p_value": p, "permutations": done}


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """q-values: for each p, the smallest FDR level at which BH rejects it, min over j with p_(j) >= p
    of m * p_(j) / j (capped at 1)."""
    m = len(p_values)
    ordered = sorted(p_values)
    return [min(1.0, min(m * ordered[j] / (j + 1) for j in range(m) if ordered[j] >= p)) for p in p_values]


def first_units(rows: list[dict]) -> dict[str, dict]:
    """Per incident: its earliest alarm, its number of units, and its first unit's row: the earliest
    on-scene time (missing last), then the earliest alarm (missing last), then the smallest unit id."""
    by_incident: dict[str, list[dict]] = {}
    for row in rows:
        by_incident.setdefault(row["incident_id"], []).append(row)
    out = {}
    for incident, units in by_incident.items():
        def order(u):
            return (u["on_scene_at"] is None, u["on_scene_at"] or 0, u["alarm_at"] is None, u["alarm_at"] or 0,
                    u["unit_id"])
        first = min(units, key=order)
        alarms = [u["alarm_at"] for u in units if u["alarm_at"] is not None]
        out[incident] = {"first": first, "alarm_at": min(alarms) if alarms else None, "units_counted": len(units)}
    return out
