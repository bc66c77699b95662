"""The command line: help with examples, one-line errors, exit codes a scheduler can act on."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import fi_row, write_fi
from valmius.cli import EXIT_ERROR, EXIT_OK, EXIT_WARNINGS, main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.mark.parametrize("command", [[], ["ingest"], ["schema"], ["formats"], ["settings"], ["sql"], ["catalog"]])
def test_every_command_has_help_with_an_example(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Example" in result.output


def _help_texts(command=main) -> list[str]:
    """The help of ``command`` and of every command under it."""
    texts = [command.help or ""]
    for sub in getattr(command, "commands", {}).values():
        texts += _help_texts(sub)
    return texts


def test_help_examples_name_repository_files_that_exist():
    """An example naming a file of the repository (data/, queries/) finds it from the repository's root
    (valmius ingest showed data/demo/exports/*.csv; the sample exports are in data/demo/sample/)."""
    root = Path(__file__).resolve().parents[1]
    named = {match for text in _help_texts() for match in re.findall(r"(?<![\w/])(?:data|queries)/[\w./*-]+", text)}
    assert "data/demo/sample/*.csv" in named and "queries/class_i_by_month.sql" in named
    assert [name for name in sorted(named) if not list(root.glob(name))] == []


def test_note_examples_run_on_the_demo_lake(tmp_path):
    """The incident in the annotate and notes examples is, in the demo lake, an urgent class I task
    over target (2025-004711, the earlier example, is urgency C there: annotate refused it). Its
    nights of the demo's exports (seed 1, corrections included) are enough to check it."""
    from datetime import date

    from valmius.demo import build_world, write_nightly_exports, write_world
    from valmius.grid import import_risk_grid
    from valmius.ingest import ingest
    from valmius.mapping import load_mapping
    from valmius.measure import measure
    from valmius.settings import load_settings

    world = build_world(seed=0)
    write_world(world, tmp_path / "world", years=2025)
    config = tmp_path / "valmius.toml"
    config.write_text('[paths]\nlake = "lake"\n', encoding="utf-8")
    settings = load_settings(config)
    import_risk_grid(tmp_path / "world" / "risk_grid_2025.csv", 2025, settings)
    for night in write_nightly_exports(world, tmp_path / "exports", date(2025, 12, 18), date(2025, 12, 29), seed=1):
        ingest([night], load_mapping("fi-erc"), settings)
    measure(settings)
    examples = [shlex.split(line.strip())[1:] for text in _help_texts() for line in text.splitlines()
                if line.strip().startswith(("valmius annotate", "valmius notes --incident"))]
    assert len(examples) == 3
    for example in examples:
        result = CliRunner().invoke(main, ["--config", str(config), *example])
        assert result.exit_code == 0, (example, result.output)
        if example[0] == "annotate":
            assert "response 7:52 against a target of 6:00" in result.output


def test_the_nightly_runs_earlier_name_works_but_is_not_listed(run, tmp_path):
    commands = [line.split()[0] for line in run("--help").output.split("Commands:", 1)[1].splitlines()
                if line.startswith("  ") and not line.startswith("   ")]
    assert "nightly" in commands and "run" not in commands
    (tmp_path / "inbox").mkdir()
    write_fi(tmp_path / "inbox" / "night.csv", [fi_row()])
    result = run("run", "--format", "fi-erc", "--quiet", "--no-report")
    assert result.exit_code == EXIT_OK and "night.csv" in result.output
    assert (tmp_path / "archive" / "night.csv").is_file()


def test_ingest_exit_codes_and_summary(run, tmp_path):
    clean = write_fi(tmp_path / "clean.csv", [fi_row()])
    dirty = write_fi(tmp_path / "dirty.csv", [fi_row(incident="2"), fi_row(incident="3", urgency="Q")])
    result = run("ingest", str(clean), "--format", "fi-erc", "--quiet")
    assert result.exit_code == EXIT_OK and "Rows stored:" in result.output
    result = run("ingest", str(dirty), "--format", "fi-erc", "--json")
    assert result.exit_code == EXIT_WARNINGS
    summary = json.loads(result.output)
    assert summary["rows_quarantined"] == 1 and summary["quarantined_by_reason"] == {"unknown_urgency": 1}
    assert (tmp_path / "lake" / "units").is_dir()


def test_errors_are_one_line_without_traceback(run, tmp_path):
    result = run("ingest", str(tmp_path / "missing.csv"), "--format", "fi-erc", "--quiet")
    assert result.exit_code == EXIT_ERROR
    assert "Error: " in result.output and "missing.csv: file not found" in result.output
    assert "Traceback" not in result.output
    result = run("ingest", "x.csv", "--format", "nope")
    assert result.exit_code == EXIT_ERROR and result.output.startswith("Error: unknown format 'nope'")
    (tmp_path / "valmius.toml").write_text("[paths]\nlakes = 'x'\n")
    result = run("formats")
    assert result.exit_code == EXIT_OK  # formats needs no settings
    result = run("settings")
    assert result.exit_code == EXIT_ERROR and "unknown key 'paths.lakes'" in result.output


def test_config_option_and_settings_listing(run, tmp_path):
    (tmp_path / "conf.toml").write_text("[targets_s]\nI = 300\n")
    result = run("--config", str(tmp_path / "conf.toml"), "settings")
    assert result.exit_code == EXIT_OK
    assert "targets_s = { I = 300, II = 600, III = 1200, IV = 2400 }" in result.output


READING_COMMANDS = [
    ["sql", "class_i_by_month"], ["sql", "-c", "select 1"], ["catalog"], ["report"], ["review", "--from", "2024", "--to", "2025"],
    ["scenario", "--close", "KU12"], ["flag"], ["measure"], ["change"], ["notes"], ["definitions"],
    ["definitions", "--drop", "default@v1"], ["annotate", "2025-000001", "--reason", "other", "--note", "x"],
    ["grid", "show"],
]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=" ".join)
def test_a_command_that_reads_the_lake_stops_where_there_is_none(run, tmp_path, command):
    """Run in a folder without valmius.toml, it worked on nothing: valmius sql printed 0 rows and
    left a valmius.duckdb, valmius report wrote an empty report; now one error line and nothing made."""
    result = run(*command)
    assert result.exit_code == EXIT_ERROR
    assert result.output == (f"Error: no lake here ({Path.cwd() / 'lake'}): ingest exports first (valmius ingest FILES, "
                             "or valmius nightly), or give --config SETTINGS of a project (there is no valmius.toml "
                             "in this folder)\n")
    assert not list(tmp_path.iterdir())


def test_a_settings_file_whose_lake_is_missing_is_named(run, tmp_path):
    (tmp_path / "conf.toml").write_text('[paths]\nlake = "data/lake"\n')
    result = run("--config", "conf.toml", "report")
    assert result.exit_code == EXIT_ERROR
    assert result.output == (f"Error: no lake at {tmp_path.resolve() / 'data' / 'lake'} (paths.lake of "
                             f"{tmp_path.resolve() / 'conf.toml'}): ingest exports first (valmius ingest FILES, or "
                             "valmius nightly), or correct paths.lake\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf.toml"]


@pytest.mark.parametrize("command", [["ingest", "night.csv", "--format", "fi-erc", "--quiet"],
                                     ["nightly", "night.csv", "--format", "fi-erc", "--quiet", "--no-report"],
                                     ["grid", "import", "grid.csv", "--year", "2025"]], ids=lambda c: c[0])
def test_the_commands_that_make_the_lake_make_it_from_nothing(run, tmp_path, command):
    write_fi(tmp_path / "night.csv", [fi_row()])
    (tmp_path / "grid.csv").write_text("x_m,y_m,risk_class\n393000,6711000,I\n")
    result = run(*command)
    assert result.exit_code == EXIT_OK, result.output
    assert (tmp_path / "lake").is_dir()


def test_schema_lists_tables(run):
    result = run("schema", "--table", "units")
    assert "`on_scene_at`" in result.output and "`reason_code`" not in result.output
    assert run("schema", "--table", "nope").exit_code == EXIT_ERROR


def test_command_line_process_settings_come_before_numpy():
    """The command line sets up NumPy before anything imports it: one OpenBLAS thread, no
    transparent huge pages asked for."""
    code = ("import sys, valmius.cli; assert 'numpy' not in sys.modules; import numpy; "
            "print(numpy._core.multiarray._get_madvise_hugepage())")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMPY_MADVISE_HUGEPAGE", "OPENBLAS_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "False"
