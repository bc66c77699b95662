"""Definitions: every figure traced to the named, versioned, hashed rules that made it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from datetime import date

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from conftest import fi_row, table, write_fi

from valmius import definitions
from valmius.catalog import connect_catalog, refresh_catalog
from valmius.cli import main
from valmius.columns import TABLES
from valmius.definitions import DefinitionError, definition_id, open_results
from valmius.flags import flag
from valmius.ingest import ingest
from valmius.mapping import load_mapping
from valmius.measure import measure
from valmius.report import write_report
from valmius.settings import (CountingSettings, DefinitionSettings, FlagSettings, ReportSettings, Settings,
                              load_settings)


def test_the_id_is_the_hash_of_the_rules_and_nothing_else(settings):
    same = dataclasses.replace(settings, report=ReportSettings(language="en"))  # language: not a rule
    assert definition_id(same) == definition_id(settings) == definition_id(Settings())  # paths: not a rule
    changed = [
        dataclasses.replace(settings, targets_s={**settings.targets_s, "I": 300}),
        dataclasses.replace(settings, counting=CountingSettings(clock_start="call")),
        dataclasses.replace(settings, counting=CountingSettings(urgent_classes=["A"])),
        dataclasses.replace(settings, flags=FlagSettings(rule="share")),
        dataclasses.replace(settings, report=ReportSettings(min_count_shown=3)),
        dataclasses.replace(settings, definition=DefinitionSettings(name="strategy 2026")),
    ]
    ids = {definition_id(s) for s in changed} | {definition_id(settings)}
    assert len(ids) == len(changed) + 1
    doc = definitions.document(settings)
    assert definition_id(settings) == hashlib.sha256(definitions.canonical(doc).encode()).hexdigest()[:12]
    assert doc["conventions"]["method_version"] >= 1 and doc["rules"]["windows"]["trailing_days"] == 365


def test_two_definitions_over_one_lake_keep_both_results_labelled(sample_lake):
    alarm = sample_lake
    call = dataclasses.replace(alarm, counting=CountingSettings(clock_start="call"))
    flag(alarm)
    kept = {name: table(alarm, name) for name in ("responses", "rolling_events", "rolling_calendar", "flags", "areas")}
    with pytest.raises(DefinitionError, match="has no results"):
        flag(call)
    assert measure(call).mode == "full"
    flag(call)
    for name, frame in kept.items():  # the first definition's results are as they were
        assert table(alarm, name).equals(frame), name
    by_alarm, by_call = table(alarm, "responses"), table(call, "responses")
    assert by_alarm.height == by_call.height
    both = by_alarm.join(by_call, on="incident_id", suffix="_call").filter(pl.col("response_s").is_not_null())
    assert both.height > 0
    assert both["response_s_call"].to_list() == (both["response_s"] + both["erc_s"]).to_list()

    stored = table(alarm, "definitions").sort("version")
    assert stored.select("definition_id", "name", "version").rows() == [
        (definition_id(alarm), "default", 1), (definition_id(call), "default", 2)]
    for row in stored.iter_rows(named=True):  # the stored hash is the hash of the stored document
        assert hashlib.sha256(row["document_json"].encode()).hexdigest() == row["sha256"]
        assert row["sha256"].startswith(row["definition_id"])
    runs = table(alarm, "runs").filter(pl.col("command").is_in(["measure", "flag"]))
    assert set(runs["definition_id"]) == {definition_id(alarm), definition_id(call)}
    # In the lake every derived row sits in its definition's folder.
    folders = {p.name for p in (alarm.lake_path / "responses").iterdir()}
    assert folders == {f"definition_id={definition_id(alarm)}", f"definition_id={definition_id(call)}"}

    # SQL: the plain view is the settings' definition, *_all_definitions holds both, labelled.
    refresh_catalog(call)
    con = connect_catalog(call)
    assert con.execute("SELECT DISTINCT definition_id FROM responses").fetchall() == [(definition_id(call),)]
    labelled = con.execute("SELECT definition_id, definition_name, count(*) FROM responses_all_definitions "
                           "GROUP BY ALL ORDER BY 1").fetchall()
    assert labelled == sorted([(definition_id(alarm), "default", by_alarm.height),
                               (definition_id(call), "default", by_call.height)])
    con.close()


def test_a_report_is_traced_back_to_its_settings(sample_lake, tmp_path):
    custom = dataclasses.replace(sample_lake, definition=DefinitionSettings(name="tiukka"),
                                 targets_s={**sample_lake.targets_s, "I": 300})
    measure(custom)
    flag(custom)
    result = write_report(custom, today=date(2025, 2, 1))
    page = result.html.read_text(encoding="utf-8")
    found = re.findall(r"Määritelmä: tiukka v1 · ([0-9a-f]{12})", page)
    assert found and set(found) == {definition_id(custom)}
    specs = re.findall(r"vegaEmbed\('#chart-(\w+)', (\{.*?\}), options\)", page)
    assert specs and all(f"tiukka v1 · {definition_id(custom)}" in json.dumps(json.loads(s)["title"], ensure_ascii=False)
                         for _, s in specs)
    svg = next((result.folder / "charts").glob("*.svg")).read_text(encoding="utf-8")
    assert definition_id(custom) in svg
    cells = pl.read_csv(result.folder / "tables" / "cells.csv")
    assert set(cells["definition_id"]) == {definition_id(custom)} and set(cells["definition"]) == {"tiukka v1"}

    # From the hash on the page back to settings that make the same definition again.
    runner = CliRunner()
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{sample_lake.lake_path}"\n', encoding="utf-8")
    shown = runner.invoke(main, ["--config", str(config), "definitions", "--show", found[0]])
    assert shown.exit_code == 0, shown.output
    assert tomllib.loads(shown.output)["targets_s"]["I"] == 300
    rebuilt = tmp_path / "rebuilt.toml"
    rebuilt.write_text(config.read_text() + "\n" + shown.output, encoding="utf-8")
    assert definition_id(load_settings(rebuilt)) == found[0]


def test_definitions_command_lists_shows_and_compares(sample_lake, tmp_path):
    share = dataclasses.replace(sample_lake, flags=FlagSettings(rule="share", min_tasks=5))
    measure(share)
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{sample_lake.lake_path}"\n[flags]\nrule = "share"\nmin_tasks = 5\n', encoding="utf-8")
    runner = CliRunner()
    listed = runner.invoke(main, ["--config", str(config), "definitions"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert f"The settings make definition default v2 · {definition_id(share)}" in listed.output
    assert definition_id(sample_lake) in listed.output
    diff = runner.invoke(main, ["--config", str(config), "definitions", "--diff", "default@v1", definition_id(share)[:6]])
    assert diff.exit_code == 0, diff.output
    assert "2 rules differ" in diff.output
    assert "flags.rule: 'median' → 'share'" in diff.output and "flags.min_tasks: 10 → 5" in diff.output
    unknown = runner.invoke(main, ["--config", str(config), "definitions", "--show", "nosuch"])
    assert unknown.exit_code != 0 and "'nosuch' is not a definition in the lake" in unknown.output
    assert "default@v1" in unknown.output and "Traceback" not in unknown.output


MEASURED = ("responses", "rolling_events", "rolling_calendar")


def test_a_definition_that_changes_only_flag_rules_starts_from_links_and_leaves_the_original_alone(sample_lake, tmp_path):
    share = dataclasses.replace(sample_lake, flags=FlagSettings(rule="share"))
    before = {name: table(sample_lake, name) for name in MEASURED}
    first = measure(share)
    assert first.measured_like == definition_id(sample_lake) and first.responses_changed == 0
    for name in MEASURED:
        assert table(share, name).equals(before[name]), name
    # New data: the new definition measures it into its own files; the original's stay as they were.
    ingest([write_fi(tmp_path / "late.csv", [fi_row(incident="2025-late-1")])], load_mapping("fi-erc"), share)
    assert measure(share).responses_changed == 1
    assert table(share, "responses").height == before["responses"].height + 1
    for name in MEASURED:
        assert table(sample_lake, name).equals(before[name]), name
    assert measure(sample_lake).responses_changed == 1  # and the original measures it when asked
    assert table(sample_lake, "responses").sort("incident_id").equals(table(share, "responses").sort("incident_id"))


def test_same_rules_under_another_name_are_another_definition_with_its_own_version(sample_lake):
    other = dataclasses.replace(sample_lake, definition=DefinitionSettings(name="board 2026"))
    measure(other)
    snapshot = open_results(other)
    assert definitions.find(snapshot, "board 2026").version == 1
    assert definitions.find(snapshot, "default").version == 1
    assert definitions.differences(definitions.find(snapshot, "default"), definitions.find(snapshot, "board 2026")) == [
        ("definition.name", "default", "board 2026")]
    assert table(other, "responses").equals(table(sample_lake, "responses"))


def test_the_catalog_of_a_definition_without_results_is_empty_not_wrong(sample_lake):
    fresh = dataclasses.replace(sample_lake, targets_s={**sample_lake.targets_s, "II": 540})
    refresh_catalog(fresh)
    con = duckdb.connect(str(fresh.paths.catalog), read_only=True, config={"file_search_path": str(fresh.paths.catalog.parent)})
    assert con.execute("SELECT count(*) FROM responses").fetchall() == [(0,)]
    assert con.execute("SELECT count(DISTINCT definition_id) FROM responses_all_definitions").fetchall() == [(1,)]
    con.close()


def test_dropping_a_definition_removes_its_results_keeps_its_rules_and_leaves_the_rest(sample_lake, tmp_path):
    board = dataclasses.replace(sample_lake, definition=DefinitionSettings(name="board 2026"))
    measure(board)
    flag(board)
    flag(sample_lake)
    derived = [name for name, spec in TABLES.items() if spec.per_definition]
    before = {name: table(sample_lake, name) for name in derived}
    config = tmp_path / "valmius.toml"
    config.write_text(f'[paths]\nlake = "{sample_lake.lake_path}"\n', encoding="utf-8")
    runner = CliRunner()

    dropped = runner.invoke(main, ["--config", str(config), "definitions", "--drop", "board 2026"])
    assert dropped.exit_code == 0, dropped.output
    assert f"Dropped the results of board 2026 v1 · {definition_id(board)}" in dropped.output
    snapshot = open_results(sample_lake)
    for name in derived:
        assert snapshot.definitions_with(name) == [definition_id(sample_lake)], name
        assert table(sample_lake, name).equals(before[name]), name
    assert definitions.find(snapshot, "board 2026").definition_id == definition_id(board)  # the rules stay
    runs = snapshot.scan("runs").collect().sort("run_id")
    assert runs["command"][-1] == "drop-definition"
    assert json.loads(runs["summary_json"][-1])["dropped"] == definition_id(board)
    with pytest.raises(DefinitionError, match="run `valmius measure`"):
        flag(board)
    con = connect_catalog(sample_lake)
    assert con.execute("SELECT list(DISTINCT definition_id) FROM responses_all_definitions").fetchone()[0] == [
        definition_id(sample_lake)]
    con.close()

    again = runner.invoke(main, ["--config", str(config), "definitions", "--drop", definition_id(board)])
    assert again.exit_code != 0 and "has no results" in again.output and "Traceback" not in again.output
    own = runner.invoke(main, ["--config", str(config), "definitions", "--drop", "default"])
    assert own.exit_code != 0 and "is the definition the settings make" in own.output
    assert table(sample_lake, "responses").equals(before["responses"])


def test_a_new_definition_does_not_start_from_one_whose_results_were_dropped(sample_lake):
    share = dataclasses.replace(sample_lake, flags=FlagSettings(rule="share"))
    assert measure(share).measured_like == definition_id(sample_lake)
    # share is now the most recently measured definition with these measure rules; drop its results
    definitions.drop(sample_lake, definition_id(share))
    both = dataclasses.replace(sample_lake, flags=FlagSettings(min_tasks=5))
    assert measure(both).measured_like == definition_id(sample_lake)
    assert table(both, "responses").equals(table(sample_lake, "responses"))
    assert table(both, "rolling_events").equals(table(sample_lake, "rolling_events"))
