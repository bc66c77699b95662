"""The review's trend charts (Altair): published yearly figures in, charts out, no I/O.

Frames come already suppressed (no figure of fewer than ``report.min_count_shown`` tasks) with
times in seconds (``*_s``); they are plotted in minutes so that ticks fall on whole minutes,
labelled ``m:ss``. Years are ordinal, one mark per year.

- Time axes start at zero, each panel of the median chart up to its class's target (or its highest
  interval), so that a change of a few seconds looks as small as it is; every time and share axis
  is labelled at both ends (the scale is rounded to the axis's own ticks: rounded to finer steps
  than the ticks, a panel could end below its lowest label).
- Numbers read as on the page: ``m:ss``, and shares as ``80 %`` in Finnish (``80%`` in English).
- What a screen reader says is written in the page's language: each chart's description (its
  title and axes) and each point's or bar's (Vega would otherwise read out the internal field
  names, and it describes axes and legends only in English, so those are hidden from it).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from valmius.charts import CLASS_COLOURS, with_minutes
from valmius.labels import AXIS_MMSS, axis_percent, count_text_expr, counted_expr, mmss, mmss_expr, percent
from valmius.review.labels import text, year_span

_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
_CLASS_SCALE = alt.Scale(domain=list(CLASS_COLOURS), range=list(CLASS_COLOURS.values()))
_TICKS = 5
"""Ticks of a time axis; its scale is rounded to the same ticks, so that both ends are labelled."""


def _texts(frame: pl.DataFrame, key: str, language: str, **columns: pl.Expr | str) -> pl.DataFrame:
    """Add a text column ``key`` (a description of each row, in ``language``) from ``columns``."""
    named = frame.with_columns(**{k: v if isinstance(v, pl.Expr) else pl.col(v) for k, v in columns.items()})
    texts = [text(key, language, **{k: row[k] if row[k] is not None else "–" for k in columns})
             for row in named.iter_rows(named=True)]
    return frame.with_columns(pl.Series(key, texts, dtype=pl.String))


def _finish(chart: alt.TopLevelMixin, title: str, data: pl.DataFrame, y_title: str, language: str) -> alt.TopLevelMixin:
    """The chart with its title and, for screen readers, a description in ``language`` of what it
    shows; Vega's own English descriptions of titles, axes and legends are hidden."""
    years = sorted(data["year"].unique().to_list())
    axes = text("chart_axes", language, x=f"{text('year', language)} {year_span(int(years[0]), int(years[-1]))}",
                y=y_title)
    return chart.properties(title={"text": title, "aria": False}, description=f"{title}. {axes}").configure(
        font=_FONT, aria=False)


def _year_axis(language: str) -> alt.X:
    return alt.X("year:O", title=text("year", language), axis=alt.Axis(labelAngle=0))


def _time_axis(field: str, title: str) -> alt.Y:
    """A time axis in minutes from zero, labelled m:ss at both ends."""
    return alt.Y(field, title=title, scale=alt.Scale(zero=True, nice=_TICKS),
                 axis=alt.Axis(labelExpr=AXIS_MMSS, tickCount=_TICKS))


def median_by_year(yearly: pl.DataFrame, language: str, title: str, level: str, min_count: int) -> alt.FacetChart:
    """Median per risk class and year with its interval and the class's target, one panel per class.

    ``yearly``: published yearly rows of ``grouping`` risk_class.
    """
    data = with_minutes(yearly.drop_nulls("median_s").with_columns(year=pl.col("year").cast(pl.String),
                                                                risk_class=pl.col("group_key")),
                    "median_s", "ci_low_s", "ci_high_s", "target_s")
    ci = pl.when(pl.col("ci_low_s").is_not_null()).then(mmss_expr("ci_low_s") + "–" + mmss_expr("ci_high_s"))
    data = data.with_columns(median=mmss_expr("median_s"), ci=ci, target=mmss_expr("target_s"),
                             tasks=count_text_expr("count", min_count), is_target_row=pl.col("year") == pl.col("year").min().over("risk_class"))
    data = _texts(data, "median_description", language, risk_class="risk_class", year="year", median="median",
                  ci="ci", tasks=counted_expr("n_tasks", "count", language, min_count))
    data = _texts(data, "interval_description", language, risk_class="risk_class", year="year", ci="ci")
    data = _texts(data, "target_description", language, risk_class="risk_class", target="target")
    colour = alt.Color("risk_class:N", title=text("risk_class", language), legend=None, scale=_CLASS_SCALE)
    tooltip = [alt.Tooltip("year:O", title=text("year", language)),
               alt.Tooltip("median:N", title=text("median", language)),
               alt.Tooltip("ci:N", title=text("ci_level", language, level=level)),
               alt.Tooltip("tasks:N", title=text("count", language))]
    axis_title = text("response_time", language)
    base = alt.Chart().encode(x=_year_axis(language))
    bars = base.mark_rule(strokeWidth=2).encode(
        y=_time_axis("ci_low_min:Q", axis_title), y2=alt.Y2("ci_high_min:Q"), color=colour,
        description="interval_description:N")
    line = base.mark_line(aria=False).encode(y=alt.Y("median_min:Q", title=axis_title), color=colour)
    points = base.mark_point(filled=True, size=60, opacity=1).encode(
        y=alt.Y("median_min:Q", title=axis_title), color=colour, tooltip=tooltip, description="median_description:N")
    target = alt.Chart().transform_filter(alt.datum.is_target_row).mark_rule(strokeDash=[6, 3], color="black").encode(
        y=alt.Y("target_min:Q", title=axis_title), description="target_description:N")
    chart = alt.layer(bars, line, points, target, data=data).properties(width=240, height=170).facet(
        facet=alt.Facet("risk_class:N", title=text("risk_class", language), sort=list(CLASS_COLOURS)), columns=2,
    ).resolve_scale(y="independent")
    return _finish(chart, title, data, text("median_axis_description", language), language)


def share_by_year(yearly: pl.DataFrame, language: str, title: str, min_count: int) -> alt.LayerChart:
    """Share of tasks within target per risk class and year, with the 50 % line of the share rule.

    ``yearly``: published yearly rows of ``grouping`` risk_class.
    """
    data = yearly.drop_nulls("share_within_target").with_columns(
        year=pl.col("year").cast(pl.String), risk_class=pl.col("group_key"),
        share=pl.col("share_within_target").map_elements(lambda s: percent(s, language), return_dtype=pl.String),
        tasks=count_text_expr("count", min_count))
    data = _texts(data, "share_description", language, risk_class="risk_class", year="year", share="share",
                  tasks=counted_expr("n_tasks", "count", language, min_count))
    share_title = text("share", language)
    colour = alt.Color("risk_class:N", title=text("risk_class", language), scale=_CLASS_SCALE)
    y = alt.Y("share_within_target:Q", title=share_title, scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(labelExpr=axis_percent(language)))
    lines = alt.Chart(data).mark_line(aria=False).encode(x=_year_axis(language), y=y, color=colour)
    points = alt.Chart(data).mark_point(filled=True, size=60, opacity=1).encode(
        x=_year_axis(language), y=y, color=colour, description="share_description:N",
        tooltip=[alt.Tooltip("year:O", title=text("year", language)),
                 alt.Tooltip("risk_class:N", title=text("risk_class", language)),
                 alt.Tooltip("share:N", title=share_title),
                 alt.Tooltip("tasks:N", title=text("count", language))])
    half = pl.DataFrame({"share": [0.5], "description": [text("half_description", language)]})
    rule = alt.Chart(half).mark_rule(color="#555555", strokeDash=[4, 3]).encode(
        y=alt.Y("share:Q", title=share_title), description="description:N")
    chart = alt.layer(lines, points, rule).properties(width=520, height=240)
    return _finish(chart, title, data, text("share_axis_description", language), language)


def mean_by_year(yearly: pl.DataFrame, national_target_s: int, language: str, title: str,
                 min_count: int) -> alt.LayerChart:
    """Mean response time of all urgent tasks per year as bars, with the national target as a line.

    ``yearly``: published yearly rows of ``grouping`` all.
    """
    data = with_minutes(yearly.drop_nulls("mean_s").with_columns(
        year=pl.col("year").cast(pl.String), mean=mmss_expr("mean_s"), tasks=count_text_expr("count", min_count)),
        "mean_s")
    data = _texts(data, "mean_description", language, year="year", mean="mean",
                  tasks=counted_expr("n_tasks", "count", language, min_count))
    mean_title = text("mean_axis", language)
    bars = alt.Chart(data).mark_bar(color="#4f6d8f", size=38).encode(
        x=_year_axis(language),
        y=_time_axis("mean_min:Q", mean_title).scale(
            zero=True, nice=_TICKS, domainMax=max(national_target_s / 60, float(data["mean_min"].max() or 0)) * 1.15),
        description="mean_description:N",
        tooltip=[alt.Tooltip("year:O", title=text("year", language)),
                 alt.Tooltip("mean:N", title=text("mean", language)),
                 alt.Tooltip("tasks:N", title=text("count", language))])
    labels = alt.Chart(data).mark_text(dy=-7, fontSize=11, aria=False).encode(
        x=_year_axis(language), y=alt.Y("mean_min:Q", title=mean_title), text=alt.Text("mean:N"))
    target_text = mmss(national_target_s)
    target = pl.DataFrame({"target_min": [national_target_s / 60],
                           "label": [text("national_target_short", language, target=target_text)],
                           "description": [text("national_target_description", language, target=target_text)]})
    rule = alt.Chart(target).mark_rule(color="#b2182b", strokeDash=[6, 3], strokeWidth=2).encode(
        y=alt.Y("target_min:Q", title=mean_title), description="description:N")
    rule_text = alt.Chart(target).mark_text(align="left", dx=4, dy=-6, color="#b2182b", fontSize=11,
                                            aria=False).encode(
        y=alt.Y("target_min:Q", title=mean_title), x=alt.value(0), text=alt.Text("label:N"))
    chart = alt.layer(bars, labels, rule, rule_text).properties(width=420, height=240)
    return _finish(chart, title, data, text("mean_axis_description", language), language)
