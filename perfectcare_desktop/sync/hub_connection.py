"""A hub connection that cannot hang: every wait on the hub has a deadline, and another thread may end
what the connection is doing (the app's lock).

TCP keepalives and tcp_user_timeout (hub_address) notice a dead link. They cannot notice a hub that is
alive but never answers (a server stuck on a lock or a full disk, a proxy that swallows the bytes): TCP
is healthy, no data comes. So each wait for the hub's answer arms a timer; if the answer has not come
by the deadline, the hub is asked to cancel the statement and the link is cut, and the waiting thread
gets psycopg's OperationalError (the round reports the hub unreachable; nothing queued is lost).

Imported only when a hub connection is opened: psycopg stays out of the app's start-up.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import psycopg

# Longer than the hub's own statement_timeout (its role settings), so a hub that can answer says so
# itself first; and longer than a batch of 500 versions takes on a slow link.
STATEMENT_DEADLINE_SECONDS = 120.0
# How long a cancel request may take before the link is cut anyway (a hub that does not answer
# statements does not answer cancel requests either; libpq before 17 has no timeout of its own).
CANCEL_TIMEOUT_SECONDS = 2.0


class HubConnection(psycopg.Connection[Any]):
    """psycopg's connection with a deadline on each wait for the hub, and `abort()` for other threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Our own descriptor of libpq's socket: shutting it down wakes a thread blocked on the hub. libpq
        # may close its descriptor when the link fails; ours stays valid (never a reused number) until close().
        shared = socket.socket(fileno=self.pgconn.socket)
        try:
            self._link = shared.dup()
        finally:
            shared.detach()  # libpq's descriptor stays libpq's

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        """Every statement, commit and fetch waits here (psycopg's one wait on an open connection)."""
        timer = threading.Timer(STATEMENT_DEADLINE_SECONDS, self._cut)
        timer.daemon = True
        timer.start()
        try:
            return super().wait(gen, *args, **kwargs)
        finally:
            timer.cancel()

    def abort(self) -> None:
        """From any thread, returning at once: the statement in flight (or the next one) fails with
        OperationalError. The hub rolls back the open transaction, as after any dropped link."""
        threading.Thread(target=self._cut, name="hub-abort", daemon=True).start()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._link.close()

    def _cut(self) -> None:
        """Ask the hub to cancel (a hub that answers stops the statement's work at once), then cut the
        link, which a hub that answers nothing needs."""
        asking = threading.Thread(target=self._ask_to_cancel, name="hub-cancel", daemon=True)
        asking.start()
        asking.join(CANCEL_TIMEOUT_SECONDS)
        with contextlib.suppress(OSError):  # already closed: nothing to cut
            self._link.shutdown(socket.SHUT_RDWR)

    def _ask_to_cancel(self) -> None:
        with contextlib.suppress(psycopg.Error):  # unreachable, or closed meanwhile: the cut follows anyway
            self.cancel_safe(timeout=CANCEL_TIMEOUT_SECONDS)
