"""The one sequence of names tried for a file or folder that must not replace an earlier one."""

from __future__ import annotations

import itertools

from valmius.names import numbered


def _first(names, n=4):
    return list(itertools.islice(names, n))


def test_the_unnumbered_name_then_2_3_and_so_on():
    assert _first(numbered("review-2022-2025-2026-01-15")) == [
        "review-2022-2025-2026-01-15", "review-2022-2025-2026-01-15-2", "review-2022-2025-2026-01-15-3",
        "review-2022-2025-2026-01-15-4"]
    assert _first(numbered("scenario-close-KU10"), 12)[-1] == "scenario-close-KU10-12"


def test_archived_exports_keep_their_ending_and_count_from_1():
    assert _first(numbered("a-2025-01-03", ".csv", separator=".", first=1)) == [
        "a-2025-01-03.csv", "a-2025-01-03.1.csv", "a-2025-01-03.2.csv", "a-2025-01-03.3.csv"]
    assert _first(numbered("README", "", separator=".", first=1), 2) == ["README", "README.1"]
