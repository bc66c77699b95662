"""The first unit of each incident, in one pass over unit rows that come incident by incident.

Used by :func:`valmius.responses.first_units` on the ``units`` table in its stored order (each
incident's rows together, by unit id). ``tests/test_first_unit.py`` checks it, and the Polars sort
that serves units in any other order, against a naive loop.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def first_rows(starts, on_scene, on_scene_ok, alarm, alarm_ok):
    """Per run of rows (a run begins where ``starts`` is True; row 0 must begin one):

    - ``first``: the row of the run's first unit: the earliest on-scene time (missing ones last),
      ties broken by the earliest alarm (missing last), then by the earlier row;
    - ``alarm_min`` and ``alarm_any``: the run's earliest alarm, and whether it has one;
    - ``rows``: the run's number of rows.

    Times are integers (e.g. microseconds); ``*_ok`` say which are present.
    """
    runs = 0
    for i in range(len(starts)):
        runs += starts[i]
    first = np.empty(runs, dtype=np.int64)
    alarm_min = np.zeros(runs, dtype=np.int64)
    alarm_any = np.zeros(runs, dtype=np.bool_)
    rows = np.zeros(runs, dtype=np.int32)
    r = -1
    for i in range(len(starts)):
        if starts[i]:
            r += 1
            first[r] = i
        else:
            b = first[r]
            if on_scene_ok[i] != on_scene_ok[b]:
                earlier = on_scene_ok[i]
            elif on_scene_ok[i] and on_scene[i] != on_scene[b]:
                earlier = on_scene[i] < on_scene[b]
            elif alarm_ok[i] != alarm_ok[b]:
                earlier = alarm_ok[i]
            else:
                earlier = alarm_ok[i] and alarm[i] < alarm[b]
            if earlier:
                first[r] = i
        rows[r] += 1
        if alarm_ok[i] and (not alarm_any[r] or alarm[i] < alarm_min[r]):
            alarm_min[r] = alarm[i]
            alarm_any[r] = True
    return first, alarm_min, alarm_any, rows
