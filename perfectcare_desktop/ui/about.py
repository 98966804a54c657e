"""Help > About / managed settings: the version, where the store and logs are, and every setting in
force with where it comes from — so a clinician or an admin can see which values machine policy has
locked, and any policy value that was refused (reported, ignored)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..policy import Settings
from .table_model import RowsModel
from .widgets import em, heading

COLUMNS = ("Setting", "Value", "Set by")


class AboutDialog(QDialog):
    def __init__(self, settings: Settings, data_dir: Path | None, log_file: Path | None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle("About PerfectCare Desktop")
        facts = QLabel(
            f"Version {__version__}\n"
            f"Store folder: {data_dir or 'not chosen'}\n"
            f"Log file: {log_file or 'not written (no writable log folder)'}",
            self,
        )
        facts.setAccessibleName("About")
        facts.setWordWrap(True)
        self.model = RowsModel(COLUMNS, parent=self)
        self.model.set_rows(settings.rows())
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Managed settings")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.problems = QLabel(self)
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName("Policy problems")
        if settings.problems:
            self.problems.setText("Refused and ignored:\n" + "\n".join(f"• {p}" for p in settings.problems))
        else:
            self.problems.setText("Every policy value in force was valid.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("PerfectCare Desktop", self))
        layout.addWidget(facts)
        layout.addWidget(QLabel("Settings in force (values locked by policy are changed by your IT team):", self))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)
        self.resize(em(self, 60), em(self, 30))
