#!/usr/bin/env bash
# Build PerfectCare Desktop for distribution on Linux, checking each piece as it is made:
#   1. the PyInstaller one-folder bundle (packaging/perfectcare.spec), then its smoke test, cold start
#      and size (packaging/check_bundle.py);
#   2. an MSI from packaging/perfectcare.wxs with wixl, around this Linux bundle: it checks the WiX
#      source on every run (the Windows MSI is built on Windows from the same source, docs/admin-guide.md),
#      then msiinfo checks per-machine install, the UpgradeCode, the shortcut and the policy properties;
#   3. a .deb (dpkg-deb): the bundle in /opt/perfectcare-desktop, commands in /usr/bin, a desktop
#      entry and icons; then unpacked into a temporary root and checked, programs run from there.
#
# usage: packaging/build.sh [--skip-msi] [--reuse-bundle] [--out DIR]      (default DIR: dist/packaging)
#   --reuse-bundle  keep the bundle an earlier run left in DIR (still smoke-tested): for work on the
#                   MSI or the .deb
# Needs: the venv (.venv, or $PERFECTCARE_VENV) with the app; pyinstaller comes from pyproject's
# `packaging` extra. Debian packages binutils (PyInstaller), msitools + wixl (the MSI), dpkg-dev
# tools: installed with apt when run as root, otherwise named and the build stops (exit 3).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=dist/packaging
SKIP_MSI=0
REUSE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-msi) SKIP_MSI=1 ;;
    --reuse-bundle) REUSE=1 ;;
    --out) OUT="${2:?--out needs a folder}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VENV="${PERFECTCARE_VENV:-.venv}"
PY="$VENV/bin/python"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "build.sh: $*" >&2; exit 1; }
started=$SECONDS

# --- tools -----------------------------------------------------------------------------------
step "tools"
[ "$(uname -s)" = Linux ] || fail "this script builds on Linux; on Windows see docs/admin-guide.md"
need=(binutils dpkg)
[ "$SKIP_MSI" = 1 ] || need+=(msitools wixl)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh: missing Debian packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 3
  fi
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -x "$PY" ] || fail "no venv at $VENV: run ./run tests (or ./run app) first"
"$PY" -m PyInstaller --version >/dev/null 2>&1 || {
  echo "Installing PyInstaller (pyproject's packaging extra)"
  "$PY" -m pip install -q -e ".[packaging]" 2>&1 | grep -v "is ignored: it is neither" || true
}
VERSION=$("$PY" -c 'import perfectcare_desktop as p; print(p.__version__)')
echo "PerfectCare Desktop $VERSION; PyInstaller $("$PY" -m PyInstaller --version); output in $OUT"

# --- 1. bundle --------------------------------------------------------------------------------
step "PyInstaller bundle"
BUNDLE="$OUT/bundle/perfectcare-desktop"
if [ "$REUSE" = 1 ] && [ -x "$BUNDLE/perfectcare-desktop" ]; then
  echo "reusing $BUNDLE"
else
  t0=$SECONDS
  rm -rf "$OUT/bundle"
  "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT/bundle" --workpath "$OUT/pyinstaller-work" \
    packaging/perfectcare.spec
  echo "built in $((SECONDS - t0)) s: $BUNDLE"
fi

step "smoke test, cold start, size"
"$PY" packaging/check_bundle.py "$BUNDLE" | tee "$OUT/bundle-check.txt" || fail "the bundle failed its smoke test"

# --- 2. MSI (wixl) ----------------------------------------------------------------------------
if [ "$SKIP_MSI" = 0 ]; then
  step "MSI with wixl $(dpkg-query -W -f='${Version}' wixl)"
  MSI="$OUT/PerfectCare-Desktop-$VERSION-linux-bundle-wxs-check.msi"  # Linux programs inside: never deploy
  "$PY" packaging/harvest.py "$BUNDLE" "$OUT/bundle-files.wxs"
  rm -f "$MSI"
  # wixl finds sources only by a path relative to where it runs, so it runs in $OUT. It warns (GLib)
  # that it ignores Property/@Secure; WiX on Windows honours it.
  t0=$SECONDS
  (cd "$OUT" && wixl -a x64 -D Version="$VERSION" -D SourceDir=bundle/perfectcare-desktop -D ExeSuffix= \
    -D Toolset=wixl -o "$MSI" "$OLDPWD/packaging/perfectcare.wxs" bundle-files.wxs) \
    2> >(grep -v -e "has no property named 'Secure'" -e '^$' >&2)
  echo "wixl built it in $((SECONDS - t0)) s"
  # The component conditions wixl 0.101 cannot express (see perfectcare.wxs, policy components).
  msibuild "$MSI" -q "UPDATE \`Component\` SET \`Condition\` = 'HUBURL' WHERE \`Component\` = 'PolicyHubUrl'"
  msibuild "$MSI" -q "UPDATE \`Component\` SET \`Condition\` = 'DATADIR' WHERE \`Component\` = 'PolicyDataDir'"
  msibuild "$MSI" -q \
    "UPDATE \`Component\` SET \`Condition\` = 'IDLELOCKMINUTES' WHERE \`Component\` = 'PolicyIdleLock'"
  for table in Property Upgrade Shortcut Registry Component RegLocator CustomAction InstallExecuteSequence; do
    msiinfo export "$MSI" "$table" > "$OUT/msi-$table.idt"
  done
  msiinfo suminfo "$MSI" > "$OUT/msi-suminfo.txt"
  check() { grep -qP "$2" "$OUT/msi-$1" || fail "MSI check failed: $1 has no line matching $2"; }
  check Property.idt '^ALLUSERS\t1\r?$'
  check Property.idt '^UpgradeCode\t\{35039254-6BA7-4425-AC60-B3EC26748D47\}\r?$'
  check Upgrade.idt '^\{35039254-6BA7-4425-AC60-B3EC26748D47\}\t'
  check Shortcut.idt '^DesktopShortcut\tProgramMenuDir\t.*PerfectCare Desktop\t.*\[#DesktopExe\]'
  for pair in HUBURL:hub_url DATADIR:data_dir IDLELOCKMINUTES:idle_lock_minutes; do
    check Registry.idt "\t2\tSoftware\\\\Policies\\\\PerfectCare\\\\Desktop\t${pair#*:}\t\[${pair%%:*}\]\t"
  done
  check Component.idt '^PolicyHubUrl\t.*\tHUBURL\t'
  check Component.idt '^PolicyIdleLock\t.*\tIDLELOCKMINUTES\t'
  check suminfo.txt '^Template: x64;1033'
  echo "MSI: $MSI ($(du -h "$MSI" | cut -f1)); per-machine, UpgradeCode, shortcut and policy rows checked"
  grep -P '^(ALLUSERS|UpgradeCode)\t' "$OUT/msi-Property.idt"
  grep -P '^DesktopShortcut\t' "$OUT/msi-Shortcut.idt"
  grep -P 'Policies' "$OUT/msi-Registry.idt"
fi

# --- 3. .deb ----------------------------------------------------------------------------------
step ".deb"
STAGE="$OUT/deb-root"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/256x256/apps" "$STAGE/usr/share/icons/hicolor/scalable/apps" \
  "$STAGE/usr/share/doc/perfectcare-desktop"
cp -a "$BUNDLE" "$STAGE/opt/perfectcare-desktop"
ln -s /opt/perfectcare-desktop/perfectcare-desktop "$STAGE/usr/bin/perfectcare-desktop"
ln -s /opt/perfectcare-desktop/perfectcare-admin "$STAGE/usr/bin/perfectcare-admin"
ICONS="$BUNDLE/_internal/resources/app-icon"
install -m 644 "$ICONS/perfectcare.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/perfectcare-desktop.png"
install -m 644 "$ICONS/perfectcare.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/perfectcare-desktop.svg"
install -m 644 packaging/perfectcare-desktop.desktop "$STAGE/usr/share/applications/"
install -m 644 "$BUNDLE/_internal/resources/fonts/FONTS.txt" "$STAGE/usr/share/doc/perfectcare-desktop/"
# Depends: the system libraries the bundle links to but does not carry, as Debian packages.
libs=$(
  find "$BUNDLE" -type f \( -name '*.so*' -o -name 'perfectcare-*' \) -print0 \
    | LD_LIBRARY_PATH="$BUNDLE/_internal" xargs -0 ldd 2>/dev/null \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v "^$BUNDLE/" | sort -u || true
)
deps=$(for lib in $libs; do  # dpkg knows /lib/... paths, merged /usr/lib/... ones, or only the target
  dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null \
    || echo "build.sh: no Debian package owns $lib (left out of Depends)" >&2
done | cut -d: -f1 | sort -u)
glibc=$(dpkg-query -W -f='${Version}' libc6 | cut -d- -f1)
depends="libc6 (>= $glibc)"
for d in $deps; do [ "$d" = libc6 ] || depends+=", $d"; done
cat > "$STAGE/DEBIAN/control" <<EOF
Package: perfectcare-desktop
Version: $VERSION
Architecture: amd64
Maintainer: PerfectCare <support@perfectcare.example>
Section: misc
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $depends
Recommends: fonts-dejavu-core, fonts-noto-core
Description: Suicide-prevention safety plans and safety formulations, kept encrypted
 PerfectCare Desktop (perfectcare-desktop) for clinicians and its administrators'
 command line (perfectcare-admin). A self-contained build in /opt/perfectcare-desktop.
 Machine policy: /etc/perfectcare/policy.json (see the administrator's guide).
 The PDF fonts are bundled; the recommended fonts are for the screen (Qt uses
 the system's fonts), among them Urdu.
EOF
DEB="$OUT/perfectcare-desktop_${VERSION}_amd64.deb"
# xz level 1 on every core: 26 s and 93 MB here, where the default level 6 takes 165 s for 85 MB.
dpkg-deb --root-owner-group -Zxz -z1 --threads-max=0 --build "$STAGE" "$DEB" >/dev/null
echo "deb: $DEB ($(du -h "$DEB" | cut -f1)); Depends: $depends"

step ".deb unpacked into a temporary root"
dpkg-deb -c "$DEB" > "$OUT/deb-contents.txt"
for path in ./usr/share/applications/perfectcare-desktop.desktop ./usr/bin/perfectcare-desktop \
    ./usr/bin/perfectcare-admin ./opt/perfectcare-desktop/perfectcare-desktop ./opt/perfectcare-desktop/perfectcare-admin \
    ./usr/share/icons/hicolor/256x256/apps/perfectcare-desktop.png; do
  grep -q " $path\( ->\|$\)" "$OUT/deb-contents.txt" || fail ".deb has no $path"
done
TROOT=$(mktemp -d "${TMPDIR:-/tmp}/pc-deb-root.XXXXXX")
trap 'rm -rf "$TROOT"' EXIT
dpkg-deb -x "$DEB" "$TROOT"
[ "$(readlink "$TROOT/usr/bin/perfectcare-desktop")" = /opt/perfectcare-desktop/perfectcare-desktop ] \
  || fail "/usr/bin/perfectcare-desktop does not point into /opt/perfectcare-desktop"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$TROOT/usr/share/applications/perfectcare-desktop.desktop"
fi
grep -q '^Exec=perfectcare-desktop' "$TROOT/usr/share/applications/perfectcare-desktop.desktop" \
  || fail "the desktop entry does not start perfectcare-desktop"
"$TROOT/opt/perfectcare-desktop/perfectcare-admin" --version
env HOME="$TROOT/home" XDG_CONFIG_HOME="$TROOT/home/.config" XDG_STATE_HOME="$TROOT/home/.state" \
  XDG_DATA_HOME="$TROOT/home/.data" PERFECTCARE_POLICY_FILE="$TROOT/none.json" QT_QPA_PLATFORM=offscreen \
  "$TROOT/opt/perfectcare-desktop/perfectcare-desktop" --self-test --data-dir "$TROOT/check-store" | tail -1
echo ".deb checked: entries present, programs run from the unpacked tree"

step "done in $((SECONDS - started)) s"
for f in "$OUT"/*.msi "$OUT"/*.deb; do [ -e "$f" ] && du -h "$f"; done
