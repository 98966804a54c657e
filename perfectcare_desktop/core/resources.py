"""Where the shipped data files live: layouts, the crisis directory, branding, icons.

They sit in `resources/` beside the package in a checkout (the app is installed editable), and in
the bundle folder of a PyInstaller build. PERFECTCARE_RESOURCES overrides both (tests, trusts trying
a layout before rolling it out).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESOURCES_ENV = "PERFECTCARE_RESOURCES"


def resources_dir() -> Path:
    env = os.environ.get(RESOURCES_ENV, "").strip()
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"
