"""Order unit rows by (unit id, newest first) within each incident, when incidents come in id order.

The merge keeps the newest row of each (incident, unit) and stores rows in key order. An export
lists incidents in id order with each incident's units together, so a partition built from it
needs only the few rows of each incident sorted: an insertion sort per incident, comparing unit
ids by their UTF-8 bytes (the order Polars, Parquet and DuckDB use), instead of Polars sorting all
rows by four keys, two of them text. Incidents with more than ``max_run_rows`` rows make the kernel
give up; the caller then sorts the plain way.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from valmius.kernels.timestamps import string_buffers

MAX_RUN_ROWS = 512


@numba.njit(cache=True, nogil=True, inline="always")
def _text_order(offsets, data, a, b) -> int:
    """-1, 0 or 1 as text ``a`` sorts before, equal to or after text ``b`` (bytewise)."""
    a_start, b_start = offsets[a], offsets[b]
    a_len, b_len = offsets[a + 1] - a_start, offsets[b + 1] - b_start
    for k in range(min(a_len, b_len)):
        x, y = data[a_start + k], data[b_start + k]
        if x != y:
            return -1 if x < y else 1
    if a_len == b_len:
        return 0
    return -1 if a_len < b_len else 1


@numba.njit(cache=True, nogil=True, inline="always")
def _before(offsets, data, file_seq, source_row, a, b) -> bool:
    """Row ``a`` before row ``b``: unit id ascending, then the newer export and the later line first."""
    text = _text_order(offsets, data, a, b)
    if text != 0:
        return text < 0
    if file_seq[a] != file_seq[b]:
        return file_seq[a] > file_seq[b]
    return source_row[a] > source_row[b]


@numba.njit(cache=True, nogil=True, _nrt=False)
def order_within_runs(starts_run, offsets, data, file_seq, source_row, max_run_rows, out_order, out_is_first) -> bool:
    """Fill ``out_order`` (row positions in key order) and ``out_is_first`` (True where a unit id
    differs from the row before it in that order, or a run begins); False if a run is too long."""
    n = len(out_order)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and not starts_run[stop]:
            stop += 1
        if stop - start > max_run_rows:
            return False
        for k in range(start, stop):  # insertion sort of the run's positions
            at = k
            while at > start and _before(offsets, data, file_seq, source_row, k, out_order[at - 1]):
                out_order[at] = out_order[at - 1]
                at -= 1
            out_order[at] = k
        out_is_first[start] = True
        for k in range(start + 1, stop):
            out_is_first[k] = _text_order(offsets, data, out_order[k - 1], out_order[k]) != 0
        start = stop
    return True


def order_units(starts_run: np.ndarray, unit_id: pa.Array, file_seq: np.ndarray,
                source_row: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions in key order, True at the first row of each key) for rows whose incidents come in
    id order, ``starts_run`` True at each incident's first row; None if an incident has more than
    ``MAX_RUN_ROWS`` rows or a unit id is missing."""
    offsets, data, is_null = string_buffers(unit_id)
    if is_null is not None:
        return None
    n = len(starts_run)
    order = np.empty(n, dtype=np.int64)
    is_first = np.empty(n, dtype=np.bool_)
    starts = np.ascontiguousarray(starts_run, dtype=np.bool_)
    seqs = np.ascontiguousarray(file_seq, dtype=np.int64)
    lines = np.ascontiguousarray(source_row, dtype=np.int64)
    if not order_within_runs(starts, offsets, data, seqs, lines, MAX_RUN_ROWS, order, is_first):
        return None
    return order, is_first
