"""Response times by the domain rules, rolling tables against independent computations, and
incremental runs equal to a full recomputation."""

from __future__ import annotations

import dataclasses
import math
import shutil
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from conftest import IGNORE_TRASH, fi_row, table, write_fi
from valmius.cli import main
from valmius.demo import build_world, write_nightly_exports
from valmius.grid import import_risk_grid
from valmius.ingest import ingest
from valmius.mapping import load_mapping
from valmius.measure import calendar_points, measure
from valmius.settings import CountingSettings, PathSettings, WindowSettings

GRID = "x_m,y_m,risk_class,municipality_code\n393000,6711000,I,186\n394000,6711000,II,186\n"


def _times(day: str, alarm: str, en_route: str, on_scene: str, free: str = "09:00:00") -> dict:
    return {k: (f"{day} {v}" if v else "") for k, v in
            dict(alarm=alarm, en_route=en_route, on_scene=on_scene, free=free).items()}


def _lake(tmp_path, settings, rows):
    ingest([write_fi(tmp_path / "x.csv", rows)], load_mapping("fi-erc"), settings)
    grid = tmp_path / "grid.csv"
    grid.write_text(GRID)
    import_risk_grid(grid, 2025, settings)


def _responses(settings) -> dict[str, dict]:
    measure(settings)
    return {r["incident_id"]: r for r in table(settings, "responses").iter_rows(named=True)}


def test_response_is_earliest_alarm_to_earliest_on_scene(tmp_path, settings):
    day, call = "3.1.2025", "3.1.2025 07:05:00"
    rows = [
        # Two units: the second alarmed later but first on scene.
        fi_row(incident="a", call=call, unit="KU101", station="KU10", **_times(day, "07:06:00", "07:07:00", "07:13:00")),
        fi_row(incident="a", call=call, unit="KU201", station="KU20", **_times(day, "07:06:30", "07:07:10", "07:11:30")),
        # Ties on scene: the earlier alarm is the first unit.
        fi_row(incident="b", call=call, unit="KU102", **_times(day, "07:06:20", "07:07:00", "07:12:00")),
        fi_row(incident="b", call=call, unit="KU103", **_times(day, "07:06:10", "07:08:00", "07:12:00")),
        # Exactly on the 6-minute target of class I.
        fi_row(incident="c", call=call, **_times(day, "07:06:00", "07:07:00", "07:12:00")),
        fi_row(incident="h", call=call, **_times(day, "07:06:00", "07:07:00", "07:13:00")),
        # Nobody arrived.
        fi_row(incident="d", call=call, **_times(day, "07:06:00", "07:07:00", "", "")),
        # Non-urgent, class II cell.
        fi_row(incident="e", call=call, urgency="C", e="394500", **_times(day, "07:06:00", "07:07:00", "07:20:00")),
    ]
    _lake(tmp_path, settings, rows)
    got = _responses(settings)
    a = got["a"]
    assert (a["response_s"], a["first_unit_id"], a["station_id"]) == (330, "KU201", "KU20")
    assert (a["erc_s"], a["turnout_s"], a["travel_s"], a["units_counted"]) == (60, 40, 260, 2)
    assert (a["cell_id"], a["risk_class"], a["target_s"], a["within_target"]) == ("1kmN6711E393", "I", 360, True)
    b = got["b"]
    assert (b["first_unit_id"], b["response_s"], b["turnout_s"]) == ("KU103", 350, 110)
    assert got["c"]["response_s"] == 360 and got["c"]["within_target"] is True
    d = got["d"]
    assert d["response_s"] is None and d["no_response_reason"] == "no_unit_arrived" and not d["is_measured"]
    e = got["e"]
    assert (e["is_urgent"], e["risk_class"], e["target_s"], e["is_measured"]) == (False, "II", 600, False)
    events = table(settings, "rolling_events")
    assert set(events["incident_id"]) == {"a", "b", "c", "h"}
    overall = events.filter(pl.col("grouping") == "all")
    assert overall["count"].to_list() == [4] * 4  # same call second: all inside each other's windows
    assert overall["median_s"][0] == 355.0 and overall["share_within_target"][0] == pytest.approx(3 / 4)


def test_counting_settings_narrow_units_urgency_and_tasks(tmp_path, settings):
    day, call = "3.1.2025", "3.1.2025 07:05:00"
    rows = [
        fi_row(incident="a", call=call, unit="EVY1", unit_type="ensivasteyksikkö", **_times(day, "07:06:00", "07:06:30", "07:09:00")),
        fi_row(incident="a", call=call, unit="KU101", **_times(day, "07:06:00", "07:07:00", "07:12:00")),
        fi_row(incident="b", call=call, urgency="C", **_times(day, "07:06:00", "07:07:00", "07:12:00")),
        fi_row(incident="c", call=call, task="700 ensivastetehtävä", **_times(day, "07:06:00", "07:07:00", "07:12:00")),
        fi_row(incident="f", call=call, unit="EVY2", unit_type="ensivasteyksikkö", **_times(day, "07:06:00", "07:07:00", "07:12:00")),
    ]
    _lake(tmp_path, settings, rows)
    default = _responses(settings)
    assert default["a"]["response_s"] == 180 and default["a"]["first_unit_id"] == "EVY1"
    assert not default["b"]["is_urgent"]
    narrowed = dataclasses.replace(settings, counting=CountingSettings(
        unit_types=["pelastusyksikkö"], urgent_classes=["A", "B", "C"], task_types=["4"]))
    got = _responses(narrowed)
    assert got["a"]["response_s"] == 360 and got["a"]["first_unit_id"] == "KU101"
    assert got["b"]["is_urgent"] and got["b"]["is_measured"]
    assert not got["c"]["is_counted_task"] and not got["c"]["is_measured"]
    assert got["f"]["no_response_reason"] == "no_counted_unit" and got["f"]["units_counted"] == 0


def test_responses_agree_with_duckdb_on_the_sample_week(tmp_path, settings, sample_lake):
    """A second engine computes response time from the stored units: they must agree exactly."""
    lake = sample_lake
    got = table(lake, "responses").filter(pl.col("response_s").is_not_null())
    sql = f"""
        select incident_id, epoch(min(on_scene_at)) - epoch(min(alarm_at)) as response_s,
               arg_min(unit_id, (on_scene_at, alarm_at, unit_id)) filter (where on_scene_at is not null) as first_unit_id
        from read_parquet('{lake.lake_path}/units/**/*.parquet', hive_partitioning = true)
        group by incident_id having min(on_scene_at) is not null and min(alarm_at) is not null"""
    expected = duckdb.sql(sql).pl()
    joined = got.join(expected, on="incident_id", how="full", suffix="_duckdb")
    assert joined.height == got.height == expected.height
    assert (joined["response_s"] == joined["response_s_duckdb"].cast(pl.Int64)).all()
    assert (joined["first_unit_id"] == joined["first_unit_id_duckdb"]).all()


def _window_stats(values: np.ndarray, within: np.ndarray, level: float = 0.95) -> dict:
    """Independent statistics of one window: sorted values, binomial order statistics."""
    v = np.sort(values)
    n = v.size
    k = 0
    for j in range(1, n + 1):  # largest k with P(Bin(n, 1/2) <= k - 1) <= (1 - level) / 2
        if sum(math.comb(n, i) for i in range(j)) / 2**n <= (1 - level) / 2:
            k = j
    return {"count": n, "median_s": float(np.median(v)), "mean_s": float(v.mean()),
            "p90_s": float(np.quantile(v, 0.9)), "share_within_target": float(within.mean()),
            "ci_low_s": float(v[k - 1]) if k else None, "ci_high_s": float(v[n - k]) if k else None}


def test_rolling_tables_recomputed_from_stored_responses(sample_lake):
    settings = sample_lake
    responses = table(settings, "responses").filter("is_measured")
    window_s = settings.windows.trailing_days * 86_400
    t = (responses["call_at"].dt.epoch("s")).to_numpy()
    for grouping, column in [("all", None), ("risk_class", "risk_class"), ("station", "station_id"), ("cell", "cell_id")]:
        events = table(settings, "rolling_events").filter(pl.col("grouping") == grouping)
        keys = ["all"] if column is None else responses[column].drop_nulls().unique().sort().to_list()[:8]
        for key in keys:
            mine = np.ones(responses.height, bool) if column is None else (responses[column] == key).fill_null(False).to_numpy()
            rows = events.filter(pl.col("group_key") == key).sort("at")
            assert rows.height == mine.sum()
            for row in rows.head(40).iter_rows(named=True):
                at = int(row["at"].timestamp())
                inside = mine & (t > at - window_s) & (t <= at)
                expected = _window_stats(responses["response_s"].to_numpy()[inside].astype(float),
                                         responses["within_target"].fill_null(False).to_numpy()[inside])
                for name, value in expected.items():
                    assert row[name] == (pytest.approx(value) if value is not None else None), (grouping, key, name)
    calendar = table(settings, "rolling_calendar").filter(pl.col("grouping") == "all").sort("at")
    for row in calendar.iter_rows(named=True):
        at = int(row["at"].timestamp())
        inside = (t > at - window_s) & (t <= at)
        assert row["count"] == inside.sum()
        assert row["median_s"] == pytest.approx(float(np.median(responses["response_s"].to_numpy()[inside])))


def _tables(settings) -> dict[str, pl.DataFrame]:
    return {name: table(settings, name).sort(*keys) for name, keys in [
        ("responses", ["incident_id"]), ("rolling_events", ["grouping", "group_key", "incident_id"]),
        ("rolling_calendar", ["grouping", "group_key", "at"])]}


@pytest.mark.parametrize("calendar", ["day", "month"])
def test_nightly_incremental_runs_equal_a_full_recomputation(tmp_path, settings, calendar):
    settings = dataclasses.replace(settings, windows=WindowSettings(trailing_days=7, calendar=calendar))
    world = build_world(0)
    files = write_nightly_exports(world, tmp_path / "exports", date(2025, 3, 20), date(2025, 4, 12), seed=5, scale=0.5)
    grid = tmp_path / "grid.csv"
    world.cells.select("x_m", "y_m", "risk_class", "municipality_code").write_csv(grid)
    modes = []
    for night, file in enumerate(files):
        ingest([file], load_mapping("fi-erc"), settings)
        if night == 8:
            import_risk_grid(grid, 2025, settings)  # classes arrive mid-way: every cell's class changes
        modes.append(measure(settings).mode)
    # A lone late correction of a task near a month's end: its windows reach into the next month.
    text = files[10].read_text(encoding="utf-8-sig").splitlines()
    ids = [line.split(";")[0] for line in text[1:]]
    late = next(line for line in text[1:] if line.split(";")[1].startswith("29.3.2025") and line.split(";")[14]
                and line.split(";")[4] in ("A", "B") and ids.count(line.split(";")[0]) == 1)
    fields = late.split(";")
    fields[14] = fields[15] = ""  # the unit never arrived after all
    correction = tmp_path / "exports" / "correction.csv"
    correction.write_text("\n".join([text[0], ";".join(fields)]) + "\n", encoding="utf-8-sig")
    ingest([correction], load_mapping("fi-erc"), settings)
    modes.append(measure(settings).mode)
    # The first run, and the one after the grid arrived, measure everything; the others what changed.
    assert [i for i, mode in enumerate(modes) if mode == "full"] == [0, 8]
    incremental = _tables(settings)
    assert incremental["rolling_events"].height > 0
    full_settings = dataclasses.replace(settings, paths=PathSettings(lake=tmp_path / "full"))
    shutil.copytree(settings.lake_path, tmp_path / "full", symlinks=True, ignore=IGNORE_TRASH)
    measure(full_settings, full=True)
    full = _tables(full_settings)
    for name in incremental:
        assert incremental[name].equals(full[name]), name


def test_a_changed_window_setting_recomputes_everything(sample_lake):
    settings = dataclasses.replace(sample_lake, windows=WindowSettings(trailing_days=30))
    summary = measure(settings)
    assert summary.mode == "full"
    assert set(table(settings, "rolling_events")["window_days"]) == {30}
    assert measure(settings).mode == "incremental"


def test_calendar_points_follow_local_midnight_and_weeks_start_monday():
    times = pl.Series([1735689600 + 3600, 1743379200])  # 1.1.2025 03:00 and 31.3.2025 03:00 local
    months = calendar_points(times, "month", "Europe/Helsinki")
    assert months.height == 3
    assert str(months["period_start"][0]) == "2024-12-31 22:00:00+00:00"
    assert str(months["at"][2]) == "2025-03-31 20:59:59+00:00"  # summer time from 30 March
    weeks = calendar_points(times, "week", "Europe/Helsinki")
    assert str(weeks["period_start"][0]) == "2024-12-29 22:00:00+00:00"  # Monday 30.12.2024


def test_cli_measure(tmp_path, settings):
    (tmp_path / "valmius.toml").write_text('[paths]\nlake = "lake"\n')
    _lake(tmp_path, settings, [fi_row()])
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "valmius.toml"), "measure"])
    assert result.exit_code == 0, result.output
    assert "Measured 1 incident (full); 1 urgent task with a response enters the rolling medians" in result.output


def test_nightly_run_reads_the_inbox_and_measures(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "valmius.toml").write_text('[paths]\nlake = "lake"\ninbox = "inbox"\n')
    write_fi(inbox / "export-1.csv", [fi_row()])
    runner = CliRunner()
    args = ["--config", str(tmp_path / "valmius.toml"), "nightly", "--format", "fi-erc", "--quiet", "--no-report"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Measured 1 incident (" in result.output and "Moved to archive: 1 file\n" in result.output
    write_fi(inbox / "export-2.csv", [fi_row(incident="2025-000002")])
    result = runner.invoke(main, args)
    assert "Measured 2 incidents (incremental)" in result.output
    (tmp_path / "valmius.toml").write_text('[paths]\nlake = "lake"\ninbox = "missing"\n')
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "inbox folder not found" in result.output


def test_a_new_grid_measures_every_response_again_and_a_new_counting_setting_is_a_new_definition(sample_lake, tmp_path):
    settings = sample_lake
    before = table(settings, "responses")
    grid = tmp_path / "all-class-ii.csv"
    cells = build_world(0).cells.select("x_m", "y_m", pl.lit("II").alias("risk_class"), "municipality_code")
    cells.write_csv(grid)
    import_risk_grid(grid, 2025, settings)
    assert measure(settings).responses_changed > 0
    after = table(settings, "responses")
    assert set(after.drop_nulls("risk_class")["risk_class"]) == {"II"}
    assert before.height == after.height
    narrowed = dataclasses.replace(settings, counting=CountingSettings(urgent_classes=["A"]))
    assert measure(narrowed).mode == "full"  # the new definition's first measure
    assert set(table(narrowed, "responses").filter("is_urgent")["urgency"]) == {"A"}
    assert table(settings, "responses").equals(after)  # the old definition's results stay as they were


def test_responses_measured_a_few_partitions_at_a_time_equal_all_at_once(sql_lake, monkeypatch):
    from valmius import measure as measure_module
    from valmius.definitions import open_results
    from valmius.responses import measure_responses

    snapshot = open_results(sql_lake)
    whole = measure_responses(snapshot, sql_lake).collect()
    months = len(snapshot.partitions("incidents"))  # three years (UTC months: 37)
    monkeypatch.setattr(measure_module, "RESPONSE_BATCH_MONTHS", 7)  # six batches, the last short
    batched = measure_module._responses(snapshot, sql_lake, None)
    assert months > 35 and batched.height > 0
    assert batched.sort("incident_id").equals(whole.sort("incident_id"))
    runs = measure_module._month_runs(batched)  # each partition's rows together: written as slices
    assert len(runs) == len({values for values, _, _ in runs}) == months


def test_measured_range_reads_only_the_end_partitions_and_equals_the_whole_range(sql_lake):
    from valmius.definitions import open_results
    from valmius.measure import _measured_range

    snapshot = open_results(sql_lake)
    stored = snapshot.scan("responses").collect()
    months = sorted(snapshot.partitions("responses"))
    first, second, last = months[0], months[1], months[-1]

    def in_months(frame, chosen):
        return frame.filter((pl.col("year") * 100 + pl.col("month")).is_in([y * 100 + m for y, m in chosen]))

    def naive(dirty, new):
        kept = stored.clear() if dirty is None else stored.join(in_months(stored, dirty), on="incident_id", how="anti")
        t = pl.concat([kept, new]).filter("is_measured")["call_at"].dt.epoch("s")
        return [] if t.len() == 0 else [t.min(), t.max()]

    unmeasured = pl.col("is_measured") & False
    cases = [
        (None, stored),  # a full measure: every response is new
        (set(), stored.clear()),  # nothing changed
        ({first, last}, in_months(stored, [first, last])),  # the end partitions measured again, unchanged
        # The first two months' tasks no longer measured, the last month's removed: the range
        # comes from partitions further in.
        ({first, second, last}, in_months(stored, [first, second]).with_columns(is_measured=unmeasured)),
        (None, stored.with_columns(is_measured=unmeasured)),  # nothing measured at all
    ]
    for dirty, new in cases:
        assert _measured_range(snapshot, new, dirty).to_list() == naive(dirty, new), dirty
    moved, whole = naive({first, second, last}, cases[3][1]), naive(None, stored)
    assert moved[0] > whole[0] and moved[1] < whole[1]  # that case does move both ends
