"""The review's trend charts (Altair): frames in, charts out, no I/O.

Frames come already suppressed (no figure of fewer than ``report.min_count_shown`` tasks) with
times in seconds (``*_s``); they are plotted in minutes so that ticks fall on whole minutes,
labelled ``m:ss``. Years are ordinal, one mark per year.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from valmius.charts import CLASS_COLOURS
from valmius.labels import AXIS_MMSS, mmss
from valmius.review.labels import text

_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
_CLASS_SCALE = alt.Scale(domain=list(CLASS_COLOURS), range=list(CLASS_COLOURS.values()))


def _minutes(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(**{c.removesuffix("_s") + "_min": pl.col(c) / 60 for c in columns})


def _year_axis(language: str) -> alt.X:
    return alt.X("year:O", title=text("year", language), axis=alt.Axis(labelAngle=0))


def median_by_year(points: pl.DataFrame, language: str, title: str) -> alt.FacetChart:
    """Median per risk class and year with its interval and the class's target, one panel per class.

    ``points``: year (text), risk_class, median_s, ci_low_s, ci_high_s, target_s and tooltip texts
    median, ci, count.
    """
    data = _minutes(points.drop_nulls("median_s"), "median_s", "ci_low_s", "ci_high_s", "target_s")
    colour = alt.Color("risk_class:N", legend=None, scale=_CLASS_SCALE)
    tooltip = [alt.Tooltip("year:O", title=text("year", language)),
               alt.Tooltip("median:N", title=text("median", language)),
               alt.Tooltip("ci:N", title=text("ci", language)),
               alt.Tooltip("count:N", title=text("count", language))]
    base = alt.Chart().encode(x=_year_axis(language))
    bars = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y("ci_low_min:Q", axis=alt.Axis(title=text("response_time", language), labelExpr=AXIS_MMSS),
                scale=alt.Scale(zero=False)),
        y2="ci_high_min:Q", color=colour)
    line = base.mark_line(point=alt.OverlayMarkDef(size=60)).encode(y="median_min:Q", color=colour, tooltip=tooltip)
    target = alt.Chart().mark_rule(strokeDash=[6, 3], color="black").encode(y="max(target_min):Q")
    return alt.layer(bars, line, target, data=data).properties(width=240, height=170).facet(
        facet=alt.Facet("risk_class:N", title=text("risk_class", language), sort=list(CLASS_COLOURS)), columns=2,
    ).resolve_scale(y="independent").properties(title=title).configure(font=_FONT)


def share_by_year(points: pl.DataFrame, language: str, title: str) -> alt.LayerChart:
    """Share of tasks within target per risk class and year, with the 50 % line of the share rule.

    ``points``: year (text), risk_class, share_within_target (0-1), tooltip texts share, count.
    """
    data = points.drop_nulls("share_within_target")
    colour = alt.Color("risk_class:N", title=text("risk_class", language), scale=_CLASS_SCALE)
    lines = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        x=_year_axis(language),
        y=alt.Y("share_within_target:Q", title=text("share", language), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=colour,
        tooltip=[alt.Tooltip("year:O", title=text("year", language)),
                 alt.Tooltip("risk_class:N", title=text("risk_class", language)),
                 alt.Tooltip("share:N", title=text("share", language)),
                 alt.Tooltip("count:N", title=text("count", language))])
    half = alt.Chart(pl.DataFrame({"share": [0.5]})).mark_rule(color="#555555", strokeDash=[4, 3]).encode(y="share:Q")
    return alt.layer(lines, half).properties(width=520, height=240, title=title).configure(font=_FONT)


def mean_by_year(points: pl.DataFrame, national_target_s: int, language: str, title: str) -> alt.LayerChart:
    """Mean response time of all urgent tasks per year as bars, with the national target as a line.

    ``points``: year (text), mean_s, tooltip texts mean, count.
    """
    data = _minutes(points.drop_nulls("mean_s"), "mean_s")
    bars = alt.Chart(data).mark_bar(color="#4f6d8f", size=38).encode(
        x=_year_axis(language),
        y=alt.Y("mean_min:Q", axis=alt.Axis(title=text("mean_axis", language), labelExpr=AXIS_MMSS),
                scale=alt.Scale(domain=[0, max(national_target_s / 60, float(data["mean_min"].max() or 0)) * 1.15])),
        tooltip=[alt.Tooltip("year:O", title=text("year", language)),
                 alt.Tooltip("mean:N", title=text("mean", language)),
                 alt.Tooltip("count:N", title=text("count", language))])
    labels = alt.Chart(data).mark_text(dy=-7, fontSize=11).encode(x=_year_axis(language), y="mean_min:Q",
                                                                   text="mean:N")
    label = text("national_target_short", language, target=mmss(national_target_s))
    target = pl.DataFrame({"target_min": [national_target_s / 60], "label": [label]})
    rule = alt.Chart(target).mark_rule(color="#b2182b", strokeDash=[6, 3], strokeWidth=2).encode(y="target_min:Q")
    rule_text = alt.Chart(target).mark_text(align="left", dx=4, dy=-6, color="#b2182b", fontSize=11).encode(
        y="target_min:Q", x=alt.value(0), text="label:N")
    return alt.layer(bars, labels, rule, rule_text).properties(width=420, height=240, title=title).configure(font=_FONT)
