"""Words and numbers as a report reader sees them: Finnish or English labels, times as ``m:ss``,
small counts suppressed.

``report.language`` picks the language (Finnish by default). ``report.min_count_shown`` is the
smallest count shown as a number: fewer tasks read ``< N`` and their median, interval and share are
not shown, so that no single incident can be picked out of a published report.
"""

from __future__ import annotations

import math

import polars as pl

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Finnish, English)
    "title": ("Toimintavalmius: riskiluokan I alueet yli tavoiteajan", "Response times: risk class I areas over target"),
    "subtitle": ("Kiireelliset pelastustehtävät, liukuva {days} vrk:n ikkuna, päättyy {end}",
                 "Urgent rescue tasks, trailing {days}-day window ending {end}"),
    "synthetic": ("Tämä raportti on laadittu SYNTEETTISESTÄ esittelyaineistosta.",
                  "This report is made from SYNTHETIC demo data."),
    "headline": ("Riskiluokka {risk_class}: mediaani {median} (tavoite {target}), {share} tehtävistä tavoiteajassa, {count} tehtävää.",
                 "Risk class {risk_class}: median {median} (target {target}), {share} of tasks within target, {count} tasks."),
    "flag_rule_median": ("Ruutu liputetaan, kun sen mediaani ylittää tavoiteajan (strategian sääntö). Osuussääntö (alle 50 % tavoiteajassa) liputtaisi {other} ruutua.",
                         "A cell is flagged when its median exceeds the target (the strategy's rule). The share rule (under 50 % within target) would flag {other} cells."),
    "flag_rule_share": ("Ruutu liputetaan, kun alle 50 % sen tehtävistä on tavoiteajassa. Mediaanisääntö liputtaisi {other} ruutua.",
                        "A cell is flagged when under 50 % of its tasks are within target. The median rule would flag {other} cells."),
    "summary_flags": ("{cells} ruutua yli tavoiteajan {areas} alueella; {certain} varmasti, {likely} todennäköisesti, {few} liian vähin tehtävin; {problem} ongelmaruutua (yli tavoitteen joka vuosi {years}).",
                      "{cells} cells over target in {areas} areas; {certain} certain, {likely} likely, {few} with too few tasks; {problem} problem cells (over target every year {years})."),
    "no_flags": ("Yksikään ruutu ei ylitä tavoiteaikaa.", "No cell is over its target."),
    "no_data": ("Ei mitattuja kiireellisiä tehtäviä.", "No measured urgent tasks."),
    "map_title": ("Riskiluokan {classes} ruudut: mediaani suhteessa tavoiteaikaan", "Risk class {classes} cells: median against target"),
    "map_note": ("1 km ruudut (ETRS-TM35FIN); liputetut alueet rajattu mustalla, kuntarajat harmaalla.",
                 "1 km cells (ETRS-TM35FIN); flagged areas outlined in black, municipality borders in grey."),
    "trend_title": ("Mediaani riskiluokittain, liukuva {days} vrk:n ikkuna ja {level} luottamusväli",
                    "Median by risk class, trailing {days}-day window with {level} confidence interval"),
    "ecdf_title": ("Toimintavalmiusaikojen jakauma riskiluokittain (tavoiteaika merkitty)",
                   "Distribution of response times by risk class (target marked)"),
    "components_title": ("Mistä viive syntyy: osien mediaanit liputetuilla alueilla ja tavoitteen saavuttavissa ruuduissa",
                         "What drives the delay: median of each part in flagged areas and in cells that meet the target"),
    "areas_table": ("Liputetut alueet", "Flagged areas"),
    "cells_table": ("Liputetut ruudut", "Flagged cells"),
    "method": ("Menetelmä", "Method"),
    "method_text": (
        "Toimintavalmiusaika lasketaan yksikön hälytyksestä ensimmäisen yksikön kohteelle saapumiseen. Mediaanin luottamusväli on jakaumasta riippumaton (järjestystunnusluvut). "
        "Alle {min_count} tehtävän lukuja ei näytetä. Alue = toisiaan koskettavat liputetut ruudut ({neighbourhood}-naapurusto). Ongelmaruutu ylittää tavoitteen jokaisena tarkasteluvuonna.",
        "Response time runs from the unit's alarm to the first unit on scene. The median's confidence interval is distribution-free (order statistics). "
        "Figures of fewer than {min_count} tasks are not shown. An area is flagged cells that touch ({neighbourhood}-neighbourhood). A problem cell is over target in every year of the review period."),
    "response_time": ("Toimintavalmiusaika (min:s)", "Response time (m:ss)"),
    "median": ("Mediaani", "Median"),
    "ci": ("Luottamusväli", "Confidence interval"),
    "share": ("Tavoiteajassa", "Within target"),
    "count": ("Tehtäviä", "Tasks"),
    "target": ("Tavoite", "Target"),
    "risk_class": ("Riskiluokka", "Risk class"),
    "municipality": ("Kunta", "Municipality"),
    "station": ("Ensimmäisenä saapuva asema", "First-arriving station"),
    "cell": ("Ruutu", "Cell"),
    "cells": ("Ruutuja", "Cells"),
    "area": ("Alue", "Area"),
    "confidence": ("Varmuus", "Confidence"),
    "problem": ("Ongelma", "Problem"),
    "over_since": ("Yli tavoitteen alkaen", "Over target since"),
    "main_delay": ("Viive syntyy", "Delay is in"),
    "years_over": ("Vuosia yli", "Years over"),
    "month": ("Kuukausi", "Month"),
    "share_of_tasks": ("Osuus tehtävistä", "Share of tasks"),
    "part": ("Osa", "Part"),
    "seconds_median": ("Mediaani (min:s)", "Median (m:ss)"),
    "group": ("Ryhmä", "Group"),
    "meeting": ("Tavoitteen saavuttavat ruudut", "Cells meeting the target"),
    "yes": ("kyllä", "yes"),
    "no": ("ei", "no"),
    "certain": ("varma", "certain"),
    "likely": ("todennäköinen", "likely"),
    "too_few_tasks": ("liian vähän tehtäviä", "too few tasks"),
    "erc": ("hätäkeskus (käsittely)", "call centre (ERC processing)"),
    "turnout": ("asema (lähtöaika)", "station (turnout)"),
    "travel": ("tie (ajoaika)", "road (travel)"),
    "band_met": ("tavoitteessa", "within target"),
    "band_1": ("yli tavoitteen alle 1 min", "over by under 1 min"),
    "band_2": ("yli tavoitteen 1–2 min", "over by 1–2 min"),
    "band_3": ("yli tavoitteen yli 2 min", "over by more than 2 min"),
    "band_few": ("alle {min_count} tehtävää", "fewer than {min_count} tasks"),
    "band_none": ("ei tehtäviä", "no tasks"),
    "other_classes": ("muut riskiluokat", "other risk classes"),
    "files": ("Kuvat ja paikkatiedot", "Images and GIS files"),
    "change_title": ("Muutos edelliseen jaksoon", "Change since the previous period"),
    "change_summary": ("{comparisons} vertailua tehty, {changes} muutosta ei todennäköisesti ole sattumaa (FDR {fdr}).",
                       "{comparisons} comparisons made, {changes} changes unlikely to be noise at FDR {fdr}."),
    "change_periods": ("Jakso {current} verrattuna jaksoon {previous}. Vertailtu koko alue, riskiluokat, kunnat, liputetut alueet ja riskiluokan {classes} ruudut, joissa vähintään {min_tasks} tehtävää kummallakin jaksolla ({untested} ryhmää liian vähin tehtävin jätetty vertailematta).",
                       "Period {current} compared with {previous}. Compared: the whole department, risk classes, municipalities, flagged areas and risk class {classes} cells with at least {min_tasks} tasks in each period ({untested} groups with too few tasks not compared)."),
    "change_method": ("Permutaatiotesti ({statistic}), mediaanin muutoksen {level} bootstrap-luottamusväli; väärien löydösten osuus rajattu Benjamini–Hochbergin menetelmällä kaikkien vertailujen yli.",
                      "Permutation test ({statistic}), {level} bootstrap interval of the median change; false discovery rate controlled by Benjamini–Hochberg over all comparisons."),
    "change_statistic_rank": ("Mann–Whitneyn järjestyslukusumma", "Mann–Whitney rank sum"),
    "change_statistic_median": ("mediaanien erotus", "difference of medians"),
    "change_resolution": ("Vertailuja on niin monta, että yksittäinen muutos läpäisee FDR-rajan vasta, kun permutaatioita on vähintään {needed} (change.permutations).",
                          "With this many comparisons a lone change can pass the FDR control only with at least {needed} permutations (change.permutations)."),
    "change_table": ("Muutokset, jotka eivät todennäköisesti ole sattumaa", "Changes unlikely to be noise"),
    "change_all": ("koko alue", "whole department"),
    "change_grouping": ("Ryhmä", "Grouping"),
    "change_group": ("Kohde", "Group"),
    "change_count_before": ("Tehtäviä ennen", "Tasks before"),
    "change_count_now": ("Tehtäviä nyt", "Tasks now"),
    "change_median_before": ("Mediaani ennen", "Median before"),
    "change_median_now": ("Mediaani nyt", "Median now"),
    "change_change": ("Muutos", "Change"),
    "change_q": ("q-arvo", "q-value"),
    "generated": ("Laadittu {when} (valmius {version}).", "Made {when} (valmius {version})."),
}

MUNICIPALITIES = {"092": "Vantaa", "106": "Hyvinkää", "186": "Järvenpää", "245": "Kerava", "505": "Mäntsälä",
                  "543": "Nurmijärvi", "611": "Pornainen", "858": "Tuusula"}
"""Names of the municipalities the department serves; other codes are shown as they are."""


def text(key: str, language: str, **values: object) -> str:
    """The label ``key`` in ``language`` ("fi" or "en"), with ``values`` filled in."""
    finnish, english = TEXTS[key]
    return (finnish if language == "fi" else english).format(**values)


def mmss(seconds: float | None) -> str:
    """Seconds as ``m:ss`` (rounded to the nearest second, halves up); empty for None or NaN."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    whole = math.floor(seconds + 0.5)
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{whole // 60}:{whole % 60:02d}"


def mmss_expr(column: str) -> pl.Expr:
    """Polars expression of :func:`mmss`: seconds as ``m:ss`` text, null stays null."""
    whole = (pl.col(column) + 0.5).floor().cast(pl.Int64)
    return (whole // 60).cast(pl.String) + ":" + (whole % 60).cast(pl.String).str.zfill(2)


def percent(share: float | None, language: str) -> str:
    """A share 0-1 as a whole percentage in the language's style ("42 %" in Finnish, "42%" in English)."""
    if share is None:
        return ""
    return f"{round(share * 100)} %" if language == "fi" else f"{round(share * 100)}%"


def count_text(count: int, min_count: int) -> str:
    """A count, or ``< N`` when it is under the smallest count shown."""
    return f"< {min_count}" if count < min_count else f"{count:,}".replace(",", "\u00a0")


def municipality_name(code: str | None) -> str:
    if code is None:
        return ""
    return MUNICIPALITIES.get(code, code)


AXIS_MMSS = ("floor(datum.value) + ':' + (round((datum.value % 1) * 60) < 10 ? '0' : '') "
             "+ round((datum.value % 1) * 60)")
"""Vega expression for axis labels: minutes (so that ticks fall on whole minutes) as m:ss."""
