"""The HTML pages valmius publishes (the report, the review, the scenarios), made the same way.

A page is one self-contained file: the Vega libraries inlined (no network needed), each chart
embedded from its Vega-Lite spec and saved beside the page as PNG and SVG, tables as HTML, and a
last line that names when, by which valmius and under which definition it was made. A page's
folder is written beside the old one and swapped in whole (:func:`swap_in`).
"""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl
import vl_convert as vlc

from valmius.definitions import Definition, current
from valmius.labels import day_text, text
from valmius.lake import Snapshot
from valmius.settings import Settings

LOCALES = {"fi": "fi-FI", "en": "en-GB"}
"""Vega number and date locale of each report language."""


def swap_in(work: Path, final: Path) -> None:
    """Replace ``final`` by ``work``: readers see the old folder or the new one, never half of one.
    Scenario reports written into the folder (``scenario-*``, by valmius scenario) are kept."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        for kept in final.glob("scenario-*"):
            if kept.is_file():
                os.link(kept, work / kept.name)
        os.replace(final, old)
    os.replace(work, final)
    shutil.rmtree(old, ignore_errors=True)


def save_images(spec: dict, stem: Path, lang: str) -> None:
    """Write the chart ``spec`` as ``stem``.svg and ``stem``.png in the language's number and date formats.

    The PNG is drawn from the SVG: the same image, byte for byte, as rendering the chart again to
    PNG, in half the time (0.42 s against 0.87 s for the nightly report's five charts)."""
    locale = LOCALES[lang]
    svg = vlc.vegalite_to_svg(spec, format_locale=locale, time_format_locale=locale)
    stem.with_suffix(".svg").write_text(svg, encoding="utf-8")
    stem.with_suffix(".png").write_bytes(vlc.svg_to_png(svg, scale=2))


def chart_div(name: str, specs: dict[str, dict], note: str | None = None, *, images: bool = True) -> str:
    """The section a chart spec is embedded into (nothing when there is no such chart), with its
    caption and links to its PNG and SVG files (``images``: they were saved beside the page)."""
    if name not in specs:
        return ""
    caption = f"<p class='note'>{escape(note)}</p>" if note else ""
    links = " · ".join(f"<a href='charts/{name}.{kind}'>{kind.upper()}</a>" for kind in ("png", "svg"))
    files = f"<p class='files'>{links}</p>" if images else ""
    return f"<section class='chart'><div id='chart-{name}' class='vega-chart'></div>{caption}{files}</section>"


def table_html(title: str, frame: pl.DataFrame) -> str:
    if frame.height == 0:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if v is None else v)}</td>" for v in row) + "</tr>"
                   for row in frame.iter_rows())
    return f"<section><h2>{escape(title)}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script, from vl-convert: the report needs no network.

    Building it takes about a second, a seventh of a nightly report, so it is kept in the user's
    cache folder (``$XDG_CACHE_HOME/valmius``, else ``~/.cache/valmius``), one file per vl-convert
    version. Where that folder cannot be written, the bundle is built every time.
    """
    path = _cache_folder() / f"vega-bundle-vl-convert-{version('vl-convert-python')}.js"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    bundle = vlc.javascript_bundle()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(bundle, encoding="utf-8")
        os.replace(partial, path)  # whole or not at all, also with two reports at once
    except OSError:
        pass
    return bundle


def _cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "valmius"


def script_json(value: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def is_synthetic(snapshot: Snapshot) -> bool:
    """Whether every ingested file is a SYNTHETIC demo export (the page then says so)."""
    names = snapshot.scan("files").select("source_file").collect()["source_file"]
    return names.len() > 0 and bool(names.str.contains("synthetic").all())


PAGE_STYLE = """
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.sub { color: #555; margin-top: 0; } .lead { font-size: 1.05rem; } .note, .files { color: #666; font-size: .85rem; }
.warn { background: #fff3cd; border: 1px solid #e0c36c; padding: .5rem .8rem; }
table { border-collapse: collapse; font-size: .8rem; width: 100%; } th, td { border-bottom: 1px solid #ddd;
padding: .25rem .4rem; text-align: left; vertical-align: top; } th { background: #f5f5f5; font-weight: 600; }
section.chart { margin-top: 1.5rem; overflow-x: auto; }
"""


def html_page(settings: Settings, evaluated_at: datetime | None, sections: list[str], specs: dict[str, dict],
              snapshot: Snapshot, *, title: str | None = None) -> str:
    """A self-contained page in the report's style: ``sections`` (HTML) and the charts ``specs``
    (Vega-Lite, embedded into ``<div id="chart-<name>">``), the window in the subtitle."""
    lang = settings.report.language
    zone = ZoneInfo(settings.time.zone)
    end = "–" if evaluated_at is None else day_text(evaluated_at.astimezone(zone).date())
    subtitle = text("subtitle", lang, days=settings.windows.trailing_days, end=end)
    title = title or text("title", lang)
    banner = f"<p class='warn'>{escape(text('synthetic', lang))}</p>" if is_synthetic(snapshot) else ""
    made = made_text(lang, zone, current(snapshot, settings))
    return page_html(lang, title, subtitle, banner, sections, specs, made)


def made_text(lang: str, zone: ZoneInfo, definition: Definition) -> str:
    """The page's last line: when, by which valmius, and the definition that made its figures."""
    now = datetime.now(timezone.utc).astimezone(zone)
    return " ".join([text("generated", lang, when=f"{day_text(now.date())} {now:%H:%M}",
                          version=version("valmius")), text("definition", lang, label=definition.label) + "."])


def chart_specs(charts: dict[str, alt.TopLevelMixin | None], definition: Definition, lang: str) -> dict[str, dict]:
    """The Vega-Lite specs of the charts that exist, each with the definition that made its figures
    as the last line of its title (on the page and in the PNG and SVG files alike)."""
    label = text("definition", lang, label=definition.label)
    specs = {}
    for name, chart in charts.items():
        if chart is None:
            continue
        spec = chart.to_dict()
        title = spec.get("title")
        title = {"text": ""} if title is None else dict(title) if isinstance(title, dict) else {"text": title}
        subtitle = title.get("subtitle") or []
        title["subtitle"] = [*([subtitle] if isinstance(subtitle, str) else subtitle), label]
        title.setdefault("subtitleColor", "#666")
        specs[name] = {**spec, "title": title}
    return specs


def stamped(frame: pl.DataFrame, definition: Definition) -> pl.DataFrame:
    """A published table with the definition that made it: ``definition_id`` and ``definition`` (name vN)."""
    return frame.with_columns(definition_id=pl.lit(definition.definition_id), definition=pl.lit(definition.title))


def page_html(lang: str, title: str, subtitle: str, banner: str, sections: list[str], specs: dict[str, dict],
              made: str, extra_style: str = "") -> str:
    """A self-contained page: Vega inlined, each chart spec embedded into its ``chart-<name>`` div."""
    locale = LOCALES[lang]
    options = {"renderer": "svg", "actions": False, "formatLocale": vlc.get_format_locale(locale),
               "timeFormatLocale": vlc.get_time_format_locale(locale)}
    embeds = "\n".join(f"vegaEmbed('#chart-{name}', {script_json(spec)}, options).catch(console.error);"
                       for name, spec in specs.items())
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{PAGE_STYLE}{extra_style}</style>
<script type="text/javascript">{vega_bundle()}</script>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">{escape(subtitle)}</p>
{banner}
{''.join(sections)}
<p class="note">{escape(made)}</p>
<script type="text/javascript">
const options = {script_json(options)};
{embeds}
</script>
</body>
</html>
"""


def escape(value: object) -> str:
    """``value`` as text safe in HTML."""
    return html.escape(str(value))
