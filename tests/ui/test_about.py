"""Help > About / managed settings shows each setting, where it comes from, and refused policy values."""

from __future__ import annotations

import json
from pathlib import Path

from perfectcare_desktop.policy import load_settings
from perfectcare_desktop.ui.about import AboutDialog


def test_locked_values_and_refused_policy_are_shown(qtbot, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"idle_lock_minutes": 2, "review_interval_months": 99}))
    settings = load_settings({"review_interval_months": 6}, None, policy)
    dialog = AboutDialog(settings, tmp_path / "store", None)
    qtbot.addWidget(dialog)
    rows = {r[0]: r[1:] for r in dialog.model.rows}
    assert rows["Lock after this many idle minutes"] == ("2", "locked by machine policy file")
    assert rows["Default plan review interval (months)"] == ("6", "your settings")
    assert "review_interval_months must be a whole number from 1 to 24 (found 99)" in dialog.problems.text()
