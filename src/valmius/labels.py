"""Words and numbers as a report reader sees them: Finnish or English labels, times as ``m:ss``,
small counts suppressed.

``report.language`` picks the language (Finnish by default). ``report.min_count_shown`` is the
smallest count shown as a number: fewer tasks (but at least one) read ``< N`` and their median,
interval and share are not shown, so that no single incident can be picked out of a published
report. Zero is shown as it is: it picks out no incident.

A number and its noun are read right for every count: one in the singular (:func:`counted` with a
pair of labels on the pages, :func:`english_count` in the terminal's English summaries).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import polars as pl

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Finnish, English)
    # A number and its noun, written by counted(): the "_one" label for one (English singular, Finnish
    # singular: nominative, or as the sentence needs), the other for any other number, 0 and "< N" too
    # (English plural, Finnish partitive). A sentence takes them whole: "{cells} yli tavoiteajan".
    "n_tasks": ("{count} tehtävää", "{count} tasks"),
    "n_tasks_one": ("{count} tehtävä", "{count} task"),
    "n_cells": ("{count} ruutua", "{count} cells"),
    "n_cells_one": ("{count} ruutu", "{count} cell"),
    "n_cells_object": ("{count} ruutua", "{count} cells"),  # Finnish: a verb's object, "liputtaisi 1 ruudun"
    "n_cells_object_one": ("{count} ruudun", "{count} cell"),
    "n_problem_cells": ("{count} ongelmaruutua", "{count} problem cells"),
    "n_problem_cells_one": ("{count} ongelmaruutu", "{count} problem cell"),
    "n_in_areas": ("{count} alueella", "in {count} areas"),  # Finnish: the adessive singular after any number
    "n_in_areas_one": ("{count} alueella", "in {count} area"),
    "n_stored_rows": ("{count} tallennettua riviä", "{count} stored rows"),
    "n_stored_rows_one": ("{count} tallennettu rivi", "{count} stored row"),
    "n_trips": ("{count} ajoa", "{count} trips"),
    "n_trips_one": ("{count} ajo", "{count} trip"),
    "n_last_days": ("viimeisten {count} vrk:n", "the last {count} days"),
    "n_last_days_one": ("viimeisen {count} vrk:n", "the last {count} day"),
    "n_measured_tasks_of": ("{count} mitatusta kiireellisestä tehtävästä", "{count} measured urgent tasks"),
    "n_measured_tasks_of_one": ("{count} mitatusta kiireellisestä tehtävästä", "{count} measured urgent task"),

    "title": ("Toimintavalmius: riskiluokan I alueet yli tavoiteajan", "Response times: risk class I areas over target"),
    "subtitle": ("Kiireelliset pelastustehtävät, liukuva {days} vrk:n ikkuna, päättyy {end}",
                 "Urgent rescue tasks, trailing {days}-day window ending {end}"),
    "synthetic": ("Tämä raportti on laadittu SYNTEETTISESTÄ esittelyaineistosta.",
                  "This report is made from SYNTHETIC demo data."),
    "headline": ("Riskiluokka {risk_class}: mediaani {median} (tavoite {target}), {share} tehtävistä tavoiteajassa, {tasks}.",
                 "Risk class {risk_class}: median {median} (target {target}), {share} of tasks within target, {tasks}."),
    "flag_rule_median": ("Ruutu liputetaan, kun sen mediaani ylittää tavoiteajan (strategian sääntö). Osuussääntö (alle 50 % tavoiteajassa) liputtaisi {other}.",
                         "A cell is flagged when its median exceeds the target (the strategy's rule). The share rule (under 50 % within target) would flag {other}."),
    "flag_rule_share": ("Ruutu liputetaan, kun alle 50 % sen tehtävistä on tavoiteajassa. Mediaanisääntö liputtaisi {other}.",
                        "A cell is flagged when under 50 % of its tasks are within target. The median rule would flag {other}."),
    "summary_flags": ("{cells} yli tavoiteajan {areas}; {certain} varmasti, {likely} todennäköisesti, {few} liian vähin tehtävin; {problem} (yli tavoitteen joka vuosi {years}).",
                      "{cells} over target {areas}; {certain} certain, {likely} likely, {few} with too few tasks; {problem} (over target every year {years})."),
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
        "Figures of fewer than {tasks} are not shown. An area is flagged cells that touch ({neighbourhood}-neighbourhood). A problem cell is over target in every year of the review period."),
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
    "month_to_date": ("{month} (kesken: ikkuna päättyy {day})", "{month} (in progress: window ending {day})"),
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
    "band_few": ("alle {tasks}", "fewer than {tasks}"),
    "band_none": ("ei tehtäviä", "no tasks"),
    "other_classes": ("muut riskiluokat", "other risk classes"),
    "files": ("Kuvat ja paikkatiedot", "Images and GIS files"),
    "scorecard_title": ("Aineiston kattavuus: kohteessa-aika puuttuu, osuus yksikköriveistä asemittain ja kuukausittain",
                        "Data completeness: share of unit rows without an on-scene time, by station and month"),
    "scorecard_note": ("Harmaa: alle {rows}. Työkaluvihje näyttää kaikki mittarit; yksiköittäin: SQL-näkymä scorecards. "
                       "Karanteeniin siirrettyjä rivejä, joiden kuukausi ei ole tiedossa (ei yhtään tallennettua riviä samasta tehtävästä): {unknown}.",
                       "Grey: fewer than {rows}. The tooltip shows every measure; per unit: the SQL view scorecards. "
                       "Quarantined rows whose month is unknown (no stored row of their incident): {unknown}."),
    "scorecard_station": ("Asema", "Station"),
    "scorecard_month": ("Kuukausi", "Month"),
    "scorecard_rows": ("Rivejä", "Rows"),
    "scorecard_missing_en_route": ("Matkalla-aika puuttuu", "No en-route time"),
    "scorecard_missing_on_scene": ("Kohteessa-aika puuttuu", "No on-scene time"),
    "scorecard_zero_interval": ("Nollan sekunnin välejä", "Zero-second intervals"),
    "scorecard_no_arrival": ("Tehtävä ilman saapunutta yksikköä", "Incident with no unit on scene"),
    "scorecard_quarantined": ("Karanteenissa", "Quarantined"),
    "scorecard_reasons": ("Syyt", "Reasons"),
    "scorecard_no_station": ("(ei asemaa)", "(no station)"),
    "note_explained": ("Selitetyt myöhästymiset", "Late responses explained"),
    "note_explained_text": ("{explained}/{late}", "{explained} of {late}"),
    "note_wrong_address": ("väärä osoite", "wrong address"),
    "note_road_closed": ("tie suljettu", "road closed"),
    "note_simultaneous_tasks": ("samanaikaiset tehtävät", "simultaneous tasks"),
    "note_unit_busy": ("yksikkö toisessa tehtävässä", "unit already on a task"),
    "note_other": ("muu syy", "other"),
    "change_title": ("Muutos edelliseen jaksoon", "Change since the previous period"),
    "change_summary": ("{comparisons}, {changes} (FDR {fdr}).", "{comparisons}, {changes} at FDR {fdr}."),
    "change_comparisons": ("{count} vertailua tehty", "{count} comparisons made"),
    "change_comparisons_one": ("{count} vertailu tehty", "{count} comparison made"),
    "change_changes": ("{count} muutosta ei todennäköisesti ole sattumaa", "{count} changes unlikely to be noise"),
    "change_changes_one": ("{count} muutos ei todennäköisesti ole sattumaa", "{count} change unlikely to be noise"),
    "change_periods": ("Jakso {current} verrattuna jaksoon {previous}. Vertailtu koko alue, riskiluokat, kunnat, liputetut alueet ja riskiluokan {classes} ruudut, joissa vähintään {min_tasks} tehtävää kummallakin jaksolla ({untested}).",
                       "Period {current} compared with {previous}. Compared: the whole department, risk classes, municipalities, flagged areas and risk class {classes} cells with at least {min_tasks} tasks in each period ({untested})."),
    "change_untested": ("{count} ryhmää liian vähin tehtävin jätetty vertailematta", "{count} groups with too few tasks not compared"),
    "change_untested_one": ("{count} ryhmä liian vähin tehtävin jätetty vertailematta", "{count} group with too few tasks not compared"),
    "change_current_period": ("tarkasteltavalta jaksolta", "the current period"),
    "change_previous_period": ("edelliseltä jaksolta", "the earlier period"),
    "change_partial": ("Aineistossa on {period} vain {held}/{days} päivää (mitattua aineistoa {first}–{last}).",
                       "The lake holds only {held} of the {days} days of {period} (its measured tasks run from {first} to {last})."),
    "change_none_held": ("Aineistossa ei ole {period} yhtään päivää (mitattua aineistoa {first}–{last}).",
                         "The lake holds none of {period} (its measured tasks run from {first} to {last})."),
    "change_skipped": ("Jaksoa {current} ei verrattu jaksoon {previous}.", "Period {current} not compared with {previous}."),
    "change_not_compared": ("Jaksot verrataan, kun aineistossa on vähintään {share} kummankin jakson päivistä: muutaman päivän tehtävät kuvaavat oman vuodenaikansa, eivät koko jaksoa.",
                            "Periods are compared when the lake holds at least {share} of the days of each: the tasks of a few days stand for their own season, not for the period."),
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
    "definition": ("Määritelmä: {label}", "Definition: {label}"),
    # The scenario page (valmius scenario).
    "scenario_title": ("Mitä jos asema muuttuu? {what}", "What if a station changes? {what}"),
    "scenario_close": ("Asema {station} suljetaan", "Station {station} closed"),
    "scenario_move": ("Asema {station} siirretään paikkaan E {x} N {y}", "Station {station} moved to E {x} N {y}"),
    "scenario_estimate": ("Arvio lasketaan havaituista ajoista: tämä on arvio, ei ennuste. Menetelmä, oletukset ja rajoitukset sivun lopussa.",
                          "An estimate from observed times, not a forecast. Method, assumptions and limits at the end of the page."),
    "scenario_first": ("Ikkunan {tasks} riskiluokan {classes} ruuduissa asema {station} oli ensimmäisenä paikalla {first} tehtävässä; muutos muuttaa {changed} tehtävän aikaa.",
                       "Of the {tasks} in risk class {classes} cells in the window, station {station} was first on scene at {first}; the change alters the time of {changed}."),
    "scenario_class": ("Riskiluokka {risk_class}: mediaani {before} → {after} (tavoite {target}), tavoiteajassa {share_before} → {share_after}.",
                       "Risk class {risk_class}: median {before} → {after} (target {target}), within target {share_before} → {share_after}."),
    "scenario_cells": ("Tavoiteajan ylittäviä ruutuja {before} → {after}: {newly} ylittäisi tavoiteajan uutena, {back} palaisi tavoitteeseen. Alueita {areas_before} → {areas_after}.",
                       "Cells over target {before} → {after}: {newly} would newly exceed the target, {back} would meet it again. Areas {areas_before} → {areas_after}."),
    "scenario_newly": ("Uudet tavoiteajan ylitykset: {cells}.", "Newly over target: {cells}."),
    "scenario_none": ("Muutos ei muuta yhdenkään ruudun mediaania.", "The change moves no cell's median."),
    "scenario_map_title": ("Riskiluokan {classes} ruudut: mediaani muutoksen jälkeen", "Risk class {classes} cells: median after the change"),
    "scenario_map_note": ("1 km ruudut (ETRS-TM35FIN); merkit selitetty kartan alla. Muutettu asema näkyy aina, myös ruutujen ulkopuolella: kartta laajenee sen mukaan.",
                          "1 km cells (ETRS-TM35FIN); the marks are explained below the map. The changed station is always shown, also beyond the cells: the map grows to hold it."),
    "scenario_map_areas": ("tavoiteajan ylittävä alue muutoksen jälkeen", "area over target after the change"),
    "municipality_border": ("kuntaraja", "municipality border"),
    "scenario_map_station": ("asema", "station"),
    "scenario_map_closed": ("suljettava asema {station}", "closed station {station}"),
    "scenario_map_from": ("asema {station} nykyisellä paikallaan", "station {station} where it is"),
    "scenario_map_to": ("asema {station} uudella paikalla", "station {station} at its new location"),
    "scenario_change_title": ("Eniten muuttuvat ruudut: mediaani ennen ja jälkeen (musta viiva: tavoite)",
                              "Cells that change most: median before and after (black tick: target)"),
    "scenario_cells_table": ("Ruudut, joiden mediaani muuttuu", "Cells whose median changes"),
    "scenario_cells_unchanged": ("Muiden ruutujen mediaani ei muutu (ruutuja: {count}).",
                                 "The other cells' medians do not change (cells: {count})."),
    "scenario_areas_table": ("Tavoiteajan ylittävät alueet muutoksen jälkeen", "Areas over target after the change"),
    "scenario_sources_table": ("Miten muuttuneiden tehtävien ajat saatiin", "How the changed tasks' times were found"),
    "scenario_takeover_table": ("Ensimmäisenä paikalla muutoksen jälkeen (tehtävät, joiden aika muuttuu)",
                                "First on scene after the change (tasks whose time changes)"),
    "scenario_note_unestimated": (
        "Tehtäviä, joihin asema {station} ehti ensimmäisenä ja joille ei saatu arviota: {count} (niihin ei saapunut muun aseman yksikköä). Syy: {why}. Niiden havaitut ajat pidetään, joten näiden ruutujen mediaanit ovat alarajoja: {cells}.",
        "Tasks first reached by {station} left without an estimate: {count} (no other station's unit arrived at them). Why: {why}. Their observed times are kept, so the medians of these cells are lower bounds: {cells}."),
    "scenario_why_few": ("muut asemat ovat käyneet {where} kukin alle {min_obs} kertaa (scenario.min_observations): {count}",
                         "other stations arrived {where} fewer than {min_obs} times each (scenario.min_observations): {count}"),
    "scenario_why_none": ("mikään muu asema ei ole käynyt {where}: {count}", "no other station arrived {where}: {count}"),
    "scenario_why_unlocated": ("tehtävällä ei ole koordinaatteja: {count}", "the task has no coordinates: {count}"),
    "scenario_where_cell": ("tehtävän ruudussa", "in the task's cell"),
    "scenario_where_block": ("tehtävän ruudun ympäröivällä {side} × {side} ruudun alueella",
                             "in the {side} × {side} cells around the task's cell"),
    "scenario_note_stations": (" Anna asemien sijainnit (paths.stations: CSV, jossa station_id, x_m, y_m), niin etäisyysmalli arvioi ne.",
                               " Set paths.stations to a CSV of station locations (station_id, x_m, y_m) so that a distance model can estimate them."),
    "scenario_note_nothing": ("Asema {station} ei ollut ensimmäisenä paikalla yhdessäkään arvioitujen ruutujen tehtävässä tässä ikkunassa: sen sulkeminen ei muuta täällä mitään.",
                              "{station} was not first on scene at any task in the judged cells of this window: closing it changes nothing here."),
    "scenario_note_far": (
        "Aseman {station} uusi paikka on {distance} km:n päässä lähimmästä arvioidusta ruudusta, kauempana kuin yhdenkään aseman yksikön havaittiin ajaneen tehtävään {history} aikana ({farthest} km): etäisyysmallin ajat sieltä ovat arvausta. Tarkista koordinaatit: metreinä ({crs}), itä (x) ensin.",
        "The new location of {station} is {distance} km from the nearest judged cell, farther than any station's unit was seen to go to a task in {history} ({farthest} km): the distance model's times from there are guesses. Check the coordinates: metres ({crs}), east (x) first."),
    "scenario_note_far_closed": (" Sieltä asema ei ehdi ensimmäisenä yhteenkään tehtävään: tulos on sama kuin sen sulkemisessa.",
                                 " From there the station is first at no task: the result is that of closing it."),
    "scenario_method": ("Menetelmä, oletukset ja rajoitukset", "Method, assumptions and limits"),
    "station_point": ("Asema", "Station"),
    "before": ("ennen", "before"),
    "after": ("jälkeen", "after"),
    "change": ("muutos", "change"),
    "median_before": ("Mediaani ennen", "Median before"),
    "median_after": ("Mediaani jälkeen", "Median after"),
    "share_before": ("Tavoiteajassa ennen", "Within target before"),
    "share_after": ("Tavoiteajassa jälkeen", "Within target after"),
    "ci_after": ("Luottamusväli jälkeen", "Confidence interval after"),
    "confidence_after": ("Varmuus jälkeen", "Confidence after"),
    "tasks_changed": ("Muuttuvia tehtäviä", "Tasks changed"),
    "status": ("Tila", "Status"),
    "new_cells": ("Uudet ruudut", "New cells"),
    "how": ("Tapa", "How"),
    "tasks": ("Tehtäviä", "Tasks"),
    "status_newly_over": ("ylittäisi tavoitteen uutena", "newly over target"),
    "status_still_over": ("ylittää jo nyt", "over target already"),
    "status_slower": ("hitaampi, tavoitteessa", "slower, within target"),
    "status_unchanged": ("ei muutosta", "unchanged"),
    "status_faster": ("nopeampi", "faster"),
    "status_no_longer_over": ("palaisi tavoitteeseen", "would meet the target again"),
    "source_observed": ("toisen aseman yksikkö saapui samaan tehtävään (havaittu aika)", "another station's unit arrived at the same task (observed time)"),
    "source_cell": ("aseman havaittujen aikojen mediaani samassa ruudussa", "the station's median observed time in the same cell"),
    "source_neighbourhood": ("aseman havaittujen aikojen mediaani ympäröivissä ruuduissa", "the station's median observed time in the cells around"),
    "source_distance_model": ("etäisyysmalli (suoraviivainen etäisyys)", "distance model (straight-line distance)"),
    "source_moved_station": ("siirretty asema: havaittu aika + mallin ero, tai mallin aika", "moved station: observed time plus the model's difference, or the model's time"),
    "source_unestimated": ("ei arviota: havaittu aika pidetty (alaraja)", "no estimate: observed time kept (a lower bound)"),
    "scenario_m_window": (
        "Tehtävät ovat samat, joita liputus arvioi: mitatut kiireelliset tehtävät riskiluokan {classes} ruuduissa {days} vrk:n ikkunassa, joka päättyy {end}. Ruudut ja alueet arvioidaan ennen ja jälkeen täsmälleen kuten pääraportissa: mediaani, {level} jakaumasta riippumaton luottamusväli, osuus tavoiteajassa; tavoitteen ylitys {rule}.",
        "The tasks are those the flags judge: measured urgent tasks in risk class {classes} cells in the {days}-day window ending {end}. Cells and areas are judged before and after exactly as in the main report: median, {level} distribution-free confidence interval, share within target; over target {rule}."),
    "scenario_rule_median": ("kun mediaani ylittää tavoiteajan", "when the median exceeds the target"),
    "scenario_rule_share": ("kun alle 50 % tehtävistä on tavoiteajassa", "when under 50 % of the tasks are within target"),
    "scenario_m_close": (
        "Sulkeminen: tehtävä, jonka ensimmäinen yksikkö tuli asemalta {station}, saa arvioidun ajan ilman tätä asemaa: jos toisen aseman yksikkö saapui samaan tehtävään, sen oman ajan hälytyksestä kohteeseen tehtävän ensimmäisestä hälytyksestä laskien (kuin se olisi hälytetty heti); muuten jäljelle jäävien asemien pienimmän arvioidun ajan. Tehtävä ei koskaan nopeudu havaitusta. Muiden tehtävien ajat pysyvät ennallaan.",
        "Closing: a task whose first unit came from {station} gets an estimated time without that station: when a unit of another station arrived at the same task, that unit's own time from alarm to on scene, counted from the task's first alarm (as if it had been alarmed at once); otherwise the smallest estimated time of the remaining stations. A task never becomes faster than observed. Other tasks keep their observed times."),
    "scenario_m_estimate": (
        "Aseman arvioitu aika paikkaan on sen yksiköiden havaittujen aikojen (hälytyksestä kohteeseen eli lähtö- ja ajoaika, aseman nopein yksikkö tehtävässä) mediaani samassa ruudussa {history} aikana, kun havaintoja on vähintään {min_obs}; {around}muuten etäisyysmallin aika.",
        "A station's estimated time to a place is the median of its observed times (alarm to on scene, that is turnout plus travel, of its fastest unit at a task) in the same cell over {history}, when it has at least {min_obs}; {around}else the distance model's time."),
    "scenario_m_around": ("muuten sitä ympäröivällä {side} × {side} ruudun alueella; ", "else in the {side} × {side} cells around it; "),
    "scenario_m_model": (
        "Etäisyysmalli: ajoajan (matkalla → kohteessa) mediaani suoraviivaisen etäisyyden mukaan yhtä suurissa etäisyysluokissa, kaikkien asemien havainnoista ({trips}), etäisyyden mukana kasvavaksi tasoitettuna; lisäksi aseman oma lähtöajan mediaani ja aseman oma kerroin (havaitun ja mallin ajoajan suhteen mediaani). Mallin ja havaittujen aikojen ero on mediaanina {error}.",
        "Distance model: the median travel time (en route to on scene) by straight-line distance in bands of equal counts, pooled over all stations ({trips}), made never to decrease with distance; plus the station's own median turnout, times the station's own factor (the median ratio of its observed to modelled travel). The model differs from the observed times by {error} (median)."),
    "scenario_m_no_model": ("Etäisyysmallia ei ole: asemien sijainteja ei annettu (paths.stations).",
                            "No distance model: station locations were not given (paths.stations)."),
    "scenario_m_move": (
        "Siirto: aseman aika tehtävään muuttuu sen verran kuin etäisyysmalli sanoo (uuden ja vanhan paikan mallin aikojen erotus). Tehtävä, jossa aseman yksikkö kävi: sen havaittu saapumisaika plus tämä ero. Tehtävä, jossa se ei käynyt, vaikka malli sanoo sen ehtivän vanhalta paikalta ensimmäisenä: asema oletetaan silloin varatuksi, ja tehtävä pysyy ennallaan. Muut tehtävät: mallin aika uudesta paikasta. Tehtävä saa nopeamman tästä ja ajastaan ilman asemaa (kuten sulkemisessa). Siirto nykyiselle paikalle ei muuta mitään.",
        "Moving: the station's time to a task changes by what the distance model says the move changes (new minus old modelled time). A task its unit attended: its observed arrival plus that change. A task it did not attend although the model says it would have been first from where it is: it is taken as busy then, and the task stays as it was. Any other task: the model's time from the new place. The task takes the faster of that and its time without the station (as for closing). A move to where the station already is changes nothing."),
    "scenario_l_free": (
        "Havaitut ajat ovat yksiköiltä, jotka olivat vapaina hälytettäessä. Kun asema puuttuu, muut ovat useammin varattuina; samanaikaisia tehtäviä ei simuloida, joten arvio on optimistinen siellä, missä tehtäviä on paljon.",
        "Observed times are those of units that were free when alarmed. With a station gone the others are busy more often; simultaneous tasks are not simulated, so the estimate is optimistic where tasks are frequent."),
    "scenario_l_dispatch": (
        "Oletetaan, että hätäkeskus hälyttää nopeimman jäljelle jäävän aseman. Vasteita (yksikkötyypit, sopimuspalokuntien saatavuus) ei mallinneta; havaitut ajat sisältävät ne sellaisina kuin ne olivat.",
        "The ERC is assumed to alarm the fastest remaining station. Response plans (unit types, availability of part-time crews) are not modelled; observed times carry them as they were."),
    "scenario_l_next": (
        "Kun asema suljetaan, sen tehtävä saa sen kanssa hälytetyn toisen aseman yksikön saapumisajan (tai seuraavien asemien mediaaniajan). Ilman asemaa hätäkeskus hälyttäisi sen tilalle useita seuraavien asemien yksiköitä, ja ensimmäinen niistä saapuu yleensä aiemmin kuin kukin yksinään: kun lähimmät jäljelle jäävät asemat ovat kaukana ja suunnilleen yhtä kaukana, arvio on liian hidas. Synteettisessä esittelyaineistossa, verrattuna ilman asemaa uudelleen tuotettuun aineistoon, muuttuvien ruutujen mediaanien virhe oli sulkemisittain mediaanina 15–97 s, ja enimmillään mediaani oli 2:44 liian hidas, kun lähimmät jäljelle jäävät asemat olivat kaksi yhtä kaukaista sopimuspalokuntaa.",
        "When a station closes, its task takes the arrival of another station's unit alarmed with it (or the next stations' median time). Without the station the ERC would alarm several units of the next stations in its place, and the first of them usually arrives sooner than each one alone: where the nearest remaining stations are far and about equally far, the estimate is too slow. On the synthetic demo world, against the world generated again without the station, the medians of the cells that change were off by a median of 15–97 s per closure, and up to 2:44 too slow where the nearest remaining stations were two part-time crews about as far."),
    "scenario_l_straight": (
        "Etäisyysmalli käyttää suoraviivaisia etäisyyksiä, ei tieverkkoa: joet, radat ja moottoritieliittymät tekevät todellisista ajoista erilaisia. Tarkista siirron paikka tieverkkomallilla ennen päätöksiä.",
        "The distance model uses straight-line distances, not roads: rivers, railways and motorway junctions make real travel differ. Check a new location with a road-network model before deciding."),
    "scenario_l_erc": ("Hätäkeskuksen käsittelyaika (puhelusta hälytykseen) ei kuulu toimintavalmiusaikaan eikä muutu.",
                       "ERC processing (call to alarm) is not part of the response time and does not change."),
    "scenario_l_demand": ("Tehtävien paikat ja ajat ovat ikkunan toteutuneet: kysynnän oletetaan pysyvän samana.",
                          "Task locations and times are those of the window: demand is assumed to stay the same."),
    "scenario_l_small": ("Alle {min_count} tehtävän lukuja ei näytetä.", "Figures of fewer than {tasks} are not shown."),
}

MUNICIPALITIES = {"092": "Vantaa", "106": "Hyvinkää", "186": "Järvenpää", "245": "Kerava", "505": "Mäntsälä",
                  "543": "Nurmijärvi", "611": "Pornainen", "858": "Tuusula"}
"""Names of the municipalities the department serves; other codes are shown as they are."""


def text(key: str, language: str, *, texts: Mapping[str, tuple[str, str]] = TEXTS, **values: object) -> str:
    """The label ``key`` of ``texts`` in ``language`` ("fi" or "en"), with ``values`` filled in."""
    finnish, english = texts[key]
    return (finnish if language == "fi" else english).format(**values)


def counted(key: str, count: int | None, language: str, min_count: int = 1,
            texts: Mapping[str, tuple[str, str]] = TEXTS) -> str:
    """The label for ``count`` things, the count written by :func:`count_text`: ``key + "_one"`` for
    one (singular in both languages: "1 vertailu tehty", "1 comparison made", "1 ruutu"), else ``key``
    (Finnish partitive, English plural: "0 ruutua", "2 cells", "< 5 tehtävää"). ``texts``: the table
    the pair is in (the review's words are :data:`valmius.review.labels.WORDS`)."""
    shown = count_text(count, min_count)
    return text(f"{key}_one" if shown == "1" else key, language, texts=texts, count=shown)


def counted_expr(key: str, column: str, language: str, min_count: int) -> pl.Expr:
    """Polars expression of :func:`counted` over a column of counts (null reads ``< N``)."""
    return pl.col(column).map_elements(lambda count: counted(key, count, language, min_count),
                                       return_dtype=pl.String, skip_nulls=False)


def english_count(count: int | str, noun: str, plural: str | None = None) -> str:
    """A count and its noun in the terminal's English (the terminal is English whatever
    ``report.language``): ``noun`` after exactly one ("1 cell", "1 rule differs"), else ``plural``,
    by default the noun and an "s" ("0 cells", "12,345 rows", "< 5 tasks"). ``count``: a number,
    written with thousands split by commas as the terminal writes them, or a count already written
    (:func:`count_text`'s "< 5")."""
    written = f"{count:,}" if isinstance(count, int) else count
    return f"{written} {noun if written == '1' else plural or noun + 's'}"


def mmss(seconds: float | None) -> str:
    """Seconds as ``m:ss`` (rounded to the nearest second, halves up); empty for None or NaN."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    whole = math.floor(seconds + 0.5)
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{whole // 60}:{whole % 60:02d}"


def mmss_expr(column: str) -> pl.Expr:
    """Polars expression of :func:`mmss`: the same text for every value (empty for null and NaN), so
    that a column is written as its values one by one would be."""
    whole = (pl.col(column).cast(pl.Float64).fill_nan(None) + 0.5).floor()
    size = whole.abs().cast(pl.Int64)  # whole seconds: exact minutes and seconds also past 2**53
    sign = pl.when(whole < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return (sign + (size // 60).cast(pl.String) + ":" + (size % 60).cast(pl.String).str.zfill(2)
            ).fill_null("").alias(column)


def percent(share: float | None, language: str) -> str:
    """A share 0-1 as a whole percentage in the language's style ("42 %" in Finnish, "42%" in English)."""
    if share is None:
        return ""
    return f"{round(share * 100)} %" if language == "fi" else f"{round(share * 100)}%"


def count_text(count: int | None, min_count: int) -> str:
    """A count (:func:`whole_text`), or ``< N`` when it is 1 or more but under the smallest count
    shown (0 is shown), or None: a count that published figures have already left out for being under it."""
    if count is None or 0 < count < min_count:
        return f"< {min_count}"
    return whole_text(count)


def whole_text(number: int) -> str:
    """A whole number as the pages write it in both languages: thousands split by a no-break space
    ("12 345"; a comma would read as the decimal comma in Finnish)."""
    return f"{number:,}".replace(",", "\u00a0")


def decimal_text(value: float | None, language: str, spec: str = ".2g") -> str:
    """A number with decimals as the pages write it: ``format(value, spec)`` with the decimal comma in
    Finnish ("0,012") and the point in English ("0.012"), thousands (a spec with ``,``) split as
    :func:`whole_text` splits them; empty for None or NaN. Machine-readable files (CSV) keep the point."""
    if value is None or math.isnan(value):
        return ""
    written = format(value, spec).replace(",", "\u00a0")
    return written.replace(".", ",") if language == "fi" else written


def count_text_expr(column: str, min_count: int) -> pl.Expr:
    """Polars expression of :func:`count_text` (null reads ``< N``), for columns of published figures."""
    return pl.col(column).map_elements(lambda count: count_text(count, min_count), return_dtype=pl.String,
                                       skip_nulls=False)


def municipality_name(code: str | None) -> str:
    if code is None:
        return ""
    return MUNICIPALITIES.get(code, code)


AXIS_MMSS = ("floor(datum.value) + ':' + (round((datum.value % 1) * 60) < 10 ? '0' : '') "
             "+ round((datum.value % 1) * 60)")
"""Vega expression for axis labels: minutes (so that ticks fall on whole minutes) as m:ss."""


def day_text(value: date | None) -> str:
    """A day as the pages write it in both languages: 6.12.2026."""
    return "" if value is None else f"{value.day}.{value.month}.{value.year}"


def axis_percent(language: str) -> str:
    """Vega expression for axis and legend labels of a share (0-1) as the pages write percentages:
    "80 %" and "0,5 %" in Finnish, "80%" and "0.5%" in English."""
    label = "format(datum.value, '~%')"
    return f"replace(replace({label}, '.', ','), '%', ' %')" if language == "fi" else label
