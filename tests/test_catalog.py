"""The DuckDB catalog: views and comments from the column dictionary, empty typed views for tables not
in the lake, relative paths that survive a moved folder, exact macros, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from conftest import IGNORE_TRASH, fi_row, table, write_fi
from valmius import median_ci
from valmius.catalog import (CI_RANKS_EXACT_UP_TO, CatalogError, connect_catalog, duckdb_type, is_stale,
                             refresh_catalog)
from valmius.columns import TABLES
from valmius.lake import DEFINITION_KEY
from valmius.ingest import ingest
from valmius.mapping import load_mapping
from valmius.definitions import definition_id, open_results
from valmius.flags import (evaluation_time, first_measured_day, holds_from_january, last_measured_day,
                           last_review_year)
from valmius.pipeline import nightly
from valmius.rolling import ci_ranks
from valmius.settings import Settings, WindowSettings, load_settings


def _project_copy(settings: Settings, where: Path) -> Settings:
    """A copy of the session lake's project folder (lake links kept as links), with its settings."""
    shutil.copytree(settings.paths.lake.parent, where, symlinks=True, ignore=IGNORE_TRASH)
    paths = {f.name: where / getattr(settings.paths, f.name).relative_to(settings.paths.lake.parent)
             for f in dataclasses.fields(settings.paths)}
    return dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, **paths))


def test_every_lake_table_is_a_view_with_the_dictionary_types_and_comments(sql_lake):
    con = connect_catalog(sql_lake)
    views = {name: comment for name, comment in con.execute("SELECT view_name, comment FROM duckdb_views() "
                                                           "WHERE NOT internal").fetchall()}
    from valmius.scorecards import SCORECARDS

    documented = {**TABLES, SCORECARDS.name: SCORECARDS}  # lake tables and the derived views
    every_definition = {f"{n}_all_definitions": t for n, t in TABLES.items() if t.per_definition}
    assert set(views) == set(documented) | set(every_definition)
    for name, spec in {**documented, **every_definition}.items():
        assert views[name].startswith(spec.meaning)
        columns = con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = ? "
                              "ORDER BY column_index", [name]).fetchall()
        if spec.per_definition:  # which definition made the row, then the dictionary's columns
            assert [c[:2] for c in columns[:2]] == [("definition_id", "VARCHAR"), ("definition_name", "VARCHAR")], name
            assert all(c[2] for c in columns[:2]), name
            columns = columns[2:]
        assert [c[0] for c in columns] == spec.names, name
        assert [c[1] for c in columns] == [duckdb_type(c.dtype).replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")
                                           for c in spec.columns], name
        assert [c[2] for c in columns] == [c.meaning for c in spec.columns], name
    active = (definition_id(sql_lake), sql_lake.definition.name)
    assert con.execute("SELECT DISTINCT definition_id, definition_name FROM responses").fetchall() == [active]
    assert con.execute("SELECT DISTINCT definition_id, definition_name FROM rolling_events_all_definitions").fetchall() == [active]
    for name in ("flags", "areas", "rolling_calendar"):
        assert (con.execute(f"SELECT count(*) FROM {name}_all_definitions").fetchall()
                == con.execute(f"SELECT count(*) FROM {name}").fetchall()), name
    # Partition columns carry their dictionary type, and the keyword column is usable quoted.
    assert con.execute("SELECT typeof(year), typeof(month) FROM responses LIMIT 1").fetchall() == [("INTEGER", "INTEGER")]
    assert con.execute("SELECT typeof(valid_year) FROM cells LIMIT 1").fetchall() == [("INTEGER",)]
    assert con.execute('SELECT count("column") FROM quarantine').fetchall()[0][0] > 0
    con.close()


def test_views_hold_exactly_the_lake_rows(sql_lake):
    con = connect_catalog(sql_lake)
    for name in TABLES:
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] == table(sql_lake, name).height, name
    stored = table(sql_lake, "responses").sort("incident_id")
    viewed = con.sql("SELECT * EXCLUDE (definition_id, definition_name) FROM responses ORDER BY incident_id").pl()
    times = [name for name, dtype in stored.schema.items() if dtype == pl.Datetime("us", "UTC")]
    viewed = viewed.with_columns(pl.col(times).dt.convert_time_zone("UTC"))  # DuckDB names UTC Etc/UTC
    assert viewed.schema == stored.schema and viewed.equals(stored)
    con.close()


def test_tables_not_in_the_lake_are_empty_views_with_the_right_types(tmp_path, settings):
    refresh_catalog(settings)  # no lake at all yet
    con = duckdb.connect(str(settings.paths.catalog), read_only=True)
    for name in TABLES:
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchall() == [(0,)]
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'areas'").fetchall())
    assert types["cell_ids"] == "VARCHAR[]" and types["evaluated_at"] == "TIMESTAMP WITH TIME ZONE"
    comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'flags'").fetchall()[0][0]
    assert "Not in the lake yet" in comment
    con.close()


def test_catalog_opens_in_a_fresh_duckdb_process_from_a_moved_copy(sql_lake, tmp_path):
    first = _project_copy(sql_lake, tmp_path / "first")
    moved = tmp_path / "elsewhere" / "project"
    shutil.copytree(tmp_path / "first", moved, symlinks=True, ignore=IGNORE_TRASH)
    shutil.rmtree(tmp_path / "first")
    expected = {name: table(sql_lake, name).height for name in TABLES}
    script = f"""
import duckdb, json, sys
config = {{'file_search_path': sys.argv[1]}} if len(sys.argv) > 1 else {{}}
con = duckdb.connect('{moved / 'valmius.duckdb'}', read_only=True, config=config)
counts = {{n: con.execute(f'SELECT count(*) FROM "{{n}}"').fetchall()[0][0] for n in {list(TABLES)!r}}}
sql = ' '.join(s for (s,) in con.execute('SELECT sql FROM duckdb_views() WHERE NOT internal').fetchall())
print(json.dumps({{'counts': counts, 'sql': sql}}))
"""
    # From the project folder (relative paths resolve against the working directory) ...
    run = subprocess.run([sys.executable, "-c", script], cwd=moved, capture_output=True, text=True, check=True)
    got = json.loads(run.stdout)
    assert got["counts"] == expected
    assert str(first.paths.lake.parent) not in got["sql"] and str(sql_lake.paths.lake) not in got["sql"]
    assert "'lake/units/year=*/month=*/*.parquet'" in got["sql"]
    # ... or from anywhere with file_search_path set to it.
    run = subprocess.run([sys.executable, "-c", script, str(moved)], cwd=tmp_path, capture_output=True, text=True,
                         check=True)
    assert json.loads(run.stdout)["counts"] == expected
    # Without either, DuckDB says which file pattern it could not find.
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "lake/" in run.stderr


def test_views_follow_new_snapshots_and_a_stale_catalog_is_refreshed(sql_lake, tmp_path):
    settings = _project_copy(sql_lake, tmp_path / "project")
    path = settings.paths.catalog
    before = path.stat().st_mtime_ns
    con = connect_catalog(settings)  # fresh: not rewritten
    units = con.execute("SELECT count(*) FROM units").fetchall()[0][0]
    con.close()
    assert path.stat().st_mtime_ns == before
    ingest([write_fi(tmp_path / "late.csv", [fi_row(incident="late-1", call="2.2.2025 10:00:00", alarm="2.2.2025 10:01:00",
                                                    en_route="2.2.2025 10:02:00", on_scene="2.2.2025 10:06:00",
                                                    free="2.2.2025 11:00:00")])], load_mapping("fi-erc"), settings)
    # The views read the lake through its table links: a plain DuckDB connection sees the new row at once.
    with duckdb.connect(str(path), read_only=True, config={"file_search_path": str(path.parent)}) as plain:
        assert plain.execute("SELECT count(*) FROM units").fetchall()[0][0] == units + 1
    con = connect_catalog(settings)  # another snapshot of the same tables: not written again
    assert path.stat().st_mtime_ns == before
    info = dict(con.execute("SELECT key, value FROM valmius_catalog()").fetchall())
    assert info["lake"] == "lake" and int(info["snapshot_id"]) == int((settings.paths.lake / "CURRENT").read_text())
    con.close()
    assert not is_stale(settings)
    assert refresh_catalog(settings, when_stale=True) == path and path.stat().st_mtime_ns == before
    # Another target is another catalog (its macros): written again.
    stricter = dataclasses.replace(settings, targets_s={**settings.targets_s, "I": 300})
    assert is_stale(stricter)
    with connect_catalog(stricter) as con:
        assert con.execute("SELECT target_s('I')").fetchall()[0][0] == 300
    assert path.stat().st_mtime_ns != before and not is_stale(stricter) and is_stale(settings)


def test_a_catalog_is_stale_when_another_definitions_rows_appear(sql_lake, tmp_path):
    settings = _project_copy(sql_lake, tmp_path / "project")
    assert not is_stale(settings)
    responses = open_results(settings).folder / "responses"
    other = responses / f"{DEFINITION_KEY}=another"
    shutil.copytree(next(responses.glob(f"{DEFINITION_KEY}=*")), other)
    assert is_stale(settings)  # responses_all_definitions has another definition to label
    shutil.rmtree(other)
    assert not is_stale(settings)


def test_catalog_is_replaced_atomically_and_a_failed_write_changes_nothing(sql_lake, tmp_path, monkeypatch):
    settings = _project_copy(sql_lake, tmp_path / "project")
    path = settings.paths.catalog
    old = path.read_bytes()
    import valmius.catalog as catalog

    real = catalog.catalog_statements
    monkeypatch.setattr(catalog, "catalog_statements",
                        lambda s: (real(s)[0] + ["CREATE VIEW broken AS SELECT * FROM no_such_table"], "x"))
    with pytest.raises(CatalogError, match="could not build the DuckDB catalog"):
        refresh_catalog(settings)
    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith((".tmp", ".wal"))) == []
    monkeypatch.undo()
    assert refresh_catalog(settings) == path
    assert duckdb.connect(str(path), read_only=True).execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal"
                                                            ).fetchall() == [(len(TABLES) + 1 + sum(t.per_definition for t in TABLES.values()),)]


def _exact_rank(n: int, level: float) -> int:
    """Largest k with P(Binomial(n, 1/2) <= k - 1) <= (1 - level) / 2, by integers."""
    k = 0
    for j in range(1, n + 1):
        if 2 * sum(math.comb(n, i) for i in range(j)) * 1000 <= round((1 - level) * 1000) * 2**n:
            k = j
    return k


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_median_interval_ranks_are_the_engines_exact_ranks(tmp_path, settings, level):
    settings = dataclasses.replace(settings, windows=WindowSettings(ci_level=level))
    refresh_catalog(settings)
    with duckdb.connect(str(settings.paths.catalog), read_only=True) as con:
        got = np.array(con.execute("SELECT list(median_ci_rank(n) ORDER BY n) FROM range(0, 100001) t(n)").fetchall()[0][0])
        beyond = con.execute("SELECT median_ci_rank(1000000)").fetchall()[0][0]
    assert (got == ci_ranks(level, 100_000)).all()
    assert [int(k) for k in got[:80]] == [_exact_rank(n, level) for n in range(80)]
    assert abs(beyond - int(ci_ranks(level, 1_000_000)[-1])) <= 1  # the normal approximation beyond 100,000


def test_the_catalogs_interval_ranks_in_python_are_the_compiled_kernels():
    """The catalog runs the ranks' recurrence in Python (valmius.median_ci), the engine compiled."""
    for level in (0.5, 0.6, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.123, 0.951, 2 / 3):
        for n_max in (0, 1, 5, 6, 255, 256, 257, 1000, CI_RANKS_EXACT_UP_TO):
            python, compiled = median_ci.ci_ranks(level, n_max), ci_ranks(level, n_max)
            assert python.dtype == compiled.dtype and python.tolist() == compiled.tolist(), (level, n_max)


def test_writing_the_catalog_loads_no_numba(tmp_path):
    """valmius catalog needs no kernel: it loads no Numba (on the demo lake it took 1.3-1.7 s with it, 0.8-1.0 without)."""
    (tmp_path / "lake").mkdir()  # an empty lake: valmius catalog stops where there is none
    code = ("import sys; from valmius.cli import main; main(['catalog'], standalone_mode=False); "
            "print(sorted(m for m in ('numba', 'valmius.kernels.rolling', 'valmius.rolling') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert (tmp_path / "valmius.duckdb").is_file()
    assert done.stdout.splitlines()[-1] == "[]"


def test_domain_macros(tmp_path, settings):
    settings = dataclasses.replace(settings, targets_s={"I": 300, "II": 600, "III": 1200, "IV": 2400})
    refresh_catalog(settings)
    con = duckdb.connect(str(settings.paths.catalog), read_only=True)
    one = lambda sql: con.execute(sql).fetchall()[0]  # noqa: E731
    assert one("SELECT target_s('I'), target_s('IV'), target_s('V'), target_s(NULL)") == (300, 2400, None, None)
    assert one("SELECT mmss(0), mmss(59.4), mmss(59.5), mmss(360), mmss(2465), mmss(-61), mmss(NULL)") == (
        "0:00", "0:59", "1:00", "6:00", "41:05", "-1:01", None)
    # Exactly on target is within; a response without a target is not; unmeasured responses are left out.
    assert one("SELECT share_within(r, t) FROM (VALUES (300, 300), (301, 300), (100, NULL), (NULL, 300)) v(r, t)") == (1 / 3,)
    values = [410, 250, 300, 275, 500, 380, 290, 330, 600, 240, 310]
    rows = ", ".join(f"({v})" for v in [*values, "NULL"])
    low, high, median = one(f"SELECT median_ci_low(x), median_ci_high(x), median(x) FROM (VALUES {rows}) v(x)")
    k = _exact_rank(len(values), 0.95)
    assert (low, high, median) == (sorted(values)[k - 1], sorted(values)[len(values) - k], float(np.median(values)))
    assert one("SELECT median_ci_low(x) FROM (VALUES (1), (2), (3), (4), (5)) v(x)") == (None,)  # too few for 95 %
    # Local time follows the zone's rules: winter UTC+2, summer UTC+3; local midnights as instants.
    assert one("SELECT strftime(local_time(TIMESTAMPTZ '2025-01-15 10:00:00+00'), '%H'), "
               "strftime(local_time(TIMESTAMPTZ '2025-07-15 10:00:00+00'), '%H')") == ("12", "13")
    assert one("SELECT epoch(local_midnight(DATE '2025-03-31')) - epoch(local_midnight(DATE '2025-03-30'))") == (82800.0,)
    assert one("SELECT epoch(year_start(2025)), epoch(year_start(2026))") == (1735682400.0, 1767218400.0)  # 22:00 UTC
    assert one("SELECT epoch(TIMESTAMPTZ '2025-06-01 00:00:00+00') - epoch(TIMESTAMPTZ '2025-06-01 00:00:00+00' - "
               "trailing_window()), trailing_days()") == (365 * 86400.0, 365)
    con.close()


def test_review_period_macros_are_the_flags_rules(sql_lake):
    """``last_review_year()`` and ``held_from_january(year)`` answer as valmius.flags does on the same lake."""
    snapshot = open_results(sql_lake)
    first_day, last_day = first_measured_day(snapshot, sql_lake), last_measured_day(snapshot, sql_lake)
    years = list(range(first_day.year - 1, last_day.year + 2))
    with connect_catalog(sql_lake, refresh_if_stale=False) as con:
        last = con.execute("SELECT last_review_year()").fetchone()[0]
        held = [con.execute("SELECT held_from_january(?)", [y]).fetchone()[0] for y in years]
    assert last == last_review_year(evaluation_time(snapshot, sql_lake), sql_lake)
    assert held == [holds_from_january(first_day, y) for y in years]
    assert True in held and False in held


def test_the_nightly_run_refreshes_the_catalog(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "valmius.toml").write_text('[paths]\nlake = "lake"\ninbox = "inbox"\ncatalog = "sql/catalog.duckdb"\n')
    write_fi(inbox / "export-1.csv", [fi_row()])
    settings = load_settings(tmp_path / "valmius.toml")
    nightly(settings, load_mapping("fi-erc"))
    with duckdb.connect(str(tmp_path / "sql" / "catalog.duckdb"), read_only=True,
                        config={"file_search_path": str(tmp_path / "sql")}) as con:
        assert con.execute("SELECT count(*), any_value(response_s) FROM responses").fetchall() == [(1, 370)]  # 07:06:30 to 07:12:40
        assert dict(con.execute("SELECT key, value FROM valmius_catalog()").fetchall())["lake"] == "../lake"


def test_an_unwritable_catalog_folder_is_a_clear_error(tmp_path, settings):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, catalog=blocker / "v.duckdb"))
    with pytest.raises(CatalogError, match="could not write the DuckDB catalog.*paths.catalog"):
        refresh_catalog(settings)
    assert not os.path.exists(blocker / "v.duckdb")
