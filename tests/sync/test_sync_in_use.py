"""Two PCs sign the same plan while offline: after sync both show the same plan in use, the same history
labels and the same caseload row. Before, each PC showed the version that reached it last: the OTHER
PC's, so two wards printed different plans. A PC whose clock is two days fast does not outrank a
version built on top of what it signed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sync_support import Pc, patient, plan
from testsupport import FakeClock

from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import PLAN_KIND, load_plan, save_draft, sign_plan
from perfectcare_desktop.core.patients.caseload import caseload
from perfectcare_desktop.export.service import Exporter
from perfectcare_desktop.ui.patient_page import history_rows

LAYOUT = load_catalogue().latest()
FRIDAY = datetime(2026, 11, 27, 9, 0, 0)


def sync(*pcs: Pc) -> None:
    for _ in range(2):
        for pc in pcs:
            pc.sync()


def sign(pc: Pc, pid: str, base: str | None, at: datetime, *signs: str, merge_of: tuple[str, ...] | None = None) -> str:
    pc.store.clock = FakeClock(at)
    return sign_plan(pc.session, pid, LAYOUT, plan(*signs), base, agreed_with_person=True, agreed_on=FRIDAY.date(),
                     review_due=date(2027, 3, at.day), merge_of=merge_of)  # fmt: skip


def shown(pc: Pc, pid: str) -> dict[str, object]:
    """Which version this PC shows in use, how its history labels each, its caseload row and the
    version the person's printed copy is made from."""
    state = load_plan(pc.session, pid, audit_view=False)
    pc.session.patients.reload()
    row = next(r for r in caseload(pc.session) if r.record_id == pid)
    rows = history_rows([(PLAN_KIND, list(state.history))], {})
    summary = pc.session.patients.get(pid, audit_view=False)
    return {
        "agreed": state.agreed.version_id if state.agreed else None,
        "current": state.current.version_id if state.current else None,
        "labels": {v.version_id: state.display_status(v) for v in state.history},
        "history rows": [(v.version_id, text[3]) for v, text in rows],
        "caseload": (row.plan_state, row.plan_updated_at, row.review_due),
        "printed": Exporter(pc.session).person_copy(summary)[1],
    }


def test_a_plan_signed_on_two_pcs_offline_is_one_plan_in_use_on_both(two_pcs, hub_db: str) -> None:
    a, b = two_pcs
    pid = a.session.patients.add(patient("Ffion", "Hughes", "9434765919"))
    a.store.clock = FakeClock(FRIDAY)
    base = save_draft(a.session, pid, LAYOUT, plan("Shouting"), None)
    sync(a, b)
    # Offline, both sign from the same draft: A at 10:00; B at 11:00 by its own clock.
    va = sign(a, pid, base, FRIDAY + timedelta(hours=1), "Shouting", "Drinking alone")
    vb = sign(b, pid, base, FRIDAY + timedelta(hours=2), "Shouting", "Giving things away")
    sync(a, b)

    on_a, on_b = shown(a, pid), shown(b, pid)
    assert on_a == on_b
    assert on_a["agreed"] == on_a["current"] == on_a["printed"] == vb  # signed last
    assert on_a["labels"] == {base: "Draft", va: "Superseded", vb: "Agreed"}
    assert on_a["caseload"][:2] == ("agreed", FRIDAY + timedelta(hours=2))  # type: ignore[index]


def test_a_pc_two_days_fast_does_not_outrank_the_plan_signed_on_top_of_its_own(two_pcs, hub_db: str) -> None:
    """B's clock is two days fast. A takes B's agreed plan, revises it and signs it: that is the plan in
    use everywhere, though B's clock says B's came later; a merge signed on A of a further version from
    B and A's own is later than both, whatever B's clock said."""
    a, b = two_pcs
    pid = a.session.patients.add(patient("Gethin", "Morgan", "9434765870"))
    sync(a, b)
    fast = sign(b, pid, None, FRIDAY + timedelta(days=2), "Shouting")
    sync(a, b)
    revised = sign(a, pid, fast, FRIDAY + timedelta(hours=1), "Shouting", "Pacing")
    sync(a, b)
    on_a, on_b = shown(a, pid), shown(b, pid)
    assert on_a == on_b
    assert on_a["agreed"] == on_a["printed"] == revised
    assert on_a["labels"] == {fast: "Superseded", revised: "Agreed"}

    # Offline again: B signs another version from its own; A has its revision. A merges both and signs.
    again = sign(b, pid, fast, FRIDAY + timedelta(days=2, hours=1), "Shouting", "Not eating")
    sync(a, b)
    merged = sign(a, pid, revised, FRIDAY + timedelta(hours=2), "Shouting", "Pacing", "Not eating",
                  merge_of=(revised, again))  # fmt: skip
    sync(a, b)
    on_a, on_b = shown(a, pid), shown(b, pid)
    assert on_a == on_b
    assert on_a["agreed"] == on_a["current"] == on_a["printed"] == merged
    assert on_a["labels"] == {fast: "Superseded", revised: "Superseded", again: "Superseded", merged: "Agreed"}
    assert on_a["caseload"] == ("agreed", FRIDAY + timedelta(hours=2), date(2027, 3, 27))
