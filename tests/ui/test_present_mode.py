"""Present mode: the person's plan in large type, re-rendered as the clinician types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock
from PySide6.QtWidgets import QApplication

from perfectcare_desktop.core.clinical.crisis_directory import CrisisDirectory, load_directory
from perfectcare_desktop.core.clinical.plan_content import DECLINED, PlanContent, person_view
from perfectcare_desktop.core.clinical.plan_layout import PlanLayout, load_catalogue
from perfectcare_desktop.ui.present_mode import NOT_FILLED, WINDOW_TITLE, PresentWindow, direction

NOTES = "Disclosed a plan last week; discuss with the team"
URDU = "میں اپنی بہن کو فون کروں گی اور چائے بناؤں گی"
TITLE = "Siân's safety plan"


@pytest.fixture
def layout() -> PlanLayout:
    return load_catalogue().latest()


@pytest.fixture
def directory() -> CrisisDirectory:
    return load_directory()


@pytest.fixture
def content(layout: PlanLayout, directory: CrisisDirectory) -> PlanContent:
    plan = PlanContent.blank(layout, directory.ref)
    plan.section("warning_signs").entries = [{"text": "I stop answering my phone"}, {"text": "Dw i'n methu cysgu"}]
    plan.section("coping_alone").entries = [{"text": URDU}, {"text": "Make a cup of tea 🍵"}]
    plan.section("people_to_ask").entries = [{"name": "Żaneta", "relationship": "sister", "phone": "07700 900123"}]
    plan.section("reasons_for_living").state = DECLINED
    plan.section("reasons_for_living").reason = "Too raw to talk about today"
    plan.clinician_notes = NOTES
    return plan


@pytest.fixture
def window(qtbot) -> PresentWindow:
    win = PresentWindow()
    qtbot.addWidget(win)
    win.resize(900, 700)
    return win


def _block_with(win: PresentWindow, text: str) -> QTextBlock:
    block = win.browser.document().begin()
    while block.isValid():
        if text in block.text():
            return block
        block = block.next()
    raise AssertionError(f"{text!r} is not shown")


def test_shows_the_persons_words_and_the_crisis_numbers_never_the_clinician_notes(
    window: PresentWindow, layout: PlanLayout, content: PlanContent, directory: CrisisDirectory
) -> None:
    window.show_plan(TITLE, person_view(layout, content), directory, "Agreed 12 November 2026")
    text = window.browser.document().toPlainText()
    assert TITLE in text
    for line in ("I stop answering my phone", "Dw i'n methu cysgu", URDU, "Make a cup of tea 🍵"):
        assert line in text
    assert "Żaneta (sister) — 07700 900123" in text
    for section in layout.sections:
        assert section.title in text
    for contact in directory.contacts:
        assert f"{contact.name}: {contact.how} — {contact.when}" in text
    assert "If you are in crisis now" in text
    assert "Numbers checked on 1 November 2026" in text
    assert "Agreed 12 November 2026" in text
    assert NOTES not in text and "discuss with the team" not in text
    assert "Too raw" not in text  # the reason a section was declined is for clinicians too
    assert "I chose not to fill it in for now" in text
    assert NOT_FILLED in text  # e.g. "Making my situation safer", not discussed yet


def test_no_crisis_block_without_a_directory(window: PresentWindow, layout: PlanLayout, content: PlanContent) -> None:
    window.show_plan(TITLE, person_view(layout, content), None)
    assert "If you are in crisis now" not in window.plain_text()
    assert "Numbers checked on" not in window.plain_text()


def test_the_window_title_never_names_the_person(
    window: PresentWindow, layout: PlanLayout, content: PlanContent, directory: CrisisDirectory
) -> None:
    assert window.isWindow() and window.windowFlags() & Qt.WindowType.Window
    window.show_plan(TITLE, person_view(layout, content), directory)
    assert window.windowTitle() == WINDOW_TITLE
    assert "Siân" not in window.windowTitle() and "Siân" not in window.accessibleName()


def test_text_is_never_read_as_markup(window: PresentWindow, layout: PlanLayout, content: PlanContent) -> None:
    content.section("distractions").entries = [{"text": "<b>Bold</b> & <a href='x'>link</a>\nsecond line"}]
    window.show_plan(TITLE, person_view(layout, content), None)
    assert "<b>Bold</b> & <a href='x'>link</a>" in window.plain_text()
    assert "second line" in window.plain_text()


def test_body_is_at_least_twice_the_app_text_size(window: PresentWindow) -> None:
    app_size = QApplication.font().pointSizeF()
    assert window.browser.document().defaultFont().pointSizeF() >= 2 * app_size
    bigger = QApplication.font()
    bigger.setPointSizeF(app_size * 1.5)
    window.setFont(bigger)  # the user's own larger text: present mode follows it
    assert window.browser.document().defaultFont().pointSizeF() >= 3 * app_size


def test_right_to_left_lines_align_right_and_an_english_title_with_an_urdu_name_does_not(
    window: PresentWindow, layout: PlanLayout, content: PlanContent
) -> None:
    window.show_plan("عائشہ's safety plan", person_view(layout, content), None)
    assert _block_with(window, URDU).textDirection() == Qt.LayoutDirection.RightToLeft
    assert _block_with(window, "I stop answering").textDirection() == Qt.LayoutDirection.LeftToRight
    assert _block_with(window, "'s safety plan").textDirection() == Qt.LayoutDirection.LeftToRight
    assert direction(URDU) == "rtl"
    assert direction("طارق (friend from church) — 07700 900067") == "ltr"
    assert direction("Dw i'n methu cysgu ☕") == "ltr"


def test_re_rendering_keeps_the_readers_place(
    qtbot, window: PresentWindow, layout: PlanLayout, content: PlanContent, directory: CrisisDirectory
) -> None:
    window.show()
    qtbot.waitExposed(window)
    window.show_plan(TITLE, person_view(layout, content), directory)
    bar = window.browser.verticalScrollBar()
    assert bar.maximum() > 300  # large type: the plan is longer than the window
    bar.setValue(bar.maximum() - 10)
    kept = bar.value()
    entry = content.section("warning_signs").entries[0]
    for char in " and stay in bed":  # the clinician types
        entry["text"] += char
        window.show_plan(TITLE, person_view(layout, content), directory)
        assert bar.value() == kept
    QApplication.processEvents()
    assert bar.value() == kept
    assert "I stop answering my phone and stay in bed" in window.plain_text()


def test_f5_and_esc_hide_the_window_and_say_so(
    qtbot, window: PresentWindow, layout: PlanLayout, content: PlanContent
) -> None:
    window.show_plan(TITLE, person_view(layout, content), None)
    for key in (Qt.Key.Key_F5, Qt.Key.Key_Escape):
        with qtbot.waitActive(window):  # a context manager: called bare, it does not wait
            window.show()
            window.activateWindow()
        with qtbot.waitSignal(window.closed, timeout=1000):
            qtbot.keyClick(window.browser, key)
        assert not window.isVisible()
        assert "I stop answering my phone" in window.plain_text()  # only hidden: reopens as it was


def test_hiding_it_from_the_app_is_not_a_user_close(qtbot, window: PresentWindow) -> None:
    window.show()
    with qtbot.assertNotEmitted(window.closed):
        window.hide()


def test_clear_forgets_the_plan_and_hides_the_window(
    qtbot, window: PresentWindow, layout: PlanLayout, content: PlanContent, directory: CrisisDirectory
) -> None:
    view = person_view(layout, content)
    window.show_plan(TITLE, view, directory)
    window.show()
    with qtbot.assertNotEmitted(window.closed):
        window.clear()  # the app locks
    assert window.plain_text().strip() == "" and not window.isVisible()
    window.show_plan(TITLE, view, directory)  # the same plan again after unlocking is shown again
    assert "I stop answering my phone" in window.plain_text()


def test_opens_large_on_a_single_screen(qtbot, window: PresentWindow) -> None:
    window.open_on_best_screen()
    qtbot.waitExposed(window)
    area = window.screen().availableGeometry()
    assert window.isVisible() and not window.isFullScreen()  # the offscreen platform has one screen
    assert window.width() >= area.width() * 0.7


SECOND_SCREEN = """
from PySide6.QtWidgets import QApplication, QMainWindow
from perfectcare_desktop.ui.present_mode import PresentWindow
app = QApplication([])
main = QMainWindow()
main.show()
window = PresentWindow(main)
window.open_on_best_screen()
app.processEvents()
print(window.screen().name(), window.isFullScreen())
"""


def test_goes_full_screen_on_the_second_screen(tmp_path: Path) -> None:
    # The offscreen platform takes its screens from a file, read when the app starts: a new process.
    config = tmp_path / "screens.json"
    screen = {"y": 0, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [
        {"name": "laptop", "x": 0, "width": 1366, "height": 768, **screen},
        {"name": "second", "x": 1366, "width": 1920, "height": 1080, **screen},
    ]}))  # fmt: skip
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    done = subprocess.run([sys.executable, "-c", SECOND_SCREEN], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["second", "True"]
