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


