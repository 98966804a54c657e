"""Logs for support staff: rotating files in the user's (or a policy-set) log folder.

Never a patient detail: the app logs events and error *types* only. Exception messages can quote
what was typed (an NHS number, a name), so the formatter writes a traceback's frames and the
exception's type, never its message; and Qt's own warnings are kept to their category and first
line. A test runs real work and scans the files.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback
from pathlib import Path
from types import TracebackType

LOG_DIR_ENV = "PERFECTCARE_LOG_DIR"
MAX_BYTES = 1024 * 1024
BACKUPS = 5


def default_log_dir() -> Path:
    env = os.environ.get(LOG_DIR_ENV, "").strip()
    if env:
        return Path(env)
    from platformdirs import user_log_dir

    return Path(user_log_dir("PerfectCare Desktop", "PerfectCare", opinion=False))


class NoDetailFormatter(logging.Formatter):
    """Exceptions as frames and type only: their messages may quote patient details."""

    def formatException(  # noqa: N802 - logging API
        self, ei: tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
    ) -> str:
        exc_type, _exc, tb = ei
        # File, line and function only: no source text, no values.
        frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in traceback.extract_tb(tb))
        return f"Traceback (most recent call last):\n{frames}{exc_type.__name__ if exc_type else 'Exception'}"


class _TemplateOnly(logging.Handler):
    """Passes a driver's log record on as its message template, without the values put into it."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        self.target.handle(logging.makeLogRecord({**record.__dict__, "args": None, "exc_info": None,
                                                  "exc_text": None}))  # fmt: skip


def _driver_logs_to_file(ours: logging.Handler | None) -> None:
    """psycopg writes to a logger of its own: 'error ignored terminating <Pipeline ...>: pipeline
    aborted' when the hub refuses or cancels an insert while executemany is still sending push's
    batch (the first error is raised to us and handled; this is psycopg failing again as it ends
    the pipeline). With no handler there, Python printed such lines on the terminal under our one
    sentence. They go to the log file instead, as the template only: the values name the
    connection, and so the PC's hub role."""
    driver = logging.getLogger("psycopg")
    for old in [h for h in driver.handlers if isinstance(h, _TemplateOnly | logging.NullHandler)]:
        driver.removeHandler(old)
    driver.addHandler(_TemplateOnly(ours) if ours else logging.NullHandler())  # no log folder: dropped
    driver.propagate = False


def setup_logging(program: str, folder: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Log `program` (perfectcare-desktop / perfectcare-admin) to a rotating file; returns its path,
    or None when no folder can be written (a locked-down profile must not stop anyone working)."""
    folder = folder or default_log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / f"{program}.log", maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError:
        _driver_logs_to_file(None)
        return None
    handler.setFormatter(NoDetailFormatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"))
    root = logging.getLogger("perfectcare")
    root.setLevel(level)
    for old in [h for h in root.handlers if getattr(h, "_perfectcare", False)]:
        root.removeHandler(old)
        old.close()
    handler._perfectcare = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    _driver_logs_to_file(handler)  # the app and the CLI alike
    return folder / f"{program}.log"


def log_unexpected(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """An unexpected error: its type and where, never its message."""
    logger.error("%s failed: %s", what, type(exc).__name__, exc_info=(type(exc), exc, exc.__traceback__))


def no_detail_traceback(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None) -> str:
    """An error as its type and, for each frame, module, line and function: never the message, the
    source text or a value (any of them may quote a patient's words). Causes are named the same way."""
    lines: list[str] = []
    seen: set[int] = set()
    while True:
        lines.append(f"{exc_type.__module__}.{exc_type.__qualname__}")
        for frame, lineno in traceback.walk_tb(tb):
            module = frame.f_globals.get("__name__", "?")
            lines.append(f"  {module}, line {lineno}, in {frame.f_code.co_qualname}")
        if exc is None:
            break
        seen.add(id(exc))
        nxt = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if nxt is None or id(nxt) in seen or len(seen) >= 5:
            break
        lines.append("which was raised while handling or because of:")
        exc, exc_type, tb = nxt, type(nxt), nxt.__traceback__
    return "\n".join(lines)
