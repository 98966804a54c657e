"""One order of a record's versions on every PC, whatever order they arrived in: a version after every
version it descends from, then by the time it was saved, then by id. The plan in use, the current
version, the history's labels and the caseload are read from that order, so two PCs agree.

Two stores share a data key (one is a copy of the other's folder, taken before the plan was begun);
versions made in one are copied into the other in another order, row by row, as pull copies them."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import PLAN_KIND, load_plan, save_draft, sign_plan
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import versions
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.store.models import Record, Version, VersionParent
from perfectcare_desktop.ui.patient_page import history_rows

LAYOUT = load_catalogue().latest()
T0 = datetime(2026, 11, 27, 9, 0, 0)
REVIEW = date(2027, 3, 1)


@dataclass
class Two:
    """The PC where the versions were made, and another PC that receives them in a chosen order."""

    here: Store
    there: Store
    clock: FakeClock
    patient_id: str

    def login(self, store: Store) -> Session:
        return Session.sign_in(store, ADMIN, ADMIN_PASSWORD)


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Two]:
    clock = FakeClock(T0)
    store, _ = Store.create(tmp_path / "a", ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    pid = Session.sign_in(store, ADMIN, ADMIN_PASSWORD).patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3),
                                                                        "9434765919"))  # fmt: skip
    store.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    made = Two(Store.open(tmp_path / "a", clock), Store.open(tmp_path / "b", clock), clock, pid)
    yield made
    made.here.close()
    made.there.close()


def content(*signs: str) -> PlanContent:
    c = PlanContent.blank(LAYOUT, load_directory().ref)
    c.section("warning_signs").entries = [{"text": s} for s in signs]
    return c


def sign(session: Session, pid: str, base: str | None, at: datetime, *signs: str) -> str:
    session.store.clock.current = at  # type: ignore[attr-defined]
    return sign_plan(session, pid, LAYOUT, content(*signs), base, agreed_with_person=True, agreed_on=at.date(),
                     review_due=REVIEW + timedelta(days=at.day))  # fmt: skip


def copy_versions(source: Store, target: Store, version_ids: list[str]) -> None:
    """Copy versions (and their record) into another store in this order, as pull writes them."""
    with source.reading() as conn:
        found = conn.execute(select(Version.__table__).where(Version.version_id.in_(version_ids)))
        rows = {r.version_id: r for r in found}
        parents = list(conn.execute(select(VersionParent.__table__).where(VersionParent.version_id.in_(version_ids))))
        record_ids = {r.record_id for r in rows.values()}
        records = list(conn.execute(select(Record.__table__).where(Record.record_id.in_(record_ids))))
    with target.writing() as conn:
        for rec in records:
            if not versions.record_exists(conn, rec.record_id):
                conn.execute(insert(Record.__table__), dict(rec._mapping))
        for vid in version_ids:  # one statement each: every version gets its own arrival number, in this order
            conn.execute(insert(Version.__table__), {k: getattr(rows[vid], k) for k in versions.STORED_COLUMNS})
            mine = [{"version_id": p.version_id, "parent_id": p.parent_id} for p in parents if p.version_id == vid]
            if mine:
                conn.execute(insert(VersionParent.__table__), mine)


def arrival(store: Store, record_id: str) -> list[str]:
    with store.reading() as conn:
        q = select(Version.version_id).where(Version.record_id == record_id).order_by(Version.seq)
        return list(conn.execute(q).scalars())


def seen(session: Session, pid: str) -> dict[str, object]:
    """Everything a PC shows about which plan version is in use, in comparable form."""
    state = load_plan(session, pid, audit_view=False)
    session.patients.reload()
    row = next(r for r in caseload(session) if r.record_id == pid)
    rows = history_rows([(PLAN_KIND, list(state.history))], {})
    in_use = state.agreed
    with session.store.reading() as conn:  # what unlock reads patients' details from: newest head last
        bulk_heads = [r.version_id for r in versions.heads_of_kind(conn, PLAN_KIND) if r.record_id == state.record_id]
    return {
        "order": [v.version_id for v in state.history],
        "heads": (state.heads, bulk_heads),
        "agreed": in_use.version_id if in_use else None,
        "current": state.current.version_id if state.current else None,
        "labels": {v.version_id: state.display_status(v) for v in state.history},
        "history rows": [(v.version_id, text[3]) for v, text in rows],
        "caseload": (row.plan_state, row.plan_updated_at, row.review_due),
    }


def test_two_plans_signed_offline_one_in_use_whatever_the_order_they_arrived(two: Two) -> None:
    a = two.login(two.here)
    base = save_draft(a, two.patient_id, LAYOUT, content("Shouting"), None)
    # Both PCs sign from the same draft while offline: one at 10:00, the other at 11:00.
    early = sign(a, two.patient_id, base, T0 + timedelta(hours=1), "Shouting", "Drinking alone")
    late = sign(a, two.patient_id, base, T0 + timedelta(hours=2), "Shouting", "Giving things away")
    record_id = load_plan(a, two.patient_id, audit_view=False).record_id
    copy_versions(two.here, two.there, [base, late, early])  # the other PC got them the other way round
    assert arrival(two.here, record_id) == [base, early, late]
    assert arrival(two.there, record_id) == [base, late, early]

    b = two.login(two.there)
    here, there = seen(a, two.patient_id), seen(b, two.patient_id)
    assert here == there
    assert here["order"] == [base, early, late]
    assert here["agreed"] == here["current"] == late  # signed last: the plan in use on both PCs
    assert here["heads"] == ((early, late), [early, late])
    assert here["labels"] == {base: "Draft", early: "Superseded", late: "Agreed"}
    rows = dict(here["history rows"])  # type: ignore[arg-type]
    assert "superseded" in rows[early] and "superseded" not in rows[late]
    late_version = next(v for v in load_plan(a, two.patient_id, audit_view=False).history if v.version_id == late)
    assert here["caseload"] == ("agreed", late_version.created_at, late_version.review_due)


def test_a_clock_two_days_ahead_does_not_outrank_what_was_built_on_it(two: Two) -> None:
    """The other PC's clock is 2 days fast: what it signed says Sunday. Revised and signed here on
    Friday on top of it, ours is the later version (it was made from it), so it is the plan in use and
    the fast one is superseded; the same for a merge of a fast and a slow head."""
    a = two.login(two.here)
    fast = sign(a, two.patient_id, None, T0 + timedelta(days=2), "Shouting")
    revised = sign(a, two.patient_id, fast, T0 + timedelta(hours=1), "Shouting", "Pacing")
    state = load_plan(a, two.patient_id, audit_view=False)
    assert state.agreed.version_id == revised
    assert state.display_status(state.history[0]) == "Superseded"
    assert state.display_status(state.history[1]) == "Agreed"
    assert [v.version_id for v in state.history] == [fast, revised]
    rows = dict((v.version_id, text[3]) for v, text in history_rows([(PLAN_KIND, list(state.history))], {}))
    assert "superseded" in rows[fast] and "superseded" not in rows[revised]

    # Two heads now: one more from the fast PC (Sunday + 1 h), then a merge of both signed here on Friday.
    fast_again = sign(a, two.patient_id, fast, T0 + timedelta(days=2, hours=1), "Shouting", "Not eating")
    two.clock.current = T0 + timedelta(hours=2)
    merge = sign_plan(a, two.patient_id, LAYOUT, content("Shouting", "Pacing", "Not eating"), revised,
                      agreed_with_person=True, agreed_on=T0.date(), review_due=REVIEW,
                      merge_of=(revised, fast_again))  # fmt: skip
    state = load_plan(a, two.patient_id, audit_view=False)
    assert state.agreed.version_id == state.current.version_id == merge
    labels = {v.version_id: state.display_status(v) for v in state.history}
    assert labels == {fast: "Superseded", revised: "Superseded", fast_again: "Superseded", merge: "Agreed"}
    copy_versions(two.here, two.there, [fast, fast_again, revised, merge])
    assert seen(a, two.patient_id) == seen(two.login(two.there), two.patient_id)


def test_a_revision_saved_on_an_agreed_plan_from_a_slow_clock_comes_after_it(two: Two) -> None:
    a = two.login(two.here)
    fast = sign(a, two.patient_id, None, T0 + timedelta(days=2), "Shouting")
    two.clock.current = T0
    revision = save_draft(a, two.patient_id, LAYOUT, content("Shouting", "Pacing"), fast)
    state = load_plan(a, two.patient_id, audit_view=False)
    assert [v.version_id for v in state.history] == [fast, revision]
    assert state.current.version_id == revision and state.agreed.version_id == fast
    assert state.display_status(state.history[0]) == "Agreed"
    # Newest first in the history table: the revision above what it revised, whatever the clocks said.
    assert [v.version_id for v, _ in history_rows([(PLAN_KIND, list(state.history))], {})] == [revision, fast]


def test_the_order_is_the_same_for_every_arrival_order() -> None:
    """Every order a PC could receive them in (parents first) gives the one order; a version comes after
    its parents even when its clock says earlier; versions not descended from one another go by time."""

    @dataclass(frozen=True)
    class V:
        version_id: str
        created_at: datetime
        parents: tuple[str, ...] = ()

    t = T0
    root = V("r", t)
    fast = V("f", t + timedelta(days=2), ("r",))  # a PC two days fast
    on_fast = V("s", t + timedelta(hours=1), ("f",))  # revised on a slow PC: after f all the same
    side = V("x", t + timedelta(hours=3), ("r",))  # made on a third PC from r, before f arrived there
    twin_a, twin_b = V("b", t + timedelta(hours=2), ("r",)), V("a", t + timedelta(hours=2), ("r",))  # same second
    merge = V("m", t, ("s", "x"))
    everything = [root, fast, on_fast, side, twin_a, twin_b, merge]
    expected = ["r", "a", "b", "x", "f", "s", "m"]
    for order in itertools.permutations(everything):
        placed: set[str] = set()
        if any(not set(v.parents) <= placed or placed.add(v.version_id) for v in order):  # type: ignore[func-returns-value]
            continue  # a PC never holds a version without its parents
        assert [v.version_id for v in versions.in_order(order)] == expected


def test_a_draft_saved_offline_beside_an_agreed_plan_leaves_the_agreed_plan_in_use_on_the_caseload(two: Two) -> None:
    """One PC signs the plan; another, not having seen it, saves a draft from the same version an hour
    later. The agreed plan stays in use (a draft never replaces it), and both PCs' caseloads say so,
    with the agreed plan's review date, whichever version arrived last."""
    a = two.login(two.here)
    base = save_draft(a, two.patient_id, LAYOUT, content("Shouting"), None)
    agreed = sign(a, two.patient_id, base, T0 + timedelta(hours=1), "Shouting", "Drinking alone")
    two.clock.current = T0 + timedelta(hours=2)
    record_id = load_plan(a, two.patient_id, audit_view=False).record_id
    draft = a.records.append(record_id, content("Shouting", "Pacing").to_payload(), status="draft", parents=[base])
    copy_versions(two.here, two.there, [base, draft, agreed])
    assert arrival(two.here, record_id)[-1] == draft and arrival(two.there, record_id)[-1] == agreed

    here, there = seen(a, two.patient_id), seen(two.login(two.there), two.patient_id)
    assert here == there
    assert here["agreed"] == agreed and here["current"] == draft
    agreed_version = next(v for v in load_plan(a, two.patient_id, audit_view=False).history if v.version_id == agreed)
    assert here["caseload"][0] == "revision"  # type: ignore[index]  # "Agreed, revision in draft"
    assert here["caseload"][2] == agreed_version.review_due  # type: ignore[index]
