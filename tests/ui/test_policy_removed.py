"""A removed policy stops applying (issue 17, part 3). Under a policy (hub address, idle lock, crisis
contacts) the user picks View > High-contrast theme in the real window, with the settings read as the
app reads them; IT then removes the policy. The old save wrote the whole merged dict into the user's
settings.json, so the policy's values went on applying; now the file holds only the theme."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu
from test_main_window import IdleClock
from test_plan_tab import reactivate
from test_setup_wizard import themed  # noqa: F401 - fixture used by name

from perfectcare_desktop import config
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.policy import DEFAULT, MACHINE_FILE, USER, default_registry, load_settings
from perfectcare_desktop.ui.main_window import MainWindow
from perfectcare_desktop.ui.operation import Operations

CONTACT = {"key": "mc", "name": "Mersey Care crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570"}
POLICY = {"hub_url": "postgresql://hub.trust.nhs.uk/pc", "idle_lock_minutes": 3, "crisis_contacts": [CONTACT]}


def app_settings():  # noqa: ANN201 - policy.Settings
    """As app.main and ui.main read them: machine policy over the user's settings file."""
    return load_settings(config.load_user_settings(), default_registry())


@pytest.mark.qt_log_ignore("This plugin does not support raise", "This plugin does not support grabbing the keyboard")
def test_a_removed_policy_stops_applying_after_a_theme_change(
    qtbot,
    themed,  # noqa: F811 - the light theme, put back afterwards
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = tmp_path / "policy.json"
    monkeypatch.setenv("PERFECTCARE_POLICY_FILE", str(policy))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    policy.write_text(json.dumps(POLICY))

    settings = app_settings()
    assert settings.sources["hub_url"] == MACHINE_FILE and settings.values["idle_lock_minutes"] == 3
    w = MainWindow(store, Operations(synchronous=True), settings.values, idle_clock=IdleClock())
    w.policy = settings  # as ui.main sets it
    qtbot.addWidget(w)
    w.show()
    reactivate(qtbot, w)
    assert w.idle.idle_seconds == 3 * 60  # the policy applies in the window

    view = next(m for m in w.menuBar().findChildren(QMenu) if m.title() == "&View")
    action = next(a for a in view.actions() if a.text() == "&High-contrast theme")
    view.popup(w.mapToGlobal(QPoint(10, 10)))
    qtbot.waitUntil(view.isVisible)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.actionGeometry(action).center())
    qtbot.waitUntil(lambda: not view.isVisible())
    assert w.theme_actions["high-contrast"].isChecked()

    saved = json.loads(config.user_settings_path().read_text(encoding="utf-8"))
    assert saved == {"theme": "high-contrast"}  # nothing of the policy, no nulls

    policy.unlink()  # IT removes the policy
    after = app_settings()
    for name in POLICY:
        assert after.sources[name] == DEFAULT, f"{name} still applies from {after.sources[name]}"
    assert (after.values["hub_url"], after.values["idle_lock_minutes"], after.values["crisis_contacts"]) == (
        None, 5, [])  # fmt: skip
    assert config.idle_lock_seconds(after.values) == 5 * 60
    assert (after.values["theme"], after.sources["theme"]) == ("high-contrast", USER)
    assert after.problems == []
