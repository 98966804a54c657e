"""Settings declared once (issue 17, part 3): one list says each setting's name, check, default, label,
help and who may set it; policy.py merges by it and config.py saves by it. The user's settings.json
holds only what the user chose: never a policy's value or a null, and an old file that holds them is
read without a word and written clean at the next save."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfectcare_desktop import cli, config
from perfectcare_desktop.policy import DEFAULT, MACHINE_FILE, USER, load_settings
from perfectcare_desktop.settings_schema import BY_NAME, SETTINGS, PolicyValueError

CONTACT = {"key": "mc", "name": "Mersey Care crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570"}
POLICY = {"hub_url": "postgresql://hub.trust.nhs.uk/pc", "idle_lock_minutes": 3, "crisis_contacts": [CONTACT]}
# What the old save wrote after View > High-contrast under that policy: the whole merged dict.
OLD_FILE = {
    "branding_dir": None, "crisis_contacts": [CONTACT], "crisis_contacts_checked_on": None, "crisis_nation": "england",
    "data_dir": None, "hub_read_url": None, "hub_url": "postgresql://hub.trust.nhs.uk/pc", "idle_lock_minutes": 3,
    "pdf_variants": ["standard", "large-print"], "review_interval_months": 3, "theme": "high-contrast",
}  # fmt: skip


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the machine policy file, the user's settings file), where the app and the CLI look for them."""
    monkeypatch.setenv("PERFECTCARE_POLICY_FILE", str(tmp_path / "policy.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(cli, "_SETTINGS", None)
    return tmp_path / "policy.json", config.user_settings_path()


def test_each_setting_is_declared_with_what_the_templates_need() -> None:
    """Name, kind, default, label and help for every setting (the ADMX/ADML of issue 22 reads them)."""
    assert len(BY_NAME) == len(SETTINGS)
    for s in SETTINGS:
        assert s.name and s.label and s.help and s.kind in {"text", "url", "folder", "number", "list", "date", "choice"}
        assert s.policy or s.user, f"{s.name}: nobody may set it"
        if s.default is not None:
            assert s.check(s.default) == s.default, f"{s.name}: its default fails its own check"
    assert not BY_NAME["theme"].policy and BY_NAME["theme"].user
    assert BY_NAME["hub_url"].policy and not BY_NAME["hub_url"].user


def test_a_default_is_written_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Changing the declared default changes it for the policy merge and for config's readers alike."""
    monkeypatch.setattr(BY_NAME["idle_lock_minutes"], "default", 7)
    monkeypatch.setattr(BY_NAME["review_interval_months"], "default", 9)
    s = load_settings({}, None, tmp_path / "none.json")
    assert (s.values["idle_lock_minutes"], s.values["review_interval_months"]) == (7, 9)
    assert config.idle_lock_seconds({}) == 7 * 60 and config.review_interval_months({}) == 9
    assert config.idle_lock_seconds({"idle_lock_minutes": 600}) == 7 * 60  # invalid: the declared default
    assert config.review_interval_months({"review_interval_months": True}) == 9
    with pytest.raises(PolicyValueError):
        BY_NAME["idle_lock_minutes"].check(61)


def test_saving_never_writes_a_policy_value_or_a_null(files: tuple[Path, Path]) -> None:
    policy, user = files
    policy.write_text(json.dumps(POLICY))
    merged = load_settings(config.load_user_settings(), None)
    assert merged.locked("hub_url") and merged.values["idle_lock_minutes"] == 3
    config.save_user_settings({**merged.values, "theme": "high-contrast"})  # as the old theme save did
    assert json.loads(user.read_text()) == {"theme": "high-contrast"}
    assert config.save_user_choice("review_interval_months", 6) == {
        "theme": "high-contrast",
        "review_interval_months": 6,
    }
    assert json.loads(user.read_text()) == {"review_interval_months": 6, "theme": "high-contrast"}


def test_an_old_file_with_policy_values_and_nulls_is_read_without_a_word_and_saved_clean(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    policy, user = files
    user.parent.mkdir(parents=True)
    # IT removed the policy before this version came: the old file's hub_url and contacts are plainly
    # policy's (a user cannot choose them); its idle minutes are the default it copied.
    user.write_text(json.dumps({**OLD_FILE, "idle_lock_minutes": 5}))
    # The CLI reads settings on every command: no warning about the nulls or policy keys in the file.
    assert cli._settings().problems == []
    assert "policy" not in capsys.readouterr().err
    s = load_settings(config.load_user_settings(), None)
    assert s.user_choices == {"theme": "high-contrast"}  # the old save's defaults were not chosen
    assert (s.values["hub_url"], s.sources["hub_url"]) == (None, DEFAULT)
    assert (s.values["idle_lock_minutes"], s.values["crisis_contacts"]) == (5, [])
    assert s.values["pdf_variants"] == list(BY_NAME["pdf_variants"].default)
    config.save_user_choice("theme", "light")
    assert json.loads(user.read_text()) == {"theme": "light"}


def test_an_old_file_read_while_the_policy_is_in_force_loses_the_policys_values(files: tuple[Path, Path]) -> None:
    """Upgraded while IT's policy still applies: the old file's copy of it is recognised and not kept."""
    policy, user = files
    policy.write_text(json.dumps(POLICY))
    user.parent.mkdir(parents=True)
    user.write_text(json.dumps({**OLD_FILE, "review_interval_months": 6}))  # 6: not the policy's, not the default
    config.save_user_choice("theme", "light")
    assert json.loads(user.read_text()) == {"review_interval_months": 6, "theme": "light"}
    policy.unlink()
    s = load_settings(config.load_user_settings(), None)
    assert (s.values["idle_lock_minutes"], s.sources["idle_lock_minutes"]) == (5, DEFAULT)
    assert (s.values["review_interval_months"], s.sources["review_interval_months"]) == (6, USER)


def test_a_users_own_choice_under_a_lock_is_kept_and_applies_once_the_lock_goes(files: tuple[Path, Path]) -> None:
    policy, user = files
    policy.write_text(json.dumps(POLICY))
    config.save_user_choice("idle_lock_minutes", 10)
    s = load_settings(config.load_user_settings(), None)
    assert (s.values["idle_lock_minutes"], s.sources["idle_lock_minutes"]) == (3, MACHINE_FILE)
    config.save_user_choice("theme", "high-contrast")
    assert json.loads(user.read_text()) == {"idle_lock_minutes": 10, "theme": "high-contrast"}
    policy.unlink()
    assert load_settings(config.load_user_settings(), None).values["idle_lock_minutes"] == 10


def test_policy_cannot_set_the_users_theme_and_an_invalid_user_value_is_said(files: tuple[Path, Path]) -> None:
    policy, user = files
    policy.write_text(json.dumps({"theme": "high-contrast"}))
    s = load_settings({"theme": "neon", "idle_lock_minutes": 600}, None)
    assert "theme is each user's own choice, not set by policy; ignored." in "\n".join(s.problems)
    assert "user: idle_lock_minutes must be a whole number from 1 to 60 (found 600); ignored." in s.problems
    assert (s.values["theme"], s.values["idle_lock_minutes"]) == ("light", 5)
