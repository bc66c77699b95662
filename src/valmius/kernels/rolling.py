"""Rolling-window kernels: order statistics of trailing time windows, per group.

The public wrappers in :mod:`valmius.rolling` validate the input and call these; the kernels work
on plain arrays. A value becomes a *slot*: its index in a sorted value domain ``domain`` (float64,
increasing). For whole numbers in a bounded range the domain is every integer from the smallest to
the largest value and the slot is ``value - smallest``; otherwise the domain is the distinct values
and the slot a rank. The kernels never compare floats, they count slots.

Rows travel as two int64 words (see "Ordering rows" below): a key with the group and the time, a
payload with a label (the input row, or for the median the row's position in the buckets), the
within-target flag and the slot. Groups are dense labels, times
int64 in any unit (or ranks of the distinct times), with the window length in the same unit.

A window is a multiset of slots kept as counts per slot plus a hierarchy of occupancy bitsets
(64 slots per word, 64 words per word of the level above), so that the next or previous occupied
slot is found in a few word operations however sparse the window. Order statistics are read by
*trackers*: a tracker is a slot ``p`` and the number ``below`` of window values in lower slots.
Adding or removing a value moves ``below`` by at most one and the rank a tracker follows moves
slowly, so re-seating a tracker after each step costs a few slot moves, independent of window size.

The module is longer than most on purpose: the sweeps inline the helpers above them, and Numba's
cache notices a change to a kernel's own file only, not to functions it calls from another file.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

from valmius.median_ci import ranks_beyond

_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_ONE = np.uint64(1)
_SIX = np.uint64(6)
_LOW6 = np.uint64(63)


def bitset_offsets(size: int) -> np.ndarray:
    """Word offsets of each level of an occupancy hierarchy over ``size`` slots (last entry: total words)."""
    offsets = [0]
    words = max(1, -(-size // 64))
    while True:
        offsets.append(offsets[-1] + words)
        if words == 1:
            break
        words = -(-words // 64)
    return np.array(offsets, dtype=np.int64)


@numba.njit(cache=True, nogil=True, inline="always")
def _ctz(word):
    return np.int64(trailing_zeros(word))


@numba.njit(cache=True, nogil=True, inline="always")
def _highest(word):
    return 63 - np.int64(leading_zeros(word))


@numba.njit(cache=True, nogil=True, inline="always")
def _mark(bits, offsets, slot):
    pos = np.uint64(slot)
    for level in range(len(offsets) - 1):
        at = offsets[level] + np.int64(pos >> _SIX)
        word = bits[at]
        bits[at] = word | (_ONE << (pos & _LOW6))
        if word != 0:
            return
        pos = pos >> _SIX


@numba.njit(cache=True, nogil=True, inline="always")
def _unmark(bits, offsets, slot):
    pos = np.uint64(slot)
    for level in range(len(offsets) - 1):
        at = offsets[level] + np.int64(pos >> _SIX)
        word = bits[at] & ~(_ONE << (pos & _LOW6))
        bits[at] = word
        if word != 0:
            return
        pos = pos >> _SIX


@numba.njit(cache=True, nogil=True, inline="always")
def _next_occupied(bits, offsets, slot):
    """Smallest occupied slot >= ``slot``, or -1."""
    levels = len(offsets) - 1
    level = 0
    pos = slot
    while True:
        if level == levels:
            return -1
        w = pos >> 6
        if w >= offsets[level + 1] - offsets[level]:
            return -1
        word = bits[offsets[level] + w] & (_ONES << np.uint64(pos & 63))
        if word != 0:
            pos = (w << 6) + _ctz(word)
            break
        pos = w + 1
        level += 1
    while level > 0:
        level -= 1
        pos = (pos << 6) + _ctz(bits[offsets[level] + pos])
    return pos


@numba.njit(cache=True, nogil=True, inline="always")
def _prev_occupied(bits, offsets, slot):
    """Largest occupied slot <= ``slot``, or -1."""
    levels = len(offsets) - 1
    level = 0
    pos = slot
    while True:
        if pos < 0 or level == levels:
            return -1
        w = pos >> 6
        word = bits[offsets[level] + w] & (_ONES >> np.uint64(63 - (pos & 63)))
        if word != 0:
            pos = (w << 6) + _highest(word)
            break
        pos = w - 1
        level += 1
    while level > 0:
        level -= 1
        pos = (pos << 6) + _highest(bits[offsets[level] + pos])
    return pos


@numba.njit(cache=True, nogil=True, inline="always")
def _seat(counts, bits, offsets, p, below, rank):
    """Move a tracker (slot ``p``, ``below`` values in lower slots) to the slot holding ``rank`` (0-based)."""
    while below > rank:
        p = _prev_occupied(bits, offsets, p - 1)
        below -= counts[p]
    while below + counts[p] <= rank:
        below += counts[p]
        p = _next_occupied(bits, offsets, p + 1)
    return p, below


@numba.njit(cache=True, nogil=True, inline="always")
def _slot_after(counts, bits, offsets, p, below, rank):
    """Slot of rank ``rank + 1`` given a tracker seated at ``rank``."""
    if below + counts[p] > rank + 1:
        return p
    return _next_occupied(bits, offsets, p + 1)


# The interval ranks' recurrence is plain Python beside the exact ranks it continues, so that the
# catalog runs it without loading Numba; compiled here for the engine (its cache follows that file).
ci_ranks = numba.njit(cache=True, nogil=True)(ranks_beyond)


@numba.njit(cache=True, nogil=True, inline="always")
def _quantile_linear(counts, bits, offsets, domain, p, below, lo, gamma):
    """numpy's 'linear' quantile from a tracker seated at rank ``lo`` (same rounding as ``np.quantile``)."""
    a = domain[p]
    if gamma == 0.0:
        return a
    b = domain[_slot_after(counts, bits, offsets, p, below, lo)]
    diff = b - a
    if gamma >= 0.5:
        return b - diff * (1 - gamma)
    return a + diff * gamma


@numba.njit(cache=True, nogil=True, inline="always")
def _statistics(counts, bits, offsets, domain, n, total, hits, ks, quantile, tr):
    """(median, ci_low, ci_high, mean, p_quantile, share) of the current window of ``n`` values, and
    the trackers ``tr`` = (p, below) of the median, the interval's ends and the quantile, re-seated."""
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan, np.nan, np.nan), tr
    p0, b0, p1, b1, p2, b2, p3, b3 = tr
    r = (n - 1) // 2
    p0, b0 = _seat(counts, bits, offsets, p0, b0, r)
    median = domain[p0]
    if n % 2 == 0:
        median = (median + domain[_slot_after(counts, bits, offsets, p0, b0, r)]) / 2
    k = ks[n]
    ci_low = np.nan
    ci_high = np.nan
    if k >= 1:
        p1, b1 = _seat(counts, bits, offsets, p1, b1, k - 1)
        ci_low = domain[p1]
        p2, b2 = _seat(counts, bits, offsets, p2, b2, n - k)
        ci_high = domain[p2]
    h = (n - 1) * quantile
    lo = np.int64(np.floor(h))
    p3, b3 = _seat(counts, bits, offsets, p3, b3, lo)
    upper = _quantile_linear(counts, bits, offsets, domain, p3, b3, lo, h - lo)
    return (median, ci_low, ci_high, total / n, upper, hits / n), (p0, b0, p1, b1, p2, b2, p3, b3)


@numba.njit(cache=True, nogil=True)
def scan_rows(values, times, codes, lo, hi):
    """Over rows lo..hi: (min, max, all whole numbers, number of infinite values) of the non-NaN values,
    (min, max) of the times and (min, max) of the group codes (0, 0 when ``codes`` is empty)."""
    v_lo = np.inf
    v_hi = -np.inf
    whole = True
    infinite = 0
    for i in range(lo, hi):
        v = values[i]
        if np.isnan(v):
            continue
        if np.isinf(v):
            infinite += 1
            continue
        v_lo = min(v_lo, v)
        v_hi = max(v_hi, v)
        if whole and v != np.floor(v):
            whole = False
    t_lo = times[lo]
    t_hi = times[lo]
    for i in range(lo, hi):
        t_lo = min(t_lo, times[i])
        t_hi = max(t_hi, times[i])
    g_lo = 0
    g_hi = 0
    if len(codes):
        g_lo = codes[lo]
        g_hi = codes[lo]
        for i in range(lo, hi):
            g_lo = min(g_lo, codes[i])
            g_hi = max(g_hi, codes[i])
    return v_lo, v_hi, whole, infinite, t_lo, t_hi, g_lo, g_hi


# --- Ordering rows by (group, time) ---------------------------------------------------------------
# A row becomes two int64 words: ``key = group << time_bits | time_key`` and
# ``payload = label << (slot_bits + 1) | within << slot_bits | (slot + 1)``. Rows are scattered into
# buckets by the top bits of their group (one pass over the input), so a bucket holds whole groups;
# each bucket, small enough to stay in cache, is then radix-sorted by the rest of its key and swept
# at once. Buckets are independent, so threads can share them out. A kernel with one result per row
# can label rows by their position in the buckets instead of their input row: its results then land
# inside the bucket being swept (in cache), and :func:`from_buckets` puts them in input order.


@numba.njit(cache=True, nogil=True)
def bucket_histogram(codes, group_origin, group_shift, n_buckets, lo, hi):
    """Rows lo..hi per bucket ``group >> group_shift`` (the top bits of the key are the group's).
    Group = code - group_origin (0 when ``codes`` is empty)."""
    hist = np.zeros(n_buckets, dtype=np.int64)
    if len(codes) == 0:
        hist[0] = hi - lo
        return hist
    for i in range(lo, hi):
        hist[(codes[i] - group_origin) >> group_shift] += 1
    return hist


@numba.njit(cache=True, nogil=True)
def scatter_records(codes, group_origin, times, time_origin, time_step, time_bits, shift, values, lowest, slots,
                    hits, slot_bits, lo, hi, fill, by_position, keys, payloads):
    """Write rows lo..hi as (key, payload) into their buckets, at positions ``fill[bucket]`` onwards.

    The slot of a value is ``value - lowest`` when ``slots`` is empty (whole numbers), else
    ``slots[row]``; ``hits`` (0/1 per row) may be empty. The payload names the input row, or with
    ``by_position`` the position the row is written to (see :func:`from_buckets`).
    """
    direct = len(slots) == 0
    with_hits = len(hits) > 0
    grouped = len(codes) > 0
    for i in range(lo, hi):
        tk = times[i] - time_origin
        if time_step != 1:
            tk //= time_step
        g = codes[i] - group_origin if grouped else 0
        key = (g << time_bits) | tk
        if direct:
            x = values[i]
            slot = 0 if np.isnan(x) else np.int64(x - lowest) + 1
        else:
            slot = slots[i] + 1
        b = key >> shift
        k = fill[b]
        payload = ((k if by_position else np.int64(i)) << (slot_bits + 1)) | slot
        if with_hits and hits[i]:
            payload |= np.int64(1) << slot_bits
        keys[k] = key
        payloads[k] = payload
        fill[b] = k + 1


@numba.njit(cache=True, nogil=True)
def from_buckets(codes, group_origin, group_shift, lo, hi, fill, by_position, out):
    """``out[row]`` for rows lo..hi from ``by_position``, which holds them where :func:`scatter_records`
    wrote them (its ``fill`` for the same rows). One pass in input order, reading a few hundred
    sequential streams, instead of writing every result at a random input row from its bucket."""
    grouped = len(codes) > 0
    for i in range(lo, hi):
        b = (codes[i] - group_origin) >> group_shift if grouped else 0
        k = fill[b]
        out[i] = by_position[k]
        fill[b] = k + 1


@numba.njit(cache=True, nogil=True)
def _radix_pairs(keys, payloads, s, e, bits, spare_keys, spare_payloads):
    m = e - s
    src_k = keys[s:e]
    src_p = payloads[s:e]
    dst_k = spare_keys[:m]
    dst_p = spare_payloads[:m]
    hist = np.zeros(256, dtype=np.int64)
    moved = False
    for shift in range(0, bits, 8):
        hist[:] = 0
        for k in range(m):
            hist[(src_k[k] >> shift) & 255] += 1
        total = 0
        constant = False
        for d in range(256):
            c = hist[d]
            constant |= c == m
            hist[d] = total
            total += c
        if constant:
            continue
        for k in range(m):
            d = (src_k[k] >> shift) & 255
            j = hist[d]
            dst_k[j] = src_k[k]
            dst_p[j] = src_p[k]
            hist[d] = j + 1
        src_k, dst_k = dst_k, src_k
        src_p, dst_p = dst_p, src_p
        moved = not moved
    if moved:
        keys[s:e] = src_k
        payloads[s:e] = src_p


@numba.njit(cache=True, nogil=True)
def _sort_bucket(keys, payloads, s, e, bits, packed, spare, hist):
    """Sort rows s..e (keys sharing all but their low ``bits`` bits) by key, payloads alongside.

    Small buckets by insertion; others by an LSD radix sort of (key bits, position) packed into one
    word, then payloads follow by position. ``packed`` and ``spare`` are work arrays of at least
    e - s words.
    """
    m = e - s
    if m <= 32:
        for k in range(s + 1, e):
            x = keys[k]
            y = payloads[k]
            j = k - 1
            while j >= s and keys[j] > x:
                keys[j + 1] = keys[j]
                payloads[j + 1] = payloads[j]
                j -= 1
            keys[j + 1] = x
            payloads[j + 1] = y
        return
    position_bits = 1
    while (1 << position_bits) < m:
        position_bits += 1
    if bits + position_bits > 63:  # no room to pack: radix-sort the pairs themselves, a byte at a time
        _radix_pairs(keys, payloads, s, e, bits, packed, spare)
        return
    digit = min(13, max(4, position_bits))
    passes = (bits + digit - 1) // digit
    digit = (bits + passes - 1) // passes
    size = 1 << digit
    mask = size - 1
    low = (np.int64(1) << bits) - 1
    top = keys[s] & ~low
    hist[: passes * size] = 0
    for k in range(m):
        x = keys[s + k] & low
        packed[k] = (x << position_bits) | k
        for p in range(passes):
            hist[p * size + ((x >> (p * digit)) & mask)] += 1
    src = packed
    dst = spare
    for p in range(passes):
        h = hist[p * size: (p + 1) * size]
        total = 0
        constant = False
        for d in range(size):
            c = h[d]
            if c == m:
                constant = True
            h[d] = total
            total += c
        if constant:
            continue
        shift = position_bits + p * digit
        for k in range(m):
            x = src[k]
            d = (x >> shift) & mask
            j = h[d]
            dst[j] = x
            h[d] = j + 1
        src, dst = dst, src
    position_mask = (np.int64(1) << position_bits) - 1
    for k in range(m):
        x = src[k]
        keys[s + k] = top | (x >> position_bits)
        dst[k] = payloads[s + (x & position_mask)]
    payloads[s:e] = dst[:m]


@numba.njit(cache=True, nogil=True)
def _group_end(keys, k, e, time_bits):
    g = keys[k] >> time_bits
    k += 1
    while k < e and (keys[k] >> time_bits) == g:
        k += 1
    return k


# --- Sweeps -------------------------------------------------------------------------------------
# A bucket holds whole groups. Each kernel sorts its listed buckets, then sweeps their groups one
# by one while the bucket is still in cache; threads take disjoint lists of buckets. The window of
# a row holds the rows of its group with time key in (limit, time key]: limit = time key - window,
# or ``lower_of[time key]`` when time keys are ranks of distinct times. The window structure is
# empty again after every group.
# The group sweeps allocate nothing and are compiled without Numba's reference counting
# (``_nrt=False``): with it, the inlined helpers' array arguments cost atomic updates of counters
# that both threads share, and the statistics sweep of 10 million rows took 0.9 s instead of 0.43 s.


@numba.njit(cache=True, nogil=True, _nrt=False)  # no reference counting: see "Sweeps"
def _median_group(keys, payloads, s, e, first, time_bits, window, lower_of, slot_bits, domain, offsets, counts, bits,
                  result):
    """Medians of one group's windows, at ``result[position - first]`` (payloads carry bucket positions)."""
    time_mask = (np.int64(1) << time_bits) - 1
    slot_mask = (np.int64(1) << slot_bits) - 1
    row_shift = slot_bits + 1
    ranked = len(lower_of) > 0
    p = 0
    below = 0
    n = 0
    left = s
    i = s
    while i < e:
        t = keys[i] & time_mask
        j = i
        while j < e and (keys[j] & time_mask) == t:
            v = (payloads[j] & slot_mask) - 1
            if v >= 0:
                counts[v] += 1
                if counts[v] == 1:
                    _mark(bits, offsets, v)
                if v < p:
                    below += 1
                n += 1
            j += 1
        limit = lower_of[t] if ranked else t - window
        while (keys[left] & time_mask) <= limit:
            v = (payloads[left] & slot_mask) - 1
            if v >= 0:
                counts[v] -= 1
                if counts[v] == 0:
                    _unmark(bits, offsets, v)
                if v < p:
                    below -= 1
                n -= 1
            left += 1
        if n == 0:
            m = np.nan
        else:
            r = (n - 1) // 2
            p, below = _seat(counts, bits, offsets, p, below, r)
            m = domain[p]
            if n % 2 == 0:
                m = (m + domain[_slot_after(counts, bits, offsets, p, below, r)]) / 2
        for k in range(i, j):
            result[(payloads[k] >> row_shift) - first] = m
        i = j
    while left < e:
        v = (payloads[left] & slot_mask) - 1
        if v >= 0:
            counts[v] -= 1
            if counts[v] == 0:
                _unmark(bits, offsets, v)
        left += 1


@numba.njit(cache=True, nogil=True)
def _scratch(bucket_starts, buckets, domain, offsets):
    """Work arrays of one thread: two sort buffers and a histogram, slot counts and occupancy bits."""
    largest = 1
    for q in buckets:
        largest = max(largest, bucket_starts[q + 1] - bucket_starts[q])
    return (np.empty(largest, dtype=np.int64), np.empty(largest, dtype=np.int64), np.zeros(8192 * 5, dtype=np.int64), np.zeros(len(domain), dtype=np.int32),
            np.zeros(offsets[-1], dtype=np.uint64))


@numba.njit(cache=True, nogil=True)
def median_buckets(keys, payloads, bucket_starts, buckets, sort_bits, time_bits, window, lower_of, slot_bits, domain,
                   offsets, medians):
    """Sort the listed buckets, then the median of each of their rows' windows.

    Payloads carry each row's position in the buckets (``by_position`` of :func:`scatter_records`),
    and the median of a row is written at that position of ``medians``, which may be ``keys``
    itself seen as float64: a bucket's medians are stored once its keys are no longer read.
    """
    packed, spare, hist, counts, bits = _scratch(bucket_starts, buckets, domain, offsets)
    result = packed.view(np.float64)  # free once the bucket is sorted
    for q in buckets:
        s = bucket_starts[q]
        e = bucket_starts[q + 1]
        _sort_bucket(keys, payloads, s, e, sort_bits, packed, spare, hist)
        k = s
        while k < e:
            end = _group_end(keys, k, e, time_bits)
            _median_group(keys, payloads, k, end, s, time_bits, window, lower_of, slot_bits, domain, offsets, counts,
                          bits, result)
            k = end
        medians[s:e] = result[: e - s]


# The statistics kernels keep their four trackers in a tuple of plain integers, TRACKERS_START at
# first: kept in registers, where arrays of trackers are re-read after every store to the counts
# (the compiler cannot tell they do not overlap); the sweep took a third longer that way.
TRACKERS_START = (0, 0, 0, 0, 0, 0, 0, 0)


@numba.njit(cache=True, nogil=True, inline="always")
def _enter(counts, bits, offsets, domain, payload, slot_bits, n, total, hits, tr):
    """Add a row to the window (if it has a value): the new (count, sum, within-target count, trackers)."""
    v = (payload & ((np.int64(1) << slot_bits) - 1)) - 1
    if v < 0:
        return n, total, hits, tr
    counts[v] += 1
    if counts[v] == 1:
        _mark(bits, offsets, v)
    p0, b0, p1, b1, p2, b2, p3, b3 = tr
    tr = (p0, b0 + (v < p0), p1, b1 + (v < p1), p2, b2 + (v < p2), p3, b3 + (v < p3))
    return n + 1, total + domain[v], hits + ((payload >> slot_bits) & 1), tr


@numba.njit(cache=True, nogil=True, inline="always")
def _leave(counts, bits, offsets, domain, payload, slot_bits, n, total, hits, tr):
    """Remove a row from the window: the new (count, sum, within-target count, trackers)."""
    v = (payload & ((np.int64(1) << slot_bits) - 1)) - 1
    if v < 0:
        return n, total, hits, tr
    counts[v] -= 1
    if counts[v] == 0:
        _unmark(bits, offsets, v)
    p0, b0, p1, b1, p2, b2, p3, b3 = tr
    tr = (p0, b0 - (v < p0), p1, b1 - (v < p1), p2, b2 - (v < p2), p3, b3 - (v < p3))
    if n == 1:
        return 0, 0.0, 0, tr  # an empty window forgets the rounding of its running sum
    return n - 1, total - domain[v], hits - ((payload >> slot_bits) & 1), tr


@numba.njit(cache=True, nogil=True, inline="always")
def _store(row, n, stats, count, median, ci_low, ci_high, mean, upper, share):
    count[row] = n
    median[row], ci_low[row], ci_high[row], mean[row], upper[row], share[row] = stats


@numba.njit(cache=True, nogil=True, _nrt=False)  # no reference counting: see "Sweeps"
def _stats_group(keys, payloads, s, e, time_bits, window, lower_of, slot_bits, domain, offsets, ks, quantile,
                 counts, bits, count, median, ci_low, ci_high, mean, upper, share,
                 row0, lower, upper_key, at_count, at_median, at_ci_low, at_ci_high, at_mean, at_upper, at_share):
    """One group's sweep in time order: the statistics of every row's window (when ``count`` is not
    empty), and of the windows (lower[m], upper_key[m]] (time keys, both non-decreasing), written
    at ``row0 + m`` of the ``at_`` arrays. A window (lower, upper] is read just before the first row
    after ``upper`` enters: every row it holds has entered, and ``lower`` is at most the limit of
    that row, so rows leave in one pass for both kinds of window."""
    time_mask = (np.int64(1) << time_bits) - 1
    row_shift = slot_bits + 1
    ranked = len(lower_of) > 0
    per_row = len(count) > 0
    points = len(lower)
    tr = TRACKERS_START
    n, total, hits = 0, 0.0, 0
    left = s
    i = s
    m = 0
    while m < points or (per_row and i < e):
        if m < points and (i == e or upper_key[m] < (keys[i] & time_mask)):  # a window ends before the next row
            while left < i and (keys[left] & time_mask) <= lower[m]:
                n, total, hits, tr = _leave(counts, bits, offsets, domain, payloads[left], slot_bits, n, total, hits,
                                            tr)
                left += 1
            stats, tr = _statistics(counts, bits, offsets, domain, n, total, hits, ks, quantile, tr)
            _store(row0 + m, n, stats, at_count, at_median, at_ci_low, at_ci_high, at_mean, at_upper, at_share)
            m += 1
            continue
        t = keys[i] & time_mask
        j = i
        while j < e and (keys[j] & time_mask) == t:
            n, total, hits, tr = _enter(counts, bits, offsets, domain, payloads[j], slot_bits, n, total, hits, tr)
            j += 1
        limit = lower_of[t] if ranked else t - window
        while (keys[left] & time_mask) <= limit:
            n, total, hits, tr = _leave(counts, bits, offsets, domain, payloads[left], slot_bits, n, total, hits, tr)
            left += 1
        if per_row:
            stats, tr = _statistics(counts, bits, offsets, domain, n, total, hits, ks, quantile, tr)
            for k in range(i, j):
                _store(payloads[k] >> row_shift, n, stats, count, median, ci_low, ci_high, mean, upper, share)
        i = j
    for k in range(left, i):  # rows after the last window of a sweep without per-row statistics never entered
        n, total, hits, tr = _leave(counts, bits, offsets, domain, payloads[k], slot_bits, n, total, hits, tr)


@numba.njit(cache=True, nogil=True)
def stats_buckets(keys, payloads, bucket_starts, buckets, sort_bits, time_bits, window, lower_of, slot_bits, domain,
                  offsets, ks, quantile, count, median, ci_low, ci_high, mean, upper, share,
                  lower, upper_key, ordinal_of, at_count, at_median, at_ci_low, at_ci_high, at_mean, at_upper, at_share):
    """Sort the listed buckets, then every statistic of each of their rows' windows, written at the
    index the payload names (the input row, or with ``by_position`` the row's place in the buckets),
    unless ``count`` is empty; and of the windows (lower[m], upper_key[m]] of each of their groups,
    written at ``ordinal_of[group] * len(lower) + m`` of the ``at_`` arrays.

    Bit ``slot_bits`` of a payload is the row's within-target flag; ``share`` counts it over the
    window's rows that have a value.
    """
    packed, spare, hist, counts, bits = _scratch(bucket_starts, buckets, domain, offsets)
    for q in buckets:
        s = bucket_starts[q]
        e = bucket_starts[q + 1]
        _sort_bucket(keys, payloads, s, e, sort_bits, packed, spare, hist)
        k = s
        while k < e:
            end = _group_end(keys, k, e, time_bits)
            row0 = ordinal_of[keys[k] >> time_bits] * len(lower) if len(lower) else 0
            _stats_group(keys, payloads, k, end, time_bits, window, lower_of, slot_bits, domain, offsets, ks,
                         quantile, counts, bits, count, median, ci_low, ci_high, mean, upper, share,
                         row0, lower, upper_key, at_count, at_median, at_ci_low, at_ci_high, at_mean, at_upper,
                         at_share)
            k = end
