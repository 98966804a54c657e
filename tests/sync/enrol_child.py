"""Run by the enrolment kill test as a child process: `enrol import` of FILE into DATA_DIR, saying
"pulling" when the import has begun to pull the hub's records, "pulled some" once the first batch is
in and the second is being applied — it then waits there for the test's kill — and "done" at the end.
Waiting for the kill (not a sleep in the test) lands it mid-pull however fast the machine is.

    python enrol_child.py FILE DATA_DIR
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PERFECTCARE_INSECURE_FAST_KDF", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync_support import PASSPHRASE  # noqa: E402

from perfectcare_desktop.sync import client, enrolment  # noqa: E402
from perfectcare_desktop.sync import pull as pull_module  # noqa: E402

BATCH = 20
_pull = client.pull
_apply_versions = pull_module._apply_versions
_applied: list[int] = []


def apply_then_wait_for_the_kill(*args: Any, **kwargs: Any) -> Any:
    _applied.append(1)
    if len(_applied) == 2:  # the first batch is committed; this one is inside its transaction
        print("pulled some", flush=True)
        time.sleep(120)  # the test kills the process here
    return _apply_versions(*args, **kwargs)


def pull_slowly(store: Any, dek: Any, hub: Any, batch: int = BATCH) -> Any:
    print("pulling", flush=True)
    return _pull(store, dek, hub, batch=BATCH)


def main() -> None:
    client.pull = pull_slowly  # the name the sync round calls
    pull_module._apply_versions = apply_then_wait_for_the_kill
    enrolment.import_file(Path(sys.argv[1]), PASSPHRASE, Path(sys.argv[2]))
    print("done", flush=True)


if __name__ == "__main__":
    main()
