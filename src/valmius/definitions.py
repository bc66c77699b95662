"""Definitions: the rules that decide a figure, named, versioned and hashed.

A *definition* is every choice that changes a number valmius prints: what starts and stops the
clock, which urgency classes, task types and unit types count, the targets, the trailing window and
calendar, the interval level, the median, tie and percentile conventions, the flag rule and its
minimum counts, the review, report and change-test thresholds, the grid's cell size and the time
zone. It is built from the settings (``definition.name`` names it) and written as one canonical
JSON document; its id is the first 12 hex digits of the document's sha256.

- **Versions.** The first document stored under a name is version 1 of that name; a run with any
  rule changed stores the next version. Nothing is overwritten: the derived tables (responses,
  rolling tables, flags, areas) hold one folder per definition, so the results of every version stay
  in the lake, each row carrying its ``definition_id``.
- **Traceable.** Reports, charts and CSV tables print ``name vN · id``; ``valmius definitions
  --show ID`` prints that definition back as settings that reproduce it, ``--diff A B`` the rules
  that differ between two.
- **Not in a definition**: paths, report language, data validation at ingest (it decides what enters
  the lake, shared by every definition) and the data itself (exports, risk grid, notes).

Conventions that are fixed in code are part of the document too (``CONVENTIONS``): when one of them
changes in a new valmius, ``method_version`` goes up and every definition gets a new id.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from valmius.columns import DEFINITIONS, TABLES
from valmius.errors import ValmiusError
from valmius.lake import Snapshot, SnapshotWriter, new_snapshot, open_lake
from valmius.runs import record_run
from valmius.settings import Settings

CONVENTIONS = {
    "method_version": 1,
    "response": "earliest on-scene time among the counted units minus the clock start, whole seconds",
    "first_unit": "earliest on scene; ties: earlier alarm, then smaller unit id",
    "within_target": "response_s <= target_s: exactly on target is within",
    "window": "(t - trailing_days, t]: the task at t and every task tied with it in time are inside",
    "median": "middle value; even count: mean of the two middle values",
    "interval": "distribution-free order-statistics interval of the median (binomial ranks)",
    "p90": "linear interpolation between order statistics (numpy 'linear', DuckDB quantile_cont)",
    "share_rule": "a cell is over by the share rule when under 50 % of its tasks are within target",
}
"""Rules fixed in code; ``method_version`` goes up whenever one of them changes."""

# Settings that decide figures, by section: every key of these is part of a definition.
_SECTIONS = {
    "counting": None, "targets_s": None, "windows": None, "flags": None, "change": None,
    "review": None, "report": ("min_count_shown",), "grid": ("crs", "cell_size_m"), "time": ("zone",),
}
ID_LENGTH = 12
MEASURE_SECTIONS = ("counting", "targets_s", "windows", "grid", "time")
"""The rules that shape responses and rolling tables (valmius measure); the rest shape only flags,
areas and what reports show."""


class DefinitionError(ValmiusError):
    """A definition asked for is not in the lake."""


@dataclass(frozen=True)
class Definition:
    definition_id: str
    name: str
    version: int | None
    """Version of the name; None: not stored yet (no run has made figures with it)."""
    document: dict

    @property
    def title(self) -> str:
        """``name vN`` (just the name while it is not stored)."""
        return self.name if self.version is None else f"{self.name} v{self.version}"

    @property
    def label(self) -> str:
        """``name vN · id``, as reports and charts print it."""
        return f"{self.title} · {self.definition_id}"


def document(settings: Settings) -> dict:
    """The definition the settings make: every rule that decides a figure."""
    rules: dict = {}
    for section, keys in _SECTIONS.items():
        value = getattr(settings, section)
        if isinstance(value, dict):
            rules[section] = {k: value[k] for k in sorted(value)}
        else:
            fields = value.__dataclass_fields__
            rules[section] = {k: getattr(value, k) for k in (keys or fields)}
    return {"name": settings.definition.name, "rules": rules, "conventions": CONVENTIONS}


def canonical(doc: dict) -> str:
    """The JSON text that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(doc: dict) -> str:
    return hashlib.sha256(canonical(doc).encode("utf-8")).hexdigest()


def definition_id(settings: Settings) -> str:
    """The id of the definition the settings make."""
    return sha256(document(settings))[:ID_LENGTH]


def open_results(settings: Settings) -> Snapshot:
    """The lake, reading the derived tables of the settings' definition."""
    return open_lake(settings.lake_path, definition_id(settings))


def stored(snapshot: Snapshot) -> pl.DataFrame:
    """The ``definitions`` table of ``snapshot``, oldest first."""
    return snapshot.scan("definitions").collect().sort("run_id", "definition_id")


def current(snapshot: Snapshot, settings: Settings) -> Definition:
    """The settings' definition, with its version when the lake has it."""
    doc = document(settings)
    the_id = sha256(doc)[:ID_LENGTH]
    row = stored(snapshot).filter(pl.col("definition_id") == the_id)
    return Definition(the_id, doc["name"], int(row["version"][0]) if row.height else None, doc)


def register(base: Snapshot, writer: SnapshotWriter, settings: Settings) -> Definition:
    """Store the settings' definition in the snapshot being written (when it is new): the next
    version of its name. The run writes the derived tables of this definition."""
    known = stored(base)
    doc = document(settings)
    digest = sha256(doc)
    the_id = digest[:ID_LENGTH]
    assert base.definition_id == the_id, "the run must write the derived tables of the settings' definition"
    row = known.filter(pl.col("definition_id") == the_id)
    if row.height:
        return Definition(the_id, doc["name"], int(row["version"][0]), doc)
    version = int(known.filter(pl.col("name") == doc["name"]).height) + 1
    record = pl.DataFrame([{
        "definition_id": the_id, "name": doc["name"], "version": version, "sha256": digest,
        "document_json": canonical(doc), "created_at": datetime.now(timezone.utc), "run_id": writer.snapshot_id,
    }], schema=DEFINITIONS.schema)
    writer.write_table("definitions", pl.concat([known.select(DEFINITIONS.names), record]))
    return Definition(the_id, doc["name"], version, doc)


def measured_twin(base: Snapshot, settings: Settings) -> str | None:
    """A stored definition, measured before, whose measure rules (``MEASURE_SECTIONS``) and
    conventions are the settings' own: its responses and rolling tables are this definition's too,
    so a new definition that changes only flag, review, report or change rules starts from them
    instead of measuring everything again. The most recently measured one; None: there is none."""
    doc = document(settings)

    def measure_rules(d: dict) -> dict:
        return {"rules": {k: d["rules"].get(k) for k in MEASURE_SECTIONS}, "conventions": d["conventions"]}

    wanted = measure_rules(doc)
    with_results = set(base.definitions_with("responses"))  # not one whose results were dropped
    same = [row["definition_id"] for row in stored(base).iter_rows(named=True)
            if row["definition_id"] in with_results and measure_rules(json.loads(row["document_json"])) == wanted]
    runs = (base.scan("runs").filter(pl.col("command") == "measure", pl.col("definition_id").is_in(same))
            .sort("run_id").collect())
    return runs["definition_id"][-1] if runs.height else None


def find(snapshot: Snapshot, ref: str) -> Definition:
    """A stored definition by id (or its first digits), ``name`` (its latest version) or ``name@vN``."""
    known = stored(snapshot)
    name, _, version = ref.partition("@v")
    if version.isdigit():
        rows = known.filter(pl.col("name") == name, pl.col("version") == int(version))
    else:
        rows = known.filter(pl.col("definition_id").str.starts_with(ref.lower())) if len(ref) >= 4 else known.clear()
        if rows.height == 0:
            rows = known.filter(pl.col("name") == ref).tail(1)
    if rows.height != 1:
        listed = ", ".join(f"{n}@v{v} ({i})" for i, n, v in known.select("definition_id", "name", "version").iter_rows())
        problem = "matches several definitions" if rows.height > 1 else "is not a definition in the lake"
        raise DefinitionError(f"{ref!r} {problem}; stored: {listed or 'none yet (run valmius measure)'}")
    row = rows.row(0, named=True)
    return Definition(row["definition_id"], row["name"], row["version"], json.loads(row["document_json"]))


def drop(settings: Settings, ref: str) -> Definition:
    """Remove the results of a stored definition (its responses, rolling tables, flags and areas)
    from the lake in one atomic commit, recorded in ``runs``. Its rules stay in ``definitions``, so
    a report that names it can still be traced. The settings' own definition is not dropped: its
    results are what valmius reads (``valmius measure --full`` recomputes them)."""
    started, started_at = time.perf_counter(), datetime.now(timezone.utc)
    with new_snapshot(settings.lake_path) as (base, writer):
        target = find(base, ref)
        if target.definition_id == definition_id(settings):
            raise DefinitionError(f"{target.label} is the definition the settings make: its results are what valmius "
                                  "reads, so it is not dropped (valmius measure --full recomputes them; to drop it, "
                                  "change the settings first)")
        tables = [name for name, table in TABLES.items()
                  if table.per_definition and target.definition_id in base.definitions_with(name)]
        if not tables:
            raise DefinitionError(f"{target.label} has no results in {settings.lake_path}: nothing to drop")
        writer.drop_definition(target.definition_id)
        record_run(base, writer, "drop-definition", started_at, time.perf_counter() - started,
                   {"dropped": target.definition_id, "label": target.label, "tables": tables})
    return target


def differences(a: Definition, b: Definition) -> list[tuple[str, object, object]]:
    """``(key, value in a, value in b)`` for every rule that differs, keys as settings name them."""
    flat_a, flat_b = flat_rules(a.document), flat_rules(b.document)
    return [(key, flat_a.get(key), flat_b.get(key)) for key in sorted(set(flat_a) | set(flat_b))
            if flat_a.get(key) != flat_b.get(key)]


def flat_rules(doc: dict) -> dict[str, object]:
    """A definition document as ``{"section.key": value}``, keys as the settings name them."""
    flat: dict[str, object] = {"definition.name": doc["name"]}
    for section, values in doc["rules"].items():
        for key, value in values.items():
            flat[f"{section}.{key}"] = value
    for key, value in doc["conventions"].items():
        flat[f"conventions.{key}"] = value
    return flat


def as_settings(definition: Definition) -> str:
    """The definition as a ``valmius.toml`` fragment that makes it again (conventions as comments)."""
    lines = [f"# Definition {definition.label}", "# Add [paths] and [report] language as needed.", "",
             "[definition]", f"name = {_toml(definition.name)}"]
    for section, values in definition.document["rules"].items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    lines += ["", "# Conventions fixed in code (valmius.definitions.CONVENTIONS):"]
    lines += [f"#   {key}: {value}" for key, value in definition.document["conventions"].items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def listing(snapshot: Snapshot, settings: Settings) -> pl.DataFrame:
    """Every stored definition with what it holds: responses stored, the last run that wrote it, and
    whether the settings make it (``active``)."""
    active = definition_id(settings)
    runs = (snapshot.scan("runs").drop_nulls("definition_id").group_by("definition_id")
            .agg(last_run_at=pl.col("finished_at").max()).collect())
    rows = []
    for row in stored(snapshot).iter_rows(named=True):
        responses = snapshot.for_definition(row["definition_id"]).scan("responses").select(pl.len()).collect().item()
        rows.append({"active": "*" if row["definition_id"] == active else "", "definition_id": row["definition_id"],
                     "name": row["name"], "version": row["version"], "created_at": row["created_at"],
                     "responses": responses})
    frame = pl.DataFrame(rows, schema={"active": pl.String, "definition_id": pl.String, "name": pl.String,
                                       "version": pl.Int32, "created_at": DEFINITIONS.schema["created_at"],
                                       "responses": pl.Int64})
    return frame.join(runs, on="definition_id", how="left")


def require_results(snapshot: Snapshot, settings: Settings) -> None:
    """A clear error when the lake holds incidents but the settings' definition has measured none:
    its results are made by ``valmius measure`` (or the nightly run) with these settings."""
    if snapshot.partitions("responses") or not snapshot.partitions("incidents"):
        return
    others = ", ".join(f"{n} v{v} · {i}" for i, n, v in stored(snapshot).select("definition_id", "name", "version").iter_rows())
    raise DefinitionError(
        f"definition {current(snapshot, settings).label} has no results in {settings.lake_path} yet: run `valmius "
        f"measure` (or `valmius nightly`) with these settings first" + (f" (the lake holds results of {others})" if others else ""))
