"""Tests of the SYNTHETIC demo world and its fi-erc export generator (valmius.demo)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from valmius.demo import (
    DEFECT_RATES, EXPORT_COLUMNS, build_world, generate_incidents, mark_defects, write_bulk_export,
    write_export, write_nightly_exports, write_world,
)
from valmius.demo.generate import INCIDENT_DEFECTS, ROW_DEFECTS

STATUS = {"alarm_at": "Hälytetty", "en_route_at": "Matkalla", "on_scene_at": "Kohteessa",
          "free_at": "Vapaa"}
TIME_FORMAT = "%d.%m.%Y %H:%M:%S"  # chrono reads non-padded day and month with %d and %m


@pytest.fixture(scope="module")
def world():
    return build_world(0)


@pytest.fixture(scope="module")
def two_weeks(world) -> pl.DataFrame:
    """Two weeks around the October 2025 DST change, three times the normal rate."""
    return pl.concat(list(generate_incidents(world, date(2025, 10, 20), date(2025, 11, 3),
                                             seed=3, scale=3.0)))


@pytest.fixture(scope="module")
def one_year(world) -> pl.DataFrame:
    return pl.concat(list(generate_incidents(world, date(2024, 1, 1), date(2025, 1, 1), seed=1,
                                             scale=3.0)))


def read_export(path: Path, encoding: str = "utf8") -> pl.DataFrame:
    return pl.read_csv(path, separator=";", infer_schema=False, encoding=encoding)


def local_to_utc(column: str, ambiguous: str) -> pl.Expr:
    return (pl.col(column).str.strptime(pl.Datetime("us"), TIME_FORMAT, strict=False)
            .dt.replace_time_zone("Europe/Helsinki", ambiguous=ambiguous, non_existent="null")
            .dt.convert_time_zone("UTC"))


# ----------------------------------------------------------------------------------------------
# The world


def test_risk_class_shares_are_within_documented_ranges(world):
    shares = dict(world.cells.group_by("risk_class").agg(pl.len() / world.cells.height).rows())
    assert 0.02 <= shares["I"] <= 0.04
    assert 0.08 <= shares["II"] <= 0.12
    assert 0.25 <= shares["III"] <= 0.35
    assert shares["IV"] >= 0.45


def test_population_and_municipalities_are_plausible(world):
    cells = world.cells
    assert 450_000 <= cells["population"].sum() <= 550_000
    by_muni = dict(cells.group_by("municipality_code").agg(pl.col("population").sum()).rows())
    assert set(by_muni) == {"092", "106", "186", "245", "505", "543", "611", "858"}
    assert by_muni["092"] > 200_000  # Vantaa is half of the area's residents
    assert 3_000 <= by_muni["611"] <= 8_000  # Pornainen is small
    centres = world.municipalities.filter(pl.col("municipality_code") == "186").row(0, named=True)
    assert abs(centres["centre_x_m"] - 395_000) < 3_000  # Järvenpää, near its real place
    assert abs(centres["centre_y_m"] - 6_706_000) < 3_000


def test_cell_ids_match_their_bottom_left_corner(world):
    cells = world.cells
    assert (cells["x_m"] % 1000 == 0).all() and (cells["y_m"] % 1000 == 0).all()
    expected = [f"1kmN{y // 1000}E{x // 1000}" for x, y in cells.select("x_m", "y_m").rows()]
    assert cells["cell_id"].to_list() == expected
    assert cells["cell_id"].n_unique() == cells.height


def test_pornainen_has_no_station_and_about_eight_units_on_immediate_readiness(world):
    stations = world.stations
    assert stations.filter(pl.col("municipality_code") == "611").is_empty()
    assert set(stations["municipality_code"]) == {"092", "106", "186", "245", "505", "543", "858"}
    immediate = world.units.join(stations, on="station_id").filter(
        pl.col("is_full_time") & (pl.col("unit_type") == "pelastusyksikkö")
        & (pl.col("turnout_s_median") <= 90))
    assert 7 <= immediate.height <= 10
    volunteer = stations.filter(~pl.col("is_full_time"))
    assert volunteer["turnout_s_median"].min() >= 240
    assert world.units["unit_id"].str.starts_with("KU").all()
    assert (world.units["unit_id"].str.slice(0, 4) == world.units["station_id"]).all()


def test_world_is_deterministic_for_a_seed():
    assert build_world(0).cells.equals(build_world(0).cells)
    assert not build_world(0).cells.equals(build_world(1).cells)


def test_write_world_writes_risk_grid_and_stations(world, tmp_path):
    paths = write_world(world, tmp_path, years=[2024, 2025])
    assert set(paths) == {"risk_grid_2024", "risk_grid_2025", "stations", "units"}
    grid = pl.read_csv(paths["risk_grid_2025"], schema_overrides={"municipality_code": pl.Utf8})
    assert grid.columns == ["cell_id", "x_m", "y_m", "risk_class", "municipality_code"]
    assert grid.height == world.cells.height and "092" in grid["municipality_code"].to_list()
    assert pl.read_csv(paths["stations"]).height == world.stations.height


# ----------------------------------------------------------------------------------------------
# True incidents


def test_volume_and_units_per_incident_match_the_department(world):
    rows = pl.concat(list(generate_incidents(world, date(2023, 1, 1), date(2024, 1, 1), seed=2)))
    incidents = rows["incident_id"].n_unique()
    assert 7_500 <= incidents <= 8_500
    assert 2.15 <= rows.height / incidents <= 2.45
    assert rows["incident_id"].str.contains(r"^2023-\d{6}$").all()


def test_windows_see_the_same_incidents(world):
    whole = pl.concat(list(generate_incidents(world, date(2025, 3, 25), date(2025, 4, 5), seed=4)))
    parts = pl.concat([*generate_incidents(world, date(2025, 3, 25), date(2025, 4, 1), seed=4),
                       *generate_incidents(world, date(2025, 4, 1), date(2025, 4, 5), seed=4)])
    assert whole.equals(parts)


def test_true_rows_are_consistent(two_weeks):
    rows = two_weeks
    arrived = rows.filter(pl.col("on_scene_at").is_not_null())
    assert (arrived["alarm_at"] > arrived["call_at"]).all()
    assert (arrived["en_route_at"] > arrived["alarm_at"]).all()
    assert (arrived["on_scene_at"] > arrived["en_route_at"]).all()
    assert (arrived["free_at"] > arrived["on_scene_at"]).all()
    assert (rows["on_scene_at"].is_null() == rows["is_cancelled"]).all()
    ids = rows.select(pl.concat_str(["incident_id", "unit_id"])).to_series()
    assert ids.n_unique() == rows.height  # a unit appears once per incident


def test_class_i_response_median_is_within_target_but_some_cells_are_not(one_year):
    urgent = one_year.filter(pl.col("urgency").is_in(["A", "B"]))
    incidents = urgent.group_by("incident_id").agg(
        pl.col("cell_id", "risk_class").first(),
        (pl.col("on_scene_at").min() - pl.col("alarm_at").min()).dt.total_seconds().alias("s"),
    ).drop_nulls("s")
    class_i = incidents.filter(pl.col("risk_class") == "I")
    assert class_i["s"].median() < 360
    per_cell = class_i.group_by("cell_id").agg(pl.len(), pl.col("s").median()) \
        .filter(pl.col("len") >= 20)
    assert per_cell["s"].median() < 360
    assert (per_cell["s"] > 360).sum() >= 3


# ----------------------------------------------------------------------------------------------
# The fi-erc export


def test_export_parses_back_to_the_true_instants(two_weeks, tmp_path):
    path = tmp_path / "demo-synthetic-fi-erc.csv"
    written = write_export(path, [two_weeks], seed=3)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + "Tehtävänumero;".encode())
    export = read_export(path)
    assert tuple(export.columns) == EXPORT_COLUMNS and export.height == written
    parsed = export.with_columns(
        *(local_to_utc(text, amb).alias(f"{col}_{amb}") for col, text in
          {**STATUS, "call_at": "Vastaanotettu"}.items() for amb in ("earliest", "latest")),
        pl.col("Koordinaatti_E").str.replace(",", ".").cast(pl.Float64).alias("x_parsed"),
    ).unique(subset=["Tehtävänumero", "Yksikkö"], keep="first")
    truth = mark_defects(two_weeks, 3).join(
        parsed, left_on=["incident_id", "unit_id"], right_on=["Tehtävänumero", "Yksikkö"])
    assert truth.height == two_weeks.height
    clean = truth.filter(pl.col("defect").is_null())
    for column in ["call_at", *STATUS]:
        same = ((pl.col(f"{column}_earliest") == pl.col(column))
                | (pl.col(f"{column}_latest") == pl.col(column))
                | (pl.col(column).is_null() & pl.col(f"{column}_earliest").is_null()))
        assert clean.select(same.fill_null(False).all()).item(), column
    assert (clean["x_parsed"] - clean["x_m"]).abs().max() < 0.051
    has_code = clean.filter(pl.col("incident_defect").is_null())
    assert (has_code["Kuntanumero"] == has_code["municipality_code"]).all()
    assert export["Vastaanotettu"].str.contains(r"^\d{1,2}\.\d{1,2}\.2025 \d\d:\d\d:\d\d$").all()
    assert not export["Vastaanotettu"].str.contains(r"^0").any()  # day not zero padded


def test_defects_appear_at_their_documented_rates(one_year, tmp_path):
    marked = mark_defects(one_year, seed=9)
    n = marked.height
    applicable = {"missing_on_scene", "en_route_at_arrival", "on_scene_before_en_route"}
    for name in ROW_DEFECTS:
        observed = (marked["defect"] == name).sum()
        rate = DEFECT_RATES[name] * (0.9 if name in applicable else 1.0)  # arrived rows only
        assert abs(observed - n * rate) < 5 * np.sqrt(n * rate) + 3, name
    incidents = marked.unique("incident_id")
    for name in INCIDENT_DEFECTS:
        observed = (incidents["incident_defect"] == name).sum()
        expected = incidents.height * DEFECT_RATES[name]
        assert abs(observed - expected) < 5 * np.sqrt(expected) + 3, name
    cancelled = one_year.group_by("incident_id").agg(pl.col("is_cancelled").all())
    assert abs(cancelled["is_cancelled"].mean() - DEFECT_RATES["cancelled_task"]) < 0.006

    path = tmp_path / "year.csv"
    written = write_export(path, [one_year], seed=9)
    export = read_export(path)
    assert written == n + (marked["defect"] == "duplicate_row").sum()
    assert export.is_duplicated().sum() == 2 * (marked["defect"] == "duplicate_row").sum()
    garbage = export.select(pl.any_horizontal(
        pl.col(c).str.contains(r"^(--|31\.2\.)") for c in STATUS.values()).sum()).item()
    assert garbage == (marked["defect"] == "unparseable_time").sum()
    no_code = export.filter(pl.col("Kuntanumero").is_null())["Tehtävänumero"].n_unique()
    assert no_code == (incidents["incident_defect"] == "missing_municipality").sum()


def test_export_is_deterministic_and_supports_cp1252_and_crlf(two_weeks, tmp_path):
    first, second, legacy = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_export(first, [two_weeks], seed=3)
    write_export(second, [two_weeks.head(1000), two_weeks.slice(1000)], seed=3)  # other chunks
    assert first.read_bytes() == second.read_bytes()
    write_export(legacy, [two_weeks], seed=3, encoding="cp1252", line_ending="\r\n")
    raw = legacy.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "Yksikkö".encode("cp1252") in raw
    assert raw.count(b"\r\n") == raw.count(b"\n")
    assert raw.decode("cp1252").replace("\r\n", "\n") == first.read_text("utf-8-sig")


def test_without_defects_every_row_round_trips(two_weeks, tmp_path):
    path = tmp_path / "clean.csv"
    assert write_export(path, [two_weeks], defects=False) == two_weeks.height
    export = read_export(path)
    alarm = export.select(local_to_utc("Hälytetty", "earliest")).to_series()
    alarm_late = export.select(local_to_utc("Hälytetty", "latest")).to_series()
    assert ((alarm == two_weeks["alarm_at"]) | (alarm_late == two_weeks["alarm_at"])).all()
    assert export["Kuntanumero"].null_count() == 0


def test_nightly_exports_overlap_and_carry_late_corrections(world, tmp_path):
    paths = write_nightly_exports(world, tmp_path, date(2025, 5, 1), date(2025, 5, 22), seed=5,
                                  scale=2.0)
    assert [p.name for p in paths][:2] == ["demo-synthetic-fi-erc-20250501.csv",
                                           "demo-synthetic-fi-erc-20250502.csv"]
    exports = [read_export(p) for p in paths]
    for earlier, later in zip(exports, exports[1:]):
        shared = earlier.join(later, on=earlier.columns, how="semi", nulls_equal=True)
        assert shared.height >= 0.3 * earlier.height  # one of the two days is in both files
    seen = pl.concat([e.with_columns(pl.lit(i).alias("night")) for i, e in enumerate(exports)])
    versions = seen.group_by("Tehtävänumero").agg(
        pl.col("night").n_unique().alias("nights"), (pl.col("night").max() - pl.col("night").min())
        .alias("span"), pl.col("Tehtävälaji").n_unique().alias("types"))
    corrected = versions.filter(pl.col("span") > 2)  # came back after leaving the window
    assert corrected.height >= 1
    assert versions.filter(pl.col("types") > 1).height >= 1  # a task type was corrected


def test_dst_night_repeats_the_october_hour_and_skips_the_march_hour(world, tmp_path):
    autumn = write_nightly_exports(world, tmp_path, date(2025, 10, 27), date(2025, 10, 28),
                                   seed=6, scale=20.0)[0]
    text = read_export(autumn)
    truth = pl.concat(list(generate_incidents(world, date(2025, 10, 25), date(2025, 10, 27),
                                              seed=6, scale=20.0)))
    repeated = text.join(truth, left_on=["Tehtävänumero", "Yksikkö"],
                         right_on=["incident_id", "unit_id"]).filter(
        pl.col("Hälytetty").str.starts_with("26.10.2025 03:"))
    utc_hours = set(repeated["alarm_at"].dt.hour().to_list())
    assert utc_hours == {0, 1}  # 03:xx local once in summer time, once in winter time
    spring = tmp_path / "spring.csv"
    write_export(spring, generate_incidents(world, date(2025, 3, 29), date(2025, 3, 31), seed=6,
                                            scale=20.0), seed=6)
    times = read_export(spring).select(list(STATUS.values())).unpivot()["value"].drop_nulls()
    assert times.str.starts_with("30.3.2025 02:").any()
    assert not times.str.starts_with("30.3.2025 03:").any()  # this hour does not exist


def test_bulk_export_writes_exactly_the_requested_rows(world, tmp_path):
    path = tmp_path / "bulk.csv"
    assert write_bulk_export(world, path, 20_000, seed=1, years=2) == 20_000
    export = read_export(path)
    assert export.height == 20_000 and tuple(export.columns) == EXPORT_COLUMNS
    assert export["Vastaanotettu"].str.contains(r"\.2016 ").any()


def test_bad_arguments_give_helpful_errors(two_weeks, tmp_path, world):
    from valmius.errors import ValmiusError
    with pytest.raises(ValmiusError, match="encoding must be one of"):
        write_export(tmp_path / "x.csv", [two_weeks], encoding="latin-9")
    with pytest.raises(ValmiusError, match="seed >= 0"):
        next(generate_incidents(world, date(2025, 1, 1), date(2025, 1, 2), seed=-1))
    assert re.match(r"^\d{4}-\d{6}$", two_weeks["incident_id"][0])
    assert datetime(2025, 10, 20, tzinfo=timezone.utc) <= two_weeks["call_at"].max()
