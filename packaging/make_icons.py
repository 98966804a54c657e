"""Render packaging/perfectcare.svg to the application icons: a 256 px PNG (Linux desktop entry) and
a multi-size ICO (Windows programs, shortcut and Add/Remove Programs). Run by perfectcare.spec.

Usage: python packaging/make_icons.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SVG = Path(__file__).with_name("perfectcare.svg")
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs one
    image = QImage(256, 256, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    png = out / "perfectcare.png"
    if not image.save(str(png)):
        raise SystemExit(f"make_icons: cannot write {png}")
    Image.open(png).save(out / "perfectcare.ico", sizes=ICO_SIZES)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
