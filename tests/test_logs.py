"""Logs rotate, and never hold a patient detail even when an error message quotes one."""

from __future__ import annotations

import logging
from pathlib import Path

from perfectcare_desktop.errors import InvalidInput
from perfectcare_desktop.logs import MAX_BYTES, log_unexpected, setup_logging


def test_errors_are_logged_by_type_and_place_never_by_message(tmp_path: Path) -> None:
    path = setup_logging("perfectcare-test", tmp_path)
    assert path == tmp_path / "perfectcare-test.log"
    log = logging.getLogger("perfectcare.test")
    try:
        raise InvalidInput("A patient with NHS number 943 476 5919 (Siân Roberts) is already registered")
    except InvalidInput as exc:
        log_unexpected(log, "saving a patient", exc)
        log.exception("again, through logging.exception")
    for handler in logging.getLogger("perfectcare").handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "saving a patient failed: InvalidInput" in text and "test_logs.py" in text
    assert "943 476 5919" not in text and "Siân" not in text and "already registered" not in text


def test_the_log_rotates(tmp_path: Path) -> None:
    path = setup_logging("perfectcare-rotate", tmp_path)
    assert path is not None
    log = logging.getLogger("perfectcare.rotate")
    for n in range(MAX_BYTES // 60):
        log.info("event %d %s", n, "x" * 40)
    assert (tmp_path / "perfectcare-rotate.log.1").exists()
    assert path.stat().st_size <= MAX_BYTES


def test_an_unwritable_log_folder_does_not_stop_the_app(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert setup_logging("perfectcare-test", blocker / "logs") is None


def test_the_database_drivers_lines_go_to_the_file_without_their_values(tmp_path: Path, capfd) -> None:
    """psycopg logs on a logger of its own ('error ignored terminating <Pipeline ... user=ROLE>: pipeline
    aborted' after a refused batch). Without a handler Python printed it under the app's one sentence;
    it goes to the log, as its template, in the app and the CLI alike."""
    path = setup_logging("perfectcare-driver", tmp_path)
    assert path is not None
    connection = "<psycopg.Pipeline [BAD] user=pc_0a1b_dev_c2d3e4f5a6b7 database=hub>"
    logging.getLogger("psycopg").warning("error ignored terminating %r: %s", connection, "pipeline aborted")
    for handler in logging.getLogger("perfectcare").handlers:
        handler.flush()
    assert capfd.readouterr().err == ""
    text = path.read_text(encoding="utf-8")
    assert "error ignored terminating" in text and "pc_0a1b_dev" not in text
