"""The service-level review: its numbers recomputed independently from the stored responses (a
hand-made lake whose problem cells and rule differences are known, and a generated multi-year lake),
small counts suppressed, both languages, what changed between two reviews, the CLI and the page in
a real browser."""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from browser import needs_browser, open_in_browser
from conftest import IGNORE_TRASH, fi_row, write_fi
from valmius.cli import main
from valmius.errors import ReviewError, SettingsError
from valmius.flags import evaluate
from valmius.grid import import_risk_grid
from valmius.ingest import ingest
from valmius.labels import mmss
from valmius.definitions import open_results
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.review import write_review
from valmius.review.changes import place
from valmius.review.charts import mean_by_year, median_by_year, share_by_year
from valmius.review.labels import points_words
from valmius.scorecards import scorecards
from valmius.settings import PathSettings, ReportSettings, ReviewSettings, Settings, load_settings

HELSINKI = ZoneInfo("Europe/Helsinki")
X0, Y0 = 390_000, 6_710_000
YEARS = (2022, 2023, 2024, 2025)
# Row 0 of the grid is class I (RECLASSED: class II in the 2022 grid); row 2 holds one cell of II-IV.
FAST = [(0, 0), (1, 0), (2, 0)]     # 240 s, 12 tasks a year each (KU10, Järvenpää 186)
PROBLEM = (4, 0)                    # 480 s every year: a problem cell by both rules
LATE = (5, 0)                       # 300 s, then 420 s in 2025 only
FEW = (7, 0)                        # 3 tasks a year at 400 s: a problem cell with too few tasks to show
EVEN = (8, 0)                       # 300 300 360 400 400 400: median 380 over, half within: median rule only
RECLASSED = (9, 0)                  # 420 s: within class II's 10 min in 2022, over class I's 6 min after
CLASS_II, CLASS_III, CLASS_IV = (0, 2), (1, 2), (2, 2)
TODAY = date(2026, 1, 15)


def _cell_id(cell: tuple[int, int]) -> str:
    return f"1kmN{(Y0 + cell[1] * 1000) // 1000}E{(X0 + cell[0] * 1000) // 1000}"


def _local(moment: datetime) -> str:
    local = moment.astimezone(HELSINKI)
    return f"{local.day}.{local.month}.{local.year} {local:%H:%M:%S}"


class _Rows:
    def __init__(self, prefix: str = "R") -> None:
        self.prefix = prefix
        self.rows: list[str] = []

    def add(self, cell, call: datetime, response_s: int, *, muni="858", station="KU20", urgency="B",
            arrived=True) -> None:
        alarm = call + timedelta(seconds=60)
        located = cell is not None
        self.rows.append(fi_row(
            incident=f"{self.prefix}{len(self.rows):05d}", call=_local(call), muni=muni, urgency=urgency,
            alarm=_local(alarm), en_route=_local(alarm + timedelta(seconds=60)),
            on_scene=_local(alarm + timedelta(seconds=response_s)) if arrived else "",
            free=_local(alarm + timedelta(seconds=response_s + 3600)), station=station, unit=station + "1",
            e=str(X0 + cell[0] * 1000 + 500) if located else "", n=str(Y0 + cell[1] * 1000 + 500) if located else ""))


def _call(year: int, index: int) -> datetime:
    """Calls spread over the year: the 15th of a month, at a different hour for each index."""
    return datetime(year, 1 + index % 12, 15, 8 + index // 12 % 12, 0, tzinfo=HELSINKI)


def _rows() -> list[str]:
    r = _Rows()
    for year in YEARS:
        for cell in FAST:
            for i in range(12):
                r.add(cell, _call(year, i), 240, muni="186", station="KU10")
        for i in range(6):
            r.add(PROBLEM, _call(year, i), 480)
            r.add(LATE, _call(year, i), 420 if year == 2025 else 300)
            r.add(RECLASSED, _call(year, i), 420)
            r.add(CLASS_II, _call(year, i), ([500, 500, 600, 620, 620, 620] if year == 2024 else [500] * 6)[i],
                  muni="106", station="KU30")
        for i, value in enumerate([300, 300, 360, 400, 400, 400]):
            r.add(EVEN, _call(year, i), value)
        for i in range(3):
            r.add(FEW, _call(year, i), 400)
        for i in range(5):
            r.add(CLASS_III, _call(year, i), 900, muni="106", station="KU30")
        for i in range(3 if year == 2023 else 5):
            r.add(CLASS_IV, _call(year, i), 1500, muni="106", station="KU30")
        for i in range(2):
            r.add(None, _call(year, i + 3), 700, muni="186", station="KU10")  # no location: no risk class
            r.add(FAST[0], _call(year, i + 5), 100, muni="186", station="KU10", urgency="C")  # not urgent
        r.add(FAST[1], _call(year, 7), 0, muni="186", station="KU10", arrived=False)  # never arrived
    # Half past midnight on New Year's Day is still 31 December in UTC: it belongs to 2023.
    r.add(FAST[0], datetime(2023, 1, 1, 0, 30, tzinfo=HELSINKI), 240, muni="186", station="KU10")
    return r.rows


def _grid(path: Path, year: int) -> Path:
    lines = ["x_m,y_m,risk_class,municipality_code"]
    for cx in range(10):
        risk_class = "II" if (cx, 0) == RECLASSED and year == 2022 else "I"
        lines.append(f"{X0 + cx * 1000},{Y0},{risk_class},{'186' if cx < 3 else '858'}")
    for cell, risk_class in ((CLASS_II, "II"), (CLASS_III, "III"), (CLASS_IV, "IV")):
        lines.append(f"{X0 + cell[0] * 1000},{Y0 + cell[1] * 1000},{risk_class},106")
    path.write_text("\n".join(lines) + "\n")
    return path


def _settings(root: Path) -> Settings:
    return dataclasses.replace(Settings(), paths=PathSettings(lake=root / "lake", inbox=root / "inbox",
                                                              catalog=root / "valmius.duckdb",
                                                              reports=root / "reports"))


@pytest.fixture(scope="module")
def hand_review_lake(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("review")
    settings = _settings(root)
    ingest([write_fi(root / "tasks.csv", _rows())], load_mapping("fi-erc"), settings)
    for year in YEARS:
        import_risk_grid(_grid(root / f"grid_{year}.csv", year), year, settings)
    measure(settings)
    return settings


@pytest.fixture
def lake_copy(hand_review_lake, tmp_path) -> Settings:
    """A private copy of the hand-made lake, for tests that write reviews or change the data."""
    shutil.copytree(hand_review_lake.lake_path, tmp_path / "lake", symlinks=True, ignore=IGNORE_TRASH)
    return _settings(tmp_path)


@pytest.fixture(scope="module")
def generated_lake(tmp_path_factory) -> Settings:
    """Three years of the SYNTHETIC demo world (with its export defects), one export per year."""
    from valmius.demo import build_world
    from valmius.demo.generate import generate_incidents, write_export

    root = tmp_path_factory.mktemp("generated")
    settings = _settings(root)
    world = build_world(0)
    grid = root / "grid.csv"
    world.cells.select("x_m", "y_m", "risk_class", "municipality_code").write_csv(grid)
    files = []
    for year in (2023, 2024, 2025):
        path = root / f"export-{year}.csv"
        write_export(path, generate_incidents(world, date(year, 1, 1), date(year + 1, 1, 1), seed=year, scale=0.2),
                     seed=year)
        files.append(path)
        import_risk_grid(grid, year, settings)
    ingest(files, load_mapping("fi-erc"), settings)
    measure(settings)
    return settings


# --- Independent computations from the stored responses -----------------------------------------

def _ci(values: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Order-statistic interval of the median: largest k with P(Bin(n, 1/2) <= k - 1) <= (1 - level) / 2."""
    v, n = np.sort(values), values.size
    k, below = 0, 0  # below = sum of C(n, i) for i < j, exact integers
    for j in range(1, n + 1):
        below += math.comb(n, j - 1)
        if 2 * below > (1 - level) * 2**n:
            break
        k = j
    return (float(v[k - 1]), float(v[n - k])) if k else (None, None)


def _measured(settings: Settings) -> list[dict]:
    responses = open_results(settings).scan("responses").collect()
    rows = responses.filter(pl.col("is_measured")).to_dicts()
    for row in rows:
        row["local_year"] = row["call_at"].astimezone(ZoneInfo(settings.time.zone)).year
    return rows


def _expected_yearly(settings: Settings, years) -> dict[tuple, dict]:
    """Per (year, grouping, group_key, risk_class): the figures, by plain Python and numpy."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in _measured(settings):
        if row["local_year"] not in years:
            continue
        keys = [("all", "all", None)]
        if row["risk_class"] is not None:
            keys.append(("risk_class", row["risk_class"], row["risk_class"]))
        for grouping, column in (("municipality", "municipality_code"), ("station", "station_id")):
            if row[column] is not None:
                keys.append((grouping, row[column], None))
                if row["risk_class"] in settings.flags.risk_classes:
                    keys.append((grouping, row[column], row["risk_class"]))
        for key in keys:
            groups[(row["local_year"], *key)].append(row)
    expected = {}
    for key, rows in groups.items():
        values = np.array([r["response_s"] for r in rows], dtype=float)
        within = [r["within_target"] for r in rows if r["within_target"] is not None]
        targets = {r["target_s"] for r in rows}
        expected[key] = dict(count=values.size, median=float(np.median(values)), mean=float(values.mean()),
                             share=float(np.mean(within)) if within else None,
                             ci=_ci(values, settings.windows.ci_level),
                             target=targets.pop() if key[3] is not None and len(targets) == 1 else None)
    return expected


def _read_yearly(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, schema_overrides={"group_key": pl.String, "risk_class": pl.String,
                                               "count_shown": pl.String})


def _check_yearly_csv(settings: Settings, folder: Path, years) -> pl.DataFrame:
    stored = _read_yearly(folder / "tables" / "yearly.csv")
    expected = _expected_yearly(settings, years)
    min_count = settings.report.min_count_shown
    seen = set()
    for row in stored.iter_rows(named=True):
        key = (row["year"], row["grouping"], row["group_key"], row["risk_class"])
        seen.add(key)
        want = expected[key]
        if want["count"] < min_count:
            assert row["count"] is None and row["count_shown"] == f"< {min_count}", key
            assert row["median_s"] is None and row["share_within_target"] is None and row["mean_s"] is None, key
            assert row["ci_low_s"] is None and row["is_over_target"] is None, key
            continue
        assert row["count"] == want["count"] and row["count_shown"] == str(want["count"]), key
        assert row["median_s"] == want["median"], key
        assert row["mean_s"] == pytest.approx(want["mean"]), key
        assert (row["ci_low_s"], row["ci_high_s"]) == want["ci"], key
        if want["share"] is None:
            assert row["share_within_target"] is None
        else:
            assert row["share_within_target"] == pytest.approx(want["share"]), key
        if row["risk_class"] is None:
            assert row["target_s"] is None and row["is_over_median"] is None
            assert row["national_target_s"] == settings.review.national_mean_target_s
            assert row["is_over_national_target"] == (want["mean"] > settings.review.national_mean_target_s)
        else:
            assert row["target_s"] == want["target"], key
            assert row["is_over_median"] == (want["median"] > want["target"]), key
            assert row["is_over_share"] == (want["share"] < 0.5), key
            assert row["is_over_target"] == row["is_over_median"], key  # flags.rule = median
    assert seen == set(expected)
    return stored


def _expected_problem_cells(settings: Settings, years, rule: str) -> set[str]:
    """Cells of the judged classes in the last year's grid, over target in each year (its own target)."""
    snapshot = open_results(settings)
    from valmius.grid import grid_at

    judged = set(grid_at(snapshot, years[-1]).filter(pl.col("risk_class").is_in(settings.flags.risk_classes))
                 ["cell_id"].to_list())
    by_cell: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in _measured(settings):
        if row["cell_id"] in judged and row["local_year"] in years and row["risk_class"] is not None:
            by_cell[row["cell_id"]][row["local_year"]].append(row)
    found = set()
    for cell, per_year in by_cell.items():
        over = []
        for year in years:
            rows = per_year.get(year, [])
            if not rows:
                break
            values = np.array([r["response_s"] for r in rows], dtype=float)
            target = rows[0]["target_s"]
            over.append(np.median(values) > target if rule == "median" else np.mean(values <= target) < 0.5)
        if len(over) == len(years) and all(over):
            found.add(cell)
    return found


# --- Tests ---------------------------------------------------------------------------------------

def test_numbers_match_the_stored_responses(lake_copy):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    assert result.folder == lake_copy.paths.reports / "review-2022-2025-2026-01-15"
    yearly = _check_yearly_csv(lake_copy, result.folder, YEARS)
    # The midnight call of New Year's Day counts in 2023, in local time.
    ku10 = yearly.filter(pl.col("grouping") == "station", pl.col("group_key") == "KU10", pl.col("risk_class") == "I")
    assert dict(zip(ku10["year"], ku10["count"])) == {2022: 36, 2023: 37, 2024: 36, 2025: 36}
    names = {p.relative_to(result.folder).as_posix() for p in result.files}
    assert {"review.html", "review.json", "tables/yearly.csv", "tables/problem_cells.csv", "tables/areas.csv",
            "tables/coverage.csv", "tables/changes.csv"} <= names
    for chart in ("median", "share", "mean"):
        assert (result.folder / "charts" / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (result.folder / "charts" / f"{chart}.svg").read_text()[:400]
    coverage = pl.read_csv(result.folder / "tables" / "coverage.csv")
    assert coverage["urgent_tasks"].to_list() == [82, 81, 82, 82] and coverage["measured"].to_list() == [81, 80, 81, 81]
    # The page shows the class I median and interval of the last year as stored.
    page = result.html.read_text()
    last = yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == "I", pl.col("year") == 2025).row(
        0, named=True)
    summary = re.findall(r"<li>(.*?)</li>", re.search(r"<ul class='summary'>(.*?)</ul>", page).group(1))
    assert summary[0] == (
        f"Vuonna 2025 riskiluokassa I oli {last['count']} mitattua kiireellistä tehtävää; toimintavalmiusajan "
        f"mediaani oli {mmss(last['median_s'])} (95 %:n luottamusväli {mmss(last['ci_low_s'])}–"
        f"{mmss(last['ci_high_s'])}) ja {round(100 * last['share_within_target'])} % tehtävistä oli tavoiteajassa "
        f"6:00. Tavoite (mediaani enintään 6:00) saavutettiin. Luottamusväli ulottuu tavoiteajan molemmin puolin, "
        f"joten tulos ei ole varma. Vuoden 2025 aineisto on vajaa: mitattu aineisto päättyy jo 15.12.2025.")
    assert last["ci_low_s"] <= 360 < last["ci_high_s"]  # 36 tasks at 4:00 and 27 slower ones
    met = yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == "I", ~pl.col("is_over_target"))
    # The hand-made lake's calls fall on the 15th of each month: 2022 from 15 January, 2025 to 15 December.
    assert summary[1] == (f"Riskiluokan I tavoite saavutettiin {met.height}/4 vuotena 2022–2025. Vajaat vuodet: 2022 "
                          f"(mitattu aineisto alkaa vasta 15.1.2022); 2025 (mitattu aineisto päättyy jo 15.12.2025).")
    assert summary[-1].startswith("Aiempaa seurantaa ei löytynyt")


def test_generated_multi_year_lake_against_the_responses(generated_lake):
    result = write_review(generated_lake, first_year=2023, last_year=2025, today=TODAY)
    _check_yearly_csv(generated_lake, result.folder, (2023, 2024, 2025))
    manifest = json.loads((result.folder / "review.json").read_text())
    assert set(manifest["problem_cells"]) == _expected_problem_cells(generated_lake, (2023, 2024, 2025), "median")
    assert set(manifest["problem_cells_by_other_rule"]) == _expected_problem_cells(generated_lake,
                                                                                   (2023, 2024, 2025), "share")
    assert manifest["problem_cells"], "the demo world has slow class I cells"
    # The grid is the same every year: the nightly flags say the same about the period.
    period = dataclasses.replace(generated_lake, flags=dataclasses.replace(generated_lake.flags, review_years=3))
    flags, areas = evaluate(open_results(generated_lake), period, at=date(2025, 12, 31))
    assert set(flags.filter("is_problem")["cell_id"]) == set(manifest["problem_cells"])
    assert manifest["areas"] == areas.height and manifest["flagged_cells"] == flags["is_flagged"].sum()
    stored_areas = pl.read_csv(result.folder / "tables" / "areas.csv", schema_overrides={"municipality_code": pl.String})
    assert stored_areas["cells"].to_list() == areas.sort("area_id")["cells"].to_list()


def test_problem_cells_judge_each_year_against_its_own_target(lake_copy):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    manifest = json.loads((result.folder / "review.json").read_text())
    assert manifest["problem_cells"] == sorted(_cell_id(c) for c in (PROBLEM, FEW, EVEN))
    assert manifest["problem_cells_by_other_rule"] == sorted(_cell_id(c) for c in (PROBLEM, FEW))
    assert set(manifest["problem_cells"]) == _expected_problem_cells(lake_copy, YEARS, "median")
    # The nightly flags judge every year against the class at the evaluation date: the cell that was
    # class II in 2022 met its 10 minutes then, so only they call it a problem cell.
    period = dataclasses.replace(lake_copy, flags=dataclasses.replace(lake_copy.flags, review_years=4))
    flags = evaluate(open_results(lake_copy), period, at=date(2025, 12, 31))[0]
    assert set(flags.filter("is_problem")["cell_id"]) - set(manifest["problem_cells"]) == {_cell_id(RECLASSED)}
    cells = pl.read_csv(result.folder / "tables" / "problem_cells.csv")
    assert cells.filter(pl.col("cell_id") == _cell_id(RECLASSED)).height == 0
    problem = cells.filter(pl.col("cell_id") == _cell_id(PROBLEM)).sort("year")
    assert problem["median_s"].to_list() == [480.0] * 4 and problem["count"].to_list() == [6] * 4
    # Areas at the end of 2025: PROBLEM with LATE, and FEW, EVEN and RECLASSED side by side.
    areas = pl.read_csv(result.folder / "tables" / "areas.csv")
    assert sorted(areas["cell_ids"].to_list()) == sorted([
        " ".join(sorted([_cell_id(PROBLEM), _cell_id(LATE)])),
        " ".join(sorted([_cell_id(FEW), _cell_id(EVEN), _cell_id(RECLASSED)]))])


def test_both_rules_side_by_side_and_which_one_decides(lake_copy):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    yearly = _read_yearly(result.folder / "tables" / "yearly.csv")
    ii_2024 = yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == "II",
                            pl.col("year") == 2024).row(0, named=True)
    # 500 500 600 620 620 620: median 610 is over 10:00, yet half the tasks are within it.
    assert (ii_2024["median_s"], ii_2024["share_within_target"]) == (610.0, 0.5)
    assert (ii_2024["is_over_median"], ii_2024["is_over_share"], ii_2024["is_over_target"]) == (True, False, True)
    page = result.html.read_text()
    assert "ratkaistaan mediaanisäännöllä" in page and "Osuussääntö (vähintään 50 % tavoiteajassa) antaisi eri " \
        "tuloksen: II 2024." in page
    assert "Mediaani ≤ tavoite (ratkaisee)" in page and "≥ 50 % tavoiteajassa</th>" in page
    by_share = dataclasses.replace(lake_copy, flags=dataclasses.replace(lake_copy.flags, rule="share"))
    shared = write_review(by_share, first_year=2022, last_year=2025, today=TODAY)
    row = _read_yearly(shared.folder / "tables" / "yearly.csv").filter(
        pl.col("grouping") == "risk_class", pl.col("group_key") == "II", pl.col("year") == 2024).row(0, named=True)
    assert row["is_over_target"] is False
    assert "≥ 50 % tavoiteajassa (ratkaisee)" in shared.html.read_text()


def test_small_counts_are_never_shown(lake_copy):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    yearly = _read_yearly(result.folder / "tables" / "yearly.csv")
    iv_2023 = yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == "IV",
                            pl.col("year") == 2023).row(0, named=True)
    assert iv_2023["count"] is None and iv_2023["count_shown"] == "< 5" and iv_2023["median_s"] is None
    cells = pl.read_csv(result.folder / "tables" / "problem_cells.csv", infer_schema=False)
    few = cells.filter(pl.col("cell_id") == _cell_id(FEW))
    assert few.height == 4 and set(few["count_shown"]) == {"< 5"}
    assert few["count"].null_count() == 4 and few["median_s"].null_count() == 4 and few["mean_s"].null_count() == 4
    coverage = pl.read_csv(result.folder / "tables" / "coverage.csv")
    assert coverage["measured_without_risk_class"].null_count() == 4  # 2 a year: fewer than 5
    assert coverage["no_unit_arrived"].null_count() == 4  # 1 a year
    page = result.html.read_text()
    row = re.search(r"<tr><td>" + _cell_id(FEW) + r"</td>.*?</tr>", page).group(0)
    assert row.count("&lt; 5") == 4 and "6:40" not in row  # 400 s would single out its tasks
    assert "Vuonna 2023 riskiluokassa IV oli alle 5" not in page  # only the last year is in the summary
    english = dataclasses.replace(lake_copy, report=ReportSettings(language="en"))
    page = write_review(english, first_year=2022, last_year=2023, today=TODAY).html.read_text()
    assert "IV fewer than 5 tasks" in page


def test_a_count_of_one_reads_in_the_singular(lake_copy):
    """Class II's one cell missed its target in 2024 by the median rule but not by the share rule:
    one problem cell, one area; the page says so in the singular in both languages."""
    class_ii = dataclasses.replace(lake_copy, flags=dataclasses.replace(lake_copy.flags, risk_classes=["II"]))
    english = dataclasses.replace(class_ii, report=ReportSettings(language="en", min_count_shown=1))
    page = html.unescape(write_review(english, first_year=2024, last_year=2024, today=TODAY).html.read_text())
    summary = _summary(page)
    assert "class II cells over target: 1 (1 area); areas over for certain" in summary[2]
    assert summary[3] == ("Class II problem cells (over target in every year 2024): 1. In 1 of them, at least one "
                          "year rests on fewer than 10 tasks, so the result may be chance.")
    assert "grey: fewer than 1 task (no figures shown) or fewer than 10 tasks (not coloured" in page
    finnish = _summary(write_review(class_ii, first_year=2024, last_year=2024, today=TODAY).html.read_text())
    assert "riskiluokan II ruutuja: 1 (1 alue); alueista varmasti" in finnish[2]
    by_share = dataclasses.replace(english, flags=dataclasses.replace(english.flags, rule="share"))
    summary = _summary(write_review(by_share, first_year=2024, last_year=2024, today=TODAY).html.read_text())
    assert summary[-2].endswith(" By the other rule there would be 1 problem cell.")


def test_finnish_by_default_english_on_request(lake_copy):
    finnish = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    page = finnish.html.read_text()
    assert '<html lang="fi">' in page and "<title>Palvelutasopäätöksen seuranta 2022–2025</title>" in page
    assert "Tiivistelmä" in page and "Riskiluokan I tavoite saavutettiin" in page
    assert "Riskiluokan I ongelmaruutuja (yli tavoiteajan jokaisena vuonna 2022–2025): 3." in page
    english = dataclasses.replace(lake_copy, report=ReportSettings(language="en"))
    result = write_review(english, first_year=2022, last_year=2025, today=date(2026, 1, 16))
    page = result.html.read_text()
    assert '<html lang="en">' in page and "<title>Service-level decision review 2022–2025</title>" in page
    assert "Class I problem cells (over target in every year 2022–2025): 3." in page
    assert re.search(r"All 81 measured urgent tasks in 2025 averaged \d+:\d\d; the national target \(a mean of at "
                     r"most 9:20\) was (met|missed)", page)
    # The stored tables are the same whatever the language.
    assert (finnish.folder / "tables" / "yearly.csv").read_text() == (result.folder / "tables" / "yearly.csv").read_text()


def test_a_single_year(lake_copy):
    result = write_review(lake_copy, first_year=2025, last_year=2025, today=TODAY)
    page = result.html.read_text()
    assert "Seurantakaudessa on vain yksi vuosi." in page and "Edellisvuoteen" not in page
    assert "<title>Palvelutasopäätöksen seuranta 2025</title>" in page and "2025–2025" not in page
    changes = pl.read_csv(result.folder / "tables" / "changes.csv")
    assert changes.filter(pl.col("median_s_before").is_not_null()).height == 0
    _check_yearly_csv(lake_copy, result.folder, (2025,))


def test_national_average_target_is_a_setting(lake_copy, tmp_path):
    strict = dataclasses.replace(lake_copy, review=ReviewSettings(national_mean_target_s=300))
    result = write_review(strict, first_year=2024, last_year=2025, today=TODAY)
    all_rows = _read_yearly(result.folder / "tables" / "yearly.csv").filter(pl.col("grouping") == "all")
    assert set(all_rows["national_target_s"]) == {300} and all_rows["is_over_national_target"].all()
    assert "valtakunnallinen tavoite (keskiarvo enintään 5:00) jäi saavuttamatta" in result.html.read_text()
    config = tmp_path / "bad.toml"
    config.write_text("[review]\nnational_mean_target_s = -1\n")
    with pytest.raises(SettingsError, match="review.national_mean_target_s"):
        load_settings(config)
    config.write_text("[review]\nnational_target = 560\n")
    with pytest.raises(SettingsError, match="unknown key 'review.national_target'"):
        load_settings(config)


def test_what_changed_since_the_previous_review(lake_copy, tmp_path):
    first = write_review(lake_copy, first_year=2022, last_year=2024, today=date(2025, 1, 10))
    assert first.previous is None and "Aiempaa seurantaa ei löytynyt" in first.html.read_text()
    # Late exports: six more class III tasks of 2024, slower ones.
    late = _Rows(prefix="L")
    for i in range(6):
        late.add(CLASS_III, _call(2024, i + 6), 1300, muni="106", station="KU30")
    ingest([write_fi(tmp_path / "late.csv", late.rows)], load_mapping("fi-erc"), lake_copy)
    measure(lake_copy)

    second = write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10))
    assert second.previous == first.folder
    manifest = json.loads((second.folder / "review.json").read_text())
    assert manifest["previous_review"] == "review-2022-2024-2025-01-10"
    # RECLASSED was class I in every year of 2023-2025: a new problem cell.
    assert manifest["new_problem_cells"] == [_cell_id(RECLASSED)] and manifest["cleared_problem_cells"] == []
    changes = pl.read_csv(second.folder / "tables" / "changes.csv", schema_overrides={"group_key": pl.String})
    iii_2024 = changes.filter(pl.col("kind") == "same_year_then_now", pl.col("group_key") == "III",
                              pl.col("year") == 2024).row(0, named=True)
    assert (iii_2024["count_before"], iii_2024["count"]) == (5, 11)
    assert (iii_2024["median_s_before"], iii_2024["median_s"]) == (900.0, 1300.0)
    assert iii_2024["median_change_s"] == 400.0
    unchanged = changes.filter(pl.col("kind") == "same_year_then_now", pl.col("group_key") == "I")
    assert unchanged["median_change_s"].to_list() == [0.0, 0.0]
    headline = changes.filter(pl.col("kind") == "previous_review_last_year", pl.col("group_key") == "I").row(
        0, named=True)
    first_yearly = _read_yearly(first.folder / "tables" / "yearly.csv")
    second_yearly = _read_yearly(second.folder / "tables" / "yearly.csv")
    class_i = (pl.col("grouping") == "risk_class") & (pl.col("group_key") == "I")
    assert headline["median_s_before"] == first_yearly.filter(class_i, pl.col("year") == 2024)["median_s"].item()
    assert headline["median_s"] == second_yearly.filter(class_i, pl.col("year") == 2025)["median_s"].item()
    page = second.html.read_text()
    assert re.search(r"Edellinen seuranta \(2022–2024, laadittu 10\.1\.2025 \d\d:\d\d\)", page)
    assert "Ongelmaruudut: uusia 1, poistuneita 0." in page
    # The year before, from this review's own figures.
    yoy = changes.filter(pl.col("kind") == "year_on_year", pl.col("group_key") == "III").row(0, named=True)
    assert (yoy["year_before"], yoy["year"], yoy["median_s_before"], yoy["median_s"]) == (2024, 2025, 1300.0, 900.0)

    # Settings that shape the numbers are compared too; an explicit earlier review can be named.
    stricter = dataclasses.replace(lake_copy, targets_s={**lake_copy.targets_s, "I": 300})
    measure(stricter)  # another target: another definition, measured on its own
    third = write_review(stricter, first_year=2023, last_year=2025, today=date(2026, 1, 11), previous=first.folder)
    assert third.previous == first.folder
    assert "targets_s" in third.html.read_text() and "Asetukset muuttuneet edellisestä seurannasta" in \
        third.html.read_text()


def test_a_year_the_previous_review_had_no_row_for_reads_as_absent(lake_copy):
    first = write_review(lake_copy, first_year=2022, last_year=2024, today=date(2025, 1, 10))
    yearly_path = first.folder / "tables" / "yearly.csv"
    yearly = pl.read_csv(yearly_path, infer_schema=False)  # as if class IV had no task in 2024 then
    yearly.filter(~((pl.col("group_key") == "IV") & (pl.col("year") == "2024"))).write_csv(yearly_path)
    second = write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10))
    headers, rows = _table_after(second.html.read_text(), "Samat vuodet kummassakin seurannassa")
    then, now = headers.index("Tehtäviä (silloin)"), headers.index("Tehtäviä (nyt)")
    by_group_year = {(row[0][0], row[1][0]): row for row in rows}
    assert by_group_year[("IV", "2024")][then][0] == "–" and by_group_year[("IV", "2024")][now][0] == "5"
    assert by_group_year[("IV", "2023")][then][0] == by_group_year[("IV", "2023")][now][0] != "–"  # in both


def test_damaged_or_wrong_earlier_review(lake_copy):
    first = write_review(lake_copy, first_year=2022, last_year=2024, today=date(2025, 1, 10))
    (first.folder / "tables" / "yearly.csv").unlink()
    with pytest.raises(ReviewError, match=r"yearly\.csv: missing from the earlier review .* --previous"):
        write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10))
    with pytest.raises(ReviewError) as wrong:
        write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10),
                     previous=lake_copy.lake_path)
    assert str(wrong.value) == (f"{lake_copy.lake_path}: not a review folder (no review.json in it); give a folder "
                                f"that valmius review wrote, e.g. the latest in paths.reports: {first.folder}")


def test_an_earlier_review_that_is_not_there_is_said_missing(lake_copy, tmp_path, monkeypatch):
    """A missing --previous read 'not a review folder' and named a folder that did not exist either;
    now it says the path is missing, and lists the reviews there are, the newest first."""
    def previous_error(previous: Path) -> str:
        with pytest.raises(ReviewError) as error:
            write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10), previous=previous)
        return str(error.value)

    reports = lake_copy.paths.reports
    monkeypatch.chdir(tmp_path)
    assert previous_error(Path("reports/review-2021-2024-2025-01-10")) == (
        f"reports/review-2021-2024-2025-01-10: no such folder (a relative path is read from the current folder, "
        f"{tmp_path}); valmius review has written none in {reports} (paths.reports); leave out --previous")
    made = {"review-2020-2023-2024-01-05": "2024-01-05", "review-2021-2024-2025-01-10": "2025-01-10",
            "review-2021-2024-2025-01-10-2": "2025-01-10", "review-2022-2025-2025-06-01": "2025-06-01",
            "review-2023-2026-2027-01-01": "2027-01-01"}  # the last made after the review's day: never compared
    for name, day in made.items():
        (reports / name).mkdir(parents=True)
        (reports / name / "review.json").write_text(json.dumps({"made_on": day}))
    newest = ", ".join(str(reports / name) for name in ("review-2022-2025-2025-06-01", "review-2021-2024-2025-01-10-2",
                                                        "review-2021-2024-2025-01-10"))
    assert previous_error(tmp_path / "elsewhere") == (
        f"{tmp_path / 'elsewhere'}: no such folder; give a folder that valmius review wrote, e.g. the latest in "
        f"paths.reports: {newest}")
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{lake_copy.lake_path}"\nreports = "{reports}"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "review", "--from", "2023", "--to", "2025",
                                       "--previous", "review-2022-2025"])
    assert result.exit_code == 1 and result.output.startswith("Error: review-2022-2025: no such folder (a relative path")
    assert len(result.output.strip().splitlines()) == 1


def test_read_only_atomic_and_offline(lake_copy):
    before = open_results(lake_copy).snapshot_id
    first = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    second = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    assert open_results(lake_copy).snapshot_id == before
    # A second review of the period on the same day is a new folder beside the first, compared with it.
    assert second.folder.name == "review-2022-2025-2026-01-15-2" and second.previous == first.folder
    assert sorted(p.name for p in lake_copy.paths.reports.iterdir()) == ["review-2022-2025-2026-01-15",
                                                                        "review-2022-2025-2026-01-15-2"]
    page = second.html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert page.count("vegaEmbed('#chart-") == 3


def test_errors_name_the_years(lake_copy):
    with pytest.raises(ReviewError, match="--from 2025 is after --to 2022"):
        write_review(lake_copy, first_year=2025, last_year=2022)
    with pytest.raises(ReviewError, match=r"no measured urgent tasks in 2020–2021 .* has them in 2022–2025"):
        write_review(lake_copy, first_year=2020, last_year=2023)
    assert not lake_copy.paths.reports.exists()


def test_a_year_held_only_in_part_may_only_end_the_period(lake_copy, tmp_path):
    # One task on 30 December 2021: the lake now holds 2021 from its last two days only.
    day = "30.12.2021"
    stub = write_fi(tmp_path / "stub.csv", [fi_row(
        incident="stub-1", call=f"{day} 12:00:00", alarm=f"{day} 12:01:00", en_route=f"{day} 12:02:00",
        on_scene=f"{day} 12:07:00", free=f"{day} 13:00:00")])
    ingest([stub], load_mapping("fi-erc"), lake_copy)
    measure(lake_copy)
    with pytest.raises(ReviewError, match=r"holds 2021 only from 30\.12\.2021 .* --from 2022"):
        write_review(lake_copy, first_year=2021, last_year=2023)
    with pytest.raises(ReviewError, match=r"has them in 2021–2025 \(2021 only from 30\.12\.2021: a review of more "
                                          r"years starts at 2022\); choose"):
        write_review(lake_copy, first_year=2019, last_year=2023)
    assert write_review(lake_copy, first_year=2022, last_year=2023).html.exists()
    assert write_review(lake_copy, first_year=2021, last_year=2021).html.exists()  # the last year may be partial


def test_empty_lake(settings):
    with pytest.raises(ReviewError, match="it is empty: ingest exports"):
        write_review(settings, first_year=2024, last_year=2025)


def test_cli_review(lake_copy, tmp_path):
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{lake_copy.lake_path}"\nreports = "{tmp_path / "out"}"\n')
    runner = CliRunner()
    result = runner.invoke(main, ["review", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
    assert "valmius review --from 2022 --to 2025 --language en" in result.output
    result = runner.invoke(main, ["--config", str(config), "review", "--from", "2022", "--to", "2025",
                                  "--language", "en"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.name == "review.html" and path.parent.parent == tmp_path / "out"
    assert result.output.startswith(f"Review 2022–2025 written to {path.parent} ")
    assert "Service-level decision review" in path.read_text(encoding="utf-8")
    assert "Class I problem cells" in result.output
    result = runner.invoke(main, ["--config", str(config), "review", "--from", "2025", "--to", "2022"])
    assert result.exit_code == 1 and result.output.startswith("Error: --from 2025 is after --to 2022")
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["--config", str(config), "review", "--from", "2019", "--to", "2022"])
    assert result.exit_code == 1 and "no measured urgent tasks in 2019–2021" in result.output


def _table_after(page: str, heading: str) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """The headers and rows (text, css class) of the first table after the text ``heading``."""
    start = page.index(html.escape(heading, quote=False))
    table = re.search(r"<table>(.*?)</table>", page[start:], re.S).group(1)
    headers = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    rows = [[(html.unescape(text), css or "") for css, text in re.findall(r"<td(?: class='(\w+)')?>(.*?)</td>", body)]
            for body in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])]
    return headers, rows


def _summary(page: str) -> list[str]:
    return [html.unescape(li) for li in
            re.findall(r"<li>(.*?)</li>", re.search(r"<ul class='summary'>(.*?)</ul>", page).group(1))]


def _headers_unique(page: str) -> None:
    for table in re.findall(r"<thead>(.*?)</thead>", page):
        headers = re.findall(r"<th>(.*?)</th>", table)
        assert len(headers) == len(set(headers)), headers


def test_a_review_folder_is_never_overwritten(lake_copy):
    first = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    board_page = first.html.read_bytes()
    english = dataclasses.replace(lake_copy, report=ReportSettings(language="en"))
    second = write_review(english, first_year=2022, last_year=2025, today=TODAY)
    # The English review of the same day is written beside the board's Finnish one, compared with it.
    assert second.folder.name == "review-2022-2025-2026-01-15-2" and second.previous == first.folder
    assert first.html.read_bytes() == board_page
    third = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    assert third.folder.name == "review-2022-2025-2026-01-15-3" and third.previous == second.folder
    assert f"Review 2022–2025 written to {third.folder} " in third.to_text()
    # The previous review is the one made last by its manifest, whatever its folder is called ...
    renamed = third.folder.rename(third.folder.with_name("review-2022-2025-2026-01-14"))
    fourth = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    assert fourth.folder.name == "review-2022-2025-2026-01-15-3" and fourth.previous == renamed
    # ... and one stored before reviews kept the moment they were made counts as made first that day.
    manifest = json.loads((fourth.folder / "review.json").read_text())
    assert datetime.fromisoformat(manifest["made_at"]).tzinfo is not None and manifest["made_on"] == "2026-01-15"
    del manifest["made_at"]
    (fourth.folder / "review.json").write_text(json.dumps(manifest))
    assert write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY).previous == renamed
    # Each review's tables name their columns and their headers never repeat: the previous review's
    # last year and this one's are the same year, then and now.
    headers, _ = _table_after(third.html.read_text(), "Edellisen seurannan viimeinen vuosi (2025)")
    assert headers[1:4] == ["Mediaani 2025 (silloin)", "Mediaani 2025 (nyt)", "Mediaanin muutos"]
    for review in (first, second, third):
        _headers_unique(review.html.read_text())



def test_a_review_folder_taken_meanwhile_is_passed_over(tmp_path, monkeypatch):
    # Another review is moved into the first free name between the check and the rename.
    reports = tmp_path / "reports"
    (reports / "review-2022-2025-2026-01-15").mkdir(parents=True)
    work = reports / ".review.tmp"
    (work / "tables").mkdir(parents=True)
    rename = os.rename

    def other_review_first(source, target):
        if Path(target).name == "review-2022-2025-2026-01-15-2":
            (Path(target) / "tables").mkdir(parents=True, exist_ok=True)
        rename(source, target)

    monkeypatch.setattr(os, "rename", other_review_first)
    final = place(work, reports, 2022, 2025, TODAY)
    assert final.name == "review-2022-2025-2026-01-15-3" and (final / "tables").is_dir() and not work.exists()
    # Any other failure of the rename is not taken for a name in use.
    with pytest.raises(FileNotFoundError):
        place(work, reports, 2022, 2025, TODAY)
    assert sorted(p.name for p in reports.iterdir()) == ["review-2022-2025-2026-01-15",
                                                         "review-2022-2025-2026-01-15-2",
                                                         "review-2022-2025-2026-01-15-3"]

def _quarantine_rows(year: int) -> list[str]:
    """Six incidents whose second unit's row is rejected (on scene before en route) and five whose only
    row is: the first count in their call's year, the others in no known year."""
    rows = []
    for i in range(11):
        call = _call(year, i)
        alarm = call + timedelta(seconds=60)
        good = dict(incident=f"Q{i:03d}", call=_local(call), muni="858", urgency="B", alarm=_local(alarm),
                    en_route=_local(alarm + timedelta(seconds=60)), e=str(X0 + 500), n=str(Y0 + 500),
                    free=_local(alarm + timedelta(seconds=3600)))
        bad = {**good, "unit": "KU202", "station": "KU20", "on_scene": _local(alarm + timedelta(seconds=30))}
        if i < 6:
            rows.append(fi_row(**good, unit="KU201", station="KU20", on_scene=_local(alarm + timedelta(seconds=300))))
        rows.append(fi_row(**bad))
    return rows


def test_rows_rejected_from_the_exports_are_counted_by_year(lake_copy, tmp_path):
    ingest([write_fi(tmp_path / "rejected.csv", _quarantine_rows(2024))], load_mapping("fi-erc"), lake_copy)
    measure(lake_copy)
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    coverage = pl.read_csv(result.folder / "tables" / "coverage.csv", infer_schema=False)
    by_year = {row["year"]: row for row in coverage.iter_rows(named=True)}
    assert set(by_year) == {"2022", "2023", "2024", "2025", None}
    assert by_year["2024"]["quarantined_rows"] == "6" and by_year["2024"]["quarantined_negative_interval_rows"] == "6"
    assert by_year[None]["quarantined_rows"] == "5" and by_year[None]["urgent_tasks"] is None
    assert by_year["2023"]["quarantined_rows"] == "0"
    # The same attribution as the data-completeness scorecards: by the incident's call, else unknown.
    card = scorecards(open_results(lake_copy), lake_copy).with_columns(year=pl.col("local_month").str.slice(0, 4))
    counted = dict(card.group_by("year").agg(pl.col("quarantined_rows").sum()).filter(
        pl.col("quarantined_rows") > 0).iter_rows())
    assert counted == {"2024": 6, None: 5}
    page = result.html.read_text()
    headers, rows = _table_after(page, "Aineisto")
    reasons = headers.index("Hylkäyssyyt")
    assert [r[0][0] for r in rows] == ["2022", "2023", "2024", "2025", "vuosi tuntematon"]
    assert rows[2][headers.index("Hylättyjä rivejä")][0] == "6" and rows[2][reasons][0] == "tilaaika edellistä aiempi 6"
    assert rows[4][headers.index("Hylättyjä rivejä")][0] == "5"
    assert "Jos tehtävän kaikki rivit hylättiin, sen ilmoitusaikaa ei tunneta" in page


def test_counts_under_the_smallest_shown_are_marked_in_every_table(lake_copy):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    coverage = pl.read_csv(result.folder / "tables" / "coverage.csv", infer_schema=False)
    # One task a year where no unit arrived, two measured without a class: empty, and marked.
    assert coverage["no_unit_arrived"].null_count() == 4 and set(coverage["no_unit_arrived_shown"]) == {"< 5"}
    assert set(coverage["measured_without_risk_class_shown"]) == {"< 5"}
    assert coverage["urgent_tasks"].to_list() == coverage["urgent_tasks_shown"].to_list() == ["82", "81", "82", "82"]
    assert set(coverage["no_counted_unit"]) == set(coverage["no_counted_unit_shown"]) == {"0"}
    changes = pl.read_csv(result.folder / "tables" / "changes.csv", infer_schema=False)
    iv = changes.filter(pl.col("group_key") == "IV").row(0, named=True)  # 2024 -> 2025: 5 and 5 tasks
    assert (iv["count_before"], iv["count_shown_before"], iv["count_shown"]) == ("5", "5", "5")
    # Every column of every table is in the dictionary written beside them, and nothing else is.
    documented = pl.read_csv(result.folder / "tables" / "columns.csv")
    for file in ("yearly", "cell_years", "problem_cells", "areas", "coverage", "changes"):
        header = pl.read_csv(result.folder / "tables" / f"{file}.csv", n_rows=0).columns
        assert header == documented.filter(pl.col("file") == f"{file}.csv")["column"].to_list(), file
    meaning = dict(documented.filter(pl.col("file") == "changes.csv").select("column", "meaning").iter_rows())
    assert "exact" in meaning["median_change_s"] and "rounded" in meaning["median_change_s"]


def test_a_year_held_in_part_is_said(lake_copy, generated_lake):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    page = result.html.read_text()
    assert ("Kiireelliset pelastustehtävät 1.1.2022–31.12.2025 (mitattua aineistoa 15.1.2022–15.12.2025). "
            "Laadittu 15.1.2026.") in page
    national = [line for line in _summary(page) if line.startswith("Kaikkien")][0]
    assert national.endswith("Vuoden 2025 aineisto on vajaa: mitattu aineisto päättyy jo 15.12.2025.")
    manifest = json.loads((result.folder / "review.json").read_text())
    assert manifest["partial_years"] == {"2022": {"first": "2022-01-15", "last": "2022-12-31"},
                                         "2025": {"first": "2025-01-01", "last": "2025-12-15"}}
    # Whole years say nothing of the kind.
    whole = write_review(generated_lake, first_year=2023, last_year=2025, today=date(2026, 2, 1))
    assert "vajaa" not in whole.html.read_text()
    assert json.loads((whole.folder / "review.json").read_text())["partial_years"] == {}


def test_few_tasks_are_marked_and_never_coloured_as_missed(lake_copy):
    page = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY).html.read_text()
    # PROBLEM and EVEN have 6 tasks a year, FEW 3: every problem cell rests on too few tasks.
    problem = [line for line in _summary(page) if line.startswith("Riskiluokan I ongelmaruutuja")][0]
    assert problem.endswith("): 3. Niistä 3 perustuu ainakin yhtenä vuonna alle 10 tehtävään, joten tulos voi olla "
                            "satunnaista vaihtelua.")
    headers, rows = _table_after(page, "Ongelmaruudut: yli tavoiteajan jokaisena vuonna")
    cells = {r[0][0]: r[3:] for r in rows}
    assert cells[_cell_id(PROBLEM)][0] == ("8:00 (6) · vähän tehtäviä", "missed")
    assert cells[_cell_id(FEW)][0] == ("< 5 · vähän tehtäviä", "few")
    # KU20's class I tasks (27 a year, median 6:40) missed the target; under flags.min_tasks = 30
    # they are too few, and the station and municipality tables say so instead.
    _, stations = _table_after(page[page.index("<h2>Asemittain</h2>"):], "Riskiluokka I: mediaani (osuus")
    assert {css for _, css in [r for r in stations if r[0][0] == "KU20"][0][1:]} == {"missed"}
    strict = dataclasses.replace(lake_copy, flags=dataclasses.replace(lake_copy.flags, min_tasks=30))
    result = write_review(strict, first_year=2022, last_year=2025, today=TODAY)
    page = result.html.read_text()
    station_section = page[page.index("<h2>Asemittain</h2>"):]
    _, stations = _table_after(station_section, "Riskiluokka I: mediaani (osuus")
    ku20 = [r for r in stations if r[0][0] == "KU20"][0][1:]
    assert {css for _, css in ku20} == {"few"} and all(text.endswith(" · vähän tehtäviä") for text, _ in ku20)
    _, municipalities = _table_after(page, "Riskiluokka I: mediaani (osuus")
    assert {css for _, css in [r for r in municipalities if r[0][0] == "Tuusula"][0][1:]} == {"few"}
    yearly = _read_yearly(result.folder / "tables" / "yearly.csv")
    assert set(yearly.filter(pl.col("grouping") == "station", pl.col("group_key") == "KU20",
                             pl.col("risk_class") == "I")["confidence"]) == {"too_few_tasks"}


def test_a_changed_rule_is_said_with_its_verdict(lake_copy):
    write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    changed = dataclasses.replace(lake_copy, review=ReviewSettings(national_mean_target_s=300),
                                  flags=dataclasses.replace(lake_copy.flags, rule="share"))
    summary = _summary(write_review(changed, first_year=2022, last_year=2025, today=TODAY).html.read_text())
    assert summary[0].endswith(" Sääntöä on muutettu edellisen seurannan jälkeen: ratkaiseva sääntö "
                               "mediaanisääntö → osuussääntö.")
    national = [line for line in summary if line.startswith("Kaikkien")][0]
    assert "valtakunnallinen tavoite (keskiarvo enintään 5:00) jäi saavuttamatta" in national
    assert national.endswith(" Sääntöä on muutettu edellisen seurannan jälkeen: valtakunnallinen "
                             "keskiarvotavoite 9:20 → 5:00.")
    problem = [line for line in summary if line.startswith("Riskiluokan I ongelmaruutuja")][0]
    assert problem.endswith(" Sääntöä on muutettu edellisen seurannan jälkeen: ratkaiseva sääntö mediaanisääntö → "
                            "osuussääntö.")
    assert summary[-1].endswith("Sääntöjä on muutettu sen jälkeen (2; ks. Mikä muuttui).")


def test_settings_that_change_only_judgements_never_write_the_lake(lake_copy, hand_review_lake, tmp_path):
    changed = dict(review=ReviewSettings(national_mean_target_s=300),
                   flags=dataclasses.replace(lake_copy.flags, risk_classes=["I", "II"], min_tasks=5))
    before = open_results(lake_copy)
    read_only = dataclasses.replace(lake_copy, **changed)
    result = write_review(read_only, first_year=2022, last_year=2025, today=TODAY)
    after = open_results(lake_copy)
    assert after.snapshot_id == before.snapshot_id
    assert after.scan("definitions").collect().height == before.scan("definitions").collect().height == 1
    manifest = json.loads((result.folder / "review.json").read_text())
    assert manifest["definition"]["version"] is None and manifest["responses_of_definition"]["version"] == 1
    assert "Luvut on laskettu määritelmän default v1 · " in result.html.read_text()
    # The numbers are those the new definition has once measured (stored) in the lake.
    shutil.copytree(hand_review_lake.lake_path, tmp_path / "measured" / "lake", symlinks=True, ignore=IGNORE_TRASH)
    stored = dataclasses.replace(_settings(tmp_path / "measured"), **changed)
    measure(stored)
    again = write_review(stored, first_year=2022, last_year=2025, today=TODAY)
    for file in ("yearly", "cell_years", "problem_cells", "areas", "coverage"):
        mine, theirs = (pl.read_csv(r.folder / "tables" / f"{file}.csv", infer_schema=False).drop("definition")
                        for r in (result, again))
        assert mine.equals(theirs), file


def test_new_and_cleared_problem_cells_say_which_years_changed(lake_copy):
    write_review(lake_copy, first_year=2022, last_year=2024, today=date(2025, 1, 10))
    second = write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10))
    page = second.html.read_text()
    # RECLASSED met class II's 10 minutes in 2022, which has left the period, and missed in 2025, new in it.
    assert (f"Uusi ongelmaruutu {_cell_id(RECLASSED)}: 2022 saavutettu → ei seurantakaudella; 2025 ei "
            f"seurantakaudella → ei saavutettu.") in html.unescape(page)
    manifest = json.loads((second.folder / "review.json").read_text())
    assert manifest["problem_cell_changes"] == [{"cell_id": _cell_id(RECLASSED), "change": "new", "years": [
        {"year": 2022, "then": "met", "now": "outside"}, {"year": 2025, "then": "outside", "now": "missed"}]}]
    headers, rows = _table_after(page, "Samat vuodet kummassakin seurannassa")
    assert headers[-3:] == ["Keskiarvo (silloin)", "Keskiarvo (nyt)", "Keskiarvon muutos"]
    assert len(rows[0]) == len(headers)
    _headers_unique(page)


def test_changes_on_the_page_are_those_of_the_figures_shown(generated_lake):
    result = write_review(generated_lake, first_year=2023, last_year=2025, today=date(2026, 2, 2))
    page = result.html.read_text()
    headers, rows = _table_after(page, "Edellisestä vuodesta (2024 → 2025)")
    exact = pl.read_csv(result.folder / "tables" / "changes.csv", schema_overrides={"group_key": pl.String})
    differs = 0
    for cells in rows:
        texts = [text for text, _ in cells]
        for what, unit in (("Mediaani", "s"), ("Keskiarvo", "s"), ("Tavoiteajassa", "%")):
            before, after = texts[headers.index(f"{what} 2024")], texts[headers.index(f"{what} 2025")]
            change = texts[headers.index(f"{what} 2024") + 2]
            if unit == "s":
                seconds = [int(m) * 60 + int(s) for m, s in (t.split(":") for t in (before, after))]
                shown = seconds[1] - seconds[0]
                assert change == ("±0:00" if shown == 0 else ("+" if shown > 0 else "−") + mmss(abs(shown)))
            else:
                shown = int(after.removesuffix(" %")) - int(before.removesuffix(" %"))
                assert change == ("±0" if shown == 0 else f"{shown:+d}".replace("-", "−"))
            group = "all" if cells[0][0] == "kaikki" else cells[0][0]
            row = exact.filter(pl.col("kind") == "year_on_year", pl.col("group_key") == group).row(0, named=True)
            column = {"Mediaani": "median_change_s", "Keskiarvo": "mean_change_s", "Tavoiteajassa": "share_change"}
            value = row[column[what]] * (100 if unit == "%" else 1)
            differs += math.floor(abs(value) + 0.5) != abs(shown)
    assert differs, "the generated lake has changes whose rounding differs from that of the figures shown"


def test_class_iv_time_is_a_reference_limit(lake_copy):
    page = html.unescape(write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY).html.read_text())
    others = [line for line in _summary(page) if line.startswith("Muut riskiluokat")][0]
    assert "IV mediaani 25:00 (viiteraja 40:00, ei sitova tavoite) alle viiterajan" in others
    _, rows = _table_after(page, "Vihreä: tavoite saavutettu")
    iv = [r for r in rows if r[0][0] == "IV" and r[1][0] == "2025"][0]
    assert iv[5][0] == "40:00 (viiteraja)" and iv[8] == iv[9] == ("alle viiterajan", "ref")


def test_year_on_year_differences_are_called_only_beyond_the_intervals(lake_copy, tmp_path):
    both = dataclasses.replace(lake_copy, flags=dataclasses.replace(lake_copy.flags, risk_classes=["I", "II"]))
    summary = _summary(write_review(both, first_year=2022, last_year=2025, today=TODAY).html.read_text())
    # Class II: 6:10 in 2024 (5:00-6:20), 5:00 in 2025 (5:00-5:00): the intervals overlap.
    assert ("Edellisvuoteen 2024 verrattuna: mediaani −1:50, ei eroa epävarmuuden puitteissa (95 %:n "
            "luottamusvälit menevät päällekkäin); tavoiteajassa +50 prosenttiyksikköä.") in summary
    # Class I: 71 % within target in 2024 (0.714), 62 % in 2025 (0.619): 9 points as shown, not 10.
    assert "Edellisvuoteen 2024 verrattuna: mediaani ennallaan; tavoiteajassa −9 prosenttiyksikköä." in summary
    slow = _Rows(prefix="S")
    for i in range(20):
        slow.add(CLASS_II, _call(2025, i), 900, muni="106", station="KU30")
    ingest([write_fi(tmp_path / "slow.csv", slow.rows)], load_mapping("fi-erc"), lake_copy)
    measure(lake_copy)
    summary = _summary(write_review(both, first_year=2022, last_year=2025, today=TODAY).html.read_text())
    assert any(line.startswith("Edellisvuoteen 2024 verrattuna: mediaani +4:50 (hitaampi; 95 %:n luottamusvälit "
                               "eivät mene päällekkäin)") for line in summary)


def test_what_counted_is_recorded_and_said(lake_copy, tmp_path):
    # One task of 2023 that a first-responder unit reached first.
    call = _call(2023, 0)
    alarm = call + timedelta(seconds=60)
    common = dict(incident="FR1", call=_local(call), alarm=_local(alarm), en_route=_local(alarm + timedelta(seconds=60)),
                  free=_local(alarm + timedelta(seconds=3600)), e=str(X0 + 500), n=str(Y0 + 500))
    ingest([write_fi(tmp_path / "first-responder.csv", [
        fi_row(**common, unit="EV1", unit_type="ensivasteyksikkö", on_scene=_local(alarm + timedelta(seconds=200))),
        fi_row(**common, unit="KU101", on_scene=_local(alarm + timedelta(seconds=300)))])],
        load_mapping("fi-erc"), lake_copy)
    measure(lake_copy)
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    counted = json.loads((result.folder / "review.json").read_text())["counted"]
    assert counted == {"urgent_classes": ["A", "B"], "urgent_classes_from": "formats", "formats": ["fi-erc"],
                       "urgent_classes_seen": ["B"], "other_urgency_classes": ["C"],
                       "unit_types": ["ensivasteyksikkö", "pelastusyksikkö"], "unit_types_not_counted": [],
                       "task_types": []}
    assert ("Kiireellisiksi luettiin hätäkeskuksen kiireellisyysluokat A, B (lähdemuodon fi-erc mukaan); muita "
            "luokkia (C) ei laskettu. Toimintavalmiusaikaan luettiin yksikkötyypit: kaikki (ensivasteyksikkö, "
            "pelastusyksikkö). Tehtävätyypit: kaikki.") in html.unescape(result.html.read_text())
    narrowed = dataclasses.replace(lake_copy, counting=dataclasses.replace(
        lake_copy.counting, urgent_classes=["B", "C"], unit_types=["pelastusyksikkö"]))
    measure(narrowed)
    counted = json.loads((write_review(narrowed, first_year=2022, last_year=2025, today=TODAY).folder
                          / "review.json").read_text())["counted"]
    assert (counted["urgent_classes"], counted["urgent_classes_from"]) == (["B", "C"], "settings")
    assert (counted["unit_types"], counted["unit_types_not_counted"]) == (["pelastusyksikkö"], ["ensivasteyksikkö"])


def test_charts_start_at_zero_and_read_in_the_page_language(lake_copy):
    finnish = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    english = write_review(dataclasses.replace(lake_copy, report=ReportSettings(language="en")), first_year=2022,
                           last_year=2025, today=TODAY)
    for result in (finnish, english):
        charts = result.folder / "charts"
        for name in ("median", "share", "mean"):
            svg = (charts / f"{name}.svg").read_text()
            labels = re.findall(r'aria-label="([^"]*)"', svg)
            assert labels and not [label for label in labels if re.search(r"_min|_s\b|Max of|ci_low|-axis", label)]
        median = (charts / "median.svg").read_text()
        # Every panel's time axis is labelled from 0:00 up to its class's target at least.
        ticks = re.findall(r">(\d+:\d\d)</text>", median)
        assert ticks.count("0:00") == 4 and {"6:00", "10:00", "20:00", "40:00"} <= set(ticks)
    assert ">80 %</text>" in (finnish.folder / "charts" / "share.svg").read_text()
    assert ">80%</text>" in (english.folder / "charts" / "share.svg").read_text()
    assert 'aria-label="Riskiluokan I mediaani vuonna 2025: 4:00, luottamusväli 4:00–6:40, 63 tehtävää."' in (
        finnish.folder / "charts" / "median.svg").read_text()


def test_words_and_dates_of_the_page(lake_copy):
    finnish = html.unescape(write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY).html.read_text())
    assert points_words(1, "fi") == "+1 prosenttiyksikkö" and points_words(-3, "fi") == "−3 prosenttiyksikköä"
    assert points_words(-1, "en") == "−1 percentage point" and points_words(2, "en") == "+2 percentage points"
    assert "9:20:" not in finnish and "Mediaanin 95 %:n luottamusväli on jakaumasta riippumaton" in finnish
    made = datetime.now(HELSINKI)
    assert re.search(rf"Laadittu {made.day}\.{made.month}\.{made.year} \d\d:\d\d \(valmius", finnish)
    assert "Laadittu 15.1.2026." in finnish and not re.search(r"\b0\d\.\d\d\.\d{4}", finnish)
    english = dataclasses.replace(lake_copy, report=ReportSettings(language="en"))
    page = html.unescape(write_review(english, first_year=2022, last_year=2025, today=TODAY).html.read_text())
    assert "An area is a group of touching cells over target." in page
    text = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert "95% confidence interval" in text and not re.search(r"\d %", text)


@needs_browser
def test_review_in_a_real_browser_offline(lake_copy, tmp_path):
    result = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    visit = open_in_browser(result.html, screenshot=tmp_path / "review.png", chart_selector=".vega-chart",
                            timeout_s=30)
    assert visit.outside_requests == [] and visit.console_errors == []
    assert (visit.charts, visit.chart_errors) == (3, [])
    assert visit.title == "Palvelutasopäätöksen seuranta 2022–2025"
    yearly = _read_yearly(result.folder / "tables" / "yearly.csv")
    for row in yearly.filter(pl.col("grouping") == "risk_class", pl.col("count").is_not_null()).iter_rows(named=True):
        assert mmss(row["median_s"]) in visit.text
    national = yearly.filter(pl.col("grouping") == "all", pl.col("year") == 2025).row(0, named=True)
    assert f"keskiarvo vuonna 2025 oli {mmss(national['mean_s'])}" in visit.text
    assert (tmp_path / "review.png").stat().st_size > 20_000
    # On a tablet the page stays within the window: wide tables scroll sideways in their own boxes.
    narrow = open_in_browser(result.html, chart_selector=".vega-chart", timeout_s=30, width=768)
    assert narrow.page_width <= 768 and narrow.charts == 3
    page = result.html.read_text()
    body = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert body.count("<table>") == body.count("<div class='scroll'><table>") > 0


def test_chart_tooltips_and_descriptions_write_counts_as_the_tables_do():
    yearly = pl.DataFrame({
        "grouping": ["risk_class"] * 2, "group_key": ["II", "II"], "year": [2024, 2025],
        "count": [12_345, None], "count_shown": ["12345", "< 5"], "median_s": [500.0, 520.0],
        "ci_low_s": [490.0, 400.0], "ci_high_s": [510.0, 600.0], "target_s": [600, 600],
        "share_within_target": [0.7, 0.6], "mean_s": [530.0, 540.0]})
    charts = [median_by_year(yearly, "fi", "t", "95 %", 5), share_by_year(yearly, "fi", "t", 5),
              mean_by_year(yearly.with_columns(grouping=pl.lit("all")), 560, "fi", "t", 5)]
    for chart in charts:
        spec = json.dumps(chart.to_dict(), ensure_ascii=False)
        assert '"field": "tasks"' in spec and "count_shown" not in spec.split('"datasets"')[0]
        values = [row for data in chart.to_dict()["datasets"].values() for row in data if "tasks" in row]
        assert sorted(row["tasks"] for row in values) == ["12\u00a0345", "< 5"]
        descriptions = " ".join(str(v) for row in values for k, v in row.items() if k.endswith("description"))
        assert "12\u00a0345" in descriptions and "12345" not in descriptions
    # A count of one reads in the singular, as on the page.
    one = yearly.head(1).with_columns(count=pl.lit(1, pl.Int64))
    for chart, words in ((mean_by_year(one.with_columns(grouping=pl.lit("all")), 560, "en", "t", 1),
                          "Mean in 2024: 8:50, 1 task."),
                         (share_by_year(one, "fi", "t", 1), "Riskiluokka II vuonna 2024: 70 % tavoiteajassa, 1 tehtävä.")):
        values = [row for data in chart.to_dict()["datasets"].values() for row in data if "tasks" in row]
        assert [row[next(k for k in row if k.endswith("_description"))] for row in values] == [words]
