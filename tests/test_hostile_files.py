"""Hostile files and targets (issue 17): exports and backups pointed at devices, links, pipes and files
that already exist, as an administrator's slip or a planted link would point them. Each is refused
with a sentence (exit 1), the target is left exactly as it was, and what is written is owner-only."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from testsupport import ADMIN_EXE  # noqa: F401
from testsupport import admin_cli as run

from perfectcare_desktop.core.access.session import Session
from perfectcare_desktop.core.storage.files import atomic_write
from perfectcare_desktop.errors import InvalidInput

POSIX_ROOT = os.name == "posix" and os.geteuid() == 0


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("hostile") / "store"
    init = run(data_dir, "init", "--org", "Test Trust", "--admin", "boss")
    assert init.returncode == 0, init.stderr
    demo = run(data_dir, "demo-data", "--patients", "3")
    assert demo.returncode == 0, demo.stderr
    return data_dir


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "unexpected internal error" not in result.stderr and "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def no_side_files(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("command", ["export", "backup"])
def test_a_symbolic_link_is_refused_and_what_it_points_at_is_untouched(
    cli_store: Path, tmp_path: Path, command: str
) -> None:
    victim = tmp_path / "someone-elses-file"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "planted-here")
    for target in (link, dangling):
        for force in ([], ["--force"]):  # --force replaces a file, never a link
            args = ["export", "--out", str(target)] if command == "export" else ["backup", str(target)]
            refused(run(cli_store, *args, *force), "symbolic link", "Nothing was written")
            assert target.is_symlink()
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "planted-here").exists()
    no_side_files(tmp_path)


@pytest.mark.skipif(not POSIX_ROOT, reason="making a device node needs root on POSIX")
def test_a_device_is_refused_and_stays_a_device(cli_store: Path, tmp_path: Path) -> None:
    # Our own copy of /dev/null first: the old code replaced the device with a 0644 file of patient JSON,
    # and the real /dev/null is attacked only once its twin has proved the refusal.
    null_twin = tmp_path / "null"
    os.mknod(null_twin, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    for args in (["export", "--out", str(null_twin)], ["backup", str(null_twin)]):
        for force in ([], ["--force"]):
            refused(run(cli_store, *args, *force), "is a device", "Nothing was written")
            assert stat.S_ISCHR(os.lstat(null_twin).st_mode)
    no_side_files(tmp_path)
    for args in (["export", "--out", "/dev/null", "--force"], ["backup", "/dev/null", "--force"]):
        refused(run(cli_store, *args), "is a device")
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert not [p for p in Path("/dev").iterdir() if p.name.endswith(".partial")]


@pytest.mark.skipif(os.name != "posix", reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    with pytest.raises(InvalidInput, match="named pipe"):
        atomic_write(pipe, b"{}", overwrite=True)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    no_side_files(tmp_path)


@pytest.mark.parametrize("command", ["export", "backup"])
def test_an_existing_file_is_kept_unless_force_is_given(cli_store: Path, tmp_path: Path, command: str) -> None:
    target = tmp_path / "nightly.out"
    target.write_bytes(b"yesterday's")
    plain = ["export", "--out", str(target)] if command == "export" else ["backup", str(target)]
    refused(run(cli_store, *plain), "already exists", "--force")
    assert target.read_bytes() == b"yesterday's"
    replaced = run(cli_store, *plain, "--force")
    assert replaced.returncode == 0, replaced.stderr
    assert target.read_bytes() != b"yesterday's"
    no_side_files(tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("command", ["export", "backup"])
def test_exports_and_backups_are_readable_by_their_owner_only(cli_store: Path, tmp_path: Path, command: str) -> None:
    target = tmp_path / "new.out"
    args = ["export", "--out", str(target)] if command == "export" else ["backup", str(target)]
    old = os.umask(0o022)  # the usual default, which left exports world-readable
    try:
        made = run(cli_store, *args)
    finally:
        os.umask(old)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    # Replacing an existing world-readable file does not keep its loose mode.
    target.chmod(0o644)
    again = run(cli_store, *args, "--force")
    assert again.returncode == 0, again.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_folder_is_refused_for_an_export(cli_store: Path, tmp_path: Path) -> None:
    refused(run(cli_store, "export", "--out", str(tmp_path)), "is a folder")


# --- policy.json as Notepad saves it, and as an attacker might -------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-8-sig", "utf-8"])
def test_a_policy_file_in_any_notepad_encoding_is_read(tmp_path: Path, encoding: str) -> None:
    from perfectcare_desktop.policy import load_settings

    text = '{"idle_lock_minutes": 7, "data_dir": "/srv/Ysbyty Gwynedd — Bangor"}'
    boms = {"utf-16-le-bom": ("\ufeff", "utf-16-le"), "utf-16-be-bom": ("\ufeff", "utf-16-be")}
    prefix, codec = boms.get(encoding, ("", encoding))
    policy = tmp_path / "policy.json"
    policy.write_bytes((prefix + text).encode(codec))
    settings = load_settings({}, None, policy)
    assert settings.problems == [] and settings.get("idle_lock_minutes") == 7
    assert settings.get("data_dir") == "/srv/Ysbyty Gwynedd — Bangor"


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        ('{"organisation_name": "Caf\u00e9"}'.encode("cp1252"), "not readable text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"idle_lock_minutes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"crisis_contacts": "' + b"[" * 100_000 + b'"}', "nested too deeply"),  # JSON inside a string
    ],
)
def test_a_policy_file_that_cannot_be_read_is_reported_and_ignored(tmp_path: Path, blob: bytes, words: str) -> None:
    from perfectcare_desktop.policy import load_settings

    policy = tmp_path / "policy.json"
    policy.write_bytes(blob)
    settings = load_settings({"idle_lock_minutes": 12}, None, policy)
    assert any(words in p for p in settings.problems), settings.problems
    assert settings.get("idle_lock_minutes") == 12  # the user's own value still applies


def test_the_cli_runs_with_a_utf16_or_a_deeply_nested_policy(cli_store: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    for blob in ('{"idle_lock_minutes": 7}'.encode("utf-16"), b"[" * 100_000):
        policy.write_bytes(blob)
        result = subprocess.run(
            [str(ADMIN_EXE), "info", "--data-dir", str(cli_store)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PERFECTCARE_POLICY_FILE": str(policy)},
        )
        assert result.returncode == 0, result.stderr
        assert "unexpected internal error" not in result.stderr


# --- key-derivation parameters read from files others can write --------------------------------------------
HUGE = {"algorithm": "argon2id", "memory_kib": 2**31, "iterations": 3, "lanes": 4}


@pytest.mark.parametrize(
    "params",
    [
        HUGE,
        {**HUGE, "memory_kib": 1024, "iterations": 10**9},
        {**HUGE, "memory_kib": 1024, "lanes": 2**24},
        {**HUGE, "memory_kib": 1e308},
        {**HUGE, "memory_kib": True},
        ["argon2id"],
    ],
)
def test_kdf_parameters_out_of_bounds_are_refused_before_deriving(params: object) -> None:
    from perfectcare_desktop.crypto.kdf import KdfParams, KdfParamsRejected

    with pytest.raises(KdfParamsRejected):
        KdfParams.from_json(json.dumps(params))


def test_a_backup_asking_for_two_terabytes_is_refused_in_words(cli_store: Path, tmp_path: Path) -> None:
    from perfectcare_desktop.core.storage import backup

    good = tmp_path / "good.pcbackup"
    assert run(cli_store, "backup", str(good)).returncode == 0
    header, _, body = backup.read_header(good)
    for wrap in header["wraps"]:
        if wrap["kdf"].startswith("argon2id:"):
            wrap["kdf"] = "argon2id:" + json.dumps(HUGE)
    header_bytes = json.dumps(header, sort_keys=True).encode()
    crafted = tmp_path / "crafted.pcbackup"
    crafted.write_bytes(backup.MAGIC + backup._LEN.pack(backup.FORMAT, len(header_bytes)) + header_bytes + body)
    target = tmp_path / "restored"
    result = run(target, "restore", str(crafted))
    refused(result, "memory_kib=2147483648 is outside what PerfectCare accepts", "Nothing was changed")
    assert not target.exists() or not any(target.iterdir())


def test_an_enrolment_file_asking_for_two_terabytes_is_refused_in_words(tmp_path: Path) -> None:
    from perfectcare_desktop.sync.enrolment import MAGIC

    crafted = tmp_path / "ward-pc.enrol"
    header = json.dumps({"kdf": json.dumps(HUGE), "salt": "AAAAAAAAAAAAAAAAAAAAAA=="}).encode()
    crafted.write_bytes(MAGIC + header + b"\n" + os.urandom(200))
    target = tmp_path / "store"
    result = subprocess.run(
        [str(ADMIN_EXE), "enrol", "import", str(crafted), "--data-dir", str(target), "--password-stdin"],
        input="a long enough passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    refused(result, "damaged")
    assert not target.exists()


# --- a lone surrogate in a field read back ---------------------------------------------------------------
def test_a_lone_surrogate_read_back_is_exported_as_a_replacement_character(
    store: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another PC's encoder (or a hub row) can hold JSON's "\\ud800" escape: valid UTF-8 JSON that reads
    back as half a UTF-16 pair, which no UTF-8 file can hold."""
    from datetime import date

    from testsupport import ADMIN, ADMIN_PASSWORD

    from perfectcare_desktop.core.patients.details import PatientDetails
    from perfectcare_desktop.core.storage import payloads

    session = Session.sign_in(store, ADMIN, ADMIN_PASSWORD)  # type: ignore[attr-defined]
    with monkeypatch.context() as m:
        m.setattr(payloads, "encode", lambda p: json.dumps(p, ensure_ascii=True, sort_keys=True).encode())
        session.patients.add(PatientDetails("Si\ud800n", "Jones", date(1980, 1, 2), "9434765919"))
    session.patients.add(PatientDetails("Ann", "Evans", date(1970, 3, 4), "9434765870"))
    data_dir = store.data_dir  # type: ignore[attr-defined]
    store.close()  # type: ignore[attr-defined]
    out = tmp_path / "export.json"
    result = subprocess.run(
        [str(ADMIN_EXE), "export", "--out", str(out), "--data-dir", str(data_dir), "--user", ADMIN, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "lone UTF-16 surrogate" in result.stderr and "unexpected internal error" not in result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    names = sorted(p["records"][0]["versions"][-1]["content"]["given_name"] for p in data["patients"])
    assert names == ["Ann", "Si\ufffdn"]
    verify = subprocess.run(
        [str(ADMIN_EXE), "verify", "--data-dir", str(data_dir), "--user", ADMIN, "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 1 and "lone UTF-16 surrogate" in verify.stderr, verify.stderr


def test_a_backup_header_nested_thousands_deep_is_refused_in_words(tmp_path: Path) -> None:
    from perfectcare_desktop.core.storage import backup

    header = b"[" * 100_000
    crafted = tmp_path / "crafted.pcbackup"
    crafted.write_bytes(backup.MAGIC + backup._LEN.pack(backup.FORMAT, len(header)) + header + b"body")
    target = tmp_path / "restored"
    refused(run(target, "restore", str(crafted)), "damaged (its header cannot be read)")
    assert not target.exists()


@pytest.mark.parametrize("text", ["[" * 100_000, "{not json", ""])
def test_key_derivation_parameters_that_are_not_json_are_refused_in_words(text: str) -> None:
    """Whoever reads them (a backup's header, an enrolment file, the store's key wraps) gets the one
    refusal, never RecursionError or JSONDecodeError."""
    from perfectcare_desktop.crypto.kdf import KdfParams, KdfParamsRejected

    with pytest.raises(KdfParamsRejected, match="not readable JSON"):
        KdfParams.from_json(text)
