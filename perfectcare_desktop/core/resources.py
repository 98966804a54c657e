"""Where the shipped data files live: layouts, the crisis directory, branding, icons.

This module is the one place that finds them. In order:
- PERFECTCARE_RESOURCES (tests, a trust trying a layout before rolling it out);
- the bundle folder of a PyInstaller build;
- `perfectcare_desktop/resources` inside the installed package (a wheel carries `resources/` there,
  see [tool.setuptools] in pyproject.toml), found through importlib.resources;
- `resources/` beside the package in a checkout (an editable install).
"""

from __future__ import annotations

import atexit
import os
import sys
from contextlib import ExitStack
from importlib import resources as importlib_resources
from pathlib import Path

RESOURCES_ENV = "PERFECTCARE_RESOURCES"
PACKAGE = "perfectcare_desktop"
_extracted = ExitStack()  # keeps a folder unpacked from a zipped install alive until exit
atexit.register(_extracted.close)


def _packaged() -> Path | None:
    """`resources` inside the installed package, if it is there (not in a checkout)."""
    try:
        folder = importlib_resources.files(PACKAGE) / "resources"
    except (ModuleNotFoundError, TypeError):
        return None
    if not folder.is_dir():
        return None
    if isinstance(folder, Path):
        return folder
    try:  # a zipped install: callers need real files (reportlab, svglib, glob), so unpack once
        return Path(_extracted.enter_context(importlib_resources.as_file(folder)))
    except (OSError, TypeError, ValueError):
        return None


def _checkout() -> Path:
    return Path(__file__).resolve().parents[2] / "resources"


def resources_dir() -> Path:
    env = os.environ.get(RESOURCES_ENV, "").strip()
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return _packaged() or _checkout()


def where_from() -> str:
    """Which of the places above resources_dir() is, in words (for `--self-test`)."""
    if os.environ.get(RESOURCES_ENV, "").strip():
        return f"${RESOURCES_ENV}"
    if getattr(sys, "_MEIPASS", None):
        return "the application bundle"
    return "the installed package" if _packaged() else "the source checkout"
