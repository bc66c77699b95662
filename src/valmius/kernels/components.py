"""Connected components of grid cells: flagged cells that touch become one area.

A cell is a pair of integer indices (column ``ix``, row ``iy``) on a square grid. Two cells touch
when they share a side (4-neighbourhood) or a side or a corner (8-neighbourhood). Cells are packed
into one sorted int64 key, ``ix * height + iy``, so that each neighbour is a fixed key offset found by
binary search; a union-find joins them. The smallest key of a component is its root, so labels come
out in order of each component's first cell (smallest ``ix``, then smallest ``iy``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@numba.njit(cache=True)
def label_sorted_keys(keys, steps):
    """Component label (0, 1, ...) of each of the sorted, distinct ``keys``; ``steps`` are the
    positive key offsets of the neighbours to look up (the other half are found from the other side)."""
    n = len(keys)
    parent = np.arange(n)
    for i in range(n):
        for s in steps:
            j = np.searchsorted(keys, keys[i] + s)
            if j < n and keys[j] == keys[i] + s:
                a = _find(parent, i)
                b = _find(parent, j)
                if a < b:
                    parent[b] = a
                elif b < a:
                    parent[a] = b
    labels = np.empty(n, dtype=np.int64)
    next_label = 0
    for i in range(n):
        root = _find(parent, i)
        if root == i:
            labels[i] = next_label
            next_label += 1
        else:
            labels[i] = labels[root]  # root < i, labelled already
    return labels


def connected_components(ix, iy, neighbourhood: int = 8) -> np.ndarray:
    """Component label of every cell (``ix[i]``, ``iy[i]``), numbered from 0 in order of each
    component's smallest (ix, iy); input order is kept. Cells must be distinct."""
    if neighbourhood not in (4, 8):
        raise ValueError(f"neighbourhood must be 4 or 8, not {neighbourhood!r}")
    ix = np.asarray(ix, dtype=np.int64)
    iy = np.asarray(iy, dtype=np.int64)
    if ix.shape != iy.shape or ix.ndim != 1:
        raise ValueError(f"ix and iy must be 1-d arrays of the same length, got {ix.shape} and {iy.shape}")
    if len(ix) == 0:
        return np.empty(0, dtype=np.int64)
    # Rows shifted to start at 1 and a height with a spare row above and below: neighbour offsets
    # never wrap into the next column.
    height = int(iy.max() - iy.min()) + 3
    width = int(ix.max() - ix.min()) + 1
    if width * height >= 2**62:
        raise ValueError("cells span too large an area to label at once")
    keys = (ix - ix.min()) * height + (iy - iy.min() + 1)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if (np.diff(sorted_keys) == 0).any():
        raise ValueError("cells must be distinct; the same (ix, iy) appears twice")
    steps = [height, 1] if neighbourhood == 4 else [height, 1, height + 1, height - 1]
    labels_sorted = label_sorted_keys(sorted_keys, np.array(steps, dtype=np.int64))
    labels = np.empty_like(labels_sorted)
    labels[order] = labels_sorted
    return labels
