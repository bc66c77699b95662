"""Settings: one strict TOML file, ``valmius.toml``.

Defaults are the documented Finnish rules (see ``../shared/DOMAIN.md`` and the README's settings
table). A settings file only needs the keys it changes. Unknown keys and values of the wrong type
are errors that name the key and the file. Paths in a settings file are relative to its folder.

Example::

    [paths]
    lake = "lake"

    [counting]
    urgent_classes = ["A", "B", "C"]   # count C tasks as urgent too

    [targets_s]
    I = 360
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from valmius.errors import LakeError, SettingsError

DEFAULT_SETTINGS_FILE = "valmius.toml"
RISK_CLASSES = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class PathSettings:
    lake: Path = Path("lake")
    """Folder of the Parquet lake."""
    inbox: Path = Path("inbox")
    """Folder where nightly export files arrive."""
    catalog: Path = Path("valmius.duckdb")
    """DuckDB catalog file with a view per lake table."""
    reports: Path = Path("reports")
    """Folder where valmius report writes its dated report folders."""
    archive: Path = Path("archive")
    """Folder where the nightly run moves the inbox files it has ingested (or had ingested before)."""
    rejected: Path = Path("rejected")
    """Folder where the nightly run moves inbox files it could not read at all, each with a .reason.txt."""
    stations: Path = Path("stations.csv")
    """CSV of station locations (station_id, x_m, y_m in grid metres) for valmius scenario; --move needs it."""


@dataclass(frozen=True)
class TimeSettings:
    zone: str = "Europe/Helsinki"
    """Local time zone of the department: calendar months, hours of day and reports use it."""


@dataclass(frozen=True)
class GridSettings:
    crs: str = "EPSG:3067"
    """Metric coordinate system of the risk grid and of stored x_m, y_m (ETRS-TM35FIN)."""
    cell_size_m: int = 1000
    """Side of a risk cell in metres (1000, or 250 for the finer national grid)."""
    extent_m: list[float] = field(default_factory=lambda: [50_000.0, 6_600_000.0, 780_000.0, 7_800_000.0])
    """Plausible area [x_min, y_min, x_max, y_max] in grid metres; locations outside are kept and marked."""


@dataclass(frozen=True)
class DefinitionSettings:
    name: str = "default"
    """Name of the definition these settings make (valmius definitions): figures carry it with a version and a hash."""


@dataclass(frozen=True)
class CountingSettings:
    clock_start: str = "alarm"
    """What starts the clock: "alarm" (the first counted unit alarmed: the Finnish rule) or "call" (call received, as in Sweden)."""
    urgent_classes: list[str] = field(default_factory=list)
    """Urgency classes that count as urgent. Empty: as the source mapping says (Finnish: A and B)."""
    unit_types: list[str] = field(default_factory=list)
    """Unit types whose times count towards response time. Empty: every unit type counts."""
    task_types: list[str] = field(default_factory=list)
    """Task types (or their leading codes) that count. Empty: every task type counts."""


@dataclass(frozen=True)
class ValidationSettings:
    max_interval_s: int = 86_400
    """Longest plausible gap between consecutive status times up to on-scene; longer is quarantined."""
    max_task_duration_s: int = 7 * 86_400
    """Longest plausible time from the last status time to the unit being free again."""
    max_future_s: int = 3_600
    """How far after the run's own clock a status time may be (clock skew); later is quarantined."""
    first_year: int = 1990
    """Status times before 1 January of this year (local) are quarantined as a mistyped year."""


@dataclass(frozen=True)
class WindowSettings:
    trailing_days: int = 365
    """Length of the trailing window of rolling medians, in days."""
    calendar: str = "month"
    """Calendar step of rolling medians on a calendar: day, week (from Monday) or month, in local time."""
    ci_level: float = 0.95
    """Coverage of the distribution-free confidence interval of a median (order statistics)."""


@dataclass(frozen=True)
class FlagSettings:
    risk_classes: list[str] = field(default_factory=lambda: ["I"])
    """Risk classes whose cells are judged, flagged and joined into areas (the strategy's target is for class I)."""
    rule: str = "median"
    """What flags a cell: "median" (median over the target, the strategy's rule) or "share" (under 50 % within target)."""
    min_tasks: int = 10
    """Cells and areas with fewer measured tasks in the window are flagged with confidence too_few_tasks."""
    neighbourhood: int = 8
    """Flagged cells that touch form one area: 8 (sides and corners) or 4 (sides only)."""
    review_years: int = 4
    """Years of the review period, ending with the evaluated year once the window reaches into its
    December (else the year before): a problem cell misses its target in each."""


@dataclass(frozen=True)
class ReportSettings:
    language: str = "fi"
    """Language of report labels: "fi" (Finnish) or "en" (English)."""
    min_count_shown: int = 5
    """Counts from 1 to under this are shown as "< N" (0 is shown), and no median or share of fewer tasks is shown."""


@dataclass(frozen=True)
class ReviewSettings:
    national_mean_target_s: int = 560
    """National target for the mean response time over all urgent tasks, in seconds (9 min 20 s)."""


@dataclass(frozen=True)
class ScenarioSettings:
    history_days: int = 730
    """Days of measured urgent tasks, ending with the judged window, from which valmius scenario learns station-to-cell times."""
    min_observations: int = 5
    """Fewest arrivals of a station in a cell (else its neighbourhood) whose median valmius scenario uses; fewer: the next fallback."""
    neighbour_rings: int = 1
    """Rings of cells around a cell pooled when a station has too few arrivals in the cell itself (1: the 3 x 3 block; 0: none)."""


@dataclass(frozen=True)
class ChangeSettings:
    fdr: float = 0.05
    """False discovery rate: a change is marked when its Benjamini-Hochberg q-value over all comparisons made is at most this."""
    min_tasks: int = 10
    """Fewest measured tasks in each period for a group to be compared; smaller groups are listed as not tested."""
    permutations: int = 9999
    """Random splits of the pooled tasks per comparison (the smallest p-value is 1 / (permutations + 1))."""
    stop_after_extreme: int = 100
    """Stop drawing splits once this many are as extreme as the observed one (Besag-Clifford; 0: always draw all)."""
    bootstraps: int = 1999
    """Bootstrap resamples for the interval of the median change (its level is windows.ci_level)."""
    statistic: str = "rank"
    """Test statistic: "rank" (Mann-Whitney rank sum: more power for a shift of the whole distribution) or "median" (difference of medians)."""
    seed: int = 0
    """Seed of the random splits and resamples: the same data and seed give the same result."""


def _default_targets() -> dict[str, int]:
    return {"I": 360, "II": 600, "III": 1200, "IV": 2400}


@dataclass(frozen=True)
class Settings:
    """All settings. Build with :func:`load_settings`; defaults need no file."""

    paths: PathSettings = field(default_factory=PathSettings)
    definition: DefinitionSettings = field(default_factory=DefinitionSettings)
    time: TimeSettings = field(default_factory=TimeSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    counting: CountingSettings = field(default_factory=CountingSettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    windows: WindowSettings = field(default_factory=WindowSettings)
    flags: FlagSettings = field(default_factory=FlagSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    scenario: ScenarioSettings = field(default_factory=ScenarioSettings)
    change: ChangeSettings = field(default_factory=ChangeSettings)
    targets_s: dict[str, int] = field(default_factory=_default_targets)
    """Response-time target of the first unit per risk class, in seconds (IV: no firm target)."""
    source: Path | None = None
    """The settings file these came from (None: built-in defaults)."""

    @property
    def lake_path(self) -> Path:
        return self.paths.lake


def load_settings(path: Path | str | None = None) -> Settings:
    """Read settings from ``path``; without a path, ``./valmius.toml`` if it exists, else defaults.

    Relative paths inside the file are resolved against the file's folder.
    """
    explicit = path is not None
    file = Path(path) if explicit else Path(DEFAULT_SETTINGS_FILE)
    if not file.exists():
        if explicit:
            raise SettingsError(f"{file}: settings file not found; check the --config path")
        return _resolve_paths(Settings(), Path.cwd())
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{file}: not valid TOML: {exc}") from exc
    settings = _build(Settings, raw, file, prefix="")
    settings = dataclasses.replace(settings, source=file.resolve())
    _check(settings, file)
    return _resolve_paths(settings, file.resolve().parent)


def require_lake(settings: Settings) -> Settings:
    """``settings`` when their lake folder (``paths.lake``) exists; else a :class:`LakeError` that
    names the folder and, when no settings file was read, says so. For the commands that read the
    lake: run where there is none, they would work on nothing (and leave a catalog or a report of
    nothing behind)."""
    lake = settings.lake_path
    if lake.is_dir():
        return settings
    if settings.source is None:
        raise LakeError(f"no lake here ({lake}): ingest exports first (valmius ingest FILES, or valmius nightly), "
                        f"or give --config SETTINGS of a project (there is no {DEFAULT_SETTINGS_FILE} in this folder)")
    raise LakeError(f"no lake at {lake} (paths.lake of {settings.source}): ingest exports first (valmius ingest "
                    f"FILES, or valmius nightly), or correct paths.lake")


def settings_table(settings: Settings | None = None) -> list[tuple[str, str, str]]:
    """(key, value, meaning) for every setting (defaults unless ``settings`` is given)."""
    rows: list[tuple[str, str, str]] = []
    defaults = settings or Settings()
    for section in dataclasses.fields(Settings):
        if section.name == "source":
            continue
        value = getattr(defaults, section.name)
        if dataclasses.is_dataclass(value):
            docs = _field_docs(type(value))
            for sub in dataclasses.fields(value):
                rows.append((f"{section.name}.{sub.name}", _show(getattr(value, sub.name)), docs.get(sub.name, "")))
        else:
            rows.append((section.name, _show(value), _field_docs(Settings).get(section.name, "")))
    return rows


def _show(value: object) -> str:
    if isinstance(value, Path):
        return f'"{value}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {v}" for k, v in value.items()) + " }"
    return repr(value).replace("'", '"')


def _field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings (the string under each field) read from the source, for the docs."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for prev, node in zip(body, body[1:]):
        if isinstance(prev, ast.AnnAssign) and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docs[prev.target.id] = str(node.value.value)  # type: ignore[union-attr]
    return docs


def _build(cls: type, raw: dict, file: Path, prefix: str):
    if not isinstance(raw, dict):
        raise SettingsError(f"{file}: [{prefix.rstrip('.')}] must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(
                f"{file}: unknown key '{prefix}{key}'; known keys here: {', '.join(sorted(known))}"
            )
        expected = hints[key]
        if dataclasses.is_dataclass(expected):
            values[key] = _build(expected, value, file, prefix=f"{prefix}{key}.")
        else:
            values[key] = _convert(value, expected, file, f"{prefix}{key}")
    if cls is Settings and "targets_s" in values:
        values["targets_s"] = {**_default_targets(), **values["targets_s"]}
    return cls(**values)


def _convert(value: object, expected: object, file: Path, key: str):
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return _convert(value, next(a for a in args if a is not type(None)), file, key)
    if expected is Path:
        if not isinstance(value, str):
            raise _type_error(file, key, "a path as a string", value)
        return Path(value)
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(file, key, "a number", value)
        return float(value)
    if expected in (int, str, bool):
        if type(value) is not expected:
            raise _type_error(file, key, {int: "a whole number", str: "a string", bool: "true or false"}[expected], value)
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _type_error(file, key, "a list", value)
        return [_convert(v, args[0], file, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _type_error(file, key, "a table", value)
        return {str(k): _convert(v, args[1], file, f"{key}.{k}") for k, v in value.items()}
    raise SettingsError(f"{file}: key '{key}' has an unsupported type")  # pragma: no cover


def _type_error(file: Path, key: str, expected: str, value: object) -> SettingsError:
    return SettingsError(f"{file}: key '{key}' must be {expected}, not {value!r}")


def _check(settings: Settings, file: Path) -> None:
    unknown = sorted(set(settings.targets_s) - set(RISK_CLASSES))
    if unknown:
        raise SettingsError(f"{file}: unknown key 'targets_s.{unknown[0]}'; risk classes are I, II, III, IV")
    if any(v <= 0 for v in settings.targets_s.values()):
        raise SettingsError(f"{file}: targets_s values must be positive seconds")
    try:
        ZoneInfo(settings.time.zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"{file}: key 'time.zone': unknown time zone {settings.time.zone!r}") from exc
    if settings.grid.cell_size_m <= 0:
        raise SettingsError(f"{file}: key 'grid.cell_size_m' must be a positive number of metres")
    if len(settings.grid.extent_m) != 4:
        raise SettingsError(f"{file}: key 'grid.extent_m' must be [x_min, y_min, x_max, y_max]")
    if settings.counting.clock_start not in ("alarm", "call"):
        raise SettingsError(f"{file}: key 'counting.clock_start' must be \"alarm\" or \"call\"")
    if not settings.definition.name.strip():
        raise SettingsError(f"{file}: key 'definition.name' must not be empty")
    if settings.windows.calendar not in ("day", "week", "month"):
        raise SettingsError(f"{file}: key 'windows.calendar' must be \"day\", \"week\" or \"month\"")
    if not 0.5 <= settings.windows.ci_level < 1:
        raise SettingsError(f"{file}: key 'windows.ci_level' must be a coverage such as 0.95 (at least 0.5, below 1)")
    unknown_classes = sorted(set(settings.flags.risk_classes) - set(RISK_CLASSES))
    if unknown_classes:
        raise SettingsError(f"{file}: key 'flags.risk_classes': unknown risk class {unknown_classes[0]!r}; use I, II, III, IV")
    if settings.flags.rule not in ("median", "share"):
        raise SettingsError(f"{file}: key 'flags.rule' must be \"median\" or \"share\"")
    if settings.flags.neighbourhood not in (4, 8):
        raise SettingsError(f"{file}: key 'flags.neighbourhood' must be 4 or 8")
    if settings.flags.min_tasks < 1 or settings.flags.review_years < 1:
        raise SettingsError(f"{file}: keys 'flags.min_tasks' and 'flags.review_years' must be at least 1")
    if settings.report.language not in ("fi", "en"):
        raise SettingsError(f"{file}: key 'report.language' must be \"fi\" or \"en\"")
    if settings.report.min_count_shown < 1:
        raise SettingsError(f"{file}: key 'report.min_count_shown' must be at least 1")
    if settings.review.national_mean_target_s <= 0:
        raise SettingsError(f"{file}: key 'review.national_mean_target_s' must be a positive number of seconds")
    if settings.scenario.history_days <= 0 or settings.scenario.min_observations < 1 or settings.scenario.neighbour_rings < 0:
        raise SettingsError(f"{file}: keys 'scenario.history_days' and 'scenario.min_observations' must be at least 1, "
                            "'scenario.neighbour_rings' at least 0")
    change = settings.change
    if not 0 < change.fdr < 1:
        raise SettingsError(f"{file}: key 'change.fdr' must be a rate between 0 and 1, such as 0.05")
    if change.min_tasks < 2 or change.permutations < 1 or change.stop_after_extreme < 0 or change.bootstraps < 0:
        raise SettingsError(f"{file}: keys 'change.min_tasks' (at least 2), 'change.permutations' (at least 1), "
                            f"'change.stop_after_extreme' and 'change.bootstraps' (at least 0) are out of range")
    if change.statistic not in ("rank", "median"):
        raise SettingsError(f"{file}: key 'change.statistic' must be \"rank\" or \"median\"")
    if settings.windows.trailing_days <= 0:
        raise SettingsError(f"{file}: key 'windows.trailing_days' must be a positive number of days")


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    paths = settings.paths
    resolved = PathSettings(**{f.name: base / getattr(paths, f.name) for f in dataclasses.fields(paths)})
    return dataclasses.replace(settings, paths=resolved)
