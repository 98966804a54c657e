"""Safety plan records: layouts and the crisis directory as data, drafts, signing, revisions,
declined offers, ending, autosave, discharge follow-up, clinician prompts and comparison."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from testsupport import FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import plan_layout
from perfectcare_desktop.core.clinical.crisis_directory import load_directory, parse_directory
from perfectcare_desktop.core.clinical.discharge import load_discharge, record_discharge, record_followup
from perfectcare_desktop.core.clinical.plan_content import (
    DECLINED,
    MAX_FIELD_CHARS,
    NOT_APPLICABLE,
    PlanContent,
    SectionContent,
    clean_text,
    person_view,
)
from perfectcare_desktop.core.clinical.plan_diff import ADDED, CHANGED, REMOVED, SAME, compare
from perfectcare_desktop.core.clinical.plan_layout import BUILTIN_FALLBACK, load_catalogue, load_layout
from perfectcare_desktop.core.clinical.plan_prompts import plan_prompts
from perfectcare_desktop.core.clinical.plans import (
    AGREED,
    DRAFT,
    ENDED,
    PLAN_KIND,
    REVISION,
    add_months,
    end_plan,
    load_plan,
    record_declined_offer,
    save_draft,
    sign_plan,
)
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.patients.phone import phone_warning
from perfectcare_desktop.core.resources import resources_dir
from perfectcare_desktop.core.storage import autosave, records
from perfectcare_desktop.core.storage.versions import one_per_patient_id
from perfectcare_desktop.errors import InvalidInput, LayoutInvalid

LAYOUT = load_catalogue().latest()
DIRECTORY = load_directory()


@pytest.fixture
def patient(session: Session) -> str:
    return session.patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919"))


def full_plan() -> PlanContent:
    c = PlanContent.blank(LAYOUT, DIRECTORY.ref)
    c.section("warning_signs").entries = [{"text": "I stop answering my phone"}]
    c.section("coping_alone").entries = [{"text": "Walk the dog round the park"}]
    c.section("distractions").entries = [{"text": "Café Nero with Dafydd 😊"}]
    c.section("people_to_ask").entries = [{"name": "Dafydd", "relationship": "brother", "phone": "07700 900123"}]
    c.section("professionals").entries = [{"name": "Crisis team", "phone": "0151 123 4567", "notes": "24 hours"}]
    c.section("making_safer").entries = [{"method": "Tablets", "access": "At home", "steps": "Mam keeps them",
                                          "helper": "Mam"}]  # fmt: skip
    c.section("reasons_for_living").entries = [{"text": "اپنی بیٹی کے لیے"}]
    c.section("where_plan_kept").entries = [{"text": "Photo on my phone"}]
    c.section("using_plan").state = NOT_APPLICABLE
    c.clinician_notes = "Clinician only: discussed with the duty consultant."
    return c


# --- layouts and the crisis directory ----------------------------------------------------------------
def test_the_shipped_layout_covers_the_evidence_based_sections_in_our_own_words() -> None:
    keys = [s.key for s in LAYOUT.sections]
    assert keys == ["warning_signs", "coping_alone", "distractions", "people_to_ask", "professionals",
                    "making_safer", "reasons_for_living", "where_plan_kept", "using_plan"]  # fmt: skip
    assert LAYOUT.source == "default.json" and LAYOUT.ref == {"id": "perfectcare-default", "version": 1}
    text = json.dumps(json.loads((resources_dir() / "plan_layouts" / "default.json").read_text())).lower()
    # Stanley-Brown wording needs its authors' permission: none of the form's own headings.
    for phrase in ("internal coping strategies", "social contacts and social settings", "making the environment safe",
                   "stanley", "brown"):  # fmt: skip
        assert phrase not in text
    # The built-in fallback has the same sections and titles as the shipped file.
    assert [(s.key, s.kind, s.title) for s in BUILTIN_FALLBACK.sections] == [
        (s.key, s.kind, s.title) for s in LAYOUT.sections
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), "'format' must be"),
        (lambda d: d.update(version="2"), "'version' must be a whole number"),
        (lambda d: d["sections"][2].update(kind="score"), "section 3 (distractions): 'kind' must be one of"),
        (lambda d: d["sections"][0].update(title=""), "section 1 (warning_signs): 'title' must be non-empty"),
        (lambda d: d["sections"][1].update(key="warning_signs"), "section 2: the key 'warning_signs' is used twice"),
        (lambda d: d["sections"][4].update(risk_level="high"), "(professionals): unknown field(s) risk_level"),
    ],
)
def test_a_malformed_layout_names_the_file_and_field_and_the_default_still_works(
    tmp_path: Path, change, message: str
) -> None:
    data = json.loads((resources_dir() / "plan_layouts" / "default.json").read_text())
    data["id"] = "trust-own"
    change(data)
    (tmp_path / "trust.json").write_text(json.dumps(data))
    with pytest.raises(LayoutInvalid, match="^trust.json: ") as err:
        load_layout(tmp_path / "trust.json")
    assert message in str(err.value)
    catalogue = load_catalogue([resources_dir() / "plan_layouts", tmp_path])
    assert catalogue.problems == (str(err.value),)
    assert catalogue.latest("trust-own") == LAYOUT  # falls back to the default


def test_broken_json_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"format": ')
    with pytest.raises(LayoutInvalid, match=r"bad.json: not valid JSON \(line 1"):
        load_layout(tmp_path / "bad.json")
    catalogue = load_catalogue([tmp_path / "nowhere", tmp_path])
    assert catalogue.latest() is BUILTIN_FALLBACK and len(catalogue.problems) == 1


def test_a_trust_layout_is_offered_and_an_old_plan_keeps_its_own_version(tmp_path: Path) -> None:
    data = json.loads((resources_dir() / "plan_layouts" / "default.json").read_text())
    data["version"] = 2
    data["sections"] = data["sections"][:3]
    (tmp_path / "v2.json").write_text(json.dumps(data))
    catalogue = load_catalogue([resources_dir() / "plan_layouts", tmp_path])
    assert catalogue.latest().version == 2
    assert catalogue.for_record({"id": "perfectcare-default", "version": 1}) == LAYOUT


def test_the_crisis_directory_has_the_national_numbers_and_its_checked_on_date() -> None:
    how = {c.key: c.how for c in DIRECTORY.contacts}
    assert how["emergency"] == "Call 999"
    assert "111" in how["nhs111"] and "option 2" in how["nhs111"]
    assert "116 123" in how["samaritans"]
    assert "SHOUT" in how["shout"] and "85258" in how["shout"]
    assert DIRECTORY.ref == {"id": "england", "version": "2026-11-01", "checked_on": "2026-11-01"}  # England by default


def test_trust_local_contacts_join_the_directory_and_never_overstate_the_checked_date() -> None:
    data = json.loads((resources_dir() / "crisis_contacts" / "national.json").read_text())
    local = [{"key": "mc", "name": "Mersey Care crisis line", "how": "Call 0800 145 6570", "phone": "0800 145 6570"}]
    d = parse_directory(data, "national.json", local, date(2026, 6, 1))
    assert d.contacts[-1].local and d.contacts[-1].name == "Mersey Care crisis line"
    assert d.checked_on == date(2026, 6, 1) and d.version.endswith("+local")
    with pytest.raises(LayoutInvalid, match="policy: local crisis contact 1: 'phone'"):
        parse_directory(data, "national.json", [{"key": "x", "name": "x", "how": "x"}])


@pytest.mark.parametrize(
    ("number", "ok"),
    [("0151 123 4567", True), ("07700900123", True), ("+44 7700 900123", True), ("+48 22 123 45 67", True),
     ("116 123", True), ("999", True), ("0044 151 123 4567", True), ("0151 123", False), ("+44 0151 123 4567", False),
     ("ring me", False), ("12345", False), ("+1 2", False)],
)  # fmt: skip
def test_phone_numbers_are_checked_uk_and_international(number: str, ok: bool) -> None:
    assert (phone_warning(number) is None) == ok


def test_pasted_text_is_plain_and_control_characters_go() -> None:
    assert clean_text("  Ring\u200b Jo\r\nat\x07 home  ") == "Ring Jo\nat home"
    assert clean_text("Cafe\u0301") == "Café"  # NFC


# --- versions: draft, sign, revise, decline, end ------------------------------------------------------
def test_draft_sign_revise_and_supersede(session: Session, patient: str, clock: FakeClock) -> None:
    assert load_plan(session, patient).record_id is None
    first = save_draft(session, patient, LAYOUT, full_plan(), None)
    state = load_plan(session, patient)
    assert state.status == DRAFT and state.current.version_id == first
    today = clock.now().date()
    with pytest.raises(InvalidInput, match="agreed with the person"):
        sign_plan(session, patient, LAYOUT, full_plan(), first, agreed_with_person=False, agreed_on=today,
                  review_due=add_months(today, 3))  # fmt: skip
    clock.advance(minutes=20)
    signed = sign_plan(session, patient, LAYOUT, full_plan(), first, agreed_with_person=True, agreed_on=today,
                       review_due=add_months(today, 3))  # fmt: skip
    state = load_plan(session, patient)
    assert state.agreed.version_id == signed and state.agreed.signed and state.agreed.review_due == add_months(today, 3)
    assert state.agreed.payload["agreed_with_person"] is True

    # Editing a signed plan starts a revision from it; the agreed plan stays the one in use.
    revised = full_plan()
    revised.section("coping_alone").entries.append({"text": "Listen to the Manics"})
    clock.advance(days=10)
    rev = save_draft(session, patient, LAYOUT, revised, signed)
    state = load_plan(session, patient)
    assert state.status == REVISION and state.agreed.version_id == signed
    assert state.current.review_due == add_months(today, 3)  # the caseload keeps the review date
    again = sign_plan(session, patient, LAYOUT, revised, rev, agreed_with_person=True, agreed_on=clock.now().date(),
                      review_due=add_months(clock.now().date(), 3))  # fmt: skip
    state = load_plan(session, patient)
    assert state.agreed.version_id == again
    first_agreed = next(v for v in state.history if v.version_id == signed)
    assert state.display_status(first_agreed) == "Superseded"
    assert [v.status for v in state.history] == [DRAFT, AGREED, REVISION, AGREED]
    assert len(state.heads) == 1


def test_an_empty_plan_cannot_be_signed_and_a_review_must_follow_agreement(session: Session, patient: str) -> None:
    today = session.store.clock.now().date()
    with pytest.raises(InvalidInput, match="plan is empty"):
        sign_plan(session, patient, LAYOUT, PlanContent.blank(LAYOUT, DIRECTORY.ref), None, agreed_with_person=True,
                  agreed_on=today, review_due=today + timedelta(days=30))  # fmt: skip
    with pytest.raises(InvalidInput, match="review date must be after"):
        sign_plan(session, patient, LAYOUT, full_plan(), None, agreed_with_person=True, agreed_on=today,
                  review_due=today)  # fmt: skip
    assert load_plan(session, patient).record_id is None  # nothing was written


def test_over_long_entries_are_refused_with_the_section_named(session: Session, patient: str) -> None:
    c = full_plan()
    c.section("coping_alone").entries.append({"text": "x" * (MAX_FIELD_CHARS + 1)})
    with pytest.raises(InvalidInput, match="'Things I can do on my own': entry is 4,001 characters"):
        save_draft(session, patient, LAYOUT, c, None)
    assert load_plan(session, patient).record_id is None


def test_a_declined_offer_counts_and_shows_in_the_caseload(session: Session, patient: str) -> None:
    today = session.store.clock.now().date()
    record_declined_offer(session, patient, today, "Wants to think about it; offered again next visit", None)
    state = load_plan(session, patient)
    assert state.status == "offered_declined" and state.current.signed
    assert state.current.payload["declined"]["reason"].startswith("Wants to think")
    row = next(r for r in caseload(session) if r.record_id == patient)
    assert row.plan_state == "offered_declined" and row.plan_state_label == "Offered, declined"


def test_ending_a_plan_keeps_it_and_stops_it_being_in_use(session: Session, patient: str) -> None:
    today = session.store.clock.now().date()
    v = sign_plan(session, patient, LAYOUT, full_plan(), None, agreed_with_person=True, agreed_on=today,
                  review_due=add_months(today, 3))  # fmt: skip
    with pytest.raises(InvalidInput, match="Say why"):
        end_plan(session, patient, "  ", v)
    end_plan(session, patient, "Moved out of area; plan handed to the new team", v)
    state = load_plan(session, patient)
    assert state.status == ENDED and state.agreed is None
    assert state.current.payload["sections"]["warning_signs"]["entries"]  # the content is still there


def test_entered_in_error_reverts_to_the_previous_version(session: Session, patient: str) -> None:
    a = save_draft(session, patient, LAYOUT, full_plan(), None)
    b_content = full_plan()
    b_content.section("warning_signs").entries = [{"text": "Wrong patient's text"}]
    b = save_draft(session, patient, LAYOUT, b_content, a)
    session.records.mark_entered_in_error(b, "Typed into the wrong record")
    state = load_plan(session, patient)
    assert state.current.version_id == a
    assert any(v.version_id == b for v in state.history)  # still readable


def test_a_save_from_an_old_base_keeps_both_heads(session: Session, patient: str) -> None:
    a = save_draft(session, patient, LAYOUT, full_plan(), None)
    save_draft(session, patient, LAYOUT, full_plan(), a)
    save_draft(session, patient, LAYOUT, full_plan(), a)  # another PC started from the same version
    state = load_plan(session, patient)
    assert state.in_conflict and len(state.heads) == 2
    assert next(r for r in caseload(session) if r.record_id == patient).needs_attention


def test_a_patients_plan_has_one_record_whose_id_every_pc_derives_alike(session: Session, patient: str) -> None:
    stale = load_plan(session, patient)  # read before sync brought another PC's first version
    first = save_draft(session, patient, LAYOUT, full_plan(), None)
    # The first version made here, from what was read before: the same record, a second head.
    second = records.append(session, PLAN_KIND, patient, stale, full_plan().to_payload(), None, status=DRAFT)
    state = load_plan(session, patient)
    assert session.records.of_patient(patient, PLAN_KIND) == [(state.record_id, PLAN_KIND)]
    assert state.record_id == one_per_patient_id(PLAN_KIND, patient)
    assert set(state.heads) == {first, second} and state.in_conflict
    other = session.patients.add(PatientDetails("Ffion", "Hughes", date(1988, 7, 9), "9434765870"))
    assert one_per_patient_id(PLAN_KIND, other) != state.record_id
    assert one_per_patient_id("safety_formulation", patient) != state.record_id
    record_discharge(session, patient, session.store.clock.now(), discharge_type="planned", owner_text="Ward 4")
    assert session.records.of_patient(patient, "discharge")[0][0] == one_per_patient_id("discharge", patient)


def test_a_draft_begun_when_there_was_no_plan_never_lands_silently_on_one_that_arrived(
    session: Session, patient: str
) -> None:
    theirs = save_draft(session, patient, LAYOUT, full_plan(), None)  # another PC's first version, synced here
    mine = save_draft(session, patient, LAYOUT, full_plan(), None)  # begun here when there was no plan
    state = load_plan(session, patient)
    assert set(state.heads) == {theirs, mine} and state.in_conflict  # both first versions, to merge
    assert next(r for r in caseload(session) if r.record_id == patient).needs_attention


def test_plan_records_which_layout_and_directory_it_used(session: Session, patient: str) -> None:
    save_draft(session, patient, LAYOUT, full_plan(), None)
    payload = load_plan(session, patient).current.payload
    assert payload["layout"] == {"id": "perfectcare-default", "version": 1}
    assert payload["directory"]["checked_on"] == "2026-11-01"
    assert PlanContent.from_payload(payload).section("distractions").entries == [{"text": "Café Nero with Dafydd 😊"}]


def test_the_early_draft_format_still_reads() -> None:
    old = {"schema": "safety_plan_draft/0", "sections": {"warning_signs": ["Can't sleep"]},
           "contacts": [{"name": "Jo", "relationship": "sister", "phone": "07700 900123"}]}  # fmt: skip
    c = PlanContent.from_payload(old)
    assert c.section("warning_signs").entries == [{"text": "Can't sleep"}]
    assert c.section("people_to_ask").entries[0]["name"] == "Jo"


# --- what the person sees, prompts, comparison -------------------------------------------------------
def test_the_person_view_has_their_words_and_no_clinician_notes() -> None:
    c = full_plan()
    c.section("distractions").state = DECLINED
    c.section("distractions").reason = "Clinician-only reason text"
    c.section("distractions").entries = []
    view = person_view(LAYOUT, c)
    text = json.dumps([(s.title, s.lines, s.note) for s in view], ensure_ascii=False)
    assert "I stop answering my phone" in text and "Dafydd (brother) — 07700 900123" in text
    assert "اپنی بیٹی کے لیے" in text
    assert "Clinician only" not in text and "Clinician-only reason" not in text
    assert next(s for s in view if s.key == "distractions").note.startswith("We talked about this")


def test_prompts_name_what_is_missing_and_never_score() -> None:
    c = full_plan()
    c.section("people_to_ask").entries = [{"name": "Dafydd", "relationship": "brother", "phone": ""}]
    c.section("making_safer").entries = []
    c.section("reasons_for_living").entries = []
    c.section("using_plan").state = ""
    texts = [p.text for p in plan_prompts(LAYOUT, c)]
    assert "Dafydd (People I can ask for help) has no phone number." in texts
    assert any("making the situation safer" in t for t in texts)
    assert any("what matters most" in t for t in texts)
    assert any(t == "'Using this plan' is empty and not marked as discussed." for t in texts)
    assert not plan_prompts(LAYOUT, full_plan())
    for t in texts:
        assert not any(ch.isdigit() for ch in t.replace("People", ""))  # no number, no score


def test_compare_shows_what_changed_section_by_section() -> None:
    old, new = full_plan(), full_plan()
    new.section("coping_alone").entries.append({"text": "Listen to the Manics"})
    new.section("warning_signs").entries = [{"text": "I stop answering my phone and stay in bed"}]
    new.section("where_plan_kept").entries = []
    rows = compare(LAYOUT, old, new)
    changes = {(r.section, r.change) for r in rows}
    assert ("When to use this plan: my warning signs", CHANGED) in changes
    assert ("Things I can do on my own", ADDED) in changes
    assert ("Where I keep this plan and who has a copy", REMOVED) in changes
    assert ("What matters most to me", SAME) in changes


# --- autosave and discharge ----------------------------------------------------------------------------
def test_autosave_round_trip_is_sealed_and_bound_to_its_slot(session: Session, patient: str, data_dir: Path) -> None:
    payload = full_plan().to_payload()
    autosave.write(session, patient, "safety_plan", None, None, payload)
    autosave.write(session, patient, "safety_plan", None, None, payload)  # replaced, not added
    found = autosave.read(session, patient, "safety_plan")
    assert found is not None and found.payload == payload
    assert b"Walk the dog" not in (data_dir / "perfectcare.sqlite3").read_bytes()
    other = session.patients.add(PatientDetails("Jan", "Kowalski", date(1980, 1, 1), "9434765870"))
    with session.store.writing() as conn:  # a slot moved to another patient does not open
        conn.exec_driver_sql("UPDATE autosaves SET patient_id = ?", (other,))
    assert autosave.read(session, other, "safety_plan") is None
    autosave.discard(session, other, "safety_plan")
    with session.store.reading() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM autosaves").scalar() == 0


def test_a_merge_drafts_autosave_keeps_what_it_merges_bound_into_its_seal(session: Session, patient: str) -> None:
    payload = full_plan().to_payload()
    autosave.write(session, patient, "safety_plan", "r", "v1", payload, ("v1", "v2"))
    found = autosave.read(session, patient, "safety_plan")
    assert found is not None and found.merge_of == ("v1", "v2") and found.base_version_id == "v1"
    with session.store.writing() as conn:  # another merge written beside it does not open
        conn.exec_driver_sql("UPDATE autosaves SET merge_of = 'v1 v3'")
    assert autosave.read(session, patient, "safety_plan") is None
    with session.store.writing() as conn:  # nor does the merge taken away, leaving a plain draft
        conn.exec_driver_sql("UPDATE autosaves SET merge_of = NULL")
    assert autosave.read(session, patient, "safety_plan") is None
    autosave.write(session, patient, "safety_plan", "r", "v1", payload)  # a plain draft: no merge
    assert autosave.read(session, patient, "safety_plan").merge_of is None


def test_discharge_puts_the_72_hour_follow_up_on_the_caseload(session: Session, patient: str) -> None:
    today = session.store.clock.now().date()
    with pytest.raises(InvalidInput, match="future"):
        record_discharge(session, patient, today + timedelta(days=1), discharge_type="planned", owner_text="Ward 4")
    with pytest.raises(InvalidInput, match="Record the discharge first"):
        record_followup(session, patient, today)
    record_discharge(session, patient, today - timedelta(days=1), discharge_type="planned", owner_text="Ward 4")
    row = next(r for r in caseload(session) if r.record_id == patient)
    assert row.followup_due == today + timedelta(days=2) and row.followup_pending(today)
    record_followup(session, patient, today, "Phoned; feeling settled")
    assert load_discharge(session, patient).followup_done_on == today
    row = next(r for r in caseload(session) if r.record_id == patient)
    assert row.followup_due is None


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 15), 12) == date(2027, 1, 15)


def test_section_content_default_is_empty() -> None:
    assert SectionContent().is_empty and not PlanContent.blank(LAYOUT, DIRECTORY.ref).has_content()
    assert plan_layout.FIELDS["contacts"] == ("name", "relationship", "phone", "notes")
