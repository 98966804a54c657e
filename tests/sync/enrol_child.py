"""Run by the enrolment kill test as a child process: `enrol import` of FILE into DATA_DIR, saying
"pulling" when the import has begun to pull the hub's records (the test kills it then), "done" at the
end. The pull goes in small batches, so the import is still pulling when the kill lands.

    python enrol_child.py FILE DATA_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("PERFECTCARE_INSECURE_FAST_KDF", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync_support import PASSPHRASE  # noqa: E402

from perfectcare_desktop.sync import client, enrolment  # noqa: E402

BATCH = 20
_pull = client.pull


def pull_slowly(store: Any, dek: Any, hub: Any, batch: int = BATCH) -> Any:
    print("pulling", flush=True)
    return _pull(store, dek, hub, batch=BATCH)


def main() -> None:
    client.pull = pull_slowly  # the name the sync round calls
    enrolment.import_file(Path(sys.argv[1]), PASSPHRASE, Path(sys.argv[2]))
    print("done", flush=True)


if __name__ == "__main__":
    main()
