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
CURSOR_VERSIONS, CURSOR_USERS = "sync_cursor_versions", "sync_cursor_users"
LAST_SYNCED = "sync_last_ok"
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


def _put(conn: Connection, key: str, value: str) -> None:
    conn.execute(Meta.__table__.insert().prefix_with("OR REPLACE"), {"key": key, "value": value})


def set_cursor(conn: Connection, key: str, value: int) -> None:
    _put(conn, key, str(value))


def set_value(conn: Connection, key: str, value: str) -> None:
    _put(conn, key, value)
