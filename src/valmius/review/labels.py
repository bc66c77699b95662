"""Words of the service-level review in Finnish and English, and its figures as the page shows them
(days, signed changes); other labels come from :mod:`valmius.labels`.

Changes on the page are differences of the figures as shown: a median shown as 12:54 and one shown
as 12:49 differ by 0:05 on the page whatever their unrounded difference (the CSV keeps that).
"""

from __future__ import annotations

import math
from collections import ChainMap

from valmius import labels
from valmius.labels import TEXTS as REPORT_TEXTS
from valmius.labels import mmss

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Finnish, English)
    # A number and its noun, a pair written by counted() as valmius.labels.TEXTS's are: the "_one" label
    # for one, the other for any other number, 0 and "< N" too. The report's pairs (n_tasks,
    # n_problem_cells, ...) serve here as well.
    "n_measured_urgent_tasks": ("{count} mitattua kiireellistä tehtävää", "{count} measured urgent tasks"),
    "n_measured_urgent_tasks_one": ("{count} mitattu kiireellinen tehtävä", "{count} measured urgent task"),
    "n_all_measured_urgent_tasks": ("Kaikkien {count} mitatun kiireellisen tehtävän", "All {count} measured urgent tasks"),
    "n_all_measured_urgent_tasks_one": ("{count} mitatun kiireellisen tehtävän", "The {count} measured urgent task"),
    "n_areas": ("{count} aluetta", "{count} areas"),
    "n_areas_one": ("{count} alue", "{count} area"),
    "n_days": ("{count} vrk", "{count} days"),
    "n_days_one": ("{count} vrk", "{count} day"),
    "n_years": ("{count} vuotta", "{count} years"),
    "n_years_one": ("{count} vuosi", "{count} year"),

    "title": ("Palvelutasopäätöksen seuranta {years}", "Service-level decision review {years}"),
    "subtitle": ("Kiireelliset pelastustehtävät {start}–{end}{partial}. Laadittu {made}.",
                 "Urgent rescue tasks {start}–{end}{partial}. Made {made}."),
    "subtitle_partial": (" (mitattua aineistoa {first}–{last})", " (measured data {first}–{last})"),
    "summary": ("Tiivistelmä", "Summary"),
    "class_sentence": (
        "Vuonna {year} riskiluokassa {risk_class} oli {tasks}; toimintavalmiusajan "
        "mediaani oli {median} ({level}:n luottamusväli {ci}) ja {share} tehtävistä oli tavoiteajassa {target}. "
        "{verdict}",
        "In {year}, class {risk_class} had {tasks}, reached in a median of {median} "
        "({level} confidence interval {ci}); {share} were within the target of {target}. {verdict}"),
    "class_sentence_no_ci": (
        "Vuonna {year} riskiluokassa {risk_class} oli {tasks}; toimintavalmiusajan "
        "mediaani oli {median} (tehtäviä liian vähän luottamusväliin) ja {share} tehtävistä oli tavoiteajassa "
        "{target}. {verdict}",
        "In {year}, class {risk_class} had {tasks}, reached in a median of {median} (too few "
        "tasks for a confidence interval); {share} were within the target of {target}. {verdict}"),
    "others_sentence": ("Muut riskiluokat vuonna {year}: {items}.", "Other risk classes in {year}: {items}."),
    "other_item": ("{risk_class} mediaani {median} (tavoite {target}) {verdict}",
                   "{risk_class} median {median} (target {target}) {verdict}"),
    "other_item_reference": ("{risk_class} mediaani {median} (viiteraja {target}, ei sitova tavoite) {verdict}",
                             "{risk_class} median {median} (reference limit {target}, not a firm target) {verdict}"),
    "other_item_few": ("{risk_class} alle {tasks}", "{risk_class} fewer than {tasks}"),
    "class_few": ("Vuonna {year} riskiluokassa {risk_class} oli alle {tasks}; lukuja ei esitetä.",
                  "In {year}, class {risk_class} had fewer than {tasks}; no figures are shown."),
    "verdict_met_median": ("Tavoite (mediaani enintään {target}) saavutettiin.", "Target (median at most {target}) met."),
    "verdict_missed_median": ("Tavoite (mediaani enintään {target}) jäi saavuttamatta; ylitys {over}.",
                              "Target (median at most {target}) missed, by {over}."),
    "verdict_met_share": ("Tavoite (vähintään 50 % tehtävistä ajassa {target}) saavutettiin.",
                          "Target (at least 50% within {target}) met."),
    "verdict_missed_share": ("Tavoite (vähintään 50 % tehtävistä ajassa {target}) jäi saavuttamatta.",
                             "Target (at least 50% within {target}) missed."),
    "uncertain": ("Luottamusväli ulottuu tavoiteajan molemmin puolin, joten tulos ei ole varma.",
                  "The interval reaches both sides of the target, so the result is not certain."),
    "few_tasks_verdict": ("Tehtäviä on alle {min_tasks}, joten tulos on lähinnä satunnaista vaihtelua.",
                          "There are fewer than {tasks}, so the result is mostly chance."),
    "partial_year": ("Vuoden {year} aineisto on vajaa: {span}.", "The data of {year} is incomplete: {span}."),
    "partial_year_short": ("{year} ({span})", "{year} ({span})"),
    "partial_start": ("mitattu aineisto alkaa vasta {first}", "the lake's measured data starts only on {first}"),
    "partial_end": ("mitattu aineisto päättyy jo {last}", "the lake's measured data ends on {last}"),
    "partial_both": ("mitattu aineisto kattaa vain {first}–{last}",
                     "the lake's measured data covers only {first} to {last}"),
    "rule_changed": ("Sääntöä on muutettu edellisen seurannan jälkeen: {changes}.",
                     "The rule has changed since the previous review: {changes}."),
    "years_met": ("Riskiluokan {risk_class} tavoite saavutettiin {met}/{judged} vuotena {years}.",
                  "The class {risk_class} target was met in {met} of {judged_years} {years}."),
    "years_few": (" Vuosia, joina tehtäviä oli liian vähän arvioitavaksi: {few}.",
                  " Years with too few tasks to judge: {few}."),
    "years_partial": (" Vajaat vuodet: {partial}.", " Incomplete years: {partial}."),
    "year_on_year": ("Edellisvuoteen {year_before} verrattuna: mediaani {median_change}; tavoiteajassa {share_change}.",
                     "Compared with {year_before}: median {median_change}; within target {share_change}."),
    "slower": ("{delta} (hitaampi; {level}:n luottamusvälit eivät mene päällekkäin)",
               "{delta} (slower; the {level} confidence intervals do not overlap)"),
    "faster": ("{delta} (nopeampi; {level}:n luottamusvälit eivät mene päällekkäin)",
               "{delta} (faster; the {level} confidence intervals do not overlap)"),
    "within_noise": ("{delta}, ei eroa epävarmuuden puitteissa ({level}:n luottamusvälit menevät päällekkäin)",
                     "{delta}, no difference beyond the uncertainty (the {level} confidence intervals overlap)"),
    "noise_unknown": ("{delta} (tehtäviä liian vähän luottamusväliin: eroa ei voi arvioida)",
                      "{delta} (too few tasks for a confidence interval: the difference cannot be judged)"),
    "unchanged": ("ennallaan", "unchanged"),
    "point": ("{delta} prosenttiyksikkö", "{delta} percentage point"),
    "points": ("{delta} prosenttiyksikköä", "{delta} percentage points"),
    "national_sentence": (
        "{tasks} toimintavalmiusajan keskiarvo vuonna {year} oli {mean}; "
        "valtakunnallinen tavoite (keskiarvo enintään {target}) {verdict}.",
        "{tasks} in {year} averaged {mean}; the national target (a mean of at most "
        "{target}) was {verdict}."),
    "national_met": ("saavutettiin", "met"),
    "national_missed": ("jäi saavuttamatta, ylitys {over}", "missed by {over}"),
    "areas_sentence": (
        "Kauden lopussa ({window}, päättyen {end}) tavoiteajan ylittäneitä riskiluokan {classes} ruutuja: {cells} "
        "({areas}); alueista varmasti yli tavoitteen (koko luottamusväli yli): {certain}.",
        "At the end of the period (the {window} to {end}), class {classes} cells over target: {cells} ({areas}); "
        "areas over for certain (the whole interval above the target): {certain}."),
    "no_areas": ("Kauden lopussa ({window}, päättyen {end}) yksikään riskiluokan {classes} ruutu ei ylittänyt "
                 "tavoiteaikaa.",
                 "At the end of the period (the {window} to {end}), no class {classes} cell was over target."),
    "problem_sentence": (
        "Riskiluokan {classes} ongelmaruutuja (yli tavoiteajan jokaisena vuonna {years}): {count}.",
        "Class {classes} problem cells (over target in every year {years}): {count}."),
    "problem_few": (" Niistä {few} perustuu ainakin yhtenä vuonna alle {min_tasks} tehtävään, joten tulos voi olla "
                    "satunnaista vaihtelua.",
                    " In {few} of them, at least one year rests on fewer than {tasks}, so the result may be chance."),
    "no_problem": ("Yksikään riskiluokan {classes} ruutu ei ylittänyt tavoiteaikaa jokaisena vuonna {years}.",
                   "No class {classes} cell missed the target in every year {years}."),
    "rule_median": ("Tavoitteen saavuttaminen ratkaistaan mediaanisäännöllä (mediaani enintään tavoiteaika, "
                    "strategian sääntö).",
                    "Compliance is decided by the median rule (median at most the target, the strategy's rule)."),
    "rule_share": ("Tavoitteen saavuttaminen ratkaistaan osuussäännöllä (vähintään 50 % tehtävistä tavoiteajassa).",
                   "Compliance is decided by the share rule (at least 50% of tasks within the target)."),
    "other_rule_same_median": ("Osuussääntö (vähintään 50 % tavoiteajassa) antaa saman tuloksen kaikissa "
                               "riskiluokissa ja vuosissa.",
                               "The share rule (at least 50% within target) gives the same result for every class "
                               "and year."),
    "other_rule_same_share": ("Mediaanisääntö (mediaani enintään tavoiteaika) antaa saman tuloksen kaikissa "
                              "riskiluokissa ja vuosissa.",
                              "The median rule (median at most the target) gives the same result for every class "
                              "and year."),
    "other_rule_differs_median": ("Osuussääntö (vähintään 50 % tavoiteajassa) antaisi eri tuloksen: {where}.",
                                  "The share rule (at least 50% within target) would differ in: {where}."),
    "other_rule_differs_share": ("Mediaanisääntö (mediaani enintään tavoiteaika) antaisi eri tuloksen: {where}.",
                                 "The median rule (median at most the target) would differ in: {where}."),
    "other_rule_problems": ("Toisella säännöllä ongelmaruutuja olisi {count}.",
                            "By the other rule there would be {cells}."),
    "previous_sentence": (
        "Edellinen seuranta ({years}, laadittu {made}): riskiluokan {risk_class} mediaani vuonna {year_before} "
        "oli {before}, nyt vuonna {year} {after}. Ongelmaruudut: uusia {new}, poistuneita {cleared}.",
        "Previous review ({years}, made {made}): class {risk_class} median {before} in {year_before}, now "
        "{after} in {year}. Problem cells: {new} new, {cleared} no longer."),
    "previous_rules_changed": (" Sääntöjä on muutettu sen jälkeen ({count}; ks. Mikä muuttui).",
                               " Rules have changed since then ({count}; see What changed)."),
    "no_previous": ("Aiempaa seurantaa ei löytynyt kansiosta {folder}; muutokset edelliseen seurantaan näytetään "
                    "seuraavasta seurannasta alkaen.",
                    "No earlier review was found in {folder}; changes since the previous review will be shown from "
                    "the next review on."),
    "change_target": ("riskiluokan {risk_class} tavoite {before} → {after}",
                      "the class {risk_class} target {before} → {after}"),
    "change_national": ("valtakunnallinen keskiarvotavoite {before} → {after}",
                        "the national average target {before} → {after}"),
    "change_rule": ("ratkaiseva sääntö {before} → {after}", "the deciding rule {before} → {after}"),
    "rule_name_median": ("mediaanisääntö", "median rule"),
    "rule_name_share": ("osuussääntö", "share rule"),
    "classes_title": ("Riskiluokat vuosittain", "Risk classes year by year"),
    "classes_note": ("Vihreä: tavoite saavutettu; punainen: jäi saavuttamatta; harmaa: alle {shown_tasks} "
                     "(lukuja ei esitetä) tai alle {judged_tasks} (tulosta ei väritetä: se on lähinnä "
                     "satunnaista vaihtelua). Riskiluokan IV {reference} on viiteraja, jonka jälkeen asukkaiden oma "
                     "varautuminen korostuu, ei sitova tavoite. Muutokset ovat näytettyjen lukujen erotuksia. {rule}",
                     "Green: target met; red: missed; grey: fewer than {shown_tasks} (no figures shown) or fewer "
                     "than {judged_tasks} (not coloured: mostly chance). Class IV's {reference} is a reference limit "
                     "after which residents' own preparedness matters, not a firm target. Changes are differences of "
                     "the figures as shown. {rule}"),
    "national_title": ("Kaikki kiireelliset tehtävät ja valtakunnallinen keskiarvotavoite",
                       "All urgent tasks and the national average target"),
    "national_note": ("Valtakunnallinen tavoite: kaikkien kiireellisten tehtävien toimintavalmiusajan keskiarvo "
                      "enintään {target}. Mukana ovat myös tehtävät, joilla ei ole riskiluokkaa; osuus tavoiteajassa "
                      "lasketaan tehtävistä, joilla on riskiluokka (kunkin oma tavoite).",
                      "National target: the mean response time over all urgent tasks at most {target}. Tasks without a "
                      "risk class are included; the share within target counts the tasks that have a class (each "
                      "against its own target)."),
    "areas_title": ("Riskiluokan {classes} alueet yli tavoiteajan kauden lopussa",
                    "Class {classes} areas over target at the end of the period"),
    "areas_note": ("{days} vrk:n jakso, joka päättyy {end}. Alue = toisiaan koskettavat tavoiteajan ylittävät ruudut.",
                   "The {window} to {end}. An area is a group of touching cells over target."),
    "problem_title": ("Ongelmaruudut: yli tavoiteajan jokaisena vuonna {years}",
                      "Problem cells: over target in every year {years}"),
    "problem_note": ("Riskiluokan {classes} ruudut vuoden {last} riskiruudukossa. Kunkin vuoden tehtäviä verrataan "
                     "sen vuoden riskiluokan tavoiteaikaan. Solussa: mediaani (tehtäviä). \"Vähän tehtäviä\": alle "
                     "{judged_tasks}, joten vuoden tulos on lähinnä satunnaista vaihtelua; ruutu on silti "
                     "ongelmaruutu, kuten valtakunnallisessa arvioinnissa.",
                     "Class {classes} cells of the {last} risk grid. Each year's tasks are judged against the target "
                     "of that year's class. In each cell: median (tasks). \"Few tasks\": fewer than {judged_tasks}, "
                     "so that year's result is mostly chance; the cell is still a problem cell, as in the national "
                     "review."),
    "few_mark": ("vähän tehtäviä", "few tasks"),
    "municipality_title": ("Kunnittain", "By municipality"),
    "station_title": ("Asemittain", "By station"),
    "station_note": ("Asema = ensimmäisenä kohteeseen saapuneen yksikön asema.",
                     "Station = the station of the first unit on scene."),
    "wide_class_note": ("Riskiluokka {risk_class}: mediaani (osuus tavoiteajassa; tehtäviä). Vihreä: tavoite "
                        "saavutettu; punainen: jäi saavuttamatta; harmaa: alle {judged_tasks}, tulosta ei "
                        "väritetä.",
                        "Class {risk_class}: median (share within target; tasks). Green: target met; red: missed; "
                        "grey: fewer than {judged_tasks}, not coloured."),
    "wide_all_note": ("Kaikki kiireelliset tehtävät: keskiarvo (tehtäviä). Lihavoitu: yli valtakunnallisen "
                      "keskiarvotavoitteen {target}, joka koskee koko aluetta, ei yksittäistä kuntaa tai asemaa; "
                      "harmaa: alle {judged_tasks}.",
                      "All urgent tasks: mean (tasks). Bold: over the national average target of {target}, which "
                      "applies to the whole department, not to one municipality or station; grey: fewer than "
                      "{judged_tasks}."),
    "changes_title": ("Mikä muuttui", "What changed"),
    "changes_note": ("Muutokset ovat näytettyjen (pyöristettyjen) lukujen erotuksia; changes.csv sisältää tarkat "
                     "erotukset.",
                     "Changes are differences of the figures as shown (rounded); changes.csv has the exact ones."),
    "since_year_title": ("Edellisestä vuodesta ({year_before} → {year})", "Since the year before ({year_before} → {year})"),
    "since_previous_title": ("Edellisestä seurannasta ({years}, laadittu {made})",
                             "Since the previous review ({years}, made {made})"),
    "headline_title": ("Edellisen seurannan viimeinen vuosi ({year_before}) ja tämän seurannan viimeinen vuosi ({year})",
                       "The previous review's last year ({year_before}) and this review's last year ({year})"),
    "headline_same": ("Edellisen seurannan viimeisen vuoden {year_before} luvut ovat samat kuin yllä: verrattuna "
                      "edelliseen seurantaan muutos on sama kuin edellisestä vuodesta.",
                      "The previous review's figures for its last year, {year_before}, are those above: the change "
                      "since the previous review is the change since the year before."),
    "revisions_title": ("Samat vuodet kummassakin seurannassa: luvut silloin ja nyt (korjaukset ja myöhästyneet "
                        "tiedot näkyvät tässä)",
                        "Years in both reviews: figures then and now (corrections and late data show here)"),
    "problem_changes": ("Ongelmaruudut: uusia {new}, poistuneita {cleared}, pysyneitä {kept}.",
                        "Problem cells: {new} new, {cleared} no longer, {kept} still."),
    "problem_change_new": ("Uusi ongelmaruutu {cell}: {years}.", "New problem cell {cell}: {years}."),
    "problem_change_cleared": ("Ei enää ongelmaruutu {cell}: {years}.", "No longer a problem cell {cell}: {years}."),
    "problem_change_year": ("{year} {then} → {now}", "{year} {then} → {now}"),
    "problem_change_none": ("julkaistut vuositulokset ovat samat", "the published verdicts of its years are the same"),
    "verdict_missed": ("ei saavutettu", "missed"),
    "verdict_met": ("saavutettu", "met"),
    "verdict_few": ("alle {tasks}", "fewer than {tasks}"),
    "verdict_none": ("ei tehtäviä", "no tasks"),
    "verdict_outside": ("ei seurantakaudella", "not in the period"),
    "verdict_unknown": ("ei tallennettu", "not stored"),
    "settings_changed": ("Asetukset muuttuneet edellisestä seurannasta: {changes}.",
                         "Settings changed since the previous review: {changes}."),
    "single_year": ("Seurantakaudessa on vain yksi vuosi.", "The review period has only one year."),
    "coverage_title": ("Aineisto", "Data"),
    "coverage_note": ("Kiireelliset tehtävät (laskettavat tehtävätyypit) vuosittain; mittaamatta jääneet syineen.",
                      "Urgent tasks (counted task types) by year; those not measured with the reason."),
    "quarantine_note": (
        "Hylätyt rivit: vientitiedostojen rivit (yksi rivi yksikköä ja tehtävää kohden, kiireelliset ja muut "
        "tehtävät), jotka tarkistus hylkäsi, syineen. Rivi lasketaan tehtävän ilmoitusvuodelle, kun tehtävän jokin "
        "muu rivi tallentui, kuten raportin aineiston kattavuustaulukossa. Jos tehtävän kaikki rivit hylättiin, sen "
        "ilmoitusaikaa ei tunneta: nämä rivit ovat rivillä \"vuosi tuntematon\" koko aineistosta (mikä tahansa "
        "vuosi), ja niiden tehtävät puuttuvat yllä olevista luvuista. Uudemmalla viennillä korvattuja rivejä ei "
        "lasketa.",
        "Rejected rows: export rows (one row per unit per task, urgent or not) that validation rejected, with the "
        "reason. A row counts in the year of its task's call when another row of the task was stored, as in the "
        "report's data completeness table. When every row of a task was rejected its call time is unknown: those rows "
        "are in the row \"year unknown\", from the whole lake (any year), and their tasks are missing from the "
        "figures above. Rows replaced by a newer export are not counted."),
    "method_title": ("Menetelmä", "Method"),
    "method_text": (
        "Toimintavalmiusaika lasketaan yksikön hälytyksestä ensimmäisen yksikön kohteelle saapumiseen. Vuodet ovat "
        "kalenterivuosia paikallista aikaa. Riskiluokka on tehtäväpaikan ruudun luokka tehtävävuoden "
        "riskiruudukossa. Parillisen määrän mediaani on kahden keskimmäisen keskiarvo; tavoiteajassa tarkalleen "
        "oleva tehtävä on tavoiteajassa. Mediaanin {level}:n luottamusväli on jakaumasta riippumaton "
        "(järjestystunnusluvut); vuosien mediaanit sanotaan eroaviksi vain, kun niiden luottamusvälit eivät mene "
        "päällekkäin. Alle {min_tasks} tehtävän tulos on lähinnä satunnaista vaihtelua. Alle {min_count} tehtävän "
        "lukuja ei esitetä, jotta yksittäistä tehtävää ei voi tunnistaa. Kauden lopun alueet arvioidaan {days} "
        "vrk:n liukuvalla jaksolla kuten yöllisessä raportissa.",
        "Response time runs from the unit's alarm to the first unit on scene. Years are local calendar years. "
        "The risk class is that of the task's cell in the risk grid of the task's year. The median of an even "
        "count is the mean of the two middle values; a task exactly on target is within it. The median's {level} "
        "confidence interval is distribution-free (order statistics); two years' medians are called different only "
        "when their intervals do not overlap. A result of fewer than {judged_tasks} is mostly chance. Figures "
        "of fewer than {shown_tasks} are not shown, so that no single task can be picked out. The areas at the "
        "end of the period are judged on the trailing {days}-day window, as in the nightly report."),
    "counted_text": (
        "Kiireellisiksi luettiin hätäkeskuksen kiireellisyysluokat {urgent} ({source}){others}. Toimintavalmiusaikaan "
        "luettiin yksikkötyypit: {units}{not_units}. Tehtävätyypit: {tasks}.",
        "Urgent tasks are those of the ERC urgency classes {urgent} ({source}){others}. Unit types counted towards "
        "the response time: {units}{not_units}. Task types: {tasks}."),
    "counted_source_settings": ("asetus counting.urgent_classes", "setting counting.urgent_classes"),
    "counted_source_formats": ("lähdemuodon {formats} mukaan", "as the source format {formats} marks them"),
    "counted_source_data": ("aineistossa kiireellisiksi merkityt", "those the data marks urgent"),
    "counted_others": ("; muita luokkia ({classes}) ei laskettu", "; other classes ({classes}) are not counted"),
    "counted_all_units": ("kaikki ({types})", "all ({types})"),
    "counted_not_units": ("; ei: {types}", "; not: {types}"),
    "counted_all_tasks": ("kaikki", "all"),
    "none_listed": ("ei yhtään", "none"),
    "measured_as": ("Luvut on laskettu määritelmän {label} mittaamista vasteajoista: sen mittaussäännöt ovat samat, "
                    "joten seuranta ei tallentanut uutta määritelmää.",
                    "The figures come from the responses measured by definition {label}: its measure rules are the "
                    "same, so the review stored no new definition."),
    "files": ("Taulukot ja kuvat", "Tables and charts"),
    "median_title": ("Mediaani riskiluokittain vuosittain ({level}:n luottamusväli); katkoviiva = tavoite "
                     "(IV: viiteraja); asteikot alkavat nollasta",
                     "Median by risk class and year ({level} confidence interval); dashed = target "
                     "(IV: reference limit); scales start at zero"),
    "median_description": ("Riskiluokan {risk_class} mediaani vuonna {year}: {median}, luottamusväli {ci}, {tasks}.",
                           "Class {risk_class} median in {year}: {median}, confidence interval {ci}, {tasks}."),
    "interval_description": ("Riskiluokan {risk_class} luottamusväli vuonna {year}: {ci}.",
                             "Class {risk_class} confidence interval in {year}: {ci}."),
    "target_description": ("Riskiluokan {risk_class} tavoite: {target}.", "Class {risk_class} target: {target}."),
    "share_title": ("Osuus tehtävistä tavoiteajassa riskiluokittain; katkoviiva = 50 %",
                    "Share of tasks within target by risk class; dashed = 50%"),
    "share_description": ("Riskiluokka {risk_class} vuonna {year}: {share} tavoiteajassa, {tasks}.",
                          "Class {risk_class} in {year}: {share} within target, {tasks}."),
    "half_description": ("50 %:n raja (osuussääntö).", "The 50% line (share rule)."),
    "mean_title": ("Kaikkien kiireellisten tehtävien keskiarvo ja valtakunnallinen tavoite {target}",
                   "Mean of all urgent tasks against the national target of {target}"),
    "mean_description": ("Keskiarvo vuonna {year}: {mean}, {tasks}.", "Mean in {year}: {mean}, {tasks}."),
    "national_target_description": ("Valtakunnallinen tavoite: {target}.", "National target: {target}."),
    "chart_axes": ("Vaaka-akselilla {x}; pystyakselilla {y}.", "Horizontal axis: {x}; vertical axis: {y}."),
    "median_axis_description": ("toimintavalmiusaika minuutteina ja sekunteina nollasta alkaen, kunkin riskiluokan "
                                "omalla asteikolla",
                                "response time in minutes and seconds from zero, on each class's own scale"),
    "share_axis_description": ("osuus tehtävistä tavoiteajassa, 0–100 %", "share of tasks within target, 0-100%"),
    "mean_axis_description": ("keskiarvo minuutteina ja sekunteina nollasta alkaen",
                              "mean in minutes and seconds from zero"),
    "mean_axis": ("Keskiarvo (min:s)", "Mean (m:ss)"),
    "national_target_short": ("tavoite {target}", "target {target}"),
    "year": ("Vuosi", "Year"),
    "mean": ("Keskiarvo", "Mean"),
    "all_tasks": ("kaikki", "all"),
    "national_target": ("Valtakunnallinen tavoite", "National target"),
    "meets_national": ("Keskiarvotavoite", "Average target"),
    "rule_median_col": ("Mediaani ≤ tavoite", "Median ≤ target"),
    "rule_share_col": ("≥ 50 % tavoiteajassa", "≥ 50% within target"),
    "decides": (" (ratkaisee)", " (decides)"),
    "met": ("saavutettu", "met"),
    "missed": ("ei saavutettu", "missed"),
    "reference_target": ("{target} (viiteraja)", "{target} (reference limit)"),
    "below_reference": ("alle viiterajan", "under the limit"),
    "above_reference": ("yli viiterajan", "over the limit"),
    "median_change": ("Mediaanin muutos", "Median change"),
    "share_change": ("Osuuden muutos (%-yks.)", "Share change (points)"),
    "mean_change": ("Keskiarvon muutos", "Mean change"),
    "then": ("silloin", "then"),
    "now": ("nyt", "now"),
    "group": ("Ryhmä", "Group"),
    "urgent_tasks": ("Kiireellisiä tehtäviä", "Urgent tasks"),
    "measured": ("Mitattu", "Measured"),
    "no_unit_arrived": ("Yksikkö ei saapunut", "No unit arrived"),
    "no_counted_unit": ("Ei laskettavaa yksikköä", "No counted unit"),
    "no_alarm_time": ("Hälytysaika puuttuu", "No alarm time"),
    "without_class": ("Mitattu, ei riskiluokkaa", "Measured, no risk class"),
    "quarantined": ("Hylättyjä rivejä", "Rejected rows"),
    "quarantine_reasons": ("Hylkäyssyyt", "Reasons"),
    "year_unknown": ("vuosi tuntematon", "year unknown"),
    "first_day": ("Ensimmäinen päivä", "First day"),
    "last_day": ("Viimeinen päivä", "Last day"),
    "ci_level": ("{level}:n luottamusväli", "{level} CI"),
    "made_line": ("Laadittu {when} (valmius {version}).", "Made {when} (valmius {version})."),
}

QUARANTINE_WORDS: dict[str, tuple[str, str]] = {
    # quarantine reason code (valmius.scorecards.DEFECT_REASONS): (Finnish, English)
    "missing_value": ("pakollinen tieto puuttuu", "a required value missing"),
    "bad_timestamp": ("aika väärässä muodossa", "a time in the wrong format"),
    "impossible_timestamp": ("mahdoton aika", "an impossible time"),
    "nonexistent_local_time": ("aika kevään siirtymän puuttuvalla tunnilla", "a time in the skipped spring hour"),
    "ambiguous_local_time": ("aika syksyn toistuvalla tunnilla", "a time in the repeated autumn hour"),
    "unknown_urgency": ("tuntematon kiireellisyys", "an unknown urgency"),
    "bad_coordinate": ("virheellinen koordinaatti", "a bad coordinate"),
    "future_timestamp": ("aika tulevaisuudessa", "a time in the future"),
    "early_timestamp": ("aika liian varhain", "a time too early"),
    "negative_interval": ("tilaaika edellistä aiempi", "a status time before the previous one"),
    "implausible_interval": ("epäuskottavan pitkä väli", "an implausibly long interval"),
    "malformed_row": ("rivillä väärä määrä kenttiä", "a row with the wrong number of fields"),
}


WORDS = ChainMap(TEXTS, REPORT_TEXTS)
"""The labels the review reads: its own words first, then the report's (:data:`valmius.labels.TEXTS`)."""


def text(key: str, language: str, **values: object) -> str:
    """The label ``key`` of :data:`WORDS` in ``language`` ("fi" or "en") with ``values`` filled in."""
    return labels.text(key, language, texts=WORDS, **values)


def counted(key: str, count: int | None, language: str, min_count: int = 1) -> str:
    """:func:`valmius.labels.counted` of the pair ``key`` in :data:`WORDS`: "1 alue", "2 aluetta",
    "1 measured urgent task", "< 5 tasks"."""
    return labels.counted(key, count, language, min_count, WORDS)


def year_span(first: int, last: int) -> str:
    """A review's years as the text says them: "2022–2025", or "2025" for one year."""
    return str(first) if first == last else f"{first}–{last}"


def shown_s(seconds: float | None) -> int | None:
    """Seconds as :func:`valmius.labels.mmss` shows them: whole seconds, halves up."""
    return None if seconds is None else math.floor(seconds + 0.5)


def shown_points(share: float | None) -> int | None:
    """A share 0-1 as :func:`valmius.labels.percent` shows it: whole percent."""
    return None if share is None else round(share * 100)


def change_s(before: float | None, after: float | None) -> int | None:
    """The change of two times as shown, in whole seconds (None: either is not shown)."""
    if before is None or after is None:
        return None
    return shown_s(after) - shown_s(before)


def change_points(before: float | None, after: float | None) -> int | None:
    """The change of two shares as shown, in percentage points (None: either is not shown)."""
    if before is None or after is None:
        return None
    return shown_points(after) - shown_points(before)


def signed_s(seconds: int | None) -> str:
    """A change of whole seconds: "+0:05", "−0:05" or "±0:00" (empty for None)."""
    if seconds is None:
        return ""
    return "±0:00" if seconds == 0 else ("+" if seconds > 0 else "\u2212") + mmss(abs(seconds))


def signed_points(points: int | None) -> str:
    """A change of percentage points: "+1", "−3" or "±0" (empty for None)."""
    if points is None:
        return ""
    return "±0" if points == 0 else f"{points:+d}".replace("-", "\u2212")


def points_words(points: int, language: str) -> str:
    """A change of percentage points in words: "+1 prosenttiyksikkö", "−3 percentage points"."""
    return text("point" if abs(points) == 1 else "points", language, delta=signed_points(points))
