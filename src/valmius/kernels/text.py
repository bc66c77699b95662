"""Text kernels: find a column's null markers ("", "-", ...) straight in an Arrow string buffer.

Values are compared as they are; a value with white space at either end (which the plain way
strips before comparing) makes the kernel give up, and the caller strips the column with Polars.
White space is Unicode's White_Space set, the one Polars' ``str.strip_chars()`` removes.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from valmius.kernels.timestamps import string_buffers


@numba.njit(cache=True, nogil=True)
def _is_space(cp: int) -> bool:
    if cp < 0x80:
        return cp == 32 or 9 <= cp <= 13
    return (cp == 0x85 or cp == 0xA0 or cp == 0x1680 or 0x2000 <= cp <= 0x200A or cp == 0x2028 or cp == 0x2029
            or cp == 0x202F or cp == 0x205F or cp == 0x3000)


@numba.njit(cache=True)
def _code_point(data, pos):
    """The code point of valid UTF-8 starting at ``pos``."""
    b = data[pos]
    if b < 0x80:
        return b
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (data[pos + 1] & 0x3F)
    if b < 0xF0:
        return ((b & 0x0F) << 12) | ((data[pos + 1] & 0x3F) << 6) | (data[pos + 2] & 0x3F)
    return ((b & 0x07) << 18) | ((data[pos + 1] & 0x3F) << 12) | ((data[pos + 2] & 0x3F) << 6) | (data[pos + 3] & 0x3F)


@numba.njit(cache=True, nogil=True)
def find_null_markers(offsets, data, marker_offsets, marker_data, out_is_marker) -> bool:
    """Mark the values equal to one of the markers; False (stopping early) if a value needs stripping."""
    n_markers = len(marker_offsets) - 1
    for i in range(len(offsets) - 1):
        start = offsets[i]
        end = offsets[i + 1]
        out_is_marker[i] = False
        if start == end:
            for m in range(n_markers):
                if marker_offsets[m] == marker_offsets[m + 1]:
                    out_is_marker[i] = True
            continue
        last = end - 1
        while data[last] & 0xC0 == 0x80:  # back to the first byte of the last character
            last -= 1
        if _is_space(_code_point(data, start)) or _is_space(_code_point(data, last)):
            return False
        length = end - start
        for m in range(n_markers):
            m_start = marker_offsets[m]
            if marker_offsets[m + 1] - m_start != length:
                continue
            same = True
            for k in range(length):
                if data[start + k] != marker_data[m_start + k]:
                    same = False
                    break
            if same:
                out_is_marker[i] = True
                break
    return True


def null_markers(array: pa.Array, markers: tuple[str, ...]) -> np.ndarray | None:
    """Boolean mask of the values of a string array that equal a marker (Arrow nulls included);
    None if some value has white space at an end."""
    offsets, data, is_null = string_buffers(array)
    encoded = [m.encode("utf-8") for m in markers]
    marker_offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
    marker_data = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)
    out = np.empty(len(offsets) - 1, dtype=np.bool_)
    if not find_null_markers(offsets, data, marker_offsets, marker_data, out):
        return None
    if is_null is not None:
        out |= is_null
    return out
