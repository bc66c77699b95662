"""Areas: the connected-components kernel against hand-made grids and a breadth-first reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import naive
from valmius.kernels.components import connected_components


def _grid(picture: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Cells from a picture: a letter is a cell (its expected area), '.' is empty; top row is the highest y."""
    rows = picture.strip().splitlines()
    cells, expected = [], []
    for r, line in enumerate(rows):
        for x, char in enumerate(line.strip()):
            if char != ".":
                cells.append((x, len(rows) - 1 - r))
                expected.append(char)
    return cells, expected


def _same_partition(labels, expected) -> bool:
    pairs = set(zip(labels, expected))
    return len(pairs) == len(set(labels)) == len(set(expected))


@pytest.mark.parametrize(("picture4", "picture8"), [
    ("""
     aa.b
     a..b
     ..c.
     """, """
     aa.b
     a..b
     ..b.
     """),
    ("""
     a.b
     .c.
     d.e
     """, """
     a.a
     .a.
     a.a
     """),
    ("""
     aa..
     aa..
     ..b.
     ...c
     """, """
     aa..
     aa..
     ..a.
     ...a
     """),
])
def test_hand_made_grids(picture4, picture8):
    cells4, expected4 = _grid(picture4)
    cells8, expected8 = _grid(picture8)
    assert cells4 == cells8
    ix, iy = np.array(cells4).T
    assert _same_partition(connected_components(ix, iy, 4).tolist(), expected4)
    assert _same_partition(connected_components(ix, iy, 8).tolist(), expected8)


def test_labels_follow_the_smallest_cell_and_keep_input_order():
    ix = np.array([10, 0, 11, 0])
    iy = np.array([5, 0, 5, 1])
    assert connected_components(ix, iy, 4).tolist() == [1, 0, 1, 0]


def test_edges():
    assert connected_components([], [], 8).tolist() == []
    assert connected_components([7], [-3], 4).tolist() == [0]
    # Far apart in y but the same column: no wrap-around between columns.
    assert connected_components([0, 1], [0, 10**6], 8).tolist() == [0, 1]
    assert connected_components([0, 0], [0, 1], 8).tolist() == [0, 0]
    # Last row of one column and first row of the next are not neighbours.
    assert connected_components([0, 1], [5, 0], 8).tolist() == [0, 1]


def test_bad_input():
    with pytest.raises(ValueError, match="distinct"):
        connected_components([1, 1], [2, 2], 8)
    with pytest.raises(ValueError, match="4 or 8"):
        connected_components([1], [2], 6)


@hsettings(max_examples=300, deadline=None)
@given(cells=st.sets(st.tuples(st.integers(-6, 6), st.integers(-6, 6)), max_size=80),
       neighbourhood=st.sampled_from([4, 8]), seed=st.integers(0, 2**32 - 1))
def test_matches_breadth_first_search(cells, neighbourhood, seed):
    cells = list(cells)
    np.random.default_rng(seed).shuffle(cells)
    expected = naive.connected_components(cells, neighbourhood)
    ix = np.array([c[0] for c in cells], dtype=np.int64)
    iy = np.array([c[1] for c in cells], dtype=np.int64)
    assert connected_components(ix, iy, neighbourhood).tolist() == expected
