"""Shared fixtures: settings with a lake in a temporary folder, and Finnish export writers."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import polars as pl
import pytest

from valmius.definitions import open_results
from valmius.settings import PathSettings, Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SF_CALLS = SHARED_DATA / "real" / "sf_fire_calls_2016-12-31_2017-01-07.csv"
IGNORE_TRASH = shutil.ignore_patterns(".trash")
"""For copying a lake: superseded snapshots in ``.trash`` are being deleted in the background."""
needs_shared_data = pytest.mark.skipif(
    not SF_CALLS.exists(), reason=f"real data folder {SHARED_DATA} is absent (it sits beside the checkout in CI)"
)

FI_HEADER = ("Tehtävänumero;Vastaanotettu;Kuntanumero;Tehtävälaji;Kiireellisyys;Riskiruutu;Riskiluokka;"
             "Koordinaatti_N;Koordinaatti_E;Yksikkö;Yksikkötyyppi;Asema;Hälytetty;Matkalla;Kohteessa;Vapaa")


def fi_row(incident="2025-000001", call="3.1.2025 07:05:09", muni="186", task="402 rakennuspalo: keskisuuri",
           urgency="B", n="6711234,5", e="393123,2", unit="KU101", unit_type="pelastusyksikkö", station="KU10",
           alarm="3.1.2025 07:06:30", en_route="3.1.2025 07:07:25", on_scene="3.1.2025 07:12:40",
           free="3.1.2025 08:01:00") -> str:
    """One line of a Finnish ERC export; every field can be overridden."""
    return ";".join([incident, call, muni, task, urgency, "1kmN6711E393", "I", n, e, unit, unit_type, station,
                     alarm, en_route, on_scene, free])


def write_fi(path: Path, rows: list[str], encoding: str = "utf-8-sig", newline: str = "\n") -> Path:
    path.write_bytes((newline.join([FI_HEADER, *rows]) + newline).encode(encoding))
    return path


def project_paths(root: Path) -> PathSettings:
    """Every path setting inside ``root``, as a project folder has them."""
    return PathSettings(lake=root / "lake", inbox=root / "inbox", catalog=root / "valmius.duckdb",
                        reports=root / "reports", archive=root / "archive", rejected=root / "rejected",
                        stations=root / "stations.csv")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings(), paths=project_paths(tmp_path))


def table(settings: Settings, name: str) -> pl.DataFrame:
    """A whole lake table as valmius reads it."""
    return open_results(settings).scan(name).collect()


@pytest.fixture
def sample_lake(tmp_path, settings):
    from test_demo_run import SAMPLE
    from valmius.demo import build_world
    from valmius.grid import import_risk_grid
    from valmius.ingest import ingest
    from valmius.mapping import load_mapping
    from valmius.measure import measure

    for file in sorted(SAMPLE.glob("*.csv")):
        ingest([file], load_mapping("fi-erc"), settings)
    world = build_world(0)
    grid = tmp_path / "grid.csv"
    world.cells.select("x_m", "y_m", "risk_class", "municipality_code").write_csv(grid)
    import_risk_grid(grid, 2025, settings)
    measure(settings)
    return settings


@pytest.fixture(scope="session")
def sql_lake(tmp_path_factory) -> Settings:
    """A small SYNTHETIC demo lake, built once per session, for the SQL catalog and query tests.

    Three years (2023-2025) of the demo world's exports (30,000 unit rows), the world's risk grids
    of those years, and a few incidents without a risk class: one without a location, one outside
    every cell, one before the first grid. Measured, with its catalog written. Tests must not
    change it: copy it first.
    """
    from datetime import date

    from valmius.catalog import refresh_catalog
    from valmius.demo import build_world, write_bulk_export, write_world
    from valmius.grid import import_risk_grid
    from valmius.ingest import ingest
    from valmius.mapping import load_mapping
    from valmius.measure import measure

    root = tmp_path_factory.mktemp("sql-project")
    settings = dataclasses.replace(Settings(), paths=project_paths(root))
    world = build_world(0)
    write_world(world, root / "world", years=(2023, 2024, 2025))
    write_bulk_export(world, root / "bulk.csv", 30_000, seed=3, start=date(2023, 1, 1), years=3)
    def row(incident: str, day: str, **where: str) -> str:
        return fi_row(incident=incident, call=f"{day} 12:00:00", alarm=f"{day} 12:01:00", en_route=f"{day} 12:02:00",
                      on_scene=f"{day} 12:07:00", free=f"{day} 13:00:00", **where)

    unclassified = write_fi(root / "unclassified.csv", [
        row("x-no-location", "5.3.2024", n="", e=""),
        row("x-helsinki", "6.3.2024", n="6672000", e="385500"),  # south of the world's cells
        row("x-before-grids", "30.12.2022"),
    ])
    mapping = load_mapping("fi-erc")
    ingest([root / "bulk.csv", unclassified], mapping, settings)
    for year in (2023, 2024, 2025):
        import_risk_grid(root / "world" / f"risk_grid_{year}.csv", year, settings)
    measure(settings)
    refresh_catalog(settings)
    return settings
