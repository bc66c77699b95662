"""The report's Altair charts: frames in, charts out, no I/O.

Every function takes frames that :mod:`valmius.report` has already aggregated and suppressed
(small counts hidden), and labels in the report's language. Times come in as seconds (``*_s``) and
are plotted in minutes, so that axis ticks fall on whole minutes, labelled ``m:ss``; tooltips show
the ``m:ss`` texts the report made.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from valmius.labels import AXIS_MMSS, axis_percent, text

CLASS_COLOURS = {"I": "#b2182b", "II": "#ef8a62", "III": "#67a9cf", "IV": "#2166ac"}
BAND_COLOURS = ["#1a9850", "#fee08b", "#fc8d59", "#d73027", "#bdbdbd", "#f0f0f0"]
"""Within target, over by < 1 min, 1-2 min, > 2 min, too few tasks to show, other classes."""
PART_COLOURS = {"erc": "#8da0cb", "turnout": "#fc8d62", "travel": "#66c2a5"}
POINT_SHAPES = ("circle", "cross", "diamond", "triangle-up")
"""Shapes of the point kinds on a map, in the order of ``point_kinds``: the first for ordinary points."""
_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


def _axis_mmss(title: str, **kw) -> alt.Axis:
    return alt.Axis(title=title, labelExpr=AXIS_MMSS, **kw)


def with_minutes(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Add ``<name>_min`` for each ``<name>_s`` column."""
    return frame.with_columns(**{c.removesuffix("_s") + "_min": pl.col(c) / 60 for c in columns})


def cell_map(cells: pl.DataFrame, outlines: pl.DataFrame, borders: pl.DataFrame, bands: list[str],
             language: str, title: str, width_px: int = 640, *, colours: list[str] | None = None,
             tooltips: tuple[str, ...] = ("cell", "count", "median", "ci", "share", "confidence"),
             points: pl.DataFrame | None = None, point_kinds: tuple[str, ...] = (),
             line_labels: tuple[str, str] | None = None) -> alt.LayerChart:
    """Cells as squares coloured by band, flagged areas outlined, municipality borders.

    ``cells``: x_m, y_m, x2_m, y2_m, band, and the tooltip text columns ``tooltips`` (labelled by
    their :func:`text` key). ``outlines``/``borders``: segments x_m, y_m, x2_m, y2_m. ``bands``: band
    labels in the order of ``colours`` (default :data:`BAND_COLOURS`). ``points`` (e.g. stations):
    x_m, y_m, label (written beside the mark) and kind, one of ``point_kinds`` (the legend's
    labels, drawn as :data:`POINT_SHAPES` in that order): points of the first kind are small and
    left out beyond the cells, the others are large, outlined in white and always shown (the map
    grows to hold them). ``line_labels``: legend labels of the outlines and the borders (none: no
    legend for them).
    """
    x_lo, x_hi = cells["x_m"].min(), cells["x2_m"].max()
    y_lo, y_hi = cells["y_m"].min(), cells["y2_m"].max()
    marked = points.filter(pl.col("kind") != point_kinds[0]) if points is not None else None
    if marked is not None and marked.height:  # the map grows to hold them
        x_lo, x_hi = min(x_lo, marked["x_m"].min()), max(x_hi, marked["x_m"].max())  # type: ignore[type-var]
        y_lo, y_hi = min(y_lo, marked["y_m"].min()), max(y_hi, marked["y_m"].max())  # type: ignore[type-var]
    span_x, span_y = max(x_hi - x_lo, 1), max(y_hi - y_lo, 1)  # type: ignore[operator]
    height_px = round(width_px * span_y / span_x)
    if height_px > 760:  # tall territories: keep metres square by narrowing instead
        width_px, height_px = round(760 * span_x / span_y), 760
    x = alt.X("x_m:Q", scale=alt.Scale(domain=[x_lo, x_hi], nice=False, zero=False), axis=None)
    y = alt.Y("y_m:Q", scale=alt.Scale(domain=[y_lo, y_hi], nice=False, zero=False), axis=None)
    tooltip = [alt.Tooltip(f"{c}:N", title=text(c, language)) for c in tooltips]
    palette = colours if colours is not None else BAND_COLOURS
    squares = alt.Chart(cells).mark_rect(stroke="white", strokeWidth=0.3).encode(
        x=x, x2="x2_m", y=y, y2="y2_m",
        color=alt.Color("band:N", scale=alt.Scale(domain=bands, range=palette[: len(bands)]),
                        legend=alt.Legend(title=None, orient="bottom", columns=3)),
        tooltip=tooltip,
    )
    layers: list[alt.Chart] = [squares]
    if line_labels is None:
        for segments, colour, width in ((borders, "#737373", 1), (outlines, "black", 2.2)):
            if segments.height:
                layers.append(alt.Chart(segments).mark_rule(color=colour, strokeWidth=width).encode(
                    x=x, y=y, x2="x2_m", y2="y2_m"))
    elif borders.height or outlines.height:  # one layer, so that both lines share one legend
        drawn = [(label, colour, width, segments) for label, colour, width, segments in (
            (line_labels[1], "#737373", 1.0, borders), (line_labels[0], "black", 2.2, outlines)) if segments.height]
        domain, line_colours, widths, _ = zip(*drawn)
        segments = pl.concat([s.select("x_m", "y_m", "x2_m", "y2_m", line=pl.lit(label)) for label, _, _, s in drawn])
        layers.append(alt.Chart(segments).mark_rule().encode(
            x=x, y=y, x2="x2_m", y2="y2_m",
            color=alt.Color("line:N", scale=alt.Scale(domain=list(domain), range=list(line_colours)), legend=alt.Legend(
                title=None, orient="right", symbolType="stroke", symbolStrokeWidth=2, labelLimit=320)),
            strokeWidth=alt.StrokeWidth("line:N", scale=alt.Scale(domain=list(domain), range=list(widths)),
                                        legend=None)))
    if points is not None and points.height:
        inside = pl.col("x_m").is_between(x_lo, x_hi) & pl.col("y_m").is_between(y_lo, y_hi)
        shown = points.filter((pl.col("kind") != point_kinds[0]) | inside)
        by_kind = alt.Scale(domain=list(point_kinds), range=list(POINT_SHAPES[: len(point_kinds)]))
        layers.append(alt.Chart(shown).mark_point(filled=True, opacity=1, color="black", stroke="white").encode(
            x=x, y=y, tooltip=[alt.Tooltip("label:N", title=text("station_point", language))],
            shape=alt.Shape("kind:N", scale=by_kind, legend=alt.Legend(title=None, orient="right", labelLimit=320)),
            size=alt.condition(alt.datum.kind == point_kinds[0], alt.value(45), alt.value(280)),
            strokeWidth=alt.condition(alt.datum.kind == point_kinds[0], alt.value(1), alt.value(2.5))))
        labels = alt.Chart(shown).encode(x=x, y=y, text="label:N")
        style = {"align": "left", "baseline": "middle", "dx": 9, "fontSize": 11, "fontWeight": "bold"}
        layers += [labels.mark_text(**style, stroke="white", strokeWidth=3, strokeJoin="round"),
                   labels.mark_text(**style, color="black")]
    chart = alt.layer(*layers)
    if line_labels is not None:  # the lines' colours are a scale of their own, beside the bands'
        chart = chart.resolve_scale(color="independent")
    return chart.properties(width=width_px, height=height_px, title=title).configure_view(stroke=None).configure(
        font=_FONT)


def class_trend(points: pl.DataFrame, language: str, title: str) -> alt.FacetChart:
    """Rolling median per risk class over time with its interval band and target line.

    ``points``: period (date), risk_class, median_s, ci_low_s, ci_high_s, target_s and tooltip texts
    month, count, median, ci. Points with too few tasks have null medians and are left out.
    """
    base = alt.Chart().encode(x=alt.X("period:T", title=text("month", language),
                                      axis=alt.Axis(format="%m/%Y", labelAngle=0, tickCount=6)))
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("ci_low_min:Q", axis=_axis_mmss(text("response_time", language)), scale=alt.Scale(zero=False)),
        y2="ci_high_min:Q", color=alt.Color("risk_class:N", legend=None,
                                          scale=alt.Scale(domain=list(CLASS_COLOURS), range=list(CLASS_COLOURS.values()))))
    line = base.mark_line(point=True).encode(
        y="median_min:Q", color=alt.Color("risk_class:N", legend=None,
                                        scale=alt.Scale(domain=list(CLASS_COLOURS), range=list(CLASS_COLOURS.values()))),
        tooltip=[alt.Tooltip("month:N", title=text("month", language)),
                 alt.Tooltip("median:N", title=text("median", language)),
                 alt.Tooltip("ci:N", title=text("ci", language)),
                 alt.Tooltip("count:N", title=text("count", language))])
    target = alt.Chart().mark_rule(strokeDash=[6, 3], color="black").encode(y="max(target_min):Q")
    data = with_minutes(points.drop_nulls("median_s"), "median_s", "ci_low_s", "ci_high_s", "target_s")
    return alt.layer(band, line, target, data=data).properties(
        width=260, height=180).facet(
        facet=alt.Facet("risk_class:N", title=text("risk_class", language), sort=list(CLASS_COLOURS)), columns=2,
    ).resolve_scale(y="independent").properties(title=title).configure(font=_FONT)


def response_ecdf(curve: pl.DataFrame, targets: pl.DataFrame, language: str, title: str) -> alt.LayerChart:
    """Share of tasks reached within t, per risk class, with each class's target marked.

    ``curve``: risk_class, response_s, share (0-1), on a grid of times. ``targets``: risk_class,
    target_s (classes shown only).
    """
    colour = alt.Color("risk_class:N", title=text("risk_class", language),
                       scale=alt.Scale(domain=list(CLASS_COLOURS), range=list(CLASS_COLOURS.values())))
    x = alt.X("response_min:Q", axis=_axis_mmss(text("response_time", language), tickMinStep=1),
              scale=alt.Scale(nice=False))
    lines = alt.Chart(with_minutes(curve, "response_s")).mark_line(interpolate="step-after").encode(
        x=x, y=alt.Y("share:Q", title=text("share_of_tasks", language), axis=alt.Axis(labelExpr=axis_percent(language)),
                     scale=alt.Scale(domain=[0, 1])),
        color=colour)
    rules = alt.Chart(with_minutes(targets, "target_s")).mark_rule(strokeDash=[6, 3]).encode(x="target_min:Q",
                                                                                         color=colour)
    half = alt.Chart(pl.DataFrame({"share": [0.5]})).mark_rule(color="#999999", strokeDash=[2, 2]).encode(y="share:Q")
    return alt.layer(lines, rules, half).properties(width=640, height=280, title=title).configure(font=_FONT)


def component_bars(parts: pl.DataFrame, language: str, title: str) -> alt.Chart:
    """Median ERC processing, turnout and travel of each flagged area beside the cells meeting the target.

    ``parts``: group (label), group_order, part (erc/turnout/travel), part_label, median_s, median.
    """
    order = parts.sort("group_order")["group"].unique(maintain_order=True).to_list()
    parts = parts.with_columns(part_order=pl.col("part").replace_strict({"erc": 0, "turnout": 1, "travel": 2}))
    labels = [text(p, language) for p in PART_COLOURS]
    return alt.Chart(with_minutes(parts, "median_s")).mark_bar().encode(
        y=alt.Y("group:N", sort=order, title=None),
        x=alt.X("median_min:Q", stack="zero", axis=_axis_mmss(text("seconds_median", language), tickMinStep=0.5)),
        color=alt.Color("part_label:N", title=text("part", language),
                        scale=alt.Scale(domain=labels, range=list(PART_COLOURS.values())),
                        sort=labels, legend=alt.Legend(orient="bottom")),
        order=alt.Order("part_order:Q"),
        tooltip=[alt.Tooltip("group:N", title=text("group", language)),
                 alt.Tooltip("part_label:N", title=text("part", language)),
                 alt.Tooltip("median:N", title=text("median", language))],
    ).properties(width=560, height=max(60, 26 * len(order)), title=title).configure(font=_FONT)


def median_change(cells: pl.DataFrame, language: str, title: str) -> alt.LayerChart:
    """Each cell's median before and after a change, joined by a line, with its target.

    ``cells``: cell (label, in the order to draw from the top), before_s, after_s, target_s and the
    tooltip texts before, after, change.
    """
    order = cells["cell"].to_list()
    data = with_minutes(cells, "before_s", "after_s", "target_s")
    long = data.unpivot(index=["cell", "before", "after", "change"], on=["before_min", "after_min"],
                        variable_name="when", value_name="median_min").with_columns(
        when=pl.col("when").replace_strict({"before_min": text("before", language), "after_min": text("after", language)}))
    y = alt.Y("cell:N", sort=order, title=None)
    x_axis = _axis_mmss(text("seconds_median", language), tickMinStep=1)
    tooltip = [alt.Tooltip("cell:N", title=text("cell", language)),
               alt.Tooltip("before:N", title=text("before", language)),
               alt.Tooltip("after:N", title=text("after", language)),
               alt.Tooltip("change:N", title=text("change", language))]
    lines = alt.Chart(data).mark_rule(color="#999999", strokeWidth=2).encode(
        y=y, x=alt.X("before_min:Q", axis=x_axis, scale=alt.Scale(zero=False)), x2="after_min:Q", tooltip=tooltip)
    dots = alt.Chart(long).mark_point(filled=True, size=70).encode(
        y=y, x="median_min:Q", tooltip=tooltip,
        color=alt.Color("when:N", title=None, sort=[text("before", language), text("after", language)],
                        scale=alt.Scale(range=["#8c8c8c", "#b2182b"]), legend=alt.Legend(orient="bottom")))
    targets = alt.Chart(data).mark_tick(color="black", thickness=2, size=18).encode(y=y, x="target_min:Q")
    return alt.layer(lines, targets, dots).properties(width=560, height=max(60, 20 * len(order)), title=title).configure(
        font=_FONT)
