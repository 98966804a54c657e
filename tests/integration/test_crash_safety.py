"""SIGKILL a process saving plans, again and again, on one store: nothing reported saved is ever lost.

A child process opens the store, signs in and saves plan-sized versions in a loop, printing each
version id as soon as the save returns. The parent kills it at a random moment (before any save,
right after a save is reported, or a few milliseconds into the next one), then opens the store,
verifies it and checks that every reported version is there and decrypts to what was written.

Child start-up (importing SQLAlchemy and Alembic) dominates, so a couple of children are started
ahead of need and wait, imports done, for a "go" line before they touch the store.
"""

from __future__ import annotations

import os
import random
import runpy
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import select
from testsupport import ADMIN, ADMIN_PASSWORD

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage.store import Store
from perfectcare_desktop.core.storage.verify import verify_store
from perfectcare_desktop.store.models import Version

pytestmark = pytest.mark.slow

ITERATIONS = 50
PREFORKED = 2
LINE_TIMEOUT = 30.0

CHILD_SOURCE = r'''
"""Crash-test child: save plan versions forever, printing "record_id version_id n" after each save."""
import sys
from perfectcare_desktop.core.access.session import Session

WELSH = "Pan dw i'n teimlo'n isel, dw i'n mynd am dro ar hyd y traeth ac yn ffonio fy chwaer. "
POLISH = "Kiedy czuję się źle, dzwonię do przyjaciółki i słucham muzyki; żółć, gęś, łódź. "
URDU = "جب میں اداس ہوتا ہوں تو میں اپنی امی کو فون کرتا ہوں اور باہر چہل قدمی کرتا ہوں۔ "


def make_payload(tag, n):
    """About 3 KB of JSON, unique to (tag, n), so the parent can check exactly what was saved."""
    return {
        "schema": "safety_plan_draft/0",
        "tag": tag,
        "n": n,
        "sections": {
            "warning_signs": [f"{tag}/{n}: " + WELSH * 7, WELSH * 3],
            "coping_alone": [POLISH * 6, POLISH * 3],
            "reasons_for_living": [URDU * 6],
            "where_plan_kept": [f"Copy {n} on the fridge 🧲"],
        },
        "contacts": [{"name": "Bronwen", "relationship": "sister", "phone": f"07700 900{n % 1000:03d}"}],
    }


def main():
    data_dir, username, password, patient_id, tag = sys.argv[1:6]
    from perfectcare_desktop.core.storage.store import Store  # the slow part: done before the go signal

    if not sys.stdin.readline().strip():
        return  # the parent no longer needs us
    store = Store.open(data_dir)
    session = Session.sign_in(store, username, password)
    out = sys.stdout
    record_id = None
    n = 0
    while True:
        payload = make_payload(tag, n)
        if record_id is None or n % 5 == 0:
            record_id, version_id = session.records.create("safety_plan", patient_id, payload)
        else:
            version_id = session.records.append(record_id, payload)
        out.write(f"{record_id} {version_id} {n}\n")
        out.flush()
        n += 1


if __name__ == "__main__":
    main()
'''


@dataclass
class Child:
    proc: subprocess.Popen
    tag: str
    stderr_path: Path
    buffer: bytes = b""
    lines: list[str] = field(default_factory=list)

    def read_lines(self, wanted: int, deadline: float) -> None:
        """Read until `wanted` complete lines have arrived, EOF, or the deadline."""
        stdout: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        with selectors.DefaultSelector() as sel:
            sel.register(stdout, selectors.EVENT_READ)
            while len(self.lines) < wanted:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    raise AssertionError(f"child {self.tag} gave {len(self.lines)} of {wanted} ids in time")
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    return
                self._take(chunk)

    def drain(self) -> None:
        """After the kill: everything the child wrote before dying is still in the pipe."""
        stdout: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        while chunk := os.read(stdout.fileno(), 65536):
            self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        self.lines.extend(line.decode() for line in complete)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]


def test_sigkill_during_saves_loses_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("CRASH_TEST_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    started = time.monotonic()
    data_dir = tmp_path / "store"
    store, _ = Store.create(data_dir, "Crash Test NHS Trust", ADMIN, ADMIN_PASSWORD)
    with store:
        session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
        patient_id = session.patients.add(
            PatientDetails("Gwenllïan", "Wójcik-Chaudhry", date(1990, 5, 17), "9990000018", preferred_name="Gwen")
        )
    script = tmp_path / "crash_child.py"
    script.write_text(CHILD_SOURCE, encoding="utf-8")
    make_payload = runpy.run_path(str(script), run_name="crash_child")["make_payload"]

    counter = iter(range(10**6))

    def spawn() -> Child:
        tag = f"c{next(counter)}"
        err = tmp_path / f"{tag}.stderr"
        with open(err, "wb") as err_file:
            proc = subprocess.Popen(
                [sys.executable, str(script), str(data_dir), ADMIN, ADMIN_PASSWORD, patient_id, tag],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err_file,
                bufsize=0,
            )
        return Child(proc, tag, err)

    saved: dict[str, tuple[str, str, int]] = {}  # version_id -> (record_id, tag, n)
    modes: dict[str, int] = {"startup": 0, "after save": 0, "mid save": 0}
    plan = ["startup"] * (ITERATIONS // 6) + ["after save"] * (ITERATIONS // 3)
    plan += ["mid save"] * (ITERATIONS - len(plan))
    rng.shuffle(plan)
    check_seconds = 0.0
    pool = [spawn() for _ in range(PREFORKED)]
    current: list[Child] = []
    try:
        for iteration in range(ITERATIONS):
            child = pool.pop(0)
            current[:] = [child]
            pool.append(spawn())  # warms up while this one runs
            assert child.proc.stdin is not None
            child.proc.stdin.write(b"go\n")
            child.proc.stdin.close()
            mode = plan[iteration]
            deadline = time.monotonic() + LINE_TIMEOUT
            if mode == "startup":  # somewhere in opening, signing in or the first saves
                time.sleep(rng.uniform(0, 0.12))
            else:
                child.read_lines(rng.randint(1, 15), deadline)
                if child.proc.poll() is not None:
                    pytest.fail(f"child {child.tag} exited ({child.proc.returncode}) early:\n{child.stderr()}")
                if mode == "mid save":
                    time.sleep(rng.uniform(0, 0.006))
            modes[mode] += 1
            os.kill(child.proc.pid, signal.SIGKILL)
            child.drain()
            assert child.proc.wait(timeout=LINE_TIMEOUT) == -signal.SIGKILL, child.stderr()
            assert child.proc.stdout is not None
            child.proc.stdout.close()
            new_ids = []
            for line in child.lines:
                record_id, version_id, n = line.split()
                saved[version_id] = (record_id, child.tag, int(n))
                new_ids.append(version_id)

            context = f"iteration {iteration} ({mode}, child {child.tag}, seed {seed})"
            checking = time.monotonic()
            check_store(data_dir, saved, new_ids, make_payload, context)
            check_seconds += time.monotonic() - checking
    finally:
        for left in pool + current:  # only our own children, by pid
            if left.proc.poll() is None:
                os.kill(left.proc.pid, signal.SIGKILL)
            left.proc.wait()
            for pipe in (left.proc.stdin, left.proc.stdout):
                if pipe is not None and not pipe.closed:
                    pipe.close()

    # Finally, every version ever reported decrypts to exactly what was written.
    check_store(data_dir, saved, list(saved), make_payload, f"final check, seed {seed}")
    elapsed = time.monotonic() - started
    print(
        f"crash test: {ITERATIONS} kills {modes}, "
        f"{len(saved)} saves checked, {elapsed:.1f} s "
        f"({check_seconds:.1f} s checking), seed {seed}"
    )
    assert len(saved) >= ITERATIONS  # the loop really saved things
    assert modes["startup"] and modes["after save"] and modes["mid save"]


def check_store(
    data_dir: Path, saved: dict[str, tuple[str, str, int]], to_read: list[str], make_payload, context: str
) -> None:
    """verify_store is ok, every reported id is in the file, and `to_read` decrypt to what was written."""
    store = Store.open(data_dir)
    try:
        session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)
        with store.reading() as conn:
            in_file = set(conn.execute(select(Version.version_id)).scalars())
        report = verify_store(session)
        assert report.ok, f"{context}: {report.problems}"
        assert report.versions_checked == len(in_file), context
        missing = saved.keys() - in_file
        assert not missing, f"{context}: reported versions missing: {sorted(missing)}"
        by_record: dict[str, list[str]] = {}
        for version_id in to_read:
            by_record.setdefault(saved[version_id][0], []).append(version_id)
        for record_id, version_ids in by_record.items():
            history = {v.version_id: v for v in session.records.history(record_id)}
            for version_id in version_ids:
                _, tag, n = saved[version_id]
                assert history[version_id].payload == make_payload(tag, n), f"{context}: {version_id} differs"
    finally:
        store.close()
