"""Records with two heads (edits on two PCs, or two users of one shared store) are found, also when
another process wrote them, and no longer once a merge names both heads."""

from __future__ import annotations

from datetime import date

from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import versions
from perfectcare_desktop.core.storage.store import Store


def conflicted(store: Store) -> set[str]:
    with store.reading() as conn:
        return {r.record_id for r in versions.conflicted_records(conn)}


def test_two_heads_are_found_then_cleared_by_a_merge(store: Store, session: Session) -> None:
    pid = session.patients.add(PatientDetails("Ann", "Jones", date(1980, 1, 1), "9434765919"))
    rid, base = session.records.create("safety_plan", pid, {"schema": "x", "n": 1})
    assert conflicted(store) == set()
    left = session.records.append(rid, {"schema": "x", "n": 2}, parents=[base])
    # Another program on the same store (a second PC on a shared folder) saves from the same base.
    other = Store.open(store.data_dir)
    right = Session.sign_in(other, ADMIN, ADMIN_PASSWORD).records.append(rid, {"schema": "x", "n": 3}, parents=[base])
    other.close()
    assert conflicted(store) == {rid}
    assert next(r for r in caseload(session) if r.record_id == pid).needs_attention
    session.records.append(rid, {"schema": "x", "n": 4}, parents=[left, right])
    assert conflicted(store) == set()
    assert not next(r for r in caseload(session) if r.record_id == pid).needs_attention
    # A formulation in conflict flags the patient in the caseload too.
    fid, fbase = session.records.create("safety_formulation", pid, {"schema": "f"})
    session.records.append(fid, {"schema": "f", "n": 1}, parents=[fbase])
    session.records.append(fid, {"schema": "f", "n": 2}, parents=[fbase])
    assert conflicted(store) == {fid}
    assert next(r for r in caseload(session) if r.record_id == pid).needs_attention
