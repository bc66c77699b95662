"""Errors that valmius raises on purpose.

Every message says what is wrong, where (file, row, column or settings key), what was expected and
what to try. The command line prints ``Error: <message>`` and exits non-zero; it never shows a
traceback for these.
"""

from __future__ import annotations


class ValmiusError(Exception):
    """Base class of every error valmius raises on purpose."""


class SettingsError(ValmiusError):
    """A settings file (valmius.toml) is unreadable, has an unknown key or a value of the wrong type."""


class MappingError(ValmiusError):
    """A source-format mapping file is unreadable or inconsistent."""


class InputError(ValmiusError):
    """An input file cannot be read as a whole (missing, wrong encoding, missing columns)."""


class LakeError(ValmiusError):
    """The lake cannot be read or written (busy, damaged, or on an unexpected layout)."""


class ReviewError(ValmiusError):
    """A service-level review cannot be made: years out of order, years without data, or an unreadable earlier review."""
class ScenarioError(ValmiusError):
    """A what-if scenario cannot be run as asked (unknown station, no station locations, no data)."""
