"""The first-run wizard, driven from the keyboard and mouse against the real store."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QWizard

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.access.sign_in import reset_password_with_recovery
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.store import database
from perfectcare_desktop.ui import setup_wizard
from perfectcare_desktop.ui.operation import Operations
from perfectcare_desktop.ui.setup_wizard import DEFAULT_PDF_NAME, SetupWizard
from perfectcare_desktop.ui.theme import apply_theme

ORG = "Mersey Care NHS Foundation Trust"
USER = "jsmith"
FULL_NAME = "Jo Smith"
PASSWORD = "purple kettle harbour"
SHOTS = Path("/tmp/shots")
KEY_SHAPE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){13}$")


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[None]:
    """The light theme, as the app shows it; put back afterwards for other tests."""
    palette, sheet = qapp.palette(), qapp.styleSheet()
    apply_theme(qapp, "light")
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)


@pytest.fixture
def make_wizard(qtbot, clock, themed):
    made: list[SetupWizard] = []

    def make(folder: Path, own_size: bool = False) -> SetupWizard:
        wizard = SetupWizard(folder, Operations(synchronous=True), clock=clock)
        if not own_size:
            wizard.resize(800, 600)
        wizard.show()
        qtbot.waitExposed(wizard)
        made.append(wizard)
        return wizard

    yield make
    for wizard in made:  # not qtbot.addWidget: its close() would stop at the "close anyway?" question
        if wizard.isVisible():
            wizard.done(QDialog.DialogCode.Rejected)
        if wizard.store is not None:
            wizard.store.close()
        wizard.deleteLater()
    # Delete now, not at some later event-loop pass: re-applying a style sheet (the next test's
    # theme) while a half-deleted dialog is still queued crashes Qt.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def shot(qtbot, wizard: SetupWizard, name: str) -> None:
    qtbot.wait(50)  # let pending layout requests settle, as they do before the user sees a frame
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert wizard.grab().save(str(SHOTS / name))


def forward(qtbot, wizard: SetupWizard) -> None:
    """Click whichever of Next / Create the store / Finish is showing."""
    for which in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.NextButton):
        button = wizard.button(which)
        if button.isVisible():
            assert button.isEnabled()
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            return
    raise AssertionError("no forward button showing")


def forward_enabled(wizard: SetupWizard) -> bool:
    return any(
        wizard.button(b).isVisible() and wizard.button(b).isEnabled()
        for b in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.NextButton)
    )


def fill_admin(qtbot, wizard: SetupWizard, password: str, confirm: str | None = None) -> None:
    page = wizard.admin_page
    for field, text in ((page.username, USER), (page.full_name, FULL_NAME), (page.password, password),
                        (page.confirm, password if confirm is None else confirm)):  # fmt: skip
        field.clear()
        qtbot.keyClicks(field, text)


def wait_created(qtbot, wizard: SetupWizard) -> None:
    qtbot.waitUntil(lambda: wizard.currentId() != SetupWizard.CREATING, timeout=20_000)


def walk_to_recovery(qtbot, wizard: SetupWizard) -> str:
    qtbot.keyClicks(wizard.org_page.org_name, ORG)
    forward(qtbot, wizard)
    fill_admin(qtbot, wizard, PASSWORD)
    forward(qtbot, wizard)
    wait_created(qtbot, wizard)
    assert wizard.currentId() == SetupWizard.RECOVERY
    return wizard.recovery_page.key_label.text()


def as_key(shown: str) -> str:
    """The key exactly as core formats it, from what is on screen (two lines of groups)."""
    return "-".join(re.findall(r"[A-Z2-7]{4}", shown))


def finish_enabled(wizard: SetupWizard) -> bool:
    return wizard.button(QWizard.WizardButton.FinishButton).isEnabled()


# --- the whole walk ----------------------------------------------------------------------------------
def test_walk_through_creates_a_store_and_has_the_key_kept(qtbot, make_wizard, data_dir: Path) -> None:
    wizard = make_wizard(data_dir)
    org = wizard.org_page
    assert wizard.currentId() == SetupWizard.ORG
    assert str(data_dir) in org.folder.text()
    assert not forward_enabled(wizard)
    qtbot.keyClicks(org.org_name, ORG)
    assert forward_enabled(wizard)
    shot(qtbot, wizard, "wizard_org.png")
    qtbot.keyClick(org.org_name, Qt.Key.Key_Return)  # Enter advances
    assert wizard.currentId() == SetupWizard.ADMIN

    # Next stays disabled until every field is filled and the passwords match.
    admin = wizard.admin_page
    assert not forward_enabled(wizard)
    fill_admin(qtbot, wizard, "short1", confirm="short2")
    assert not forward_enabled(wizard)
    assert admin.mismatch.isVisible() and "not the same" in admin.mismatch.text()
    admin.confirm.clear()
    qtbot.keyClicks(admin.confirm, "short1")
    assert forward_enabled(wizard) and not admin.mismatch.isVisible()

    # Too short: core's sentence, inline, back on this page; nothing written.
    forward(qtbot, wizard)
    wait_created(qtbot, wizard)
    assert wizard.currentId() == SetupWizard.ADMIN
    assert admin.message.isVisible()
    assert "at least 12 characters" in admin.message.text()
    assert not database.db_path(data_dir).exists()
    assert wizard.store is None
    shot(qtbot, wizard, "wizard_admin.png")

    # The user can go back and forward again without losing what was typed.
    back = wizard.button(QWizard.WizardButton.BackButton)
    assert back.isEnabled()
    qtbot.mouseClick(back, Qt.MouseButton.LeftButton)
    assert wizard.currentId() == SetupWizard.ORG
    forward(qtbot, wizard)
    assert admin.username.text() == USER and admin.full_name.text() == FULL_NAME

    # Fixed: Enter in the last field creates the store.
    fill_admin(qtbot, wizard, PASSWORD)
    assert not admin.message.isVisible()
    qtbot.keyClick(admin.confirm, Qt.Key.Key_Return)
    wait_created(qtbot, wizard)
    assert wizard.currentId() == SetupWizard.RECOVERY
    assert database.db_path(data_dir).exists()
    assert wizard.store is not None and wizard.admin_username == USER
    assert wizard.store.organisation == ORG

    # The recovery page: Back gone (the store exists), Finish waits for the check.
    page = wizard.recovery_page
    assert not wizard.button(QWizard.WizardButton.BackButton).isEnabled()
    shown = page.key_label.text()
    key = as_key(shown)
    assert KEY_SHAPE.match(key)
    assert page.key_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert key not in QGuiApplication.clipboard().text()
    assert not finish_enabled(wizard)
    shot(qtbot, wizard, "wizard_recovery.png")

    last = key.rsplit("-", 1)[1]
    wrong = ("A" if last[0] != "A" else "B") + last[1:]
    qtbot.keyClicks(page.last_group, wrong)
    assert page.check_message.isVisible() and "not the last group" in page.check_message.text()
    qtbot.keyClick(page.kept, Qt.Key.Key_Space)
    assert page.kept.isChecked()
    assert not finish_enabled(wizard)
    page.last_group.clear()
    qtbot.keyClicks(page.last_group, last.lower())  # case-insensitive
    assert finish_enabled(wizard)
    qtbot.keyClick(page.kept, Qt.Key.Key_Space)
    assert not finish_enabled(wizard)
    qtbot.keyClick(page.kept, Qt.Key.Key_Space)
    assert finish_enabled(wizard)

    # The key shown is the store's: it resets a password; and the password typed in the wizard signs in.
    with Store.open(data_dir) as other:
        Session.sign_in(other, USER, PASSWORD)
        reset_password_with_recovery(other, shown, USER, "a brand new password")
        Session.sign_in(other, USER, "a brand new password")

    qtbot.keyClick(page.last_group, Qt.Key.Key_Return)  # Enter finishes once it is allowed
    assert not wizard.isVisible()
    assert wizard.result() == QDialog.DialogCode.Accepted
    assert wizard.key_confirmed
    assert wizard.store is not None and wizard.admin_username == USER
    assert page.key_label.text() == "" and page.recovery_key == ""  # forgotten once done
    assert key not in QGuiApplication.clipboard().text()
    assert_key_not_in_folder(data_dir, key)


def assert_key_not_in_folder(folder: Path, key: str) -> None:
    compact = key.replace("-", "")
    needles = [key.encode(), compact.encode(), compact[:12].encode(), key.lower().encode(), compact.lower().encode()]
    needles += [n.decode().encode("utf-16-le") for n in needles]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"recovery key found in {path.name}"


# --- the key on paper --------------------------------------------------------------------------------
def pdf_text(path: Path) -> str:
    reader = PdfReader(str(path))
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))


def test_save_as_pdf_writes_the_key_and_organisation(qtbot, make_wizard, data_dir: Path, tmp_path: Path,
                                                     monkeypatch) -> None:  # fmt: skip
    wizard = make_wizard(data_dir)
    key = as_key(walk_to_recovery(qtbot, wizard))
    out = tmp_path / "usb" / DEFAULT_PDF_NAME
    out.parent.mkdir()
    asked: list[tuple] = []

    def fake_save(*args, **kwargs):
        asked.append(args)
        return str(out), "PDF files (*.pdf)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_save)
    qtbot.mouseClick(wizard.recovery_page.save_button, Qt.MouseButton.LeftButton)

    suggested = Path(asked[0][2])
    assert suggested.name == "PerfectCare-recovery-key.pdf"  # no personal or organisation detail
    assert out.exists() and out.read_bytes().startswith(b"%PDF")
    assert wizard.recovery_page.message.isVisible() and "Saved to" in wizard.recovery_page.message.text()
    text = pdf_text(out)
    for group in key.split("-"):
        assert group in text
    assert ORG.replace(" ", "") in text
    assert "willnotbeshownagain" in text.lower()
    assert_key_not_in_folder(data_dir, key)

    if shutil.which("pdftoppm"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(out), str(SHOTS / "recovery_pdf")], check=True)


def test_save_as_pdf_refuses_the_store_folder(qtbot, make_wizard, data_dir: Path, monkeypatch) -> None:
    wizard = make_wizard(data_dir)
    key = as_key(walk_to_recovery(qtbot, wizard))
    inside = data_dir / "key"  # no .pdf: it is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(inside), ""))
    qtbot.mouseClick(wizard.recovery_page.save_button, Qt.MouseButton.LeftButton)
    assert "store folder" in wizard.recovery_page.message.text()
    assert not inside.with_name("key.pdf").exists()
    assert_key_not_in_folder(data_dir, key)


def test_cancelled_save_dialog_writes_nothing(qtbot, make_wizard, data_dir: Path, monkeypatch) -> None:
    wizard = make_wizard(data_dir)
    walk_to_recovery(qtbot, wizard)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    qtbot.mouseClick(wizard.recovery_page.save_button, Qt.MouseButton.LeftButton)
    assert not wizard.recovery_page.message.isVisible()


def test_print_renders_the_same_page(qtbot, make_wizard, data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    wizard = make_wizard(data_dir)
    key = as_key(walk_to_recovery(qtbot, wizard))
    out = tmp_path / "printed.pdf"

    class FakePrintDialog:
        """Stands in for the printer chooser: 'prints' to a PDF file so the page can be read back."""

        def __init__(self, printer: QPrinter, parent=None) -> None:
            self.printer = printer

        def setWindowTitle(self, title: str) -> None:
            pass

        def exec(self) -> QDialog.DialogCode:
            self.printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            self.printer.setOutputFileName(str(out))
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr(setup_wizard, "QPrintDialog", FakePrintDialog)
    qtbot.mouseClick(wizard.recovery_page.print_button, Qt.MouseButton.LeftButton)
    text = pdf_text(out)
    assert all(group in text for group in key.split("-"))
    assert ORG.replace(" ", "") in text
    assert "printer" in wizard.recovery_page.message.text()


# --- closing on the key page ---------------------------------------------------------------------------
def test_closing_on_the_key_page_asks_first(qtbot, make_wizard, data_dir: Path, monkeypatch) -> None:
    wizard = make_wizard(data_dir)
    walk_to_recovery(qtbot, wizard)
    answers: list[str] = []
    choice = {"role": QMessageBox.ButtonRole.RejectRole}

    def fake_exec(box: QMessageBox) -> int:
        answers.append(box.text())
        for button in box.buttons():
            if box.buttonRole(button) == choice["role"]:
                button.click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert wizard.isVisible() and wizard.currentId() == SetupWizard.RECOVERY
    assert "will not be shown again" in answers[0]
    assert wizard.recovery_page.recovery_key  # still there to be kept

    choice["role"] = QMessageBox.ButtonRole.DestructiveRole
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    assert not wizard.isVisible()
    assert wizard.result() == QDialog.DialogCode.Rejected
    assert wizard.store is not None and not wizard.key_confirmed  # the store exists all the same
    assert wizard.recovery_page.recovery_key == ""


def test_cancel_before_creating_needs_no_confirmation(qtbot, make_wizard, data_dir: Path, monkeypatch) -> None:
    wizard = make_wizard(data_dir)
    monkeypatch.setattr(QMessageBox, "exec", lambda box: pytest.fail("asked needlessly"))
    qtbot.keyClicks(wizard.org_page.org_name, ORG)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    assert not wizard.isVisible() and wizard.store is None
    assert not database.db_path(data_dir).exists()


# --- where the store cannot be made ---------------------------------------------------------------------
def test_folder_with_a_store_says_so(qtbot, make_wizard, data_dir: Path, clock) -> None:
    existing, _key = Store.create(data_dir, "Another Trust", "someone", "another password 1", clock=clock)
    existing.close()
    before = database.db_path(data_dir).read_bytes()
    wizard = make_wizard(data_dir)
    qtbot.keyClicks(wizard.org_page.org_name, ORG)
    message = wizard.org_page.message
    assert message.isVisible() and "already a store" in message.text()
    assert not forward_enabled(wizard)
    assert database.db_path(data_dir).read_bytes() == before


def test_store_appearing_meanwhile_is_reported_not_replaced(qtbot, make_wizard, data_dir: Path, clock) -> None:
    wizard = make_wizard(data_dir)
    qtbot.keyClicks(wizard.org_page.org_name, ORG)
    forward(qtbot, wizard)
    fill_admin(qtbot, wizard, PASSWORD)
    existing, _key = Store.create(data_dir, "Another Trust", "someone", "another password 1", clock=clock)
    existing.close()
    forward(qtbot, wizard)
    wait_created(qtbot, wizard)
    assert wizard.currentId() == SetupWizard.ORG
    assert "already a store" in wizard.org_page.message.text()
    assert not forward_enabled(wizard)
    assert wizard.store is None
    with Store.open(data_dir) as store:
        assert store.organisation == "Another Trust"


def test_unwritable_folder_is_reported(qtbot, make_wizard, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    wizard = make_wizard(blocker / "store")
    qtbot.keyClicks(wizard.org_page.org_name, ORG)
    forward(qtbot, wizard)
    fill_admin(qtbot, wizard, PASSWORD)
    forward(qtbot, wizard)
    wait_created(qtbot, wizard)
    assert wizard.currentId() == SetupWizard.ORG
    message = wizard.org_page.message
    assert message.isVisible() and "Cannot create a store" in message.text()
    assert forward_enabled(wizard)  # once IT has fixed the folder, try again
    assert wizard.button(QWizard.WizardButton.CancelButton).isEnabled()


def test_user_name_problem_goes_to_the_user_name(qtbot, make_wizard, data_dir: Path) -> None:
    wizard = make_wizard(data_dir)
    qtbot.keyClicks(wizard.org_page.org_name, ORG)
    forward(qtbot, wizard)
    page = wizard.admin_page
    for field, text in ((page.username, "jo smith"), (page.full_name, FULL_NAME), (page.password, PASSWORD),
                        (page.confirm, PASSWORD)):  # fmt: skip
        qtbot.keyClicks(field, text)
    forward(qtbot, wizard)
    wait_created(qtbot, wizard)
    assert wizard.currentId() == SetupWizard.ADMIN
    assert "user name is up to 64" in page.message.text()
    assert page.username.hasFocus()
    assert not database.db_path(data_dir).exists()


# --- keyboard and accessibility --------------------------------------------------------------------------
def test_every_field_has_a_mnemonic_label_and_a_name(qtbot, make_wizard, data_dir: Path) -> None:
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit

    wizard = make_wizard(data_dir)
    for page in (wizard.org_page, wizard.admin_page, wizard.recovery_page):
        buddies = {label.buddy() for label in page.findChildren(QLabel) if label.buddy() is not None}
        for field in page.findChildren(QLineEdit):
            assert field.accessibleName(), field
            assert field in buddies, field.accessibleName()
        for label in page.findChildren(QLabel):
            if label.buddy() is not None:
                assert re.search(r"&\w", label.text()), label.text()
        for button in page.findChildren(QAbstractButton):
            assert button.accessibleName(), button.text()


def test_twice_the_text_size_cuts_nothing_off(qtbot, qapp, make_wizard, data_dir: Path) -> None:
    from PySide6.QtWidgets import QLabel, QScrollArea

    original = QFont(qapp.font())
    large = QFont(original)
    large.setPointSizeF(original.pointSizeF() * 2)
    qapp.setFont(large)
    try:
        wizard = make_wizard(data_dir, own_size=True)

        def assert_fits(page) -> None:
            area = page.findChild(QScrollArea)
            # Long lines wrap (the page may scroll down, never sideways) once the layout has settled.
            qtbot.waitUntil(lambda: not area.horizontalScrollBar().isVisible(), timeout=2000)
            for label in page.findChildren(QLabel):
                if label.isVisible() and label.wordWrap():
                    assert label.height() >= label.heightForWidth(label.width()), label.text()
                    assert label.width() <= area.viewport().width(), label.text()

        assert_fits(wizard.org_page)
        walk_to_recovery(qtbot, wizard)
        assert_fits(wizard.recovery_page)
        shot(qtbot, wizard, "wizard_recovery_2x.png")
    finally:
        qapp.setFont(original)
