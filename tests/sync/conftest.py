"""Fixtures the sync tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_support import Pc, first_pc, join


@pytest.fixture
def two_pcs(tmp_path: Path, hub_db: str) -> Iterator[tuple[Pc, Pc]]:
    """Two PCs on one real hub: the first made it, the second joined by an enrolment file."""
    a = first_pc(tmp_path / "pc1", hub_db)
    b = join(a.session, hub_db, tmp_path / "pc2")
    yield a, b
    for pc in (a, b):
        pc.close()
