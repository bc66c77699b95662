"""The review as the board reads it: one offline HTML page, the summary (:mod:`valmius.review.summary`)
first, then the tables, charts, changes, data and method.

Everything here works on published figures (:func:`valmius.review.tables.published`): a count under
``report.min_count_shown`` reads ``< N`` and nothing is computed from or shown for its tasks. Tables
scroll sideways inside the page on a narrow screen; the page itself stays within it.
"""

from __future__ import annotations

import html
from datetime import date
from importlib.metadata import version
from zoneinfo import ZoneInfo

import polars as pl

from valmius.labels import count_text, day_text, mmss, municipality_name, percent
from valmius.pages import chart_div, page_html
from valmius.review.changes import CellChange
from valmius.review.content import (PageInput, ci_text, classes_present, is_reference, judged_classes, level,
                                    previous_made, row)
from valmius.review.labels import (QUARANTINE_WORDS, change_points, change_s, signed_points, signed_s,
                                   year_span)
from valmius.review.summary import problem_sentence, summary_lines
from valmius.review.tables import COVERAGE_COUNTS
from valmius.scorecards import DEFECT_REASONS

TABLE_FILES = ("yearly.csv", "cell_years.csv", "problem_cells.csv", "areas.csv", "coverage.csv", "changes.csv",
               "columns.csv")
_EXTRA_STYLE = """
td.met { background: #e3f1e3; } td.over { font-weight: 700; } td.missed { background: #f8dcd8; } td.few { background: #eeeeee; color: #666; }
td.ref { background: #eef2f7; }
ul.summary li { margin-bottom: .45rem; font-size: 1.02rem; } td.num { text-align: right; white-space: nowrap; }
h3 { font-size: 1rem; margin-top: 1.4rem; }
div.scroll { overflow-x: auto; max-width: 100%; }
"""

Cell = tuple[str, str]  # text, css class


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[Cell | str]], title: str | None = None, note: str | None = None,
           level: str = "h3") -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for cells in rows:
        pairs = [c if isinstance(c, tuple) else (c, "") for c in cells]
        body.append("<tr>" + "".join(f"<td class='{cls}'>{_e(value)}</td>" if cls else f"<td>{_e(value)}</td>"
                                     for value, cls in pairs) + "</tr>")
    heading = f"<{level}>{_e(title)}</{level}>" if title else ""
    caption = f"<p class='note'>{_e(note)}</p>" if note else ""
    return (f"{heading}{caption}<div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _few(p: PageInput, words: str) -> str:
    return f"{words} · {p.t('few_mark')}"


def _verdict(p: PageInput, over: bool | None, risk_class: str | None, count: int | None) -> Cell:
    """A verdict cell: met or missed, grey and marked under ``flags.min_tasks`` tasks; class IV's
    reference limit is neither."""
    if over is None:
        return ("–", "few")
    if is_reference(risk_class):
        return (p.t("above_reference" if over else "below_reference"), "ref")
    words = p.t("missed" if over else "met")
    if p.few(count):
        return (_few(p, words), "few")
    return (words, "missed" if over else "met")


def _target(p: PageInput, risk_class: str | None, target_s: int | None) -> str:
    return p.t("reference_target", target=mmss(target_s)) if is_reference(risk_class) else mmss(target_s)


def _classes_table(p: PageInput) -> str:
    rule = p.settings.flags.rule
    headers = [p.t("risk_class"), p.t("year"), p.t("count"), p.t("median"), p.t("ci_level", level=level(p)),
               p.t("target"), p.t("share"), p.t("mean"),
               p.t("rule_median_col") + (p.t("decides") if rule == "median" else ""),
               p.t("rule_share_col") + (p.t("decides") if rule == "share" else ""), p.t("median_change")]
    rows = []
    frame = p.yearly.filter(pl.col("grouping") == "risk_class")
    for risk_class in classes_present(p):
        previous = None
        for figures in frame.filter(pl.col("group_key") == risk_class).sort("year").iter_rows(named=True):
            follows = previous is not None and previous["year"] == figures["year"] - 1
            deciding = _verdict(p, figures["is_over_target"], risk_class, figures["count"])
            rows.append([risk_class, str(figures["year"]), count_text(figures["count"], p.min_count),
                         (mmss(figures["median_s"]) or "–", deciding[1]), ci_text(figures),
                         _target(p, risk_class, figures["target_s"]), percent(figures["share_within_target"], p.lang),
                         mmss(figures["mean_s"]),
                         _verdict(p, figures["is_over_median"], risk_class, figures["count"]),
                         _verdict(p, figures["is_over_share"], risk_class, figures["count"]),
                         signed_s(change_s(previous["median_s"], figures["median_s"])) if follows else ""])
            previous = figures
    note = p.t("classes_note", **p.tasks_under(),
               reference=mmss(p.settings.targets_s.get("IV")), rule=p.t(f"rule_{rule}"))
    return _table(headers, rows, note=note)


def _national_table(p: PageInput) -> str:
    headers = [p.t("year"), p.t("count"), p.t("mean"), p.t("median"), p.t("share"), p.t("national_target"),
               p.t("meets_national")]
    rows = []
    for figures in p.yearly.filter(pl.col("grouping") == "all").sort("year").iter_rows(named=True):
        rows.append([str(figures["year"]), count_text(figures["count"], p.min_count), mmss(figures["mean_s"]),
                     mmss(figures["median_s"]), percent(figures["share_within_target"], p.lang),
                     mmss(figures["national_target_s"]),
                     _verdict(p, figures["is_over_national_target"], None, figures["count"])])
    return _table(headers, rows, note=p.t("national_note", target=mmss(p.settings.review.national_mean_target_s)))


def _group_name(grouping: str, key: str) -> str:
    return municipality_name(key) if grouping == "municipality" else key


def _wide_tables(p: PageInput, grouping: str) -> str:
    """One row per municipality or station, one column per year: the judged classes, then all tasks."""
    frame = p.yearly.filter(pl.col("grouping") == grouping)
    parts = []
    label = p.t("municipality" if grouping == "municipality" else "station")
    for risk_class in [*p.settings.flags.risk_classes, None]:
        part = frame.filter(pl.col("risk_class").is_null() if risk_class is None else pl.col("risk_class") == risk_class)
        keys = sorted(part["group_key"].unique().to_list(), key=lambda k: _group_name(grouping, k))
        rows = [[_group_name(grouping, key), *(_wide_cell(p, row(part, group_key=key, year=year), risk_class)
                                               for year in p.tables.years)] for key in keys]
        note = (p.t("wide_all_note", target=mmss(p.settings.review.national_mean_target_s), **p.tasks_under())
                if risk_class is None else p.t("wide_class_note", risk_class=risk_class, **p.tasks_under()))
        parts.append(_table([label, *map(str, p.tables.years)], rows, note=note))
    return "".join(parts)


def _wide_cell(p: PageInput, figures: dict | None, risk_class: str | None) -> Cell:
    """A group's year: too few tasks are grey and marked, never coloured as missed."""
    if figures is None:
        return ("", "")
    if figures["count"] is None:
        return (figures["count_shown"], "few")
    if risk_class is None:
        words = f"{mmss(figures['mean_s'])} ({count_text(figures['count'], p.min_count)})"
        over = "over" if figures["is_over_national_target"] else ""
    else:
        share = percent(figures["share_within_target"], p.lang)
        words = f"{mmss(figures['median_s'])} ({share}; {count_text(figures['count'], p.min_count)})"
        over = _verdict(p, figures["is_over_target"], risk_class, figures["count"])[1]
    return (_few(p, words), "few") if p.few(figures["count"]) else (words, over)


def _areas_table(p: PageInput) -> str:
    headers = [p.t("area"), p.t("risk_class"), p.t("municipality"), p.t("station"), p.t("cells"), p.t("count"),
               p.t("median"), p.t("ci"), p.t("share"), p.t("confidence"), p.t("main_delay")]
    rows = []
    for area in p.areas.sort("area_id").iter_rows(named=True):
        rows.append([str(area["area_id"]), area["risk_class"], municipality_name(area["municipality_code"]),
                     area["station_id"] or "", str(area["cells"]), count_text(area["count"], p.min_count),
                     mmss(area["median_s"]), ci_text(area), percent(area["share_within_target"], p.lang),
                     p.t(area["confidence"]) if area["confidence"] else "",
                     p.t(area["main_delay"]) if area["main_delay"] else ""])
    end = day_text(date(p.tables.last_year, 12, 31))
    return _table(headers, rows, p.t("areas_title", classes=judged_classes(p)),
                  p.t("areas_note", days=p.settings.windows.trailing_days,
                      window=p.counted("n_days", p.settings.windows.trailing_days), end=end), level="h2")


def _problem_table(p: PageInput) -> str:
    years = p.tables.years
    headers = [p.t("cell"), p.t("municipality"), p.t("station"), *map(str, years)]
    rows = []
    for cell_id in p.tables.problem_cells[p.settings.flags.rule]:
        mine = p.cells.filter(pl.col("cell_id") == cell_id)
        first = mine.row(0, named=True)
        cells: list[Cell | str] = [cell_id, municipality_name(first["municipality_code"]), first["station_id"] or ""]
        for year in years:
            figures = row(mine, year=year)
            if figures is None:
                cells.append(("", "few"))
            elif figures["count"] is None:
                cells.append((_few(p, figures["count_shown"]), "few"))
            else:
                words = f"{mmss(figures['median_s'])} ({count_text(figures['count'], p.min_count)})"
                css = "missed" if figures["is_over_target"] else "met"
                cells.append((_few(p, words) if p.few(figures["count"]) else words, css))
        rows.append(cells)
    title = p.t("problem_title", years=year_span(p.tables.first_year, p.tables.last_year))
    note = p.t("problem_note", classes=judged_classes(p), last=p.tables.last_year, **p.tasks_under())
    table = _table(headers, rows, title, f"{problem_sentence(p)} {note}", level="h2")
    return table or f"<h2>{_e(title)}</h2><p>{_e(problem_sentence(p))}</p>"


def _change_table(p: PageInput, frame: pl.DataFrame, then: str, now: str, title: str) -> str:
    """Then and now side by side, with the changes of the figures as shown."""
    headers = [p.t("group")]
    for what in ("median", "share", "mean"):
        headers += [f"{p.t(what)} {then}", f"{p.t(what)} {now}", p.t(f"{what}_change")]
    rows = []
    for figures in frame.iter_rows(named=True):
        group = p.t("all_tasks") if figures["grouping"] == "all" else figures["group_key"]
        rows.append([group, *_then_now(p, figures, ("median", "share", "mean"))])
    return _table(headers, rows, title)


def _then_now(p: PageInput, figures: dict, what: tuple[str, ...]) -> list[str]:
    """Each figure before and after, and its change as shown."""
    cells = []
    for name in what:
        if name == "share":
            before, after = figures["share_within_target_before"], figures["share_within_target"]
            cells += [percent(before, p.lang), percent(after, p.lang), signed_points(change_points(before, after))]
        else:
            before, after = figures[f"{name}_s_before"], figures[f"{name}_s"]
            cells += [mmss(before), mmss(after), signed_s(change_s(before, after))]
    return cells


def _cell_change(p: PageInput, change: CellChange, key: str) -> str:
    def verdict(value: str) -> str:
        return p.t(f"verdict_{value}", tasks=p.counted("n_tasks", p.min_count))

    years = "; ".join(p.t("problem_change_year", year=year, then=verdict(then), now=verdict(now))
                      for year, then, now in change.years)
    return p.t(key, cell=change.cell_id, years=years or p.t("problem_change_none"))


def _changes_section(p: PageInput) -> str:
    changes, tables = p.changes, p.tables
    parts = [f"<h2>{_e(p.t('changes_title'))}</h2><p class='note'>{_e(p.t('changes_note'))}</p>"]
    if tables.first_year < tables.last_year:
        year_before, year = tables.last_year - 1, tables.last_year
        parts.append(_change_table(p, changes.year_on_year, str(year_before), str(year),
                                   p.t("since_year_title", year_before=year_before, year=year)))
    else:
        parts.append(f"<p>{_e(p.t('single_year'))}</p>")
    previous = changes.previous
    if previous is None:
        parts.append(f"<p>{_e(p.t('no_previous', folder=p.settings.paths.reports))}</p>")
        return "".join(parts)
    heading = p.t("since_previous_title", years=year_span(previous.first_year, previous.last_year),
                  made=previous_made(p))
    parts.append(f"<h3>{_e(heading)}</h3>")
    if changes.settings_changed:
        listed = "; ".join(f"{key}: {before} → {after}" for key, before, after in changes.settings_changed)
        parts.append(f"<p class='warn'>{_e(p.t('settings_changed', changes=listed))}</p>")
    compared = ["grouping", "group_key", "median_s_before", "median_s", "share_within_target_before",
                "share_within_target", "mean_s_before", "mean_s"]
    if (previous.last_year == tables.last_year - 1
            and changes.headline.select(compared).equals(changes.year_on_year.select(compared))):
        parts.append(f"<p>{_e(p.t('headline_same', year_before=previous.last_year))}</p>")
    else:
        then, now = (f"{previous.last_year} ({p.t('then')})", f"{tables.last_year} ({p.t('now')})")
        parts.append(_change_table(p, changes.headline, then, now,
                                   p.t("headline_title", year_before=previous.last_year, year=tables.last_year)))
    problem = p.t("problem_changes", new=len(changes.new_problem_cells), cleared=len(changes.cleared_problem_cells),
                  kept=len(changes.kept_problem_cells))
    listed = [_cell_change(p, c, "problem_change_new") for c in changes.new_problem_cells]
    listed += [_cell_change(p, c, "problem_change_cleared") for c in changes.cleared_problem_cells]
    parts.append(f"<p>{_e(problem)}</p>" + "".join(f"<p class='note'>{_e(x)}</p>" for x in listed))
    then, now = f"({p.t('then')})", f"({p.t('now')})"
    headers = [p.t("group"), p.t("year"), f"{p.t('count')} {then}", f"{p.t('count')} {now}"]
    for what in ("median", "share", "mean"):
        headers += [f"{p.t(what)} {then}", f"{p.t(what)} {now}", p.t(f"{what}_change")]
    rows = []
    for figures in changes.since_previous.iter_rows(named=True):
        group = p.t("all_tasks") if figures["grouping"] == "all" else figures["group_key"]
        rows.append([group, str(figures["year"]), _count_in(p, figures, "_before"), _count_in(p, figures, ""),
                     *_then_now(p, figures, ("median", "share", "mean"))])
    parts.append(_table(headers, rows, p.t("revisions_title")))
    return "".join(parts)


def _count_in(p: PageInput, figures: dict, review: str) -> str:
    """The count of one review (``review``: the suffix of its columns) as that review showed it, or
    "–" where it had no such row (a class without tasks that year then): "< N" would say it had some."""
    if figures[f"count_shown{review}"] is None:
        return "–"
    return count_text(figures[f"count{review}"], p.min_count)


def _coverage_table(p: PageInput) -> str:
    task_counts = COVERAGE_COUNTS[:6]
    headers = [p.t("year"), p.t("urgent_tasks"), p.t("measured"), p.t("no_unit_arrived"), p.t("no_counted_unit"),
               p.t("no_alarm_time"), p.t("without_class"), p.t("quarantined"), p.t("quarantine_reasons"),
               p.t("first_day"), p.t("last_day")]

    def shown(count: int | None) -> str:
        return "" if count is None else count_text(count, p.min_count)

    rows = []
    for figures in p.tables.coverage.iter_rows(named=True):
        reasons = ", ".join(f"{QUARANTINE_WORDS[code][0 if p.lang == 'fi' else 1]} "
                            f"{shown(figures[f'quarantined_{code}_rows'])}"
                            for code in DEFECT_REASONS if figures[f"quarantined_{code}_rows"])
        year = p.t("year_unknown") if figures["year"] is None else str(figures["year"])
        rows.append([year, *(shown(figures[c]) for c in task_counts), shown(figures["quarantined_rows"]),
                     reasons or "–", day_text(figures["first_day"]), day_text(figures["last_day"])])
    note = f"{p.t('coverage_note')} {p.t('quarantine_note')}"
    return _table(headers, rows, p.t("coverage_title"), note, level="h2")


def _method(p: PageInput) -> str:
    counted = p.tables.counted

    def listed(values: list[str]) -> str:
        return ", ".join(values) or p.t("none_listed")

    others = counted["other_urgency_classes"]
    unit_types = counted["unit_types"]
    counting = p.t(
        "counted_text", urgent=listed(counted["urgent_classes"]),
        source=p.t(f"counted_source_{counted['urgent_classes_from']}", formats=", ".join(counted["formats"])),
        others=p.t("counted_others", classes=", ".join(others)) if others else "",
        units=(p.t("counted_all_units", types=listed(unit_types)) if not p.settings.counting.unit_types
               else listed(unit_types)),
        not_units=(p.t("counted_not_units", types=", ".join(counted["unit_types_not_counted"]))
                   if counted["unit_types_not_counted"] else ""),
        tasks=listed(counted["task_types"]) if counted["task_types"] else p.t("counted_all_tasks"))
    method = p.t("method_text", level=level(p), min_count=p.min_count, min_tasks=p.min_tasks, **p.tasks_under(),
                 days=p.settings.windows.trailing_days)
    measured_as = p.t("measured_as", label=p.measured_as.label) if p.measured_as else ""
    files = " · ".join(f"<a href='tables/{name}'>{name}</a>" for name in TABLE_FILES)
    return (f"<section><h2>{_e(p.t('method_title'))}</h2><p>{_e(method)}</p><p>{_e(counting)}</p>"
            + (f"<p>{_e(measured_as)}</p>" if measured_as else "")
            + f"<h2>{_e(p.t('files'))}</h2><p class='files'>{files}</p></section>")


def _period(p: PageInput) -> str:
    """The period line: the years, the part of them the lake's measured data covers when not all, the day made."""
    tables = p.tables
    start, end = date(tables.first_year, 1, 1), date(tables.last_year, 12, 31)
    first, last = max(tables.measured_span[0], start), min(tables.measured_span[1], end)
    partial = p.t("subtitle_partial", first=day_text(first), last=day_text(last)) if (first, last) != (start, end) else ""
    return p.t("subtitle", start=day_text(start), end=day_text(end), partial=partial, made=day_text(p.made_on))


def render(p: PageInput) -> str:
    """The whole HTML page."""
    tables = p.tables
    title = p.t("title", years=year_span(tables.first_year, tables.last_year))
    banner = f"<p class='warn'>{_e(p.t('synthetic'))}</p>" if p.synthetic else ""
    summary = "".join(f"<li>{_e(line)}</li>" for line in summary_lines(p))
    station_note = f"<p class='note'>{_e(p.t('station_note'))}</p>"
    sections = [
        f"<section><h2>{_e(p.t('summary'))}</h2><ul class='summary'>{summary}</ul></section>",
        f"<section><h2>{_e(p.t('classes_title'))}</h2>{_classes_table(p)}</section>",
        chart_div("median", p.specs), chart_div("share", p.specs),
        f"<section><h2>{_e(p.t('national_title'))}</h2>{_national_table(p)}</section>", chart_div("mean", p.specs),
        f"<section>{_areas_table(p)}</section>", f"<section>{_problem_table(p)}</section>",
        f"<section><h2>{_e(p.t('municipality_title'))}</h2>{_wide_tables(p, 'municipality')}</section>",
        f"<section><h2>{_e(p.t('station_title'))}</h2>{station_note}{_wide_tables(p, 'station')}</section>",
        f"<section>{_changes_section(p)}</section>",
        f"<section>{_coverage_table(p)}</section>",
        _method(p),
    ]
    made_at = p.made_at.astimezone(ZoneInfo(p.settings.time.zone))
    made = " ".join([p.t("made_line", when=f"{day_text(made_at.date())} {made_at:%H:%M}", version=version("valmius")),
                     p.t("definition", label=p.definition.label) + "."])
    return page_html(p.lang, title, _period(p), banner, sections, p.specs, made, extra_style=_EXTRA_STYLE)
