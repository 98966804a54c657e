"""Safety formulation records: layouts as data, drafts, signing locks, addenda and the person's
view, entered in error, and every version still readable in history and export."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.formulations import (
    ADDENDUM,
    DISAGREEMENT,
    FALLBACK,
    FORMULATION_LAYOUTS,
    SIGNED,
    add_note,
    load_formulation,
    save_draft,
    sign_formulation,
)
from perfectcare_desktop.core.clinical.plan_content import MAX_TEXT_CHARS, PlanContent, person_view
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue, load_layout
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.resources import resources_dir
from perfectcare_desktop.core.storage.export_json import export_patients
from perfectcare_desktop.errors import InvalidInput, LayoutInvalid, NotAllowed

LAYOUT = load_catalogue(layout_type=FORMULATION_LAYOUTS).latest()
URDU = "وہ کہتی ہے کہ وہ اپنی بیٹی کے لیے زندہ رہنا چاہتی ہے"


@pytest.fixture
def patient(session: Session) -> str:
    return session.patients.add(PatientDetails("Aisha", "Rahman", date(1988, 6, 1), "9434765919"))


def written() -> PlanContent:
    c = PlanContent.blank(LAYOUT, {}, schema="safety_formulation/1")
    c.section("current_thoughts").entries = [{"text": "Thoughts most evenings since the eviction notice.\nNo plan."}]
    c.section("precipitating").entries = [{"text": "Eviction notice last week; lost her job in May."}]
    c.section("protective").entries = [{"text": URDU + " 🌱"}]
    c.section("judgement").entries = [{"text": "Safety depends on the housing outcome and her sister's support."}]
    c.section("want_involved").entries = [{"name": "Samira", "relationship": "sister", "notes": "daily calls"}]
    c.section("confidentiality").entries = [{"date": "27/11/2026", "by_whom": "A Jones, nurse"}]
    c.section("sharing").entries = [{"decision": "Share the plan with her GP", "reason": "She asked for it"}]
    return c


def test_the_default_layout_has_the_three_parts_and_involving_others() -> None:
    parts = {s.part for s in LAYOUT.sections}
    assert parts == {"Safety assessment: explore", "Safety formulation: map",
                     "Safety management and planning: act", "Involving others"}  # fmt: skip
    keys = {s.key for s in LAYOUT.sections}
    assert {
        "predisposing",
        "precipitating",
        "perpetuating",
        "protective",
        "presenting",
        "foreseeable_changes",
        "modifiable",
        "judgement",
        "safeguarding",
        "access_to_means",
        "not_involved",
        "confidentiality",
    } <= keys
    assert next(s for s in LAYOUT.sections if s.key == "judgement").kind == "text"  # free text, never a category
    assert [(s.key, s.kind, s.title, s.part) for s in FALLBACK.sections] == [
        (s.key, s.kind, s.title, s.part) for s in LAYOUT.sections
    ]


def test_a_malformed_formulation_layout_is_named_and_the_default_still_works(tmp_path: Path) -> None:
    data = json.loads((resources_dir() / "formulation_layouts" / "default.json").read_text())
    data["id"] = "trust"
    data["sections"][3]["kind"] = "contacts"  # a plan kind: not allowed in a formulation
    (tmp_path / "trust.json").write_text(json.dumps(data))
    with pytest.raises(LayoutInvalid, match=r"^trust.json: section 4 \(substance_use\): 'kind' must be one of text"):
        load_layout(tmp_path / "trust.json", FORMULATION_LAYOUTS)
    catalogue = load_catalogue([resources_dir() / "formulation_layouts", tmp_path], FORMULATION_LAYOUTS)
    assert len(catalogue.problems) == 1 and catalogue.latest("trust") == LAYOUT
    assert load_catalogue([tmp_path / "none"], FORMULATION_LAYOUTS).latest() is FALLBACK


def test_write_sign_then_the_signed_version_is_locked(session: Session, patient: str) -> None:
    first = save_draft(session, patient, LAYOUT, written(), None)
    today = session.store.clock.now().date()
    signed = sign_formulation(session, patient, LAYOUT, written(), first, review_due=today + timedelta(days=28))
    state = load_formulation(session, patient)
    assert state.status == SIGNED and state.locked and state.current.version_id == signed
    assert state.current.review_due == today + timedelta(days=28)
    with pytest.raises(NotAllowed, match="signed and locked.*addendum"):
        save_draft(session, patient, LAYOUT, written(), signed)
    with pytest.raises(NotAllowed, match="signed and locked"):
        sign_formulation(session, patient, LAYOUT, written(), signed, review_due=today + timedelta(days=9))
    assert len(load_formulation(session, patient).history) == 2  # nothing was written by the refusals
    # At review, a new version is started from it on purpose.
    review = save_draft(session, patient, LAYOUT, written(), signed, new_version=True)
    assert load_formulation(session, patient).current.version_id == review


def test_addenda_and_the_persons_view_are_dated_attributed_and_can_be_withdrawn(
    session: Session, patient: str, clock
) -> None:
    today = session.store.clock.now().date()
    signed = sign_formulation(session, patient, LAYOUT, written(), None, review_due=today + timedelta(days=28))
    with pytest.raises(InvalidInput, match="empty note"):
        add_note(session, patient, signed, ADDENDUM, "   ")
    with pytest.raises(InvalidInput, match="limit"):
        add_note(session, patient, signed, ADDENDUM, "x" * (MAX_TEXT_CHARS + 1))
    clock.advance(days=1)
    a = add_note(session, patient, signed, ADDENDUM, "Housing appeal granted on 2 December.")
    clock.advance(minutes=5)
    d = add_note(session, patient, signed, DISAGREEMENT, "I don't agree that I drink to cope. – Aisha")
    session.records.mark_entered_in_error(a, "Wrong date: the appeal is next week")
    state = load_formulation(session, patient)
    notes = state.notes_about(signed)
    assert [(n.kind, n.version.signed, n.version.author_id == session.user.user_id) for n in notes] == [
        (ADDENDUM, True, True),
        (DISAGREEMENT, True, True),
    ]
    assert notes[0].withdrawn_reason == "Wrong date: the appeal is next week" and notes[1].withdrawn_reason is None
    assert notes[0].text == "Housing appeal granted on 2 December."  # still readable
    assert state.locked and state.current.version_id == signed  # notes never change the signed version
    assert d


def test_every_version_stays_readable_in_history_and_export(session: Session, patient: str) -> None:
    first = save_draft(session, patient, LAYOUT, written(), None)
    second_content = written()
    second_content.section("precipitating").entries = [{"text": "Typed into the wrong record"}]
    second = save_draft(session, patient, LAYOUT, second_content, first)
    session.records.mark_entered_in_error(second, "Wrong patient")
    state = load_formulation(session, patient)
    assert state.current.version_id == first and state.display_status(state.history[1]).endswith("(entered in error)")
    export = export_patients(session, "9434765919")
    text = json.dumps(export, ensure_ascii=False)
    assert "Typed into the wrong record" in text and "Wrong patient" in text and URDU in text
    view = person_view(LAYOUT, PlanContent.from_payload(state.history[0].payload), for_clinicians=True)
    assert any("Samira (sister) — daily calls" in line for s in view for line in s.lines)
    assert any("Share the plan with her GP — because She asked for it" in line for s in view for line in s.lines)


def test_long_text_and_mixed_scripts(session: Session, patient: str) -> None:
    c = written()
    c.section("recent_history").entries = [{"text": ("Pan dw i'n teimlo'n isel. Żółć gęś. " + URDU + "\n") * 150}]
    save_draft(session, patient, LAYOUT, c, None)
    saved = PlanContent.from_payload(load_formulation(session, patient).current.payload)
    assert saved.schema == "safety_formulation/1"
    assert saved.section("recent_history").entries[0]["text"].count(URDU) == 150
    c.section("recent_history").entries = [{"text": "x" * (MAX_TEXT_CHARS + 1)}]
    with pytest.raises(InvalidInput, match="'Recent behaviour and history': text is 20,001 characters"):
        save_draft(session, patient, LAYOUT, c, None)


def test_a_wrong_date_for_explaining_confidentiality_is_refused_in_words(session: Session, patient: str) -> None:
    c = written()
    c.section("confidentiality").entries = [{"date": "31/02/2026", "by_whom": "A Jones"}]
    with pytest.raises(
        InvalidInput, match=r"'Limits of confidentiality explained': the date '31/02/2026' is not a date"
    ):
        save_draft(session, patient, LAYOUT, c, None)
    c.section("confidentiality").entries = [{"date": "2026-11-03", "by_whom": "A Jones"}]
    save_draft(session, patient, LAYOUT, c, None)
    saved = PlanContent.from_payload(load_formulation(session, patient).current.payload)
    assert saved.section("confidentiality").entries == [{"date": "03/11/2026", "by_whom": "A Jones"}]
