"""Timestamp kernels: parse local wall-clock text and convert it to UTC with the real time-zone rules.

Exports give local time without an offset (Finland: ``d.m.yyyy hh:mm:ss`` in Europe/Helsinki), so
the October hour repeats and the March hour does not exist. These kernels parse Arrow string
buffers directly (no Python objects per value) and classify every value:

- ``OK``: parsed and unique in UTC,
- ``MISSING``: empty text,
- ``UNPARSEABLE``: text that does not follow the format,
- ``IMPOSSIBLE``: follows the format but names no real time (31.2., 25:00),
- ``NONEXISTENT``: a local time skipped by a daylight-saving change,
- ``AMBIGUOUS``: a local time that occurs twice; both UTC readings are returned and
  :func:`resolve_repeated_hour` picks one from the order of a row's status times.

Format patterns use strftime codes: ``%d %m %Y %y %H %I %M %S %f %p``, any other character is a
literal, a space matches one or more spaces. Day, month, hour, minute and second accept one or two
digits, so ``3.1.2025 7:05:09`` and ``03.01.2025 07:05:09`` both parse.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numba
import numpy as np
import pyarrow as pa

OK, MISSING, UNPARSEABLE, IMPOSSIBLE, NONEXISTENT, AMBIGUOUS = 0, 1, 2, 3, 4, 5

# Operation codes of a compiled pattern; the numbers come first (the parser tells them by ``op <= _SECOND``).
_DAY, _MONTH, _YEAR4, _YEAR2, _HOUR24, _HOUR12, _MINUTE, _SECOND, _FRACTION, _AMPM, _LITERAL, _SPACE = range(12)
_CODES = {"d": _DAY, "m": _MONTH, "Y": _YEAR4, "y": _YEAR2, "H": _HOUR24, "I": _HOUR12,
          "M": _MINUTE, "S": _SECOND, "f": _FRACTION, "p": _AMPM}


def compile_format(pattern: str) -> np.ndarray:
    """Compile a strftime-style pattern into an (n, 2) int64 array of (operation, literal byte)."""
    ops: list[tuple[int, int]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            if i + 1 >= len(pattern) or pattern[i + 1] not in _CODES:
                code = pattern[i + 1 : i + 2]
                raise ValueError(f"unsupported code %{code} in timestamp format {pattern!r}; use {' '.join('%' + c for c in _CODES)}")
            ops.append((_CODES[pattern[i + 1]], 0))
            i += 2
            continue
        encoded = ch.encode("utf-8")
        if ch == " ":
            ops.append((_SPACE, 32))
        else:
            ops.extend((_LITERAL, b) for b in encoded)
        i += 1
    return np.array(ops, dtype=np.int64).reshape(-1, 2)


@numba.njit(cache=True, nogil=True, inline="always")
def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@numba.njit(cache=True, nogil=True, inline="always")
def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@numba.njit(cache=True, nogil=True)
def parse_local_seconds(offsets, data, ops, out_seconds, out_status):
    """Parse each string ``data[offsets[i]:offsets[i+1]]`` to local epoch seconds (wall clock as if UTC)."""
    n = len(offsets) - 1
    codes = ops[:, 0].copy()
    literals = ops[:, 1].copy()
    for i in range(n):
        pos = offsets[i]
        end = offsets[i + 1]
        while pos < end and (data[pos] == 32 or data[pos] == 9):
            pos += 1
        while end > pos and (data[end - 1] == 32 or data[end - 1] == 9 or data[end - 1] == 13):
            end -= 1
        out_seconds[i] = 0
        if pos == end:
            out_status[i] = MISSING
            continue
        year = 1970
        month = 1
        day = 1
        hour = 0
        minute = 0
        second = 0
        pm = -1
        hour12 = False
        ok = True
        for k in range(len(codes)):
            op = codes[k]
            if op == _LITERAL:
                if pos < end and data[pos] == literals[k]:
                    pos += 1
                else:
                    ok = False
            elif op <= _SECOND:  # a number of one to two digits (a year: four)
                max_digits = 4 if op == _YEAR4 else 2
                value = 0
                digits = 0
                while pos < end and digits < max_digits and 48 <= data[pos] <= 57:
                    value = value * 10 + (data[pos] - 48)
                    pos += 1
                    digits += 1
                if digits == 0 or (op == _YEAR4 and digits != 4):
                    ok = False
                elif op == _DAY:
                    day = value
                elif op == _MONTH:
                    month = value
                elif op == _YEAR4:
                    year = value
                elif op == _YEAR2:
                    year = 2000 + value if value < 69 else 1900 + value
                elif op == _HOUR24:
                    hour = value
                elif op == _HOUR12:
                    hour = value
                    hour12 = True
                elif op == _MINUTE:
                    minute = value
                else:
                    second = value
            elif op == _SPACE:
                if pos < end and data[pos] == 32:
                    while pos < end and data[pos] == 32:
                        pos += 1
                else:
                    ok = False
            elif op == _AMPM:
                if pos + 1 < end and (data[pos + 1] == 77 or data[pos + 1] == 109):
                    c = data[pos]
                    if c == 65 or c == 97:
                        pm = 0
                    elif c == 80 or c == 112:
                        pm = 1
                    else:
                        ok = False
                    pos += 2
                else:
                    ok = False
            else:  # _FRACTION: up to nine digits, read and dropped
                digits = 0
                while pos < end and digits < 9 and 48 <= data[pos] <= 57:
                    pos += 1
                    digits += 1
                if digits == 0:
                    ok = False
            if not ok:
                break
        if not ok or pos != end:
            out_status[i] = UNPARSEABLE
            continue
        if hour12:
            if pm < 0 or hour < 1 or hour > 12:
                out_status[i] = IMPOSSIBLE
                continue
            hour = hour % 12 + (12 if pm == 1 else 0)
        if month < 1 or month > 12 or day < 1 or day > _days_in_month(year, month) or hour > 23 or minute > 59 or second > 59:
            out_status[i] = IMPOSSIBLE
            continue
        out_seconds[i] = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
        out_status[i] = OK


_MARGIN_S = 36 * 3600
_FAR_FUTURE_S = np.iinfo(np.int64).max // 4


@numba.njit(cache=True, nogil=True)
def local_to_utc(local_seconds, status, starts_utc, offsets_s, out_early, out_late):
    """Convert local seconds to UTC with a zone's transitions; mark NONEXISTENT and AMBIGUOUS values.

    ``starts_utc[k]`` is the UTC second from which ``offsets_s[k]`` applies (``starts_utc[0]`` is
    the far past). For an ambiguous value, ``out_early`` is the first occurrence and ``out_late``
    the second; otherwise both are equal.
    """
    n_zones = len(starts_utc)
    # The local times that only one offset reads, 36 hours or more from its period's ends, come in
    # runs (exports come in call order): the last such span is tried first (4.3 -> 1.0 ns a value).
    span_lo, span_hi, span_offset = 1, 0, 0
    for i in range(len(local_seconds)):
        if status[i] != OK:
            out_early[i] = 0
            out_late[i] = 0
            continue
        local = local_seconds[i]
        if span_lo <= local < span_hi:
            out_early[i] = local - span_offset
            out_late[i] = local - span_offset
            continue
        # No offset exceeds 18 hours, so the candidates lie within this index range.
        k = np.searchsorted(starts_utc, local - 18 * 3600, side="right") - 1
        if k < 0:
            k = 0
        found = 0
        first = 0
        first_k = 0
        second = 0
        while k < n_zones and starts_utc[k] <= local + 18 * 3600:
            u = local - offsets_s[k]
            upper = starts_utc[k + 1] if k + 1 < n_zones else u + 1
            if starts_utc[k] <= u and u < upper:
                if found == 0:
                    first = u
                    first_k = k
                else:
                    second = u
                found += 1
            k += 1
        if found == 0:
            status[i] = NONEXISTENT
            out_early[i] = 0
            out_late[i] = 0
        elif found == 1:
            out_early[i] = first
            out_late[i] = first
            # With no offset over 18 hours, a local time 36 hours inside the period's ends is no
            # other period's local time.
            span_offset = offsets_s[first_k]
            span_lo = starts_utc[first_k] + span_offset + _MARGIN_S
            span_hi = (starts_utc[first_k + 1] if first_k + 1 < n_zones else _FAR_FUTURE_S) + span_offset - _MARGIN_S
        else:
            status[i] = AMBIGUOUS
            out_early[i] = min(first, second)
            out_late[i] = max(first, second)


@numba.njit(cache=True, nogil=True)
def resolve_repeated_hour(early, late, status):
    """Pick one UTC reading for ambiguous values from the order of each row's status times.

    ``early``, ``late`` and ``status`` are (rows, k) arrays of a row's times in their natural order
    (call, alarm, en route, on scene, free). Candidates switch from the first to the second
    occurrence at one point in that order; a candidate must keep the present times non-decreasing,
    and the one with the shortest span wins. A tie between different readings stays AMBIGUOUS.
    Resolved values are written into ``early`` and their status set to OK.
    """
    rows, k = early.shape
    cand = np.empty(k, dtype=np.int64)
    best = np.empty(k, dtype=np.int64)
    for r in range(rows):
        has_ambiguous = False
        for j in range(k):
            if status[r, j] == AMBIGUOUS:
                has_ambiguous = True
        if not has_ambiguous:
            continue
        best_span = -1
        tie = False
        for switch in range(k + 1):
            for j in range(k):
                if status[r, j] == AMBIGUOUS:
                    cand[j] = early[r, j] if j < switch else late[r, j]
                else:
                    cand[j] = early[r, j]
            valid = True
            lo = 0
            hi = 0
            prev = 0
            seen = False
            for j in range(k):
                st = status[r, j]
                if st != OK and st != AMBIGUOUS:
                    continue
                if seen and cand[j] < prev:
                    valid = False
                    break
                if not seen:
                    lo = cand[j]
                prev = cand[j]
                hi = cand[j]
                seen = True
            if not valid:
                continue
            span = hi - lo
            if best_span < 0 or span < best_span:
                best_span = span
                best[:] = cand
                tie = False
            elif span == best_span:
                for j in range(k):
                    if cand[j] != best[j]:
                        tie = True
        if best_span < 0 or tie:
            continue
        for j in range(k):
            if status[r, j] == AMBIGUOUS:
                early[r, j] = best[j]
                late[r, j] = best[j]
                status[r, j] = OK


ZONE_FIRST_YEAR, ZONE_LAST_YEAR = 1950, 2100
"""The years whose time-zone rules are known to the kernels."""


@functools.lru_cache(maxsize=32)
def zone_transitions(zone: str, first_year: int = ZONE_FIRST_YEAR,
                     last_year: int = ZONE_LAST_YEAR) -> tuple[np.ndarray, np.ndarray]:
    """(starts_utc, offsets_s) of a time zone between two years, found by probing ``zoneinfo``.

    Offsets are sampled daily and every change is narrowed to the exact second by bisection; no
    zone changes its offset twice within a day. The offset of the first day holds before it and the
    last one after the end, so the table is exact for times from ``first_year`` to ``last_year``.
    """
    tz = ZoneInfo(zone)

    def offset(t: int) -> int:
        return int(datetime.fromtimestamp(t, tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    start = int(datetime(first_year, 1, 1, tzinfo=timezone.utc).timestamp())
    stop = int(datetime(last_year + 1, 1, 1, tzinfo=timezone.utc).timestamp())
    step = 86400
    starts = [np.iinfo(np.int64).min // 2]
    offsets = [offset(start)]
    t = start
    current = offsets[0]
    while t < stop:
        nxt = t + step
        off = offset(nxt)
        if off != current:
            lo, hi = t, nxt  # offset(lo) == current, offset(hi) != current
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            starts.append(hi)
            offsets.append(off)
            current = off
        t = nxt
    return np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64)


def string_buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(offsets, bytes, is_null) views of an Arrow string array, without copying the text."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type == pa.large_string():
        offset_type = np.int64
    elif array.type == pa.string():
        offset_type = np.int32
    else:
        raise TypeError(f"expected an Arrow string array, got {array.type}")
    validity, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    is_null = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    return offsets, data, is_null


def parse_to_utc(
    array: pa.Array, pattern: np.ndarray, zone: str, out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse local timestamps of one column: (utc_early_s, utc_late_s, status) per value.

    ``out`` can give the three contiguous result arrays (int64, int64, int8) to write into.
    """
    offsets, data, is_null = string_buffers(array)
    n = len(offsets) - 1
    if out is None:
        out = (np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int8))
    early, late, status = out
    local = early  # local_to_utc reads each value before it writes its UTC readings in its place
    parse_local_seconds(offsets, data, pattern, local, status)
    if is_null is not None:
        status[is_null] = MISSING
    parsed, lowest, highest = _parsed_range(local, status)
    if parsed == 0:
        early[:] = 0
        late[:] = 0
        return early, late, status
    # Only the years the values fall in (and one either side) are probed: a night's export needs
    # one year of the zone's rules, not 150. Outside 1950-2100 the nearest known offset holds.
    first_year = min(max(_year_of(lowest) - 1, ZONE_FIRST_YEAR), ZONE_LAST_YEAR)
    last_year = max(min(_year_of(highest) + 1, ZONE_LAST_YEAR), first_year)
    starts, offs = zone_transitions(zone, first_year, last_year)
    local_to_utc(local, status, starts, offs, early, late)
    return early, late, status


@numba.njit(cache=True, nogil=True, _nrt=False)
def _parsed_range(local_seconds, status):
    """(number of OK values, lowest, highest) of the parsed local seconds."""
    count = 0
    lowest = 0
    highest = 0
    for i in range(len(status)):
        if status[i] == OK:
            value = local_seconds[i]
            if count == 0 or value < lowest:
                lowest = value
            if count == 0 or value > highest:
                highest = value
            count += 1
    return count, lowest, highest


def _year_of(seconds: int) -> int:
    """Calendar year of epoch seconds, give or take one (an average Gregorian year is 31,556,952 s)."""
    return 1970 + seconds // 31_556_952
