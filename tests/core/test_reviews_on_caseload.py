"""Reviews on the caseload (issue 15, hazard 6): the signed formulation's review date reaches the caseload
beside the plan's (it never did), and stays while a review is being drafted; a declined offer of a plan
carries the date to offer it again, which reaches the caseload too. Overdue ones are found by the same
words and dates as a plan review, never a rating."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from testsupport import FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.formulations import FORMULATION_LAYOUTS, save_draft, sign_formulation
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import DECLINED, load_plan, record_declined_offer
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.errors import InvalidInput

LAYOUT = load_catalogue(layout_type=FORMULATION_LAYOUTS).latest()


@pytest.fixture
def patient(session: Session) -> str:
    return session.patients.add(PatientDetails("Aisha", "Rahman", date(1988, 6, 1), "9434765919"))


def row(session: Session, pid: str):  # noqa: ANN201
    return next(r for r in caseload(session) if r.record_id == pid)


def written() -> PlanContent:
    c = PlanContent.blank(LAYOUT, {}, schema="safety_formulation/1")
    c.section("current_thoughts").entries = [{"text": "Thoughts most evenings since the eviction notice."}]
    return c


def test_the_formulation_review_date_reaches_the_caseload_and_goes_overdue(
    session: Session, patient: str, clock: FakeClock
) -> None:
    today = clock.now().date()
    assert row(session, patient).formulation_review_due is None  # the snapshot is written here
    signed = sign_formulation(session, patient, LAYOUT, written(), None, review_due=today + timedelta(days=28))
    r = row(session, patient)
    assert r.formulation_review_due == today + timedelta(days=28) and r.review_due is None
    assert r.review_due_within(today, 28) and not r.review_overdue(today)
    # A review started from the signed version: the signed one is still in force, with its date.
    save_draft(session, patient, LAYOUT, written(), signed, new_version=True)
    assert row(session, patient).formulation_review_due == today + timedelta(days=28)
    clock.advance(days=29)
    r = row(session, patient)
    assert r.review_overdue(clock.now().date())  # the formulation review alone makes it overdue


def test_a_declined_offer_carries_a_re_offer_date_to_the_caseload(
    session: Session, patient: str, clock: FakeClock
) -> None:
    today = clock.now().date()
    with pytest.raises(InvalidInput, match="after the date it was offered"):
        record_declined_offer(session, patient, today, "Not today", None, reoffer_on=today)
    assert load_plan(session, patient).current is None  # nothing saved
    record_declined_offer(session, patient, today, "Not today", None, reoffer_on=today + timedelta(days=14))
    current = load_plan(session, patient).current
    assert current.payload["declined"]["reoffer_on"] == (today + timedelta(days=14)).isoformat()
    r = row(session, patient)
    assert r.plan_state == DECLINED and r.reoffer and r.review_due == today + timedelta(days=14)
    assert not r.review_overdue(today)
    clock.advance(days=15)
    assert row(session, patient).review_overdue(clock.now().date())


def test_plan_and_formulation_dates_side_by_side(session: Session, patient: str, clock: FakeClock) -> None:
    today = clock.now().date()
    record_declined_offer(session, patient, today, "", None, reoffer_on=today + timedelta(days=60))
    sign_formulation(session, patient, LAYOUT, written(), None, review_due=today + timedelta(days=10))
    r = row(session, patient)
    assert (r.review_due, r.formulation_review_due) == (today + timedelta(days=60), today + timedelta(days=10))
    assert r.review_due_within(today, 14)  # the formulation's, though the plan's is weeks away
