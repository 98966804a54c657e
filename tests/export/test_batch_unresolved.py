"""A batch leaves out, and lists, the people whose plan needs a look first (two versions not merged,
a draft with no agreed plan, fewer than three filled sections) unless told to include them, and skips
a copy that cannot be laid out while the others print."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from export_helpers import Sample, add_sample, pdf_text

from perfectcare_desktop.core import plans
from perfectcare_desktop.core.crisis_directory import load_directory
from perfectcare_desktop.core.patients import PatientDetails
from perfectcare_desktop.core.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.plan_layout import load_catalogue
from perfectcare_desktop.core.session import Session
from perfectcare_desktop.errors import PdfLayoutError
from perfectcare_desktop.export import batch

LAYOUT = load_catalogue().latest()


def thin(session: Session, nhs: str, given: str) -> str:
    """An agreed plan with one section filled in."""
    pid = session.add_patient(PatientDetails(given, "Thin", date(1980, 1, 1), nhs))
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
