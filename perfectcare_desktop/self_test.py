"""`perfectcare-desktop --self-test`: can this PC run the app? Headless; exit 0, or a list of failures.

Checks what ward-PC deployments break: Qt's platform plugin and the PDF/print modules, fonts that
cover the scripts patients write in, the crypto backend, a writable data folder, and every shipped
file the app reads (layouts, crisis contacts, branding, the easy-read pictures): an install that
lost them would otherwise start and then fail at the first plan or PDF.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Letters from English, Welsh, Polish and Urdu: a font set that lacks any of them prints boxes.
SAMPLE = {"Latin": "A", "Welsh": "ŵ", "Polish": "ł", "Arabic/Urdu": "ے"}

Check = Callable[[], str]


def headless_default() -> None:
    """A headless Linux check needs no screen: use the offscreen plugin unless one was chosen."""
    no_screen = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and no_screen and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def qt_probe() -> int:
    """Run in a child process: a missing platform plugin makes Qt abort the whole process."""
    headless_default()
    from PySide6 import QtPdf, QtPrintSupport  # noqa: F401 - the import is the check
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    assert isinstance(app, QGuiApplication)  # instance() is typed as the base QCoreApplication
    print(f"qt: Qt {__import__('PySide6').__version__}, platform plugin '{app.platformName()}', QtPdf and printing")
    try:
        print(f"fonts: {_fonts()}")
    except RuntimeError as exc:
        print(f"fonts-failed: {exc}")
    return 0


def _run_probe() -> dict[str, str]:
    frozen = getattr(sys, "frozen", False)
    cmd = [sys.executable, "--qt-probe"] if frozen else [sys.executable, "-m", "perfectcare_desktop.app", "--qt-probe"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
        hint = next((ln for ln in lines if "plugin" in ln.lower() or "Error" in ln), lines[-1] if lines else "")
        raise RuntimeError(f"Qt cannot start (exit {result.returncode}): {hint.strip()}")
    found = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return found


_probe: dict[str, str] = {}


def _qt() -> str:
    _probe.clear()
    _probe.update(_run_probe())
    return _probe["qt"]


def _fonts_from_probe() -> str:
    if "fonts-failed" in _probe:
        raise RuntimeError(_probe["fonts-failed"])
    if "fonts" not in _probe:
        raise RuntimeError("not checked: Qt did not start")
    return _probe["fonts"]


def _fonts() -> str:
    from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

    families = QFontDatabase.families()
    if not families:
        raise RuntimeError("no fonts installed (install fonts-dejavu-core)")
    missing = []
    for script, ch in SAMPLE.items():
        if not any(QFontMetrics(QFont(f)).inFontUcs4(ord(ch)) for f in families):
            missing.append(script)
    if missing:
        raise RuntimeError(f"no installed font covers {', '.join(missing)} text")
    return f"{len(families)} font families; Latin, Welsh, Polish and Urdu covered"


def _crypto() -> str:
    import cryptography
    from cryptography.hazmat.backends.openssl import backend
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    if AESGCM(key).decrypt(nonce, AESGCM(key).encrypt(nonce, b"self-test", b"ad"), b"ad") != b"self-test":
        raise RuntimeError("AES-256-GCM round trip failed")
    Argon2id(salt=os.urandom(16), length=32, iterations=1, lanes=1, memory_cost=64).derive(b"x")
    return f"cryptography {cryptography.__version__} ({backend.openssl_version_text()}): AES-256-GCM, Argon2id"


def _data_dir(data_dir: Path) -> Callable[[], str]:
    def check() -> str:
        from .core.storage.files import ensure_writable_folder
        from .paths import db_path

        try:
            ensure_writable_folder(data_dir)
        except OSError as exc:
            raise RuntimeError(f"cannot create or write {data_dir}: {exc.strerror or exc}") from exc
        db = db_path(data_dir)
        if db.exists():
            with open(db, "rb") as fh:
                if not fh.read(16).startswith(b"SQLite format 3"):
                    raise RuntimeError(f"{db} is not a database file")
            return f"{data_dir} is writable and holds a store"
        return f"{data_dir} is writable (no store yet)"

    return check


# Files read from the resources folder besides the easy-read pictures; the app falls back to a
# built-in layout or the default branding without them, so only a check here notices they are gone.
RESOURCE_FILES = (
    "plan_layouts/default.json",
    "formulation_layouts/default.json",
    "crisis_contacts/national.json",
    "branding/branding.json",
    "branding/default-logo.svg",
)
# The pictures export/easy_read.py prints besides one per section of the default layout: 999, a
# number to call or text, a contact without a number, a means-safety step, lines to write on, the
# fallback (resources/icons/README.md).
EASY_READ_ICONS = ("fallback", "ambulance", "call", "text_message", "person", "home", "pencil")


def _fix() -> str:
    from .core.resources import RESOURCES_ENV

    return f"check ${RESOURCES_ENV}" if os.environ.get(RESOURCES_ENV, "").strip() else "reinstall the app"


def _missing(folder: Path, names: list[str]) -> None:
    gone = [n for n in names if not (folder / n).is_file()]
    if gone:
        raise RuntimeError(f"missing from {folder}: {', '.join(gone)} ({_fix()})")


def _resources() -> str:
    from .core.resources import resources_dir, where_from

    folder = resources_dir()
    if not folder.is_dir():
        raise RuntimeError(f"the resources folder {folder} is missing ({_fix()})")
    _missing(folder, list(RESOURCE_FILES))
    return f"{folder} ({where_from()}): {len(RESOURCE_FILES)} data files present"


def _layouts() -> str:
    from .core.clinical.formulations import FORMULATION_LAYOUTS
    from .core.clinical.plan_layout import PLAN_LAYOUTS, load_layout
    from .core.resources import resources_dir
    from .errors import LayoutInvalid

    read = []
    for lt in (PLAN_LAYOUTS, FORMULATION_LAYOUTS):
        try:  # without the file the app quietly uses its built-in layout: only this notices
            layout = load_layout(resources_dir() / lt.folder / "default.json", lt)
        except LayoutInvalid as exc:  # names the file and the field at fault
            raise RuntimeError(f"{lt.folder}/{exc}") from exc
        read.append(f"{lt.folder}/default.json ({len(layout.sections)} sections)")
    return ", ".join(read)


def _crisis_contacts() -> str:
    from .core.clinical.crisis_directory import NATIONS, load_directory

    counts = [f"{label} {len(load_directory(nation=n).contacts)}" for n, label in NATIONS.items()]
    return f"numbers for {', '.join(counts)}"


def _branding() -> str:
    from .export.branding import load_branding

    branding = load_branding()
    if branding.problems:
        raise RuntimeError(" ".join(branding.problems))
    name = branding.trust_name or "the store's own name"
    return f"colours and logo read, trust name: {name}"


def _easy_read_icons() -> str:
    from .core.clinical.plan_layout import PLAN_LAYOUTS, load_layout
    from .core.resources import resources_dir
    from .export.branding import load_svg
    from .export.easy_read import INTRO

    layout = load_layout(resources_dir() / PLAN_LAYOUTS.folder / "default.json", PLAN_LAYOUTS)
    names = list(dict.fromkeys([s.key for s in layout.sections] + [i for i, _ in INTRO] + list(EASY_READ_ICONS)))
    folder = resources_dir() / "icons"
    _missing(folder, [f"{n}.svg" for n in names])
    broken = [f"{n}.svg" for n in names if load_svg(folder / f"{n}.svg") is None]
    if broken:
        raise RuntimeError(f"not readable as SVG in {folder}: {', '.join(broken)}")
    return f"{len(names)} pictures read"


def _phone_numbers() -> str:
    # The numbering-plan data loads by region at run time: a frozen build that missed it fails here.
    import phonenumbers

    from .core.patients.phone import phone_warning

    wrong = [n for n in ("0800 1111", "116 123", "+48 22 123 45 67") if phone_warning(n) is not None]
    if wrong:
        raise RuntimeError(f"the numbering-plan data is incomplete: {', '.join(wrong)} would be called wrong")
    if phone_warning("07912 34567") is None:
        raise RuntimeError("the numbering-plan data is incomplete: a mobile number one digit short passes")
    return f"phonenumbers {phonenumbers.__version__}: UK, short and international numbers checked"


def run(data_dir: Path, out: Callable[[str], None] = print) -> int:
    checks: list[tuple[str, Check]] = [
        ("Qt", _qt),
        ("fonts", _fonts_from_probe),
        ("crypto", _crypto),
        ("data folder", _data_dir(data_dir)),
        ("resources", _resources),
        ("layouts", _layouts),
        ("crisis contacts", _crisis_contacts),
        ("branding", _branding),
        ("easy-read pictures", _easy_read_icons),
        ("phone numbers", _phone_numbers),
    ]
    failures = 0
    for name, check in checks:
        try:
            out(f"ok    {name}: {check()}")
        except Exception as exc:  # every failure is reported, none stops the others
            failures += 1
            out(f"FAIL  {name}: {exc}")
    out("self-test passed" if not failures else f"self-test FAILED: {failures} problem(s)")
    return 0 if not failures else 1
