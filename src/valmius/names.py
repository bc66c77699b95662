"""Names for files and folders that must never replace an earlier one of the same name.

A review folder, a scenario page or an archived export is named by what it holds (a period, a
change, the export's own name); written again under the same name, it goes beside the earlier one
under the first free name of one sequence: ``name``, then ``name-2``, ``name-3``, ... (archived
exports keep their ending and count from 1: ``export.csv``, ``export.1.csv``, ...). What "free"
means is the caller's: no such file, none of a page's three files, or a rename that succeeded (so
that a name another process takes meanwhile is passed over).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator


def numbered(name: str, ending: str = "", *, separator: str = "-", first: int = 2) -> Iterator[str]:
    """``name + ending``, then ``name-2 + ending``, ``name-3 + ending``, ... without end: the names
    to try, in order, until one is free (``separator`` and ``first`` give ``name.1.csv``, ...)."""
    yield name + ending
    for number in itertools.count(first):
        yield f"{name}{separator}{number}{ending}"
