"""Sign-in and unlock: one page for both. Clear messages; a lockout delay counts down visibly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..errors import AccountLocked, PerfectCareError
from .operation import Operations
from .widgets import Message, em, heading, shortcut_button


class LoginPage(QWidget):
    """`attempt(username, password)` runs in the background; `succeeded` carries its result."""

    succeeded = Signal(object)

    def __init__(self, ops: Operations, attempt: Callable[[str, str], Any], organisation: str,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.ops = ops
        self._attempt = attempt
        self._wait_left = 0
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)

        self.title = heading("Sign in", self)
        self.org = QLabel(organisation, self)
        self.explain = QLabel("", self)
        self.explain.setWordWrap(True)
        self.username = QLineEdit(self)
        self.username.setAccessibleName("User name")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.message = Message(self)
        self.sign_in = shortcut_button("&Sign in", None, self._submit, self, name="sign_in")
        self.sign_in.setDefault(True)
        self.username.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._submit)

        form = QFormLayout()
        user_label = QLabel("&User name", self)
        user_label.setBuddy(self.username)
        pass_label = QLabel("&Password", self)
        pass_label.setBuddy(self.password)
        form.addRow(user_label, self.username)
        form.addRow(pass_label, self.password)

        box = QWidget(self)
        inner = QVBoxLayout(box)
        inner.addWidget(self.title)
        inner.addWidget(self.org)
        inner.addWidget(self.explain)
        inner.addLayout(form)
        inner.addWidget(self.message)
        inner.addWidget(self.sign_in)
        box.setFixedWidth(em(self, 32))
        # Centred by stretches, not an alignment flag: the first use of the `Qt` namespace builds all
        # of its ~90 enums (some 35 ms), and nothing else before the first paint uses it.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def set_organisation(self, name: str) -> None:
        self.org.setText(name)

    def set_waiting(self, text: str | None) -> None:
        """While the store opens: say so, and keep Sign in disabled (typing may already start)."""
        self.sign_in.setEnabled(text is None)
        if text:
            self.message.show_ok(text)
        else:
            self.message.clear_message()

    def show_login(self) -> None:
        self.title.setText("Sign in")
        self.explain.setText("")
        self.username.setReadOnly(False)
        self._reset_fields()
        self.username.setFocus()

    def show_locked(self, username: str) -> None:
        """The lock screen: only the signed-in user can unlock; nothing about any patient is shown."""
        self.title.setText("Locked")
        self.explain.setText(f"PerfectCare is locked. {username}, enter your password to carry on where you were.")
        self.username.setText(username)
        self.username.setReadOnly(True)
        self.password.clear()
        self.message.clear_message()
        self.password.setFocus()

    def _reset_fields(self) -> None:
        self.username.clear()
        self.password.clear()
        self.message.clear_message()

    def _submit(self) -> None:
        if not self.sign_in.isEnabled():
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username:
            self.message.show_error("Enter your user name.")
            self.username.setFocus()
            return
        if not password:
            self.message.show_error("Enter your password.")
            self.password.setFocus()
            return
        self.sign_in.setEnabled(False)
        self.message.show_ok("Checking…")
        self.ops.run(lambda: self._attempt(username, password), self._done, self._failed)

    def _done(self, result: Any) -> None:
        self.password.clear()
        self.message.clear_message()
        self.sign_in.setEnabled(True)
        self.succeeded.emit(result)

    def _failed(self, error: BaseException) -> None:
        self.password.clear()
        self.password.setFocus()
        if isinstance(error, AccountLocked):
            self._wait_left = error.retry_after_seconds
            self.message.show_error(str(error))
            self._countdown.start()
            return
        self.sign_in.setEnabled(True)
        if isinstance(error, PerfectCareError):
            self.message.show_error(str(error))
        else:
            raise error

    def _tick(self) -> None:
        self._wait_left -= 1
        if self._wait_left <= 0:
            self._countdown.stop()
            self.sign_in.setEnabled(True)
            self.message.show_ok("You can try again now.")
        else:
            self.message.show_error(f"Too many failed attempts: try again in {self._wait_left} seconds.")
