"""PDF export: the person's copy of their safety plan (A4, large print, easy read, wallet card), the
clinician record, password protection and batch printing. reportlab only; never imports Qt.

The API (the UI's preview/print/batch dialog and the CLI call only these):

    service.patient_pdf(session, patient_id, variant="auto", *, action="export") -> PatientPdf
        PatientPdf(data: bytes, variant: str, warnings: tuple[str, ...]); one audit event.
        variant: "auto" (from the person's accessible information needs) or one of service.VARIANTS:
        "standard", "large-print", "easy-read", "wallet-card", "clinician-record".
        action: "print", "export", or "view" (an on-screen preview).
    service.variant_for(details) -> str
    service.Exporter(session)            resources loaded once; .render(patient, variant, action=...)
    batch.select_patients(session, batch.Selection(kind, patient_ids=(), review_within_days=14))
        -> list[PatientSummary] in caseload order; kind: ALL_CURRENT, CHANGED_THIS_WEEK,
        DUE_FOR_REVIEW, CHOSEN
    batch.export_batch(session, patients, variant="auto", *, out_dir=None, combined=None,
                       password=None, progress=None, cancel=None, action="print", workers=None)
        -> BatchResult(files, printed, skipped, warnings); raises batch.ExportCancelled
    protect.protect_pdf(data, password) -> bytes        AES-256 (pypdf), password >= 8 characters

Errors are PerfectCareError subclasses with a sentence for the user (InvalidInput, NotFound,
StoreNotWritable, ExportCancelled). Fonts or branding that fell back to a default never stop a print:
they are listed in `warnings` for the caller to show. Nothing is written to disk except by
export_batch, into the folder or file the user chose (docs/pdf.md).
"""
