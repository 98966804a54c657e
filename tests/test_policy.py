"""Machine policy layering: registry (HKLM > HKCU) > machine policy file > user settings > defaults;
invalid or unknown values are reported in words and ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfectcare_desktop.policy import (
    DEFAULT,
    HKCU,
    HKLM,
    MACHINE_FILE,
    USER,
    load_settings,
    machine_policy_path,
)


class FakeRegistry:
    def __init__(self, hklm: dict[str, object] | None = None, hkcu: dict[str, object] | None = None) -> None:
        self.hives = {"HKLM": hklm or {}, "HKCU": hkcu or {}}

    def read(self, hive: str) -> dict[str, object]:
        return dict(self.hives[hive])


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    return tmp_path / "policy.json"


def test_defaults_when_nothing_is_set(policy_file: Path) -> None:
    s = load_settings({}, None, policy_file)
    assert s.values["idle_lock_minutes"] == 5 and s.values["review_interval_months"] == 3
    assert s.sources["idle_lock_minutes"] == DEFAULT and not s.locked("idle_lock_minutes") and s.problems == []


def test_each_layer_wins_over_the_ones_below(policy_file: Path) -> None:
    policy_file.write_text(json.dumps({"idle_lock_minutes": 10, "review_interval_months": 6, "HUBURL":
                                       "postgresql://hub.example.nhs.uk/pc"}))  # fmt: skip
    registry = FakeRegistry(
        hklm={"idle_lock_minutes": 2}, hkcu={"idle_lock_minutes": 30, "review_interval_months": "4"}
    )
    s = load_settings({"idle_lock_minutes": 15, "review_interval_months": 12, "theme": "high-contrast"}, registry,
                      policy_file)  # fmt: skip
    assert (s.values["idle_lock_minutes"], s.sources["idle_lock_minutes"]) == (2, HKLM)
    assert (s.values["review_interval_months"], s.sources["review_interval_months"]) == (4, HKCU)
    assert (s.values["hub_url"], s.sources["hub_url"]) == ("postgresql://hub.example.nhs.uk/pc", MACHINE_FILE)
    assert s.locked("hub_url") and s.locked("idle_lock_minutes")
    assert s.values["theme"] == "high-contrast"  # the user's own preferences are kept alongside
    assert load_settings({"idle_lock_minutes": 15}, None, policy_file).sources["idle_lock_minutes"] == MACHINE_FILE
    assert (
        load_settings({"review_interval_months": 12}, None, Path("/nonexistent")).sources["review_interval_months"]
        == USER
    )


def test_invalid_and_unknown_values_are_reported_and_ignored(policy_file: Path) -> None:
    policy_file.write_text(json.dumps({
        "idle_lock_minutes": 600, "risk_level": "high", "hub_url": "http://example", "pdf_variants": ["poster"],
        "crisis_contacts": [{"key": "mc", "name": "Crisis line", "how": "Call 0800 145 6570"}],
    }))  # fmt: skip
    s = load_settings({"idle_lock_minutes": 20}, FakeRegistry(hklm={"DATADIR": "relative/folder"}), policy_file)
    text = "\n".join(s.problems)
    assert "idle_lock_minutes must be a whole number from 1 to 60 (found 600); ignored." in text
    assert "unknown setting 'risk_level' ignored." in text
    assert "hub_url must be a postgresql:// address" in text
    assert "pdf_variants must name some of standard" in text
    assert "crisis_contacts entry 1 has no phone" in text
    assert "HKLM policy: DATADIR must be an absolute folder path" in text
    assert s.values["idle_lock_minutes"] == 20 and s.sources["idle_lock_minutes"] == USER  # next layer down
    assert s.values["data_dir"] is None


def test_local_crisis_contacts_are_limited_to_what_fits_page_1(policy_file: Path) -> None:
    """The crisis box opens page 1 of every copy (tests/export/test_copy_properties.py checks up to four
    local contacts in every variant): a fifth, or a name too long for the box, is refused in words."""
    entry = {"key": "mc", "name": "Crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570"}
    policy_file.write_text(json.dumps({"crisis_contacts": [entry] * 5}))
    s = load_settings({}, None, policy_file)
    assert "crisis_contacts holds 5 entries; at most 4 fit beside the national numbers" in "\n".join(s.problems)
    assert s.values["crisis_contacts"] == []
    policy_file.write_text(json.dumps({"crisis_contacts": [{**entry, "name": "Crisis line " * 10}]}))
    s = load_settings({}, None, policy_file)
    assert "entry 1 is too long to print in the crisis box: name (119 characters; at most 60)" in "\n".join(s.problems)
    policy_file.write_text(json.dumps({"crisis_contacts": [entry] * 4}))
    assert len(load_settings({}, None, policy_file).values["crisis_contacts"]) == 4


def test_a_broken_policy_file_is_reported_and_the_app_carries_on(policy_file: Path) -> None:
    policy_file.write_text("{ not json")
    s = load_settings({}, None, policy_file)
    assert s.problems and "not valid JSON" in s.problems[0] and s.values["idle_lock_minutes"] == 5


def test_trust_crisis_contacts_and_variants_from_the_registry_as_json_text(policy_file: Path) -> None:
    contacts = [{"key": "mc", "name": "Mersey Care crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570"}]
    registry = FakeRegistry(hklm={"crisis_contacts": json.dumps(contacts), "crisis_contacts_checked_on": "2026-10-01",
                                  "pdf_variants": "standard,wallet-card"})  # fmt: skip
    s = load_settings({}, registry, policy_file)
    assert s.values["crisis_contacts"][0]["name"] == "Mersey Care crisis line" and s.problems == []
    assert s.values["pdf_variants"] == ["standard", "wallet-card"]
    rows = {label: (shown, where) for label, shown, where in s.rows()}
    assert rows["Trust-local crisis contacts"] == ("Mersey Care crisis line", "locked by HKLM policy")
    assert rows["Lock after this many idle minutes"] == ("5", "default")


def test_the_policy_file_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERFECTCARE_POLICY_FILE", str(tmp_path / "p.json"))
    assert machine_policy_path() == tmp_path / "p.json"
    monkeypatch.delenv("PERFECTCARE_POLICY_FILE")
    assert machine_policy_path() == Path("/etc/perfectcare/policy.json")


def test_the_settings_file_is_where_platformdirs_puts_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from platformdirs import user_config_dir

    from perfectcare_desktop.config import APP_AUTHOR, APP_NAME, user_settings_path

    for xdg in (None, str(tmp_path / "xdg")):
        if xdg is None:
            monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        assert user_settings_path() == Path(user_config_dir(APP_NAME, APP_AUTHOR, roaming=True)) / "settings.json"


def test_the_default_store_folder_is_where_platformdirs_puts_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from platformdirs import user_data_dir

    from perfectcare_desktop.config import APP_AUTHOR, APP_NAME, DATA_DIR_ENV, default_data_dir

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    for xdg in (None, str(tmp_path / "xdg")):
        if xdg is None:
            monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert default_data_dir() == Path(user_data_dir(APP_NAME, APP_AUTHOR, roaming=False))
