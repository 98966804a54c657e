"""One patient's PDF from the store, in memory, with an audit event. The API the UI and the CLI call.

    pdf = patient_pdf(session, patient_id, "auto", action="print")   # -> PatientPdf (bytes, variant, warnings)

What is printed on the person's copies: the AGREED plan in use (if there is none, the current draft,
marked "Draft — not yet agreed" on every page); the CURRENT crisis directory with its "checked on"
date (not the version the plan was written with: numbers change); the agreed and review dates. A
person with no plan, an offer declined or an ended plan gets a clear refusal (NotFound).

Every call records one audit event (`print`, `export`, or `view` for an on-screen preview) naming the
variant, never the content. Nothing is written to disk here.

A person's copy comes with what the clinician must hear before printing it (`PatientPdf.problems`,
core/clinical/print_checks.py: two versions not merged, a draft, a nearly empty plan) and `crisis_warning`
when the crisis numbers were checked more than 12 months before the store's today. The PDF is made
all the same: the dialog asks, a batch leaves such people out unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from ..core.access.session import Session
from ..core.clinical.crisis_directory import CrisisDirectory, load_directory, stale_warning
from ..core.clinical.discharge import load_discharges
from ..core.clinical.formulations import FORMULATION_LAYOUTS, NOTE_LABELS, load_formulation
from ..core.clinical.plan_content import PlanContent, person_view
from ..core.clinical.plan_layout import LayoutCatalogue, load_catalogue
from ..core.clinical.plans import load_plan
from ..core.clinical.print_checks import PrintProblem, needs_problems, print_problems, version_to_print
from ..core.clinical.statuses import ENTERED_IN_ERROR
from ..core.clinical.wording import long_date
from ..core.patients.details import PatientDetails, PatientSummary
from ..core.storage.payloads import without_lone_surrogates
from ..core.storage.versions import VersionInfo
from ..errors import InvalidInput
from .branding import Branding, load_branding
from .clinician import ClinicianRecord, NoteLine, RecordPart, VersionLine, discharge_parts, render_clinician_record
from .copies import render_copy
from .fonts import FontSet, load_fonts
from .person import PersonCopy
from .variants import AUTO, CLINICIAN_RECORD, EASY_READ, LARGE_PRINT, PERSON_VARIANTS, STANDARD, VARIANTS

__all__ = [
    "AUTO",
    "CLINICIAN_RECORD",
    "PERSON_VARIANTS",
    "VARIANTS",
    "Exporter",
    "PatientPdf",
    "patient_pdf",
    "variant_for",
]
AUDIT_ACTIONS = ("print", "export", "view")
T = TypeVar("T")


def variant_for(details: PatientDetails) -> str:
    """The person's copy that meets their recorded accessible information needs (easy read is
    printed at 16 pt, so it also meets a large-print need)."""
    if "easy read" in details.access_needs:
        return EASY_READ
    if "large print" in details.access_needs:
        return LARGE_PRINT
    return STANDARD


@dataclass(frozen=True)
class PatientPdf:
    data: bytes
    variant: str  # the variant printed ("auto" resolved)
    warnings: tuple[str, ...] = ()  # fonts or branding that fell back to a default
    problems: tuple[PrintProblem, ...] = ()  # ask before printing (person's copies only; print_checks.py)
    crisis_warning: str | None = None  # the crisis numbers are more than 12 months old


@dataclass
class Exporter:
    """Loads fonts, branding, layouts and the crisis directory once, for one PDF or a batch of many."""

    session: Session
    directory: CrisisDirectory = field(default_factory=load_directory)
    fonts: FontSet = field(default_factory=load_fonts)
    branding: Branding = field(default_factory=load_branding)
    plan_layouts: LayoutCatalogue = field(default_factory=load_catalogue)
    formulation_layouts: LayoutCatalogue = field(
        default_factory=lambda: load_catalogue(layout_type=FORMULATION_LAYOUTS)
    )
    _staff: dict[str, str] | None = None
    cleaned: list[str] = field(default_factory=list)  # copies that held a lone surrogate, by version id

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.fonts.problems + self.branding.problems + tuple(self.cleaned)

    def _printable(self, plain: T, version_id: str) -> T:
        """What a copy is laid out from, a lone UTF-16 surrogate (half a pair, from another program's
        JSON escape: a save here cleans it) made U+FFFD and named, as export does: the fonts have no
        glyph for it, so it would print as an empty box with no word said."""
        plain, changed = without_lone_surrogates(plain)
        note = (
            f"the copy made from version {version_id} held an invalid character (a lone UTF-16 surrogate, "
            "written by another program), printed as U+FFFD; retype that text in the app and save it"
        )
        if changed and note not in self.cleaned:
            self.cleaned.append(note)
        return plain

    @property
    def trust_name(self) -> str:
        return self.branding.trust_name or self.session.store.organisation

    def staff(self, user_id: str) -> str:
        if self._staff is None:
            self._staff = self.session.users.staff_names()
        return self._staff.get(user_id, "unknown user")

    # --- the person's copy -----------------------------------------------------------------------
    @property
    def crisis_warning(self) -> str | None:
        """Said to the clinician before printing, and to admins: numbers checked over 12 months ago."""
        return stale_warning(self.directory, self.session.store.clock.now().date())

    def problems(self, patient: PatientSummary) -> tuple[PrintProblem, ...]:
        """What is wrong with printing this person's copy (print_checks.py), the involvement cross-check
        against the safety formulation as it is now included; NotFound: nothing to print."""
        pid = patient.record_id
        formulation = load_formulation(self.session, pid, audit_view=False)
        return print_problems(load_plan(self.session, pid, audit_view=False), formulation)

    def person_copy(self, patient: PatientSummary) -> tuple[PersonCopy, str]:
        """What the person's copy shows, and the plan version it was made from."""
        state = load_plan(self.session, patient.record_id, audit_view=False)
        version, draft = version_to_print(state)  # NotFound, in words, when there is nothing to print
        content = PlanContent.from_payload(version.payload)
        layout = self.plan_layouts.for_record(content.layout)
        agreed_on = None
        if not draft and version.payload.get("agreed_on"):
            agreed_on = datetime.fromisoformat(str(version.payload["agreed_on"])).date()
        copy = PersonCopy(
            layout=layout,
            sections=tuple(person_view(layout, content)),
            directory=self.directory,
            name=patient.details.display_name,
            agreed_on=agreed_on,
            review_due=None if draft else version.review_due,
            draft=draft,
            trust_name=self.trust_name,
            printed_on=self.session.store.clock.now().date(),
        )
        return self._printable(copy, version.version_id), version.version_id

    # --- the clinician record --------------------------------------------------------------------
    def _line(self, v: VersionInfo, status: str, remark: str = "") -> VersionLine:
        return VersionLine(v.version_id, status, self.staff(v.author_id), v.created_at, v.signed, remark)

    def _history(self, history: tuple[VersionInfo, ...], display: object) -> tuple[VersionLine, ...]:
        lines = []
        for v in history:
            if v.status == ENTERED_IN_ERROR:
                marks = str(v.payload.get("marks", ""))
                remark = f"marks version {marks[:8]} as entered in error: {v.payload.get('reason', '')}"
                lines.append(self._line(v, "Entered in error", remark))
            else:
                lines.append(self._line(v, display(v)))  # type: ignore[operator]
        return tuple(lines)

    def clinician_record(self, patient: PatientSummary) -> tuple[ClinicianRecord, str]:
        pid = patient.record_id
        form = load_formulation(self.session, pid, audit_view=False)
        shown = form.in_use
        sections: tuple = ()
        facts: list[tuple[str, str]] = []
        if shown is not None:
            content = PlanContent.from_payload(shown.payload)
            layout = self.formulation_layouts.for_record(content.layout)
            parts = {s.key: s.part for s in layout.sections}
            sections = tuple((parts.get(s.key, ""), s) for s in person_view(layout, content, for_clinicians=True))
            if shown.review_due:
                facts.append(("Review due", long_date(shown.review_due)))
            if shown.payload.get("safety_plan_version"):
                facts.append(("Safety plan version", str(shown.payload["safety_plan_version"])))
        notes = tuple(
            NoteLine(NOTE_LABELS.get(n.kind, n.kind), n.about, self.staff(n.version.author_id), n.version.created_at,
                     n.text, n.withdrawn_reason)
            for n in form.notes
        )  # fmt: skip
        formulation = RecordPart(
            "Safety formulation",
            self._line(shown, form.display_status(shown)) if shown else None,
            sections,
            tuple(facts),
            notes,
            self._history(form.history, form.display_status),
        )

        plan_state = load_plan(self.session, pid, audit_view=False)
        plan_v = plan_state.agreed or plan_state.current
        plan_sections: tuple = ()
        plan_facts: list[tuple[str, str]] = []
        if plan_v is not None:
            content = PlanContent.from_payload(plan_v.payload)
            layout = self.plan_layouts.for_record(content.layout)
            plan_sections = tuple(("", s) for s in person_view(layout, content, for_clinicians=True))
            p = plan_v.payload
            if p.get("agreed_on"):
                plan_facts.append(
                    ("Agreed with the person on", long_date(datetime.fromisoformat(p["agreed_on"]).date()))
                )
            if plan_v.review_due:
                plan_facts.append(("Review due", long_date(plan_v.review_due)))
            if isinstance(p.get("declined"), dict):
                d = p["declined"]
                plan_facts.append(("Offer declined", f"{d.get('offered_on', '')}: {d.get('reason', '')}"))
                if d.get("reoffer_on"):
                    plan_facts.append(("Offer again by", long_date(datetime.fromisoformat(d["reoffer_on"]).date())))
            if content.directory:
                plan_facts.append(("Crisis contacts used", f"{content.directory.get('id', '')} "
                                   f"{content.directory.get('version', '')}"))  # fmt: skip
            if content.clinician_notes:
                plan_facts.append(("Clinician notes", content.clinician_notes))
        plan = RecordPart(
            "Safety plan",
            self._line(plan_v, plan_state.display_status(plan_v)) if plan_v else None,
            plan_sections,
            tuple(plan_facts),
            (),
            self._history(plan_state.history, plan_state.display_status),
        )
        d = patient.details
        rows = [("Name", f"{d.given_name} {d.family_name}".strip())]
        if d.preferred_name:
            rows.append(("Preferred name", d.preferred_name))
        rows += [("NHS number", d.nhs_number_formatted), ("Date of birth", long_date(d.date_of_birth))]
        if d.local_id:
            rows.append(("Local id", d.local_id))
        if d.access_needs:
            rows.append(("Accessible information needs", ", ".join(d.access_needs)))
        now = self.session.store.clock.now()
        record = ClinicianRecord(
            tuple(rows),
            d.display_name,
            d.nhs_number_formatted,
            self.trust_name,
            self.session.user.display_name or self.session.user.username,
            now,
            formulation,
            plan,
            legal_name=f"{d.given_name} {d.family_name}".strip(),  # every page: never the preferred name alone
            date_of_birth=long_date(d.date_of_birth),
            discharges=discharge_parts(load_discharges(self.session, pid), self.staff, now),
        )
        target = (shown.version_id if shown else None) or (plan_v.version_id if plan_v else patient.version_id)
        return self._printable(record, target), target

    # --- rendering -------------------------------------------------------------------------------
    def render(self, patient: PatientSummary, variant: str = AUTO, *, action: str = "export") -> PatientPdf:
        """One patient's PDF bytes, audited. Raises InvalidInput for an unknown variant or action,
        NotFound when there is no plan to print."""
        if action not in AUDIT_ACTIONS:
            raise InvalidInput(f"Unknown audit action {action!r}; use one of {', '.join(AUDIT_ACTIONS)}.")
        chosen = variant_for(patient.details) if variant == AUTO else variant
        if chosen not in VARIANTS:
            raise InvalidInput(f"Unknown PDF variant {variant!r}; choose one of {', '.join((AUTO, *VARIANTS))}.")
        problems: tuple[PrintProblem, ...] = ()
        if chosen == CLINICIAN_RECORD:
            record, target = self.clinician_record(patient)
            data = render_clinician_record(record, self.fonts, self.branding)
        else:
            copy, target = self.person_copy(patient)
            problems = self.problems(patient) + needs_problems(patient.details, chosen)
            data = render_copy(copy, chosen, self.fonts, self.branding)
        self.session.record_event(action, patient_id=patient.record_id, target_id=target, detail=f"pdf {chosen}")
        return PatientPdf(data, chosen, self.warnings, problems, self.crisis_warning)


def patient_pdf(session: Session, patient_id: str, variant: str = AUTO, *, action: str = "export",
                directory: CrisisDirectory | None = None) -> PatientPdf:  # fmt: skip
    """One patient's PDF (a person's copy or the clinician record) as bytes in memory, audited.
    `directory`: the crisis contacts in force with the trust's own from policy (default: national)."""
    patient = session.patients.get(patient_id, audit_view=False)
    exporter = Exporter(session, directory) if directory is not None else Exporter(session)
    return exporter.render(patient, variant, action=action)
