"""The ingest's fast paths give the same answers as the plain ways they replace."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from conftest import fi_row, table, write_fi
from valmius import store
from valmius.columns import INCIDENTS, UNITS
from valmius.ingest import ingest
from valmius.kernels import timestamps as ts
from valmius.mapping import load_mapping
from valmius.settings import PathSettings
from valmius.transform import _pad_municipality_codes

FI = load_mapping("fi-erc")


def _naive_spread(incident_id: pl.Series, part: pl.Series) -> pl.DataFrame:
    return (pl.DataFrame({"incident_id": incident_id, "_part": part}).group_by("incident_id")
            .agg(pl.col("_part").min().alias("p_min"), pl.col("_part").max().alias("p_max")))


def _spread(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by("incident_id").agg(pl.col("p_min").min(), pl.col("p_max").max()).sort("incident_id")


def test_batch_spread_matches_group_by():
    cases = {
        "runs in one partition each": (["a", "a", "b", "c", "c"], [202501, 202501, 202501, 202502, 202502]),
        "incident split over partitions": (["a", "a", "b", "b"], [202501, 202502, 202502, 202502]),
        "incident listed twice": (["a", "b", "a", "c"], [202501, 202502, 202503, 202503]),
        "one row": (["a"], [202501]),
    }
    for name, (ids, parts) in cases.items():
        ids_s, parts_s = pl.Series("incident_id", ids), pl.Series("_part", parts, dtype=pl.Int32)
        assert _spread(store._batch_spread(ids_s, parts_s)).equals(_naive_spread(ids_s, parts_s).sort("incident_id")), name


def _random_units(seed: int, n: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        call = rng.choice([1_700_000_000, 1_703_000_000, 1_706_000_000]) * 1_000_000
        rows.append({
            "incident_id": f"i{rng.randrange(n // 3 + 1)}", "unit_id": rng.choice(["KU101", "KU102", "E39"]),
            "unit_type": rng.choice(["a", "b"]), "station_id": "KU10", "call_at": call, "alarm_at": call + 60_000_000,
            "en_route_at": None, "on_scene_at": rng.choice([None, call + 600_000_000]), "free_at": None,
            "never_arrived": False, "has_zero_interval": False, "source_file": f"f{i % 3}.csv",
            "source_row": i + 2, "file_seq": rng.randrange(1, 4),
        })
    frame = pl.DataFrame(rows).with_columns(pl.col(c).cast(pl.Int64) for c in ("call_at", "alarm_at", "en_route_at", "on_scene_at", "free_at"))
    return frame.select(pl.col(name).cast(dtype) for name, dtype in UNITS.schema.items())


def _with_incident_values(units: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``units`` with their incident's place and urgency as staged rows have them (a few values, so
    that some rows differ from the row replacing them only there)."""
    rng = random.Random(seed)
    return units.with_columns(x_m=pl.Series([rng.choice([393_000.0, 393_500.0]) for _ in range(units.height)]),
                              urgency=pl.Series([rng.choice(["A", "B"]) for _ in range(units.height)]))


def _naive_newest_units(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Newest row per key by a plain Python loop; each replaced row with the next newer row of its
    key, the one that replaced it, on every value but the source's (the incident's too, when given)."""
    ordered = sorted(rows.iter_rows(named=True), key=lambda r: (r["incident_id"], r["unit_id"], -r["file_seq"], -r["source_row"]))
    winners, replaced, newer = [], [], None
    values = [c for c in rows.columns if c not in ("source_file", "source_row", "file_seq")]
    for row in ordered:
        if newer is None or (row["incident_id"], row["unit_id"]) != (newer["incident_id"], newer["unit_id"]):
            winners.append(row)
        else:
            same = all(row[c] == newer[c] for c in values)
            replaced.append((row["source_file"], row["source_row"], "duplicate" if same else "superseded",
                             f"replaced by {newer['source_file']} line {newer['source_row']} (newer export of the same incident and unit)"))
        newer = row
    return (pl.DataFrame(winners, schema=rows.schema).select(UNITS.schema.names()),
            pl.DataFrame(replaced, schema=["source_file", "source_row", "reason_code", "reason"], orient="row"))


@pytest.mark.parametrize("with_incident_values", [False, True], ids=["unit rows", "with their incident's values"])
@pytest.mark.parametrize("incidents_in_id_order", [False, True], ids=["any order (Polars sorts)", "id order (kernel)"])
def test_newest_units_matches_a_plain_loop(incidents_in_id_order, with_incident_values):
    for seed in range(5):
        rows = _random_units(seed, 300)
        if with_incident_values:
            rows = _with_incident_values(rows, seed)
        if incidents_in_id_order:
            rows = rows.sort("incident_id", maintain_order=True)
        winners, replaced = store.newest_units(rows)
        want_winners, want_replaced = _naive_newest_units(rows)
        assert winners.equals(want_winners), seed
        got = replaced.select("source_file", "source_row", "reason_code", "reason")
        assert got.equals(want_replaced), seed
        assert replaced.height > 0 and replaced["raw_row"].null_count() == 0
        assert all(('"x_m"' in raw) == with_incident_values for raw in replaced["raw_row"])


def test_newest_units_without_duplicates_is_the_key_order():
    rows = _random_units(1, 200).unique(subset=["incident_id", "unit_id"], keep="first", maintain_order=True)
    winners, replaced = store.newest_units(rows)
    assert replaced.height == 0
    assert winners.equals(rows.sort("incident_id", "unit_id"))


def test_municipality_codes_are_padded_only_when_short():
    padded = _pad_municipality_codes(pl.DataFrame({"municipality_code": ["92", "092", "5", "SF", None, "1234"]}))
    assert padded["municipality_code"].to_list() == ["092", "092", "005", "SF", None, "1234"]
    untouched = pl.DataFrame({"municipality_code": ["092", "186", None, "B12"]})
    assert _pad_municipality_codes(untouched).equals(untouched)


def test_parse_to_utc_writes_into_given_arrays():
    values = pa.array(["3.1.2025 07:05:09", "", "31.2.2025 10:00:00", "26.10.2025 03:30:00", "x"])
    pattern = ts.compile_format(FI.timestamp_format)
    expected = ts.parse_to_utc(values, pattern, FI.time_zone)
    out = (np.zeros((3, 5), dtype=np.int64)[0], np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int8))
    ts.parse_to_utc(values, pattern, FI.time_zone, out=out)
    for got, want in zip(out, expected):
        assert np.array_equal(got, want)


def _months_export(tmp_path, name: str, months: list[int], units: int = 2) -> object:
    rows = []
    for m in months:
        for k in range(3):
            for u in range(units):
                day = f"{k + 3}.{m}.2025"
                rows.append(fi_row(incident=f"2025-{m:02d}{k}", unit=f"KU10{u}", call=f"{day} 07:05:09", alarm=f"{day} 07:06:30",
                                   en_route=f"{day} 07:07:25", on_scene=f"{day} 07:12:40", free=f"{day} 08:01:00"))
    rows.append(rows[0])  # a duplicate row
    rows.append(fi_row(incident="2025-010", unit="KU100", call="3.5.2025 07:05:09", alarm="3.5.2025 07:06:30",
                       en_route="3.5.2025 07:07:25", on_scene="3.5.2025 07:12:40", free="3.5.2025 08:01:00"))  # splits an incident
    return write_fi(tmp_path / name, rows)


def _lake(settings) -> dict[str, pl.DataFrame]:
    return {name: table(settings, name).drop("run_id", "quarantined_at", strict=False).sort(pl.all())
            for name in ("units", "incidents", "quarantine")}


def test_threads_and_staging_on_disk_give_the_same_lake(tmp_path, settings, monkeypatch):
    first = _months_export(tmp_path, "a.csv", [1, 2, 3])
    second = _months_export(tmp_path, "b.csv", [3, 4])
    lakes = []
    for threads, budget in ((1, 0), (2, 0), (2, store.MEMORY_BUDGET_BYTES), (2, 2000)):
        monkeypatch.setattr(store, "MERGE_THREADS", threads)
        monkeypatch.setattr(store, "MEMORY_BUDGET_BYTES", budget)  # 0: every staged batch is a file
        s = dataclasses.replace(settings, paths=PathSettings(lake=tmp_path / f"lake{threads}-{budget}"))
        ingest([first], FI, s)
        ingest([second], FI, s)
        lakes.append(_lake(s))
    for lake in lakes[1:]:
        for name in lakes[0]:
            assert lakes[0][name].equals(lake[name]), name
    assert lakes[0]["quarantine"].height > 0


def test_a_batch_over_several_months_is_staged_in_each_and_in_file_order(tmp_path, settings):
    path = _months_export(tmp_path, "a.csv", [3, 1, 2, 1])
    ingest([path], FI, settings)
    units = table(settings, "units")
    split = pl.col("incident_id") == "2025-010"  # rows in January and May: the file's first row decides
    assert units.filter(~split).select(pl.col("month") == pl.col("call_at").dt.month()).to_series().all()
    assert units.filter(split)["month"].unique().to_list() == [1]
    # The later duplicate of a row wins: the lake keeps the last line of the file for that key.
    assert units.filter(pl.col("incident_id") == "2025-030", pl.col("unit_id") == "KU100")["source_row"].to_list() == [
        max(units["source_row"].to_list()) - 1]


def test_a_new_file_of_an_old_size_is_hashed_first_and_still_ingested(tmp_path, settings):
    a = write_fi(tmp_path / "a.csv", [fi_row(incident="2025-000001")])
    b = write_fi(tmp_path / "b.csv", [fi_row(incident="2025-000002")])  # same size, other content
    assert a.stat().st_size == b.stat().st_size
    ingest([a], FI, settings)
    summary = ingest([b, a], FI, settings)
    assert [f.status for f in summary.files] == ["ingested", "skipped"]
    files = table(settings, "files")
    assert files["sha256"].n_unique() == 2 and files.height == 2


def test_staging_spread_of_rising_and_unordered_ids(tmp_path):
    def spread(batches: list[tuple[list[str], list[int]]]) -> pl.DataFrame:
        staging = store.Staging(tmp_path / "staging")
        staging._spread[1] = {index: store._batch_spread(pl.Series("incident_id", ids), pl.Series("_part", parts, dtype=pl.Int32))
                              for index, (ids, parts) in enumerate(batches)}
        return staging.spread().sort("incident_id")

    rising = [(["a", "b"], [202501, 202501]), (["c", "d"], [202502, 202502])]
    assert spread(rising).equals(_spread(pl.DataFrame({"incident_id": list("abcd"), "p_min": [202501, 202501, 202502, 202502],
                                                       "p_max": [202501, 202501, 202502, 202502]},
                                                      schema_overrides={"p_min": pl.Int32, "p_max": pl.Int32})))
    across_batches = [(["a", "b"], [202501, 202501]), (["b", "c"], [202502, 202502])]
    assert spread(across_batches).filter(pl.col("incident_id") == "b").rows() == [("b", 202501, 202502)]
    assert spread(across_batches).height == 3
    unordered = [(["b", "a"], [202501, 202502]), (["a"], [202503])]
    assert spread(unordered).rows() == [("a", 202502, 202503), ("b", 202501, 202501)]


def _numbered_export(tmp_path, name: str, broken_line: int | None = None, final_newline: bool = True) -> object:
    rows = [fi_row(incident=f"2025-{k // 2:06d}", unit=f"KU10{k % 2}", free="3.1.2025 08:01:00" if k % 7 else "x")
            for k in range(60)]
    if broken_line is not None:
        rows[broken_line - 2] = "2025-999999;3.1.2025 07:05:09;186"
    path = write_fi(tmp_path / name, rows)
    if not final_newline:
        path.write_bytes(path.read_bytes().rstrip(b"\n"))
    return path


def test_reading_in_many_stretches_gives_the_same_lake(tmp_path, settings, monkeypatch):
    """Stretches of a few lines each, read on two threads: line numbers, quarantine and lake as with one."""
    from valmius import extract

    cases = {"clean": {}, "no final newline": {"final_newline": False}, "malformed row late": {"broken_line": 50}}
    one_stretch = extract.BLOCK_BYTES
    for case, options in cases.items():
        lakes = []
        for block_bytes in (one_stretch, 700):
            monkeypatch.setattr(extract, "BLOCK_BYTES", block_bytes)
            s = dataclasses.replace(settings, paths=PathSettings(lake=tmp_path / f"lake-{case}-{block_bytes}"))
            summary = ingest([_numbered_export(tmp_path, f"{case}.csv", **options)], FI, s)
            assert summary.rows_read == 60, case
            lakes.append(_lake(s))
        for name in lakes[0]:
            assert lakes[0][name].equals(lakes[1][name]), (case, name)
        quarantined = lakes[1]["quarantine"]
        assert quarantined.filter(pl.col("reason_code") == "bad_timestamp")["source_row"].to_list() == [
            k + 2 for k in range(60) if k % 7 == 0 and k + 2 != options.get("broken_line")], case


def test_zone_rules_of_a_few_years_convert_as_the_whole_table():
    values = pa.array(["3.1.2025 07:05:09", "30.3.2025 03:30:00", "26.10.2025 03:30:00", "1.7.1949 12:00:00",
                       "31.12.2025 23:59:59", "1.1.2026 00:00:00", "5.6.2150 12:00:00", ""])
    pattern = ts.compile_format(FI.timestamp_format)
    early, late, status = ts.parse_to_utc(values, pattern, FI.time_zone)
    offsets, data, _ = ts.string_buffers(values)
    local = np.empty(len(values), dtype=np.int64)
    want_status = np.empty(len(values), dtype=np.int8)
    ts.parse_local_seconds(offsets, data, pattern, local, want_status)
    want_early, want_late = np.empty_like(local), np.empty_like(local)
    ts.local_to_utc(local, want_status, *ts.zone_transitions(FI.time_zone), want_early, want_late)
    assert np.array_equal(status, want_status) and np.array_equal(early, want_early) and np.array_equal(late, want_late)


def _random_texts(seed: int, alphabet: list[str], n: int = 3000) -> list[str | None]:
    rng = random.Random(seed)
    return [None if rng.random() < 0.02 else "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))
            for _ in range(n)]


def test_null_markers_match_stripping_and_comparing():
    from valmius.kernels.text import null_markers

    markers = ("", "-", "--")
    values = _random_texts(0, ["a", "ö", "-", "K", "1", "€", " ", "\u00a0", "\t", "\u3000", "\u200b"])
    plain = pl.Series(values, dtype=pl.String).str.strip_chars()
    want = (plain.is_in(list(markers)).fill_null(False) | plain.is_null()).to_list()
    kept = 0
    for value, stripped, is_marker in zip(values, plain.to_list(), want):
        got = null_markers(pa.array([value], type=pa.string()), markers)
        if got is None:
            assert stripped != value  # gave up: something to strip
            continue
        assert got.tolist() == [is_marker], value
        kept += 1
    assert kept > 1000
    assert null_markers(pa.array(["a", "-", "", "b"]), markers).tolist() == [False, True, True, False]


def test_null_values_in_time_columns_are_missing_times_with_or_without_white_space(tmp_path, settings):
    """A status time given as a null value (``--``) is a missing time, found in Arrow's buffer; when
    some value of the column has white space to strip, the same answer comes the plain way."""
    for name, padded in (("plain.csv", "--"), ("padded.csv", " -- ")):
        rows = [fi_row(incident="2025-000001", unit="KU101", en_route="--"),
                fi_row(incident="2025-000002", unit="KU102", on_scene=padded, free="-"),
                fi_row(incident="2025-000003", unit="KU103", en_route="7.25")]
        s = dataclasses.replace(settings, paths=PathSettings(lake=tmp_path / f"lake-{name}"))
        summary = ingest([write_fi(tmp_path / name, rows)], FI, s)
        units = table(s, "units").sort("unit_id")
        assert units["unit_id"].to_list() == ["KU101", "KU102"], name
        assert units["en_route_at"].null_count() == 1 and units["on_scene_at"].null_count() == 1, name
        assert units["free_at"].null_count() == 1 and units["never_arrived"].to_list() == [False, True], name
        assert summary.reasons == {"bad_timestamp": 1}, name


def test_decimals_match_the_plain_cast():
    from valmius.kernels.text import decimals

    markers = ("", "-", "--")
    for mark in (",", "."):
        values = _random_texts(1, ["0", "1", "5", "9", ",", ".", "-", "+", "e", " "]) + ["9" * 15, "9" * 16, "0.1" + "0" * 13 + "1"]
        text = pl.Series(values, dtype=pl.String).str.strip_chars()
        if mark == ",":
            text = text.str.replace(",", ".", literal=True)
        number = text.cast(pl.Float64, strict=False)
        bad = number.is_null() & ~text.is_in(list(markers)).fill_null(True)
        read = 0
        for value, want, is_bad in zip(values, number.to_numpy(), bad.to_list()):
            got = decimals(pa.array([value], type=pa.string()), mark, markers)
            if got is None:
                continue  # gave up: the plain way reads the column
            assert not is_bad and np.array_equal(got, [want], equal_nan=True) and np.signbit(got[0]) == np.signbit(want), (mark, value)
            read += 1
        assert read > 500, mark
    assert decimals(pa.array(["6687432,1", "-0,5", "+12", "-"]), ",", markers).tolist()[:3] == [6687432.1, -0.5, 12.0]


def _naive_newest_incidents(rows: pl.DataFrame) -> pl.DataFrame:
    """The first row of each incident's newest export, by a plain Python loop, in id order."""
    best: dict[str, dict] = {}
    for row in rows.iter_rows(named=True):
        held = best.get(row["incident_id"])
        if held is None or (-row["file_seq"], row["source_row"]) < (-held["file_seq"], held["source_row"]):
            best[row["incident_id"]] = row
    return pl.DataFrame([best[k] for k in sorted(best)], schema=rows.schema)


def test_incidents_of_one_export_in_id_order_take_the_unsorted_way_to_the_same_answer():
    # An export in incident order into an empty partition needs no sort: each incident's first row
    # wins. Rows from several exports, or out of order, are sorted; the answers are the same.
    for seed in range(8):
        rows = _random_units(seed, 400)
        one_export = rows.with_columns(file_seq=pl.lit(1, dtype=pl.Int64)).sort("incident_id", "source_row")
        assert store._one_export_in_id_order(one_export) is not None
        assert store.newest_incidents(one_export).equals(_naive_newest_incidents(one_export)), seed
        several = rows.sort("incident_id", "file_seq", "source_row")
        assert store._one_export_in_id_order(several) is None
        assert store.newest_incidents(several).equals(_naive_newest_incidents(rows)), seed
        shuffled = one_export.sample(fraction=1.0, shuffle=True, seed=seed)
        assert store._one_export_in_id_order(shuffled) is None
        assert store.newest_incidents(shuffled).equals(_naive_newest_incidents(one_export)), seed


def test_a_batch_in_call_order_is_cut_into_its_months_without_sorting(tmp_path):
    months = [1, 1, 2, 2, 2, 3, 5]
    frame = _random_units(0, len(months)).with_columns(
        call_at=pl.Series([datetime(2025, m, 10, tzinfo=timezone.utc) for m in months]).cast(UNITS.schema["call_at"]),
        source_row=pl.Series(range(2, 2 + len(months)), dtype=pl.Int64),
        source_file=pl.lit("f1.csv"), file_seq=pl.lit(1, dtype=pl.Int64))  # staged rows come from one file
    wide = frame.with_columns(pl.lit(None, dtype=dtype).alias(name) for name, dtype in INCIDENTS.schema.items()
                              if name not in frame.columns).select(store.WIDE)
    for order in (wide, wide.reverse()):
        staging = store.Staging(tmp_path / "staging")
        staging.add(1, "f1.csv", 0, order.drop(list(store.PER_FILE)))
        for month in sorted(set(months)):
            want = order.filter(pl.col("call_at").dt.month() == month)
            assert staging.partition(202500 + month).equals(want), month
        staging.remove()


def test_staged_text_comes_back_exactly_in_memory_and_spilled(tmp_path):
    texts = ["pelastusyksikkö", None, "", " väli ", "471 öljyvahinko/ympäristöonnettomuus: maalla: pieni", "pelastusyksikkö"]
    frame = _random_units(1, len(texts)).with_columns(
        call_at=pl.lit(datetime(2025, 3, 10, tzinfo=timezone.utc)).cast(UNITS.schema["call_at"]),
        source_row=pl.Series(range(2, 2 + len(texts)), dtype=pl.Int64),
        source_file=pl.lit("f1.csv"), file_seq=pl.lit(1, dtype=pl.Int64))
    wide = frame.with_columns(pl.lit(None, dtype=dtype).alias(name) for name, dtype in INCIDENTS.schema.items()
                              if name not in frame.columns).with_columns(
        pl.Series(name, texts if k % 2 else texts[::-1], dtype=pl.String) for k, name in enumerate(store.COMPACT)).select(store.WIDE)
    for budget in (store.MEMORY_BUDGET_BYTES, 0):  # 0: the piece is an Arrow file
        staging = store.Staging(tmp_path / f"staging-{budget}", memory_budget=budget)
        staging.add(1, "f1.csv", 0, wide.drop(list(store.PER_FILE)))
        assert all(rows.schema[name] == pl.Categorical for rows in staging._in_memory.values() for name in store.COMPACT)
        assert staging.partition(202503).equals(wide), budget
        assert staging.scan_incidents(wide["incident_id"]).drop("_part").equals(wide), budget
        staging.remove()


def test_text_that_is_not_utf8_in_a_late_stretch_names_its_line_and_column(tmp_path, settings, monkeypatch):
    from valmius import extract

    monkeypatch.setattr(extract, "BLOCK_BYTES", 700)
    path = _numbered_export(tmp_path, "late.csv")
    lines = path.read_bytes().split(b"\n")
    lines[41] = lines[41].replace(b"KU10", "KU1ä".encode("cp1252"), 1)  # line 42 of the file
    path.write_bytes(b"\n".join(lines))
    summary = ingest([path], dataclasses.replace(FI, encoding="utf-8"), settings)
    assert summary.failed and "late.csv: line 42, column 'Yksikkö': not valid UTF-8" in summary.failed[0].message
    assert table(settings, "units").height == 0


@given(st.lists(st.integers(-3_000_000_000, 5_000_000_000), min_size=1, max_size=60),
       st.lists(st.integers(0, 999_999), min_size=1, max_size=60), st.booleans())
@hsettings(max_examples=200, deadline=None)
def test_partition_keys_are_the_utc_year_and_month(seconds, micros, at_month_starts):
    # The lookup among month starts against Polars' own calendar, around month starts too.
    if at_month_starts:
        seconds = [int(datetime(1970 + (s % 200), 1 + s % 12, 1, tzinfo=timezone.utc).timestamp()) + d
                   for s, d in zip(seconds, (-1, 0, 1) * 20)]
    call_at = pl.Series([s * 1_000_000 + micros[i % len(micros)] for i, s in enumerate(seconds)]).cast(UNITS.schema["call_at"])
    want = (call_at.dt.year() * 100 + call_at.dt.month()).cast(pl.Int32)
    assert store._part_keys(call_at).to_list() == want.to_list()
