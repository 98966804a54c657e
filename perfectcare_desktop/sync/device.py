"""This PC's enrolment: where the hub is and the credentials of its own hub role, sealed in the store
under the data key (never in settings, logs or files), plus the pull cursors kept beside them."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from ..crypto.vault import DataKey
from ..store.models import Meta

CONFIG_KEY = "sync_config"
CURSOR_VERSIONS, CURSOR_USERS = "sync_cursor_versions", "sync_cursor_users"  # before hub h002: a seq
HORIZON_VERSIONS, HORIZON_USERS = "sync_horizon_versions", "sync_horizon_users"  # "xid seq"
LAST_SYNCED = "sync_last_ok"
CLOCK_SKEW = "sync_clock_skew"  # seconds this PC's clock is ahead of the hub's, at the last round
HERE_FIGURES = "sync_here_figures"  # anti-entropy's per-bucket figures of the versions here (ids only)
USERS_SEEN = "sync_users_seen"  # "count xor" of the account change ids pull has read
AUDIT_STREAMS = "sync_audit_streams"  # JSON [[from_seq, stream], ...]: see new_audit_stream
CA_FILE = "hub-ca.pem"  # a public certificate, not a secret: libpq wants it as a file


@dataclass(frozen=True)
class DeviceConfig:
    hub: dict[str, Any]  # libpq parameters without user and password
    role: str
    password: str
    device_id: str
    hub_store_id: str
    ca_pem: str | None = None

    def params(self, data_dir: Path) -> dict[str, Any]:
        params = dict(self.hub, user=self.role, password=self.password)
        if self.ca_pem:
            ca = Path(data_dir) / CA_FILE
            if not ca.exists() or ca.read_text(encoding="ascii") != self.ca_pem:
                ca.parent.mkdir(parents=True, exist_ok=True)  # enrolment reaches the hub before the store exists
                ca.write_text(self.ca_pem, encoding="ascii")
            params["sslrootcert"] = str(ca)
        return params


def _seal_args() -> tuple[str, str, str]:
    return ("meta", CONFIG_KEY, "1")


def save(conn: Connection, dek: DataKey, config: DeviceConfig) -> None:
    sealed = dek.seal(json.dumps(asdict(config)).encode(), *_seal_args())
    _put(conn, CONFIG_KEY, base64.b64encode(sealed).decode("ascii"))


def load(conn: Connection, dek: DataKey) -> DeviceConfig | None:
    text = get(conn, CONFIG_KEY)
    if not text:
        return None
    data = json.loads(dek.open(base64.b64decode(text), *_seal_args()))
    return DeviceConfig(**data)


def is_enrolled(conn: Connection) -> bool:
    return bool(get(conn, CONFIG_KEY))


def get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(Meta.value).where(Meta.key == key)).scalar()


def cursor(conn: Connection, key: str) -> int:
    return int(get(conn, key) or 0)


def horizon(conn: Connection, key: str) -> tuple[int, int]:
    """Where pull has read up to: (hub transaction id, seq). A cursor from before hub revision h002
    was a bare seq, and the rows it counted all have transaction id 0 there."""
    text = get(conn, key)
    if text:
        xid, seq = text.split()
        return int(xid), int(seq)
    old = {HORIZON_VERSIONS: CURSOR_VERSIONS, HORIZON_USERS: CURSOR_USERS}[key]
    return 0, cursor(conn, old)


def set_horizon(conn: Connection, key: str, value: tuple[int, int]) -> None:
    _put(conn, key, f"{value[0]} {value[1]}")


def audit_streams(conn: Connection) -> list[tuple[int, str]]:
    """(first local audit seq, stream) pairs, oldest first; the first stream is '' (as enrolled)."""
    text = get(conn, AUDIT_STREAMS)
    return [(int(a), str(b)) for a, b in json.loads(text)] if text else [(0, "")]


def stream_of(streams: list[tuple[int, str]], seq: int) -> str:
    """The hub stream an audit entry goes under: the newest one begun at or before its seq."""
    chosen = streams[0][1]
    for first, stream in streams:
        if first <= seq:
            chosen = stream
    return chosen


def new_audit_stream(conn: Connection, first_seq: int, stream: str) -> None:
    """After a restore this PC numbers audit entries again from the backup's last one: entries from
    `first_seq` on go to the hub under a new stream, so none collides with one sent before the restore
    (the hub would keep the old one and drop the new one as a re-send). Entries below it are the very
    ones sent before and stay under their own stream."""
    streams = [s for s in audit_streams(conn) if s[0] < first_seq]
    _put(conn, AUDIT_STREAMS, json.dumps([*streams, (first_seq, stream)]))


def _put(conn: Connection, key: str, value: str) -> None:
    conn.execute(Meta.__table__.insert().prefix_with("OR REPLACE"), {"key": key, "value": value})


def set_cursor(conn: Connection, key: str, value: int) -> None:
    _put(conn, key, str(value))


def set_value(conn: Connection, key: str, value: str) -> None:
    _put(conn, key, value)
