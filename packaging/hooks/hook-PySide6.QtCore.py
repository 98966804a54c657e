# Overrides PyInstaller's hook (hookspath wins): the same collection without Qt's own translations
# (7 MB): the app installs no QTranslator, so Qt's dialogs are in English whatever they ship. When
# the app is translated, keep the languages it offers here.
from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
datas = [d for d in datas if "/translations" not in d[1].replace("\\", "/")]
