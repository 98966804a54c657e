"""packaging/build.sh end to end (slow, about 2-3 minutes on 2 cores): the PyInstaller bundle builds
and passes its smoke test, the MSI builds with wixl from packaging/perfectcare.wxs and holds what a
ward-PC deployment relies on, and the .deb unpacks with its desktop entry and programs.

The MSI and .deb are read back here with msiinfo and dpkg-deb, not only by the script's own checks.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_CODE = "{35039254-6BA7-4425-AC60-B3EC26748D47}"
POLICY_KEY = r"Software\Policies\PerfectCare\Desktop"
# Debian package -> a program it brings, for the skip message when build.sh cannot install them.
TOOLS = {"msitools": "msiinfo", "wixl": "wixl", "binutils": "objdump", "dpkg": "dpkg-deb"}

pytestmark = pytest.mark.slow


def _needs() -> None:
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip(f"packaging/build.sh builds the Linux x86_64 bundle; this is {sys.platform} {platform.machine()}")
    missing = [pkg for pkg, tool in TOOLS.items() if shutil.which(tool) is None]
    if missing and os.geteuid() != 0:  # as root, build.sh installs them itself
        pytest.skip(f"needs Debian packages {' '.join(missing)}: "
                    f"sudo apt-get install -y --no-install-recommends {' '.join(missing)}")  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    _needs()
    out = tmp_path_factory.mktemp("packaging")
    result = subprocess.run([str(ROOT / "packaging" / "build.sh"), "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    log = result.stdout + result.stderr
    (out / "build.log").write_text(log)
    assert result.returncode == 0, f"build.sh failed (exit {result.returncode}):\n{log[-6000:]}"
    return out, result.stdout


def _msi(out: Path) -> Path:
    (msi,) = out.glob("PerfectCare-Desktop-*.msi")
    return msi


def _table(msi: Path, table: str) -> list[list[str]]:
    text = subprocess.run(["msiinfo", "export", str(msi), table], capture_output=True, text=True, check=True).stdout
    return [line.rstrip("\r").split("\t") for line in text.splitlines()[3:]]  # after names, types, key row


def test_bundle_builds_and_passes_its_smoke_test(built: tuple[Path, str]) -> None:
    out, stdout = built
    bundle = out / "bundle" / "perfectcare-desktop"
    for program in ("perfectcare-desktop", "perfectcare-admin"):
        assert os.access(bundle / program, os.X_OK)
    assert (bundle / "_internal" / "resources" / "crisis_contacts" / "national.json").is_file()
    fonts = bundle / "_internal" / "resources" / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "NotoNaskhArabic-Regular.ttf", "Symbola_hint.ttf"):
        assert (fonts / name).is_file(), name
    assert list(fonts.glob("LICENCE-*.txt")), "the fonts' licences travel with them"
    assert not list((bundle / "_internal").rglob("*WebEngine*")), "no WebEngine in the bundle"
    assert not list((bundle / "_internal").rglob("libQt6Quick*")), "no Qt Quick in the bundle"
    assert "self-test passed" in stdout and "smoke test passed" in stdout
    size = re.search(r"bundle size: ([\d.]+) MiB", stdout)
    start = re.search(r"first paint: ([\d.]+) s", stdout)
    assert size and start
    print(f"bundle {size.group(1)} MiB; frozen cold start {start.group(1)} s")
    assert float(size.group(1)) < 300, "the bundle grew: check what a new import drags in"


def test_msi_is_per_machine_with_the_fixed_upgrade_code(built: tuple[Path, str]) -> None:
    msi = _msi(built[0])
    props = dict(row[:2] for row in _table(msi, "Property"))
    assert props["ALLUSERS"] == "1"
    assert props["UpgradeCode"] == UPGRADE_CODE
    assert props["ARPPRODUCTICON"] == "perfectcare.ico"
    upgrades = _table(msi, "Upgrade")
    assert upgrades and all(row[0] == UPGRADE_CODE for row in upgrades)
    assert "Template: x64;1033" in subprocess.run(["msiinfo", "suminfo", str(msi)], capture_output=True,
                                                  text=True, check=True).stdout  # fmt: skip


def test_msi_has_the_start_menu_shortcut(built: tuple[Path, str]) -> None:
    msi = _msi(built[0])
    (shortcut,) = [row for row in _table(msi, "Shortcut") if row[0] == "DesktopShortcut"]
    assert shortcut[1:5] == ["ProgramMenuDir", "PerfectCare Desktop", "StartMenuShortcut", "[#DesktopExe]"]
    files = {row[0]: row for row in _table(msi, "File")}
    assert files["DesktopExe"][2] == "perfectcare-desktop.exe"
    dirs = {row[0]: row for row in _table(msi, "Directory")}
    assert dirs["ProgramMenuDir"][1] == "ProgramMenuFolder"
    assert dirs["INSTALLDIR"][1] == "ProgramFiles64Folder"


def test_msi_writes_the_silent_install_properties_to_the_machine_policy(built: tuple[Path, str]) -> None:
    msi = _msi(built[0])
    policy = {row[3]: row for row in _table(msi, "Registry") if row[2] == POLICY_KEY}
    expected = {"hub_url": "HUBURL", "data_dir": "DATADIR", "idle_lock_minutes": "IDLELOCKMINUTES"}
    assert set(policy) == set(expected)
    components = {row[0]: row for row in _table(msi, "Component")}
    for name, prop in expected.items():
        row = policy[name]
        assert row[1] == "2" and row[4] == f"[{prop}]", row  # HKLM, the property's value
        component = components[row[5]]
        assert component[4] == prop, f"{row[5]} must install only when {prop} is set: {component}"
        assert int(component[3]) & 256, "a 64-bit component (the 64-bit registry view the app reads)"
    searches = {row[0] for row in _table(msi, "AppSearch")}
    assert searches == set(expected.values()), "an upgrade without the properties keeps them"
    # A value given on the command line wins over the one read back, and does so before CostFinalize
    # decides which components (here: which policy values) are installed.
    for sequence in ("InstallExecuteSequence", "InstallUISequence"):
        order = {row[0]: int(row[2]) for row in _table(msi, sequence)}
        for prop in expected.values():
            save, restore = order[f"SaveCmd{_camel(prop)}"], order[f"RestoreCmd{_camel(prop)}"]
            assert save < order["AppSearch"] < restore < order["CostFinalize"], (sequence, prop)


def _camel(prop: str) -> str:
    return {"HUBURL": "HubUrl", "DATADIR": "DataDir", "IDLELOCKMINUTES": "IdleLock"}[prop]


def test_deb_installs_the_programs_and_a_desktop_entry(built: tuple[Path, str], tmp_path: Path) -> None:
    out = built[0]
    (deb,) = out.glob("perfectcare-desktop_*_amd64.deb")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/share/applications/perfectcare-desktop.desktop", "./usr/bin/perfectcare-desktop",
                 "./usr/bin/perfectcare-admin", "./opt/perfectcare-desktop/perfectcare-desktop",
                 "./opt/perfectcare-desktop/perfectcare-admin"):  # fmt: skip
        assert f" {path}" in listing, path
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    entry = (root / "usr/share/applications/perfectcare-desktop.desktop").read_text()
    assert "Exec=perfectcare-desktop" in entry and "Icon=perfectcare-desktop" in entry
    assert (root / "usr/share/icons/hicolor/256x256/apps/perfectcare-desktop.png").is_file()
    assert os.readlink(root / "usr/bin/perfectcare-admin") == "/opt/perfectcare-desktop/perfectcare-admin"
    version = subprocess.run([str(root / "opt/perfectcare-desktop/perfectcare-admin"), "--version"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert version.startswith("perfectcare-admin ")
    control = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Architecture", "Depends"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Package: perfectcare-desktop" in control and "Architecture: amd64" in control
    assert "libc6 (>= " in control
