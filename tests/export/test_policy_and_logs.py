"""Machine policy reaches printed copies (the trust's own crisis numbers, the shared store folder),
and the admin command's log holds no patient detail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from export_helpers import add_sample
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.store import Store

ADMIN, ADMIN_PASSWORD = "admin1", "correct horse battery"
ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")
LOCAL = {"key": "mc", "name": "Mersey Care crisis line", "how": "Call 0800 145 6570 (free)", "phone": "0800 145 6570",
         "when": "Any time"}  # fmt: skip


def test_policy_crisis_contacts_and_store_folder_reach_the_copy_and_logs_stay_clean(
    store: Store,
    nhs_numbers,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    nhs = next(nhs_numbers)
    pid = add_sample(session, "welsh", nhs=nhs).patient_id
    name = session.patients.get(pid, audit_view=False).details.family_name
    data_dir = store.data_dir
    store.close()
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"data_dir": str(data_dir), "crisis_contacts": [LOCAL],
                                  "crisis_contacts_checked_on": "2026-10-01", "bogus": 1}))  # fmt: skip
    logs = tmp_path / "logs"
    env = {**os.environ, "PERFECTCARE_POLICY_FILE": str(policy), "PERFECTCARE_LOG_DIR": str(logs)}
    env.pop("PERFECTCARE_DATA_DIR", None)
    out = tmp_path / "copy.pdf"
    done = subprocess.run(
        [str(ADMIN_EXE), "export-pdf", "--patient", nhs, "--combined", str(out), "--user", ADMIN, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip  # no --data-dir: the policy's shared store folder is used
    assert done.returncode == 0, done.stderr
    assert "policy: machine policy file: unknown setting 'bogus' ignored." in done.stderr
    text = "".join(p.extract_text() for p in PdfReader(out).pages)
    assert "Mersey Care crisis line" in text and "0800 145 6570" in text
    assert "1 October 2026" in text  # the older of the national and the trust's checked-on dates

    bad = subprocess.run(
        [str(ADMIN_EXE), "export-pdf", "--patient", "999 000 0000", "--combined", str(tmp_path / "x.pdf"),
         "--user", ADMIN, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert bad.returncode == 1
    log = (logs / "perfectcare-admin.log").read_text(encoding="utf-8")
    assert "command export_pdf" in log and "refused: InvalidInput" in log
    assert name not in log and nhs not in log and "999 000 0000" not in log
