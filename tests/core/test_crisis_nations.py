"""Crisis numbers per nation (England, Wales, Scotland, Northern Ireland) chosen by machine policy,
each number with the source it was checked against; old /1 files load as England; numbers checked
more than 12 months before the store's today are stale and said so."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import (
    NATIONS,
    directory_in_force,
    load_directory,
    parse_directory,
    stale_warning,
)
from perfectcare_desktop.core.clinical.plan_content import PlanContent, SectionContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import sign_plan
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.resources import resources_dir
from perfectcare_desktop.errors import LayoutInvalid
from perfectcare_desktop.export.service import patient_pdf
from perfectcare_desktop.policy import load_settings

V1 = {
    "format": "perfectcare.crisis_contacts/1", "id": "uk-national", "version": "2025-01-15", "checked_on": "2025-01-15",
    "contacts": [{"key": "emergency", "name": "Emergency services", "how": "Call 999", "phone": "999", "when": ""}],
}  # fmt: skip


def phones(nation: str) -> list[str]:
    return [c.phone for c in load_directory(nation=nation).contacts]


def test_each_nation_has_its_own_numbers_with_a_source_for_each() -> None:
    assert phones("england") == ["999", "111", "116 123", "85258"]
    assert phones("wales") == ["999", "111", "0800 132 737", "81066", "116 123", "85258"]
    assert phones("scotland") == ["999", "111", "0800 83 85 87", "116 123", "85258"]
    assert phones("northern-ireland") == ["999", "0808 808 8000", "116 123", "85258"]
    wales = {c.key: c for c in load_directory(nation="wales").contacts}
    assert "press 2" in wales["nhs111"].how and wales["call_text"].how == "Text HELP to 81066"
    scotland = {c.key: c for c in load_directory(nation="scotland").contacts}
    assert "6pm to 2am" in scotland["breathing_space"].when  # not a 24-hour line: the hours are printed
    data = json.loads((resources_dir() / "crisis_contacts" / "national.json").read_text())
    for nation in NATIONS:
        directory = load_directory(nation=nation)
        assert directory.nation == nation and directory.directory_id == nation
        for raw, contact in zip(data["nations"][nation]["contacts"], directory.contacts, strict=True):
            assert contact.source.startswith("https://") and date.fromisoformat(raw["source_checked_on"])
            # A number that could not be confirmed at its source says so in the data, never silently.
            assert contact.verified or raw["unverified_note"]
    assert [c.key for c in load_directory(nation="wales").contacts if not c.verified] == ["call", "call_text"]


def test_an_old_v1_file_still_loads_as_england_and_only_england(tmp_path: Path) -> None:
    (tmp_path / "national.json").write_text(json.dumps(V1))
    old = load_directory(tmp_path)
    assert old.nation == "england" and old.ref["id"] == "uk-national" and old.checked_on == date(2025, 1, 15)
    with pytest.raises(
        LayoutInvalid, match="has only the England/UK list; Wales needs a perfectcare.crisis_contacts/2"
    ):
        load_directory(tmp_path, nation="wales")


def test_a_bad_directory_file_is_refused_in_words(tmp_path: Path) -> None:
    data = json.loads((resources_dir() / "crisis_contacts" / "national.json").read_text())
    data["nations"]["cornwall"] = data["nations"]["england"]
    with pytest.raises(LayoutInvalid, match="unknown nation 'cornwall'"):
        parse_directory(data, "national.json")
    del data["nations"]["cornwall"], data["nations"]["scotland"]
    with pytest.raises(LayoutInvalid, match="no crisis numbers for Scotland"):
        parse_directory(data, "national.json", nation="scotland")
    with pytest.raises(LayoutInvalid, match="Unknown nation 'mars'"):
        parse_directory(data, "national.json", nation="mars")


def test_the_nation_comes_from_machine_policy_validated(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    assert load_settings({}, None, policy).values["crisis_nation"] == "england"  # the default
    policy.write_text(json.dumps({"crisis_nation": "Northern Ireland"}))
    settings = load_settings({}, None, policy)
    assert settings.values["crisis_nation"] == "northern-ireland" and settings.locked("crisis_nation")
    assert ("Nation whose crisis numbers print", "Northern Ireland", "locked by machine policy file") in settings.rows()
    assert directory_in_force(settings.values).contacts[1].name == "Lifeline"
    policy.write_text(json.dumps({"crisis_nation": "Cymru"}))
    bad = load_settings({}, None, policy)
    assert bad.values["crisis_nation"] == "england"  # a bad value changes nothing ...
    assert any(
        "crisis_nation must be one of England, Wales, Scotland, Northern Ireland (found 'Cymru')" in p
        for p in bad.problems
    )  # fmt: skip  ... and is said, specifically


def test_trust_contacts_join_the_nation_list_with_the_older_date() -> None:
    local = [{"key": "crisis", "name": "Trust crisis team", "how": "Call 0113 496 0000", "phone": "0113 496 0000"}]
    d = directory_in_force({"crisis_nation": "scotland", "crisis_contacts": local,
                            "crisis_contacts_checked_on": "2026-06-01"})  # fmt: skip
    assert d.nation == "scotland" and d.contacts[-1].local and d.checked_on == date(2026, 6, 1)


def test_numbers_checked_more_than_12_months_ago_are_stale() -> None:
    england = load_directory()  # checked on 1 November 2026
    assert stale_warning(england, date(2026, 12, 3)) is None
    assert stale_warning(england, date(2027, 11, 1)) is None  # exactly 12 months: still in date
    warning = stale_warning(england, date(2027, 11, 2))
    assert warning is not None and "last checked on 1 November 2026" in warning and "12 months" in warning


def test_the_copy_carries_the_stale_warning_by_the_store_clock(session: Session, clock) -> None:  # noqa: ANN001
    layout = load_catalogue().latest()
    pid = session.patients.add(PatientDetails("Ann", "Jones", date(1980, 1, 1), "9434765919"))
    c = PlanContent.blank(layout, load_directory().ref)
    for s in layout.sections[:3]:
        c.sections[s.key] = SectionContent([{"text": "something"}])
    today = clock.now().date()
    sign_plan(session, pid, layout, c, None, agreed_with_person=True, agreed_on=today, review_due=date(2027, 2, 1))
    assert patient_pdf(session, pid, "standard").crisis_warning is None
    clock.current = datetime(2027, 12, 3, 9, 0)
    pdf = patient_pdf(session, pid, "standard")
    assert pdf.crisis_warning and "1 November 2026" in pdf.crisis_warning and pdf.data.startswith(b"%PDF")
