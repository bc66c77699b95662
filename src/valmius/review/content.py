"""What the review page is made from, and the lookups its summary and tables share.

Everything here works on published figures (:func:`valmius.review.tables.published`): a count under
``report.min_count_shown`` reads ``< N`` and nothing is computed from or shown for its tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from valmius.definitions import Definition
from valmius.labels import day_text, mmss, percent
from valmius.review.changes import Changes
from valmius.review.labels import counted, text
from valmius.review.tables import REFERENCE_CLASSES, ReviewTables
from valmius.settings import RISK_CLASSES, Settings


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
    made_at: datetime
    synthetic: bool
    specs: dict[str, dict]
    definition: Definition
    measured_as: Definition | None
    """The measured definition whose responses the figures come from, when not the settings' own."""

    @property
    def lang(self) -> str:
        return self.settings.report.language

    @property
    def min_count(self) -> int:
        return self.settings.report.min_count_shown

    @property
    def min_tasks(self) -> int:
        return self.settings.flags.min_tasks

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def counted(self, key: str, count: int | None, min_count: int = 1) -> str:
        """A count and its noun, the pair ``key`` (:func:`valmius.review.labels.counted`)."""
        return counted(key, count, self.lang, min_count)

    def tasks_under(self) -> dict[str, str]:
        """The page's two thresholds in words, for its notes: ``shown_tasks`` (``report.min_count_shown``:
        fewer are not shown) and ``judged_tasks`` (``flags.min_tasks``: fewer are mostly chance)."""
        return dict(shown_tasks=self.counted("n_tasks", self.min_count),
                    judged_tasks=self.counted("n_tasks", self.min_tasks))

    def few(self, count: int | None) -> bool:
        """Whether a count is under ``flags.min_tasks`` (suppressed counts are)."""
        return count is None or count < self.min_tasks


def previous_made(p: PageInput) -> str:
    """When the previous review was made, as the page says it: its day, and its local time when stored."""
    previous = p.changes.previous
    if previous is None:
        return ""
    if previous.made_at is None:
        return day_text(previous.made_on)
    return f"{day_text(previous.made_on)} {previous.made_at.astimezone(ZoneInfo(p.settings.time.zone)):%H:%M}"


def row(frame: pl.DataFrame, **keys: object) -> dict | None:
    match = frame.filter(*(pl.col(k) == v for k, v in keys.items()))
    return match.row(0, named=True) if match.height else None


def ci_text(figures: dict) -> str:
    return "" if figures.get("ci_low_s") is None else f"{mmss(figures['ci_low_s'])}–{mmss(figures['ci_high_s'])}"


def level(p: PageInput) -> str:
    return percent(p.settings.windows.ci_level, p.lang)


def classes_present(p: PageInput) -> list[str]:
    present = set(p.yearly.filter(pl.col("grouping") == "risk_class")["group_key"].to_list())
    return [c for c in RISK_CLASSES if c in present]


def judged_classes(p: PageInput) -> str:
    return ", ".join(p.settings.flags.risk_classes)


def is_reference(risk_class: str | None) -> bool:
    """Whether the class's time is a reference limit, not a target (class IV)."""
    return risk_class in REFERENCE_CLASSES


def rule_changes(p: PageInput, keys: tuple[str, ...]) -> list[str]:
    """The settings changed since the previous review among ``keys`` (a key ending in "." is a
    prefix), in words: targets and the national target as m:ss, the deciding rule by name."""
    words = []
    for key, before, after in p.changes.settings_changed:
        if not any(key == k or (k.endswith(".") and key.startswith(k)) for k in keys):
            continue
        if key.startswith("targets_s."):
            words.append(p.t("change_target", risk_class=key.split(".", 1)[1], before=_time(before),
                             after=_time(after)))
        elif key == "review.national_mean_target_s":
            words.append(p.t("change_national", before=_time(before), after=_time(after)))
        elif key == "flags.rule":
            words.append(p.t("change_rule", before=p.t(f"rule_name_{before}") if before else "–",
                             after=p.t(f"rule_name_{after}")))
        else:
            words.append(f"{key} {_value(before)} → {_value(after)}")
    return words


def _time(seconds: object) -> str:
    return mmss(seconds) if isinstance(seconds, (int, float)) else "–"


def _value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    return "–" if value is None else str(value)


RULES_OF_CLASS = ("flags.rule", "counting.", "time.", "conventions.")
"""Settings (besides the class's own target) that decide a class's verdict."""
RULES_OF_NATIONAL = ("review.national_mean_target_s", "counting.", "time.", "conventions.")
"""Settings that decide the national-target verdict."""
RULES_OF_PROBLEM_CELLS = ("flags.risk_classes", "flags.rule", "targets_s.", "counting.", "grid.", "time.",
                          "conventions.")
"""Settings that decide which cells are problem cells."""
