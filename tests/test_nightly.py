"""The nightly run: inbox to archive or rejected, one run at a time, exit codes, and a run of nights
with overlapping exports, corrections and a killed run equal to one full rebuild."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from conftest import fi_row, project_paths, table, write_fi
from valmius.cli import main
from valmius.demo import build_world, write_nightly_exports, write_world
from valmius.demo.run import EARLIER_DEMO_SETTINGS, run_demo
from valmius.errors import LakeError
from valmius.flags import FlagSummary, flag, net_changes
from valmius.grid import import_risk_grid
from valmius.ingest import FileReport, IngestSummary, ingest
from valmius.mapping import load_mapping
from valmius.measure import MeasureSummary, measure
from valmius.pipeline import NightSummary, inbox_files, nightly, nightly_lock
from valmius.report import ReportResult
from valmius.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
FI = load_mapping("fi-erc")


def _config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "valmius.toml"
    config.write_text('[paths]\nlake = "lake"\ninbox = "inbox"\nreports = "reports"\n', encoding="utf-8")
    return config


def test_inbox_files_are_archived_or_rejected_with_a_reason(settings, tmp_path):
    inbox = settings.paths.inbox
    inbox.mkdir()
    write_fi(inbox / "a-2025-01-03.csv", [fi_row(), fi_row(incident="2025-000002", unit="KU102")])
    (inbox / "b-broken.csv").write_text("not;an;export\n1;2;3\n", encoding="utf-8")
    (inbox / "c-sheet.xlsx").write_bytes(b"PK\x03\x04\x14\x00\x06\x00;\x08\x00\x00\x00!\x00\n")  # a spreadsheet
    shutil.copy(inbox / "a-2025-01-03.csv", tmp_path / "again.csv")
    night = nightly(settings, FI, report=False)
    assert night.moved == {"archive": ["a-2025-01-03.csv"], "rejected": ["b-broken.csv", "c-sheet.xlsx"]}
    assert not any(inbox.iterdir())
    reason = (settings.paths.rejected / "b-broken.csv.reason.txt").read_text()
    assert reason.startswith(f"b-broken.csv could not be read, so nothing of it is in the lake; moved here from {inbox}.")
    assert "column" in reason
    binary = (settings.paths.rejected / "c-sheet.xlsx.reason.txt").read_text()
    assert "not a text export" in binary and all(c.isprintable() for c in binary.replace("\n", ""))
    assert night.has_failures and set(night.stage_s) == {"ingest", "measure", "flag", "catalog"}
    assert settings.paths.catalog.exists()

    # The same content again: skipped, and archived beside the first under a free name.
    shutil.copy(tmp_path / "again.csv", inbox / "a-2025-01-03.csv")
    second = nightly(settings, FI, report=False)
    assert second.ingest.files[0].status == "skipped"
    assert sorted(p.name for p in settings.paths.archive.iterdir()) == ["a-2025-01-03.1.csv", "a-2025-01-03.csv"]

    runs = table(settings, "runs").filter(pl.col("command") == "nightly").sort("run_id")
    assert runs.height == 2
    first = runs.row(0, named=True)
    assert (first["files_read"], first["rows_stored"]) == (1, 2)
    summary = json.loads(first["summary_json"])
    assert set(summary["stage_s"]) == {"ingest", "measure", "flag", "catalog"}
    assert summary["measure"]["incidents"] == 2 and summary["moved"]["rejected"] == ["b-broken.csv", "c-sheet.xlsx"]


def test_files_still_being_written_are_left_in_the_inbox(settings):
    inbox = settings.paths.inbox
    inbox.mkdir()
    names = ["b.csv", "a.csv", ".c.csv", "d.csv.part", "e.csv.TMP", "f.csv.filepart", "g.csv.partial", "h.csv~"]
    for name in names:
        write_fi(inbox / name, [fi_row()])
    (inbox / "folder.csv").mkdir()
    assert [p.name for p in inbox_files(settings)] == ["a.csv", "b.csv"]


def test_a_night_lists_the_runs_since_the_last_night(settings, tmp_path):
    """The stages an interrupted night finished, or commands run by hand, are named by the next night."""
    inbox = settings.paths.inbox
    inbox.mkdir()
    write_fi(inbox / "a.csv", [fi_row()])
    first = nightly(settings, FI, report=False)
    assert first.earlier_runs == []
    by_hand = ingest([write_fi(tmp_path / "b.csv", [fi_row(incident="2025-000002")])], FI, settings).run_id
    flag(settings)
    second = nightly(settings, FI, report=False)
    assert second.earlier_runs == [(by_hand, "ingest"), (by_hand + 1, "flag")]
    assert len(second.earlier_flags) == 1
    assert f"Since the last nightly run, runs {by_hand} ingest, {by_hand + 1} flag changed the lake" in second.to_text()
    row = table(settings, "runs").filter(pl.col("run_id") == second.run_id).row(0, named=True)
    assert json.loads(row["summary_json"])["runs_since_last_night"] == [
        {"run_id": by_hand, "command": "ingest"}, {"run_id": by_hand + 1, "command": "flag"}]
    assert nightly(settings, FI, report=False).earlier_runs == []


def test_many_runs_since_the_last_night_are_counted_by_command():
    """The first nightly run after the demo follows 369 runs: one line counts them by command and
    names the flag runs that changed flags; the JSON keeps every run."""
    from valmius.ingest import IngestSummary
    from valmius.pipeline import NightSummary

    runs = [(1, "grid import"), (2, "grid import"), *((3 + i, "ingest") for i in range(365)), (368, "measure"),
            (369, "flag"), (370, "flag"), (371, "flag")]
    flags = [FlagSummary(appeared=["1kmN6684E388"], run_id=369), FlagSummary(run_id=370),
             FlagSummary(cleared=["1kmN6684E388"], run_id=371)]
    night = NightSummary(IngestSummary(Path("lake"), None, []), earlier_runs=runs, earlier_flags=flags)
    lines = night.to_text().splitlines()
    assert ("Since the last nightly run, 371 runs changed the lake (runs 1 to 371; an interrupted night, or commands "
            "run by hand): 2 grid import, 365 ingest, 1 measure, 3 flag; flags changed by runs 369, 371") in lines
    assert not any("3 ingest, 4 ingest" in line for line in lines)
    assert len(night.to_dict()["runs_since_last_night"]) == 371
    from valmius.pipeline import EARLIER_RUNS_LISTED

    few = NightSummary(night.ingest, earlier_runs=runs[-EARLIER_RUNS_LISTED:], earlier_flags=flags)
    assert ("Since the last nightly run, runs 367 ingest, 368 measure, 369 flag (flags changed), 370 flag, "
            "371 flag (flags changed) changed the lake") in few.to_text()
    many = NightSummary(night.ingest, earlier_runs=[(i, "flag") for i in range(1, 11)],
                        earlier_flags=[FlagSummary(appeared=[str(i)], run_id=i) for i in range(1, 11)])
    assert many.to_text().splitlines()[-3].endswith(": 10 flag; 10 flag runs changed flags, 1 to 10")


def test_the_first_nightly_run_after_the_demo_finds_nothing_waiting(tmp_path):
    """The demo's inbox is a folder of its own, not that of the exports it has ingested."""
    demo = run_demo(tmp_path / "demo", nights=2)
    settings = load_settings(tmp_path / "demo" / "valmius.toml")
    night = nightly(settings, FI, report=False)
    assert night.ingest.files == [] and night.moved == {}
    assert night.to_text().startswith("No export files waiting: nothing ingested\nMeasured ")
    assert len(list((tmp_path / "demo" / "exports").glob("*.csv"))) == 365
    assert f"reads new exports from {settings.paths.inbox};" in demo.to_text()
    # A demo folder of an earlier valmius, its settings unedited, gets the new settings.
    (tmp_path / "demo" / "valmius.toml").write_text(EARLIER_DEMO_SETTINGS, encoding="utf-8")
    run_demo(tmp_path / "demo", nights=2)
    assert load_settings(tmp_path / "demo" / "valmius.toml").paths.inbox == settings.paths.inbox


def test_flag_changes_add_up_over_runs():
    runs = [FlagSummary(appeared=["a", "b"], cleared=["x"]), FlagSummary(appeared=["x"], cleared=["a"]),
            FlagSummary(appeared=["c"], cleared=["y"])]
    assert net_changes(runs) == (["b", "c"], ["y"])  # a came and went, x went and came back
    assert net_changes([]) == ([], [])


def test_one_nightly_run_at_a_time(settings):
    with nightly_lock(settings):
        with pytest.raises(LakeError, match=f"another nightly run \\(process {os.getpid()}\\) is still going"):
            nightly(settings, FI, files=[Path("unused.csv")])


def test_exit_codes(tmp_path):
    config = _config(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    run = ["--config", str(config), "nightly", "--format", "fi-erc", "--quiet", "--no-report"]
    write_fi(inbox / "clean.csv", [fi_row()])
    assert CliRunner().invoke(main, run).exit_code == 0
    write_fi(inbox / "warn.csv", [fi_row(incident="2025-000009", urgency="?")])
    assert CliRunner().invoke(main, run).exit_code == 3
    (inbox / "fail.csv").write_text("nothing useful\n", encoding="utf-8")
    result = CliRunner().invoke(main, run)
    assert result.exit_code == 1 and "Error:" in result.output
    assert CliRunner().invoke(main, ["nightly", "--help"]).output.count("Example") == 1


def _comparable(settings: Settings) -> dict[str, pl.DataFrame]:
    """The derived tables, sorted, without the bookkeeping that differs between runs."""
    keys = {"units": ["incident_id", "unit_id"], "incidents": ["incident_id"], "responses": ["incident_id"],
            "rolling_events": ["grouping", "group_key", "incident_id"],
            "rolling_calendar": ["grouping", "group_key", "at"], "flags": ["cell_id"], "areas": ["area_id"]}
    tables = {name: table(settings, name).sort(by) for name, by in keys.items()}
    # Rejected and replaced rows, each with its reason (a replaced row names the row that replaced it).
    tables["quarantine"] = table(settings, "quarantine").drop("quarantined_at", "run_id").sort(
        "source_file", "source_row", "column", nulls_last=True)
    return tables


def test_nights_with_a_killed_run_equal_one_full_rebuild(tmp_path):
    world = build_world(0)
    # A month of nights across the change to summer time (30 March) and into April: the first night
    # of a month adds a calendar point to every group.
    exports = write_nightly_exports(world, tmp_path / "exports", date(2025, 3, 16), date(2025, 4, 16), seed=5)
    project = tmp_path / "nightly"
    config = _config(project)
    write_world(world, tmp_path / "world", years=(2025,))
    settings = Settings(paths=project_paths(project))
    import_risk_grid(tmp_path / "world" / "risk_grid_2025.csv", 2025, settings)
    inbox = settings.paths.inbox
    inbox.mkdir()
    killed_at = 15
    for index, export in enumerate(exports):
        shutil.copy(export, inbox / export.name)
        if index != killed_at:
            nightly(settings, FI, report=False)
            continue
        # Kill a run while a stage is writing its snapshot; the next night carries on from there.
        proc = subprocess.Popen([sys.executable, "-m", "valmius", "--config", str(config), "nightly",
                                 "--format", "fi-erc", "--quiet"], cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 120
        while not any((settings.lake_path / ".snapshots").glob("*.tmp")) and proc.poll() is None:
            assert time.monotonic() < deadline, "the nightly run never started writing"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    nightly_runs = table(settings, "runs").filter(pl.col("command") == "nightly")
    assert nightly_runs.height == len(exports) - 1  # the killed run left no row
    assert not any(inbox.iterdir())
    assert sorted(p.name for p in settings.paths.archive.iterdir()) == sorted(p.name for p in exports)
    assert table(settings, "files")["source_file"].sort().to_list() == sorted(p.name for p in exports)

    rebuilt = Settings(paths=project_paths(tmp_path / "rebuilt"))
    import_risk_grid(tmp_path / "world" / "risk_grid_2025.csv", 2025, rebuilt)
    ingest(exports, FI, rebuilt)
    measure(rebuilt, full=True)
    flag(rebuilt)
    nights, full = _comparable(settings), _comparable(rebuilt)
    for name in nights:
        assert nights[name].equals(full[name]), name
    # The nights' runs rows add up to the one ingest of the rebuild (its ingest stage and its own row).
    counts = ["files_read", "rows_read", "rows_stored", "rows_quarantined", "rows_replaced"]
    ingest_runs = table(rebuilt, "runs").filter(pl.col("command") == "ingest").select(counts)
    for command in ("ingest", "nightly"):
        night_sums = table(settings, "runs").filter(pl.col("command") == command).select(pl.col(counts).sum())
        assert night_sums.equals(ingest_runs), command
    assert ingest_runs["rows_replaced"][0] > 0 and nights["quarantine"]["reason_code"].n_unique() >= 3
    assert nights["flags"].height > 0 and nights["responses"].height > 100


def test_the_summaries_say_a_count_of_one_in_the_singular():
    """The terminal's English: "1 partition", "1 area", "1 file", never "1 partitions"; other counts
    in the plural as before."""
    evening = datetime(2025, 6, 30, 20, 59, 59, tzinfo=timezone.utc)
    reports = Path("reports") / "report-2025-06-30"
    night = NightSummary(
        ingest=IngestSummary(Path("lake"), 7, [FileReport("a.csv", "ingested", rows_read=1, rows_stored=1,
                                                          message="new")], incidents_touched=1, partitions_written=1),
        measure=MeasureSummary("incremental", incidents=1, measured=1),
        flags=FlagSummary(evaluated_at=evening, last_day=date(2025, 6, 30), cells_evaluated=1,
                          flagged={"certain": 1}, areas=1, problem_cells=1),
        report=ReportResult(reports, reports / "report.html", evening, date(2025, 6, 30), flagged_cells=1, areas=1,
                            files=[reports / "report.html"]),
        moved={"archive": ["a.csv"]})
    lines = night.to_text().splitlines()
    assert "  a.csv: 1 row read, 1 stored, 0 quarantined (new)" in lines
    assert "Incidents touched: 1 in 1 partition; 0.0 s" in lines
    assert "Measured 1 incident (incremental); 1 urgent task with a response enters the rolling medians" in lines
    assert ("Flags for the window ending with 2025-06-30: 1 cell judged, 1 over target (1 certain) in 1 area; "
            "1 problem cell; since the last evaluation 0 appeared, 0 cleared") in lines
    assert f"Report for the window ending with 2025-06-30: 1 flagged cell in 1 area; 1 file in {reports}" in lines
    assert "Moved to archive: 1 file" in lines
    many = NightSummary(ingest=night.ingest, measure=MeasureSummary("full", incidents=0, measured=12_345),
                        flags=FlagSummary(evaluated_at=evening, last_day=date(2025, 6, 30), cells_evaluated=2,
                                          areas=0, problem_cells=3))
    text = many.to_text()
    assert "Measured 0 incidents (full); 12,345 urgent tasks with a response enter the rolling medians" in text
    assert ": 2 cells judged, 0 over target (none) in 0 areas; 3 problem cells;" in text
