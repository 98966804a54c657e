"""The kinds of PDF this app makes, named once (the CLI, the policy, the print dialog and the
renderers read them from here). No reportlab: policy and the UI import it cheaply."""

from __future__ import annotations

STANDARD, LARGE_PRINT, EASY_READ = "standard", "large-print", "easy-read"  # A4 copies of the person's plan
WALLET_CARD = "wallet-card"  # folded to bank-card size
PHONE = "phone"  # one column for a phone screen, every number a tap-to-call link
CLINICIAN_RECORD = "clinician-record"  # confidential, never given to the person
AUTO = "auto"  # the person's copy that meets their recorded information needs

PERSON_VARIANTS = (STANDARD, LARGE_PRINT, EASY_READ, WALLET_CARD, PHONE)
VARIANTS = (*PERSON_VARIANTS, CLINICIAN_RECORD)
LABELS = {
    AUTO: "The person's copy (from their information needs)",
    STANDARD: "Standard",
    LARGE_PRINT: "Large print",
    EASY_READ: "Easy read",
    WALLET_CARD: "Wallet card",
    PHONE: "Phone copy",
    CLINICIAN_RECORD: "Clinician record (confidential)",
}
