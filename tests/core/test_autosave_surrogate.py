"""An autosave of text holding a lone surrogate (pasted from another program) is written and read back
exactly; it used to raise UnicodeEncodeError on every autosave tick."""

from __future__ import annotations

from datetime import date

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.patients.details import PatientDetails
from perfectcare_desktop.core.storage import autosave


def test_an_autosave_with_a_lone_surrogate_is_kept(session: Session) -> None:
    pid = session.patients.add(PatientDetails("Siân", "Roberts", date(1991, 2, 3), "9434765919"))
    payload = {"sections": {"warning_signs": {"entries": [{"text": "I stop \ud800 answering"}]}}}
    autosave.write(session, pid, "safety_plan", None, None, payload)
    saved = autosave.read(session, pid, "safety_plan")
    assert saved is not None and saved.payload == payload
