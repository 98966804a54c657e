"""Errors whose message is written for the person using the program: specific, and saying what to do.

Anything raised to the UI or the CLI as a PerfectCareError is shown as it is; anything else is a bug.
"""

from __future__ import annotations


class PerfectCareError(Exception):
    """Base class: str(error) is a complete sentence for the user."""


class StoreNotFound(PerfectCareError):
    pass


class StoreAlreadyExists(PerfectCareError):
    pass


class StoreDamaged(PerfectCareError):
    pass


class StoreTooNew(PerfectCareError):
    pass


class StoreNotWritable(PerfectCareError):
    pass


class LoginFailed(PerfectCareError):
    pass


class AccountLocked(LoginFailed):
    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class NotAllowed(PerfectCareError):
    pass


class InvalidInput(PerfectCareError):
    pass


class NotFound(PerfectCareError):
    pass


class SessionLocked(PerfectCareError):
    pass


class BackupRejected(PerfectCareError):
    pass


class LayoutInvalid(InvalidInput):
    """A plan or formulation layout file (or the crisis directory) that cannot be used as it is."""


class SyncError(PerfectCareError):
    """Sync could not run this round; nothing is lost: queued changes wait for the next one."""


class HubUnreachable(SyncError):
    pass


class HubAccessRefused(SyncError):
    """The hub refused this PC's credentials or privileges (revoked, or enrolled elsewhere)."""


class NotEnrolled(SyncError):
    pass


class EnrolmentInterrupted(PerfectCareError):
    """`enrol import` stopped after the hub had claimed the file: no store was kept, and the file is used up."""


class PdfLayoutError(PerfectCareError):
    """A copy that cannot be laid out on pages (stopped at a page limit, never left running)."""
