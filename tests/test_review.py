"""The service-level review: its numbers recomputed independently from the stored responses (a
hand-made lake whose problem cells and rule differences are known, and a generated multi-year lake),
small counts suppressed, both languages, what changed between two reviews, the CLI and the page in
a real browser."""

from __future__ import annotations

import dataclasses
import json
import math
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
        f"joten tulos ei ole varma.")
    assert last["ci_low_s"] <= 360 < last["ci_high_s"]  # 36 tasks at 4:00 and 27 slower ones
    met = yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == "I", ~pl.col("is_over_target"))
    assert summary[1] == f"Riskiluokan I tavoite saavutettiin {met.height}/4 vuotena 2022–2025."
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
    assert re.search(r"All 81 measured urgent tasks in 2025 averaged \d+:\d\d against the national target of at "
                     r"most 9:20", page)
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
    assert "valtakunnallinen tavoite on enintään 5:00: jäi saavuttamatta" in result.html.read_text()
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
    assert "Edellinen seuranta (2022–2024, laadittu 10.1.2025)" in page
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


def test_damaged_or_wrong_earlier_review(lake_copy):
    first = write_review(lake_copy, first_year=2022, last_year=2024, today=date(2025, 1, 10))
    (first.folder / "tables" / "yearly.csv").unlink()
    with pytest.raises(ReviewError, match=r"yearly\.csv: missing from the earlier review .* --previous"):
        write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10))
    with pytest.raises(ReviewError, match="not a review folder"):
        write_review(lake_copy, first_year=2023, last_year=2025, today=date(2026, 1, 10),
                     previous=lake_copy.lake_path)


def test_read_only_atomic_and_offline(lake_copy):
    before = open_results(lake_copy).snapshot_id
    first = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    second = write_review(lake_copy, first_year=2022, last_year=2025, today=TODAY)
    assert open_results(lake_copy).snapshot_id == before
    assert second.folder == first.folder and second.previous is None  # the same folder is not its own previous
    assert sorted(p.name for p in lake_copy.paths.reports.iterdir()) == ["review-2022-2025-2026-01-15"]
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
    assert "Service-level decision review" in path.read_text(encoding="utf-8")
    assert "Class I problem cells" in result.output
    result = runner.invoke(main, ["--config", str(config), "review", "--from", "2025", "--to", "2022"])
    assert result.exit_code == 1 and result.output.startswith("Error: --from 2025 is after --to 2022")
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["--config", str(config), "review", "--from", "2019", "--to", "2022"])
    assert result.exit_code == 1 and "no measured urgent tasks in 2019–2021" in result.output


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
