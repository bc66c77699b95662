"""Text kernels on Arrow string buffers: find a column's null markers ("", "-", ...), read decimal numbers.

They serve the common case fast and give up on anything else, which the caller then handles the
plain way with Polars. Values are taken as they are: a value with white space at either end (which
the plain way strips first) makes a kernel give up. White space is Unicode's White_Space set, the
one Polars' ``str.strip_chars()`` removes.

The loops allocate nothing and are compiled without Numba's reference counting (``_nrt=False``):
the counted references around their inlined helpers' array arguments made ``read_decimals`` take
19 ns per value instead of 11.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from valmius.kernels.timestamps import string_buffers


@numba.njit(cache=True, nogil=True, inline="always")
def _is_space(cp: int) -> bool:
    if cp < 0x80:
        return cp == 32 or 9 <= cp <= 13
    return (cp == 0x85 or cp == 0xA0 or cp == 0x1680 or 0x2000 <= cp <= 0x200A or cp == 0x2028 or cp == 0x2029
            or cp == 0x202F or cp == 0x205F or cp == 0x3000)


@numba.njit(cache=True, nogil=True, inline="always")
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


@numba.njit(cache=True, nogil=True, inline="always")
def _has_space_at_an_end(data, start, end) -> bool:
    first_byte = data[start]
    last = end - 1
    if 32 < first_byte < 0x80 and 32 < data[last] < 0x80:  # printable ASCII at both ends: the common case
        return False
    while data[last] & 0xC0 == 0x80:  # back to the first byte of the last character
        last -= 1
    return _is_space(_code_point(data, start)) or _is_space(_code_point(data, last))


@numba.njit(cache=True, nogil=True, inline="always")
def _is_marker(data, start, end, marker_offsets, marker_data) -> bool:
    length = end - start
    for m in range(len(marker_offsets) - 1):
        m_start = marker_offsets[m]
        if marker_offsets[m + 1] - m_start != length:
            continue
        same = True
        for k in range(length):
            if data[start + k] != marker_data[m_start + k]:
                same = False
                break
        if same:
            return True
    return False


@numba.njit(cache=True, nogil=True, _nrt=False)
def find_null_markers(offsets, data, marker_offsets, marker_data, out_is_marker) -> bool:
    """Mark the values equal to one of the markers; False (stopping early) if a value needs stripping."""
    longest = 0
    for m in range(len(marker_offsets) - 1):
        longest = max(longest, marker_offsets[m + 1] - marker_offsets[m])
    for i in range(len(offsets) - 1):
        start = offsets[i]
        end = offsets[i + 1]
        if start < end and _has_space_at_an_end(data, start, end):
            return False
        out_is_marker[i] = end - start <= longest and _is_marker(data, start, end, marker_offsets, marker_data)
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _decimal(data, start, end, comma_too):
    """(True, value) if ``data[start:end]`` is ``[+-]digits[.digits]`` (``,`` too as the mark with
    ``comma_too``) of at most 15 digits, else (False, 0.0).

    The digits and the power of ten are then exact doubles, so one division gives the correctly
    rounded value: the same double as any exact parser.
    """
    pos = start
    negative = False
    if pos < end and (data[pos] == 43 or data[pos] == 45):  # + -
        negative = data[pos] == 45
        pos += 1
    mantissa = 0
    digits = 0
    while pos < end and 48 <= data[pos] <= 57:
        mantissa = mantissa * 10 + (data[pos] - 48)
        digits += 1
        pos += 1
    decimals = 0
    if digits > 0 and pos < end and (data[pos] == 46 or (comma_too and data[pos] == 44)):  # . ,
        pos += 1
        while pos < end and 48 <= data[pos] <= 57:
            mantissa = mantissa * 10 + (data[pos] - 48)
            decimals += 1
            pos += 1
        if decimals == 0:
            return False, 0.0
    if digits == 0 or pos != end or digits + decimals > 15:
        return False, 0.0
    value = mantissa / 10.0 ** decimals
    return True, -value if negative else value


@numba.njit(cache=True, nogil=True, _nrt=False)
def read_decimals(offsets, data, comma_too, marker_offsets, marker_data, out_values) -> bool:
    """Read plain decimal numbers into ``out_values``, a null marker as NaN; False (stopping early)
    at any other value."""
    for i in range(len(offsets) - 1):
        start = offsets[i]
        end = offsets[i + 1]
        if start < end and _has_space_at_an_end(data, start, end):
            return False
        ok, value = _decimal(data, start, end, comma_too)
        if ok:
            out_values[i] = value
        elif _is_marker(data, start, end, marker_offsets, marker_data):
            out_values[i] = np.nan
        else:
            return False
    return True


def _markers(markers: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [m.encode("utf-8") for m in markers]
    return np.cumsum([0, *map(len, encoded)]).astype(np.int64), np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)


def decimals(array: pa.Array, decimal_mark: str, markers: tuple[str, ...]) -> np.ndarray | None:
    """Numbers of a string array (NaN for null markers and Arrow nulls); None if a value is not a
    plain decimal number or marker."""
    offsets, data, is_null = string_buffers(array)
    out = np.empty(len(offsets) - 1, dtype=np.float64)
    if not read_decimals(offsets, data, decimal_mark == ",", *_markers(markers), out):
        return None
    if is_null is not None:
        out[is_null] = np.nan
    return out


def null_markers(array: pa.Array, markers: tuple[str, ...]) -> np.ndarray | None:
    """Boolean mask of the values of a string array that equal a marker (Arrow nulls included);
    None if some value has white space at an end."""
    offsets, data, is_null = string_buffers(array)
    out = np.empty(len(offsets) - 1, dtype=np.bool_)
    if not find_null_markers(offsets, data, *_markers(markers), out):
        return None
    if is_null is not None:
        out |= is_null
    return out
