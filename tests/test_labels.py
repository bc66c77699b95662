"""The words of the report and the review: a number and its noun read right for every count in both
languages (one in the singular; zero, many and ``< N`` in the Finnish partitive and the English plural);
decimals with the decimal comma in Finnish."""

from __future__ import annotations

import re
from collections import ChainMap

import pytest

from valmius.labels import TEXTS, counted, decimal_text, text, whole_text
from valmius.review import labels as review_labels


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


NOUNS = ("tehtävää|ruutua|aluetta|riviä|ajoa|kertaa|vertailua|muutosta|ryhmää|päivää|permutaatioita|vuotta|"
         "tasks|cells|areas|rows|trips|days|times|comparisons|changes|groups|permutations|years")
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


@pytest.mark.parametrize(("texts", "words", "never_one"), [
    (TEXTS, TEXTS, NEVER_ONE), (review_labels.TEXTS, ChainMap(review_labels.TEXTS, TEXTS), {})], ids=["report", "review"])
def test_no_label_writes_a_number_of_one_before_a_plural_noun(texts, words, never_one):
    """Every count before its noun goes through :func:`valmius.labels.counted`: the label has a
    "_one" twin among the labels its page reads (``words``: the review reads the report's too) or is
    one, or the number is never one (``never_one``)."""
    found = set()
    for key, labels in texts.items():
        if key.endswith("_one") or f"{key}_one" in words:
            continue
        for label in labels:
            for match in NUMBER_BEFORE_NOUN.finditer(label):
                if match.group(1) not in NOT_COUNTS:
                    found.add((key, match.group(1)))
    assert found == set(never_one)


def test_every_pair_has_both_labels_and_one_count():
    """A pair is two labels of the same table, each with one ``{count}`` and nothing else to fill."""
    for texts in (TEXTS, review_labels.TEXTS):
        for key in [k.removesuffix("_one") for k in texts if k.endswith("_one")]:
            assert key in texts, key
            for label in (*texts[key], *texts[f"{key}_one"]):
                assert re.findall(r"\{(\w*)\}", label) == ["count"], (key, label)


@pytest.mark.parametrize(("key", "one_fi", "two_fi", "one_en", "zero_en"), [
    ("n_measured_urgent_tasks", "1 mitattu kiireellinen tehtävä", "2 mitattua kiireellistä tehtävää",
     "1 measured urgent task", "0 measured urgent tasks"),
    ("n_all_measured_urgent_tasks", "1 mitatun kiireellisen tehtävän", "Kaikkien 2 mitatun kiireellisen tehtävän",
     "The 1 measured urgent task", "All 0 measured urgent tasks"),
    ("n_areas", "1 alue", "2 aluetta", "1 area", "0 areas"),
    ("n_days", "1 vrk", "2 vrk", "1 day", "0 days"),
    ("n_years", "1 vuosi", "2 vuotta", "1 year", "0 years"),
    ("n_problem_cells", "1 ongelmaruutu", "2 ongelmaruutua", "1 problem cell", "0 problem cells"),  # the report's
])
def test_the_reviews_counts_of_one_read_in_the_singular(key, one_fi, two_fi, one_en, zero_en):
    assert review_labels.counted(key, 1, "fi") == one_fi and review_labels.counted(key, 2, "fi") == two_fi
    assert review_labels.counted(key, 1, "en") == one_en and review_labels.counted(key, 0, "en") == zero_en
    assert review_labels.counted(key, 1, "en", min_count=5) == zero_en.replace("0", "< 5", 1)


def test_the_reviews_sentences_with_counts_of_one():
    def t(key: str, language: str, **values: object) -> str:
        return review_labels.text(key, language, **values)

    def n(key: str, count: int, language: str) -> str:
        return review_labels.counted(key, count, language)

    assert t("class_few", "en", year=2025, risk_class="I", tasks=n("n_measured_urgent_tasks", 1, "en")) == (
        "In 2025, class I had fewer than 1 measured urgent task; no figures are shown.")
    assert t("class_few", "fi", year=2025, risk_class="I", tasks=n("n_measured_urgent_tasks", 5, "fi")) == (
        "Vuonna 2025 riskiluokassa I oli alle 5 mitattua kiireellistä tehtävää; lukuja ei esitetä.")
    assert t("other_item_few", "en", risk_class="IV", tasks=n("n_tasks", 1, "en")) == "IV fewer than 1 task"
    assert t("verdict_few", "fi", tasks=n("n_tasks", 5, "fi")) == "alle 5 tehtävää"
    assert t("few_tasks_verdict", "en", min_tasks=1, tasks=n("n_tasks", 1, "en")).startswith(
        "There are fewer than 1 task, so")
    assert t("years_met", "en", risk_class="I", met=1, judged=1, judged_years=n("n_years", 1, "en"),
             years="2022–2025") == "The class I target was met in 1 of 1 year 2022–2025."
    assert t("years_met", "fi", risk_class="I", met=1, judged=1, judged_years=n("n_years", 1, "fi"),
             years="2022–2025") == "Riskiluokan I tavoite saavutettiin 1/1 vuotena 2022–2025."
    assert t("no_areas", "en", window=n("n_days", 1, "en"), end="31.12.2025", classes="I").startswith(
        "At the end of the period (the 1 day to 31.12.2025), no class I cell")
    assert t("other_rule_problems", "en", count=1, cells=n("n_problem_cells", 1, "en")) == (
        "By the other rule there would be 1 problem cell.")
    assert t("other_rule_problems", "fi", count=1, cells=n("n_problem_cells", 1, "fi")) == (
        "Toisella säännöllä ongelmaruutuja olisi 1.")
    assert t("problem_few", "en", few=1, min_tasks=1, tasks=n("n_tasks", 1, "en")) == (
        " In 1 of them, at least one year rests on fewer than 1 task, so the result may be chance.")


@pytest.mark.parametrize(("value", "finnish", "english"), [
    (0.012, "0,012", "0.012"), (0.5, "0,5", "0.5"), (1.0, "1", "1"), (1.2e-5, "1,2e-05", "1.2e-05"),
    (0.00012, "0,00012", "0.00012"), (None, "", ""), (float("nan"), "", "")])
def test_decimals_are_written_with_the_languages_mark(value, finnish, english):
    assert decimal_text(value, "fi") == finnish and decimal_text(value, "en") == english


def test_thousands_are_split_by_a_space_in_both_languages():
    assert decimal_text(12345.678, "fi", ",.1f") == "12\u00a0345,7"
    assert decimal_text(12345.678, "en", ",.1f") == "12\u00a0345.7"
    assert whole_text(12_345) == "12\u00a0345" and whole_text(999) == "999" and whole_text(0) == "0"


def test_the_terminal_writes_one_in_the_singular():
    from valmius.labels import english_count

    assert english_count(1, "cell") == "1 cell" and english_count(0, "cell") == "0 cells"
    assert english_count(12_345, "row") == "12,345 rows" and english_count("< 5", "task") == "< 5 tasks"
    assert english_count(1, "problem cell") == "1 problem cell" and english_count(2, "problem cell") == "2 problem cells"
    assert english_count(1, "rule differs", "rules differ") == "1 rule differs"
    assert english_count(3, "rule differs", "rules differ") == "3 rules differ"
