"""A TCP proxy on 127.0.0.1 in front of the test PostgreSQL that can turn into a black hole: it keeps
every connection open and stops forwarding, as a hub that is alive but never answers (a server stuck
on a lock, a firewall dropping packets, a proxy gone wrong). TCP stays healthy: keepalives are
answered and nothing is refused, so only a client-side deadline or an abort ends a wait on it."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass
class _Link:
    sockets: tuple[socket.socket, socket.socket]
    dead: bool = False  # swallowed once: this connection never forwards again (its stream is broken)
    tails: dict[int, bytes] = field(default_factory=dict)


class HubProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._holing = False
        self._trigger: bytes | None = None
        self.swallowed = 0  # bytes held back from either side
        self.connections = 0
        threading.Thread(target=self._accept, name="hub-proxy", daemon=True).start()

    def url(self, dbname: str) -> str:
        return f"postgresql://127.0.0.1:{self.port}/{dbname}"

    def black_hole(self, when_sent: bytes | None = None) -> None:
        """Stop forwarding now, or from the moment a client sends `when_sent` (that message included):
        then on every connection, and on new ones (a cancel request is swallowed too)."""
        with self._lock:
            if when_sent is None:
                self._holing = True
            else:
                self._trigger = when_sent

    def forward(self) -> None:
        """New connections work again (the hub is back); a connection that lost bytes stays dead."""
        with self._lock:
            self._holing, self._trigger = False, None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            for s in link.sockets:
                with contextlib.suppress(OSError):
                    s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            link = _Link((client, upstream))
            with self._lock:
                self._links.append(link)
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(link, src, dst), daemon=True).start()

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(CHUNK)
            except OSError:
                return
            if not data:
                if not link.dead:  # a clean end passes on; a black hole passes on nothing
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                return
            if self._swallow(link, src, data):
                continue
            try:
                dst.sendall(data)
            except OSError:
                return

    def _swallow(self, link: _Link, src: socket.socket, data: bytes) -> bool:
        with self._lock:
            seen = link.tails.get(src.fileno(), b"") + data
            link.tails[src.fileno()] = seen[-256:]  # a marker split between two reads is still seen
            if self._trigger is not None and src is link.sockets[0] and self._trigger in seen:
                self._holing = True
            if self._holing:
                link.dead = True
            if link.dead:
                self.swallowed += len(data)
            return link.dead
