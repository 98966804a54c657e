"""Teams (issue 16 parts 1 and 4): a clinician's caseload holds their teams' patients; a transfer of
care moves a patient and is audited; opening someone outside one's teams needs a stated reason, is
audited and lasts BREAK_GLASS_HOURS; teams are signed like accounts; an older store becomes one team
holding everyone, with nothing lost."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock

from perfectcare_desktop.core.access import grants
from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.patients.registry import BREAK_GLASS_HOURS
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.errors import InvalidInput, NotAllowed
from perfectcare_desktop.store import database

CRISIS, WARD = "Crisis team North", "Ward 5"


def person(given: str, nhs: str, team: str = "") -> PatientDetails:
    return PatientDetails(given, "Evans", date(1980, 1, 1), nhs, team_id=team)


@pytest.fixture
def trust(store: Store, session: Session) -> dict[str, Session]:
    crisis, ward = session.teams.create(CRISIS), session.teams.create(WARD)
    session.users.add("cara", "clinician", "purple kettle harbour", teams=(CRISIS,))
    session.users.add("wyn", "clinician", "orange lantern meadow", teams=(WARD,))
    session.patients.add(person("Alys", "9434765919", crisis))
    session.patients.add(person("Bryn", "9434765870", ward))
    return {
        "admin": session,
        "cara": Session.sign_in(store, "cara", "purple kettle harbour"),
        "wyn": Session.sign_in(store, "wyn", "orange lantern meadow"),
    }


def names(s: Session) -> list[str]:
    return sorted(p.details.given_name for p in s.patients.all())


def test_each_clinician_sees_their_teams_patients_only(trust: dict[str, Session]) -> None:
    assert names(trust["cara"]) == ["Alys"]
    assert names(trust["wyn"]) == ["Bryn"]
    assert names(trust["admin"]) == ["Alys", "Bryn"]
    assert [p.details.given_name for p in trust["cara"].patients.search("evans")] == ["Alys"]
    assert trust["cara"].patients.find_by_nhs_number("943 476 5870") is None
    bryn = trust["wyn"].patients.all()[0].record_id
    with pytest.raises(NotAllowed, match="team you are not in"):
        trust["cara"].patients.get(bryn)


def test_a_transfer_moves_the_patient_and_is_audited(trust: dict[str, Session]) -> None:
    cara, wyn, admin = trust["cara"], trust["wyn"], trust["admin"]
    alys = cara.patients.all()[0].record_id
    with pytest.raises(InvalidInput, match="Only 'Crisis team North' or an administrator"):
        wyn.patients.transfer(alys, WARD)
    cara.patients.transfer(alys, WARD)
    wyn.patients.reload()
    cara.patients.reload()
    assert names(cara) == [] and names(wyn) == ["Alys", "Bryn"]
    entries = admin.audit_trail(action="transfer")
    assert [(e.patient_id, e.detail) for e in entries] == [(alys, f"from {CRISIS} to {WARD}")]
    wyn.patients.share(alys, (CRISIS,))
    cara.patients.reload()
    assert names(cara) == ["Alys"]  # shared care: both teams see her
    assert admin.audit_trail(action="share")[0].detail == f"shared with {CRISIS}"


def test_an_edit_of_details_never_moves_anyone(trust: dict[str, Session]) -> None:
    cara = trust["cara"]
    alys = cara.patients.all()[0]
    cara.patients.update(alys.record_id, PatientDetails("Alys", "Evans-Hughes", date(1980, 1, 1), "9434765919"))
    cara.patients.reload()
    assert [p.details.family_name for p in cara.patients.all()] == ["Evans-Hughes"]


def test_break_glass_needs_a_reason_is_audited_and_lasts_a_shift(trust: dict[str, Session], clock: FakeClock) -> None:
    cara, admin = trust["cara"], trust["admin"]
    found = cara.patients.outside_my_teams("9434765870")
    assert found is not None and found[1] == WARD  # the team's name, no detail of the person
    with pytest.raises(InvalidInput, match="Say why"):
        cara.patients.break_glass(found[0], "need")
    opened = cara.patients.break_glass(found[0], "Brought to A&E at night, ward 5 closed")
    assert opened.details.given_name == "Bryn"
    assert cara.patients.get(found[0]).details.given_name == "Bryn"
    assert names(cara) == ["Alys", "Bryn"]
    entry = admin.audit_trail(action="break_glass")[0]
    assert entry.patient_id == found[0] and entry.user_id == cara.user.user_id
    assert entry.detail.startswith("Brought to A&E at night")
    clock.advance(hours=BREAK_GLASS_HOURS, minutes=1)
    assert names(cara) == ["Alys"]  # the shift is over
    with pytest.raises(NotAllowed):
        cara.patients.get(found[0])


def test_a_team_edited_into_the_file_is_refused(trust: dict[str, Session], store: Store, data_dir: Path,
                                               clock: FakeClock) -> None:  # fmt: skip
    with store.reading() as conn:
        cara_row = grants.require_genuine(conn, trust["cara"].user.user_id)
        ward = trust["admin"].teams.find(WARD).team_id
    store.close()
    db = sqlite3.connect(database.db_path(data_dir))
    db.execute("UPDATE users SET teams = ? WHERE user_id = ?", (f'["{ward}"]', cara_row.user_id))
    db.commit()
    db.close()
    reopened = Store.open(data_dir, clock=clock)
    with pytest.raises(NotAllowed, match="not as an administrator last set it"):
        Session.sign_in(reopened, "cara", "purple kettle harbour")
    problems = verify_store(Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)).problems
    assert any("'cara'" in p and "not as an administrator signed it" in p for p in problems)


def test_an_older_store_becomes_one_team_holding_everyone(data_dir: Path, clock: FakeClock) -> None:
    store, _ = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    admin = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    admin.users.add("cara", "clinician", "purple kettle harbour")
    for given, nhs in (("Alys", "9434765919"), ("Bryn", "9434765870")):
        admin.patients.add(person(given, nhs))
    store.close()
    engine = database.make_engine(database.db_path(data_dir))
    with engine.begin() as conn:
        database.command.downgrade(database._alembic_config(conn), "0005")  # as the release before signing and teams
    engine.dispose()
    reopened = Store.open(data_dir, clock=clock)
    assert names(Session.sign_in(reopened, "cara", "purple kettle harbour")) == ["Alys", "Bryn"]
    admin = Session.sign_in(reopened, ADMIN, ADMIN_PASSWORD)  # makes the team that holds everyone
    [everyone] = admin.teams.all()
    assert set(everyone.members) == {ADMIN, "cara"}
    assert names(Session.sign_in(reopened, "cara", "purple kettle harbour")) == ["Alys", "Bryn"]
    assert verify_store(admin).ok


def test_admins_manage_teams_from_the_command_line(tmp_path: Path) -> None:
    from testsupport import CLI_PASSWORD, admin_cli

    data = tmp_path / "store"
    assert admin_cli(data, "init", "--org", "T", "--admin", "boss", stdin=CLI_PASSWORD + "\n").returncode == 0
    assert admin_cli(data, "team", "add", CRISIS).returncode == 0
    added = admin_cli(data, "user", "add", "cara", "--team", CRISIS, stdin=f"{CLI_PASSWORD}\npurple kettle harbour\n")
    assert added.returncode == 0 and f"in {CRISIS}" in added.stdout
    assert f"{CRISIS}: cara" in admin_cli(data, "team", "list").stdout
    moved = admin_cli(data, "team", "remove-member", CRISIS, "cara")
    assert moved.returncode == 0 and "no longer in" in moved.stdout
    again = admin_cli(data, "team", "remove-member", CRISIS, "cara")
    assert again.returncode == 1 and "is not in" in again.stderr and "Traceback" not in again.stderr
    assert admin_cli(data, "team", "add", "").returncode == 1
