"""Smoke-test a built PerfectCare Desktop bundle, then time its cold start. Run by packaging/build.sh.

Checks, each with a fresh temporary data folder and home (no user settings, no store):
- `perfectcare-desktop --self-test`: exit 0, "self-test passed", nothing on stderr;
- `perfectcare-admin --help` and `--version`: exit 0, nothing on stderr;
- `perfectcare-admin init` then `info` (store creation runs the bundled Alembic migrations, the
  crypto and SQLite): exit 0, nothing on stderr;
- `perfectcare-admin hub devices` against a port where no hub listens: exit 1, "Cannot reach the hub"
  (the bundled psycopg and its libpq load);
- the PDF fonts in resources/fonts register with reportlab with no problem reported, for every role
  perfectcare_desktop/export/fonts.py needs (the checkout's code, the bundle's files).

Then the cold start of the frozen app, as bench/bench_ui.py measures the source tree's: spawn to the
first paint of the login window (offscreen, a store present, median of 5 after a warm-up run;
packaging/entry_desktop.py does the timing when PERFECTCARE_FIRST_PAINT_FILE is set). And the
bundle's size. Exit 1 on any failure, each one named.

Usage: python packaging/check_bundle.py BUNDLE_DIR [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The offscreen platform says this of every top-level window (pyproject's qt_log_ignore, too).
HARMLESS_STDERR = ("This plugin does not support propagateSizeHints()",)
ADMIN, PASSWORD = "smoke", "smoke test password 1"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFECTCARE_", "PYTHON", "QT_"))}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"),
               XDG_CACHE_HOME=str(home / "cache"), PERFECTCARE_POLICY_FILE=str(home / "no-policy.json"))  # fmt: skip
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _run(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def _unexpected(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip() and ln.strip() not in HARMLESS_STDERR]


def smoke(bundle: Path, home: Path) -> list[str]:
    desktop, admin = bundle / "perfectcare-desktop", bundle / "perfectcare-admin"
    if sys.platform == "win32":
        desktop, admin = desktop.with_suffix(".exe"), admin.with_suffix(".exe")
    env = _env(home)
    store = home / "store"
    fast_kdf = {**env, "PERFECTCARE_INSECURE_FAST_KDF": "1"}  # a smoke test, not a real store
    steps: list[tuple[str, list[str], dict[str, str], str | None, str]] = [
        ("desktop --self-test", [str(desktop), "--self-test", "--data-dir", str(home / "empty")], env, None,
         "self-test passed"),
        ("admin --help", [str(admin), "--help"], env, None, "usage: perfectcare-admin"),
        ("admin --version", [str(admin), "--version"], env, None, "perfectcare-admin "),
        ("admin init", [str(admin), "init", "--org", "Smoke Test Trust", "--admin", ADMIN, "--password-stdin",
                        "--data-dir", str(store)], fast_kdf, f"{PASSWORD}\n", "RECOVERY KEY"),
        ("admin info", [str(admin), "info", "--data-dir", str(store)], env, None, "Schema:"),
    ]  # fmt: skip
    failures = []
    for name, cmd, step_env, stdin, expected in steps:
        t0 = time.perf_counter()
        result = _run(cmd, step_env, stdin)
        took = time.perf_counter() - t0
        noise = _unexpected(result.stderr)
        if result.returncode != 0 or expected not in result.stdout or noise:
            failures.append(f"{name}: exit {result.returncode}, stdout {result.stdout[-800:]!r}, stderr {noise!r}")
            print(f"FAIL  {name} ({took:.2f} s)")
        else:
            print(f"ok    {name} ({took:.2f} s)")
        if name == "desktop --self-test":
            print("      " + "\n      ".join(result.stdout.strip().splitlines()))
    failures += _hub_client(admin, env)
    failures += _fonts(bundle)
    return failures


def _hub_client(admin: Path, env: dict[str, str]) -> list[str]:
    """The bundled hub client (psycopg with its own libpq) loads and reports an unreachable hub in words:
    a port nothing listens on, so no server is needed here."""
    result = _run([str(admin), "hub", "devices", "--url", "postgresql://127.0.0.1:9/perfectcare"], env)
    if result.returncode != 1 or "Cannot reach the hub" not in result.stderr:
        print("FAIL  admin hub devices (unreachable hub)")
        return [f"hub client: exit {result.returncode}, stderr {result.stderr[-800:]!r}"]
    print("ok    admin hub devices (unreachable hub reported in words)")
    return []


def _fonts(bundle: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from perfectcare_desktop.export.fonts import load_fonts

    folder = bundle / "_internal" / "resources" / "fonts"
    fonts = load_fonts([folder])
    if fonts.problems or not fonts.embedded:
        print("FAIL  bundled PDF fonts")
        return [f"bundled PDF fonts ({folder}): {' '.join(fonts.problems)}"]
    print(f"ok    bundled PDF fonts: {fonts.body}, {fonts.bold}, {fonts.arabic}, {fonts.arabic_bold}, {fonts.emoji}")
    return []


def _first_paint(desktop: Path, store: Path, env: dict[str, str]) -> float:
    with tempfile.NamedTemporaryFile(prefix="pc-first-paint-", delete=False) as fh:
        out = Path(fh.name)
    try:
        run_env = {**env, "PERFECTCARE_FIRST_PAINT_FILE": str(out)}
        spawned = time.time()
        run_env["PERFECTCARE_SPAWNED_AT"] = repr(spawned)
        result = subprocess.run([str(desktop), "--data-dir", str(store)], env=run_env, capture_output=True,
                                text=True, timeout=60)  # fmt: skip
        if result.returncode != 0 or not out.read_text().strip():
            raise RuntimeError(f"the frozen app did not report its first paint (exit {result.returncode}): "
                               f"{result.stderr[-500:]}")  # fmt: skip
        return float(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def cold_start(bundle: Path, home: Path, runs: int) -> float:
    desktop = bundle / ("perfectcare-desktop.exe" if sys.platform == "win32" else "perfectcare-desktop")
    env = _env(home)
    _first_paint(desktop, home / "store", env)  # warm-up: the OS file cache, as on a PC's second start
    times = [_first_paint(desktop, home / "store", env) for _ in range(runs)]
    return statistics.median(times)


def size_mib(folder: Path) -> float:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pc-bundle-check-") as folder:
        home = Path(folder)
        failures = smoke(args.bundle, home)
        if failures:
            print("smoke test FAILED:\n  " + "\n  ".join(failures))
            return 1
        print("smoke test passed")
        median = cold_start(args.bundle, home, args.runs)
    files = sum(1 for p in args.bundle.rglob("*") if p.is_file())
    print(f"bundle size: {size_mib(args.bundle):.1f} MiB in {files} files")
    print(f"frozen cold start to the login window's first paint: {median:.3f} s (median of {args.runs}, offscreen)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
