"""Frozen entry point of perfectcare-admin (console): the same function the pip script calls."""

import sys

from perfectcare_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
