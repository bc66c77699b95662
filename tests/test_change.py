"""compare_periods on a hand-made lake: a planted slowdown in some cells is found, unchanged cells
are not, small groups are skipped and said so; q-values against the reference; the CLI."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timezone

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import naive
from conftest import write_fi
from test_flags import X0, Y0, _cell_id, _month, _task
from valmius.change import ChangeError, benjamini_hochberg, compare_periods, default_periods, resolution_warning
from valmius.cli import main
from valmius.grid import import_risk_grid
from valmius.ingest import ingest
from valmius.measure import open_measured
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.settings import ChangeSettings, Settings

SLOWER = [(0, 0), (1, 0)]        # +150 s in 2025, 30 tasks a year each
STEADY = [(2, 0), (3, 0), (4, 0)]  # the same distribution both years
FEW = (5, 0)                      # 6 tasks a year: not tested
CURRENT, PREVIOUS = (date(2025, 1, 1), date(2025, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31))


def _rows() -> list[str]:
    rng = np.random.default_rng(11)
    rows: list[str] = []
    for year in (2024, 2025):
        for cell in SLOWER + STEADY + [FEW]:
            count = 6 if cell == FEW else 30
            extra = 150 if (cell in SLOWER and year == 2025) else 0
            for i in range(count):
                response = int(round(300 * rng.lognormal(0, 0.25))) + extra
                rows.append(_task(len(rows), cell, _month(year, 1 + i % 12, i // 12), response))
    return rows


@pytest.fixture
def change_lake(tmp_path, settings):
    ingest([write_fi(tmp_path / "tasks.csv", _rows())], load_mapping("fi-erc"), settings)
    grid = tmp_path / "grid.csv"
    lines = ["x_m,y_m,risk_class,municipality_code"]
    lines += [f"{X0 + cx * 1000},{Y0},I,186" for cx in range(6)]
    grid.write_text("\n".join(lines) + "\n")
    for year in (2024, 2025):
        import_risk_grid(grid, year, settings)
    changed = dataclasses.replace(settings, change=ChangeSettings(permutations=1999, bootstraps=499))
    measure(changed)
    return changed


def test_planted_change_found_and_noise_not(change_lake):
    snapshot = open_measured(change_lake)
    table = compare_periods(snapshot, change_lake, current=CURRENT, previous=PREVIOUS)
    cells = table.filter(pl.col("grouping") == "cell")
    by_cell = {row["group_key"]: row for row in cells.iter_rows(named=True)}
    for cell in SLOWER:
        row = by_cell[_cell_id(cell)]
        assert row["is_significant"] and row["current_count"] == row["previous_count"] == 30
        assert row["change_ci_low_s"] > 0 and 80 <= row["median_change_s"] <= 220
        assert row["change_ci_low_s"] <= row["median_change_s"] <= row["change_ci_high_s"]
    for cell in STEADY:
        assert not by_cell[_cell_id(cell)]["is_significant"]
    few = by_cell[_cell_id(FEW)]
    assert not few["is_tested"] and few["p_value"] is None and few["current_count"] == 6
    assert not few["is_significant"]
    # The department, class I and the municipality pool every cell: 156 tasks a year.
    for grouping, key in (("all", "all"), ("risk_class", "I"), ("municipality", "186")):
        row = table.filter(pl.col("grouping") == grouping, pl.col("group_key") == key).row(0, named=True)
        assert row["current_count"] == row["previous_count"] == 156 and row["is_tested"]
    # Medians are those of the stored responses.
    responses = open_measured(change_lake).scan("responses").collect()
    mine = responses.filter(pl.col("cell_id") == _cell_id(SLOWER[0]), pl.col("call_at").dt.year() == 2025)
    assert by_cell[_cell_id(SLOWER[0])]["current_median_s"] == mine["response_s"].median()
    # q-values: Benjamini-Hochberg over every comparison made, as the slow reference computes them.
    tested = table.filter("is_tested")
    assert tested["q_value"].to_list() == pytest.approx(naive.benjamini_hochberg(tested["p_value"].to_list()))
    # The two slower cells are now over 6:00 and touch: one flagged area, whose pooled tasks changed too.
    assert table["grouping"].to_list() == ["all", "risk_class", "municipality", "area"] + ["cell"] * 6
    area = table.filter(pl.col("grouping") == "area").row(0, named=True)
    assert area["group_key"] == "1" and area["current_count"] == 60 and area["is_significant"]
    again = compare_periods(snapshot, change_lake, current=CURRENT, previous=PREVIOUS)
    assert again.equals(table)  # same seed, same answer


def test_periods_checked_and_defaulted(change_lake):
    snapshot = open_measured(change_lake)
    with pytest.raises(ChangeError, match="overlap.*share no day"):
        compare_periods(snapshot, change_lake, current=CURRENT, previous=(date(2024, 6, 1), date(2025, 1, 1)))
    with pytest.raises(ChangeError, match="starts .* after it ends"):
        compare_periods(snapshot, change_lake, current=(CURRENT[1], CURRENT[0]), previous=PREVIOUS)
    # By default the trailing year up to the lake's last measured day (15.12.2025) and the same days
    # a year earlier; given a day, the year up to it.
    assert default_periods(snapshot, change_lake) == ((date(2024, 12, 16), date(2025, 12, 15)),
                                                      (date(2023, 12, 16), date(2024, 12, 15)))
    assert default_periods(snapshot, change_lake, at=date(2025, 12, 31)) == (CURRENT, PREVIOUS)


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03, 0.5, 0.2], [1.0], [0.001] * 4, list(np.linspace(0, 1, 17))])
def test_benjamini_hochberg_matches_the_reference(p):
    assert benjamini_hochberg(np.array(p)).tolist() == pytest.approx(naive.benjamini_hochberg(p))


def test_fdr_controlled_over_many_null_groups():
    """500 groups with no change and 50 with a planted 90 s shift: few false discoveries."""
    from valmius.kernels.change import group_seeds, median_shift_tests

    rng = np.random.default_rng(99)
    groups, planted, n = 550, 50, 40
    shift = np.where(np.arange(groups) < planted, 90.0, 0.0)[:, None]
    cur = np.round(360 * rng.lognormal(0, 0.3, (groups, n)) + shift)
    prev = np.round(360 * rng.lognormal(0, 0.3, (groups, n)))
    labels = np.repeat(np.arange(groups), n)
    out = median_shift_tests(np.concatenate([cur.ravel(), prev.ravel()]), np.concatenate([labels, labels]),
                             np.repeat([True, False], groups * n), group_seeds(range(groups), 0), bootstraps=0)
    found = benjamini_hochberg(out["p_value"]) <= 0.05
    false = int(found[planted:].sum())
    assert false <= 0.1 * max(1, int(found.sum())) + 2
    assert found[:planted].mean() >= 0.6


def test_cli_change(change_lake, tmp_path):
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{change_lake.lake_path}"\n[change]\npermutations = 999\nbootstraps = 199\n')
    result = CliRunner().invoke(main, ["--config", str(config), "change", "--from", "2025-01-01", "--to", "2025-12-31"])
    assert result.exit_code == 0, result.output
    assert "comparisons made" in result.output and _cell_id(SLOWER[0]) in result.output
    assert _cell_id(STEADY[0]) not in result.output
    bad = CliRunner().invoke(main, ["--config", str(config), "change", "--from", "2025-01-01", "--to", "2025-12-31",
                                    "--previous-from", "2025-06-01", "--previous-to", "2025-07-01"])
    assert bad.exit_code == 1 and "Error: the periods overlap" in bad.output


def test_report_section(change_lake):
    from valmius.report import write_report

    english = dataclasses.replace(change_lake, report=dataclasses.replace(change_lake.report, language="en"))
    result = write_report(english, at=CURRENT[1], today=date(2026, 1, 5))
    page = result.html.read_text()
    table = compare_periods(open_measured(change_lake), change_lake, current=CURRENT, previous=PREVIOUS)
    n, m = int(table["is_tested"].sum()), int(table["is_significant"].sum())
    assert f"{n} comparisons made, {m} changes unlikely to be noise at FDR 5%." in page and m >= 3
    assert "1 group with too few tasks not compared" in page
    # The lake's tasks run from 15 January 2024 to 15 December 2025: both periods are held in part,
    # each for more than half its days, so they are compared.
    assert ("The lake holds only 352 of the 366 days of the earlier period (its measured tasks run from 15.1.2024 "
            "to 15.12.2025).") in page
    assert "The lake holds only 349 of the 365 days of the current period" in page
    changes = pl.read_csv(result.folder / "tables" / "changes.csv", infer_schema=False)
    assert changes.height == m and set(changes["Group"].drop_nulls()) >= {_cell_id(c) for c in SLOWER}
    slower = changes.filter(pl.col("Group") == _cell_id(SLOWER[0])).row(0, named=True)
    assert slower["Change"].startswith("+") and slower["Tasks now"] == "30"


def _q_cells(page: str, title: str) -> list[str]:
    """The last column (q-value) of the page's table of changes."""
    table = page.split(f"<h2>{title}</h2>", 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row)[-1] for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]]


def test_q_values_are_written_with_the_pages_decimal_mark(change_lake):
    """The Finnish page writes q-values with the decimal comma, the English one with the point; the
    CSV beside either keeps the point."""
    from valmius.report import write_report

    result = write_report(change_lake, at=CURRENT[1], today=date(2026, 1, 5))
    shown = _q_cells(result.html.read_text(), "Muutokset, jotka eivät todennäköisesti ole sattumaa")
    written = pl.read_csv(result.folder / "tables" / "changes.csv", infer_schema=False)["q-arvo"].to_list()
    assert len(shown) == len(written) >= 3 and any("," in q for q in shown)
    assert shown == [q.replace(".", ",") for q in written] and not any("," in q for q in written)
    assert all(re.fullmatch(r"\d(\.\d+)?(e-\d+)?", q) for q in written)
    english = dataclasses.replace(change_lake, report=dataclasses.replace(change_lake.report, language="en"))
    result = write_report(english, at=CURRENT[1], today=date(2026, 1, 5))
    shown = _q_cells(result.html.read_text(), "Changes unlikely to be noise")
    assert shown == pl.read_csv(result.folder / "tables" / "changes.csv", infer_schema=False)["q-value"].to_list()


def test_report_section_hides_figures_of_small_counts(change_lake):
    from valmius.change import published_changes
    from valmius.flags import evaluation_time

    shy = dataclasses.replace(change_lake, report=dataclasses.replace(change_lake.report, min_count_shown=31))
    snapshot = open_measured(shy)
    lines, changes = published_changes(snapshot, shy, evaluation_time(snapshot, shy))
    cell = changes.filter(pl.col("Kohde") == _cell_id(SLOWER[0])).row(0, named=True)
    assert cell["Tehtäviä nyt"] == "< 31" and cell["Mediaani nyt"] is None and cell["Muutos"] is None
    assert lines[0].endswith("(FDR 5 %).")


def test_no_tasks_in_the_previous_period_means_no_comparisons(change_lake):
    from valmius.change import change

    result = change(change_lake, current=CURRENT, previous=(date(2022, 1, 1), date(2022, 12, 31)))
    assert result.comparisons == 0 and result.table.height > 0 and not result.table["is_tested"].any()
    assert result.table["previous_count"].sum() == 0 and result.table["p_value"].null_count() == result.table.height
    assert result.to_text().startswith("Change 2025-01-01..2025-12-31 against 2022-01-01..2022-12-31: not compared\n")
    assert ("The lake holds none of the earlier period (its measured tasks run from 2024-01-15 to 2025-12-15)."
            in result.to_text())
    whole = change(change_lake, current=(date(2024, 12, 15), date(2025, 12, 15)),
                   previous=(date(2024, 1, 15), date(2024, 12, 14)))
    assert "the earlier period" not in whole.to_text() and "the current period" not in whole.to_text()


EARLY = (date(2023, 7, 1), date(2024, 6, 30))
"""Held from the lake's first task, 15.1.2024: 168 of its 366 days, under half."""


def test_a_period_held_under_half_is_not_compared(change_lake, tmp_path):
    """The lake holds the earlier period from 15.1.2024 only: its tasks stand for winter and spring,
    not for the year, and no comparison is made (on the demo one day of the year before, 12 tasks,
    read as the department's median 1:46 faster)."""
    from valmius.change import MIN_HELD_SHARE, change

    current = (date(2024, 7, 1), date(2025, 6, 30))
    result = change(change_lake, current=current, previous=EARLY)
    assert result.table.filter(pl.col("grouping") == "all")["previous_count"].item() > 0  # tasks enough, days not
    assert result.comparisons == 0 and result.significant.height == 0 and not result.is_compared
    assert set(result.table["untested_reason"]) == {"period_held_in_part"}
    assert set(result.table["previous_days_held"]) == {168} and set(result.table["current_days_held"]) == {365}
    assert result.to_text().splitlines() == [
        "Change 2024-07-01..2025-06-30 against 2023-07-01..2024-06-30: not compared",
        "The lake holds only 168 of the 366 days of the earlier period (its measured tasks run from 2024-01-15 to "
        "2025-12-15).",
        "Periods are compared when the lake holds at least 50% of the days of each: the tasks of a few days stand "
        "for their own season, not for the period.",
        "Give two periods within 2024-01-15..2025-12-15 with --from, --to, --previous-from and --previous-to"]
    assert 168 < MIN_HELD_SHARE * 366
    # Held for more than half its days (260 of 366), the earlier period is compared, and the text says so.
    later = change(change_lake, current=(date(2024, 10, 1), date(2025, 9, 30)),
                   previous=(date(2023, 10, 1), date(2024, 9, 30)))
    assert later.is_compared and later.comparisons > 0 and set(later.table["previous_days_held"]) == {260}
    assert later.table.filter("is_tested")["untested_reason"].null_count() == later.comparisons
    assert set(later.table.filter(~pl.col("is_tested"))["untested_reason"]) == {"too_few_tasks"}
    assert "The lake holds only 260 of the 366 days of the earlier period" in later.to_text()
    # The CLI's CSV carries the reason and the days held on every row.
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{change_lake.lake_path}"\n')
    out = tmp_path / "changes.csv"
    done = CliRunner().invoke(main, ["--config", str(config), "change", "--from", "2024-07-01", "--to", "2025-06-30",
                                     "--previous-from", "2023-07-01", "--previous-to", "2024-06-30", "--csv", str(out)])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0].endswith(": not compared") and "comparisons made" not in done.output
    table = pl.read_csv(out)
    assert table.height == result.table.height and not table["is_tested"].any()
    assert set(table["untested_reason"]) == {"period_held_in_part"} and set(table["previous_days_held"]) == {168}


def test_report_section_of_a_period_held_under_half(change_lake):
    """The report's window ending 30.6.2025 is compared with the year before it, which the lake holds
    from 15.1.2024 only: the section says that nothing was compared and why, and has no table."""
    from valmius.change import published_changes

    snapshot = open_measured(change_lake)
    lines, changes = published_changes(snapshot, change_lake, datetime(2025, 6, 30, 20, tzinfo=timezone.utc))
    assert lines == [
        "Jaksoa 1.7.2024–30.6.2025 ei verrattu jaksoon 1.7.2023–30.6.2024.",
        "Aineistossa on edelliseltä jaksolta vain 168/366 päivää (mitattua aineistoa 15.1.2024–15.12.2025).",
        "Jaksot verrataan, kun aineistossa on vähintään 50 % kummankin jakson päivistä: muutaman päivän tehtävät "
        "kuvaavat oman vuodenaikansa, eivät koko jaksoa."]
    assert changes.height == 0 and "Muutos" in changes.columns


def test_counts_of_one_read_in_the_singular(change_lake):
    from valmius.change import ChangeResult
    from valmius.labels import counted

    table = compare_periods(open_measured(change_lake), change_lake, current=CURRENT, previous=PREVIOUS)
    one = ChangeResult(table.filter(pl.col("grouping") == "all"), CURRENT, PREVIOUS, change_lake,
                       (date(2024, 1, 1), date(2025, 12, 31)))
    assert one.to_text().splitlines()[0].endswith(": 1 comparison made, 1 change unlikely to be noise at FDR 5%")
    assert counted("change_comparisons", 1, "fi") == "1 vertailu tehty"
    assert counted("change_comparisons", 2, "fi") == "2 vertailua tehty"
    assert counted("change_changes", 1, "fi") == "1 muutos ei todennäköisesti ole sattumaa"
    assert counted("change_changes", 0, "en") == "0 changes unlikely to be noise"
    assert counted("change_untested", 1, "fi") == "1 ryhmä liian vähin tehtävin jätetty vertailematta"
    assert counted("change_untested", 1_234, "en") == "1\u00a0234 groups with too few tasks not compared"


def test_the_resolution_warning_says_one_in_the_singular():
    settings = dataclasses.replace(Settings(), change=ChangeSettings(permutations=1, fdr=0.05))
    assert resolution_warning(1, settings) == (
        "with 1 comparison a lone change needs p <= 5.0e-02, below the smallest p-value 1 permutation can give: "
        "set change.permutations to at least 20")
    assert resolution_warning(2, dataclasses.replace(settings, change=ChangeSettings(permutations=10, fdr=0.05))) == (
        "with 2 comparisons a lone change needs p <= 2.5e-02, below the smallest p-value 10 permutations can give: "
        "set change.permutations to at least 40")
