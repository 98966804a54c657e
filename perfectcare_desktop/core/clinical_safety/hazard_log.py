"""The clinical safety hazard log (DCB0129) as data: load it, check it, and read a test run's results.

The log (docs/clinical-safety/hazard-log.json) grades hazards of the SOFTWARE by consequence x
likelihood of harm caused by the system, on the 5x5 matrix of docs/clinical-safety/
clinical-risk-management-plan.md. It never grades a person: this product rates no one (rule 1).
Field names use DCB0129's own axes (consequence, likelihood, grade) so that the guard over core's
data classes (tests/clinical/test_no_stratification.py) keeps meaning "no rating of a person".

One piece of code for the test that keeps the log honest and for `perfectcare-admin safety-case`:
no reportlab, no Qt. Node ids are resolved by parsing the test files with `ast` (never importing them).
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ...errors import PerfectCareError

FORMAT = "perfectcare.hazard-log/1"
REPO_ROOT = Path(__file__).resolve().parents[3]  # a checkout: the log and the tests sit beside the package
DEFAULT_LOG = REPO_ROOT / "docs" / "clinical-safety" / "hazard-log.json"
DEFAULT_RESULTS_DIR = REPO_ROOT / "build"
RESULTS_NAME = "test-results.xml"

CONSEQUENCES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very low", "low", "medium", "high", "very high")
# DCB0129 clinical risk matrix, as NHS Digital publishes it (see the plan): rows likelihood, columns consequence.
MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    "very high": (3, 4, 4, 5, 5),
    "high": (2, 3, 3, 4, 5),
    "medium": (2, 2, 3, 3, 4),
    "low": (1, 2, 2, 3, 4),
    "very low": (1, 1, 2, 2, 3),
}
GRADE_MEANING = {
    5: "Unacceptable level of risk.",
    4: "Mandatory elimination or control to reduce risk to an acceptable level.",
    3: "Undesirable level of risk: eliminate or control; acceptable only where further reduction is impractical.",
    2: "Acceptable where the cost of further reduction outweighs the benefit gained.",
    1: "Acceptable, no further action required.",
}
STATUSES = ("open", "mitigated", "accepted")
FIELDS = ("id", "title", "cause", "effect", "harm", "controls", "initial_risk", "mitigations", "verified_by",
          "residual_risk", "status")  # fmt: skip
_ID = re.compile(r"^H\d{2,3}$")
_ISSUE = re.compile(r"\bissue \d+\b")
_NODE = re.compile(r"^(tests/[\w/.-]+\.py)::(\w+)(?:::(\w+))?(\[.*\])?$")


class HazardLogInvalid(PerfectCareError):
    pass


def grade(consequence: str, likelihood: str) -> int:
    """The matrix's grade (1-5) for a hazard of the software."""
    return MATRIX[likelihood][CONSEQUENCES.index(consequence)]


@dataclass(frozen=True)
class Assessment:
    consequence: str  # of the harm the system could cause
    likelihood: str  # of that harm, with the controls in place at the time of the assessment
    grade: int  # MATRIX[likelihood][consequence]


@dataclass(frozen=True)
class Hazard:
    id: str
    title: str
    cause: str
    effect: str
    harm: str
    controls: tuple[str, ...]  # what exists outside the software's own mitigations (training, policy, DCB0160)
    initial: Assessment
    mitigations: tuple[str, ...]  # in the software
    verified_by: tuple[str, ...]  # pytest node ids
    residual: Assessment
    status: str  # open, mitigated, accepted
    rationale: str = ""  # why an accepted hazard is accepted
    work: str = ""  # for an open hazard: the work that will mitigate it ("issue 16: ...")


@dataclass(frozen=True)
class HazardLog:
    product: str
    changed_on: str
    approved_by: str  # "" until the manufacturer's Clinical Safety Officer approves this version
    approved_on: str
    hazards: tuple[Hazard, ...]

    def by_status(self) -> dict[str, int]:
        return {s: sum(h.status == s for h in self.hazards) for s in STATUSES}


# --- checking ----------------------------------------------------------------------------------------
def _assessment_problems(where: str, raw: object) -> list[str]:
    if not isinstance(raw, dict):
        return [f"{where} must be an object with severity, likelihood and rating."]
    sev, like, rating = raw.get("severity"), raw.get("likelihood"), raw.get("rating")
    if sev not in CONSEQUENCES:
        return [f"{where}: severity {sev!r} is not one of {', '.join(CONSEQUENCES)}."]
    if like not in LIKELIHOODS:
        return [f"{where}: likelihood {like!r} is not one of {', '.join(LIKELIHOODS)}."]
    if rating != grade(sev, like):
        return [f"{where}: rating {rating!r} disagrees with the matrix ({sev} x {like} is {grade(sev, like)})."]
    return []


def problems(raw: object, tests_root: Path | None = REPO_ROOT) -> list[str]:
    """Every way the log is wrong, one sentence each ([] when it is sound). With `tests_root`, each
    verifying test must exist in the test files under it."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        return [f'The hazard log must be a JSON object with "format": "{FORMAT}".']
    out: list[str] = []
    approval = raw.get("approval")
    if not isinstance(approval, dict) or not all(isinstance(approval.get(k), str) for k in ("by", "on")):
        out.append("approval must have 'by' and 'on' as text (both empty until the CSO approves).")
    hazards = raw.get("hazards")
    if not isinstance(hazards, list) or not hazards:
        return [*out, "The hazard log has no hazards."]
    seen: set[str] = set()
    for n, h in enumerate(hazards, start=1):
        where = f"hazard {n}"
        if not isinstance(h, dict):
            out.append(f"{where} is not an object.")
            continue
        missing = [f for f in FIELDS if f not in h]
        hid = h.get("id")
        where = f"{hid}" if isinstance(hid, str) else where
        if missing:
            out.append(f"{where}: missing {', '.join(missing)}.")
            continue
        if not isinstance(hid, str) or not _ID.match(hid):
            out.append(f"{where}: id must be H followed by two or three digits.")
        elif hid in seen:
            out.append(f"{where}: the id is used twice.")
        seen.add(str(hid))
        for text in ("title", "cause", "effect", "harm"):
            if not isinstance(h[text], str) or not h[text].strip():
                out.append(f"{where}: {text} must be text.")
        for items in ("controls", "mitigations", "verified_by"):
            if not isinstance(h[items], list) or not all(isinstance(s, str) and s.strip() for s in h[items]):
                out.append(f"{where}: {items} must be a list of text.")
        graded = _assessment_problems(f"{where} initial_risk", h["initial_risk"])
        graded += _assessment_problems(f"{where} residual_risk", h["residual_risk"])
        if not graded and h["residual_risk"]["rating"] > h["initial_risk"]["rating"]:
            graded.append(f"{where}: the residual risk is above the initial risk.")
        out += graded
        status = h["status"]
        if status not in STATUSES:
            out.append(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}.")
        elif status == "mitigated" and not h["verified_by"]:
            out.append(f"{where}: marked mitigated, but no test verifies it.")
        elif status == "accepted" and not str(h.get("rationale", "")).strip():
            out.append(f"{where}: marked accepted, but no rationale says why.")
        elif status == "open" and not _ISSUE.search(str(h.get("work", ""))):
            out.append(f"{where}: open, but 'work' does not name the issue that will mitigate it.")
        if tests_root is not None and isinstance(h["verified_by"], list):
            for node in h["verified_by"]:
                if isinstance(node, str) and not node_exists(node, tests_root):
                    out.append(f"{where}: verified_by names {node}, which is not a test in {tests_root.name}.")
    return out


def _functions(body: list[ast.stmt]) -> dict[str, ast.AST]:
    return {n.name: n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


_PARSED: dict[Path, dict[str, ast.AST] | None] = {}


def node_exists(node_id: str, root: Path = REPO_ROOT) -> bool:
    """Whether `path.py::test_x`, `path.py::TestC::test_m` or `path.py::test_x[param]` is a test
    defined in that file under `root` (parsed, never imported)."""
    m = _NODE.match(node_id)
    if not m:
        return False
    path = (root / m[1]).resolve()
    if path not in _PARSED:
        try:
            _PARSED[path] = _functions(ast.parse(path.read_text(encoding="utf-8")).body)
        except (OSError, SyntaxError, ValueError):
            _PARSED[path] = None
    top = _PARSED[path]
    if top is None:
        return False
    name, method = m[2], m[3]
    node = top.get(name)
    if method is None:
        return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and name.startswith("test")
    if not isinstance(node, ast.ClassDef):
        return False
    inner = _functions(node.body).get(method)
    return isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and method.startswith("test")


# --- loading -----------------------------------------------------------------------------------------
def _assessment(raw: dict) -> Assessment:
    return Assessment(raw["severity"], raw["likelihood"], raw["rating"])


def parse(raw: object, tests_root: Path | None = REPO_ROOT) -> HazardLog:
    """The log from its JSON; HazardLogInvalid names every problem."""
    found = problems(raw, tests_root)
    if found:
        raise HazardLogInvalid("The hazard log is not sound: " + " ".join(found))
    assert isinstance(raw, dict)
    hazards = tuple(
        Hazard(
            id=h["id"],
            title=h["title"],
            cause=h["cause"],
            effect=h["effect"],
            harm=h["harm"],
            controls=tuple(h["controls"]),
            initial=_assessment(h["initial_risk"]),
            mitigations=tuple(h["mitigations"]),
            verified_by=tuple(h["verified_by"]),
            residual=_assessment(h["residual_risk"]),
            status=h["status"],
            rationale=h.get("rationale", ""),
            work=h.get("work", ""),
        )  # fmt: skip
        for h in raw["hazards"]
    )
    return HazardLog(raw.get("product", "PerfectCare Desktop"), raw.get("changed_on", ""), raw["approval"]["by"],
                     raw["approval"]["on"], hazards)  # fmt: skip


def load_log(path: Path = DEFAULT_LOG, tests_root: Path | None = REPO_ROOT) -> HazardLog:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HazardLogInvalid(f"There is no hazard log at {path}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HazardLogInvalid(f"The hazard log {path} could not be read as JSON ({exc}).") from None
    return parse(raw, tests_root)


# --- a test run's results (JUnit XML, as pytest --junitxml writes it) -----------------------------------
PASSED, FAILED, SKIPPED, NOT_RUN = "passed", "failed", "skipped", "not run"


def read_results(path: Path) -> dict[tuple[str, str], list[str]]:
    """(classname, name without parameters) -> the outcome of each case run under that name."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise HazardLogInvalid(f"The test results {path} could not be read ({exc}).") from None
    out: dict[tuple[str, str], list[str]] = {}
    for case in root.iter("testcase"):
        name = case.get("name", "")
        result = PASSED
        for child in case:
            if child.tag in ("failure", "error"):
                result = FAILED
                break
            if child.tag == "skipped":
                result = SKIPPED
        for key in {(case.get("classname", ""), name), (case.get("classname", ""), name.split("[", 1)[0])}:
            out.setdefault(key, []).append(result)
    return out


def outcome(node_id: str, results: dict[tuple[str, str], list[str]]) -> str:
    """passed / failed / skipped / not run for a verifying test (every parameter of `test_x` when the
    node id names none): failed when any case failed, skipped when all were skipped."""
    m = _NODE.match(node_id)
    if not m:
        return NOT_RUN
    module = m[1].removesuffix(".py").replace("/", ".")
    classname, name = (f"{module}.{m[2]}", m[3]) if m[3] else (module, m[2])
    cases = results.get((classname, name + (m[4] or "")))
    if not cases:
        return NOT_RUN
    if FAILED in cases:
        return FAILED
    if all(c == SKIPPED for c in cases):
        return SKIPPED
    return PASSED


def newest_results(folder: Path = DEFAULT_RESULTS_DIR) -> Path | None:
    """The newest test-results.xml the test command wrote (./run tests writes build/test-results.xml)."""
    found = [p for p in folder.rglob(RESULTS_NAME) if p.is_file()] if folder.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime, default=None)
