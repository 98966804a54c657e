"""Run by the kill tests as a child process: sync one PC's store in small batches until told to stop
(or killed). Prints "ready" once signed in and connected, "done" when nothing is left to do.

    python sync_child.py DATA_DIR push|pull
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("PERFECTCARE_INSECURE_FAST_KDF", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testsupport import ADMIN, ADMIN_PASSWORD  # noqa: E402

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.store import Store  # noqa: E402
from perfectcare_desktop.sync import device, hub_address  # noqa: E402
from perfectcare_desktop.sync.pull import pull  # noqa: E402
from perfectcare_desktop.sync.push import push  # noqa: E402

BATCH = 40  # small hub and local transactions: many places for a kill to land


def main() -> None:
    folder, mode = Path(sys.argv[1]), sys.argv[2]
    store = Store.open(folder)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    with store.reading() as conn:
        config = device.load(conn, session.require_unlocked())
    hub = hub_address.connect(config.params(folder))
    print("ready", flush=True)
    if mode == "push":
        push(store, session.require_unlocked(), hub, config.device_id, batch=BATCH)
    else:
        pull(store, session.require_unlocked(), hub, batch=BATCH)
    print("done", flush=True)


if __name__ == "__main__":
    main()
