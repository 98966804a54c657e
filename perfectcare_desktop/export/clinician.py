"""The clinician record PDF: for the notes or a referral, never for the person's pocket.

"CONFIDENTIAL" on every page with the patient's name, NHS number and date of birth (identifiers are
right here); the signed safety formulation, all sections, with its addenda and the person's own view
(dated, attributed, and marked when entered in error); the safety plan in use with the clinician
notes and the reasons sections were declined; who signed each and when; every version of both, with
entered-in-error versions marked and their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from ..core.plan_content import PersonSection
from ..core.wording import long_date
from .bidi import paragraph
from .branding import Branding
from .fonts import FontSet
from .pages import PageDecor, Styles, body_width, build_pdf, make_styles

CONFIDENTIAL = "CONFIDENTIAL — clinician record — not the person's copy"


@dataclass(frozen=True)
class VersionLine:
    version_id: str
    status: str  # as the history shows it: "Agreed", "Signed (entered in error)", ...
    author: str
    created_at: datetime
    signed: bool
    remark: str = ""  # e.g. the reason a version was entered in error


@dataclass(frozen=True)
class NoteLine:
    kind: str  # "Addendum", "The person's view"
    about: str  # version id it is about
    author: str
    created_at: datetime
    text: str
    withdrawn_reason: str | None


@dataclass(frozen=True)
class RecordPart:
    heading: str
    shown: VersionLine | None  # the version printed in full (None: nothing written yet)
    sections: tuple[tuple[str, PersonSection], ...]  # (part heading or "", section) in layout order
    facts: tuple[tuple[str, str], ...]  # label, value: agreed on, review due, clinician notes, ...
    notes: tuple[NoteLine, ...]
    history: tuple[VersionLine, ...]


@dataclass(frozen=True)
class ClinicianRecord:
    patient: tuple[tuple[str, str], ...]  # label, value: name, NHS number, date of birth, ...
    name: str
    nhs_number: str
    trust_name: str
    printed_by: str
    printed_at: datetime
    formulation: RecordPart
    plan: RecordPart


def _when(at: datetime) -> str:
    return f"{long_date(at.date())} {at:%H:%M}"


def _grid(
    rows: list[list[Flowable | str]], widths: list[float], fonts: FontSet, branding: Branding, header: bool
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, splitInRow=1)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, -1), fonts.body),  # a table's default is Helvetica, unembedded
        ("GRID", (0, 0), (-1, -1), 0.4, HexColor("#BBBBBB")),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]  # fmt: skip
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), branding.accent))
    table.setStyle(TableStyle(style))
    return table


def _part(part: RecordPart, st: Styles, fonts: FontSet, branding: Branding) -> list[Flowable]:
    width = body_width()
    big = st.title.clone("t2", fontSize=st.size * 1.5, leading=st.size * 1.9)
    out: list[Flowable] = [Paragraph(fonts.markup(part.heading, bold=True), big)]
    v = part.shown
    if v is None:
        out.append(Paragraph(fonts.markup("No version in use (none written, or every one entered in error)."), st.note))
    else:
        when = _when(v.created_at)
        signed = f"Signed by {v.author} on {when}" if v.signed else f"Not signed; saved by {v.author} on {when}"
        facts = [("Status", v.status), ("Signature", signed), ("Version", v.version_id), *part.facts]
        rows = [[Paragraph(fonts.markup(k, bold=True), st.small), paragraph(val, st.body, fonts, width * 0.72)]
                for k, val in facts]  # fmt: skip
        out.append(_grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
    current_part = ""
    for part_name, section in part.sections:
        if part_name and part_name != current_part:
            current_part = part_name
            out.append(Paragraph(fonts.markup(part_name, bold=True), st.heading.clone("p", textColor=branding.text)))
        out.append(paragraph(section.title, st.heading.clone("s", fontSize=st.size * 1.1), fonts, width, bold=True))
        for line in section.lines:
            out.append(paragraph(line, st.bullet, fonts, width, bullet="•"))
        if section.note:
            out.append(paragraph(section.note, st.note, fonts, width))
        if not section.lines and not section.note:
            out.append(Paragraph(fonts.markup("Not recorded."), st.note))
    if part.notes:
        out.append(Paragraph(fonts.markup("Addenda and the person's view", bold=True), st.heading))
        for n in part.notes:
            head = f"{n.kind} by {n.author}, {_when(n.created_at)} (about version {n.about[:8]})"
            if n.withdrawn_reason is not None:
                head += f" — ENTERED IN ERROR: {n.withdrawn_reason}"
            out.append(paragraph(head, st.body.clone("nh", keepWithNext=1), fonts, width, bold=True))
            out.append(paragraph(n.text, st.bullet, fonts, width))
    if part.history:
        out.append(Paragraph(fonts.markup("Versions", bold=True), st.heading))
        rows = [[Paragraph(fonts.markup(h, bold=True), st.small) for h in ("Saved", "By", "Status", "Version id")]]
        for h in part.history:
            status = h.status + (" · signed" if h.signed and "igned" not in h.status else "")
            if h.remark:
                status += f" — {h.remark}"
            rows.append([Paragraph(fonts.markup(_when(h.created_at)), st.small),
                         paragraph(h.author, st.small, fonts, width * 0.2),
                         paragraph(status, st.small, fonts, width * 0.3),
                         Paragraph(fonts.markup(h.version_id), st.small)])  # fmt: skip
        out.append(_grid(rows, [width * 0.2, width * 0.2, width * 0.3, width * 0.3], fonts, branding, header=True))
    return out


def render_clinician_record(rec: ClinicianRecord, fonts: FontSet, branding: Branding) -> bytes:
    st = make_styles(fonts, branding, 10.0)
    width = body_width()
    story: list[Flowable] = [Paragraph(fonts.markup("Safety formulation and safety plan", bold=True), st.title)]
    rows = [[Paragraph(fonts.markup(k, bold=True), st.small), paragraph(v, st.body, fonts, width * 0.72)]
            for k, v in rec.patient]  # fmt: skip
    rows.append([Paragraph(fonts.markup("Printed", bold=True), st.small),
                 Paragraph(fonts.markup(f"{_when(rec.printed_at)} by {rec.printed_by}"), st.body)])  # fmt: skip
    story.append(_grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
    story.append(Spacer(1, 6 * mm))
    story += _part(rec.formulation, st, fonts, branding)
    story.append(Spacer(1, 8 * mm))
    story += _part(rec.plan, st, fonts, branding)
    footer = f"CONFIDENTIAL · {rec.name} · NHS number {rec.nhs_number} · printed {long_date(rec.printed_at.date())}"
    decor = PageDecor(fonts, branding, rec.trust_name, footer, banner=CONFIDENTIAL, banner_colour=HexColor("#333333"),
                      body_size=10.0)  # fmt: skip
    return build_pdf(story, decor, title="Clinician record (confidential)", subject="Confidential clinician record")
