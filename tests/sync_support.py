"""PCs for the sync tests: real stores in folders, enrolled with a real hub, and ways to compare them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from testsupport import ADMIN, ADMIN_PASSWORD, ORG

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.crisis_directory import load_directory
from perfectcare_desktop.core.clinical.plan_content import PlanContent
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.sync import enrolment
from perfectcare_desktop.sync.client import RoundReport, SyncClient

PASSPHRASE = "ward five laptop, autumn"


@dataclass
class Pc:
    store: Store
    session: Session
    client: SyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = SyncClient(self.store)

    def sync(self) -> RoundReport:
        return self.client.round(self.session.require_unlocked())

    def close(self) -> None:
        self.client.close()
        self.store.close()

    def versions(self) -> set[tuple[str, tuple[str, ...]]]:
        """(version id, sorted parents) of every version in this store."""
        with self.store.reading() as conn:
            parents: dict[str, list[str]] = {}
            for vid, pid in conn.exec_driver_sql("SELECT version_id, parent_id FROM version_parents"):
                parents.setdefault(vid, []).append(pid)
            ids = [r[0] for r in conn.exec_driver_sql("SELECT version_id FROM versions")]
        return {(v, tuple(sorted(parents.get(v, [])))) for v in ids}


def first_pc(folder: Path, hub_url: str) -> Pc:
    store, _ = Store.create(folder, ORG, ADMIN, ADMIN_PASSWORD)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    enrolment.init_hub(session, hub_url)
    return Pc(store, session)


def join(admin: Session, hub_url: str, folder: Path, user: str = ADMIN, password: str = ADMIN_PASSWORD) -> Pc:
    """A PC joined through an enrolment file that `admin` (signed in on an enrolled PC) exports."""
    file = folder.with_name(folder.name + ".enrol")
    enrolment.export_file(admin, hub_url, file, PASSPHRASE)
    enrolment.import_file(file, PASSPHRASE, folder)
    store = Store.open(folder)
    return Pc(store, Session.sign_in(store, user, password))


def patient(given: str, family: str, nhs: str) -> PatientDetails:
    return PatientDetails(given, family, date(1984, 5, 17), nhs)


def plan(*warning_signs: str) -> PlanContent:
    """A plan of the default layout with these warning signs."""
    content = PlanContent.blank(load_catalogue().latest(), load_directory().ref)
    content.section("warning_signs").entries = [{"text": t} for t in warning_signs]
    return content


def hub_versions(hub_url: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every version on the hub as (id, sorted parents), duplicates kept (there must be none)."""
    with psycopg.connect(hub_url) as conn:
        rows = conn.execute("SELECT version_id::text, parents::text[] FROM versions").fetchall()
    return [(v, tuple(sorted(p))) for v, p in rows]
