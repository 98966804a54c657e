"""`perfectcare-admin export-pdf` as a team's morning script runs it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from export_helpers import add_sample
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.store import Store

ADMIN, ADMIN_PASSWORD = "admin1", "correct horse battery"  # as tests/conftest.py creates the store
ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")


def run(data_dir: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ADMIN_EXE), "export-pdf", *args, "--data-dir", str(data_dir), "--user", ADMIN, "--password-stdin"],
        input=stdin, capture_output=True, text=True, timeout=120, env={**os.environ},
    )  # fmt: skip


def test_export_pdf_all_and_one_patient_protected(store: Store, nhs_numbers, tmp_path: Path) -> None:  # noqa: ANN001
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    add_sample(session, "latin", nhs=next(nhs_numbers))
    urdu_nhs = next(nhs_numbers)
    add_sample(session, "urdu", nhs=urdu_nhs)
    data_dir = store.data_dir
    store.close()

    out = tmp_path / "today"
    done = run(data_dir, "--all", "--variant", "large-print", "--out", str(out), stdin=ADMIN_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["safety-plan-001.pdf", "safety-plan-002.pdf"]
    assert "Printed 2 plan(s)" in done.stdout

    combined = tmp_path / "one.pdf"
    protected = run(data_dir, "--patient", urdu_nhs, "--combined", str(combined), "--protect",
                    stdin=f"{ADMIN_PASSWORD}\nopen sesame 1\n")  # fmt: skip
    assert protected.returncode == 0, protected.stderr
    reader = PdfReader(io.BytesIO(combined.read_bytes()))
    assert reader.is_encrypted and reader.decrypt("open sesame 1")

    again = run(data_dir, "--all", "--out", str(out), stdin=ADMIN_PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr

    unknown = run(data_dir, "--patient", "999 000 0000", "--out", str(tmp_path / "x"), stdin=ADMIN_PASSWORD + "\n")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
