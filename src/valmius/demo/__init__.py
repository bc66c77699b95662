"""A SYNTHETIC demo world of the Central Uusimaa rescue department and its dispatch exports.

Made-up data for demonstrations, tests and benchmarks; see data/demo/README.md.
"""

from valmius.demo.generate import (
    DEFECT_RATES,
    EXPORT_COLUMNS,
    bulk_scale,
    generate_incidents,
    mark_defects,
    write_bulk_export,
    write_export,
    write_nightly_exports,
)
from valmius.demo.world import World, build_world, write_world

__all__ = [
    "DEFECT_RATES",
    "EXPORT_COLUMNS",
    "World",
    "build_world",
    "bulk_scale",
    "generate_incidents",
    "mark_defects",
    "write_bulk_export",
    "write_export",
    "write_nightly_exports",
    "write_world",
]
