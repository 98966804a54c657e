"""Batch printing: selection from the caseload, one file per person or one combined file, names
without identifiers, progress, Cancel leaving nothing behind, an unwritable folder refused first."""

from __future__ import annotations

import io
import os
import stat
import threading
from datetime import date
from pathlib import Path

import pytest
from export_helpers import Sample, add_sample, pdf_text
from pypdf import PdfReader

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.errors import InvalidInput, StoreNotWritable
from perfectcare_desktop.export import batch
from perfectcare_desktop.export.protect import protect_pdf
from perfectcare_desktop.export.service import patient_pdf


def test_one_file_per_person_named_without_identifiers(session: Session, samples: dict[str, Sample],
                                                       tmp_path: Path) -> None:  # fmt: skip
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    assert len(people) == 3
    # Caseload order: family name (Bloggs, Prydderch, then the Urdu-script name).
    assert [p.details.family_name for p in people][:2] == ["Bloggs", "Prydderch"]
    seen: list[tuple[int, int]] = []
    result = batch.export_batch(session, people, "standard", out_dir=tmp_path / "out",
                                progress=lambda d, t: seen.append((d, t)), workers=1)  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["safety-plan-001.pdf", "safety-plan-002.pdf", "safety-plan-003.pdf"]
    assert seen[-1] == (3, 3) and result.printed == 3
    assert "Put my headphones on" in pdf_text((tmp_path / "out" / "safety-plan-001.pdf").read_bytes())


def test_combined_file_has_everyone_and_two_worker_processes_agree(session: Session, samples: dict[str, Sample],
                                                                  tmp_path: Path) -> None:  # fmt: skip
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    out = tmp_path / "morning.pdf"
    batch.export_batch(session, people, "wallet-card", combined=out, workers=2)
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert len(reader.pages) == 3  # one A4 wallet-card page each
    assert [p.name for p in tmp_path.iterdir() if p.name != "store"] == ["morning.pdf"]


def test_filters_due_for_review_and_chosen(session: Session, samples: dict[str, Sample], clock) -> None:  # noqa: ANN001
    assert batch.select_patients(session, batch.Selection(batch.DUE_FOR_REVIEW, review_within_days=14)) == []
    clock.current = clock.current.replace(year=2027, month=2, day=10)  # review on 20 February 2027
    due = batch.select_patients(session, batch.Selection(batch.DUE_FOR_REVIEW, review_within_days=14))
    assert len(due) == 3
    assert batch.select_patients(session, batch.Selection(batch.CHANGED_THIS_WEEK)) == []
    chosen = batch.select_patients(session, batch.Selection(batch.CHOSEN, (samples["urdu"].patient_id,)))
    assert [p.record_id for p in chosen] == [samples["urdu"].patient_id]


def test_cancelled_batch_leaves_no_file(session: Session, samples: dict[str, Sample], tmp_path: Path) -> None:
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    cancel = threading.Event()
    out = tmp_path / "out"

    def progress(done: int, total: int) -> None:
        if done == 2:
            cancel.set()

    with pytest.raises(batch.ExportCancelled, match="no file was written"):
        batch.export_batch(session, people, "standard", out_dir=out, progress=progress, cancel=cancel, workers=1)
    assert list(out.iterdir()) == []
    with pytest.raises(batch.ExportCancelled):
        batch.export_batch(session, people, "standard", combined=tmp_path / "all.pdf", progress=progress,
                           cancel=cancel, workers=1)  # fmt: skip
    assert not (tmp_path / "all.pdf").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_unwritable_folder_is_refused_before_any_work(session: Session, samples: dict[str, Sample],
                                                      tmp_path: Path) -> None:  # fmt: skip
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    with pytest.raises(StoreNotWritable, match="nothing was printed"):
        batch.export_batch(session, people, "standard", out_dir=locked)


def test_folder_that_is_a_file_is_refused(session: Session, samples: dict[str, Sample], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    with pytest.raises(StoreNotWritable, match="Cannot write to the folder"):
        batch.export_batch(session, people, "standard", out_dir=blocker)


def test_existing_files_are_never_overwritten(session: Session, samples: dict[str, Sample], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "safety-plan-002.pdf").write_bytes(b"yesterday")
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    with pytest.raises(InvalidInput, match="already exists"):
        batch.export_batch(session, people, "standard", out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == ["safety-plan-002.pdf"]
    assert (out / "safety-plan-002.pdf").read_bytes() == b"yesterday"


def test_people_without_a_plan_are_skipped_and_counted(session: Session, samples, nhs_numbers, tmp_path) -> None:  # noqa: ANN001
    from perfectcare_desktop.core.patients.details import PatientDetails

    pid = session.patients.add(PatientDetails("No", "Plan", date(1990, 1, 1), next(nhs_numbers)))
    people = batch.select_patients(session, batch.Selection(batch.CHOSEN, (pid, samples["latin"].patient_id)))
    result = batch.export_batch(session, people, "standard", out_dir=tmp_path / "o")
    assert (result.printed, result.skipped) == (1, 1)
    only = batch.select_patients(session, batch.Selection(batch.CHOSEN, (pid,)))
    with pytest.raises(Exception, match="None of the chosen people has a plan"):
        batch.export_batch(session, only, "standard", out_dir=tmp_path / "o2")
    assert not any((tmp_path / "o2").iterdir())


def test_password_protection_is_aes256_and_opens_with_the_password(session: Session, samples, tmp_path) -> None:  # noqa: ANN001
    data = patient_pdf(session, samples["latin"].patient_id, "standard").data
    locked = protect_pdf(data, "open sesame 1")
    reader = PdfReader(io.BytesIO(locked))
    assert reader.is_encrypted
    assert reader.trailer["/Encrypt"]["/V"] == 5 and reader.trailer["/Encrypt"]["/R"] == 6
    assert b"headphones" not in locked
    reader.decrypt("open sesame 1")
    assert "Put my headphones on" in reader.pages[0].extract_text()
    with pytest.raises(InvalidInput, match="at least 8"):
        protect_pdf(data, "short")


def test_draft_in_a_batch_is_left_out_unless_included_then_printed_as_draft(session: Session, nhs_numbers,
                                                                           tmp_path: Path) -> None:  # noqa: ANN001  # fmt: skip
    sample = add_sample(session, "welsh", nhs=next(nhs_numbers), sign=False)
    people = batch.select_patients(session, batch.Selection(batch.CHANGED_THIS_WEEK))
    assert [p.record_id for p in people] == [sample.patient_id]
    refused = batch.export_batch(session, people, "standard", out_dir=tmp_path / "o")
    assert refused.printed == 0 and refused.files == () and not any((tmp_path / "o").iterdir())
    assert [p.kinds for p in refused.left_out] == [("draft",)]
    batch.export_batch(session, people, "standard", out_dir=tmp_path / "o", include_unresolved=True)
    assert "Draft" in pdf_text((tmp_path / "o" / "safety-plan-001.pdf").read_bytes())


def test_batch_files_are_owner_only_whatever_the_umask(session: Session, samples: dict[str, Sample],
                                                       tmp_path: Path) -> None:  # fmt: skip
    """People's plans in clear: the files are created 0600 (were 0644 under the usual umask 022)."""
    old = os.umask(0o022)
    try:
        people = [session.patients.get(s.patient_id, audit_view=False) for s in samples.values()]
        result = batch.export_batch(session, people, "standard", out_dir=tmp_path / "out", include_unresolved=True)
    finally:
        os.umask(old)
    assert result.files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in result.files)
