# Overrides PyInstaller's hook (hookspath wins): the same collection, less the Qt plugins a ward PC's
# desktop app never loads. Dropped here, before PyInstaller scans the plugins' own dependencies, so
# what only they need (Qt Quick and QML for the virtual keyboard, GTK and cairo for the GTK theme)
# stays out too. Kept: xcb, wayland, offscreen (the self-test), windows, image formats, icon engines,
# print support, the XDG portal theme, compose and ibus input (accented letters, IMEs).
from fnmatch import fnmatch

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

_DROP = [
    "*/plugins/platforminputcontexts/*virtualkeyboard*",
    "*/plugins/egldeviceintegrations/*",
    "*/plugins/generic/*",  # evdev/tslib/tuio input for kiosks without a window system
    "*/plugins/platformthemes/*gtk3*",
    "*/plugins/platforms/*eglfs*",
    "*/plugins/platforms/*linuxfb*",
    "*/plugins/platforms/*vnc*",
    "*/plugins/platforms/*vkkhrdisplay*",
    "*/plugins/platforms/*minimalegl*",
    "*/plugins/platforms/*direct2d*",
]


def _kept(entry):
    source = entry[0].replace("\\", "/")
    return not any(fnmatch(source, pattern) for pattern in _DROP)


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [b for b in binaries if _kept(b)]
