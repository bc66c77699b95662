"""The review's executive summary: the board's verdicts in plain words, sentence by sentence.

Each verdict says what it rests on: a year the lake holds only in part, too few tasks to tell, a
rule changed since the previous review, or a year-on-year difference within the uncertainty.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from valmius.labels import day_text, mmss, percent
from valmius.review.content import (RULES_OF_CLASS, RULES_OF_NATIONAL, RULES_OF_PROBLEM_CELLS, PageInput, ci_text,
                                    classes_present, is_reference, judged_classes, level, previous_made, row,
                                    rule_changes)
from valmius.review.labels import change_points, change_s, points_words, signed_s, year_span
from valmius.review.tables import REFERENCE_CLASSES


def _partial(p: PageInput, year: int, key: str = "partial_year") -> str:
    """Whether the lake's measured data covers ``year`` only in part, and which part (empty: all of it)."""
    if year not in p.tables.partial_years:
        return ""
    first, last = p.tables.partial_years[year]
    late, early = first > date(year, 1, 1), last < date(year, 12, 31)
    which = "partial_both" if late and early else "partial_start" if late else "partial_end"
    return p.t(key, year=year, span=p.t(which, first=day_text(first), last=day_text(last)))


def _rule_changed(p: PageInput, keys: tuple[str, ...]) -> str:
    changed = rule_changes(p, keys)
    return p.t("rule_changed", changes="; ".join(changed)) if changed else ""


def _joined(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def _class_sentence(p: PageInput, risk_class: str, year: int) -> str:
    figures = row(p.yearly, grouping="risk_class", group_key=risk_class, year=year)
    changed = _rule_changed(p, (f"targets_s.{risk_class}", *RULES_OF_CLASS))
    if figures is None or figures["count"] is None:
        return _joined(p.t("class_few", year=year, risk_class=risk_class,
                           tasks=p.counted("n_measured_urgent_tasks", p.min_count)), _partial(p, year), changed)
    target, rule = figures["target_s"], p.settings.flags.rule
    verdict = p.t(f"verdict_{'missed' if figures['is_over_target'] else 'met'}_{rule}", target=mmss(target),
                  over=mmss(figures["median_s"] - target))
    uncertain = (figures["ci_low_s"] is not None and figures["ci_low_s"] <= target < figures["ci_high_s"])
    key = "class_sentence" if figures["ci_low_s"] is not None else "class_sentence_no_ci"
    sentence = p.t(key, year=year, risk_class=risk_class,
                   tasks=p.counted("n_measured_urgent_tasks", figures["count"], p.min_count),
                   median=mmss(figures["median_s"]), level=level(p), ci=ci_text(figures),
                   share=percent(figures["share_within_target"], p.lang), target=mmss(target), verdict=verdict)
    return _joined(sentence, p.t("uncertain") if uncertain else "",
                   p.t("few_tasks_verdict", min_tasks=p.min_tasks, tasks=p.counted("n_tasks", p.min_tasks))
                   if p.few(figures["count"]) else "",
                   _partial(p, year), changed)


def _others_sentence(p: PageInput, classes: list[str], year: int) -> str:
    """The classes without the headline target, in one sentence."""
    items = []
    for risk_class in classes:
        figures = row(p.yearly, grouping="risk_class", group_key=risk_class, year=year)
        if figures is None or figures["count"] is None:
            items.append(p.t("other_item_few", risk_class=risk_class, tasks=p.counted("n_tasks", p.min_count)))
        elif is_reference(risk_class):
            items.append(p.t("other_item_reference", risk_class=risk_class, median=mmss(figures["median_s"]),
                             target=mmss(figures["target_s"]),
                             verdict=p.t("above_reference" if figures["is_over_target"] else "below_reference")))
        else:
            items.append(p.t("other_item", risk_class=risk_class, median=mmss(figures["median_s"]),
                             target=mmss(figures["target_s"]),
                             verdict=p.t("missed" if figures["is_over_target"] else "met")))
    return p.t("others_sentence", year=year, items="; ".join(items))


def _years_met(p: PageInput, risk_class: str) -> str:
    rows = p.yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == risk_class)
    judged = rows.drop_nulls("is_over_target")
    few = [y for y in p.tables.years if y not in judged["year"].to_list()]
    sentence = p.t("years_met", risk_class=risk_class, met=int((~judged["is_over_target"]).sum()),
                   judged=judged.height, judged_years=p.counted("n_years", judged.height),
                   years=year_span(p.tables.first_year, p.tables.last_year))
    partial = [_partial(p, year, "partial_year_short") for year in p.tables.partial_years]
    return (sentence + (p.t("years_few", few=", ".join(map(str, few))) if few else "")
            + (p.t("years_partial", partial="; ".join(partial)) if partial else ""))


def _change_words(p: PageInput, risk_class: str) -> str | None:
    """The last year against the year before: the changes as shown, and whether the medians differ
    beyond their confidence intervals (they do when the intervals do not overlap)."""
    last = p.tables.last_year
    before = row(p.yearly, grouping="risk_class", group_key=risk_class, year=last - 1)
    after = row(p.yearly, grouping="risk_class", group_key=risk_class, year=last)
    if before is None or after is None or before["median_s"] is None or after["median_s"] is None:
        return None
    delta = change_s(before["median_s"], after["median_s"])
    points = change_points(before["share_within_target"], after["share_within_target"])
    if delta == 0:
        median = p.t("unchanged")
    elif before["ci_low_s"] is None or after["ci_low_s"] is None:
        median = p.t("noise_unknown", delta=signed_s(delta))
    elif after["ci_low_s"] > before["ci_high_s"] or after["ci_high_s"] < before["ci_low_s"]:
        median = p.t("slower" if delta > 0 else "faster", delta=signed_s(delta), level=level(p))
    else:
        median = p.t("within_noise", delta=signed_s(delta), level=level(p))
    share = p.t("unchanged") if not points else points_words(points, p.lang)
    return p.t("year_on_year", year_before=last - 1, median_change=median, share_change=share)


def _national_sentence(p: PageInput, year: int) -> str | None:
    figures = row(p.yearly, grouping="all", year=year)
    if figures is None or figures["count"] is None:
        return None
    target = figures["national_target_s"]
    verdict = (p.t("national_missed", over=mmss(figures["mean_s"] - target)) if figures["is_over_national_target"]
               else p.t("national_met"))
    sentence = p.t("national_sentence", tasks=p.counted("n_all_measured_urgent_tasks", figures["count"], p.min_count),
                   year=year, mean=mmss(figures["mean_s"]), target=mmss(target), verdict=verdict)
    return _joined(sentence, _partial(p, year), _rule_changed(p, RULES_OF_NATIONAL))


def _areas_sentence(p: PageInput) -> str:
    tables, settings = p.tables, p.settings
    values = dict(window=p.counted("n_days", settings.windows.trailing_days),
                  end=day_text(date(tables.last_year, 12, 31)), classes=judged_classes(p))
    cells = int(tables.flags["is_flagged"].sum()) if tables.flags.height else 0
    if not cells:
        return p.t("no_areas", **values)
    certain = int((tables.areas["confidence"] == "certain").sum())
    return p.t("areas_sentence", cells=cells, areas=p.counted("n_areas", tables.areas.height), certain=certain,
               **values)


def problem_sentence(p: PageInput) -> str:
    """How many problem cells, and how many of them rest on a year of fewer than ``flags.min_tasks`` tasks."""
    tables = p.tables
    cells = tables.problem_cells[p.settings.flags.rule]
    values = dict(classes=judged_classes(p), years=year_span(tables.first_year, tables.last_year))
    if not cells:
        return _joined(p.t("no_problem", **values), _rule_changed(p, RULES_OF_PROBLEM_CELLS))
    few = (tables.cell_years.filter(pl.col("cell_id").is_in(cells), pl.col("count") < p.min_tasks)
           ["cell_id"].n_unique())
    sentence = p.t("problem_sentence", count=len(cells), **values) + (
        p.t("problem_few", few=few, min_tasks=p.min_tasks, tasks=p.counted("n_tasks", p.min_tasks)) if few else "")
    return _joined(sentence, _rule_changed(p, RULES_OF_PROBLEM_CELLS))


def _rule_sentence(p: PageInput) -> str:
    rule = p.settings.flags.rule
    other = "is_over_share" if rule == "median" else "is_over_median"
    judged = p.yearly.filter(pl.col("grouping") == "risk_class").drop_nulls("is_over_target")
    differ = judged.filter(pl.col("is_over_target") != pl.col(other),
                           ~pl.col("group_key").is_in(REFERENCE_CLASSES)).sort("group_key", "year")
    sentence = p.t(f"rule_{rule}") + " "
    if differ.height:
        where = ", ".join(f"{r['group_key']} {r['year']}" for r in differ.iter_rows(named=True))
        sentence += p.t(f"other_rule_differs_{rule}", where=where)
    else:
        sentence += p.t(f"other_rule_same_{rule}")
    other_rule = "share" if rule == "median" else "median"
    if p.tables.problem_cells[other_rule] != p.tables.problem_cells[rule]:
        problems = len(p.tables.problem_cells[other_rule])
        sentence += " " + p.t("other_rule_problems", count=problems, cells=p.counted("n_problem_cells", problems))
    return sentence


def _previous_sentence(p: PageInput) -> str:
    changes, previous = p.changes, p.changes.previous
    if previous is None:
        return p.t("no_previous", folder=p.settings.paths.reports)
    risk_class = p.settings.flags.risk_classes[0]
    figures = row(changes.headline, grouping="risk_class", group_key=risk_class) or {}
    sentence = p.t("previous_sentence", years=year_span(previous.first_year, previous.last_year),
                   made=previous_made(p), risk_class=risk_class, year_before=previous.last_year,
                   year=p.tables.last_year, before=mmss(figures.get("median_s_before")) or "–",
                   after=mmss(figures.get("median_s")) or "–", new=len(changes.new_problem_cells),
                   cleared=len(changes.cleared_problem_cells))
    return sentence + (p.t("previous_rules_changed", count=len(changes.settings_changed))
                       if changes.settings_changed else "")


def summary_lines(p: PageInput) -> list[str]:
    """The executive summary, sentence by sentence."""
    last = p.tables.last_year
    lines = []
    for risk_class in p.settings.flags.risk_classes:
        lines.append(_class_sentence(p, risk_class, last))
        if p.tables.first_year < last:
            lines.append(_years_met(p, risk_class))
            words = _change_words(p, risk_class)
            if words:
                lines.append(words)
    national = _national_sentence(p, last)
    if national:
        lines.append(national)
    lines += [_areas_sentence(p), problem_sentence(p)]
    others = [c for c in classes_present(p) if c not in p.settings.flags.risk_classes]
    if others:
        lines.append(_others_sentence(p, others, last))
    lines += [_rule_sentence(p), _previous_sentence(p)]
    return lines
