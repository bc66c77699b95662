"""Strict settings: defaults from the domain rules, unknown keys and wrong types named."""

from __future__ import annotations

import pytest

from valmius.errors import SettingsError
from valmius.settings import Settings, load_settings, settings_table


def test_defaults_follow_the_domain():
    s = Settings()
    assert s.targets_s == {"I": 360, "II": 600, "III": 1200, "IV": 2400}
    assert s.time.zone == "Europe/Helsinki" and s.grid.crs == "EPSG:3067" and s.grid.cell_size_m == 1000
    assert s.windows.trailing_days == 365 and s.counting.unit_types == []


def test_file_overrides_and_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "valmius.toml"
    path.write_text('[paths]\nlake = "../data/lake"\n[targets_s]\nI = 300\n[counting]\nurgent_classes = ["A"]\n')
    s = load_settings(path)
    assert s.paths.lake.resolve() == (tmp_path / "data" / "lake").resolve()
    assert s.targets_s["I"] == 300 and s.targets_s["II"] == 600
    assert s.counting.urgent_classes == ["A"]


@pytest.mark.parametrize("text,message", [
    ("[pathz]\nlake = 'x'\n", "unknown key 'pathz'"),
    ("[paths]\nlak = 'x'\n", "unknown key 'paths.lak'"),
    ("[targets_s]\nV = 100\n", "targets_s.V"),
    ("[targets_s]\nI = '6 min'\n", "key 'targets_s.I' must be a whole number"),
    ("[windows]\ntrailing_days = 36.5\n", "key 'windows.trailing_days' must be a whole number"),
    ("[counting]\nunit_types = 'all'\n", "key 'counting.unit_types' must be a list"),
    ("[time]\nzone = 'Europe/Helsingfors'\n", "unknown time zone"),
    ("[windows]\ncalendar = 'year'\n", "windows.calendar"),
    ("lake = \n", "not valid TOML"),
])
def test_bad_settings_name_key_and_file(tmp_path, text, message):
    path = tmp_path / "valmius.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_every_setting_is_documented():
    rows = settings_table()
    assert len(rows) >= 12
    assert all(meaning for _, _, meaning in rows), [key for key, _, meaning in rows if not meaning]
