"""A wheel install works on its own (issue 17): the wheel carries resources/, and from a fresh venv
the self-test passes and a PDF export prints the crisis numbers read from the wheel's own files.

The slow test (about 25 s with a warm pip cache) builds the wheel from a copy of the sources (the
shared working tree gets no build/ folder), installs it with its dependencies into a new venv with
pip's usual index and cache, and runs the installed programs from a folder outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
# What setuptools needs to build the wheel; nothing else is copied.
SOURCES = ("pyproject.toml", "README.md", "perfectcare_desktop", "resources")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if sys.platform == "win32" else "bin") / name


def _run(cmd: list[str | Path], *, timeout: float, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=JUNK)
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "-q", "-w", out], timeout=300)
    (found,) = out.glob("perfectcare_desktop-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_resource(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "perfectcare_desktop").rglob("*.py")}
    missing = sorted(modules - names)
    assert not missing, (
        f"not in the wheel: {missing[:5]}: add its package to [tool.setuptools] packages in pyproject.toml"
    )
    shipped = {f"perfectcare_desktop/resources/{p.relative_to(ROOT / 'resources').as_posix()}"
               for p in (ROOT / "resources").rglob("*") if p.is_file()}  # fmt: skip
    assert shipped <= names, f"resources not in the wheel: {sorted(shipped - names)[:5]}"
    assert not [n for n in names if n.startswith("resources/")], "resources/ must not be a top-level folder"


@pytest.mark.slow
def test_a_fresh_venv_from_the_wheel_passes_its_self_test_and_prints_plans(
    wheel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=120)
    # The dependencies come from pip's index and cache, as for a real install: a missing one shows here.
    _run([_bin(venv, "python"), "-m", "pip", "install", "-q", wheel], timeout=600)
    installed = time.monotonic()

    away = tmp_path / "elsewhere"  # not the checkout: nothing may come from resources/ beside the sources
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PERFECTCARE_RESOURCES", "PYTHONPATH", "PYTHONHOME")}
    env.update(PERFECTCARE_DATA_DIR=str(tmp_path / "store"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), QT_QPA_PLATFORM="offscreen")  # fmt: skip

    def admin(*args: str) -> str:
        cmd = [_bin(venv, "perfectcare-admin"), "--password-stdin", *args]
        return _run(cmd, input=f"{PASSWORD}\n", cwd=away, env=env, timeout=180).stdout

    test = _run([_bin(venv, "perfectcare-desktop"), "--self-test"], cwd=away, env=env, timeout=180).stdout
    assert test.splitlines()[-1] == "self-test passed", test
    (line,) = [ln for ln in test.splitlines() if ln.startswith("ok    resources:")]
    assert "(the installed package)" in line and str(venv) in line, line

    admin("init", "--org", "Wheel Test Trust", "--admin", "admin")
    admin("demo-data", "--user", "admin", "--patients", "3")
    out = tmp_path / "pdfs"
    admin("export-pdf", "--user", "admin", "--all", "--out", str(out))
    pdfs = sorted(out.glob("*.pdf"))
    assert pdfs, "no PDF printed"
    text = " ".join(page.extract_text() for page in PdfReader(pdfs[0]).pages)
    assert "116 123" in text, "the crisis numbers (crisis_contacts/national.json) are on the copy"
    with capsys.disabled():
        print(f"\nwheel test: install {installed - started:.1f} s, programs {time.monotonic() - installed:.1f} s")


def test_self_test_names_a_missing_resource(tmp_path: Path) -> None:
    from perfectcare_desktop.core.resources import resources_dir

    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    (copy / "icons" / "ambulance.svg").unlink()
    (copy / "crisis_contacts" / "national.json").unlink()
    env = {**os.environ, "PERFECTCARE_RESOURCES": str(copy), "QT_QPA_PLATFORM": "offscreen"}
    desktop = Path(sys.executable).with_name("perfectcare-desktop")
    result = subprocess.run([str(desktop), "--self-test", "--data-dir", str(tmp_path / "data")], capture_output=True,
                            text=True, env=env, timeout=120)  # fmt: skip
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    fails = {ln.split(":", 1)[0] for ln in lines if ln.startswith("FAIL")}
    assert fails == {"FAIL  resources", "FAIL  crisis contacts", "FAIL  easy-read pictures"}, result.stdout
    assert any("missing from" in ln and "national.json" in ln for ln in lines if ln.startswith("FAIL  resources"))
    assert any("ambulance.svg" in ln for ln in lines if ln.startswith("FAIL  easy-read pictures"))
    assert lines[-1] == "self-test FAILED: 3 problem(s)"
    assert "Traceback" not in result.stdout + result.stderr
