"""The clinical safety case report (DCB0129) for one version: the hazard log with, for each verifying
test, whether it passed in this build. Same look as the clinician record (pages.py, 10 pt).

The grades in it are of hazards of the SOFTWARE (severity x likelihood of harm caused by the system);
it never rates a person. Made by `perfectcare-admin safety-case`; reads no store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, Spacer

from ..core.clinical.wording import long_date
from ..core.clinical_safety.hazard_log import (
    CONSEQUENCES,
    FAILED,
    GRADE_MEANING,
    LIKELIHOODS,
    MATRIX,
    NOT_RUN,
    PASSED,
    SKIPPED,
    STATUSES,
    Assessment,
    Hazard,
    HazardLog,
    outcome,
)
from .branding import Branding
from .fonts import FontSet
from .pages import PageDecor, Styles, body_width, build_pdf, grid, make_styles

OUTCOME_COLOUR = {PASSED: HexColor("#1E6B34"), FAILED: HexColor("#B00020"), SKIPPED: HexColor("#7A5A00"),
                  NOT_RUN: HexColor("#555555")}  # fmt: skip
OUTCOMES = (PASSED, FAILED, SKIPPED, NOT_RUN)
UNAPPROVED = "DRAFT — not yet approved by the Clinical Safety Officer"
SOFTWARE_ONLY = (
    "Every grade in this report rates a hazard of the software: the severity and likelihood of harm the system "
    "could cause or contribute to, on the DCB0129 matrix of the clinical risk management plan. It never rates a "
    "person; PerfectCare Desktop records no risk score, rating or category for anyone."
)


@dataclass(frozen=True)
class BuildResults:
    """The test run the report reads: its results by (classname, name), or None when there is none."""

    results: dict[tuple[str, str], list[str]] | None
    source: str  # the file read, or why none was
    written_at: datetime | None = None


def _p(text: str, style: ParagraphStyle, fonts: FontSet, *, bold: bool = False,
       colour: Color | None = None) -> Paragraph:  # fmt: skip
    markup = fonts.markup(text, bold=bold)
    if colour is not None:
        markup = f'<font color="{colour.hexval()}">{markup}</font>'
    return Paragraph(markup, style)


def _grade(a: Assessment) -> str:
    return f"{a.consequence.capitalize()} × {a.likelihood} likelihood = {a.grade}"


def _counts(log: HazardLog, run: BuildResults) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for h in log.hazards:
        for node in h.verified_by:
            counts[outcome(node, run.results or {})] += 1
    return counts


def _evidence(h: Hazard, run: BuildResults) -> str:
    if not h.verified_by:
        return "no test"
    got = [outcome(node, run.results or {}) for node in h.verified_by]
    parts = [f"{got.count(o)} {o}" for o in OUTCOMES if got.count(o)]
    return ", ".join(parts)


def _front(log: HazardLog, version: str, made_at: datetime, run: BuildResults, st: Styles, fonts: FontSet,
           branding: Branding) -> list[Flowable]:  # fmt: skip
    width = body_width()
    label = st.small
    out: list[Flowable] = [_p("Clinical safety case report (DCB0129)", st.title, fonts, bold=True)]
    approval = (f"Approved by {log.approved_by} on {log.approved_on}" if log.approved_by
                else "Not yet approved: the hazard log names no Clinical Safety Officer approval.")  # fmt: skip
    if run.results is None:
        results = run.source
    else:
        when = f", written {long_date(run.written_at.date())} {run.written_at:%H:%M}" if run.written_at else ""
        results = f"{run.source}{when}"
    facts = [
        ("Product", log.product), ("Version", version),
        ("Report made", f"{long_date(made_at.date())} {made_at:%H:%M}"),
        ("Hazard log changed", long_date(datetime.fromisoformat(log.changed_on).date()) if log.changed_on else "—"),
        ("Clinical Safety Officer", approval), ("Test results read", results),
    ]  # fmt: skip
    rows = [[_p(k, label, fonts, bold=True), _p(v, st.body, fonts)] for k, v in facts]
    out.append(grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
    out.append(Spacer(1, 3 * mm))
    if run.results is None:
        out.append(_p("No test results were found for this build, so no verifying test below is shown as passed: "
                      "every one reads “not run”, and no mitigation is evidenced by this report. Run the tests "
                      "(./run tests writes build/test-results.xml) or give --results.", st.body, fonts, bold=True,
                      colour=OUTCOME_COLOUR[FAILED]))  # fmt: skip
    out.append(_p(SOFTWARE_ONLY, st.note, fonts))

    out.append(_p("Summary", st.heading, fonts, bold=True))
    by_status = log.by_status()
    counts = _counts(log, run)
    statuses = ", ".join(f"{by_status[s]} {s}" for s in STATUSES)
    tests = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES)
    summary = f"{len(log.hazards)} hazards: {statuses}. Verifying tests named: {tests} in this build."
    out.append(_p(summary, st.body, fonts))
    weak = [h for h in log.hazards if h.status == "mitigated"
            and any(outcome(n, run.results or {}) != PASSED for n in h.verified_by)]  # fmt: skip
    if weak:
        names = "; ".join(f"{h.id} ({_evidence(h, run)})" for h in weak)
        out.append(_p(f"Mitigated hazards whose evidence did not all pass in this build: {names}.", st.body, fonts,
                      colour=OUTCOME_COLOUR[FAILED]))  # fmt: skip
    high = [h for h in log.hazards if h.residual.grade >= 3]
    if high:
        names = "; ".join(f"{h.id} ({h.status}, residual {h.residual.grade})" for h in high)
        out.append(_p(f"Residual risk of 3 or more, for the Clinical Safety Officer's release decision: {names}.",
                      st.body, fonts))  # fmt: skip

    head = [_p(t, label, fonts, bold=True) for t in ("Id", "Hazard", "Status", "Initial", "Residual", "Tests")]
    rows = [head]
    for h in log.hazards:
        issues = ", ".join(dict.fromkeys(re.findall(r"\bissue \d+(?: part \d+)?", h.work)))
        status = f"{h.status} · {issues}" if h.status == "open" and issues else h.status
        rows.append([_p(h.id, label, fonts, bold=True), _p(h.title, label, fonts), _p(status, label, fonts),
                     _p(str(h.initial.grade), label, fonts), _p(str(h.residual.grade), label, fonts),
                     _p(_evidence(h, run), label, fonts)])  # fmt: skip
    widths = [0.06, 0.42, 0.17, 0.08, 0.10, 0.17]
    out.append(Spacer(1, 2 * mm))
    out.append(grid(rows, [width * w for w in widths], fonts, branding, header=True))
    return out


def _hazard(h: Hazard, run: BuildResults, st: Styles, fonts: FontSet, branding: Branding) -> list[Flowable]:
    width = body_width()
    label = st.small
    out: list[Flowable] = [CondPageBreak(60 * mm), _p(f"{h.id}  {h.title}", st.heading, fonts, bold=True)]
    facts: list[tuple[str, str | list[str]]] = [
        ("Status", h.status), ("Cause", h.cause), ("Effect", h.effect), ("Possible harm", h.harm),
        ("Existing controls", list(h.controls) or ["None outside the software."]),
        ("Initial risk", _grade(h.initial)), ("Mitigations in the software", list(h.mitigations) or ["None yet."]),
        ("Residual risk", _grade(h.residual)),
    ]  # fmt: skip
    if h.rationale:
        facts.append(("Why accepted", h.rationale))
    if h.work:
        facts.append(("Work that will mitigate it", h.work))
    rows = []
    for k, v in facts:
        cell: Flowable | list[Flowable]
        if isinstance(v, list):
            cell = [Paragraph(fonts.markup(item), st.bullet.clone("b", spaceAfter=1), bulletText="•") for item in v]
        else:
            cell = _p(v, st.body, fonts)
        rows.append([_p(k, label, fonts, bold=True), cell])
    out.append(grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
    out.append(Spacer(1, 2 * mm))
    if not h.verified_by:
        out.append(_p("No test verifies this hazard's mitigation yet.", st.note, fonts))
        return out
    # The hazard's id in the header, which repeats: a table that runs on to the next page still says whose it is.
    rows = [[_p(t, label, fonts, bold=True) for t in (f"Tests verifying {h.id}", "In this build")]]
    for node in h.verified_by:
        path, _, name = node.partition("::")
        result = outcome(node, run.results or {})
        rows.append([Paragraph(f"{fonts.markup(name.replace('::', '.'))}<br/>"
                               f'<font color="#555555">{fonts.markup(path)}</font>', label),
                     _p(result, label, fonts, bold=True, colour=OUTCOME_COLOUR[result])])  # fmt: skip
    out.append(grid(rows, [width * 0.82, width * 0.18], fonts, branding, header=True))
    return out


def _matrix(st: Styles, fonts: FontSet, branding: Branding) -> list[Flowable]:
    width = body_width()
    label = st.small
    out: list[Flowable] = [CondPageBreak(90 * mm), _p("The matrix (DCB0129, software hazards)", st.heading, fonts,
                                                     bold=True)]  # fmt: skip
    rows = [[_p("Likelihood \\ severity", label, fonts, bold=True)]
            + [_p(c.capitalize(), label, fonts, bold=True) for c in CONSEQUENCES]]  # fmt: skip
    for like in reversed(LIKELIHOODS):
        rows.append([_p(like.capitalize(), label, fonts, bold=True)] + [_p(str(g), label, fonts) for g in MATRIX[like]])
    out.append(grid(rows, [width * 0.25] + [width * 0.15] * 5, fonts, branding, header=True))
    out.append(Spacer(1, 2 * mm))
    for g in sorted(GRADE_MEANING, reverse=True):
        out.append(_p(f"{g}: {GRADE_MEANING[g]}", st.small, fonts))
    out.append(_p("Definitions and sources: docs/clinical-safety/clinical-risk-management-plan.md.", st.note, fonts))
    return out


def render_safety_case(log: HazardLog, version: str, made_at: datetime, run: BuildResults, fonts: FontSet,
                       branding: Branding) -> bytes:  # fmt: skip
    st = make_styles(fonts, branding, 10.0)
    story = _front(log, version, made_at, run, st, fonts, branding)
    for h in log.hazards:
        story += _hazard(h, run, st, fonts, branding)
    story += _matrix(st, fonts, branding)
    footer = f"Clinical safety case report · {log.product} {version} · made {long_date(made_at.date())}"
    decor = PageDecor(fonts, branding, log.product, footer, body_size=10.0,
                      banner="" if log.approved_by else UNAPPROVED, banner_colour=HexColor("#333333"),
                      header=f"{log.product} — clinical safety")  # fmt: skip
    return build_pdf(story, decor, title=f"Clinical safety case report, {log.product} {version}",
                     subject="DCB0129 clinical safety case report")  # fmt: skip
