"""Plan history: one saved version read-only, and two versions compared."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QDialog, QLabel

from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import NOT_APPLICABLE, PlanContent, person_view
from perfectcare_desktop.core.clinical.plan_layout import PlanLayout, load_catalogue
from perfectcare_desktop.ui.plan_history import NOTES_TITLE, CompareDialog, VersionDialog

LABELS = (
    "12 Nov 2026 14:03 · Draft · Dr A Jones",
    "19 Nov 2026 10:15 · Agreed · Dr A Jones",
    "26 Nov 2026 09:30 · Revision in draft · K Nowak",
)


@pytest.fixture
def layout() -> PlanLayout:
    return load_catalogue().latest()


@pytest.fixture
def versions(layout: PlanLayout) -> list[PlanContent]:
    first = PlanContent.blank(layout, load_directory().ref)
    first.section("warning_signs").entries = [{"text": "I stop answering my phone"}, {"text": "Not eating"}]
    first.section("coping_alone").entries = [{"text": "Walk the dog"}]
    second = first.copy()
    second.section("warning_signs").entries[1] = {"text": "Not eating properly"}
    second.section("distractions").entries = [{"text": "Ring Żaneta"}]
    second.section("using_plan").state = NOT_APPLICABLE
    third = second.copy()
    third.section("coping_alone").entries = []
    third.clinician_notes = "Reviewed with the duty team"
    return [first, second, third]


@pytest.fixture
def dialog(qtbot, layout: PlanLayout, versions: list[PlanContent]) -> CompareDialog:
    dlg = CompareDialog(list(zip(LABELS, versions, strict=True)), lambda _content: layout)
    qtbot.addWidget(dlg)
    return dlg


def rows(dlg: CompareDialog) -> list[tuple[str, ...]]:
    model = dlg.table.model()
    return [tuple(model.index(r, c).data() for c in range(model.columnCount())) for r in range(model.rowCount())]


def test_version_dialog_keeps_clinician_notes_apart(qtbot, layout: PlanLayout, versions: list[PlanContent]) -> None:
    meta = "Agreed · 12 Nov 2026 14:03 · Dr A Jones"
    dlg = VersionDialog("Safety plan version", meta, person_view(layout, versions[2]), "Reviewed with the duty team")
    qtbot.addWidget(dlg)
    plan_text = dlg.plan.toPlainText()
    assert "Not eating properly" in plan_text and "Ring Żaneta" in plan_text
    assert "We talked about this. It does not apply to me right now." in plan_text
    assert "Reviewed with the duty team" not in plan_text
    assert dlg.notes.toPlainText() == "Reviewed with the duty team" and dlg.notes.isReadOnly()
    assert dlg.notes_heading.text() == NOTES_TITLE
    assert meta in [label.text() for label in dlg.findChildren(QLabel)]
    assert dlg.plan.isReadOnly()


def test_version_dialog_says_when_there_are_no_notes_and_closes_with_esc(qtbot, layout: PlanLayout) -> None:
    dlg = VersionDialog("Safety plan version", "Draft", person_view(layout, PlanContent.blank(layout, {})), "  ")
    qtbot.addWidget(dlg)
    assert dlg.notes.toPlainText() == "None written."
    with qtbot.waitActive(dlg):
        dlg.show()
    with qtbot.waitSignal(dlg.rejected, timeout=1000):
        qtbot.keyClick(dlg.plan, Qt.Key.Key_Escape)
    assert not dlg.isVisible()


def test_compare_lists_the_versions_and_starts_with_first_and_last(dialog: CompareDialog) -> None:
    for combo in (dialog.earlier, dialog.later):
        assert [combo.itemText(i) for i in range(combo.count())] == list(LABELS)
    assert dialog.earlier.currentIndex() == 0 and dialog.later.currentIndex() == 2
    assert [h for h in (dialog.table.model().headerData(c, Qt.Orientation.Horizontal) for c in range(4))] == [
        "Section",
        "Earlier version",
        "Later version",
        "Change",
    ]


def test_compare_shows_changes_in_words_and_follows_the_combos(dialog: CompareDialog) -> None:
    shown = rows(dialog)  # first against third
    assert ("When to use this plan: my warning signs", "Not eating", "Not eating properly", "changed") in shown
    assert ("Things I can do on my own", "Walk the dog", "", "removed") in shown
    assert ("People and places that take my mind off things", "", "Ring Żaneta", "added") in shown
    assert ("Clinician notes", "", "Reviewed with the duty team", "changed") in shown
    assert all(r[3] != "same" for r in shown)

    dialog.earlier.setCurrentIndex(1)  # second against third: only the removal and the notes
    assert {(r[0], r[3]) for r in rows(dialog)} == {("Things I can do on my own", "removed"),
                                                    ("Clinician notes", "changed")}  # fmt: skip
    dialog.later.setCurrentIndex(1)  # a version against itself
    assert rows(dialog) == []
    assert dialog.empty.isVisibleTo(dialog)


def test_only_show_changes_filters_unchanged_rows(dialog: CompareDialog) -> None:
    assert dialog.only_changes.isChecked()
    assert ("When to use this plan: my warning signs", "I stop answering my phone",
            "I stop answering my phone", "same") not in rows(dialog)  # fmt: skip
    dialog.only_changes.setChecked(False)
    everything = rows(dialog)
    assert ("When to use this plan: my warning signs", "I stop answering my phone",
            "I stop answering my phone", "same") in everything  # fmt: skip
    dialog.only_changes.setChecked(True)
    assert len(rows(dialog)) == len(everything) - 1


def test_changed_cells_are_tinted_and_the_change_is_also_in_words(dialog: CompareDialog) -> None:
    dialog.only_changes.setChecked(False)
    model = dialog.table.model()
    for r, row in enumerate(rows(dialog)):
        tint = model.index(r, 2).data(Qt.ItemDataRole.BackgroundRole)
        assert (tint is not None) == (row[3] != "same" and bool(row[2]))
        assert row[3] in ("same", "changed", "added", "removed")


def test_every_control_is_named_and_reachable_by_keyboard(qtbot, dialog: CompareDialog) -> None:
    buttons = [b for b in dialog.findChildren(QAbstractButton) if not dialog.table.isAncestorOf(b)]  # not its corner
    controls = [*dialog.findChildren(QComboBox), *buttons, dialog.table]
    assert len(controls) == 5  # two combos, the checkbox, Close, the table
    for widget in controls:
        assert widget.accessibleName(), widget
    with qtbot.waitActive(dialog):
        dialog.show()
    qtbot.keyClick(dialog, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.later
    qtbot.keyClick(dialog, Qt.Key.Key_E, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.earlier
    qtbot.keyClick(dialog.earlier, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is dialog.later
    assert isinstance(QApplication.focusWidget(), QComboBox)
    assert not dialog.table.tabKeyNavigation()  # Tab leaves the table rather than trapping the user in it


def test_compare_closes_with_esc(qtbot, dialog: CompareDialog) -> None:
    with qtbot.waitActive(dialog):
        dialog.show()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and not dialog.isVisible()
