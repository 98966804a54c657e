"""perfectcare-desktop: the clinicians' app. Heavy modules load lazily so the login window opens fast."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .config import DATA_DIR_ENV, resolve_data_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfectcare-desktop", description="PerfectCare Desktop")
    parser.add_argument("--data-dir", help=f"the store folder (default: ${DATA_DIR_ENV}, else your user data folder)")
    parser.add_argument("--self-test", action="store_true", help="check this PC can run the app, then exit")
    parser.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # batch printing's worker processes start through this exe
        import multiprocessing

        multiprocessing.freeze_support()
    args, qt_args = build_parser().parse_known_args(argv)
    from .config import load_user_settings
    from .policy import default_registry, load_settings

    settings = load_settings(load_user_settings(), default_registry())
    data_dir = resolve_data_dir(args.data_dir, settings.get("data_dir"))
    if args.qt_probe:
        from .self_test import qt_probe

        return qt_probe()
    if args.self_test:
        from .self_test import run

        return run(data_dir)
    from .ui.errors_dialog import install_error_reporter
    from .ui.main import run_app

    # Before any window: an error in a slot is logged and told, never lost to a stderr a windowed build lacks.
    reporter = install_error_reporter()
    try:
        return run_app(data_dir, [sys.argv[0], *qt_args], settings, reporter)
    finally:
        reporter.uninstall()


if __name__ == "__main__":
    sys.exit(main())
