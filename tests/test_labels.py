"""The report's words: a number and its noun read right for every count in both languages (one in the
singular; zero, many and ``< N`` in the Finnish partitive and the English plural); decimals with the
decimal comma in Finnish."""

from __future__ import annotations

import re

import pytest

from valmius.labels import TEXTS, counted, decimal_text, text, whole_text


@pytest.mark.parametrize(("key", "one_fi", "two_fi", "one_en", "zero_en"), [
    ("n_tasks", "1 tehtävä", "2 tehtävää", "1 task", "0 tasks"),
    ("n_cells", "1 ruutu", "2 ruutua", "1 cell", "0 cells"),
    ("n_cells_object", "1 ruudun", "2 ruutua", "1 cell", "0 cells"),
    ("n_problem_cells", "1 ongelmaruutu", "2 ongelmaruutua", "1 problem cell", "0 problem cells"),
    ("n_in_areas", "1 alueella", "2 alueella", "in 1 area", "in 0 areas"),
    ("n_stored_rows", "1 tallennettu rivi", "2 tallennettua riviä", "1 stored row", "0 stored rows"),
    ("n_trips", "1 ajo", "2 ajoa", "1 trip", "0 trips"),
    ("n_last_days", "viimeisen 1 vrk:n", "viimeisten 2 vrk:n", "the last 1 day", "the last 0 days"),
    ("n_measured_tasks_of", "1 mitatusta kiireellisestä tehtävästä", "2 mitatusta kiireellisestä tehtävästä",
     "1 measured urgent task", "0 measured urgent tasks"),
])
def test_a_count_of_one_reads_in_the_singular(key, one_fi, two_fi, one_en, zero_en):
    assert counted(key, 1, "fi") == one_fi and counted(key, 2, "fi") == two_fi
    assert counted(key, 1, "en") == one_en and counted(key, 0, "en") == zero_en
    assert counted(key, 0, "fi") == two_fi.replace("2", "0", 1)  # 0 ruutua, as 2 ruutua
    assert counted(key, 12_345, "en") == zero_en.replace("0", "12\u00a0345", 1)


def test_a_count_too_small_to_show_reads_as_many():
    assert counted("n_tasks", 1, "fi", min_count=5) == "< 5 tehtävää"
    assert counted("n_tasks", 1, "en", min_count=5) == "< 5 tasks"
    assert counted("n_tasks", None, "en", min_count=5) == "< 5 tasks"
    assert counted("n_tasks", 0, "fi", min_count=5) == "0 tehtävää"
    assert counted("n_tasks", 1, "fi", min_count=1) == "1 tehtävä"


def test_sentences_with_counts_of_one():
    one_cell = text("summary_flags", "fi", cells=counted("n_cells", 1, "fi"), areas=counted("n_in_areas", 1, "fi"),
                    certain=1, likely=0, few=0, problem=counted("n_problem_cells", 1, "fi"), years="2024–2025")
    assert one_cell == ("1 ruutu yli tavoiteajan 1 alueella; 1 varmasti, 0 todennäköisesti, 0 liian vähin tehtävin; "
                        "1 ongelmaruutu (yli tavoitteen joka vuosi 2024–2025).")
    one_cell = text("summary_flags", "en", cells=counted("n_cells", 1, "en"), areas=counted("n_in_areas", 1, "en"),
                    certain=1, likely=0, few=0, problem=counted("n_problem_cells", 0, "en"), years="2025")
    assert one_cell == ("1 cell over target in 1 area; 1 certain, 0 likely, 0 with too few tasks; 0 problem cells "
                        "(over target every year 2025).")
    assert text("flag_rule_share", "en", other=counted("n_cells", 1, "en")).endswith("would flag 1 cell.")
    assert text("flag_rule_median", "fi", other=counted("n_cells_object", 1, "fi")).endswith("liputtaisi 1 ruudun.")
    assert text("flag_rule_share", "fi", other=counted("n_cells_object", 0, "fi")).endswith("liputtaisi 0 ruutua.")
    assert text("band_few", "fi", tasks=counted("n_tasks", 1, "fi")) == "alle 1 tehtävä"
    assert text("band_few", "en", tasks=counted("n_tasks", 5, "en")) == "fewer than 5 tasks"
    assert text("headline", "en", risk_class="I", median="–", target="6:00", share="–",
                tasks=counted("n_tasks", 1, "en")).endswith(", 1 task.")


NOUNS = ("tehtävää|ruutua|aluetta|riviä|ajoa|kertaa|vertailua|muutosta|ryhmää|päivää|permutaatioita|"
         "tasks|cells|areas|rows|trips|days|times|comparisons|changes|groups|permutations")
NUMBER_BEFORE_NOUN = re.compile(r"\{(\w+)\}((?: (?!of\b|with\b)[\w-]+){0,2}?) (" + NOUNS + r")\b")
"""A placeholder followed by a plural (English) or partitive (Finnish) noun, at most two words apart."""

NEVER_ONE = {
    ("change_periods", "min_tasks"): "change.min_tasks is at least 2",
    ("change_partial", "days"): "said only of a period held in part but not none of it: 2 days or more",
    ("change_resolution", "needed"): "at least the number of comparisons over change.fdr",
    ("scenario_why_few", "min_obs"): "said only when other stations arrived, but fewer than min_observations times",
    ("scenario_where_block", "side"): "said only with neighbour rings: 3 or more",
    ("scenario_m_around", "side"): "said only with neighbour rings: 3 or more",
}
"""Labels that write a number before a plural noun, and why that number is never one."""
NOT_COUNTS = {"classes", "period"}
"""Placeholders before a noun that are not numbers: risk class names, a period's name."""


def test_no_label_writes_a_number_of_one_before_a_plural_noun():
    """Every count before its noun goes through :func:`valmius.labels.counted`: the label has a
    "_one" twin (or is one), or the number is never one (``NEVER_ONE``)."""
    found = set()
    for key, labels in TEXTS.items():
        if key.endswith("_one") or f"{key}_one" in TEXTS:
            continue
        for label in labels:
            for match in NUMBER_BEFORE_NOUN.finditer(label):
                if match.group(1) not in NOT_COUNTS:
                    found.add((key, match.group(1)))
    assert found == set(NEVER_ONE)


@pytest.mark.parametrize(("value", "finnish", "english"), [
    (0.012, "0,012", "0.012"), (0.5, "0,5", "0.5"), (1.0, "1", "1"), (1.2e-5, "1,2e-05", "1.2e-05"),
    (0.00012, "0,00012", "0.00012"), (None, "", ""), (float("nan"), "", "")])
def test_decimals_are_written_with_the_languages_mark(value, finnish, english):
    assert decimal_text(value, "fi") == finnish and decimal_text(value, "en") == english


def test_thousands_are_split_by_a_space_in_both_languages():
    assert decimal_text(12345.678, "fi", ",.1f") == "12\u00a0345,7"
    assert decimal_text(12345.678, "en", ",.1f") == "12\u00a0345.7"
    assert whole_text(12_345) == "12\u00a0345" and whole_text(999) == "999" and whole_text(0) == "0"
