"""What if a station changes? ``valmius scenario --close STATION`` or ``--move STATION X Y``.

The county re-plans its service network and asks: would the class I cells still be reached within
the target if this station closed, or moved there? A scenario re-runs the judgement of
:mod:`valmius.flags` (the same window, the same evidence, the same rule) on the tasks of the judged
window with each task's response time replaced by what it would have been, learnt from what the
lake observed (see :mod:`valmius.stations` for the station-to-place times):

- **Close**: a task whose first unit on scene came from the closed station is reached by the next
  station. When a unit of another station arrived at that very task, its own alarm-to-on-scene
  time is used, counted from the task's first alarm (as if the ERC had alarmed it at once);
  otherwise the smallest estimated time of the remaining stations (the median of their arrivals in
  the cell, else in the cells around it, else the distance model). Closing a station never makes a
  task faster: the new time is at least the observed one. Other tasks are unchanged. This is too
  slow where the nearest remaining stations are far and about equally far: without the station
  the plan would alarm several of their units, and the first of them arrives sooner than the one
  the lake saw (on the demo world up to 2:44 on a cell's median; README, the page's limits).
- **Move**: the station's time to a task changes by what the distance model says the move changes
  (new minus old modelled time). A task it attended: its observed arrival (from the task's first
  alarm, as the response time counts) plus that change. A task it
  did not attend although the model says it would have been first from where it is: it is taken
  as busy then, and the task stays as it was. Any other task: its modelled time from the new
  place. The task takes the faster of that and its time without the station (as for close). A
  move to where the station already is changes nothing.

Read-only on the lake. :func:`run_scenario` returns the comparison and writes the scenario report
(:mod:`valmius.scenario_report`) into ``paths.reports/<today>/``.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from valmius.errors import ScenarioError
from valmius.flags import CONFIDENCE_ORDER, evaluation_time, judge_groups, judged_cells, label_areas, local_day
from valmius.grid import grid_at
from valmius.labels import count_text, counted, english_count, mmss, text
from valmius.lake import Snapshot
from valmius.measure import open_measured
from valmius.settings import Settings
from valmius.stations import (
    MIN_CURVE_OBSERVATIONS, StationTimes, check_location, known_stations, read_stations, station_arrivals,
    stations_path_hint,
)

ESTIMATED = ("cell", "neighbourhood", "distance_model")
"""Sources of an estimated time, from the most local to the most general."""
SOURCES = ("observed", *ESTIMATED, "moved_station", "unestimated")
"""How a changed task got its new time (``unchanged`` for the others)."""
_SOURCE_TEXT = {"observed": "by another station's unit at the same task", "cell": "by a station's median in the cell",
                "neighbourhood": "by a station's median in the cells around", "distance_model": "by the distance model",
                "moved_station": "by the moved station", "unestimated": "left unestimated"}
_EVIDENCE = {"count": "count", "median_s": "median_{}_s", "ci_low_s": "ci_low_{}_s", "ci_high_s": "ci_high_{}_s",
             "share_within_target": "share_within_target_{}", "mean_s": "mean_{}_s", "is_flagged": "is_over_{}",
             "confidence": "confidence_{}"}


@dataclass(frozen=True)
class Change:
    """The station change asked for."""

    kind: str
    """"close" or "move"."""
    station_id: str
    to_m: tuple[float, float] | None = None
    """New location (x_m, y_m) of a moved station."""

    @property
    def name(self) -> str:
        if self.to_m is None:
            return f"close-{self.station_id}"
        return f"move-{self.station_id}-{self.to_m[0]:.0f}-{self.to_m[1]:.0f}"


@dataclass
class ScenarioResult:
    """What a station change would do to the judged cells and areas of one window."""

    change: Change
    settings: Settings
    evaluated_at: datetime
    last_day: date
    """The local day the window ends with."""
    window_days: int
    min_count: int
    cells: pl.DataFrame
    """One row per judged cell with tasks: evidence before and after, tasks changed and how, status."""
    areas: pl.DataFrame
    """Areas over target after the change, with the same cells' pooled evidence before it."""
    classes: pl.DataFrame
    """Each judged risk class pooled, before and after."""
    tasks: pl.DataFrame
    """Every task of the window in the judged cells: response before and after, how it was found. Not published."""
    areas_before: int
    stations: pl.DataFrame | None
    """Station locations (paths.stations), when there is a file."""
    from_m: tuple[float, float] | None = None
    """Current location of a moved station."""
    model_observations: int = 0
    model_error_s: float | None = None
    new_place_m: float | None = None
    """A moved station's straight-line distance from its new location to the nearest judged cell's centre."""
    farthest_arrival_m: float | None = None
    """The longest distance from a station to a task its unit arrived at (:class:`StationTimes`)."""
    unestimated_why: dict[str, int] = field(default_factory=dict)
    """The tasks left unestimated by why: "few" (other stations have arrivals around them, but fewer
    than ``scenario.min_observations``), "none" (no arrival around them) or "unlocated" (no coordinates)."""
    html: Path | None = None
    files: list[Path] = field(default_factory=list)
    earlier_html: Path | None = None
    """The page of the same change, window and language written earlier the same day (kept)."""

    @property
    def sources(self) -> dict[str, int]:
        """Tasks whose time changes, by how their new time was found, and the tasks left unestimated."""
        changed = (pl.col("new_response_s") != pl.col("response_s")) | (pl.col("source") == "unestimated")
        counts = self.tasks.filter(changed).group_by("source").len()
        found = dict(zip(counts["source"].to_list(), counts["len"].to_list()))
        return {s: found[s] for s in SOURCES if s in found}

    @property
    def takeover(self) -> dict[str, int]:
        """Tasks whose time changes, by the station that reaches them first after the change (most first)."""
        changed = self.tasks.filter(pl.col("new_response_s") != pl.col("response_s")).drop_nulls("new_station_id")
        counts = changed.group_by("new_station_id").len().sort(["len", "new_station_id"], descending=[True, False])
        return dict(zip(counts["new_station_id"].to_list(), counts["len"].to_list()))

    def to_text(self) -> str:
        """The result for the terminal, suppressed as the page is: task counts from 1 to
        ``report.min_count_shown`` - 1 read ``< N``."""
        change, lines = self.change, []
        count = functools.partial(count_text, min_count=self.min_count)
        what = (f"station {change.station_id} closed" if change.kind == "close" else
                f"station {change.station_id} moved from {_xy(self.from_m)} to {_xy(change.to_m)}")
        lines.append(f"Scenario: {what}; the {self.window_days}-day window ending with {self.last_day}")
        first = int((self.tasks["station_id"] == change.station_id).sum())
        changed = int((self.tasks["new_response_s"] != self.tasks["response_s"]).sum())
        sources = ", ".join(f"{count(n)} {_SOURCE_TEXT[s]}" for s, n in self.sources.items())
        lines.append(f"Tasks in the judged cells: {count(self.tasks.height)}; first on scene from {change.station_id}: "
                     f"{count(first)}; times changed: {count(changed)}" + (f" ({sources})" if sources else ""))
        if self.takeover:
            lines.append("First on scene after the change: " + ", ".join(
                f"{station} {count(n)}" for station, n in self.takeover.items()))
        for row in self.classes.iter_rows(named=True):
            if row["count"] < self.min_count:
                lines.append(f"Class {row['risk_class']}: {english_count(count(row['count']), 'task')}")
                continue
            lines.append(f"Class {row['risk_class']}: median {mmss(row['median_before_s'])} -> "
                         f"{mmss(row['median_after_s'])} (target {mmss(row['target_s'])}), within target "
                         f"{row['share_within_target_before']:.0%} -> {row['share_within_target_after']:.0%}")
        over_before, over_after = int(self.cells["is_over_before"].sum()), int(self.cells["is_over_after"].sum())
        lines.append(f"Cells over target: {over_before} -> {over_after}; areas: {self.areas_before} -> {self.areas.height}")
        for status, title in (("newly_over", "Newly over target"), ("no_longer_over", "No longer over target")):
            rows = self.cells.filter(pl.col("status") == status).sort("change_s", descending=status == "newly_over")
            lines.append(f"{title}: {rows.height}")
            lines += [f"  {_cell_line(row, self.min_count)}" for row in rows.iter_rows(named=True)]
        changed = self.cells.filter(pl.col("change_s") != 0)
        lines.append(f"Cells whose median changes: {changed.height} of {self.cells.height}")
        lines += [f"Note: {note}" for note in self.notes("en")]
        if self.earlier_html is not None:
            lines.append(f"An earlier page of this scenario, window and language is kept: {self.earlier_html.name}")
        if self.html is not None:
            lines.append(str(self.html))
        return "\n".join(lines)

    def notes(self, language: str) -> list[str]:
        """What the reader must know to read the result right, in ``language`` ("fi" or "en")."""
        notes, station, scenario = [], self.change.station_id, self.settings.scenario
        count = functools.partial(count_text, min_count=self.min_count)
        unestimated = self.sources.get("unestimated", 0)
        if unestimated:
            where = (text("scenario_where_cell", language) if scenario.neighbour_rings == 0 else
                     text("scenario_where_block", language, side=self.block_side))
            why = "; ".join(text(f"scenario_why_{reason}", language, where=where, min_obs=scenario.min_observations,
                                 count=count(n)) for reason, n in self.unestimated_why.items() if n)
            cells = self.cells.filter(pl.col("tasks_unestimated") > 0)["cell_id"].to_list()
            notes.append(text("scenario_note_unestimated", language, station=station, count=count(unestimated),
                              why=why, cells=", ".join(cells))
                         + (text("scenario_note_stations", language) if self.stations is None else ""))
        if self.change.kind == "close" and not (self.tasks["station_id"] == station).any():
            notes.append(text("scenario_note_nothing", language, station=station))
        if self.is_far_move:
            notes.append(text("scenario_note_far", language, station=station, distance=f"{self.new_place_m / 1000:.0f}",
                              farthest=f"{self.farthest_arrival_m / 1000:.0f}",
                              history=counted("n_last_days", scenario.history_days, language),
                              crs=self.settings.grid.crs)
                         + (text("scenario_note_far_closed", language) if "moved_station" not in self.sources else ""))
        return notes

    @property
    def block_side(self) -> int:
        """Cells on a side of the block around a cell whose arrivals a station's time falls back on
        (``scenario.neighbour_rings`` around it: 1 gives the 3 × 3 block)."""
        return 2 * self.settings.scenario.neighbour_rings + 1

    @property
    def is_far_move(self) -> bool:
        """Whether a moved station's new location is farther from every judged cell than any station's
        unit was seen to go (a mistyped coordinate, most likely)."""
        return (self.new_place_m is not None and self.farthest_arrival_m is not None
                and self.new_place_m > self.farthest_arrival_m)


def _xy(point: tuple[float, float] | None) -> str:
    return "?" if point is None else f"x={point[0]:.0f} y={point[1]:.0f}"


def _cell_line(row: dict, min_count: int) -> str:
    if row["count"] < min_count:
        return f"{row['cell_id']} ({english_count(count_text(row['count'], min_count), 'task')})"
    return (f"{row['cell_id']}: median {mmss(row['median_before_s'])} -> {mmss(row['median_after_s'])} "
            f"({english_count(count_text(row['count'], min_count), 'task')}, "
            f"{count_text(row['tasks_changed'], min_count)} changed)")


def run_scenario(settings: Settings, *, close: str | None = None, move: tuple[str, float, float] | None = None,
                 at: date | None = None, today: date | None = None, write: bool = True) -> ScenarioResult:
    """Estimate what closing station ``close`` (or moving station ``move[0]`` to x ``move[1]``, y
    ``move[2]`` in grid metres) would do to the judged cells and areas of the window ending at ``at``
    (default: the lake's last measured day, as ``valmius flag``), and write the scenario report into
    ``paths.reports/<today>/`` unless ``write`` is false."""
    change = _change(close, move)
    snapshot = open_measured(settings)
    evaluated_at = evaluation_time(snapshot, settings, at)
    if evaluated_at is None:
        raise ScenarioError(f"{settings.lake_path}: the lake has no measured urgent tasks yet; run valmius measure "
                            "(or valmius nightly) first")
    stations = read_stations(settings)
    if change.to_m is not None:
        if stations is None:
            raise ScenarioError(f"--move needs station locations: {stations_path_hint(settings)}")
        check_location(settings, *change.to_m, what=f"--move location of {change.station_id}:")
    window_start = evaluated_at - timedelta(days=settings.windows.trailing_days)
    history_start = evaluated_at - timedelta(days=settings.scenario.history_days)
    arrivals = station_arrivals(snapshot, settings, min(window_start, history_start), evaluated_at)
    known = known_stations(arrivals, stations)
    if change.station_id not in known:
        raise ScenarioError(f"unknown station {change.station_id!r}{_did_you_mean(change.station_id, known)}: the lake's "
                            f"arrivals of the last {english_count(settings.scenario.history_days, 'day')} (scenario.history_days) and "
                            f"the stations file know {', '.join(known) or 'no station'}")
    times = StationTimes.learn(arrivals.filter(pl.col("call_at") > history_start), stations, settings)
    tasks = _window_tasks(snapshot, settings, evaluated_at, window_start)
    at_tasks = arrivals.join(tasks.select("incident_id"), on="incident_id")
    candidates = [s for s in known if s != change.station_id]
    scenario = _close(tasks, at_tasks, times, change.station_id, candidates)
    from_m = None
    if change.to_m is not None:
        from_m = _check_movable(times, change.station_id, settings)
        scenario = _move(scenario, at_tasks, times, change)
    result = _compare(scenario, snapshot, settings, evaluated_at, change)
    result.stations, result.from_m = stations, from_m
    result.model_observations = times.curve.observations if times.curve is not None else 0
    result.model_error_s = times.model_error_s
    if change.to_m is not None:
        result.new_place_m = _nearest_cell_m(result.cells, change.to_m, settings.grid.cell_size_m)
        result.farthest_arrival_m = times.farthest_arrival_m
    result.unestimated_why = _unestimated_why(scenario, times, candidates)
    if write:
        from valmius.scenario_report import write_scenario_report

        write_scenario_report(result, settings, snapshot, today=today)
    return result


def _change(close: str | None, move: tuple[str, float, float] | None) -> Change:
    if (close is None) == (move is None):
        raise ScenarioError("give one change: close a station (--close KU12) or move one (--move KU12 392000 6690000)")
    if close is not None:
        return Change("close", close)
    station, x_m, y_m = move  # type: ignore[misc]
    return Change("move", station, (float(x_m), float(y_m)))


def _did_you_mean(station_id: str, known: list[str]) -> str:
    """``" (did you mean KU30?)"``: the known ids equal to ``station_id`` but for case and spaces, else close to it."""
    by_key = {k.strip().upper(): k for k in known}
    wanted = station_id.strip().upper()
    keys = [wanted] if wanted in by_key else difflib.get_close_matches(wanted, list(by_key), n=3, cutoff=0.7)
    return f" (did you mean {' or '.join(by_key[k] for k in keys)}?)" if keys else ""


def _check_movable(times: StationTimes, station_id: str, settings: Settings) -> tuple[float, float]:
    if times.curve is None:
        located = times.arrivals.drop_nulls("travel_s").height
        raise ScenarioError(f"too few observed travel times to fit the distance model for --move: need "
                            f"{MIN_CURVE_OBSERVATIONS} arrivals of stations listed in {settings.paths.stations} "
                            f"with an en-route time (of {english_count(located, 'arrival')} with one); add the missing stations")
    if station_id not in times.models:
        raise ScenarioError(f"station {station_id} cannot be moved: it has no location in {settings.paths.stations} "
                            f"(paths.stations) or no arrival with a recorded turnout in the last "
                            f"{settings.scenario.history_days} days (scenario.history_days); add its row "
                            "station_id,x_m,y_m")
    model = times.models[station_id]
    return (model.x_m, model.y_m)


def _window_tasks(snapshot: Snapshot, settings: Settings, evaluated_at: datetime, start: datetime) -> pl.DataFrame:
    """The tasks :func:`valmius.flags.evaluate` judges, with the incident's location."""
    cells = judged_cells(snapshot, settings, evaluated_at)
    in_window = (pl.col("call_at") > start) & (pl.col("call_at") <= evaluated_at)
    measured = (snapshot.scan("responses").filter(pl.col("is_measured"), in_window)
                .select("incident_id", "call_at", "alarm_at", "response_s", "station_id", "cell_id").collect())
    places = snapshot.scan("incidents").filter(in_window).select("incident_id", "x_m", "y_m").collect()
    return (measured.join(cells.select("cell_id", "risk_class", "target_s"), on="cell_id", how="inner")
            .join(places, on="incident_id", how="left").sort("call_at", "incident_id"))


def _close(tasks: pl.DataFrame, at_tasks: pl.DataFrame, times: StationTimes, closed: str,
           candidates: list[str]) -> pl.DataFrame:
    """Add ``new_response_s``, ``source`` and ``new_station_id``: the tasks without the station."""
    served = tasks.filter(pl.col("station_id") == closed)
    others = (at_tasks.filter(pl.col("station_id") != closed).sort("own_s", "station_id")
              .group_by("incident_id", maintain_order=True)
              .agg(other_s=pl.col("own_s").first().cast(pl.Float64), other_station=pl.col("station_id").first()))
    unseen = served.join(others, on="incident_id", how="anti").drop_nulls(["x_m", "y_m"])
    best = (times.estimates(unseen, candidates).sort("estimate_s", "station_id")
            .group_by("incident_id", maintain_order=True)
            .agg(estimate_s=pl.col("estimate_s").first(), estimate_source=pl.col("source").first(),
                 estimate_station=pl.col("station_id").first()))
    is_served = pl.col("station_id") == closed
    replacement = pl.coalesce("other_s", "estimate_s")
    return (
        tasks.join(others, on="incident_id", how="left").join(best, on="incident_id", how="left")
        .with_columns(
            new_response_s=pl.when(is_served & replacement.is_not_null())
            .then(pl.max_horizontal(pl.col("response_s").cast(pl.Float64), replacement))
            .otherwise(pl.col("response_s").cast(pl.Float64)),
            source=pl.when(~is_served).then(pl.lit("unchanged"))
            .when(pl.col("other_s").is_not_null()).then(pl.lit("observed"))
            .when(pl.col("estimate_s").is_not_null()).then("estimate_source")
            .otherwise(pl.lit("unestimated")),
            new_station_id=pl.when(~is_served).then("station_id")
            .otherwise(pl.coalesce("other_station", "estimate_station")),
        )
        .drop("other_s", "other_station", "estimate_s", "estimate_source", "estimate_station")
    )


def _nearest_cell_m(cells: pl.DataFrame, at: tuple[float, float], size_m: int) -> float | None:
    """Straight-line distance from ``at`` to the nearest centre of ``cells`` (x_m, y_m: bottom-left corners)."""
    distance = ((pl.col("x_m") + size_m / 2 - at[0]) ** 2 + (pl.col("y_m") + size_m / 2 - at[1]) ** 2).sqrt()
    return cells.select(distance.min()).item()


def _unestimated_why(tasks: pl.DataFrame, times: StationTimes, candidates: list[str]) -> dict[str, int]:
    """The tasks left unestimated by why (see :attr:`ScenarioResult.unestimated_why`)."""
    unestimated = tasks.filter(pl.col("source") == "unestimated")
    located = unestimated.drop_nulls(["x_m", "y_m"])
    near = times.arrivals_near(located, candidates)["arrivals"] > 0
    return {"few": int(near.sum()), "none": int((~near).sum()), "unlocated": unestimated.height - located.height}


def _move(tasks: pl.DataFrame, at_tasks: pl.DataFrame, times: StationTimes, change: Change) -> pl.DataFrame:
    """Tasks without the station (from :func:`_close`) given the faster of that and the moved station."""
    station = change.station_id
    x, y = tasks["x_m"].to_numpy(), tasks["y_m"].to_numpy()
    model_old = pl.Series("model_old_s", times.model_time_s(station, x, y)).fill_nan(None)
    model_new = pl.Series("model_new_s", times.model_time_s(station, x, y, at=change.to_m)).fill_nan(None)
    arrived = at_tasks.filter(pl.col("station_id") == station).select("incident_id", "first_on_scene_at")
    observed = (pl.col("first_on_scene_at") - pl.col("alarm_at")).dt.total_seconds().cast(pl.Float64)
    shifted = observed + (pl.col("model_new_s") - pl.col("model_old_s"))  # a move to the same place adds exactly 0
    moved = (pl.when(observed.is_not_null()).then(shifted.clip(lower_bound=0.0))
             .when(pl.col("model_old_s") < pl.col("response_s")).then(pl.lit(None, pl.Float64))  # could have been first: busy
             .otherwise("model_new_s"))
    is_faster = pl.col("moved_s").is_not_null() & (pl.col("moved_s") < pl.col("new_response_s"))
    return (
        tasks.with_columns(model_old, model_new).join(arrived, on="incident_id", how="left")
        .with_columns(moved_s=moved)
        .with_columns(
            new_response_s=pl.when(is_faster).then("moved_s").otherwise("new_response_s"),
            source=pl.when(is_faster).then(pl.lit("moved_station")).otherwise("source"),
            new_station_id=pl.when(is_faster).then(pl.lit(station)).otherwise("new_station_id"),
        )
        .drop("model_old_s", "model_new_s", "first_on_scene_at", "moved_s")
    )


def _evidence(tasks: pl.DataFrame, response: str, by: list[str], settings: Settings, when: str) -> pl.DataFrame:
    judged = judge_groups(tasks.with_columns(response_s=pl.col(response), within=pl.col(response) <= pl.col("target_s")),
                          by, settings)
    names = {k: v.format(when) for k, v in _EVIDENCE.items() if k != "count"}
    return judged.select(*by, "count", "target_s", *names).rename(names)


def _compare(tasks: pl.DataFrame, snapshot: Snapshot, settings: Settings, evaluated_at: datetime,
             change: Change) -> ScenarioResult:
    before = _evidence(tasks, "response_s", ["cell_id"], settings, "before")
    after = _evidence(tasks, "new_response_s", ["cell_id"], settings, "after").drop("count", "target_s")
    counts = tasks.group_by("cell_id").agg(
        tasks_from_station=(pl.col("station_id") == change.station_id).sum().cast(pl.Int64),
        tasks_changed=(pl.col("new_response_s") != pl.col("response_s")).sum().cast(pl.Int64),
        **{f"tasks_{s}": (pl.col("source") == s).sum().cast(pl.Int64) for s in SOURCES},
    )
    local_year = evaluated_at.astimezone(ZoneInfo(settings.time.zone)).year
    grid = grid_at(snapshot, local_year).select("cell_id", "municipality_code")
    geometry = judged_cells(snapshot, settings, evaluated_at).select("cell_id", "x_m", "y_m", "risk_class")
    was, now = pl.col("is_over_before"), pl.col("is_over_after")
    change_s = pl.col("median_after_s") - pl.col("median_before_s")
    cells = (
        geometry.join(before, on="cell_id").join(after, on="cell_id").join(counts, on="cell_id")
        .join(grid, on="cell_id", how="left")
        .with_columns(change_s=change_s)
        .with_columns(status=pl.when(now & ~was).then(pl.lit("newly_over")).when(was & ~now).then(pl.lit("no_longer_over"))
                      .when(was & now).then(pl.lit("still_over")).when(change_s > 0).then(pl.lit("slower"))
                      .when(change_s < 0).then(pl.lit("faster")).otherwise(pl.lit("unchanged")))
        .sort("cell_id")
    )
    classes = _evidence(tasks, "response_s", ["risk_class"], settings, "before").join(
        _evidence(tasks, "new_response_s", ["risk_class"], settings, "after").drop("count", "target_s"),
        on="risk_class").sort("risk_class")
    areas, areas_before = _areas(tasks, cells, settings)
    return ScenarioResult(change, settings, evaluated_at, local_day(evaluated_at, settings),
                          settings.windows.trailing_days, settings.report.min_count_shown, cells, areas, classes, tasks,
                          areas_before, None)


def _areas(tasks: pl.DataFrame, cells: pl.DataFrame, settings: Settings) -> tuple[pl.DataFrame, int]:
    """Areas over target after the change (pooled evidence after and, for the same cells, before), and
    how many areas there were before."""
    def labelled(flag: str) -> pl.DataFrame:
        judged = cells.select("cell_id", "x_m", "y_m", "risk_class", is_flagged=flag)
        return label_areas(judged, settings).drop_nulls("area_key").select("cell_id", "area_key")

    members, before = labelled("is_over_after"), labelled("is_over_before")
    in_areas = tasks.join(members, on="cell_id")
    was_over = set(cells.filter("is_over_before")["cell_id"].to_list())
    areas = (
        members.group_by("area_key").agg(cells=pl.len().cast(pl.Int32), cell_ids=pl.col("cell_id").sort())
        .join(_evidence(in_areas, "new_response_s", ["area_key"], settings, "after"), on="area_key")
        .join(_evidence(in_areas, "response_s", ["area_key"], settings, "before").drop("count", "target_s"),
              on="area_key")
        .join(in_areas.group_by("area_key").agg(risk_class=pl.col("risk_class").first()), on="area_key")
        .with_columns(new_cells=pl.col("cell_ids").list.eval(pl.element().filter(~pl.element().is_in(list(was_over)))))
        .with_columns(is_new=pl.col("new_cells").list.len() == pl.col("cells"), change_s=pl.col("median_after_s")
                      - pl.col("median_before_s"))
    )
    certainty = pl.col("confidence_after").replace_strict(CONFIDENCE_ORDER, default=len(CONFIDENCE_ORDER))
    ranked = areas.with_columns(first_cell=pl.col("cell_ids").list.first()).sort(
        [certainty, "median_after_s", "count", "first_cell"], descending=[False, True, True, False])
    ranked = ranked.with_columns(area_id=pl.int_range(1, ranked.height + 1, dtype=pl.Int32)).drop("first_cell", "area_key")
    return ranked.select("area_id", pl.exclude("area_id")), before["area_key"].n_unique()
