"""Review notes: why an urgent response was over target, recorded by an analyst.

``valmius annotate INCIDENT --reason CODE --note TEXT`` appends a row to the ``notes`` table, in one
atomic commit with its ``runs`` row. Notes are the analysts' own data:

- **Never derived from the exports.** Ingest, measure (``--full`` too), flag and the nightly run do
  not write ``notes``; every new snapshot keeps it as it was (a hard link), so notes survive
  re-ingest of the same incidents, corrections and rebuilds of the measures.
- **Never read by the statistics.** Responses, rolling medians, flags and areas are the same with or
  without notes; the report only counts, per flagged area, how many of its late responses are
  explained and by which reasons.
- **Validated.** The incident must be in the lake and its reason one of :data:`NOTE_REASONS`. It
  must be over target now: a measured urgent task whose response exceeded the target of its cell's
  risk class. Otherwise the note is refused with the reason, unless ``force`` is given (e.g. an
  incident without a measured response that still deserves an explanation); a forced note is
  marked ``is_forced``.
- **History kept.** A newer note for the same incident supersedes the older one
  (``supersedes_note_id``); the newest counts, the older ones stay in the table.

If a later export corrects an incident so that it is no longer late, its note stays but no longer
counts in the report (only late responses are counted).
"""

from __future__ import annotations

import getpass
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from valmius.columns import NOTES
from valmius.errors import ValmiusError
from valmius.labels import count_text, mmss, text
from valmius.definitions import definition_id, open_results
from valmius.lake import Snapshot, SnapshotWriter, lake_lock, open_lake
from valmius.runs import record_run
from valmius.settings import Settings

NOTE_REASONS: dict[str, str] = {
    "wrong_address": "the address given was wrong or too vague to find the scene",
    "road_closed": "the road was closed or blocked (roadworks, accident, weather)",
    "simultaneous_tasks": "several tasks at the same time drew on the same units",
    "unit_busy": "the nearest unit was already on another task",
    "other": "another reason, told in the note",
}
"""The reason codes of a review note and what each means (labels: ``note_<code>`` in valmius.labels)."""


class NoteError(ValmiusError):
    """A review note cannot be recorded: unknown incident or reason, or the response was not late."""


@dataclass
class NoteResult:
    """The note that :func:`annotate` stored."""

    note_id: int
    incident_id: str
    reason_code: str
    noted_by: str
    noted_at: datetime
    supersedes_note_id: int | None
    is_forced: bool
    lateness: str

    def to_text(self) -> str:
        replaced = f"; it supersedes note {self.supersedes_note_id}" if self.supersedes_note_id is not None else ""
        forced = " (forced)" if self.is_forced else ""
        return (f"Note {self.note_id} on incident {self.incident_id}: {self.reason_code}{forced}, by {self.noted_by} "
                f"at {self.noted_at:%Y-%m-%d %H:%M} UTC; {self.lateness}{replaced}")


def default_author() -> str:
    """The OS user, the default ``--by``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return f"uid {os.getuid()}"


def annotate(settings: Settings, incident_id: str, reason: str, note: str, *, by: str | None = None,
             force: bool = False, now: datetime | None = None) -> NoteResult:
    """Record why ``incident_id``'s response was over target; return the stored note.

    Raises :class:`NoteError` for an unknown reason, an empty note, an incident not in the lake, or
    one that is not over target (unless ``force``).
    """
    if reason not in NOTE_REASONS:
        known = ", ".join(f"{code} ({meaning})" for code, meaning in NOTE_REASONS.items())
        raise NoteError(f"unknown reason {reason!r}; use one of: {known}")
    if not note.strip():
        raise NoteError(f"incident {incident_id}: the note is empty; say in words why the response was late (--note)")
    author = (by or default_author()).strip()
    started, noted_at = time.perf_counter(), now or datetime.now(timezone.utc)
    root = settings.lake_path
    with lake_lock(root):
        base = open_lake(root)
        response, lateness = _check_late(base.for_definition(definition_id(settings)), incident_id, force)
        notes = base.scan("notes").collect()
        earlier = notes.filter(pl.col("incident_id") == incident_id)
        supersedes = int(earlier["note_id"].max()) if earlier.height else None  # type: ignore[arg-type]
        note_id = int(notes["note_id"].max() or 0) + 1  # type: ignore[operator]
        writer = SnapshotWriter(base)
        try:
            row = pl.DataFrame([{
                "note_id": note_id, "incident_id": incident_id, "reason_code": reason, "note": note.strip(),
                "noted_by": author, "noted_at": noted_at, "response_s": response.get("response_s"),
                "target_s": response.get("target_s"), "is_forced": lateness is not None,
                "supersedes_note_id": supersedes, "run_id": writer.snapshot_id,
            }], schema=NOTES.schema)
            writer.write_table("notes", pl.concat([notes.select(NOTES.names), row]))
            result = NoteResult(note_id, incident_id, reason, author, noted_at, supersedes, lateness is not None,
                                lateness or _late_text(response))
            record_run(base, writer, "annotate", datetime.now(timezone.utc), time.perf_counter() - started,
                       {k: str(v) for k, v in vars(result).items()}, rows_stored=1)
            writer.commit()
        except BaseException:
            writer.abandon()
            raise
    return result


def _late_text(response: dict) -> str:
    return f"response {mmss(response['response_s'])} against a target of {mmss(response['target_s'])}"


def _check_late(snapshot: Snapshot, incident_id: str, force: bool) -> tuple[dict, str | None]:
    """The incident's response row and, when it is not over target, why not (allowed with ``force``)."""
    known = snapshot.scan("incidents").filter(pl.col("incident_id") == incident_id).select("incident_id").collect()
    if known.height == 0:
        raise NoteError(f"incident {incident_id!r} is not in the lake at {snapshot.root} (table incidents); check "
                        "the id, e.g. valmius sql -c \"select incident_id, call_at from incidents where incident_id "
                        f"like '%{incident_id[-6:]}%'\"")
    rows = snapshot.scan("responses").filter(pl.col("incident_id") == incident_id).collect()
    response = rows.row(0, named=True) if rows.height else {}
    if not response:
        why = "has not been measured yet (run valmius measure)"
    elif not response["is_urgent"]:
        why = f"is not an urgent task (urgency {response['urgency']})"
    elif not response["is_counted_task"]:
        why = f"is not of a counted task type ({response['task_type']})"
    elif response["response_s"] is None:
        why = f"has no response time ({response['no_response_reason']})"
    elif response["target_s"] is None:
        why = "has no risk class, so no target"
    elif response["response_s"] <= response["target_s"]:
        why = f"was within its target ({_late_text(response)})"
    else:
        return response, None
    if not force:
        raise NoteError(f"incident {incident_id} {why}: notes explain urgent responses over target; "
                        "pass --force to record the note anyway")
    return response, f"not over target: it {why}"


def latest_notes(snapshot: Snapshot) -> pl.DataFrame:
    """The note that counts for each incident: its newest."""
    notes = snapshot.scan("notes").collect()
    return notes.sort("note_id").group_by("incident_id", maintain_order=True).last()


def list_notes(settings: Settings, *, incident_id: str | None = None, history: bool = False) -> pl.DataFrame:
    """Notes, newest first: the one that counts per incident, or every note with ``history``."""
    snapshot = open_results(settings)
    notes = snapshot.scan("notes").collect() if history else latest_notes(snapshot)
    if incident_id is not None:
        notes = notes.filter(pl.col("incident_id") == incident_id)
    return notes.sort("note_id", descending=True).select(
        "note_id", "incident_id", "reason_code", "note", "noted_by", "noted_at", "response_s", "target_s",
        "is_forced", "supersedes_note_id")


def explained_by_area(snapshot: Snapshot, areas: pl.DataFrame) -> pl.DataFrame:
    """Per area: its late responses (measured tasks of its cells in its window, over the area's
    target), how many of them have a note, and how many per reason (``note_<code>``)."""
    reason_counts = {f"note_{code}": (pl.col("reason_code") == code).sum() for code in NOTE_REASONS}
    schema = {"area_id": pl.Int32, "late": pl.Int64, "explained": pl.Int64, **{k: pl.Int64 for k in reason_counts}}
    if areas.height == 0:
        return pl.DataFrame(schema=schema)
    cells = areas.select("area_id", "cell_ids", "target_s", "evaluated_at", "window_days").explode("cell_ids").rename(
        {"cell_ids": "cell_id"})
    measured = snapshot.scan("responses").filter(pl.col("is_measured")).select(
        "incident_id", "cell_id", "call_at", "response_s").collect()
    start = pl.col("evaluated_at") - pl.duration(days=pl.col("window_days"))
    late = (cells.join(measured, on="cell_id")
            .filter(pl.col("call_at") > start, pl.col("call_at") <= pl.col("evaluated_at"),
                    pl.col("response_s") > pl.col("target_s"))
            .join(latest_notes(snapshot).select("incident_id", "reason_code"), on="incident_id", how="left"))
    counted = late.group_by("area_id").agg(late=pl.len(), explained=pl.col("reason_code").is_not_null().sum(),
                                           **reason_counts)
    return (areas.select("area_id").join(counted, on="area_id", how="left")
            .with_columns(pl.exclude("area_id").fill_null(0)).select(
                [pl.col(name).cast(dtype) for name, dtype in schema.items()]))


def explained_text(explained: pl.DataFrame, language: str, min_count: int) -> pl.DataFrame:
    """area_id and ``explained``: "explained/late: reason n, ..." as the report shows it (counts
    under ``min_count`` as ``< N``; zero as 0)."""
    rows = []
    for row in explained.iter_rows(named=True):
        words = text("note_explained_text", language, explained=count_text(row["explained"], min_count),
                     late=count_text(row["late"], min_count))
        reasons = ", ".join(f"{text(f'note_{code}', language)} {count_text(row[f'note_{code}'], min_count)}"
                            for code in NOTE_REASONS if row[f"note_{code}"])
        rows.append((row["area_id"], f"{words}: {reasons}" if reasons else words))
    return pl.DataFrame(rows, schema={"area_id": pl.Int32, "explained": pl.String}, orient="row")
