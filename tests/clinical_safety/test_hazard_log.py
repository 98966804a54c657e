"""The hazard log (DCB0129) kept honest: every hazard complete and graded by the matrix, every test it
names a real test, nothing called mitigated without a test nor accepted without a rationale. And the
check itself fails on a broken log, shown on broken copies written to a temporary file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from perfectcare_desktop.core.clinical_safety import hazard_log
from perfectcare_desktop.core.clinical_safety.hazard_log import (
    CONSEQUENCES,
    DEFAULT_LOG,
    LIKELIHOODS,
    MATRIX,
    REPO_ROOT,
    HazardLogInvalid,
    grade,
    load_log,
    node_exists,
    problems,
)

PLAN = DEFAULT_LOG.parent / "clinical-risk-management-plan.md"
# Hazards the issue (15) names; each must stay in the log whatever its status.
ISSUE_HAZARDS = 15


def _raw() -> dict:
    return json.loads(DEFAULT_LOG.read_text(encoding="utf-8"))


def test_the_log_is_sound_and_every_verifying_test_exists() -> None:
    assert problems(_raw()) == []
    log = load_log()
    assert len(log.hazards) >= ISSUE_HAZARDS
    assert [h.id for h in log.hazards[:ISSUE_HAZARDS]] == [f"H{n:02d}" for n in range(1, ISSUE_HAZARDS + 1)]
    for h in log.hazards:
        if h.status == "mitigated":
            assert h.verified_by, h.id
        if h.status == "open":
            assert re.search(r"\bissue \d+", h.work), h.id


def test_the_matrix_in_the_plan_is_the_matrix_the_log_is_checked_against() -> None:
    rows = {}
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().lower() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in LIKELIHOODS and len(cells) == 6:
            rows[cells[0]] = tuple(int(c) for c in cells[1:])
    assert rows == MATRIX
    # Worse never grades lower: more likely or more severe is never a smaller number.
    for like in LIKELIHOODS:
        assert list(MATRIX[like]) == sorted(MATRIX[like])
    for n, _ in enumerate(CONSEQUENCES):
        column = [MATRIX[like][n] for like in LIKELIHOODS]
        assert column == sorted(column)
    assert grade("catastrophic", "very high") == 5 and grade("minor", "very low") == 1


def _broken(tmp_path: Path, change) -> list[str]:  # noqa: ANN001 - a function that edits the log
    raw = copy.deepcopy(_raw())
    change(raw)
    path = tmp_path / "hazard-log.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(HazardLogInvalid):
        load_log(path)
    return problems(json.loads(path.read_text(encoding="utf-8")))


def _hazard(raw: dict, status: str) -> dict:
    return next(h for h in raw["hazards"] if h["status"] == status)


def _set(raw: dict, status: str, key: str, value: object) -> None:
    _hazard(raw, status)[key] = value


def test_the_check_fails_on_a_broken_log(tmp_path: Path) -> None:
    first = "tests/clinical_safety/test_hazard_log.py::test_the_log_is_sound_and_every_verifying_test_exists"
    cases = {
        "names a test that does not exist": lambda r: r["hazards"][0]["verified_by"].append(
            "tests/export/test_means_on_copy.py::test_that_was_never_written"),
        "names a file that does not exist": lambda r: r["hazards"][0]["verified_by"].append(
            "tests/nowhere/test_gone.py::test_x"),
        "mitigated with no test": lambda r: _set(r, "mitigated", "verified_by", []),
        "accepted with no rationale": lambda r: _set(r, "mitigated", "status", "accepted"),
        "open with no issue": lambda r: _set(r, "open", "work", "later"),
        "id repeated": lambda r: r["hazards"][1].__setitem__("id", r["hazards"][0]["id"]),
        "field missing": lambda r: r["hazards"][2].pop("harm"),
        "rating disagrees with the matrix": lambda r: r["hazards"][0]["initial_risk"].__setitem__("rating", 1),
        "not a severity": lambda r: r["hazards"][0]["residual_risk"].__setitem__("severity", "low"),
        "residual above initial": lambda r: r["hazards"][0].__setitem__(
            "residual_risk", {"severity": "catastrophic", "likelihood": "very high", "rating": 5}),
        "unknown status": lambda r: r["hazards"][0].__setitem__("status", "closed"),
    }  # fmt: skip
    expected = {
        "names a test that does not exist": "test_that_was_never_written",
        "names a file that does not exist": "test_gone.py",
        "mitigated with no test": "no test verifies it",
        "accepted with no rationale": "no rationale",
        "open with no issue": "does not name the issue",
        "id repeated": "used twice",
        "field missing": "missing harm",
        "rating disagrees with the matrix": "disagrees with the matrix",
        "not a severity": "is not one of",
        "residual above initial": "above the initial",
        "unknown status": "'closed'",
    }
    for name, change in cases.items():
        found = _broken(tmp_path, change)
        assert len(found) >= 1 and any(expected[name] in p for p in found), (name, found)
    assert node_exists(first)  # this very test is found, so the resolution is not vacuous


def test_node_ids_resolve_by_parsing_the_test_files(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\ndef test_p(n):\n    pass\n\n"
        "class TestC:\n    def test_m(self):\n        pass\n\n"
        "def helper():\n    pass\n\nasync def test_a():\n    pass\n",
        encoding="utf-8",
    )
    hazard_log._PARSED.clear()
    for node in ("tests/test_x.py::test_p", "tests/test_x.py::test_p[1]", "tests/test_x.py::TestC::test_m",
                 "tests/test_x.py::test_a"):  # fmt: skip
        assert node_exists(node, tmp_path), node
    wrong = ["tests/test_x.py::helper", "tests/test_x.py::TestC", "tests/test_x.py::TestC::test_gone"]
    wrong += ["tests/test_x.py::test_gone", "tests/test_y.py::test_p", "test_x.py::test_p", "tests/test_x.py"]
    for node in wrong:
        assert not node_exists(node, tmp_path), node
    hazard_log._PARSED.clear()
    assert node_exists("tests/clinical_safety/test_hazard_log.py::test_node_ids_resolve_by_parsing_the_test_files",
                       REPO_ROOT)  # fmt: skip
