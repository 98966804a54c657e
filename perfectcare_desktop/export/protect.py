"""Password protection for a copy that is sent (email, post on a stick): AES-256 through pypdf.

reportlab's own 256-bit encryption writes a file other readers cannot open (toolchain recipes §4),
so the PDF is made unencrypted in memory and encrypted here, before anything reaches the disk.
"""

from __future__ import annotations

import io
import secrets

from pypdf import PdfReader, PdfWriter

from ..errors import InvalidInput

MIN_PASSWORD = 8


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"The PDF password must be at least {MIN_PASSWORD} characters; nothing was written. "
            "Tell the person the password by another route than the file."
        )


def protect_pdf(data: bytes, password: str) -> bytes:
    """The PDF encrypted with AES-256 (V5 R6): it opens with `password`; printing is allowed.

    The owner password is random and thrown away: nobody can lift the protection without the
    user password."""
    check_password(password)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(password, secrets.token_urlsafe(24), algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
