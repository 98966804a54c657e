"""The access report as a PDF (issue 16 part 8): organisation, whose record (NHS number and name), the
period, who made it and when, then one row per access event. Only the events: nothing of what the
records say. Same look as the safety case report (pages.py, 10 pt), with page numbers."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..core.storage.access_report import COLUMNS, AccessReport
from .branding import Branding
from .fonts import FontSet
from .pages import PageDecor, body_width, build_pdf, grid, make_styles

PURPOSE = (
    "Every event recorded about this person's record on any enrolled PC: viewed, created, changed, signed, "
    "printed, exported, marked entered in error. For subject access requests and Caldicott reviews. It shows "
    "who did what, where and when; none of the record's content."
)
WIDTHS = (0.17, 0.27, 0.16, 0.22, 0.18)


def _p(text: str, style: ParagraphStyle, fonts: FontSet, *, bold: bool = False) -> Paragraph:
    return Paragraph(fonts.markup(text, bold=bold), style)


def render_access_report(report: AccessReport, fonts: FontSet, branding: Branding) -> bytes:
    st = make_styles(fonts, branding, 10.0)
    width = body_width()
    label = st.small
    story: list[Flowable] = [_p("Access report", st.title, fonts, bold=True)]
    made = f"{report.generated_at:%d %b %Y %H:%M} (UK time) by {report.generated_by}"
    facts = [
        ("Organisation", report.organisation),
        ("Patient", f"{report.patient_name}, NHS number {report.nhs_number}"),
        ("Period", report.period),
        ("Generated", made),
        ("Events", f"{len(report.events):,}"),
    ]
    rows = [[_p(k, label, fonts, bold=True), _p(v, st.body, fonts)] for k, v in facts]
    story.append(grid(rows, [width * 0.22, width * 0.78], fonts, branding, header=False))
    story.append(Spacer(1, 3 * mm))
    story.append(_p(PURPOSE, st.note, fonts))
    if not report.hub_entries:
        story.append(_p("Only this PC's own entries are included: no other PC's entries have been pulled from the "
                        "hub to this PC.", st.note, fonts, bold=True))  # fmt: skip
    story.append(Spacer(1, 2 * mm))
    if report.events:
        table = [[_p(t, label, fonts, bold=True) for t in COLUMNS]]
        table += [[_p(c, label, fonts) for c in e.cells()] for e in report.events]
        story.append(grid(table, [width * w for w in WIDTHS], fonts, branding, header=True))
    else:
        story.append(_p("No access to this person's record is recorded in the period.", st.body, fonts))
    footer = f"Access report · NHS number {report.nhs_number} · made {report.generated_at:%d %b %Y %H:%M}"
    decor = PageDecor(fonts, branding, report.organisation, footer, body_size=10.0,
                      banner="OFFICIAL-SENSITIVE: personal data", header="Access report")  # fmt: skip
    return build_pdf(story, decor, title=f"Access report, NHS number {report.nhs_number}",
                     subject="Who viewed, changed, printed or exported this person's record")  # fmt: skip
