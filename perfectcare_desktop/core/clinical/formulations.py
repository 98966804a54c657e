"""Safety formulation records: safety assessment (explore), formulation (map), management and
planning (act), and involving others — in words, never a score or a category.

One formulation record per patient, a chain of immutable versions: drafts, then a signed version,
which is locked. Later additions are notes in records of their own, each signed, dated and
attributed, naming the version they are about: an addendum, or the person's own view where they
disagree. Any version or note can be marked entered in error with a reason and stays readable. At
review a new version is started from the signed one, explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ...errors import InvalidInput, NotAllowed
from ..access.session import Session
from ..storage import records, versions
from ..storage.records import RecordState, read_record
from .plan_content import MAX_TEXT_CHARS, PlanContent, clean_text, validated
from .plan_layout import LayoutType, PlanLayout, Section
from .plans import load_plan
from .statuses import ENTERED_IN_ERROR

FORMULATION_KIND = "safety_formulation"
NOTE_KIND = "formulation_note"
SCHEMA = "safety_formulation/1"
NOTE_SCHEMA = "formulation_note/1"
DRAFT, SIGNED = "draft", "signed"
ADDENDUM, DISAGREEMENT = "addendum", "disagreement"
NOTE_LABELS = {ADDENDUM: "Addendum", DISAGREEMENT: "The person's view"}
STATUS_LABELS = {DRAFT: "Draft", SIGNED: "Signed", ENTERED_IN_ERROR: "Entered in error"}

_A, _F = "Safety assessment: explore", "Safety formulation: map"
_M, _I = "Safety management and planning: act", "Involving others"
# Used only when the shipped default file is missing or broken; resources/formulation_layouts/
# default.json has the same keys, kinds and titles (a test keeps them in step) and fuller questions.
FALLBACK = PlanLayout(
    "perfectcare-formulation",
    1,
    "Safety formulation",
    "",
    tuple(
        Section(key, kind, title, "Describe, in words.", part=part)
        for part, key, kind, title in (
            (_A, "current_thoughts", "text", "Current thoughts, plans and intent, in the person's words"),
            (_A, "recent_history", "text", "Recent behaviour and history"),
            (_A, "access_to_means", "text", "Access to means"),
            (_A, "substance_use", "text", "Alcohol and drug use"),
            (_A, "physical_health", "text", "Physical health"),
            (_A, "safeguarding", "text", "Safeguarding: harm from others, harm to others"),
            (_A, "others_say", "text", "What the person and the people around them say"),
            (_F, "presenting", "text", "Presenting: what is happening now"),
            (_F, "predisposing", "text", "Predisposing: what made the person vulnerable"),
            (_F, "precipitating", "text", "Precipitating: why now"),
            (_F, "perpetuating", "text", "Perpetuating: what keeps it going"),
            (_F, "protective", "text", "Protective: what keeps the person safe"),
            (_F, "foreseeable_changes", "text", "What could change soon"),
            (_F, "modifiable", "text", "What can be changed"),
            (_F, "judgement", "text", "Clinical judgement of the person's safety, in words"),
            (_M, "immediate_actions", "entries", "Immediate actions"),
            (_M, "others_involved", "people", "Who else is involved"),
            (_M, "plan_link", "text", "The safety plan"),
            (_M, "follow_up", "text", "Follow-up"),
            (_I, "want_involved", "people", "People the person wants involved"),
            (_I, "not_involved", "people", "People the person does not want involved"),
            (_I, "confidentiality", "explained", "Limits of confidentiality explained"),
            (_I, "sharing", "sharing", "Information-sharing decisions"),
        )
    ),
    "built-in",
)
FORMULATION_LAYOUTS = LayoutType(
    "perfectcare.formulation_layout/1",
    "formulation_layouts",
    ("text", "entries", "people", "sharing", "explained"),
    "perfectcare-formulation",
    FALLBACK,
)


@dataclass(frozen=True)
class Note:
    """An addendum or the person's view, about one formulation version."""

    version: versions.VersionInfo
    about: str  # the formulation version it is about
    kind: str  # ADDENDUM or DISAGREEMENT
    text: str
    withdrawn_reason: str | None  # set when marked entered in error (the note stays readable)


@dataclass(frozen=True)
class FormulationState(RecordState):
    notes: tuple[Note, ...] = ()  # addenda and the person's view, about any of its versions

    @property
    def locked(self) -> bool:
        """The current version is signed: it is changed only by notes or a new version."""
        current = self.current
        return current is not None and current.signed

    @property
    def in_use(self) -> versions.VersionInfo | None:
        """The formulation in force: the newest signed version not withdrawn (a review version being
        drafted does not replace it), else the current draft. Newest in the history's one order."""
        withdrawn = self.withdrawn
        usable = [v for v in self.history if v.status != ENTERED_IN_ERROR and v.version_id not in withdrawn]
        return next((v for v in reversed(usable) if v.signed), None) or (usable[-1] if usable else None)

    def notes_about(self, version_id: str) -> list[Note]:
        return [n for n in self.notes if n.about == version_id]

    def display_status(self, v: versions.VersionInfo) -> str:
        label = STATUS_LABELS.get(v.status, v.status)
        return label + " (entered in error)" if v.version_id in self.withdrawn else label


def _load_notes(session: Session, patient_id: str) -> tuple[Note, ...]:
    notes = []
    for record_id, _ in session.records.of_patient(patient_id, NOTE_KIND):
        history = session.records.history(record_id)
        first = history[0]
        withdrawn = next((v.payload.get("reason", "") for v in history if v.status == ENTERED_IN_ERROR), None)
        p = first.payload
        notes.append(Note(first, str(p.get("about", "")), str(p.get("type", ADDENDUM)), str(p.get("text", "")),
                          withdrawn))  # fmt: skip
    return tuple(notes)


def load_formulation(session: Session, patient_id: str, *, audit_view: bool = True) -> FormulationState:
    record_id, history, heads = read_record(session, patient_id, FORMULATION_KIND, audit_view=audit_view)
    return FormulationState(record_id, history, heads, notes=_load_notes(session, patient_id))


def _append(session: Session, patient_id: str, state: FormulationState, payload: dict, base: str | None,
            merge_of: tuple[str, ...] | None, **meta: object) -> str:  # fmt: skip
    return records.append(session, FORMULATION_KIND, patient_id, state, payload, base, merge_of, **meta)


def _check_unlocked(state: FormulationState, base: str | None, new_version: bool,
                    merge_of: tuple[str, ...] | None = None) -> None:  # fmt: skip
    if merge_of:
        if not new_version and any(v.signed for v in state.history if v.version_id in merge_of):
            raise NotAllowed(
                "One of the versions being merged is signed and locked: save the merge as a new version for "
                "review (the signed version stays as it is)."
            )
        return
    based_on = next((v for v in state.history if v.version_id == base), None) if base else state.current
    if based_on is not None and based_on.signed and not new_version:
        raise NotAllowed(
            "This formulation is signed and locked, so it cannot be edited. Add a dated addendum to it, "
            "or, at review, start a new version from it."
        )


def save_draft(session: Session, patient_id: str, layout: PlanLayout, content: PlanContent, base: str | None,
               *, new_version: bool = False, merge_of: tuple[str, ...] | None = None) -> str:  # fmt: skip
    """Save a draft. A signed version is never edited: `new_version` starts a review draft from it.

    `merge_of`: the versions saved on different PCs that this one merges (all become its parents);
    when one of them is signed, the merge is a new version for review (`new_version`)."""
    state = load_formulation(session, patient_id, audit_view=False)
    _check_unlocked(state, base, new_version, merge_of)
    clean = validated(layout, content)
    clean.schema = SCHEMA
    return _append(session, patient_id, state, clean.to_payload(), base, merge_of, status=DRAFT)


def plan_in_force(session: Session, patient_id: str) -> versions.VersionInfo | None:
    """The safety plan version a formulation signed now links to: the agreed plan in use, else the
    plan's current version (a draft, a declined offer); None when there is no plan."""
    plan = load_plan(session, patient_id, audit_view=False)
    return plan.agreed or plan.current


def sign_formulation(session: Session, patient_id: str, layout: PlanLayout, content: PlanContent,
                     base: str | None, *, review_due: date, new_version: bool = False,
                     merge_of: tuple[str, ...] | None = None) -> str:  # fmt: skip
    """Sign: a locked version, with its review date and a link to the safety plan version in force
    at this moment (read here, so a plan agreed after the formulation tab was opened is the one
    linked, never what the tab saw when it loaded)."""
    today = session.store.clock.now().date()
    if review_due <= today:
        raise InvalidInput("The review date must be after today.")
    clean = validated(layout, content)
    if not clean.has_content():
        raise InvalidInput("The formulation is empty; write it before signing.")
    state = load_formulation(session, patient_id, audit_view=False)
    _check_unlocked(state, base, new_version, merge_of)
    clean.schema = SCHEMA
    plan = plan_in_force(session, patient_id)
    payload = clean.to_payload() | {"safety_plan_version": plan.version_id if plan else None}
    return _append(session, patient_id, state, payload, base, merge_of, status=SIGNED, signed=True,
                   review_due=review_due)  # fmt: skip


def add_note(session: Session, patient_id: str, about_version_id: str, note_type: str, text: str) -> str:
    """An addendum, or the person's view where they disagree: signed, dated and attributed."""
    if note_type not in NOTE_LABELS:
        raise InvalidInput(f"Unknown kind of note {note_type!r}.")
    text = clean_text(text)
    if not text:
        raise InvalidInput("Write the addendum first; an empty note is not saved.")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"The note is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}.")
    state = load_formulation(session, patient_id, audit_view=False)
    if not any(v.version_id == about_version_id for v in state.history):
        raise InvalidInput("That version is not part of this patient's formulation.")
    payload = {"schema": NOTE_SCHEMA, "about": about_version_id, "type": note_type, "text": text}
    return session.records.create(NOTE_KIND, patient_id, payload, status="current", signed=True)[1]
