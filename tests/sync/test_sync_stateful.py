"""Sync as a state machine over a real PostgreSQL hub (issue 13).

Three PCs (a fourth may join) save patients and plans through the core APIs, sign plans, begin pushes
whose hub transactions stay open while other PCs push, pull and run rounds, commit them later, are
killed mid-push (before or after the hub committed), restore a backup taken earlier, and enrol.

Each example ends in the race the issue is about (see SyncMachine._settle): every PC holds a push
open, they commit newest first, and every PC pulls between commits. Then every PC must hold exactly
the hub's versions through pull alone, each version once on the hub; and after two quiet rounds on
every PC, still so, with every local audit entry on the hub, the same plan in use for every patient
on every PC, and every store verifying clean.

Each example has a hub database and stores of its own, copied from a template made once per run.
Reproduce a failure with PERFECTCARE_STATEFUL_SEED=<the seed printed> (the example database is off).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pg_cluster import PgCluster
from psycopg import sql
from sync_support import Pc, first_pc, hub_versions, join, patient, plan
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.plans import load_plan, save_draft, sign_plan
from perfectcare_desktop.core.storage.backup import create_backup, restore_backup
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.sync import device, hub_address, pull, push, status

LAYOUT = load_catalogue().latest()
# Few people, so that plans are often saved for the same person on two PCs, and the two not yet
# registered are often registered on two PCs while their pushes are apart. The first two are on
# every PC from the start (the template), so plans are saved from the first step.
PEOPLE = [
    ("Alys", "Evans", "9434765919"),
    ("Bryn", "Jones", "9434765870"),
    ("Carys", "Price", "9434765862"),
    ("Dylan", "Hughes", "9434765854"),
]
REGISTERED = PEOPLE[:2]
MAX_PCS = 4
SEED_ENV = "PERFECTCARE_STATEFUL_SEED"


@dataclass
class Node:
    """One PC, kept across restarts of its process (kill, restore): its folder and what runs now."""

    name: str
    folder: Path
    pc: Pc
    push_hub: Any = None  # its own hub connection for the push held open, apart from the one pull uses
    open_push: OpenPush | None = None

    def __repr__(self) -> str:
        return self.name

    def config(self) -> device.DeviceConfig:
        with self.pc.store.reading() as conn:
            config = device.load(conn, self.pc.session.require_unlocked())
        assert config is not None
        return config

    def push_connection(self) -> Any:
        if self.push_hub is None or self.push_hub.closed:
            self.push_hub = hub_address.connect(self.config().params(self.folder))
        return self.push_hub

    def drop_push(self) -> None:
        """The process ends: its hub connection goes, and with it any push not committed."""
        if self.push_hub is not None:
            with contextlib.suppress(Exception):
                self.push_hub.close()
        self.push_hub, self.open_push = None, None

    def restart(self) -> None:
        store = Store.open(self.folder)
        self.pc = Pc(store, Session.sign_in(store, ADMIN, ADMIN_PASSWORD))


@dataclass(eq=False)
class OpenPush:
    """A batch inserted in a hub transaction not yet committed; stale once its PC's process ended."""

    node: Node
    batch: push.Batch
    order: int  # when it began


@dataclass(frozen=True)
class Backup:
    node: Node
    file: Path


@dataclass(frozen=True)
class Template:
    """Three PCs made once per run (the first made the hub, two joined), their stores closed, and
    their hub database: each example starts from copies, not from Argon2id and migrations again."""

    db: str
    folders: list[Path]


def make_template(cluster: PgCluster, root: Path) -> Template:
    db = f"hub_stateful_template_{secrets.token_hex(4)}"
    url = cluster.create_database(db)
    folders = [root / f"pc{i}" for i in (1, 2, 3)]
    pcs = [first_pc(folders[0], url)]
    try:
        for person in REGISTERED:
            pcs[0].session.patients.add(patient(*person))
        pcs += [join(pcs[0].session, url, folder) for folder in folders[1:]]
        for pc in pcs:  # quiet: every PC holds what the others sent
            pc.sync()
    finally:
        for pc in pcs:
            pc.close()
    return Template(db, folders)


def clone_database(cluster: PgCluster, template: str, name: str) -> None:
    """A copy of the template hub with the database-wide rights and settings a copy does not inherit
    (hub init revokes PUBLIC's access and lets only the device group connect)."""
    tmpl, new = sql.Identifier(template), sql.Identifier(name)
    with cluster.connect() as conn:
        for attempt in range(50):  # a PC's backend may take a moment to go after its connection closed
            try:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(new, tmpl))
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.05)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(new))
        grants = conn.execute(
            "SELECT a.grantee::regrole::text, a.privilege_type FROM pg_database d, aclexplode(d.datacl) a "
            "WHERE d.datname = %s AND a.grantee <> 0 AND a.grantee <> d.datdba",
            (template,),
        ).fetchall()
        for grantee, privilege in grants:
            conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(sql.SQL(privilege), new, sql.SQL(grantee)))
        settings_rows = conn.execute(
            "SELECT r.rolname, unnest(s.setconfig) FROM pg_db_role_setting s "
            "JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole "
            "WHERE d.datname = %s",
            (template,),
        ).fetchall()
        for role, setting in settings_rows:
            key, _, value = setting.partition("=")
            target = (
                sql.SQL("ROLE {} IN DATABASE {}").format(sql.Identifier(role), new)
                if role
                else sql.SQL("DATABASE {}").format(new)
            )
            conn.execute(sql.SQL("ALTER {} SET {} = {}").format(target, sql.Identifier(key), sql.Literal(value)))


def open_copy(template_folder: Path, folder: Path, db: str) -> Pc:
    """A template PC's store copied to `folder`, pointed at the hub database `db` (as when a hub moves)."""
    shutil.copytree(template_folder, folder)
    store = Store.open(folder)
    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
    with store.writing() as conn:
        config = device.load(conn, session.require_unlocked())
        assert config is not None
        device.save(conn, session.require_unlocked(), replace(config, hub={**config.hub, "dbname": db}))
    return Pc(store, session)


class SyncMachine(RuleBasedStateMachine):
    cluster: PgCluster
    root: Path
    template: Template
    pcs = Bundle("pcs")
    pushes = Bundle("pushes")
    backups = Bundle("backups")

    def __init__(self) -> None:
        super().__init__()
        self.db, self.url, self.work = "", "", Path()
        self.nodes: list[Node] = []
        self.counter = 0

    # --- helpers -------------------------------------------------------------------------------------
    def _join(self) -> Node | None:
        exporter = next((n for n in self.nodes if n.open_push is None), None)
        if exporter is None:
            return None  # the export runs a round, which would wait on the exporter's own open push
        name = f"pc{len(self.nodes) + 1}"
        node = Node(name, self.work / name, join(exporter.pc.session, self.url, self.work / name))
        self.nodes.append(node)
        return node

    def _count(self) -> int:
        self.counter += 1
        return self.counter

    def _text(self, what: str) -> str:
        return f"{what} {self._count()}"

    def _plan_base(self, node: Node, pid: str, merge: bool) -> tuple[str | None, tuple[str, ...] | None]:
        state = load_plan(node.pc.session, pid, audit_view=False)
        if merge and state.in_conflict:
            return state.heads[0], state.heads
        return (state.heads[-1] if state.heads else None), None

    def _commit(self, node: Node) -> None:
        assert node.open_push is not None
        node.push_hub.commit()
        push.sent(node.pc.store, node.open_push.batch.oids)
        node.open_push = None

    # --- rules ---------------------------------------------------------------------------------------
    @initialize(target=pcs)
    def start(self) -> MultipleResults[Node]:
        """A new hub database and three PCs enrolled with it (copies of the template's)."""
        self.db = f"hub_stateful_{secrets.token_hex(4)}"
        clone_database(self.cluster, self.template.db, self.db)
        self.url = self.cluster.admin_url(self.db)
        with self.cluster.connect() as conn:
            # A statement waiting on a lock the test itself holds would hang the run: fail it instead.
            conn.execute(sql.SQL("ALTER DATABASE {} SET lock_timeout = '20s'").format(sql.Identifier(self.db)))
        self.work = Path(self.root) / self.db
        for folder in self.template.folders:
            self.nodes.append(
                Node(folder.name, self.work / folder.name, open_copy(folder, self.work / folder.name, self.db))
            )
        return multiple(*self.nodes)

    @rule(node=pcs, person=st.sampled_from(PEOPLE[len(REGISTERED) :]))
    def register(self, node: Node, person: tuple[str, str, str]) -> None:
        if node.pc.session.patients.find_by_nhs_number(person[2]) is None:  # registered here already: nothing to do
            node.pc.session.patients.add(patient(*person))

    @rule(node=pcs, person=st.sampled_from(PEOPLE), merge=st.booleans())
    def save_plan(self, node: Node, person: tuple[str, str, str], merge: bool) -> None:
        if found := node.pc.session.patients.find_by_nhs_number(person[2]):
            base, merge_of = self._plan_base(node, found.record_id, merge)
            save_draft(node.pc.session, found.record_id, LAYOUT, plan(self._text("draft")), base, merge_of=merge_of)

    @rule(node=pcs, person=st.sampled_from(PEOPLE), merge=st.booleans())
    def sign(self, node: Node, person: tuple[str, str, str], merge: bool) -> None:
        if found := node.pc.session.patients.find_by_nhs_number(person[2]):
            base, merge_of = self._plan_base(node, found.record_id, merge)
            today = node.pc.store.clock.now().date()
            sign_plan(node.pc.session, found.record_id, LAYOUT, plan(self._text("signed")), base,
                      agreed_with_person=True, agreed_on=today, review_due=today + timedelta(days=90),
                      merge_of=merge_of)  # fmt: skip

    @rule(target=pushes, node=pcs, size=st.integers(3, 20))
    def push_begun(self, node: Node, size: int) -> MultipleResults[OpenPush]:
        if node.open_push is not None:
            return multiple()  # one open push per PC, as in the app
        open_push = self._begin(node, size)
        return multiple(open_push) if open_push else multiple()

    @rule(open_push=consumes(pushes))
    def push_committed(self, open_push: OpenPush) -> None:
        if open_push.node.open_push is open_push:  # not dropped by a kill or restore since
            self._commit(open_push.node)

    @rule(node=pcs)
    def pull_only(self, node: Node) -> None:
        """Pull on the PC's own connection: beside that PC's open push, if any, not inside it."""
        self._pull(node)

    @rule(node=pcs)
    def full_round(self, node: Node) -> None:
        if node.open_push is None:  # its push would wait on its own open transaction
            node.pc.sync()

    @rule(node=pcs, after_commit=st.booleans())
    def kill(self, node: Node, after_commit: bool) -> None:
        """The process dies mid-push: before the hub committed, or after it but before the queue rows went."""
        if node.open_push is not None and after_commit:
            node.push_hub.commit()
        node.drop_push()
        node.pc.close()
        node.restart()

    @rule(target=backups, node=pcs)
    def backup(self, node: Node) -> Backup:
        file = self.work / f"{node.name}-{self._count()}.pcbackup"
        create_backup(node.pc.session, file)
        return Backup(node, file)

    @rule(backup=backups)
    def restore(self, backup: Backup) -> None:
        """The PC's store goes back to a backup taken on it (work since that never reached the hub is lost)."""
        node = backup.node
        node.drop_push()
        node.pc.close()
        restore_backup(backup.file, node.folder, username=ADMIN, password=ADMIN_PASSWORD)
        node.restart()

    @precondition(lambda self: len(self.nodes) < MAX_PCS)
    @rule(target=pcs)
    def enrol(self) -> MultipleResults[Node]:
        node = self._join()
        return multiple(node) if node else multiple()

    # --- the end of each example ---------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            if self.nodes and sys.exc_info()[0] is None:  # a rule that failed is the failure: no checks on top
                self._settle()
                self._check()
        finally:
            self._close()

    def _settle(self) -> None:
        """Every example ends in the race issue 13 is about. Each PC with no push open begins one of
        all it holds; the pushes then commit newest first, and after each commit every PC pulls while
        the older ones are still open. Then every PC sends the rest and pulls, with pull alone (no
        round, so nothing mends what pull passed by), and must hold exactly the hub's versions.
        Then two quiet rounds on every PC in turn."""
        for node in self.nodes:
            if node.open_push is None:
                self._begin(node, push.BATCH)
        for open_push in sorted((n.open_push for n in self.nodes if n.open_push), key=lambda p: -p.order):
            self._commit(open_push.node)
            for node in self.nodes:
                self._pull(node)
        for node in self.nodes:
            self._drain(node)
        for node in self.nodes:
            self._pull(node)
        self._check_versions("after every PC sent all it held and pulled")
        for _ in range(2):
            for node in self.nodes:
                node.pc.sync()

    def _drain(self, node: Node) -> None:
        while self._begin(node, push.BATCH):
            self._commit(node)

    def _begin(self, node: Node, size: int) -> OpenPush | None:
        """The oldest waiting items inserted in a hub transaction left open (they take seq numbers now)."""
        batch = push.next_batch(node.pc.store, node.pc.session.require_unlocked(), node.config().device_id, size)
        if batch is None:
            return None
        push.insert(node.push_connection(), batch.rows)
        node.open_push = OpenPush(node, batch, self._count())
        return node.open_push

    def _pull(self, node: Node) -> None:
        dek = node.pc.session.require_unlocked()
        pull.pull(node.pc.store, dek, node.pc.client.connection(dek))

    def _check_versions(self, when: str) -> None:
        on_hub = hub_versions(self.url)
        assert len(on_hub) == len(set(on_hub)), "a version is on the hub twice"
        hub_set = set(on_hub)
        for node in self.nodes:
            here = node.pc.versions()
            assert here == hub_set, (
                f"{node.name} differs from the hub {when}: lacks {sorted(v for v, _ in hub_set - here)}, "
                f"has beyond it {sorted(v for v, _ in here - hub_set)}"
            )

    def _check(self) -> None:
        self._check_versions("after quiet rounds")
        for node in self.nodes:
            assert status.read(node.pc.store).waiting == 0, f"{node.name} still has changes waiting"
        with psycopg.connect(self.url) as conn:
            hub_macs = {bytes(m) for (m,) in conn.execute("SELECT mac FROM audit")}
        for node in self.nodes:  # before verify_store, whose own audit entry is not pushed
            with node.pc.store.reading() as conn:
                rows = conn.exec_driver_sql("SELECT seq, action, mac FROM audit ORDER BY seq").all()
            lost = [(seq, action) for seq, action, mac in rows if bytes(mac) not in hub_macs]
            assert not lost, f"{node.name}'s audit entries (seq, action) never reached the hub: {lost}"
        with self.nodes[0].pc.store.reading() as conn:
            patients = [r[0] for r in conn.exec_driver_sql("SELECT record_id FROM records WHERE kind = 'patient'")]
        for pid in patients:
            in_use = {}
            for node in self.nodes:
                agreed = load_plan(node.pc.session, pid, audit_view=False).agreed
                in_use[node.name] = agreed.version_id if agreed else None
            assert len(set(in_use.values())) == 1, f"PCs show different plans in use for patient {pid}: {in_use}"
        for node in self.nodes:
            problems = verify_store(node.pc.session).problems
            assert problems == [], f"{node.name} does not verify: {problems}"

    def _close(self) -> None:
        for node in self.nodes:
            node.drop_push()
            with contextlib.suppress(Exception):
                node.pc.close()
        if self.db:
            with contextlib.suppress(Exception):
                self.cluster.drop_database(self.db)


@pytest.mark.slow
def test_sync_state_machine(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("stateful")
    SyncMachine.cluster, SyncMachine.root = pg_cluster, root
    SyncMachine.template = make_template(pg_cluster, root / "template")
    chosen = int(os.environ.get(SEED_ENV) or random.randrange(2**32))
    print(f"{SEED_ENV}={chosen}")  # shown with a failure: rerun with it to get the same examples

    def machine() -> SyncMachine:
        return SyncMachine()

    try:
        run_state_machine_as_test(
            seed(chosen)(machine),
            settings=settings(
                max_examples=12,
                stateful_step_count=25,
                deadline=None,
                database=None,
                derandomize=False,
                # No explain phase: it replays the failure under a tracer, slow with a hub and four stores.
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        pg_cluster.drop_database(SyncMachine.template.db)
