"""Batch printing for a team: choose people from the caseload, make one combined PDF or one file per
person, with progress and Cancel.

    people = select_patients(session, Selection(DUE_FOR_REVIEW))
    result = export_batch(session, people, "auto", out_dir=folder, progress=cb, cancel=event)

- Order: caseload order (family name, given name), so a printed pile matches the team's list.
- File names carry no patient identifier: `safety-plan-001.pdf` ... in that order, or the one
  combined file the user named. Existing files are never overwritten (choose an empty folder).
- Everything is written under a hidden temporary name in the target folder and renamed only when the
  whole batch has succeeded; a cancelled or failed batch leaves no file behind. An unwritable folder
  is refused before any work.
- `progress(done, total)` after each person; `cancel` (a threading.Event or a callable returning
  True) is checked between people. Both are called on the worker thread that runs the batch.
- Each person printed is one audit event (see service.py). People with nothing to print (no plan, an
  offer declined) are skipped and counted, never named in the result.
- People whose copy needs a look first (core/clinical/print_checks.py: two versions not merged, no agreed plan
  so a draft would print, fewer than three sections filled) are LEFT OUT unless `include_unresolved`,
  and listed in `BatchResult.left_out` with the reasons in words (the UI may show their names; the
  CLI prints counts per reason only). A person's copy that cannot be laid out (PdfLayoutError) is
  skipped and listed in `BatchResult.failed` with the sentence; the batch goes on with the others.
- With `workers` > 1, the PDFs are laid out in separate processes (the store is read and the audit
  written here, in this one); the figures are in bench/README.md.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from ..core.access.session import Session
from ..core.clinical.crisis_directory import CrisisDirectory
from ..core.clinical.print_checks import KIND_LABELS, PrintProblem
from ..core.patients.caseload import caseload
from ..core.patients.details import PatientSummary
from ..core.storage.files import ensure_writable_folder, write_new_private
from ..errors import InvalidInput, NotFound, PdfLayoutError, PerfectCareError, StoreNotWritable
from . import service
from .protect import check_password, protect_pdf

ALL_CURRENT, CHANGED_THIS_WEEK, DUE_FOR_REVIEW, CHOSEN = "all-current", "changed-this-week", "due-for-review", "chosen"
FILE_PATTERN = "safety-plan-{:03d}.pdf"
PRINTABLE = ("agreed", "revision")
POOL_THRESHOLD = 24  # below this a process pool costs more to start than it saves

Progress = Callable[[int, int], None]
Cancel = threading.Event | Callable[[], bool]


class ExportCancelled(PerfectCareError):
    pass


@dataclass(frozen=True)
class Selection:
    kind: str  # ALL_CURRENT, CHANGED_THIS_WEEK, DUE_FOR_REVIEW or CHOSEN
    patient_ids: tuple[str, ...] = ()  # for CHOSEN
    review_within_days: int = 14  # for DUE_FOR_REVIEW: due within this many days, or overdue


@dataclass(frozen=True)
class LeftOut:
    """A person not printed, in memory only: the UI may show the name; logs and the CLI never do."""

    patient_id: str
    name: str
    reasons: tuple[str, ...]  # sentences
    kinds: tuple[str, ...] = ()  # print_checks kinds; () for a copy that could not be laid out


@dataclass(frozen=True)
class BatchResult:
    files: tuple[Path, ...]  # what was written (one combined file, or one per person; none if nobody printed)
    printed: int
    skipped: int  # chosen people with nothing to print
    warnings: tuple[str, ...]
    left_out: tuple[LeftOut, ...] = ()  # plans that need a look first, not printed (include_unresolved=False)
    failed: tuple[LeftOut, ...] = ()  # copies that could not be laid out, not printed
    included: int = 0  # people printed although their plan needed a look (include_unresolved=True)
    crisis_warning: str | None = None  # the crisis numbers printed are more than 12 months old

    def counts_by_reason(self) -> dict[str, int]:
        """People left out per reason, in words, for the CLI and logs (no names). A person with two
        reasons counts under each."""
        counts: dict[str, int] = {}
        for person in self.left_out:
            for kind in person.kinds:
                label = KIND_LABELS.get(kind, kind)
                counts[label] = counts.get(label, 0) + 1
        if self.failed:
            counts["the copy could not be laid out"] = len(self.failed)
        return counts


def select_patients(session: Session, selection: Selection) -> list[PatientSummary]:
    """The people a selection covers, in caseload order."""
    today = session.store.clock.now().date()
    rows = sorted(caseload(session), key=lambda r: (r.patient.details.family_name.casefold(),
                                                     r.patient.details.given_name.casefold(), r.record_id))  # fmt: skip
    if selection.kind == ALL_CURRENT:
        chosen = [r for r in rows if r.plan_state in PRINTABLE]
    elif selection.kind == CHANGED_THIS_WEEK:
        since = today - timedelta(days=7)
        chosen = [r for r in rows if r.plan_state in (*PRINTABLE, "draft")
                  and r.plan_updated_at is not None and r.plan_updated_at.date() > since]  # fmt: skip
    elif selection.kind == DUE_FOR_REVIEW:
        chosen = [
            r for r in rows if r.plan_state in PRINTABLE and r.review_due_within(today, selection.review_within_days)
        ]
    elif selection.kind == CHOSEN:
        wanted = set(selection.patient_ids)
        chosen = [r for r in rows if r.record_id in wanted]
        if len(chosen) < len(wanted):
            raise NotFound(
                "One of the chosen people is not in the caseload (withdrawn or unknown); nothing was printed."
            )
    else:
        raise InvalidInput(f"Unknown selection {selection.kind!r}.")
    return [r.patient for r in chosen]


def _cancelled(cancel: Cancel | None) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def _check_target(out_dir: Path | None, combined: Path | None, count: int) -> tuple[Path, list[Path]]:
    if (out_dir is None) == (combined is None):
        raise InvalidInput("Give either a folder for one file per person or one combined file, not both.")
    folder = out_dir if out_dir is not None else combined.parent  # type: ignore[union-attr]
    try:
        ensure_writable_folder(folder)
    except OSError as exc:
        raise StoreNotWritable(
            f"Cannot write to the folder {folder} ({exc.strerror or exc}); nothing was printed. Choose another folder."
        ) from exc
    targets = [combined] if combined is not None else [folder / FILE_PATTERN.format(n) for n in range(1, count + 1)]
    existing = [t for t in targets if t.exists()]
    if existing:
        raise InvalidInput(
            f"{existing[0]} already exists; choose an empty folder or another file name (files are never "
            "overwritten). Nothing was printed."
        )
    return folder, targets


def _write_hidden(folder: Path, final: Path, data: bytes) -> Path:
    """A hidden side file, owner-only from the first byte (the PDFs hold people's plans)."""
    tmp = folder / f".{final.name}.{uuid.uuid4().hex}.partial"
    write_new_private(tmp, data)
    return tmp


# --- worker processes: lay out a PDF from plain data (no store, no key) --------------------------------
def _render_plain(kind: str, data: object, variant: str) -> bytes:
    from .branding import load_branding
    from .clinician import render_clinician_record
    from .copies import render_copy
    from .fonts import load_fonts

    fonts, branding = load_fonts(), load_branding()
    if kind == "clinician":
        return render_clinician_record(data, fonts, branding)  # type: ignore[arg-type]
    return render_copy(data, variant, fonts, branding)  # type: ignore[arg-type]


def export_batch(session: Session, patients: list[PatientSummary], variant: str = service.AUTO, *,
                 out_dir: Path | None = None, combined: Path | None = None, password: str | None = None,
                 progress: Progress | None = None, cancel: Cancel | None = None, action: str = "print",
                 workers: int | None = None, directory: CrisisDirectory | None = None,
                 include_unresolved: bool = False) -> BatchResult:  # fmt: skip
    """Print the people given (see select_patients) as one combined PDF or one file per person.
    People whose plan needs a look first are left out unless `include_unresolved`; a copy that cannot
    be laid out is left out with its sentence; both are in the result, and the others print."""
    if not patients:
        raise InvalidInput("No one matches that choice, so there is nothing to print.")
    if variant != service.AUTO and variant not in service.VARIANTS:
        raise InvalidInput(
            f"Unknown PDF variant {variant!r}; choose one of {', '.join((service.AUTO, *service.VARIANTS))}."
        )
    if action not in service.AUDIT_ACTIONS:
        raise InvalidInput(f"Unknown audit action {action!r}.")
    if password is not None:
        check_password(password)
    folder, targets = _check_target(out_dir, combined, len(patients))
    exporter = service.Exporter(session, directory) if directory is not None else service.Exporter(session)
    if workers is None:
        # A frozen build (PyInstaller) re-runs the app in each spawned worker unless its entry point
        # calls multiprocessing.freeze_support(): there, one process until the packaging says so.
        frozen = getattr(sys, "frozen", False)
        workers = min(os.cpu_count() or 1, 4) if len(patients) >= POOL_THRESHOLD and not frozen else 1
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 1 else None
    written: list[Path] = []  # hidden temporary files, renamed at the very end
    pdfs: list[bytes] = []
    skipped = 0
    left_out: list[LeftOut] = []
    failed: list[LeftOut] = []
    included = 0
    total = len(patients)
    try:
        pending: list[tuple[Future[bytes], PatientSummary, str, str]] = []
        done = 0

        def moved() -> None:
            if progress:
                progress(done + skipped + len(left_out) + len(failed), total)

        def layout_failed(exc: PdfLayoutError, patient: PatientSummary) -> None:
            # Not printed, so not audited as printed; the others go on.
            failed.append(LeftOut(patient.record_id, patient.details.display_name, (str(exc),)))
            moved()

        def finish(data: bytes, patient: PatientSummary, target: str, chosen: str) -> None:
            nonlocal done
            # Audited once the PDF exists: a batch cancelled before a person's turn did not print them.
            session.record_event(action, patient_id=patient.record_id, target_id=target, detail=f"pdf {chosen} batch")
            if password is not None and combined is None:
                data = protect_pdf(data, password)
            if combined is None:
                written.append(_write_hidden(folder, targets[len(written)], data))
            else:
                pdfs.append(data)
            done += 1
            moved()

        def collect(fut: Future[bytes], patient: PatientSummary, target: str, chosen: str) -> None:
            try:
                data = fut.result()
            except PdfLayoutError as exc:
                layout_failed(exc, patient)
                return
            finish(data, patient, target, chosen)

        for patient in patients:
            if _cancelled(cancel):
                raise ExportCancelled("The batch was cancelled; no file was written.")
            chosen = service.variant_for(patient.details) if variant == service.AUTO else variant
            problems: tuple[PrintProblem, ...] = ()
            plain: object  # a ClinicianRecord or a PersonCopy, as `kind` says (what _render_plain takes)
            try:
                if chosen == service.CLINICIAN_RECORD:
                    plain, target = exporter.clinician_record(patient)
                    kind = "clinician"
                else:
                    problems = exporter.problems(patient)
                    if problems and not include_unresolved:
                        left_out.append(LeftOut(patient.record_id, patient.details.display_name,
                                                tuple(p.sentence for p in problems),
                                                tuple(p.kind for p in problems)))  # fmt: skip
                        moved()
                        continue
                    plain, target = exporter.person_copy(patient)
                    kind = "person"
            except NotFound:
                skipped += 1
                moved()
                continue
            included += bool(problems)
            if pool is None:
                try:
                    data = _render_plain(kind, plain, chosen)
                except PdfLayoutError as exc:
                    layout_failed(exc, patient)
                    continue
                finish(data, patient, target, chosen)
            else:
                pending.append((pool.submit(_render_plain, kind, plain, chosen), patient, target, chosen))
                while len(pending) > workers * 2:  # keep the workers busy, and the results in order
                    collect(*pending.pop(0))
        for item in pending:
            if _cancelled(cancel):
                raise ExportCancelled("The batch was cancelled; no file was written.")
            collect(*item)
        if done == 0 and not (left_out or failed):
            raise NotFound("None of the chosen people has a plan to print; nothing was written.")
        if done == 0:  # nothing written: the result says who was left out and why
            return BatchResult((), 0, skipped, exporter.warnings, tuple(left_out), tuple(failed), included,
                               exporter.crisis_warning)  # fmt: skip
        if combined is not None:
            writer = PdfWriter()
            for data in pdfs:
                writer.append(PdfReader(io.BytesIO(data)))
            buf = io.BytesIO()
            writer.write(buf)
            data = buf.getvalue()
            if password is not None:
                data = protect_pdf(data, password)
            written.append(_write_hidden(folder, combined, data))
            targets = [combined]
        if _cancelled(cancel):
            raise ExportCancelled("The batch was cancelled; no file was written.")
        renamed: list[Path] = []
        try:
            for tmp, final in zip(written, targets, strict=False):
                os.replace(tmp, final)
                renamed.append(final)
        except OSError:
            for final in renamed:  # all or nothing: a half-renamed batch is taken back
                final.unlink(missing_ok=True)
            raise
        files = tuple(renamed)
        written = []
        return BatchResult(files, done, skipped, exporter.warnings, tuple(left_out), tuple(failed), included,
                           exporter.crisis_warning)  # fmt: skip
    except OSError as exc:
        raise StoreNotWritable(f"Cannot write to {folder}: {exc.strerror or exc}. No file was left behind.") from exc
    finally:
        for tmp in written:
            tmp.unlink(missing_ok=True)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
