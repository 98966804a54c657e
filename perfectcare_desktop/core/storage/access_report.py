"""The access report for information governance (issue 16 part 8): who viewed, changed, printed or
exported one person's record, on which PC and when, for subject access requests and Caldicott reviews.

It reads this PC's own audit chain and the entries of every PC pulled from the hub (`hub_audit`, kept
only on admins' PCs, each checked against its chain before it was kept), merges them and drops the
copies (this PC's own entries come back from the hub too: the same PC, stream and number). It names
people by their accounts and PCs by the hub's labels, and shows no clinical content: only the events.
A reason typed when a version was marked entered in error is not shown (it may be clinical). Running
the report is itself audited ("access_report").
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ...errors import NotFound
from ...store.models import AuditEntry, HubAudit, HubDevice, User
from ..patients.nhs_number import format_nhs_number
from . import audit

UK = ZoneInfo("Europe/London")

WHAT = {
    "view": "Viewed",
    "create": "Created",
    "update": "Changed",
    "sign": "Signed (agreed)",
    "print": "Printed",
    "export": "Exported",
    "entered_in_error": "Marked entered in error",
    "break_glass": "Opened outside their teams (break-glass)",
    "access_report": "Access report run",
}
_KINDS = {"patient": "details", "safety_plan": "safety plan", "safety_formulation": "safety formulation",
          "formulation_note": "formulation addendum", "discharge": "discharge record"}  # fmt: skip
COLUMNS = ("When (UK time)", "Who", "What", "Which PC", "Detail")


@dataclass(frozen=True)
class AccessEvent:
    at: datetime  # Europe/London, aware
    who: str  # "Display Name (username)"
    action: str  # as audited
    what: str  # in words
    pc: str  # the hub's label of the PC, else its device id
    detail: str

    def cells(self) -> tuple[str, str, str, str, str]:
        return (f"{self.at:%d %b %Y %H:%M:%S}", self.who, self.what, self.pc, self.detail)


@dataclass(frozen=True)
class AccessReport:
    organisation: str
    nhs_number: str  # formatted, 943 476 5919
    patient_name: str
    start: date | None
    end: date | None
    generated_by: str
    generated_at: datetime  # Europe/London
    events: tuple[AccessEvent, ...]
    hub_entries: bool  # whether other PCs' entries were pulled to this PC (an admin PC enrolled with a hub)

    @property
    def period(self) -> str:
        return _period(self.start, self.end)


def _utc(day: date) -> datetime:
    """Midnight UK time at the start of `day`, as the store's naive UTC."""
    return datetime.combine(day, time(), UK).astimezone(UTC).replace(tzinfo=None)


def uk_time(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC).astimezone(UK)


def _detail(action: str, text: str) -> str:
    if action == "entered_in_error":
        return "reason recorded in the record" if text else ""
    if text in _KINDS:
        return _KINDS[text]
    if text.startswith("pdf "):
        return "PDF, " + text.removeprefix("pdf ").replace("_", " ")
    return text


def access_report(session: Any, nhs_number: str, start: date | None = None, end: date | None = None) -> AccessReport:
    """Every audit entry about the patient with this NHS number, newest first (admins only). `start`
    and `end` are UK dates, both included. Raises InvalidInput for a malformed NHS number and NotFound
    for one no patient here has; audits the run."""
    session.require_admin()
    dek = session.require_unlocked()
    patient = session.patients.find_by_nhs_number(nhs_number)
    if patient is None:
        raise NotFound(f"No patient on this PC has NHS number {format_nhs_number(nhs_number)}; nothing was written.")
    pid = patient.record_id
    since = _utc(start) if start else None
    until = _utc(end + timedelta(days=1)) if end else None
    from ...sync import device

    with session.store.reading() as conn:
        config = device.load(conn, dek)
        here = config.device_id if config else None
        streams = device.audit_streams(conn)
        labels = {d: label for d, label in conn.execute(select(HubDevice.device_id, HubDevice.label))}
        users = {u.user_id: (u.display_name, u.username) for u in conn.execute(select(User.__table__))}
        rows: dict[tuple[str, str, int], tuple[Any, ...]] = {}
        for table in (HubAudit, AuditEntry):  # this PC's own chain last: its copy wins
            q = select(table.__table__).where(table.patient_id == pid)
            if since:
                q = q.where(table.at >= since)
            if until:
                q = q.where(table.at < until)
            for e in conn.execute(q).mappings():
                if table is AuditEntry:
                    key = (here or "", device.stream_of(streams, e["seq"]), e["seq"])
                else:
                    key = (e["device_id"], e["stream"], e["seq"])
                rows[key] = (e["at"], e["user_id"], e["action"], audit.open_detail(dek, e["seq"], e["action"],
                                                                                     e["detail"]))  # fmt: skip
        hub_entries = conn.execute(select(HubAudit.seq).limit(1)).first() is not None
    events = []
    for (device_id, _stream, _seq), (at, user_id, action, detail) in sorted(
        rows.items(), key=lambda kv: (kv[1][0], kv[0][0], kv[0][2]), reverse=True
    ):
        if user_id in users:
            who = _who(*users[user_id])
        else:
            who = f"unknown account ({user_id[:8]})" if user_id else "the system"
        pc = labels.get(device_id) or (device_id or "this PC")
        if device_id == here and here:
            pc = f"{pc} (this PC)"
        what = WHAT.get(action, action.replace("_", " ").capitalize())
        events.append(AccessEvent(uk_time(at), who, action, what, pc, _detail(action, detail)))
    number = format_nhs_number(patient.details.nhs_number)
    session.record_event(
        "access_report", patient_id=pid, detail=f"{len(events)} events listed, period {_period(start, end)}"
    )
    me = session.user
    return AccessReport(
        organisation=session.store.organisation, nhs_number=number, patient_name=patient.display_name,
        start=start, end=end, generated_by=_who(me.display_name, me.username),
        generated_at=uk_time(session.now()), events=tuple(events), hub_entries=hub_entries,
    )  # fmt: skip


def _who(display_name: str, username: str) -> str:
    return f"{display_name} ({username})" if display_name and display_name != username else username


def _period(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start:%d %b %Y} to {end:%d %b %Y}"
    if start:
        return f"from {start:%d %b %Y}"
    if end:
        return f"up to {end:%d %b %Y}"
    return "all recorded"


def to_csv(report: AccessReport) -> bytes:
    """The report as CSV (UTF-8 with a byte-order mark, so Excel reads names right): a few lines saying
    whose and which period, then one row per event."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["Access report", report.organisation])
    w.writerow(["Patient", f"{report.patient_name}, NHS {report.nhs_number}"])
    w.writerow(["Period", report.period])
    w.writerow(["Generated", f"{report.generated_at:%d %b %Y %H:%M} by {report.generated_by}"])
    w.writerow([])
    w.writerow(COLUMNS)
    for e in report.events:
        w.writerow([_safe_cell(c) for c in e.cells()])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
