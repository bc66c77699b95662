"""Words of the service-level review in Finnish and English; other labels come from :mod:`valmius.labels`."""

from __future__ import annotations

from valmius.labels import TEXTS as REPORT_TEXTS

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Finnish, English)
    "title": ("Palvelutasopäätöksen seuranta {years}", "Service-level decision review {years}"),
    "subtitle": ("Kiireelliset pelastustehtävät {start}–{end}. Laadittu {made}.",
                 "Urgent rescue tasks {start}–{end}. Made {made}."),
    "summary": ("Tiivistelmä", "Summary"),
    "class_sentence": (
        "Vuonna {year} riskiluokassa {risk_class} oli {count} mitattua kiireellistä tehtävää; toimintavalmiusajan "
        "mediaani oli {median} ({level}:n luottamusväli {ci}) ja {share} tehtävistä oli tavoiteajassa {target}. "
        "{verdict}",
        "In {year}, class {risk_class} had {count} measured urgent tasks, reached in a median of {median} "
        "({level} CI {ci}); {share} were within the target of {target}. {verdict}"),
    "class_sentence_no_ci": (
        "Vuonna {year} riskiluokassa {risk_class} oli {count} mitattua kiireellistä tehtävää; toimintavalmiusajan "
        "mediaani oli {median} (tehtäviä liian vähän luottamusväliin) ja {share} tehtävistä oli tavoiteajassa "
        "{target}. {verdict}",
        "In {year}, class {risk_class} had {count} measured urgent tasks, reached in a median of {median} (too few "
        "tasks for a confidence interval); {share} were within the target of {target}. {verdict}"),
    "others_sentence": ("Muut riskiluokat vuonna {year}: {items}.", "Other risk classes in {year}: {items}."),
    "other_item": ("{risk_class} mediaani {median} (tavoite {target}) {verdict}",
                   "{risk_class} median {median} (target {target}) {verdict}"),
    "other_item_few": ("{risk_class} alle {min_count} tehtävää", "{risk_class} fewer than {min_count} tasks"),
    "class_few": ("Vuonna {year} riskiluokassa {risk_class} oli alle {min_count} mitattua kiireellistä tehtävää; "
                  "lukuja ei esitetä.",
                  "In {year}, class {risk_class} had fewer than {min_count} measured urgent tasks; no figures are shown."),
    "verdict_met_median": ("Tavoite (mediaani enintään {target}) saavutettiin.", "Target (median at most {target}) met."),
    "verdict_missed_median": ("Tavoite (mediaani enintään {target}) jäi saavuttamatta; ylitys {over}.",
                              "Target (median at most {target}) missed, by {over}."),
    "verdict_met_share": ("Tavoite (vähintään 50 % tehtävistä ajassa {target}) saavutettiin.",
                          "Target (at least 50 % within {target}) met."),
    "verdict_missed_share": ("Tavoite (vähintään 50 % tehtävistä ajassa {target}) jäi saavuttamatta.",
                             "Target (at least 50 % within {target}) missed."),
    "uncertain": ("Luottamusväli ulottuu tavoiteajan molemmin puolin, joten tulos ei ole varma.",
                  "The interval reaches both sides of the target, so the result is not certain."),
    "years_met": ("Riskiluokan {risk_class} tavoite saavutettiin {met}/{judged} vuotena {years}.",
                  "The class {risk_class} target was met in {met} of {judged} years {years}."),
    "years_few": (" Vuosia, joina tehtäviä oli liian vähän arvioitavaksi: {few}.",
                  " Years with too few tasks to judge: {few}."),
    "year_on_year": ("Edellisvuoteen {year_before} verrattuna: mediaani {median_change}, tavoiteajassa {share_change}.",
                     "Compared with {year_before}: median {median_change}, within target {share_change}."),
    "slower": ("{delta} (hitaampi)", "{delta} (slower)"),
    "faster": ("{delta} (nopeampi)", "{delta} (faster)"),
    "unchanged": ("ennallaan", "unchanged"),
    "points": ("{delta} prosenttiyksikköä", "{delta} percentage points"),
    "national_sentence": (
        "Kaikkien {count} mitatun kiireellisen tehtävän toimintavalmiusajan keskiarvo vuonna {year} oli {mean}; "
        "valtakunnallinen tavoite on enintään {target}: {verdict}.",
        "All {count} measured urgent tasks in {year} averaged {mean} against the national target of at most "
        "{target}: {verdict}."),
    "national_met": ("saavutettiin", "met"),
    "national_missed": ("jäi saavuttamatta, ylitys {over}", "missed by {over}"),
    "areas_sentence": (
        "Kauden lopussa ({days} vrk, päättyen {end}) tavoiteajan ylittäneitä riskiluokan {classes} ruutuja: {cells} "
        "({areas} aluetta); alueista varmasti yli tavoitteen (koko luottamusväli yli): {certain}.",
        "At the end of the period (the {days} days to {end}), class {classes} cells over target: {cells} ({areas} "
        "areas); areas over for certain (the whole interval above the target): {certain}."),
    "no_areas": ("Kauden lopussa ({days} vrk, päättyen {end}) yksikään riskiluokan {classes} ruutu ei ylittänyt "
                 "tavoiteaikaa.",
                 "At the end of the period (the {days} days to {end}), no class {classes} cell was over target."),
    "problem_sentence": (
        "Riskiluokan {classes} ongelmaruutuja (yli tavoiteajan jokaisena vuonna {years}): {count}.",
        "Class {classes} problem cells (over target in every year {years}): {count}."),
    "no_problem": ("Yksikään riskiluokan {classes} ruutu ei ylittänyt tavoiteaikaa jokaisena vuonna {years}.",
                   "No class {classes} cell missed the target in every year {years}."),
    "rule_median": ("Tavoitteen saavuttaminen ratkaistaan mediaanisäännöllä (mediaani enintään tavoiteaika, "
                    "strategian sääntö).",
                    "Compliance is decided by the median rule (median at most the target, the strategy's rule)."),
    "rule_share": ("Tavoitteen saavuttaminen ratkaistaan osuussäännöllä (vähintään 50 % tehtävistä tavoiteajassa).",
                   "Compliance is decided by the share rule (at least 50 % of tasks within the target)."),
    "other_rule_same_median": ("Osuussääntö (vähintään 50 % tavoiteajassa) antaa saman tuloksen kaikissa "
                               "riskiluokissa ja vuosissa.",
                               "The share rule (at least 50 % within target) gives the same result for every class "
                               "and year."),
    "other_rule_same_share": ("Mediaanisääntö (mediaani enintään tavoiteaika) antaa saman tuloksen kaikissa "
                              "riskiluokissa ja vuosissa.",
                              "The median rule (median at most the target) gives the same result for every class "
                              "and year."),
    "other_rule_differs_median": ("Osuussääntö (vähintään 50 % tavoiteajassa) antaisi eri tuloksen: {where}.",
                                  "The share rule (at least 50 % within target) would differ in: {where}."),
    "other_rule_differs_share": ("Mediaanisääntö (mediaani enintään tavoiteaika) antaisi eri tuloksen: {where}.",
                                 "The median rule (median at most the target) would differ in: {where}."),
    "other_rule_problems": ("Toisella säännöllä ongelmaruutuja olisi {count}.",
                            "By the other rule there would be {count} problem cells."),
    "previous_sentence": (
        "Edellinen seuranta ({years}, laadittu {made}): riskiluokan {risk_class} mediaani vuonna {year_before} "
        "oli {before}, nyt vuonna {year} {after}. Ongelmaruudut: uusia {new}, poistuneita {cleared}.",
        "Previous review ({years}, made {made}): class {risk_class} median {before} in {year_before}, now "
        "{after} in {year}. Problem cells: {new} new, {cleared} no longer."),
    "no_previous": ("Aiempaa seurantaa ei löytynyt kansiosta {folder}; muutokset edelliseen seurantaan näytetään "
                    "seuraavasta seurannasta alkaen.",
                    "No earlier review was found in {folder}; changes since the previous review will be shown from "
                    "the next review on."),
    "classes_title": ("Riskiluokat vuosittain", "Risk classes year by year"),
    "classes_note": ("Vihreä: tavoite saavutettu; punainen: jäi saavuttamatta; harmaa: alle {min_count} tehtävää, "
                     "lukuja ei esitetä. {rule}",
                     "Green: target met; red: missed; grey: fewer than {min_count} tasks, no figures shown. {rule}"),
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
                   "The {days} days to {end}. An area is touching cells over target."),
    "problem_title": ("Ongelmaruudut: yli tavoiteajan jokaisena vuonna {years}",
                      "Problem cells: over target in every year {years}"),
    "problem_note": ("Riskiluokan {classes} ruudut vuoden {last} riskiruudukossa. Kunkin vuoden tehtäviä verrataan "
                     "sen vuoden riskiluokan tavoiteaikaan. Solussa: mediaani (tehtäviä).",
                     "Class {classes} cells of the {last} risk grid. Each year's tasks are judged against the target "
                     "of that year's class. In each cell: median (tasks)."),
    "municipality_title": ("Kunnittain", "By municipality"),
    "station_title": ("Asemittain", "By station"),
    "station_note": ("Asema = ensimmäisenä kohteeseen saapuneen yksikön asema.",
                     "Station = the station of the first unit on scene."),
    "wide_class_note": ("Riskiluokka {risk_class}: mediaani (osuus tavoiteajassa; tehtäviä).",
                        "Class {risk_class}: median (share within target; tasks)."),
    "wide_all_note": ("Kaikki kiireelliset tehtävät: keskiarvo (tehtäviä). Lihavoitu: yli valtakunnallisen "
                      "keskiarvotavoitteen {target}, joka koskee koko aluetta, ei yksittäistä kuntaa tai asemaa.",
                      "All urgent tasks: mean (tasks). Bold: over the national average target of {target}, which "
                      "applies to the whole department, not to one municipality or station."),
    "changes_title": ("Mikä muuttui", "What changed"),
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
    "settings_changed": ("Asetukset muuttuneet edellisestä seurannasta: {changes}.",
                         "Settings changed since the previous review: {changes}."),
    "single_year": ("Seurantakaudessa on vain yksi vuosi.", "The review period has only one year."),
    "coverage_title": ("Aineisto", "Data"),
    "coverage_note": ("Kiireelliset tehtävät (laskettavat tehtävätyypit) vuosittain; mittaamatta jääneet syineen.",
                      "Urgent tasks (counted task types) by year; those not measured with the reason."),
    "method_title": ("Menetelmä", "Method"),
    "method_text": (
        "Toimintavalmiusaika lasketaan yksikön hälytyksestä ensimmäisen yksikön kohteelle saapumiseen. Vuodet ovat "
        "kalenterivuosia paikallista aikaa. Riskiluokka on tehtäväpaikan ruudun luokka tehtävävuoden "
        "riskiruudukossa. Parillisen määrän mediaani on kahden keskimmäisen keskiarvo; tavoiteajassa tarkalleen "
        "oleva tehtävä on tavoiteajassa. Mediaanin {level} luottamusväli on jakaumasta riippumaton "
        "(järjestystunnusluvut). Alle {min_count} tehtävän lukuja ei esitetä, jotta yksittäistä tehtävää ei voi "
        "tunnistaa. Kauden lopun alueet arvioidaan {days} vrk:n liukuvalla jaksolla kuten yöllisessä raportissa.",
        "Response time runs from the unit's alarm to the first unit on scene. Years are local calendar years. "
        "The risk class is that of the task's cell in the risk grid of the task's year. The median of an even "
        "count is the mean of the two middle values; a task exactly on target is within it. The median's {level} "
        "confidence interval is distribution-free (order statistics). Figures of fewer than {min_count} tasks are "
        "not shown, so that no single task can be picked out. The areas at the end of the period are judged on the "
        "trailing {days}-day window, as in the nightly report."),
    "files": ("Taulukot ja kuvat", "Tables and charts"),
    "median_title": ("Mediaani riskiluokittain vuosittain ({level}:n luottamusväli); katkoviiva = tavoite",
                     "Median by risk class and year ({level} confidence interval); dashed = target"),
    "share_title": ("Osuus tehtävistä tavoiteajassa riskiluokittain; katkoviiva = 50 %",
                    "Share of tasks within target by risk class; dashed = 50 %"),
    "mean_title": ("Kaikkien kiireellisten tehtävien keskiarvo ja valtakunnallinen tavoite {target}",
                   "Mean of all urgent tasks against the national target of {target}"),
    "mean_axis": ("Keskiarvo (min:s)", "Mean (m:ss)"),
    "national_target_short": ("tavoite {target}", "target {target}"),
    "year": ("Vuosi", "Year"),
    "mean": ("Keskiarvo", "Mean"),
    "all_tasks": ("kaikki", "all"),
    "national_target": ("Valtakunnallinen tavoite", "National target"),
    "meets_national": ("Keskiarvotavoite", "Average target"),
    "rule_median_col": ("Mediaani ≤ tavoite", "Median ≤ target"),
    "rule_share_col": ("≥ 50 % tavoiteajassa", "≥ 50 % within target"),
    "decides": (" (ratkaisee)", " (decides)"),
    "met": ("saavutettu", "met"),
    "missed": ("ei saavutettu", "missed"),
    "median_change": ("Mediaanin muutos", "Median change"),
    "share_change": ("Osuuden muutos (%-yks.)", "Share change (points)"),
    "mean_change": ("Keskiarvon muutos", "Mean change"),
    "before": ("Silloin", "Then"),
    "now": ("Nyt", "Now"),
    "group": ("Ryhmä", "Group"),
    "urgent_tasks": ("Kiireellisiä tehtäviä", "Urgent tasks"),
    "measured": ("Mitattu", "Measured"),
    "no_unit_arrived": ("Yksikkö ei saapunut", "No unit arrived"),
    "no_counted_unit": ("Ei laskettavaa yksikköä", "No counted unit"),
    "no_alarm_time": ("Hälytysaika puuttuu", "No alarm time"),
    "without_class": ("Mitattu, ei riskiluokkaa", "Measured, no risk class"),
    "first_day": ("Ensimmäinen päivä", "First day"),
    "last_day": ("Viimeinen päivä", "Last day"),
    "ci_level": ("{level}:n luottamusväli", "{level} CI"),
    "median_years": ("Mediaani {year}", "Median {year}"),
}


def text(key: str, language: str, **values: object) -> str:
    """The label ``key`` in ``language`` ("fi" or "en") with ``values`` filled in: the review's own
    words first, then the report's (:data:`valmius.labels.TEXTS`)."""
    finnish, english = TEXTS[key] if key in TEXTS else REPORT_TEXTS[key]
    return (finnish if language == "fi" else english).format(**values)


def year_span(first: int, last: int) -> str:
    """A review's years as the text says them: "2022–2025", or "2025" for one year."""
    return str(first) if first == last else f"{first}–{last}"
