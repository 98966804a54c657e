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

from ...errors import InvalidInput, NotAllowed
from ..access.session import Session
from ..storage import records, versions
from ..storage.records import RecordState, read_record
from .plan_content import MAX_FIELD_CHARS, PlanContent, clean_text, validated
from .plan_layout import PlanLayout
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
_UNSIGNED = (DRAFT, REVISION, "current")  # drafts of the plan, whatever the PC that saved one knew


@dataclass(frozen=True)
class PlanState(RecordState):
    """A patient's plan as read from the store."""

    @property
    def agreed(self) -> versions.VersionInfo | None:
        """The plan in use: the newest signed agreement not withdrawn and not ended since, "newest" in
        the one order of the history, so every PC has the same plan in use (see docs/sync.md)."""
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
    def shown(self) -> tuple[str, versions.VersionInfo, date | None] | None:
        """(status, version, review due) as the caseload shows the plan: the current version's, except
        that a draft after the agreed plan in use (saved on a PC that had not seen it) shows as a
        revision with that plan's review date, as a revision saved here would. None: no version."""
        current = self.current
        if current is None:
            return (self.history[-1].status, self.history[-1], None) if self.history else None
        agreed = self.agreed
        if agreed is not None and current is not agreed and not current.signed and current.status in _UNSIGNED:
            return REVISION, current, agreed.review_due
        return current.status, current, current.review_due

    def display_status(self, v: versions.VersionInfo) -> str:
        # Superseded: a later agreement in the history's order, as `agreed` reads it (never by clocks,
        # which made the plan in use read "Superseded" beside a PC whose clock ran fast).
        if v.status == AGREED:
            withdrawn = self.withdrawn
            if any(w.status == AGREED and w.version_id not in withdrawn for w in self.after(v)):
                return STATUS_LABELS[SUPERSEDED]
        if v.version_id in self.withdrawn:
            return STATUS_LABELS.get(v.status, v.status) + " (entered in error)"
        return STATUS_LABELS.get(v.status, v.status)


def load_plan(session: Session, patient_id: str, *, audit_view: bool = True) -> PlanState:
    return PlanState(*read_record(session, patient_id, PLAN_KIND, audit_view=audit_view))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _append(session: Session, patient_id: str, state: PlanState, payload: dict, base_version_id: str | None,
            merge_of: tuple[str, ...] | None, **meta: object) -> str:  # fmt: skip
    return records.append(session, PLAN_KIND, patient_id, state, payload, base_version_id, merge_of, **meta)


def save_draft(session: Session, patient_id: str, layout: PlanLayout, content: PlanContent,
               base_version_id: str | None, merge_of: tuple[str, ...] | None = None) -> str:  # fmt: skip
    """Save the editor's content as a new draft version (a revision if an agreed plan is in use).

    `merge_of`: the versions saved on different PCs that this one merges (all become its parents).
    An agreed plan among them stays the plan in use: the merge is a revision until it is signed."""
    state = load_plan(session, patient_id, audit_view=False)
    clean = validated(layout, content)
    agreed = state.agreed
    status = REVISION if agreed else DRAFT
    # A revision carries the agreed plan's review and follow-up dates: the caseload keeps them.
    review = agreed.review_due if agreed else None
    return _append(session, patient_id, state, clean.to_payload(), base_version_id, merge_of, status=status,
                   review_due=review)  # fmt: skip


def sign_plan(session: Session, patient_id: str, layout: PlanLayout, content: PlanContent,
              base_version_id: str | None, *, agreed_with_person: bool, agreed_on: date,
              review_due: date, merge_of: tuple[str, ...] | None = None) -> str:  # fmt: skip
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
    return _append(session, patient_id, state, payload, base_version_id, merge_of, status=AGREED, signed=True,
                   review_due=review_due)  # fmt: skip


def record_declined_offer(session: Session, patient_id: str, offered_on: date, reason: str,
                          base_version_id: str | None, content: PlanContent | None = None,
                          merge_of: tuple[str, ...] | None = None, *,
                          reoffer_on: date | None = None) -> str:  # fmt: skip
    """An offer of a safety plan that the person declined: recorded and signed, because it counts.

    Any draft text is kept in the version (nothing typed is lost); an agreed plan stays in history.
    `reoffer_on`: when to offer it again; kept as the version's review date (clear metadata) so the
    caseload shows it, and in the payload."""
    reason = clean_text(reason)
    if len(reason) > MAX_FIELD_CHARS:
        raise InvalidInput(f"The reason is longer than {MAX_FIELD_CHARS:,} characters; shorten it.")
    if offered_on > session.store.clock.now().date():
        raise InvalidInput("The date of the offer cannot be in the future.")
    if reoffer_on is not None and reoffer_on <= offered_on:
        raise InvalidInput("The date to offer the plan again must be after the date it was offered.")
    state = load_plan(session, patient_id, audit_view=False)
    declined = {"offered_on": offered_on.isoformat(), "reason": reason}
    if reoffer_on is not None:
        declined["reoffer_on"] = reoffer_on.isoformat()
    payload = (content.to_payload() if content else {"schema": "safety_plan/1", "sections": {}}) | {
        "declined": declined
    }
    return _append(session, patient_id, state, payload, base_version_id, merge_of, status=DECLINED, signed=True,
                   review_due=reoffer_on)  # fmt: skip


def end_plan(session: Session, patient_id: str, reason: str, base_version_id: str | None,
             merge_of: tuple[str, ...] | None = None) -> str:  # fmt: skip
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
    return _append(session, patient_id, state, payload, base_version_id, merge_of, status=ENDED, signed=True)
