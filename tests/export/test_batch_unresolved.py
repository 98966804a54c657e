"""A batch leaves out, and lists, the people whose plan needs a look first (two versions not merged,
a draft with no agreed plan, fewer than three filled sections) unless told to include them, and skips
a copy that cannot be laid out while the others print."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from export_helpers import Sample, add_sample, pdf_text

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import plans
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.errors import PdfLayoutError
from perfectcare_desktop.export import batch

LAYOUT = load_catalogue().latest()
ADMIN, ADMIN_PASSWORD = "admin1", "correct horse battery"  # as tests/conftest.py creates the store
ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")


def thin(session: Session, nhs: str, given: str) -> str:
    """An agreed plan with one section filled in."""
    pid = session.patients.add(PatientDetails(given, "Thin", date(1980, 1, 1), nhs))
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    c.sections["warning_signs"] = SectionContent([{"text": "I go quiet"}])
    plans.sign_plan(session, pid, LAYOUT, c, None, agreed_with_person=True, agreed_on=date(2026, 11, 20),
                    review_due=date(2027, 2, 20))  # fmt: skip
    return pid


def two_heads(session: Session, sample: Sample) -> None:
    """Two revisions from the same agreed plan, as two PCs save them before they sync."""
    state = plans.load_plan(session, sample.patient_id, audit_view=False)
    agreed = state.agreed
    assert agreed is not None
    content = PlanContent.from_payload(agreed.payload)
    plans.save_draft(session, sample.patient_id, LAYOUT, content, agreed.version_id)
    plans.save_draft(session, sample.patient_id, LAYOUT, content, agreed.version_id)


@pytest.fixture
def mixed(session: Session, samples: dict[str, Sample], nhs_numbers) -> dict[str, str]:  # noqa: ANN001
    """latin: fine; welsh: two heads; urdu: fine; a draft-only plan; a thin agreed plan."""
    two_heads(session, samples["welsh"])
    draft = add_sample(session, "latin", nhs=next(nhs_numbers), sign=False)
    return {"draft": draft.patient_id, "thin": thin(session, next(nhs_numbers), "Tess"),
            "conflict": samples["welsh"].patient_id, "fine": samples["latin"].patient_id}  # fmt: skip


def test_unresolved_plans_are_left_out_listed_and_counted(session: Session, mixed: dict[str, str],
                                                          tmp_path: Path) -> None:  # fmt: skip
    people = batch.select_patients(session, batch.Selection(batch.CHOSEN, tuple(mixed.values())))
    seen: list[tuple[int, int]] = []
    result = batch.export_batch(session, people, "standard", out_dir=tmp_path / "o",
                                progress=lambda d, t: seen.append((d, t)), workers=1)  # fmt: skip
    assert result.printed == 1 and [p.name for p in result.files] == ["safety-plan-001.pdf"]
    assert "Put my headphones on" in pdf_text(result.files[0].read_bytes())
    by_id = {p.patient_id: p for p in result.left_out}
    assert set(by_id) == {mixed["draft"], mixed["thin"], mixed["conflict"]}
    assert by_id[mixed["conflict"]].kinds == ("two-versions",)
    assert "the agreed plan of 20 November 2026 would print" in by_id[mixed["conflict"]].reasons[0]
    assert by_id[mixed["draft"]].kinds == ("draft",) and by_id[mixed["thin"]].kinds == ("nearly-empty",)
    assert by_id[mixed["thin"]].name == "Tess Thin"  # for the screen; the CLI prints counts only
    assert result.counts_by_reason() == {
        "two versions not yet merged": 1,
        "no agreed plan (a draft would print)": 1,
        "fewer than 3 sections filled in": 1,
    }
    assert seen[-1] == (4, 4)
    # Only the person printed is audited as printed.
    printed = [e.patient_id for e in session.audit_trail() if e.action == "print"]
    assert printed == [mixed["fine"]]


def test_include_unresolved_prints_them_all_and_counts_them(session: Session, mixed: dict[str, str],
                                                            tmp_path: Path) -> None:  # fmt: skip
    people = batch.select_patients(session, batch.Selection(batch.CHOSEN, tuple(mixed.values())))
    result = batch.export_batch(session, people, "standard", combined=tmp_path / "all.pdf", workers=1,
                                include_unresolved=True)  # fmt: skip
    assert (result.printed, result.included, result.left_out) == (4, 3, ())
    assert "Draft" in pdf_text((tmp_path / "all.pdf").read_bytes())


def test_a_copy_that_cannot_be_laid_out_is_skipped_and_the_batch_goes_on(
    session: Session, samples: dict[str, Sample], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = batch._render_plain

    def refuse_the_welsh_copy(kind: str, data: object, variant: str) -> bytes:
        if "Prydderch" in getattr(data, "name", ""):
            raise PdfLayoutError("This copy could not be laid out on pages. Choose another copy.")
        return render(kind, data, variant)

    monkeypatch.setattr(batch, "_render_plain", refuse_the_welsh_copy)
    people = batch.select_patients(session, batch.Selection(batch.ALL_CURRENT))
    assert len(people) == 3
    result = batch.export_batch(session, people, "standard", out_dir=tmp_path / "o", workers=1)
    assert result.printed == 2 and [p.name for p in result.files] == ["safety-plan-001.pdf", "safety-plan-002.pdf"]
    (failed,) = result.failed
    assert failed.patient_id == samples["welsh"].patient_id and "could not be laid out" in failed.reasons[0]
    assert result.counts_by_reason() == {"the copy could not be laid out": 1}
    printed = {e.patient_id for e in session.audit_trail() if e.action == "print"}
    assert samples["welsh"].patient_id not in printed and len(printed) == 2


def test_only_unresolved_people_write_nothing_and_say_who(session: Session, nhs_numbers, tmp_path: Path) -> None:  # noqa: ANN001
    pid = thin(session, next(nhs_numbers), "Tess")
    people = batch.select_patients(session, batch.Selection(batch.CHOSEN, (pid,)))
    result = batch.export_batch(session, people, "standard", combined=tmp_path / "all.pdf")
    assert result.files == () and result.printed == 0 and len(result.left_out) == 1
    assert not (tmp_path / "all.pdf").exists() and [p.name for p in tmp_path.iterdir()] == ["store"]


def test_the_cli_refuses_unresolved_plans_counts_them_and_warns_of_stale_numbers(
    store: Store,
    nhs_numbers,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    fine_nhs, thin_nhs, draft_nhs = next(nhs_numbers), next(nhs_numbers), next(nhs_numbers)
    add_sample(session, "latin", nhs=fine_nhs)
    thin(session, thin_nhs, "Tess")
    add_sample(session, "welsh", nhs=draft_nhs, sign=False)
    data_dir = store.data_dir
    store.close()
    policy = tmp_path / "policy.json"  # the trust's own numbers, checked long ago: the copy's date is theirs
    local = {"key": "mc", "name": "Trust crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570"}
    policy.write_text(json.dumps({"crisis_contacts": [local], "crisis_contacts_checked_on": "2025-01-15"}))
    logs = tmp_path / "logs"
    env = {**os.environ, "PERFECTCARE_POLICY_FILE": str(policy), "PERFECTCARE_LOG_DIR": str(logs)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ADMIN_EXE), "export-pdf", "--patient", fine_nhs, "--patient", thin_nhs, "--patient", draft_nhs,
             *args, "--data-dir", str(data_dir), "--user", ADMIN, "--password-stdin"],
            input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip

    refused = run("--out", str(tmp_path / "a"))
    assert refused.returncode == 0, refused.stderr
    assert "Printed 1 plan(s)" in refused.stdout
    assert (
        "2 plan(s) need a look first and were left out" in refused.stderr and "--include-unresolved" in refused.stderr
    )
    assert "  1 no agreed plan (a draft would print)" in refused.stderr
    assert "  1 fewer than 3 sections filled in" in refused.stderr
    assert "last checked on 15 January 2025, more than 12 months ago" in refused.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["safety-plan-001.pdf"]

    included = run("--out", str(tmp_path / "b"), "--include-unresolved")
    assert included.returncode == 0 and "Printed 3 plan(s)" in included.stdout
    assert "2 plan(s) that need a look were printed" in included.stderr

    only = subprocess.run(
        [str(ADMIN_EXE), "export-pdf", "--patient", thin_nhs, "--combined", str(tmp_path / "c.pdf"),
         "--data-dir", str(data_dir), "--user", ADMIN, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert only.returncode == 1 and "nothing was printed" in only.stderr and not (tmp_path / "c.pdf").exists()
    for text in (refused.stderr + refused.stdout, (logs / "perfectcare-admin.log").read_text(encoding="utf-8")):
        assert "Tess" not in text and "Thin" not in text and "Gwenllian" not in text and thin_nhs not in text
    assert "export-pdf left out 2: " in (logs / "perfectcare-admin.log").read_text(encoding="utf-8")
