"""The review as the board reads it: one offline HTML page, a summary in plain words first.

Everything here works on published figures (:func:`valmius.review.tables.published`): a count under
``report.min_count_shown`` reads ``< N`` and nothing is computed from or shown for its tasks.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import polars as pl

from valmius.labels import count_text, mmss, municipality_name, percent
from valmius.definitions import Definition
from valmius.pages import chart_div, made_text, page_html
from valmius.review.changes import Changes
from valmius.review.labels import text, year_span
from valmius.review.tables import ReviewTables
from valmius.settings import RISK_CLASSES, Settings

TABLE_FILES = ("yearly.csv", "problem_cells.csv", "areas.csv", "coverage.csv", "changes.csv")
_EXTRA_STYLE = """
td.met { background: #e3f1e3; } td.over { font-weight: 700; } td.missed { background: #f8dcd8; } td.few { background: #eeeeee; color: #666; }
ul.summary li { margin-bottom: .45rem; font-size: 1.02rem; } td.num { text-align: right; white-space: nowrap; }
h3 { font-size: 1rem; margin-top: 1.4rem; }
"""


@dataclass
class PageInput:
    settings: Settings
    tables: ReviewTables
    yearly: pl.DataFrame
    """Published yearly figures (suppressed)."""
    cells: pl.DataFrame
    """Published cell-year figures of the problem cells."""
    areas: pl.DataFrame
    """Published areas at the end of the period."""
    changes: Changes
    made_on: date
    synthetic: bool
    specs: dict[str, dict]
    definition: Definition

    @property
    def lang(self) -> str:
        return self.settings.report.language

    @property
    def min_count(self) -> int:
        return self.settings.report.min_count_shown

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _day(value: date | None) -> str:
    return "" if value is None else f"{value.day}.{value.month}.{value.year}"


def _level(p: PageInput) -> str:
    return percent(p.settings.windows.ci_level, p.lang)


def _signed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = math.floor(abs(seconds) + 0.5)  # whole seconds, halves away from zero
    return "±0:00" if whole == 0 else ("+" if seconds > 0 else "\u2212") + mmss(whole)


def _points(share_change: float | None) -> str:
    if share_change is None:
        return ""
    points = round(share_change * 100)
    return "±0" if points == 0 else f"{points:+d}".replace("-", "\u2212")


def _ci(row: dict) -> str:
    return "" if row.get("ci_low_s") is None else f"{mmss(row['ci_low_s'])}–{mmss(row['ci_high_s'])}"


def _row(frame: pl.DataFrame, **keys: object) -> dict | None:
    match = frame.filter(*(pl.col(k) == v for k, v in keys.items()))
    return match.row(0, named=True) if match.height else None


def _classes(p: PageInput) -> list[str]:
    present = set(p.yearly.filter(pl.col("grouping") == "risk_class")["group_key"].to_list())
    return [c for c in RISK_CLASSES if c in present]


def _judged_classes(p: PageInput) -> str:
    return ", ".join(p.settings.flags.risk_classes)


# --- Summary ------------------------------------------------------------------------------------

def _class_sentence(p: PageInput, risk_class: str, year: int) -> str:
    row = _row(p.yearly, grouping="risk_class", group_key=risk_class, year=year)
    if row is None or row["count"] is None:
        return p.t("class_few", year=year, risk_class=risk_class, min_count=p.min_count)
    target, rule = row["target_s"], p.settings.flags.rule
    over = row["median_s"] - target
    verdict = p.t(f"verdict_{'missed' if row['is_over_target'] else 'met'}_{rule}", target=mmss(target),
                  over=mmss(over))
    if row["ci_low_s"] is not None and row["ci_low_s"] <= target < row["ci_high_s"]:
        verdict += " " + p.t("uncertain")
    key = "class_sentence" if row["ci_low_s"] is not None else "class_sentence_no_ci"
    return p.t(key, year=year, risk_class=risk_class, count=count_text(row["count"], p.min_count),
               median=mmss(row["median_s"]), level=_level(p), ci=_ci(row),
               share=percent(row["share_within_target"], p.lang), target=mmss(target), verdict=verdict)


def _others_sentence(p: PageInput, classes: list[str], year: int) -> str:
    """The classes without the headline target, in one sentence."""
    items = []
    for risk_class in classes:
        row = _row(p.yearly, grouping="risk_class", group_key=risk_class, year=year)
        if row is None or row["count"] is None:
            items.append(p.t("other_item_few", risk_class=risk_class, min_count=p.min_count))
        else:
            items.append(p.t("other_item", risk_class=risk_class, median=mmss(row["median_s"]),
                             target=mmss(row["target_s"]), verdict=p.t("missed" if row["is_over_target"] else "met")))
    return p.t("others_sentence", year=year, items="; ".join(items))


def _years_met(p: PageInput, risk_class: str) -> str:
    rows = p.yearly.filter(pl.col("grouping") == "risk_class", pl.col("group_key") == risk_class)
    judged = rows.drop_nulls("is_over_target")
    few = [y for y in p.tables.years if y not in judged["year"].to_list()]
    sentence = p.t("years_met", risk_class=risk_class, met=int((~judged["is_over_target"]).sum()),
                   judged=judged.height, years=year_span(p.tables.first_year, p.tables.last_year))
    return sentence + (p.t("years_few", few=", ".join(map(str, few))) if few else "")


def _change_words(p: PageInput, row: dict | None) -> str | None:
    if row is None or row["median_change_s"] is None or row["share_change"] is None:
        return None
    delta = row["median_change_s"]
    median = (p.t("unchanged") if math.floor(abs(delta) + 0.5) == 0 else
              p.t("slower" if delta > 0 else "faster", delta=_signed(delta)))
    share = (p.t("unchanged") if round(row["share_change"] * 100) == 0 else
             p.t("points", delta=_points(row["share_change"])))
    return p.t("year_on_year", year_before=row["year_before"], median_change=median, share_change=share)


def _national_sentence(p: PageInput, year: int) -> str | None:
    row = _row(p.yearly, grouping="all", year=year)
    if row is None or row["count"] is None:
        return None
    target = row["national_target_s"]
    verdict = (p.t("national_missed", over=mmss(row["mean_s"] - target)) if row["is_over_national_target"]
               else p.t("national_met"))
    return p.t("national_sentence", count=count_text(row["count"], p.min_count), year=year, mean=mmss(row["mean_s"]),
               target=mmss(target), verdict=verdict)


def _areas_sentence(p: PageInput) -> str:
    tables, settings = p.tables, p.settings
    end = _day(date(tables.last_year, 12, 31))
    values = dict(days=settings.windows.trailing_days, end=end, classes=_judged_classes(p))
    cells = int(tables.flags["is_flagged"].sum()) if tables.flags.height else 0
    if not cells:
        return p.t("no_areas", **values)
    certain = int((tables.areas["confidence"] == "certain").sum())
    return p.t("areas_sentence", cells=cells, areas=tables.areas.height, certain=certain, **values)


def _problem_sentence(p: PageInput) -> str:
    tables = p.tables
    cells = tables.problem_cells[p.settings.flags.rule]
    values = dict(classes=_judged_classes(p), years=year_span(tables.first_year, tables.last_year))
    return p.t("problem_sentence", count=len(cells), **values) if cells else p.t("no_problem", **values)


def _rule_sentence(p: PageInput) -> str:
    rule = p.settings.flags.rule
    other = "is_over_share" if rule == "median" else "is_over_median"
    judged = p.yearly.filter(pl.col("grouping") == "risk_class").drop_nulls("is_over_target")
    differ = judged.filter(pl.col("is_over_target") != pl.col(other)).sort("group_key", "year")
    sentence = p.t(f"rule_{rule}") + " "
    if differ.height:
        where = ", ".join(f"{r['group_key']} {r['year']}" for r in differ.iter_rows(named=True))
        sentence += p.t(f"other_rule_differs_{rule}", where=where)
    else:
        sentence += p.t(f"other_rule_same_{rule}")
    other_rule = "share" if rule == "median" else "median"
    if p.tables.problem_cells[other_rule] != p.tables.problem_cells[rule]:
        sentence += " " + p.t("other_rule_problems", count=len(p.tables.problem_cells[other_rule]))
    return sentence


def _previous_sentence(p: PageInput) -> str:
    changes, previous = p.changes, p.changes.previous
    if previous is None:
        return p.t("no_previous", folder=p.settings.paths.reports)
    risk_class = p.settings.flags.risk_classes[0]
    row = _row(changes.headline, grouping="risk_class", group_key=risk_class) or {}
    return p.t("previous_sentence", years=year_span(previous.first_year, previous.last_year), made=_day(previous.made_on),
               risk_class=risk_class, year_before=previous.last_year, year=p.tables.last_year,
               before=mmss(row.get("median_s_before")) or "–", after=mmss(row.get("median_s")) or "–",
               new=len(changes.new_problem_cells), cleared=len(changes.cleared_problem_cells))


def summary_lines(p: PageInput) -> list[str]:
    """The executive summary, sentence by sentence."""
    last = p.tables.last_year
    lines = []
    for risk_class in p.settings.flags.risk_classes:
        lines.append(_class_sentence(p, risk_class, last))
        if p.tables.first_year < last:
            lines.append(_years_met(p, risk_class))
            words = _change_words(p, _row(p.changes.year_on_year, grouping="risk_class", group_key=risk_class))
            if words:
                lines.append(words)
    national = _national_sentence(p, last)
    if national:
        lines.append(national)
    lines += [_areas_sentence(p), _problem_sentence(p)]
    others = [c for c in _classes(p) if c not in p.settings.flags.risk_classes]
    if others:
        lines.append(_others_sentence(p, others, last))
    lines += [_rule_sentence(p), _previous_sentence(p)]
    return lines


# --- Tables -------------------------------------------------------------------------------------

Cell = tuple[str, str]  # text, css class


def _table(headers: list[str], rows: list[list[Cell | str]], title: str | None = None, note: str | None = None,
           level: str = "h3") -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = [c if isinstance(c, tuple) else (c, "") for c in row]
        body.append("<tr>" + "".join(f"<td class='{cls}'>{_e(value)}</td>" if cls else f"<td>{_e(value)}</td>"
                                     for value, cls in cells) + "</tr>")
    heading = f"<{level}>{_e(title)}</{level}>" if title else ""
    caption = f"<p class='note'>{_e(note)}</p>" if note else ""
    return f"{heading}{caption}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _verdict(p: PageInput, over: bool | None) -> Cell:
    if over is None:
        return ("–", "few")
    return (p.t("missed"), "missed") if over else (p.t("met"), "met")


def _classes_table(p: PageInput) -> str:
    rule = p.settings.flags.rule
    headers = [p.t("risk_class"), p.t("year"), p.t("count"), p.t("median"), p.t("ci_level", level=_level(p)),
               p.t("target"), p.t("share"), p.t("mean"),
               p.t("rule_median_col") + (p.t("decides") if rule == "median" else ""),
               p.t("rule_share_col") + (p.t("decides") if rule == "share" else ""), p.t("median_change")]
    rows = []
    frame = p.yearly.filter(pl.col("grouping") == "risk_class")
    for risk_class in _classes(p):
        previous = previous_year = None
        for row in frame.filter(pl.col("group_key") == risk_class).sort("year").iter_rows(named=True):
            follows = previous is not None and row["median_s"] is not None and row["year"] - 1 == previous_year
            change = row["median_s"] - previous if follows else None
            rows.append([risk_class, str(row["year"]), _count(row["count"], p), _verdict_text(row, mmss(row["median_s"]), p),
                         _ci(row), mmss(row["target_s"]), percent(row["share_within_target"], p.lang),
                         mmss(row["mean_s"]), _verdict(p, row["is_over_median"]), _verdict(p, row["is_over_share"]),
                         _signed(change)])
            previous, previous_year = row["median_s"], row["year"]
    note = p.t("classes_note", min_count=p.min_count, rule=p.t(f"rule_{rule}"))
    return _table(headers, rows, note=note)


def _verdict_text(row: dict, value: str, p: PageInput) -> Cell:
    """A figure coloured by the row's verdict under the deciding rule."""
    return (value or "–", _verdict(p, row["is_over_target"])[1])


def _national_table(p: PageInput) -> str:
    headers = [p.t("year"), p.t("count"), p.t("mean"), p.t("median"), p.t("share"), p.t("national_target"),
               p.t("meets_national")]
    rows = []
    for row in p.yearly.filter(pl.col("grouping") == "all").sort("year").iter_rows(named=True):
        rows.append([str(row["year"]), _count(row["count"], p), mmss(row["mean_s"]), mmss(row["median_s"]),
                     percent(row["share_within_target"], p.lang), mmss(row["national_target_s"]),
                     _verdict(p, row["is_over_national_target"])])
    return _table(headers, rows, note=p.t("national_note", target=mmss(p.settings.review.national_mean_target_s)))


def _group_name(grouping: str, key: str) -> str:
    return municipality_name(key) if grouping == "municipality" else key


def _wide_tables(p: PageInput, grouping: str) -> str:
    """One row per municipality or station, one column per year: the judged classes, then all tasks."""
    frame = p.yearly.filter(pl.col("grouping") == grouping)
    years = p.tables.years
    parts = []
    label = p.t("municipality" if grouping == "municipality" else "station")
    for risk_class in [*p.settings.flags.risk_classes, None]:
        part = frame.filter(pl.col("risk_class").is_null() if risk_class is None else pl.col("risk_class") == risk_class)
        keys = sorted(part["group_key"].unique().to_list(), key=lambda k: _group_name(grouping, k))
        rows = []
        for key in keys:
            cells: list[Cell | str] = [_group_name(grouping, key)]
            for year in years:
                row = _row(part, group_key=key, year=year)
                cells.append(_wide_cell(p, row, risk_class is None))
            rows.append(cells)
        note = (p.t("wide_all_note", target=mmss(p.settings.review.national_mean_target_s)) if risk_class is None
                else p.t("wide_class_note", risk_class=risk_class))
        parts.append(_table([label, *map(str, years)], rows, note=note))
    return "".join(parts)


def _wide_cell(p: PageInput, row: dict | None, all_classes: bool) -> Cell:
    if row is None:
        return ("", "")
    if row["count"] is None:
        return (row["count_shown"], "few")
    if all_classes:
        return (f"{mmss(row['mean_s'])} ({count_text(row['count'], p.min_count)})",
                "over" if row["is_over_national_target"] else "")
    share = percent(row["share_within_target"], p.lang)
    return (f"{mmss(row['median_s'])} ({share}; {count_text(row['count'], p.min_count)})",
            _verdict(p, row["is_over_target"])[1])


def _areas_table(p: PageInput) -> str:
    headers = [p.t("area"), p.t("risk_class"), p.t("municipality"), p.t("station"), p.t("cells"), p.t("count"),
               p.t("median"), p.t("ci"), p.t("share"), p.t("confidence"), p.t("main_delay")]
    rows = []
    for row in p.areas.sort("area_id").iter_rows(named=True):
        rows.append([str(row["area_id"]), row["risk_class"], municipality_name(row["municipality_code"]),
                     row["station_id"] or "", str(row["cells"]), _count(row["count"], p), mmss(row["median_s"]), _ci(row),
                     percent(row["share_within_target"], p.lang), p.t(row["confidence"]) if row["confidence"] else "",
                     p.t(row["main_delay"]) if row["main_delay"] else ""])
    end = _day(date(p.tables.last_year, 12, 31))
    return _table(headers, rows, p.t("areas_title", classes=_judged_classes(p)),
                  p.t("areas_note", days=p.settings.windows.trailing_days, end=end), level="h2")


def _problem_table(p: PageInput) -> str:
    years = p.tables.years
    headers = [p.t("cell"), p.t("municipality"), p.t("station"), *map(str, years)]
    rows = []
    for cell_id in p.tables.problem_cells[p.settings.flags.rule]:
        mine = p.cells.filter(pl.col("cell_id") == cell_id)
        first = mine.row(0, named=True)
        cells: list[Cell | str] = [cell_id, municipality_name(first["municipality_code"]), first["station_id"] or ""]
        for year in years:
            row = _row(mine, year=year)
            if row is None or row["count"] is None:
                cells.append((row["count_shown"] if row else "", "few"))
            else:
                cells.append((f"{mmss(row['median_s'])} ({count_text(row['count'], p.min_count)})",
                              _verdict(p, row["is_over_target"])[1]))
        rows.append(cells)
    title = p.t("problem_title", years=year_span(p.tables.first_year, p.tables.last_year))
    table = _table(headers, rows, title, p.t("problem_note", classes=_judged_classes(p), last=p.tables.last_year),
                   level="h2")
    return table or f"<h2>{_e(title)}</h2><p>{_e(_problem_sentence(p))}</p>"


def _change_table(p: PageInput, frame: pl.DataFrame, then: str, now: str, title: str) -> str:
    headers = [p.t("group"), f"{p.t('median')} {then}", f"{p.t('median')} {now}", p.t("median_change"),
               f"{p.t('share')} {then}", f"{p.t('share')} {now}", p.t("share_change"), f"{p.t('mean')} {then}",
               f"{p.t('mean')} {now}", p.t("mean_change")]
    rows = []
    for row in frame.iter_rows(named=True):
        group = p.t("all_tasks") if row["grouping"] == "all" else row["group_key"]
        rows.append([group, mmss(row["median_s_before"]), mmss(row["median_s"]), _signed(row["median_change_s"]),
                     percent(row["share_within_target_before"], p.lang), percent(row["share_within_target"], p.lang),
                     _points(row["share_change"]), mmss(row["mean_s_before"]), mmss(row["mean_s"]),
                     _signed(row["mean_change_s"])])
    return _table(headers, rows, title)


def _changes_section(p: PageInput) -> str:
    changes, tables = p.changes, p.tables
    parts = [f"<h2>{_e(p.t('changes_title'))}</h2>"]
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
                  made=_day(previous.made_on))
    parts.append(f"<h3>{_e(heading)}</h3>")
    columns = ["grouping", "group_key", "median_s_before", "median_s", "share_within_target_before",
               "share_within_target", "mean_s_before", "mean_s"]
    if (previous.last_year == tables.last_year - 1
            and changes.headline.select(columns).equals(changes.year_on_year.select(columns))):
        parts.append(f"<p>{_e(p.t('headline_same', year_before=previous.last_year))}</p>")
    else:
        parts.append(_change_table(p, changes.headline, str(previous.last_year), str(tables.last_year),
                                   p.t("headline_title", year_before=previous.last_year, year=tables.last_year)))
    problem = p.t("problem_changes", new=len(changes.new_problem_cells), cleared=len(changes.cleared_problem_cells),
                  kept=len(changes.kept_problem_cells))
    lists = [f"+ {', '.join(changes.new_problem_cells)}" if changes.new_problem_cells else "",
             f"\u2212 {', '.join(changes.cleared_problem_cells)}" if changes.cleared_problem_cells else ""]
    parts.append(f"<p>{_e(problem)}</p>" + "".join(f"<p class='note'>{_e(x)}</p>" for x in lists if x))
    if changes.settings_changed:
        listed = "; ".join(f"{key}: {before} → {after}" for key, before, after in changes.settings_changed)
        parts.append(f"<p class='warn'>{_e(p.t('settings_changed', changes=listed))}</p>")
    headers = [p.t("group"), p.t("year"), f"{p.t('count')} ({p.t('before').lower()})", f"{p.t('count')} ({p.t('now').lower()})",
               f"{p.t('median')} ({p.t('before').lower()})", f"{p.t('median')} ({p.t('now').lower()})",
               p.t("median_change"), f"{p.t('share')} ({p.t('before').lower()})",
               f"{p.t('share')} ({p.t('now').lower()})", p.t("share_change")]
    rows = []
    for row in changes.since_previous.iter_rows(named=True):
        group = p.t("all_tasks") if row["grouping"] == "all" else row["group_key"]
        rows.append([group, str(row["year"]), _count(row["count_before"], p), _count(row["count"], p),
                     mmss(row["median_s_before"]), mmss(row["median_s"]), _signed(row["median_change_s"]),
                     percent(row["share_within_target_before"], p.lang), percent(row["share_within_target"], p.lang),
                     _points(row["share_change"])])
    parts.append(_table(headers, rows, p.t("revisions_title")))
    return "".join(parts)


def _count(count: int | None, p: PageInput) -> str:
    return f"< {p.min_count}" if count is None else count_text(count, p.min_count)


def _coverage_table(p: PageInput) -> str:
    headers = [p.t("year"), p.t("urgent_tasks"), p.t("measured"), p.t("no_unit_arrived"), p.t("no_counted_unit"),
               p.t("no_alarm_time"), p.t("without_class"), p.t("first_day"), p.t("last_day")]
    rows = []
    for row in p.tables.coverage.iter_rows(named=True):
        counts = [row[c] for c in ("urgent_tasks", "measured", "no_unit_arrived", "no_counted_unit", "no_alarm_time",
                                   "measured_without_risk_class")]
        rows.append([str(row["year"]), *(("0" if c == 0 else _count(c if c >= p.min_count else None, p)) for c in counts),
                     _day(row["first_day"]), _day(row["last_day"])])
    return _table(headers, rows, p.t("coverage_title"), p.t("coverage_note"), level="h2")


# --- The page -----------------------------------------------------------------------------------

def render(p: PageInput) -> str:
    """The whole HTML page."""
    tables, lang, zone = p.tables, p.lang, ZoneInfo(p.settings.time.zone)
    title = p.t("title", years=year_span(tables.first_year, tables.last_year))
    subtitle = p.t("subtitle", start=_day(date(tables.first_year, 1, 1)), end=_day(date(tables.last_year, 12, 31)),
                   made=_day(p.made_on))
    banner = f"<p class='warn'>{_e(p.t('synthetic'))}</p>" if p.synthetic else ""
    summary = "".join(f"<li>{_e(line)}</li>" for line in summary_lines(p))
    method = p.t("method_text", level=_level(p), min_count=p.min_count, days=p.settings.windows.trailing_days)
    files = " · ".join(f"<a href='tables/{name}'>{name}</a>" for name in TABLE_FILES)
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
        f"<section><h2>{_e(p.t('method_title'))}</h2><p>{_e(method)}</p>"
        f"<h2>{_e(p.t('files'))}</h2><p class='files'>{files}</p></section>",
    ]
    made = made_text(lang, zone, p.definition)
    return page_html(lang, title, subtitle, banner, sections, p.specs, made, extra_style=_EXTRA_STYLE)
