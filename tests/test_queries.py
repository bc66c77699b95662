"""The query library and ``valmius sql``: every query file runs on a demo lake and agrees with answers
computed independently in Polars or by the rolling engine; writes are refused; errors name file and line."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from conftest import IGNORE_TRASH, table
from valmius.cli import EXIT_ERROR, EXIT_OK, main
from valmius.grid import grid_status
from valmius.sql import QUERY_LIBRARY, QueryError, markdown_table, read_query, run_query

QUERIES = Path(__file__).resolve().parents[1] / "queries"
QUERY_FILES = sorted(QUERIES.glob("*.sql"))
ZONE = "Europe/Helsinki"


@pytest.fixture(scope="module")
def responses(sql_lake) -> pl.DataFrame:
    """The stored responses with the local call time, for the independent answers."""
    return table(sql_lake, "responses").with_columns(local=pl.col("call_at").dt.convert_time_zone(ZONE))


def _latest_year(responses: pl.DataFrame) -> int:
    return responses.filter("is_measured")["local"].dt.year().max()


def _of_year(responses: pl.DataFrame, year: int) -> pl.DataFrame:
    return responses.filter(pl.col("local").dt.year() == year)


def _share(frame: pl.DataFrame) -> float:
    return float((frame["response_s"] <= frame["target_s"]).fill_null(False).mean())


def _run(settings, name: str, **params) -> pl.DataFrame:
    return run_query(settings, QUERIES / name, params)


def _close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(float(a) - float(b)) < 1e-9)


def test_the_library_has_at_least_twelve_queries():
    assert len(QUERY_FILES) >= 12


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_every_query_runs_with_its_defaults_and_its_header_is_true(sql_lake, path):
    query = read_query(path)
    assert query.question.endswith("?"), "the header's first line is the question"
    used = duckdb.extract_statements(query.text)[0].named_parameters
    assert set(query.parameters) == set(used), "declared parameters are exactly those the SQL uses"
    assert all(p.meaning for p in query.parameters.values()), "each parameter says what it means"
    result = run_query(sql_lake, path)
    assert result.height > 0
    assert query.example, "the header shows an example result"
    assert query.example[0].split("|")[1:-1] and [c.strip() for c in query.example[0].split("|")[1:-1]] == result.columns


def test_class_i_by_month_agrees_with_polars_and_the_rolling_engine(sql_lake, responses):
    year = _latest_year(responses)
    got = _run(sql_lake, "class_i_by_month.sql")
    tasks = _of_year(responses, year).filter(pl.col("is_measured") & (pl.col("risk_class") == "I"))
    own = {m: frame for (m,), frame in tasks.group_by(pl.col("local").dt.strftime("%Y-%m")).agg(pl.all())
           .pipe(lambda f: f.partition_by("local", as_dict=True)).items()}
    calendar = table(sql_lake, "rolling_calendar").filter((pl.col("grouping") == "risk_class") & (pl.col("group_key") == "I"))
    calendar = calendar.with_columns(month=pl.col("period_start").dt.convert_time_zone(ZONE).dt.strftime("%Y-%m"))
    engine = {row["month"]: row for row in calendar.iter_rows(named=True)}
    assert got["month"].to_list() == sorted(m for m in engine if m.startswith(str(year)))
    assert len(got) == 12
    for row in got.iter_rows(named=True):
        mine = own[row["month"]]
        values = mine["response_s"][0].to_numpy()
        assert row["tasks"] == len(values)
        assert row["median_s"] == float(np.median(values))
        within = (mine["response_s"][0] <= mine["target_s"][0]).fill_null(False)
        assert _close(row["share_within"], within.mean())
        window = engine[row["month"]]
        assert row["trailing_tasks"] == window["count"]
        for mine_name, engine_name in [("trailing_median_s", "median_s"), ("trailing_ci_low_s", "ci_low_s"),
                                       ("trailing_ci_high_s", "ci_high_s"), ("trailing_share_within", "share_within_target")]:
            assert _close(row[mine_name], window[engine_name]), (row["month"], mine_name)
    earlier = _run(sql_lake, "class_i_by_month.sql", year="2024", risk_class="II")
    assert earlier["month"].str.starts_with("2024").all() and (earlier["target_s"] == 600).all()


def test_slowest_cells_agree_with_the_rolling_engine_per_cell(sql_lake):
    got = _run(sql_lake, "slowest_class_i_cells.sql", limit=100_000)
    cells = table(sql_lake, "cells").filter(pl.col("risk_class") == "I")["cell_id"].unique().to_list()
    calendar = table(sql_lake, "rolling_calendar").filter(pl.col("grouping") == "cell")
    last = calendar["at"].max()
    engine = calendar.filter((pl.col("at") == last) & pl.col("group_key").is_in(cells))
    assert sorted(got["cell_id"]) == sorted(engine["group_key"]) and got.height > 20
    assert set(got["window_end_local"]) == {last.astimezone(__import__("zoneinfo").ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")}
    by_cell = {row["group_key"]: row for row in engine.iter_rows(named=True)}
    for row in got.iter_rows(named=True):
        window = by_cell[row["cell_id"]]
        assert row["tasks"] == window["count"]
        for name in ("median_s", "ci_low_s", "ci_high_s"):
            assert _close(row[name], window[name]), (row["cell_id"], name)
        assert _close(row["share_within"], window["share_within_target"])
        assert row["over_target_s"] == row["median_s"] - 360
    assert got["median_s"].to_list() == sorted(got["median_s"], reverse=True)
    assert _run(sql_lake, "slowest_class_i_cells.sql", min_tasks=10)["tasks"].min() >= 10
    assert _run(sql_lake, "slowest_class_i_cells.sql").height == 20


@pytest.mark.parametrize("name, key, column", [
    ("class_i_by_municipality.sql", "municipality_code", "municipality_code"),
    ("class_i_by_station.sql", "station_id", "station_id"),
])
def test_class_i_by_group_agrees_with_polars(sql_lake, responses, name, key, column):
    year = _latest_year(responses)
    got = _run(sql_lake, name)
    tasks = _of_year(responses, year).filter(pl.col("is_measured") & (pl.col("risk_class") == "I"))
    expected = {k: g for (k,), g in tasks.group_by(column)}
    assert sorted(got[key].to_list(), key=str) == sorted(expected, key=str)
    for row in got.iter_rows(named=True):
        group = expected[row[key]]
        assert row["tasks"] == group.height
        assert row["median_s"] == float(np.median(group["response_s"].to_numpy()))
        assert _close(row["share_within"], _share(group))
        if name == "class_i_by_station.sql":
            assert row["median_travel_s"] == float(group["travel_s"].median())


def test_components_by_class_agree_with_polars(sql_lake, responses):
    got = _run(sql_lake, "components_by_class.sql")
    tasks = _of_year(responses, _latest_year(responses)).filter("is_measured")
    assert got["risk_class"].to_list()[:4] == ["I", "II", "III", "IV"]
    for row in got.iter_rows(named=True):
        group = tasks.filter(pl.col("risk_class").is_null() if row["risk_class"] == "no class"
                             else pl.col("risk_class") == row["risk_class"])
        assert row["tasks"] == group.height
        for part in ("erc", "turnout", "travel", "response"):
            assert _close(row[f"median_{part}_s"], group[f"{part}_s"].median()), (row["risk_class"], part)


def test_incidents_where_no_unit_arrived(sql_lake, responses):
    year = _latest_year(responses)
    got = _run(sql_lake, "no_unit_arrived.sql", limit=100_000)
    expected = _of_year(responses, year).filter(pl.col("response_s").is_null() & pl.col("is_urgent"))
    assert got.height == expected.height > 0
    assert set(got["incident_id"]) == set(expected["incident_id"])
    assert set(got["no_response_reason"]) <= {"no_counted_unit", "no_alarm_time", "no_unit_arrived"}
    assert got["call_local"].to_list() == sorted(got["call_local"], reverse=True)
    everything = _run(sql_lake, "no_unit_arrived.sql", limit=100_000, urgent_only="false")
    assert everything.height == _of_year(responses, year).filter(pl.col("response_s").is_null()).height > got.height


def test_tasks_by_urgency_and_local_hour(sql_lake, responses):
    year = _latest_year(responses)
    got = _run(sql_lake, "tasks_by_urgency_and_hour.sql")
    tasks = _of_year(responses, year)
    expected = tasks.group_by(pl.col("local").dt.hour().alias("hour"), "urgency").len()
    merged = got.join(expected.with_columns(pl.col("hour").cast(pl.Int64)), on=["hour", "urgency"], how="full")
    assert (merged["tasks"] == merged["len"]).all() and got["tasks"].sum() == tasks.height
    assert set(got["hour"]) == set(range(24))
    shares = got.group_by("urgency").agg(pl.col("share_of_urgency").sum())
    assert np.allclose(shares["share_of_urgency"].to_numpy(), 1.0)


def test_data_quality_counts_every_quarantined_row(sql_lake):
    quarantine = table(sql_lake, "quarantine")
    defects = quarantine.filter(~pl.col("reason_code").is_in(["duplicate", "superseded"]))
    got = _run(sql_lake, "data_quality.sql", limit=100_000)
    assert got["rows"].sum() == defects.height > 0
    assert not set(got["reason_code"]) & {"duplicate", "superseded"}
    every = _run(sql_lake, "data_quality.sql", limit=100_000, include_replaced="true")
    assert every["rows"].sum() == quarantine.height and "duplicate" in set(every["reason_code"])
    first = got.row(0, named=True)
    rows = defects.filter((pl.col("reason_code") == first["reason_code"]) & (pl.col("source_file") == first["source_file"]))
    assert (first["rows"], first["first_line"]) == (rows.height, rows["source_row"].min())


def test_year_over_year_agrees_with_polars(sql_lake, responses):
    got = _run(sql_lake, "year_over_year.sql")
    measured = responses.filter(pl.col("is_measured") & pl.col("risk_class").is_not_null())
    assert sorted(set(got["year"])) == [2023, 2024, 2025]
    for risk_class in ("I", "II"):
        rows = got.filter(pl.col("risk_class") == risk_class).sort("year")
        medians = [float(np.median(measured.filter((pl.col("risk_class") == risk_class)
                                                   & (pl.col("local").dt.year() == y))["response_s"].to_numpy()))
                   for y in rows["year"]]
        assert rows["median_s"].to_list() == medians
        assert rows["median_change_s"].to_list() == [None] + [b - a for a, b in zip(medians, medians[1:])]
        days = [measured.filter((pl.col("risk_class") == risk_class) & (pl.col("local").dt.year() == y))["local"].dt.date()
                for y in rows["year"]]
        assert rows["first_day"].to_list() == [d.min() for d in days]
        assert rows["last_day"].to_list() == [d.max() for d in days]
    assert _run(sql_lake, "year_over_year.sql", years=1)["year"].unique().to_list() == [2025]


def test_problem_cells_agree_with_polars(sql_lake, responses):
    got = _run(sql_lake, "problem_cells.sql")
    classed = responses.filter(pl.col("is_measured") & pl.col("cell_id").is_not_null() & pl.col("target_s").is_not_null()
                               & pl.col("local").dt.year().is_between(2022, 2025)).with_columns(year=pl.col("local").dt.year())
    # Years with tasks; those before the last only when the lake holds them from January on.
    first = responses.filter("is_measured")["local"].min()
    review = [y for y in sorted(classed["year"].unique()) if y == 2025 or first < datetime(y, 2, 1, tzinfo=first.tzinfo)]
    yearly = classed.group_by("cell_id", "year").agg(median=pl.col("response_s").median(), target=pl.col("target_s").first(),
                                                     risk_class=pl.col("risk_class").first())
    expected = set()
    for (cell,), years in yearly.group_by("cell_id"):
        years = years.sort("year")
        if (years["year"].to_list() == review and (years["median"] > years["target"]).all()
                and years["risk_class"][-1] == "I"):
            expected.add(cell)
    assert review == [2023, 2024, 2025]
    assert set(got["cell_id"]) == expected and len(expected) > 0
    assert (got["years_in_review"] == 3).all() and (got["min_over_target_s"] > 0).all()
    shorter = _run(sql_lake, "problem_cells.sql", years=1)
    assert set(shorter["cell_id"]) >= set(got["cell_id"]) and (shorter["years_in_review"] == 1).all()


def test_first_station_versus_the_nearest_by_observed_travel(sql_lake, responses):
    year = _latest_year(responses)
    got = _run(sql_lake, "first_station_vs_nearest.sql", limit=100_000)
    urgent = _of_year(responses, year).filter(pl.col("is_urgent") & pl.col("cell_id").is_not_null())
    units = table(sql_lake, "units").drop_nulls(["en_route_at", "on_scene_at", "station_id"])
    trips = (units.join(urgent.select("incident_id", "cell_id"), on="incident_id")
             .with_columns(travel=(pl.col("on_scene_at") - pl.col("en_route_at")).dt.total_seconds())
             .group_by("cell_id", "station_id").agg(trips=pl.len(), median=pl.col("travel").median())
             .filter(pl.col("trips") >= 3))
    nearest = trips.sort("median", "station_id").group_by("cell_id", maintain_order=True).first()
    firsts = urgent.filter(pl.col("is_measured") & (pl.col("risk_class") == "I")).join(
        nearest.select("cell_id", nearest="station_id"), on="cell_id")
    expected = firsts.group_by("cell_id").agg(tasks=pl.len(), hits=(pl.col("station_id") == pl.col("nearest")).sum(),
                                              nearest=pl.col("nearest").first())
    assert got.height == expected.height > 20
    mine = {row["cell_id"]: row for row in expected.iter_rows(named=True)}
    for row in got.iter_rows(named=True):
        cell = mine[row["cell_id"]]
        assert (row["tasks"], row["first_from_nearest"], row["nearest_station"]) == (cell["tasks"], cell["hits"], cell["nearest"])
    assert got["share_first_from_nearest"].to_list() == sorted(got["share_first_from_nearest"])


def test_grid_coverage_counts_as_grid_show(sql_lake):
    got = _run(sql_lake, "grid_coverage.sql")
    expected = grid_status(sql_lake).no_class_reasons
    assert dict(zip(got["reason"], got["incidents"])) == expected == {
        "no location": 1, "outside the grid's cells": 1, "before the first risk grid": 1}
    outside = got.filter(pl.col("reason") == "outside the grid's cells").row(0, named=True)
    assert outside["cells"] == 1 and outside["busiest_cells"] == "1kmN6672E385 (1)"
    assert _run(sql_lake, "grid_coverage.sql", year=2024)["reason"].sort().to_list() == [
        "no location", "outside the grid's cells"]


def test_national_average_agrees_with_polars(sql_lake, responses):
    got = _run(sql_lake, "national_average.sql")
    measured = responses.filter("is_measured")
    for row in got.iter_rows(named=True):
        values = measured.filter(pl.col("local").dt.year() == row["year"])["response_s"]
        assert row["tasks"] == values.len() and _close(row["mean_s"], values.mean())
        days = measured.filter(pl.col("local").dt.year() == row["year"])["local"].dt.date()
        assert (row["first_day"], row["last_day"]) == (days.min(), days.max())
        assert row["within"] == (values.mean() <= 560)
    assert (_run(sql_lake, "national_average.sql", target_s=100)["within"] == False).all()  # noqa: E712


# --- valmius sql on the command line


@pytest.fixture
def project(sql_lake, tmp_path) -> Path:
    """A copy of the session's project folder with a valmius.toml, for commands that might write."""
    folder = tmp_path / "project"
    shutil.copytree(sql_lake.paths.lake.parent, folder, symlinks=True, ignore=IGNORE_TRASH)
    (folder / "valmius.toml").write_text('[paths]\nlake = "lake"\ncatalog = "valmius.duckdb"\n')
    return folder


def _cli(project: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(project / "valmius.toml"), *args], catch_exceptions=False)


def _lake_state(project: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(project)), p.stat().st_size) for p in (project / "lake").rglob("*") if p.is_file())


@pytest.mark.parametrize("statement", [
    "COPY (SELECT * FROM units) TO '{out}'",
    "COPY units TO '{out}' (FORMAT parquet)",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'",
    "INSERT INTO units SELECT * FROM units",
    "UPDATE responses SET response_s = 0",
    "DELETE FROM quarantine",
    "CREATE TABLE copy_of_units AS SELECT * FROM units",
    "CREATE OR REPLACE VIEW units AS SELECT 1",
    "DROP VIEW units",
    "ATTACH '{out}' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET file_search_path = '/'",
    "SET VARIABLE x = 1",
    "PRAGMA enable_profiling",
    "CALL checkpoint()",
    "EXPORT DATABASE '{out}'",
    "SELECT 1; DROP VIEW units",
])
def test_writes_through_valmius_sql_are_refused(project, tmp_path, statement):
    out = tmp_path / "written"
    before, catalog = _lake_state(project), (project / "valmius.duckdb").read_bytes()
    result = _cli(project, "sql", "-c", statement.format(out=out))
    assert result.exit_code == EXIT_ERROR
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: query, line 1:"), result.output
    assert "refused" in lines[0] or "second statement" in lines[0]
    assert not out.exists() and _lake_state(project) == before
    assert (project / "valmius.duckdb").read_bytes() == catalog


def test_sql_errors_name_the_file_and_line(project, tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("-- Question: Broken?\n--\nSELECT incident_id,\n       nonsense_s\nFROM responses\n")
    result = _cli(project, "sql", str(bad))
    assert result.exit_code == EXIT_ERROR
    assert result.output.startswith(f"Error: {bad}, line 4: Binder Error: Referenced column \"nonsense_s\" not found")
    assert len(result.output.strip().splitlines()) == 1
    bad.write_text("-- header\nSELECT 1\nFROM responses\nWHERE AND\n")
    assert _cli(project, "sql", str(bad)).output.startswith(f"Error: {bad}, line 4: Parser Error: syntax error")
    result = _cli(project, "sql", "-c", "SELECT count(*) FROM responses WHERE year = $year")
    assert "parameter $year has no value" in result.output and "--param year=VALUE" in result.output
    result = _cli(project, "sql", str(QUERIES / "class_i_by_station.sql"), "--param", "year=twenty")
    assert result.exit_code == EXIT_ERROR and "--param year: 'twenty' is not of type INTEGER" in result.output
    result = _cli(project, "sql", str(QUERIES / "class_i_by_station.sql"), "--param", "yeer=2025")
    assert "unknown parameter $yeer; this query's parameters: $risk_class, $year" in result.output
    assert "query file not found" in _cli(project, "sql", "queries/nope.sql").output
    assert "give a query file or -c SQL" in _cli(project, "sql").output


def test_parameters_and_outputs(project, tmp_path):
    args = [str(QUERIES / "class_i_by_station.sql"), "--param", "year=2024", "--param", "risk_class=II"]
    result = _cli(project, "sql", *args, "--output", "csv")
    assert result.exit_code == EXIT_OK
    csv = pl.read_csv(result.output.encode())
    assert csv.columns[:2] == ["station_id", "tasks"] and csv.height > 3
    assert _cli(project, "sql", *args, "--out", str(tmp_path / "r.parquet")).exit_code == EXIT_OK
    assert pl.read_parquet(tmp_path / "r.parquet")["tasks"].to_list() == csv["tasks"].to_list()
    assert _cli(project, "sql", *args, "-o", "json", "--out", str(tmp_path / "r.json")).exit_code == EXIT_OK
    assert [r["tasks"] for r in json.loads((tmp_path / "r.json").read_text())] == csv["tasks"].to_list()
    assert "needs --out FILE" in _cli(project, "sql", *args, "-o", "parquet").output
    table_output = _cli(project, "sql", "-c", "SELECT $n + 1 AS n, $day AS day", "-p", "n=41", "-p", "day=2025-01-31").output
    assert "42" in table_output and "2025-01-31" in table_output and re.search(r"\b1 row\b(?!s)", table_output)


def _every_output(project: Path, tmp_path: Path, sql: str) -> dict[str, pl.DataFrame | str]:
    """``sql``'s result as valmius sql prints it (the table, csv, json) and writes it (--out: csv, json,
    parquet), each run exiting 0; a printed result is the same as the file."""
    def run(*args: str) -> str:
        result = _cli(project, "sql", "-c", sql, *args)
        assert result.exit_code == EXIT_OK, (sql, args, result.output)
        return result.output

    got: dict[str, pl.DataFrame | str] = {"table": run()}
    for output in ("csv", "json", "parquet"):
        out = tmp_path / f"result.{output}"
        run("--out", str(out))
        if output != "parquet":
            assert run("-o", output) == out.read_text(encoding="utf-8"), output
    got["csv"] = pl.read_csv(tmp_path / "result.csv", infer_schema=False)
    got["json"] = pl.DataFrame(json.loads((tmp_path / "result.json").read_text(encoding="utf-8")))
    got["parquet"] = pl.read_parquet(tmp_path / "result.parquet")
    return got


@pytest.mark.parametrize("interval", ["trailing_window()", "interval 1 day", "max(call_at) - min(call_at)",
                                      "interval '1 month 2 days'", "interval 36 hours"])
def test_intervals_come_out_as_duckdb_writes_them(sql_lake, project, tmp_path, interval):
    """Polars has no type for DuckDB's INTERVAL (months, days, microseconds): a crash before; now the
    text DuckDB writes, in the frame and in every output."""
    sql = f"SELECT {interval} AS span FROM responses LIMIT 1"
    text = run_query(sql_lake, f"SELECT ({interval})::VARCHAR AS span FROM responses LIMIT 1")["span"].item()
    assert text == {"interval 1 day": "1 day", "interval '1 month 2 days'": "1 month 2 days",
                    "interval 36 hours": "36:00:00"}.get(interval, text)
    frame = run_query(sql_lake, sql)
    assert frame.schema == {"span": pl.String} and frame["span"].to_list() == [text]
    got = _every_output(project, tmp_path, sql)
    assert f" {text} " in got.pop("table")
    for output, result in got.items():
        assert result["span"].to_list() == [text], output


def test_every_duckdb_type_reaches_every_output(sql_lake, project, tmp_path):
    """Types that Polars holds keep their type; those it cannot hold (or the outputs cannot write)
    come as DuckDB's text; and csv writes any nested value (a struct, a map, a list of lists)."""
    kept = {"list": ("[1, 2]", pl.List(pl.Int32)), "struct": ("{'a': 1}", pl.Struct({"a": pl.Int32})),
            "nested": ("[[1, 2]]", pl.List(pl.List(pl.Int32))), "map": ("map {'a': 1}", None),
            "enum": ("'a'::enum('a', 'b')", pl.Categorical),
            "uuid": ("'6fdb686b-f49b-43f5-bf40-bf30ad0a4339'::uuid", pl.String),
            "huge": ("12345678901234567890123::hugeint", pl.Decimal(38, 0)), "time": ("time '12:00'", pl.Time)}
    as_text = {"blob": (r"blob 'x\xAA'", r"x\xAA"), "bit": ("'101'::bit", "101"),
               "big": ("('1' || repeat('0', 40))::bignum", "1" + "0" * 40), "either": ("union_value(k := 7)", "7"),
               "zoned": ("'12:00:00+02'::timetz", "12:00:00+02"),
               "spans": ("[interval 1 day, interval 1 month]", "[1 day, 1 month]"),
               "in_struct": ("{'i': interval 2 hours}", "{'i': '02:00:00'}")}
    sql = "SELECT " + ", ".join(f"{value} AS {name}" for name, (value, _) in {**kept, **as_text}.items())
    typed = {name: dtype for name, (_, dtype) in kept.items() if dtype is not None}
    texts = tuple(text for _, text in as_text.values())
    frame = run_query(sql_lake, sql)
    assert {name: frame.schema[name] for name in typed} == typed
    assert frame.select(list(as_text)).row(0) == texts
    got = _every_output(project, tmp_path, sql)
    assert all(f" {text} " in got["table"] for text in texts)
    csv = got["csv"].row(0, named=True)
    assert (csv["list"], csv["struct"], csv["nested"], csv["map"]) == ("1 2", '{"a": 1}', "[[1, 2]]", '{"a": 1}')
    for output in ("csv", "json", "parquet"):
        assert got[output].select(list(as_text)).cast(pl.String).row(0) == texts, output
    assert got["parquet"]["huge"].item() == frame["huge"].item()


def test_the_terminal_table_shows_cells_and_column_names_as_they_are(project):
    """rich reads '[red]' in a string as markup and ':warning:' as an emoji: a note or a value that
    holds them lost its brackets or its words. Cells and column names are shown literally."""
    result = _cli(project, "sql", "-c", "SELECT '[red]late[/red]' AS \"[b]status[/b]\", '[bold]x[/bold] :warning:' AS note, "
                                        "'a [link=https://x.fi]b' AS link")
    assert result.exit_code == EXIT_OK
    for text in ("[b]status[/b]", "[red]late[/red]", "[bold]x[/bold] :warning:", "a [link=https://x.fi]b"):
        assert text in result.output, text


UHUGEINTS = {"largest": "340282366920938463463374607431768211455",
             "past_signed": "170141183460469231731687303715884105733", "small": "7"}


def test_uhugeints_come_out_exactly(sql_lake, project, tmp_path):
    """DuckDB hands a UHUGEINT to Polars as a signed 128-bit decimal: beyond 2^127 it read negative
    (and Decimal(38, 0) has a digit too few). It comes as DuckDB's text, in every output."""
    sql = ("SELECT " + ", ".join(f"{value}::UHUGEINT AS {name}" for name, value in UHUGEINTS.items())
           + f", [{UHUGEINTS['largest']}::UHUGEINT] AS listed")
    texts = (*UHUGEINTS.values(), f"[{UHUGEINTS['largest']}]")
    frame = run_query(sql_lake, sql)
    assert frame.row(0) == texts
    got = _every_output(project, tmp_path, sql)
    assert all(f" {text} " in got["table"] for text in texts)
    for output in ("csv", "json", "parquet"):
        assert got[output].cast(pl.String).row(0) == texts, output


def test_repeated_column_names_take_duckdb_s_unique_names(sql_lake):
    """A join's columns may share a name: they take the names DuckDB's own conversion to Polars
    gives them (a, A_1, a_1_1), also when one of them comes as text."""
    sql = "SELECT 1 AS a, 2 AS \"A\", 3 AS a_1, DATE 'infinity' AS a, INTERVAL 1 DAY AS a"
    frame = run_query(sql_lake, sql)
    with duckdb.connect() as con:
        assert frame.columns == con.sql(sql.replace(", INTERVAL 1 DAY", ", 5")).pl().columns
    assert frame.row(0) == (1, 2, 3, "infinity", "1 day")


@pytest.mark.parametrize("type_, ordinary, special", [
    ("DATE", "2024-05-01", "infinity"), ("DATE", "2024-05-01", "-infinity"),
    ("TIMESTAMP", "2024-05-01 12:00", "-infinity"), ("TIMESTAMPTZ", "2024-05-01 12:00", "infinity"),
    ("TIMESTAMP_S", "2024-05-01 12:00", "infinity"), ("TIMESTAMP_MS", "2024-05-01 12:00", "-infinity"),
    ("TIMESTAMP_NS", "2024-05-01 12:00", "infinity"),
    ("DATE", "2024-05-01", "12345-06-01"), ("DATE", "2024-05-01", "0044-03-15 (BC)"),
    ("TIMESTAMP", "2024-05-01 12:00", "10000-01-01 00:00"), ("TIME", "12:00", "24:00:00"),
    ("HUGEINT", "42", "170141183460469231731687303715884105727"),
], ids=lambda value: str(value).replace(" ", "_"))
def test_values_that_python_cannot_hold_bring_their_column_as_duckdb_text(sql_lake, project, tmp_path, type_, ordinary,
                                                                          special):
    """Polars panicked reading an infinite date or timestamp (a Rust traceback in the table, csv and
    json), or gave a wrong one (an infinite TIMESTAMP_S read 1969, a TIMESTAMP_NS 2262); a year
    outside 1 to 9999 raised, a time of 24:00 read null, a HUGEINT of 39 digits was rounded. A
    column that holds such a value (also in a list or a struct) comes as DuckDB's text, its ordinary
    values too, in the frame and every output; a column without one keeps its type."""
    sql = (f"SELECT x, [x] AS listed, {{'v': x}} AS in_struct, '{ordinary}'::{type_} AS kept "
           f"FROM unnest(['{ordinary}'::{type_}, '{special}'::{type_}, NULL]) AS t(x)")
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        expected = con.sql(sql).project("x::VARCHAR AS x, listed::VARCHAR AS listed, in_struct::VARCHAR AS in_struct")
        expected, kept = pl.DataFrame(expected.fetchall(), schema=expected.columns, orient="row"), con.sql(sql).types[3]
    assert expected["x"].to_list()[1] in (special, special.replace(" 00:00", " 00:00:00"))  # DuckDB writes it as given
    frame = run_query(sql_lake, sql)
    assert frame.drop("kept").equals(expected)
    assert frame.schema["kept"] != pl.String, f"a {kept} column without such a value keeps its type"
    got = _every_output(project, tmp_path, sql)
    assert all(f" {text} " in got["table"] for text in expected["x"].drop_nulls())
    for output in ("csv", "json", "parquet"):
        assert got[output].drop("kept").cast(pl.String).equals(expected), output


def test_json_writes_decimals_as_numbers_with_all_their_digits(sql_lake, project, tmp_path):
    """sum() of integers gives a HUGEINT, which comes as Decimal(38, 0); json wrote it, and any
    DECIMAL, as a string. Now a number with its digits (a double would round 123456789012345.678),
    in lists, structs and maps too, whose keys JSON writes as text."""
    sql = ("SELECT sum(i::INTEGER) AS total, 92233720368547758070::HUGEINT AS huge, "
           "123456789012345.678::DECIMAL(18, 3) AS exact, (-0.5)::DECIMAL(18, 3) AS negative, "
           "[1.250::DECIMAL(4, 3)] AS listed, {'d': 2.5::DECIMAL(3, 1)} AS in_struct, "
           "MAP {DATE '2024-05-01': 1.5::DECIMAL(3, 1)} AS by_day FROM range(1, 1001) AS t(i)")
    frame = run_query(sql_lake, sql)
    assert frame.schema["total"] == pl.Decimal(38, 0) and frame.schema["exact"] == pl.Decimal(18, 3)
    result = _cli(project, "sql", "-c", sql, "-o", "json")
    assert result.exit_code == EXIT_OK, result.output
    rows = json.loads(result.output, parse_float=str)
    assert rows == [{"total": 500500, "huge": 92233720368547758070, "exact": "123456789012345.678",
                     "negative": "-0.500", "listed": ["1.250"], "in_struct": {"d": "2.5"}, "by_day": {"2024-05-01": "1.5"}}]
    assert _cli(project, "sql", "-c", sql, "--out", str(tmp_path / "r.json")).exit_code == EXIT_OK
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == result.output


def test_csv_writes_a_struct_or_map_as_the_json_output_does(project):
    """csv writes a struct, a map or a list of lists as JSON: a decimal in one read as a string, and a
    map keyed by dates raised a TypeError (JSON's keys are text)."""
    sql = ("SELECT {'d': 2.5::DECIMAL(3, 1)} AS in_struct, MAP {DATE '2024-05-01': 1} AS by_day, "
           "[[1.25::DECIMAL(4, 2)]] AS nested")
    result = _cli(project, "sql", "-c", sql, "-o", "csv")
    assert result.exit_code == EXIT_OK, result.output
    row = pl.read_csv(result.output.encode(), infer_schema=False).row(0, named=True)
    assert row == {"in_struct": '{"d": 2.5}', "by_day": '{"2024-05-01": 1}', "nested": "[[1.25]]"}
    as_json = json.loads(_cli(project, "sql", "-c", sql, "-o", "json").output)
    assert as_json == [{name: json.loads(text) for name, text in row.items()}]


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_results_do_not_depend_on_the_session_time_zone(sql_lake, path):
    """DBeaver or the DuckDB CLI run in the machine's zone: local times come only from local_time()."""
    expected = run_query(sql_lake, path)
    query = read_query(path)
    folder = sql_lake.paths.catalog.parent
    with duckdb.connect(str(sql_lake.paths.catalog), read_only=True, config={"file_search_path": str(folder)}) as con:
        con.execute("SET TimeZone = 'America/Los_Angeles'")
        got = con.sql(query.text.rstrip().rstrip(";"),
                      params={name: p.default for name, p in query.parameters.items()} or None).pl()
    assert got.equals(expected)


def test_ready_queries_are_listed_and_run_by_name(project, monkeypatch, tmp_path):
    listed = _cli(project, "sql", "--list")
    assert listed.exit_code == EXIT_OK
    for path in QUERY_FILES:
        query = read_query(path)
        assert f"{path.stem}\n  {query.question}\n" in listed.output
        for name, parameter in query.parameters.items():
            assert f"  ${name} {parameter.type} = {parameter.default_sql}" in listed.output
    monkeypatch.chdir(tmp_path)  # by name from any folder
    by_path = _cli(project, "sql", str(QUERIES / "class_i_by_station.sql"), "-p", "year=2024", "-o", "csv").output
    for name in ("class_i_by_station", "class_i_by_station.sql"):
        assert _cli(project, "sql", name, "-p", "year=2024", "-o", "csv").output == by_path
    unknown = _cli(project, "sql", "class_i_by_stations")
    assert unknown.exit_code == EXIT_ERROR
    assert "class_i_by_stations: no such query file, nor a ready query of that name; the ready queries: " in unknown.output
    assert "class_i_by_station, " in unknown.output
    assert "queries/nope.sql: query file not found" in _cli(project, "sql", "queries/nope.sql").output  # a path is a path


def test_a_wheel_carries_every_module_the_formats_and_the_query_library(monkeypatch):
    """What setuptools builds from pyproject.toml (its build_py, which fills the wheel): every module
    of src/valmius, the built-in formats, and queries/*.sql as valmius/queries, with no network and
    no build."""
    dist = pytest.importorskip("setuptools.dist")
    root = QUERIES.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    monkeypatch.chdir(root)  # the configuration's folders are relative to the project's
    where = config["packages"]["find"]["where"][0]
    packages = pytest.importorskip("setuptools").find_namespace_packages(where=where)
    build_py = dist.Distribution({"name": "valmius", "script_name": "pyproject.toml", "package_dir": {"": where},
                                  "packages": packages, "package_data": config["package-data"]}).get_command_obj("build_py")
    build_py.ensure_finalized()
    built = {Path(p).relative_to(build_py.build_lib).as_posix() for p in build_py.get_outputs(include_bytecode=False)}
    assert sorted(p for p in built if p.startswith("valmius/queries/")) == [f"valmius/queries/{p.name}" for p in QUERY_FILES]
    package = root / "src" / "valmius"
    assert {p.relative_to(root / "src").as_posix() for p in (package / "formats").glob("*.toml")} <= built
    assert {p.relative_to(root / "src").as_posix() for p in package.rglob("*.py")} <= built


def test_the_package_s_query_library_is_the_repository_s_one_copy():
    """src/valmius/queries is a link to queries/ (one copy in git); the package reads it through the link."""
    link = QUERIES.parent / "src" / "valmius" / "queries"
    assert link.is_symlink() and link.resolve() == QUERIES.resolve() == QUERY_LIBRARY


def test_an_installed_package_runs_its_own_copy_of_the_query_library(tmp_path):
    """Installed from a wheel (the link's files copied into the package), with no repository around
    it, the ready queries are the package's."""
    site = tmp_path / "site-packages"
    shutil.copytree(QUERIES.parent / "src" / "valmius", site / "valmius", ignore=shutil.ignore_patterns("__pycache__"))
    assert not (site / "valmius" / "queries").is_symlink()
    code = ("from pathlib import Path; from valmius.sql import QUERY_LIBRARY, find_query; from valmius.cli import main; "
            "print(QUERY_LIBRARY); print(find_query(Path('class_i_by_month'))); main(['sql', '--list'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
                          capture_output=True, text=True, check=True)
    library, found, listed = done.stdout.split("\n", 2)
    assert (library, found) == (str(site / "valmius" / "queries"), str(site / "valmius" / "queries" / "class_i_by_month.sql"))
    assert [line for line in listed.splitlines() if not line.startswith(" ")] == [p.stem for p in QUERY_FILES]


def test_help_and_catalog_commands(project):
    help_text = _cli(project, "sql", "--help").output
    assert "Example" in help_text and "valmius sql queries/class_i_by_month.sql --param year=2025" in help_text
    result = _cli(project, "catalog")
    assert result.exit_code == EXIT_OK and f"Wrote {project / 'valmius.duckdb'}" in result.output
    assert "file_search_path" in result.output and "duckdb -readonly valmius.duckdb" in result.output


def test_a_malformed_header_names_its_line(tmp_path):
    path = tmp_path / "x.sql"
    path.write_text("-- Question: What?\n-- Parameters:\n--   $year = 2025\nSELECT $year\n")
    with pytest.raises(QueryError, match=r"x.sql, line 3: a parameter line reads"):
        read_query(path)


def test_the_readme_lists_every_query():
    readme = (QUERIES.parent / "README.md").read_text()
    missing = [p.name for p in QUERY_FILES if f"queries/{p.name}" not in readme]
    assert not missing, f"add these to the README's SQL section: {missing}"


def test_a_query_on_a_fresh_catalog_loads_no_numba():
    """Ad-hoc SQL starts fast: the SQL module and the catalog load no Numba, to open the catalog or to
    write it afresh (test_catalog.py runs valmius catalog)."""
    code = "import sys, valmius.sql; print(sorted(m for m in ('numba', 'valmius.transform') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_markdown_examples_escape_a_pipe_in_names_and_cells():
    frame = pl.DataFrame({"a|b": ["x|y", "z"], "c": [1, 2]})
    header, rule, *rows = markdown_table(frame)
    columns = [re.split(r"(?<!\\)\|", line)[1:-1] for line in (header, *rows)]
    assert [[cell.strip() for cell in line] for line in columns] == [["a\\|b", "c"], ["x\\|y", "1"], ["z", "2"]]
    assert rule == "|---|---|"


@pytest.mark.parametrize(("height", "last"), [(9, "(1 more row)"), (10, "(2 more rows)"), (8, "| 8 |")])
def test_markdown_examples_count_the_rows_left_out(height, last):
    assert markdown_table(pl.DataFrame({"n": range(1, height + 1)}), rows=8)[-1] == last
