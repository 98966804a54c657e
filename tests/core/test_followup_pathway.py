"""The discharge and 72-hour follow-up pathway (issue 15, hazard 4): discharge time, type and owner;
contacts made, attempted (each kept) or declined; a missed follow-up that stays on the caseload until
someone records what was done; the 72 hours in real hours across a clock change; discharge/1 records;
and NHS England's "followed up within 72 hours" figure."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from testsupport import FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical import discharge as dc
from perfectcare_desktop.core.clinical.discharge import (
    ATTEMPTED,
    DECLINED,
    DISCHARGE_KIND,
    MADE,
    PLANNED,
    SELF_DISCHARGE,
    TRANSFER,
    followup_figure,
    from_uk_local,
    load_discharge,
    load_discharges,
    record_discharge,
    record_followup,
    uk_local,
)
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.patients.nhs_number import test_range_numbers as nhs_numbers
from perfectcare_desktop.errors import InvalidInput

H72 = timedelta(hours=72)
_numbers = nhs_numbers(random.Random(15))


def new_patient(session: Session, name: str = "Siân") -> str:
    return session.patients.add(PatientDetails(name, "Roberts", date(1991, 2, 3), next(_numbers)))


@pytest.fixture
def patient(session: Session) -> str:
    return new_patient(session)


def row(session: Session, pid: str):  # noqa: ANN201
    return next(r for r in caseload(session) if r.record_id == pid)


def discharge(session: Session, pid: str, at: datetime, kind: str = PLANNED) -> str:
    return record_discharge(session, pid, at, discharge_type=kind, owner_text="Crisis team (Bangor)")


def version_count(session: Session, pid: str) -> int:
    found = session.records.of_patient(pid, DISCHARGE_KIND)
    return len(session.records.history(found[0][0])) if found else 0


def test_uk_local_time_follows_the_clock_changes() -> None:
    assert uk_local(datetime(2026, 7, 1, 12, 0)) == datetime(2026, 7, 1, 13, 0)  # BST
    assert uk_local(datetime(2026, 12, 1, 12, 0)) == datetime(2026, 12, 1, 12, 0)  # GMT
    assert uk_local(datetime(2026, 10, 25, 0, 59)) == datetime(2026, 10, 25, 1, 59)  # last minute of BST
    assert uk_local(datetime(2026, 10, 25, 1, 0)) == datetime(2026, 10, 25, 1, 0)  # GMT again
    assert from_uk_local(datetime(2026, 10, 25, 1, 30)) == datetime(2026, 10, 25, 0, 30)  # twice: the first
    assert from_uk_local(datetime(2027, 3, 28, 1, 30)) == datetime(2027, 3, 28, 1, 30)  # skipped: read as GMT
    assert from_uk_local(datetime(2027, 3, 28, 12, 0)) == datetime(2027, 3, 28, 11, 0)


def test_due_72_real_hours_after_the_discharge_time_in_uk_time(session: Session, patient: str, clock) -> None:
    clock.current = datetime(2026, 11, 27, 15, 0)  # GMT: UK time is UTC
    discharge(session, patient, datetime(2026, 11, 27, 14, 30))
    d = load_discharge(session, patient)
    assert d.discharged_at == datetime(2026, 11, 27, 14, 30) and d.time_recorded
    assert d.followup_due_at == datetime(2026, 11, 30, 14, 30) and d.followup_due == date(2026, 11, 30)
    assert d.discharge_type == PLANNED and d.owner == "Crisis team (Bangor)" and d.open
    r = row(session, patient)
    assert r.followup_pending(clock.now().date()) and not r.followup_missed(clock.now().date())
    assert not d.missed(datetime(2026, 11, 30, 14, 30)) and d.missed(datetime(2026, 11, 30, 14, 31))


def test_due_across_the_autumn_clock_change_is_still_72_real_hours(session: Session, patient: str) -> None:
    # Friday 23 October 2026, 10:00 BST; the clocks go back at 02:00 BST on Sunday 25 October.
    discharge(session, patient, datetime(2026, 10, 23, 10, 0))
    d = load_discharge(session, patient)
    assert d.discharged_at == datetime(2026, 10, 23, 9, 0)  # UTC
    assert d.followup_due_at - d.discharged_at == H72
    assert uk_local(d.followup_due_at) == datetime(2026, 10, 26, 9, 0)  # 09:00 GMT on the wall: 72 real hours
    assert not d.missed(from_uk_local(datetime(2026, 10, 26, 8, 59)))
    assert d.missed(from_uk_local(datetime(2026, 10, 26, 9, 1)))  # 10:00 on the wall would be 73 hours
    assert "09:00 on Mon 26 Oct 2026" in d.state_text(datetime(2026, 10, 25, 12, 0))


def test_due_across_the_spring_clock_change(session: Session, patient: str, clock: FakeClock) -> None:
    clock.current = datetime(2027, 3, 26, 12, 0)
    discharge(session, patient, datetime(2027, 3, 26, 10, 0))  # GMT; clocks go forward on Sunday 28 March
    d = load_discharge(session, patient)
    assert d.followup_due_at - d.discharged_at == H72
    assert uk_local(d.followup_due_at) == datetime(2027, 3, 29, 11, 0)  # 11:00 BST
    clock.current = from_uk_local(datetime(2027, 3, 29, 10, 30))
    assert not row(session, patient).followup_missed(clock.now().date())
    clock.current = from_uk_local(datetime(2027, 3, 29, 11, 1))
    assert row(session, patient).followup_missed(clock.now().date())


def test_a_missed_follow_up_stays_on_the_caseload_until_someone_records_what_was_done(
    session: Session, patient: str, clock: FakeClock
) -> None:
    discharge(session, patient, datetime(2026, 11, 27, 8, 0))
    clock.advance(days=30)  # the old caseload dropped it 7 days after it was due
    today = clock.now().date()
    r = row(session, patient)
    assert r.followup_pending(today) and r.followup_missed(today)
    assert r.followup_due == date(2026, 11, 30)
    assert "missed" in load_discharge(session, patient).state_text(clock.now())
    record_followup(session, patient, datetime(2026, 12, 27, 9, 0), "Home visit; seen", outcome=MADE)
    d = load_discharge(session, patient)
    assert not d.open and not d.made_within_72_hours and "after the 72 hours" in d.state_text(clock.now())
    r = row(session, patient)
    assert not r.followup_pending(today) and not r.followup_missed(today) and r.followup_due is None


def test_a_discharge_recorded_late_counts_from_the_discharge_time(
    session: Session, patient: str, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 27, 9, 0)
    discharge(session, patient, datetime(2026, 11, 23, 16, 0), SELF_DISCHARGE)  # written down four days on
    d = load_discharge(session, patient)
    assert d.recorded_at == datetime(2026, 11, 27, 9, 0) and d.discharged_at == datetime(2026, 11, 23, 16, 0)
    assert d.followup_due_at == datetime(2026, 11, 26, 16, 0)
    assert d.missed(clock.now()) and row(session, patient).followup_missed(clock.now().date())
    assert d.discharge_type == SELF_DISCHARGE


def test_a_follow_up_attempted_twice_keeps_both_attempts_as_versions(
    session: Session, patient: str, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 27, 18, 0)
    discharge(session, patient, datetime(2026, 11, 27, 11, 0))
    record_followup(session, patient, datetime(2026, 11, 27, 17, 0), "No answer; voicemail left", outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 28, 10, 0))  # fmt: skip
    clock.current = datetime(2026, 11, 28, 11, 0)
    record_followup(session, patient, datetime(2026, 11, 28, 10, 5), "Not at home; card left", outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 29, 9, 0))  # fmt: skip
    d = load_discharge(session, patient)
    assert [c.note for c in d.attempts] == ["No answer; voicemail left", "Not at home; card left"]
    assert d.open and d.next_attempt_due == datetime(2026, 11, 29, 9, 0)
    assert "2 attempts — not reached" in d.state_text(clock.now()) and "Next attempt due 09:00" in d.state_text(
        clock.now()
    )
    history = session.records.history(d.record_id)
    assert len(history) == 3  # the discharge and each attempt: nothing overwritten
    assert [len(v.payload["contacts"]) for v in history] == [0, 1, 2]
    r = row(session, patient)
    assert (
        r.followup.attempts == 2
        and r.followup_pending(clock.now().date())
        and not r.followup_missed(clock.now().date())
    )
    clock.current = datetime(2026, 11, 29, 10, 0)
    record_followup(session, patient, datetime(2026, 11, 29, 9, 30), "Seen at home with her sister")
    d = load_discharge(session, patient)
    assert d.made_within_72_hours and not d.open and len(d.contacts) == 3
    assert not row(session, patient).followup_pending(clock.now().date())


def test_declined_by_the_person_closes_the_follow_up(session: Session, patient: str, clock: FakeClock) -> None:
    clock.current = datetime(2026, 11, 28, 12, 0)
    discharge(session, patient, datetime(2026, 11, 27, 11, 0))
    record_followup(session, patient, datetime(2026, 11, 28, 11, 0), "Said she did not want a call", outcome=DECLINED)
    d = load_discharge(session, patient)
    assert d.declined is not None and not d.open and not d.made_within_72_hours
    assert "declined by the person" in d.state_text(clock.now())
    assert not row(session, patient).followup_pending(clock.now().date())


def test_a_transfer_owes_no_72_hour_follow_up(session: Session, patient: str) -> None:
    discharge(session, patient, datetime(2026, 11, 26, 11, 0), TRANSFER)
    d = load_discharge(session, patient)
    assert not d.applies and not d.open and "does not apply" in d.state_text(datetime(2026, 12, 30))
    r = row(session, patient)
    assert r.followup is None and not r.followup_pending(date(2026, 12, 30)) and r.followup_due is None


def test_bad_input_is_refused_in_words_and_changes_nothing(session: Session, patient: str, clock: FakeClock) -> None:
    now = clock.now()
    with pytest.raises(InvalidInput, match="future"):
        discharge(session, patient, now + timedelta(hours=1))
    with pytest.raises(InvalidInput, match="who owns the follow-up"):
        record_discharge(session, patient, now, discharge_type=PLANNED)
    with pytest.raises(InvalidInput, match="not a user of this store"):
        record_discharge(session, patient, now, discharge_type=PLANNED, owner_user_id="nobody")
    with pytest.raises(InvalidInput, match="kind of discharge"):
        record_discharge(session, patient, now, discharge_type="risky", owner_text="Ward 4")
    with pytest.raises(InvalidInput, match="Record the discharge first"):
        record_followup(session, patient, now)
    assert version_count(session, patient) == 0
    record_discharge(session, patient, now - timedelta(hours=5), discharge_type=PLANNED,
                     owner_user_id=session.user.user_id)  # fmt: skip
    assert load_discharge(session, patient).owner_user_id == session.user.user_id
    with pytest.raises(InvalidInput, match="before the discharge"):
        record_followup(session, patient, now - timedelta(hours=6))
    with pytest.raises(InvalidInput, match="future"):
        record_followup(session, patient, now + timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="next attempt is due"):
        record_followup(session, patient, now, outcome=ATTEMPTED)
    with pytest.raises(InvalidInput, match="after this attempt"):
        record_followup(session, patient, now, outcome=ATTEMPTED, next_attempt_due=now - timedelta(hours=1))
    assert version_count(session, patient) == 1 and load_discharge(session, patient).contacts == ()


def test_old_discharge_records_still_read(session: Session, patient: str, clock: FakeClock) -> None:
    """A discharge/1 record, as the app wrote it before: a date, and later the date follow-up was done."""
    old = {"schema": "discharge/1", "discharged_on": "2026-11-20", "note": "Home to her flat"}
    record_id, _ = session.records.create(DISCHARGE_KIND, patient, old, followup_due=date(2026, 11, 23),
                                         one_per_patient=True)  # fmt: skip
    d = load_discharge(session, patient)
    assert d.discharged_on == date(2026, 11, 20) and not d.time_recorded and d.discharge_type is None
    assert d.followup_due == date(2026, 11, 23) and d.note == "Home to her flat" and d.missed(clock.now())
    assert row(session, patient).followup_missed(clock.now().date())  # 4 days past due, still shown
    session.records.append(record_id, old | {"followup_done_on": "2026-11-23"})
    d = load_discharge(session, patient)
    assert d.followup_done_on == date(2026, 11, 23) and d.made_within_72_hours and not d.open
    assert not row(session, patient).followup_pending(clock.now().date())
    # A new discharge on the old record starts a new episode; the old one stays in the history.
    discharge(session, patient, datetime(2026, 11, 26, 10, 0))
    assert [e.discharged_on for e in load_discharges(session, patient)] == [date(2026, 11, 20), date(2026, 11, 26)]
    assert load_discharge(session, patient).open


def test_an_attempt_on_an_old_record_keeps_its_date(session: Session, patient: str, clock: FakeClock) -> None:
    old = {"schema": "discharge/1", "discharged_on": "2026-11-26", "note": ""}
    session.records.create(DISCHARGE_KIND, patient, old, followup_due=date(2026, 11, 29), one_per_patient=True)
    record_followup(session, patient, datetime(2026, 11, 27, 8, 0), outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 27, 14, 0))  # fmt: skip
    d = load_discharge(session, patient)
    assert d.discharged_on == date(2026, 11, 26) and len(d.attempts) == 1 and d.open
    assert len(load_discharges(session, patient)) == 1


def test_followed_up_within_72_hours_figure(session: Session, clock: FakeClock) -> None:
    clock.current = datetime(2026, 11, 1, 9, 0)
    made = new_patient(session, "Made")
    late = new_patient(session, "Late")
    declined = new_patient(session, "Declined")
    transfer = new_patient(session, "Transfer")
    tried = new_patient(session, "Tried")
    recent = new_patient(session, "Recent")
    outside = new_patient(session, "Outside")
    discharge(session, outside, datetime(2026, 10, 30, 9, 0))
    clock.current = datetime(2026, 11, 2, 12, 0)
    for pid in (made, late, declined, tried):
        discharge(session, pid, datetime(2026, 11, 2, 10, 0))
    discharge(session, transfer, datetime(2026, 11, 2, 10, 0), TRANSFER)
    clock.current = datetime(2026, 11, 5, 9, 0)
    record_followup(session, made, datetime(2026, 11, 5, 8, 0))
    record_followup(session, declined, datetime(2026, 11, 4, 8, 0), outcome=DECLINED)
    record_followup(session, tried, datetime(2026, 11, 4, 8, 0), outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 5, 8, 0))  # fmt: skip
    clock.current = datetime(2026, 11, 29, 9, 0)
    record_followup(session, late, datetime(2026, 11, 5, 11, 0))  # 73 hours: not within
    discharge(session, recent, datetime(2026, 11, 28, 9, 0))  # its 72 hours have not ended
    figure = followup_figure(session, date(2026, 11, 1), date(2026, 11, 30))
    assert (figure.eligible, figure.within_72_hours) == (4, 1)
    assert (figure.transfers_excluded, figure.not_yet_due, figure.declined) == (1, 1, 1)
    assert figure.proportion == 0.25
    assert any("Transfers" in e for e in figure.exclusions)
    with pytest.raises(InvalidInput):
        followup_figure(session, date(2026, 12, 1), date(2026, 11, 1))
    assert dc.followup_figure(session, date(2026, 12, 1), date(2026, 12, 31)).proportion is None


def test_attempts_saved_on_two_pcs_are_both_kept(session: Session, patient: str, clock: FakeClock) -> None:
    clock.current = datetime(2026, 11, 27, 18, 0)
    first = discharge(session, patient, datetime(2026, 11, 27, 11, 0))
    mine = record_followup(session, patient, datetime(2026, 11, 27, 15, 0), "Phoned: no answer", outcome=ATTEMPTED,
                           next_attempt_due=datetime(2026, 11, 28, 9, 0))  # fmt: skip
    record_id = session.records.of_patient(patient, DISCHARGE_KIND)[0][0]
    # Another PC, not having seen that attempt, recorded its own on the discharge version: two heads.
    theirs = next(v for v in session.records.history(record_id) if v.version_id == mine).payload
    other = dict(theirs["contacts"][0], id="other-pc", at="2026-11-27T16:00:00", note="Visited: not in")
    session.records.append(record_id, theirs | {"contacts": [other]}, parents=[first])
    d = load_discharge(session, patient)
    assert [c.note for c in d.attempts] == ["Phoned: no answer", "Visited: not in"]
    r = row(session, patient)
    assert r.followup.attempts == 2 and r.needs_attention  # two heads: for a clinician to merge


def test_a_contact_or_a_discharge_entered_in_error_is_left_out(
    session: Session, patient: str, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 28, 18, 0)
    wrong = discharge(session, patient, datetime(2026, 11, 20, 11, 0))  # the wrong date
    session.records.mark_entered_in_error(wrong, "Wrong date typed")
    assert load_discharge(session, patient) is None and load_discharges(session, patient) == []
    discharge(session, patient, datetime(2026, 11, 27, 11, 0))
    typo = record_followup(session, patient, datetime(2026, 11, 27, 15, 0), "Wrong person phoned")
    session.records.mark_entered_in_error(typo, "Not this patient")
    assert load_discharge(session, patient).open
    record_followup(session, patient, datetime(2026, 11, 28, 10, 0), "No answer", outcome=ATTEMPTED,
                    next_attempt_due=datetime(2026, 11, 28, 16, 0))  # fmt: skip
    d = load_discharge(session, patient)
    assert [c.note for c in d.contacts] == ["No answer"] and d.open  # the withdrawn one stays out
    assert [e.discharged_on for e in load_discharges(session, patient)] == [date(2026, 11, 27)]
    assert row(session, patient).followup_pending(clock.now().date())
