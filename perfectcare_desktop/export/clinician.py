"""The clinician record PDF: for the notes or a referral, never for the person's pocket.

"CONFIDENTIAL" on every page with the patient's legal name, date of birth and NHS number (never the
preferred name alone: the record must not be filed under the wrong person); the signed safety
formulation, all sections, with its addenda and the person's own view
(dated, attributed, and marked when entered in error); the safety plan in use with the clinician
notes and the reasons sections were declined; who signed each and when; every version of both, with
entered-in-error versions marked and their reasons; each discharge with its 72-hour follow-up, every
contact and attempt, and whether it was made within the 72 hours or missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..core.clinical.discharge import DISCHARGE_TYPES, Discharge, uk_local, uk_text
from ..core.clinical.plan_content import PersonSection
from ..core.clinical.wording import long_date
from .bidi import paragraph
from .branding import Branding
from .fonts import FontSet
from .pages import PageDecor, Styles, body_width, build_pdf, grid, make_styles

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
class DischargePart:
    """One discharge and its follow-up, in words (never a rating)."""

    heading: str  # "Discharged 11:00 on 27 November 2026 (UK time)"
    facts: tuple[tuple[str, str], ...]  # kind, owner, due by, where the follow-up stands, recorded by, note
    contacts: tuple[tuple[str, str, str, str], ...]  # when (UK), what happened, note, recorded by and when


@dataclass(frozen=True)
class ClinicianRecord:
    patient: tuple[tuple[str, str], ...]  # label, value: name, NHS number, date of birth, ...
    name: str  # as the person is known (preferred name)
    nhs_number: str
    trust_name: str
    printed_by: str
    printed_at: datetime
    formulation: RecordPart
    plan: RecordPart
    legal_name: str = ""  # given and family name, on every page
    date_of_birth: str = ""  # "4 May 1979", on every page
    discharges: tuple[DischargePart, ...] = ()  # newest first


def _uk_when(at: datetime) -> str:
    return f"{uk_local(at):%H:%M} on {long_date(uk_local(at).date())}"


def discharge_parts(episodes: Iterable[Discharge], staff: Callable[[str], str],
                    now: datetime) -> tuple[DischargePart, ...]:  # fmt: skip
    """Each discharge, newest first, as the clinician record prints it: times in UK time."""
    parts = []
    for d in reversed(list(episodes)):
        if d.time_recorded:
            heading = f"Discharged {_uk_when(d.discharged_at)} (UK time)"
        else:
            heading = f"Discharged {long_date(d.discharged_on)} (time not recorded)"
        owner = d.owner or (staff(d.owner_user_id) if d.owner_user_id else "Not recorded")
        facts = [("Kind of discharge", DISCHARGE_TYPES.get(d.discharge_type or "", "Not recorded")),
                 ("Follow-up owner", owner)]  # fmt: skip
        if d.applies:
            facts.append(("72-hour follow-up due by", f"{_uk_when(d.followup_due_at)} (UK time)"))
        facts.append(("Follow-up", d.state_text(now)))
        late = d.recorded_at - d.discharged_at
        recorded = f"{_uk_when(d.recorded_at)} by {staff(d.recorded_by)}"
        if late.total_seconds() >= 3600:
            recorded += f" ({int(late.total_seconds() // 3600)} hours after the discharge)"
        facts.append(("Discharge recorded", recorded))
        if d.note:
            facts.append(("Note", d.note))
        contacts = []
        for c in d.contacts:
            what = c.label + (f"; next attempt due {uk_text(c.next_attempt_due)}" if c.next_attempt_due else "")
            contacts.append((_uk_when(c.at), what, c.note, f"{staff(c.recorded_by)}, {_uk_when(c.recorded_at)}"))
        parts.append(DischargePart(heading, tuple(facts), tuple(contacts)))
    return tuple(parts)


def identification(rec: ClinicianRecord) -> str:
    """Every page's footer: legal name (with the preferred name when it differs), date of birth and NHS
    number, the three things that tell two people apart."""
    legal = rec.legal_name or rec.name
    known = f" (known as {rec.name})" if rec.name and rec.legal_name and rec.name != rec.legal_name else ""
    born = f" · born {rec.date_of_birth}" if rec.date_of_birth else ""
    printed = long_date(rec.printed_at.date())
    return f"CONFIDENTIAL · {legal}{known}{born} · NHS number {rec.nhs_number} · printed {printed}"


def _when(at: datetime) -> str:
    return f"{long_date(at.date())} {at:%H:%M}"


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
        out.append(grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
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
        out.append(grid(rows, [width * 0.2, width * 0.2, width * 0.3, width * 0.3], fonts, branding, header=True))
    return out


def _discharges(parts: tuple[DischargePart, ...], st: Styles, fonts: FontSet, branding: Branding) -> list[Flowable]:
    width = body_width()
    big = st.title.clone("t3", fontSize=st.size * 1.5, leading=st.size * 1.9)
    out: list[Flowable] = [Paragraph(fonts.markup("Discharge and 72-hour follow-up", bold=True), big)]
    for d in parts:
        out.append(paragraph(d.heading, st.heading.clone("dh", keepWithNext=1), fonts, width, bold=True))
        rows = [[Paragraph(fonts.markup(k, bold=True), st.small), paragraph(v, st.body, fonts, width * 0.72)]
                for k, v in d.facts]  # fmt: skip
        out.append(grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
        if d.contacts:
            shares = (0.18, 0.27, 0.3, 0.25)
            head = [Paragraph(fonts.markup(h, bold=True), st.small)
                    for h in ("When (UK)", "What happened", "Note", "Recorded")]  # fmt: skip
            body = [[paragraph(c, st.small, fonts, width * w) for c, w in zip(row, shares, strict=True)]
                    for row in d.contacts]  # fmt: skip
            out.append(Spacer(1, 2 * mm))
            out.append(grid([head, *body], [width * w for w in shares], fonts, branding, header=True))
        out.append(Spacer(1, 4 * mm))
    return out


def render_clinician_record(rec: ClinicianRecord, fonts: FontSet, branding: Branding) -> bytes:
    st = make_styles(fonts, branding, 10.0)
    width = body_width()
    story: list[Flowable] = [Paragraph(fonts.markup("Safety formulation and safety plan", bold=True), st.title)]
    rows = [[Paragraph(fonts.markup(k, bold=True), st.small), paragraph(v, st.body, fonts, width * 0.72)]
            for k, v in rec.patient]  # fmt: skip
    rows.append([Paragraph(fonts.markup("Printed", bold=True), st.small),
                 Paragraph(fonts.markup(f"{_when(rec.printed_at)} by {rec.printed_by}"), st.body)])  # fmt: skip
    story.append(grid(rows, [width * 0.25, width * 0.75], fonts, branding, header=False))
    story.append(Spacer(1, 6 * mm))
    story += _part(rec.formulation, st, fonts, branding)
    story.append(Spacer(1, 8 * mm))
    story += _part(rec.plan, st, fonts, branding)
    if rec.discharges:
        story.append(Spacer(1, 8 * mm))
        story += _discharges(rec.discharges, st, fonts, branding)
    footer = identification(rec)
    decor = PageDecor(fonts, branding, rec.trust_name, footer, banner=CONFIDENTIAL, banner_colour=HexColor("#333333"),
                      body_size=10.0)  # fmt: skip
    return build_pdf(story, decor, title="Clinician record (confidential)", subject="Confidential clinician record")
