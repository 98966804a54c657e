"""A table model of ready-made strings: what most tables here show (users, audit, version history)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

_ROLE = Qt.ItemDataRole


class RowsModel(QAbstractTableModel):
    """Rows of strings; nothing else is held, so `clear()` really forgets them (the app is locking)."""

    def __init__(self, headers: tuple[str, ...], tip_columns: tuple[int, ...] = (), parent: QObject | None = None):
        super().__init__(parent)
        self._headers = headers
        self._tip_columns = tip_columns
        self.rows: Sequence[tuple[str, ...]] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _ROLE.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        value = self.rows[index.row()][index.column()]
        if role in (_ROLE.DisplayRole, _ROLE.AccessibleTextRole):
            return value
        if role == _ROLE.ToolTipRole and index.column() in self._tip_columns and value:
            return value  # long text is elided in the cell
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _ROLE.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role in (_ROLE.DisplayRole, _ROLE.AccessibleTextRole):
            return self._headers[section]
        return None

    def set_rows(self, rows: Sequence[tuple[str, ...]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])
