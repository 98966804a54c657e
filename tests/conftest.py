"""Shared fixtures: a real encrypted store in a temporary folder, a controllable clock."""

from __future__ import annotations

import os

# Before any Qt import: widgets render offscreen in tests and CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Hundreds of key derivations in the suite: use cheap Argon2id parameters (never in a real store).
os.environ["PERFECTCARE_INSECURE_FAST_KDF"] = "1"
# Never the machine's own policy file or the real user's log folder (subprocesses inherit these).
_SCRATCH = __import__("tempfile").mkdtemp(prefix="perfectcare-tests-")
os.environ["PERFECTCARE_POLICY_FILE"] = os.path.join(_SCRATCH, "no-policy.json")
os.environ["PERFECTCARE_LOG_DIR"] = os.path.join(_SCRATCH, "logs")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from testsupport import ADMIN, ADMIN_PASSWORD, ORG, FakeClock  # noqa: E402, F401 - one home, imported by tests

from perfectcare_desktop.core.session import Session  # noqa: E402
from perfectcare_desktop.core.store import Store  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def created_store(data_dir: Path, clock: FakeClock) -> Iterator[tuple[Store, str]]:
    """A new store with one admin; yields (store, recovery key text)."""
    store, recovery = Store.create(data_dir, ORG, ADMIN, ADMIN_PASSWORD, clock=clock)
    yield store, recovery
    store.close()


@pytest.fixture
def store(created_store: tuple[Store, str]) -> Store:
    return created_store[0]


@pytest.fixture
def recovery_key(created_store: tuple[Store, str]) -> str:
    return created_store[1]


@pytest.fixture
def session(store: Store) -> Session:
    return store.login(ADMIN, ADMIN_PASSWORD)
