"""Safety plan records: drafts, signing, offers declined, ending, and what is current.

One plan record per patient, a chain of immutable versions. Status is clear metadata (the caseload
reads it without decrypting): a draft, a revision (a draft made from an agreed plan, which stays
the plan in use until the revision is signed), agreed (signed, locked), offered and declined
(signed: an offer counts even when refused), ended. An agreed version followed by a later agreed
one is superseded; that is read from the chain, never written over it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from ..errors import InvalidInput, NotAllowed
from . import versions
from .plan_content import MAX_FIELD_CHARS, PlanContent, clean_text, validated
from .plan_layout import PlanLayout
from .session import Session
from .statuses import ENTERED_IN_ERROR

PLAN_KIND = "safety_plan"
DRAFT, REVISION, AGREED, DECLINED, ENDED = "draft", "revision", "agreed", "offered_declined", "ended"
SUPERSEDED = "superseded"  # derived for display: an agreed version with a later agreed one
STATUS_LABELS = {
    DRAFT: "Draft",
    REVISION: "Revision in draft (agreed plan still in use)",
    AGREED: "Agreed",
    DECLINED: "Offered, declined",
    ENDED: "Ended",
    SUPERSEDED: "Superseded",
    ENTERED_IN_ERROR: "Entered in error",
    "current": "Draft",
}
DEFAULT_REVIEW_MONTHS = 3


@dataclass(frozen=True)
class PlanState:
    """A patient's plan as read from the store (all of it: nothing is hidden, only ordered)."""

    record_id: str | None
    history: tuple[versions.VersionInfo, ...]  # oldest first, including entered-in-error notes
    heads: tuple[str, ...]

    @property
    def withdrawn(self) -> set[str]:
        return {v.payload.get("marks") for v in self.history if v.status == ENTERED_IN_ERROR}

    @property
    def current(self) -> versions.VersionInfo | None:
        return versions.current(list(self.history))

    @property
    def agreed(self) -> versions.VersionInfo | None:
        """The plan in use: the newest signed agreement not withdrawn and not ended since."""
        withdrawn = self.withdrawn
        for v in reversed(self.history):
            if v.version_id in withdrawn or v.status == ENTERED_IN_ERROR:
                continue
            if v.status == ENDED:
                return None
            if v.status == AGREED and v.signed:
                return v
        return None

    @property
    def status(self) -> str:
        current = self.current
        return current.status if current else "none"

    @property
    def in_conflict(self) -> bool:
        return len(self.heads) > 1

    def display_status(self, v: versions.VersionInfo) -> str:
        if v.status == AGREED:
            later = [w for w in self.history if w.created_at >= v.created_at and w.version_id != v.version_id]
            if any(w.status == AGREED and w.version_id not in self.withdrawn for w in later):
                return STATUS_LABELS[SUPERSEDED]
        if v.version_id in self.withdrawn:
            return STATUS_LABELS.get(v.status, v.status) + " (entered in error)"
        return STATUS_LABELS.get(v.status, v.status)

    def content_versions(self) -> list[versions.VersionInfo]:
        """Versions that hold plan content (not entered-in-error notes), oldest first."""
        return [v for v in self.history if v.status != ENTERED_IN_ERROR]


def plan_record_id(session: Session, patient_id: str) -> str | None:
    found = session.records_of_patient(patient_id, PLAN_KIND)
    return found[0][0] if found else None


def load_plan(session: Session, patient_id: str, *, audit_view: bool = True) -> PlanState:
    record_id = plan_record_id(session, patient_id)
    if record_id is None:
        return PlanState(None, (), ())
    history = session.history(record_id)
    heads = session.head_ids(record_id)
    if audit_view:
        session.record_event("view", patient_id=patient_id, target_id=history[-1].version_id, detail=PLAN_KIND)
    return PlanState(record_id, tuple(history), tuple(heads))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _append(session: Session, patient_id: str, state: PlanState, payload: dict, base_version_id: str | None,
            **meta: object) -> str:  # fmt: skip
    if state.record_id is None:
        return session.create_record(PLAN_KIND, patient_id, payload, **meta)[1]  # type: ignore[arg-type]
    # Parent is the version the clinician started from: if someone else saved meanwhile (another PC,
    # via sync), the record gets two heads and both are kept for the clinician to compare.
    parents = [base_version_id] if base_version_id else None
    return session.append_version(state.record_id, payload, parents=parents, **meta)  # type: ignore[arg-type]


def save_draft(session: Session, patient_id: str, layout: PlanLayout, content: PlanContent,
               base_version_id: str | None) -> str:  # fmt: skip
    """Save the editor's content as a new draft version (a revision if an agreed plan is in use)."""
    state = load_plan(session, patient_id, audit_view=False)
    clean = validated(layout, content)
    agreed = state.agreed
    status = REVISION if agreed else DRAFT
    # A revision carries the agreed plan's review and follow-up dates: the caseload keeps them.
    review = agreed.review_due if agreed else None
    return _append(session, patient_id, state, clean.to_payload(), base_version_id, status=status, review_due=review)


def sign_plan(session: Session, patient_id: str, layout: PlanLayout, content: PlanContent,
              base_version_id: str | None, *, agreed_with_person: bool, agreed_on: date,
              review_due: date) -> str:  # fmt: skip
    """Sign the plan as agreed with the person: a locked version with its review date."""
    if not agreed_with_person:
        raise InvalidInput("Confirm that the plan was agreed with the person before signing it.")
    today = session.store.clock.now().date()
    if agreed_on > today:
        raise InvalidInput("The date agreed cannot be in the future.")
    if review_due <= agreed_on:
        raise InvalidInput("The review date must be after the date the plan was agreed.")
    clean = validated(layout, content)
    if not clean.has_content():
        raise InvalidInput("The plan is empty: write it with the person, or record that the offer was declined.")
    state = load_plan(session, patient_id, audit_view=False)
    payload = clean.to_payload() | {"agreed_with_person": True, "agreed_on": agreed_on.isoformat()}
    return _append(session, patient_id, state, payload, base_version_id, status=AGREED, signed=True,
                   review_due=review_due)  # fmt: skip


def record_declined_offer(session: Session, patient_id: str, offered_on: date, reason: str,
                          base_version_id: str | None, content: PlanContent | None = None) -> str:  # fmt: skip
    """An offer of a safety plan that the person declined: recorded and signed, because it counts.

    Any draft text is kept in the version (nothing typed is lost); an agreed plan stays in history."""
    reason = clean_text(reason)
    if len(reason) > MAX_FIELD_CHARS:
        raise InvalidInput(f"The reason is longer than {MAX_FIELD_CHARS:,} characters; shorten it.")
    if offered_on > session.store.clock.now().date():
        raise InvalidInput("The date of the offer cannot be in the future.")
    state = load_plan(session, patient_id, audit_view=False)
    payload = (content.to_payload() if content else {"schema": "safety_plan/1", "sections": {}}) | {
        "declined": {"offered_on": offered_on.isoformat(), "reason": reason}
    }
    return _append(session, patient_id, state, payload, base_version_id, status=DECLINED, signed=True)


def end_plan(session: Session, patient_id: str, reason: str, base_version_id: str | None) -> str:
    """The plan is no longer in use (a new plan replaces it, the person left the service, ...)."""
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput("Say why the plan is ending; the reason is kept with the record.")
    state = load_plan(session, patient_id, audit_view=False)
    current = state.current
    if current is None:
        raise NotAllowed("There is no plan to end.")
    payload = dict(current.payload) | {"ended": {"on": session.store.clock.now().date().isoformat(), "reason": reason}}
    payload.pop("agreed_with_person", None)
    return _append(session, patient_id, state, payload, base_version_id, status=ENDED, signed=True)
