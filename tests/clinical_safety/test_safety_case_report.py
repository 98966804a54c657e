"""`perfectcare-admin safety-case`: the report for this version, each verifying test's result in this
build read from JUnit XML ("not run" when absent), a clear sentence when there are no results, and
no store or password needed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from perfectcare_desktop import __version__, cli
from perfectcare_desktop.core.clinical_safety import hazard_log
from perfectcare_desktop.core.clinical_safety.hazard_log import (
    DEFAULT_LOG,
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    outcome,
    read_results,
)

ADMIN_EXE = Path(sys.executable).with_name("perfectcare-admin")
MEANS = "tests/export/test_means_on_copy.py::test_the_persons_copy_shows_the_agreed_steps_never_the_method_or_the_means"
RECORD = "tests/export/test_means_on_copy.py::test_the_clinician_record_keeps_the_whole_means_discussion"
STRAT = "tests/clinical/test_no_stratification.py::test_no_data_file_carries_a_rating"


def _junit(path: Path, cases: list[tuple[str, str, str]]) -> Path:
    """A JUnit file as pytest writes it: (classname, name, "passed" | "failed" | "error" | "skipped")."""
    body = []
    for classname, name, result in cases:
        inner = {"passed": "", "failed": '<failure message="x">x</failure>', "error": '<error message="x"/>',
                 "skipped": '<skipped message="x"/>'}[result]  # fmt: skip
        body.append(f'<testcase classname="{classname}" name="{name}" time="0.1">{inner}</testcase>')
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{"".join(body)}</testsuite>'
                    "</testsuites>", encoding="utf-8")  # fmt: skip
    return path


def _text(pdf: Path) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages]


def test_outcomes_from_junit_xml(tmp_path: Path) -> None:
    xml = _junit(tmp_path / "r.xml", [
        ("tests.export.test_means_on_copy", MEANS.split("::")[1], "passed"),
        ("tests.export.test_means_on_copy", RECORD.split("::")[1], "failed"),
        ("tests.clinical.test_no_stratification", "test_no_data_file_carries_a_rating[a.json]", "passed"),
        ("tests.clinical.test_no_stratification", "test_no_data_file_carries_a_rating[b.json]", "error"),
        ("tests.x.test_y.TestC", "test_m", "skipped"),
    ])  # fmt: skip
    results = read_results(xml)
    assert outcome(MEANS, results) == PASSED
    assert outcome(RECORD, results) == FAILED
    assert outcome(STRAT, results) == FAILED  # one parameter failed: the test as a whole did not pass
    assert outcome(STRAT + "[a.json]", results) == PASSED
    assert outcome("tests/x/test_y.py::TestC::test_m", results) == SKIPPED
    assert outcome("tests/x/test_y.py::test_m", results) == NOT_RUN
    assert outcome("tests/export/test_means_on_copy.py::test_gone", results) == NOT_RUN


def _small_log(tmp_path: Path) -> Path:
    """The real log cut to its first two hazards (H01 names MEANS and RECORD)."""
    raw = json.loads(DEFAULT_LOG.read_text(encoding="utf-8"))
    raw["hazards"] = raw["hazards"][:2]
    path = tmp_path / "log.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_the_report_says_which_verifying_tests_passed_in_this_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = "tests.export.test_means_on_copy"
    xml = _junit(
        tmp_path / "r.xml", [(module, MEANS.split("::")[1], "passed"), (module, RECORD.split("::")[1], "failed")]
    )
    out = tmp_path / "report.pdf"
    assert cli.main(["safety-case", "--out", str(out), "--results", str(xml), "--log", str(_small_log(tmp_path))]) == 0
    assert "2 hazards (0 open, 2 mitigated, 0 accepted)" in capsys.readouterr().out
    pages = _text(out)
    first, every = pages[0], " ".join(pages)
    assert "Clinical safety case report (DCB0129)" in first and f"Version {__version__}" in first
    assert "2 hazards: 0 open, 2 mitigated, 0 accepted" in first
    assert "1 passed, 1 failed" in first and str(xml) in first
    assert "Mitigated hazards whose evidence did not all pass in this build: H01" in first
    assert "Not yet approved" in first and "DRAFT" in first
    assert "never rates a person" in first
    for h in ("H01", "H02"):
        assert f"Tests verifying {h}" in every
    fields = ["Cause", "Effect", "Possible harm", "Existing controls", "Initial risk", "Mitigations in the software"]
    for field in [*fields, "Residual risk", "Major × medium likelihood = 3"]:
        assert field in every, field
    # Each test with its result: the passed one, the failed one, and H02's tests not in the run.
    means = every.index(MEANS.split("::")[1][:40])
    assert "passed" in every[means : means + 250]
    record = every.index(RECORD.split("::")[1][:40])
    assert "failed" in every[record : record + 250]
    assert "not run" in every.split("Tests verifying H02")[1]


def test_no_results_is_said_on_the_first_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(hazard_log, "DEFAULT_RESULTS_DIR", tmp_path / "no-build")
    out = tmp_path / "report.pdf"
    assert cli.main(["safety-case", "--out", str(out), "--log", str(_small_log(tmp_path))]) == 0
    assert "no test results were found" in capsys.readouterr().err
    first = _text(out)[0]
    assert "No test results were found for this build" in first
    assert "0 passed, 0 failed, 0 skipped" in first and "not run" in first


def test_the_newest_results_file_is_the_default(tmp_path: Path) -> None:
    (tmp_path / "build" / "a").mkdir(parents=True)
    old = _junit(tmp_path / "build" / "a" / "test-results.xml", [])
    new = _junit(tmp_path / "build" / "test-results.xml", [])
    os.utime(old, (1_000_000, 1_000_000))
    assert hazard_log.newest_results(tmp_path / "build") == new
    assert hazard_log.newest_results(tmp_path / "nothing") is None


def test_missing_results_file_or_broken_log_is_a_sentence_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.pdf"
    assert cli.main(["safety-case", "--out", str(out), "--results", str(tmp_path / "gone.xml")]) == 1
    assert "no report was written" in capsys.readouterr().err
    broken = tmp_path / "log.json"
    raw = json.loads(DEFAULT_LOG.read_text(encoding="utf-8"))
    raw["hazards"][0]["verified_by"].append("tests/export/test_means_on_copy.py::test_never_written")
    broken.write_text(json.dumps(raw), encoding="utf-8")
    assert cli.main(["safety-case", "--out", str(out), "--log", str(broken)]) == 1
    assert "test_never_written" in capsys.readouterr().err
    assert not out.exists()


def test_the_installed_command_needs_no_store_and_no_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "no-store-here"
    out = tmp_path / "report.pdf"
    xml = _junit(tmp_path / "r.xml", [])
    result = subprocess.run(
        [str(ADMIN_EXE), "safety-case", "--out", str(out), "--results", str(xml), "--data-dir", str(data_dir)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PERFECTCARE_USER": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF") and not data_dir.exists()
    assert "safety case report" in result.stdout
