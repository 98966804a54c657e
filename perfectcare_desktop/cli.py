"""perfectcare-admin: the administrator's command line. The same core services as the app; no Qt.

Secrets come from a no-echo prompt, or with --password-stdin one per line of standard input, in the
order each command's help gives. Errors are one clear sentence and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .cli_terminal import Progress, Secrets
from .config import DATA_DIR_ENV, resolve_data_dir
from .errors import InvalidInput, PerfectCareError

if TYPE_CHECKING:  # imported lazily below: a command loads only what it uses
    from .core.access.session import Session
    from .core.storage.store import Store
    from .policy import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace, Secrets], int]


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help=f"the store folder (default: ${DATA_DIR_ENV}, else your user data folder)",
    )
    common.add_argument(
        "--password-stdin",
        action="store_true",
        default=argparse.SUPPRESS,
        help="read secrets from standard input, one per line, instead of prompting",
    )
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return common


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, handler: Handler,
             help_text: str, secrets: str, common: argparse.ArgumentParser,
             signed_in: bool = True) -> argparse.ArgumentParser:  # fmt: skip
    """One subcommand: the common options, the secrets it reads (in --help), and --user if it signs in."""
    parser = sub.add_parser(
        name, parents=[common], help=help_text, description=f"{help_text[0].upper()}{help_text[1:]}. {secrets}"
    )
    if signed_in:
        parser.add_argument(
            "--user", default=os.environ.get("PERFECTCARE_USER"), help="your user name (default: $PERFECTCARE_USER)"
        )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="perfectcare-admin",
        description="Administer a PerfectCare Desktop store: set-up, users, checks, backups, exports.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    your_password = "Secret: line 1 your password."

    p = _command(sub, "init", cmd_init, "create a new store and its first administrator",
                 "Secret (stdin line 1): the new administrator's password. The recovery key is printed ONCE: "
                 "print it or write it down and keep it safe.", common, signed_in=False)  # fmt: skip
    p.add_argument("--org", required=True, help="the organisation's name, e.g. 'Mersey Care NHS Foundation Trust'")
    p.add_argument("--admin", required=True, help="user name of the first administrator")
    p.add_argument("--display-name", default="", help="the administrator's full name")
    _command(sub, "info", cmd_info, "what store this is", "No secret is needed.", common, signed_in=False)

    user = sub.add_parser("user", parents=[common], help="add, list, disable, enable users; reset passwords")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = _command(usub, "add", cmd_user_add, "add a user",
                 "Secrets: line 1 your password, line 2 the new user's password.", common)  # fmt: skip
    p.add_argument("username")
    p.add_argument("--role", choices=("clinician", "admin"), default="clinician")
    p.add_argument("--display-name", default="")
    p.add_argument("--team", action="append", default=[], help="a team the user joins (repeat for more)")
    _command(usub, "list", cmd_user_list, "list users", your_password, common)

    team = sub.add_parser("team", parents=[common], help="add and list teams; put people in them or take them out")
    tsub = team.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    p = _command(tsub, "add", cmd_team_add, "make a team", your_password, common)
    p.add_argument("name")
    _command(tsub, "list", cmd_team_list, "list teams and their members", your_password, common)
    for name, help_text in (
        ("add-member", "put a user in a team"),
        ("remove-member", "take a user out of a team (they stop seeing its patients)"),
    ):
        p = _command(tsub, name, cmd_team_member, help_text, your_password, common)
        p.add_argument("team")
        p.add_argument("username")
    p = _command(usub, "disable", cmd_user_disable, "stop a user signing in (everything they wrote is kept)",
                 your_password, common)  # fmt: skip
    p.add_argument("username")
    p = _command(usub, "enable", cmd_user_enable, "let a disabled user sign in again, with a new password",
                 "Secrets: line 1 your password, line 2 the user's new password.", common)  # fmt: skip
    p.add_argument("username")
    p = _command(usub, "reset-password", cmd_user_reset,
                 "set a new password for a user with the organisation's recovery key",
                 "Secrets: line 1 the new password, line 2 the recovery key.", common, signed_in=False)  # fmt: skip
    p.add_argument("username")

    p = _command(sub, "demo-data", cmd_demo_data,
                 "add synthetic patients (999 test-range NHS numbers) for training and tests",
                 your_password + " Refuses a store that holds real patients.", common)  # fmt: skip
    p.add_argument("--patients", type=_positive_int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p = _command(sub, "export", cmd_export,
                 "decrypted copy of patients' records with every version (subject access, migration)",
                 your_password + " The output holds patient details in clear: keep it on encrypted storage and "
                 "delete it when done.", common)  # fmt: skip
    p.add_argument("--format", choices=("json",), default="json")
    p.add_argument("--patient", metavar="NHSNUMBER", help="only this patient (default: all)")
    p.add_argument("--out", metavar="FILE", help="write to FILE (created readable by you only) instead of standard "
                   "output")  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace FILE if it exists (never a device or a link)")
    p = _command(sub, "export-pdf", cmd_export_pdf,
                 "print safety plans as PDF: the person's copy (A4, large print, easy read, wallet card) or the "
                 "clinician record",
                 your_password + " With --protect, line 2 is the password the PDF files will open with (at least 8 "
                 "characters). Files are named safety-plan-001.pdf ... in caseload order, never after the person; "
                 "nothing is overwritten, and a failed or interrupted run leaves no file behind.", common)  # fmt: skip
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--patient", metavar="NHSNUMBER", action="append", help="this person (repeat for more)")
    who.add_argument("--all", action="store_true", help="everyone with an agreed plan in use")
    who.add_argument("--due-for-review", metavar="DAYS", nargs="?", const=14, type=_positive_int,
                     help="agreed plans due for review within DAYS (default 14) or overdue")  # fmt: skip
    who.add_argument("--changed-this-week", action="store_true", help="plans saved or signed in the last 7 days")
    from .export.variants import AUTO, VARIANTS

    variants = (AUTO, *VARIANTS)
    p.add_argument("--variant", default="auto", choices=variants,
                   help="auto (default): each person's recorded need (easy read, large print)")  # fmt: skip
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FOLDER", help="one file per person in FOLDER")
    where.add_argument("--combined", metavar="FILE", help="one PDF with everyone, for one print job")
    p.add_argument("--protect", action="store_true", help="encrypt the PDFs (AES-256) with a password from stdin")
    p.add_argument("--include-unresolved", action="store_true",
                   help="also print plans that need a look first (two versions not merged, a draft with no agreed "
                   "plan, fewer than 3 sections filled); without it they are left out and counted")  # fmt: skip
    p = _command(sub, "followup-figure", cmd_followup_figure,
                 "NHS England's 'followed up within 72 hours' figure for discharges in a period",
                 your_password + " Counts of the service's contacts, never a rating of a person; the exclusions "
                 "are printed with the figure.", common)  # fmt: skip
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", type=_iso_date, required=True,
                   help="first discharge date counted (UK date)")  # fmt: skip
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", type=_iso_date, required=True,
                   help="last discharge date counted (UK date)")  # fmt: skip
    _command(sub, "verify", cmd_verify, "check every ciphertext and the audit chain",
             your_password + " Exit 0 when intact; 1 with each problem named.", common)  # fmt: skip
    p = _command(sub, "backup", cmd_backup, "write an encrypted single-file backup",
                 "Secret: line 1 your password (an administrator's). A damaged store is refused.", common)  # fmt: skip
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="replace the file if it exists (never a device or a link)")
    p = _command(sub, "restore", cmd_restore, "restore a backup into an empty folder or over the same store",
                 "Secret: line 1 the password of --user as it was when the backup was taken, or with "
                 "--recovery-key the organisation's recovery key. Only an active administrator (in the backup and in "
                 "the store it replaces) may restore. The current store is kept aside in backups/.",
                 common)  # fmt: skip
    p.add_argument("file")
    p.add_argument("--recovery-key", action="store_true", help="unlock the backup with the recovery key")
    p = _command(sub, "safety-case", cmd_safety_case,
                 "write the clinical safety case report (DCB0129) for this version as a PDF",
                 "No secret and no store are needed: it reads the hazard log and a test run's JUnit results.",
                 common, signed_in=False)  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="the report to write")
    p.add_argument("--results", metavar="JUNIT.xml",
                   help="the test run's results (default: the newest build/test-results.xml, as ./run tests "
                   "writes it)")  # fmt: skip
    p.add_argument("--log", metavar="FILE.json", help="the hazard log (default: docs/clinical-safety/hazard-log.json)")
    audit = sub.add_parser("audit", parents=[common], help="reports from the audit trail")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = _command(asub, "report", cmd_audit_report,
                 "who viewed, changed, printed or exported one person's record, on which PC and when (subject "
                 "access requests, Caldicott reviews); administrators only",
                 your_password + " Every PC's entries are included once this PC has synced with an administrator "
                 "signed in. Running it is audited.", common)  # fmt: skip
    p.add_argument("--patient", metavar="NHSNUMBER", required=True, help="the person's NHS number")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", type=_iso_date, help="first day included (UK date)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", type=_iso_date, help="last day included (UK date)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="write the report as CSV (created readable by you only)")
    out.add_argument("--pdf", metavar="FILE", help="write the report as PDF (created readable by you only)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists (never a device or a link)")
    _sync_commands(sub, common, your_password)
    return parser


def _sync_commands(sub: Any, common: argparse.ArgumentParser, your_password: str) -> None:
    owner = ("the hub owner's address, e.g. postgresql://perfectcare_owner@hub.trust.nhs.uk/perfectcare "
             "(TLS with certificate checks, sslmode=verify-full, is required to any other machine; give the "
             "password in PGPASSWORD or ~/.pgpass rather than in the address)")  # fmt: skip
    hub = sub.add_parser("hub", parents=[common], help="create or upgrade the sync hub; list or revoke PCs")
    hsub = hub.add_subparsers(dest="hub_command", metavar="ACTION", required=True)
    p = _command(hsub, "init", cmd_hub_init,
                 "create or upgrade the hub's tables and enrol this store as its first PC",
                 your_password + " You must be an administrator.", common)  # fmt: skip
    p.add_argument("--url", required=True, help=owner)
    p.add_argument("--label", default="", help="a name for this PC in the hub's list (default: its host name)")
    p = _command(hsub, "devices", cmd_hub_devices, "list the PCs enrolled with the hub", "No secret is needed.",
                 common, signed_in=False)  # fmt: skip
    p.add_argument("--url", required=True, help=owner)
    p = _command(hsub, "revoke", cmd_hub_revoke, "stop a PC syncing (lost or retired); its records stay",
                 "No secret is needed.", common, signed_in=False)  # fmt: skip
    p.add_argument("--url", required=True, help=owner)
    p.add_argument("device", help="the device id, from 'hub devices'")

    enrol = sub.add_parser("enrol", parents=[common], help="join another PC to this store's hub")
    esub = enrol.add_subparsers(dest="enrol_command", metavar="ACTION", required=True)
    p = _command(esub, "export", cmd_enrol_export,
                 "write a one-time enrolment file for another PC (administrators only)",
                 "Secrets: line 1 your password, line 2 the file's passphrase (at least 12 characters; give it "
                 "to the person enrolling the PC by another route than the file).", common)  # fmt: skip
    p.add_argument("--admin-url", required=True, help=owner + "; needed to create the new PC's hub role")
    p.add_argument("--out", required=True, metavar="FILE", help="the enrolment file to write")
    p.add_argument("--label", default="", help="a name for the new PC in the hub's list")
    p = _command(esub, "import", cmd_enrol_import,
                 "join this PC: a new store in the data folder, with the hub's accounts and records",
                 "Secret: line 1 the enrolment file's passphrase.", common, signed_in=False)  # fmt: skip
    p.add_argument("file")
    p = _command(sub, "sync", cmd_sync, "run one sync round with the hub (push what waits, pull what is new)",
                 your_password + " Exit 0 when the round completed, 1 when the hub could not be reached (nothing is "
                 "lost: changes wait for the next round).", common)  # fmt: skip
    what = p.add_mutually_exclusive_group()
    what.add_argument("--problems", action="store_true",
                      help="list what sync could not do (changes the hub refused, items from it that failed checks), "
                      "naming each person; no round is run")  # fmt: skip
    what.add_argument(
        "--retry",
        action="store_true",
        help="try everything refused again (after the hub was put right), then run a round",
    )


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# --- helpers ---------------------------------------------------------------------------------------
_SETTINGS: Settings | None = None


def _settings() -> Settings:
    """Machine policy over the user's settings (read once per command)."""
    global _SETTINGS
    if _SETTINGS is None:
        from .config import load_user_settings
        from .policy import default_registry, load_settings

        _SETTINGS = load_settings(load_user_settings(), default_registry())
        for problem in _SETTINGS.problems:
            print(f"perfectcare-admin: policy: {problem}", file=sys.stderr)
    return _SETTINGS


def _data_dir(args: argparse.Namespace) -> Path:
    return resolve_data_dir(getattr(args, "data_dir", None), _settings().get("data_dir"))


def _open_store(args: argparse.Namespace) -> Store:
    from .core.storage.store import Store

    def migrated(old: str, backup: str) -> None:
        print(f"Upgraded the store from schema {old}; the earlier copy is kept at {backup}.", file=sys.stderr)

    return Store.open(_data_dir(args), on_migrate=migrated)


def _login(args: argparse.Namespace, secrets: Secrets) -> Session:
    username = args.user
    if not username:
        if secrets.from_stdin or not sys.stdin.isatty():
            raise InvalidInput("Say who you are with --user NAME (or set PERFECTCARE_USER).")
        username = input("User name: ").strip()
    store = _open_store(args)
    from .core.access.session import Session  # the store stack loads only for commands that need it (--help is quick)

    return Session.sign_in(store, username, secrets.get(f"Password for {username}: "))


def _say(text: str) -> None:
    print(text, flush=True)


# --- commands --------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.storage.store import Store

    password = secrets.get(f"New password for {args.admin}: ", confirm=True)
    data_dir = _data_dir(args)
    store, recovery = Store.create(data_dir, args.org, args.admin, password, admin_display_name=args.display_name)
    store.close()
    _say(f"Created the store for {args.org} in {data_dir}; administrator: {args.admin}.")
    _say("")
    _say("RECOVERY KEY (shown once; print it or write it down, and keep it locked away):")
    _say("")
    _say(f"    {recovery}")
    _say("")
    _say("It resets any password and restores backups. Without it, a forgotten password cannot be recovered.")
    return EXIT_OK


def cmd_info(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.access import grants
    from .store import database

    store = _open_store(args)
    try:
        _say(f"Store:         {store.data_dir}")
        _say(f"Organisation:  {store.organisation}")
        _say(f"Store id:      {store.store_id}")
        _say(f"Schema:        {database.schema_revision(store.engine)}")
        _say(f"Created:       {store.meta('created_at')}")
        with store.reading() as conn:
            key = grants.public_key(conn)
        # Compare by eye with the hub's and another PC's: a store whose key was replaced shows another one.
        _say(f"Admin key:     {key.fingerprint() if key else 'none yet (made at the next admin sign-in)'}")
    finally:
        store.close()
    return EXIT_OK


def cmd_user_add(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    password = secrets.get(f"Password for the new user {args.username}: ", confirm=True)
    session.users.add(args.username, args.role, password, args.display_name, tuple(args.team))
    _say(f"Added {args.username} as {args.role}" + (f", in {', '.join(args.team)}." if args.team else "."))
    return EXIT_OK


def cmd_team_add(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    session.teams.create(args.name)
    _say(f"Made the team {args.name.strip()!r}.")
    return EXIT_OK


def cmd_team_list(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    for t in session.teams.all():
        members = ", ".join(t.members) or "nobody yet"
        _say(f"{t.name}{'' if t.active else ' (closed)'}: {members}")
    return EXIT_OK


def cmd_team_member(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    if args.team_command == "add-member":
        session.teams.add_member(args.team, args.username)
        _say(f"{args.username} is now in {args.team}.")
    else:
        session.teams.remove_member(args.team, args.username)
        _say(f"{args.username} is no longer in {args.team}; from now on they do not see its patients.")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    rows = [("USER", "ROLE", "STATUS", "NAME", "LAST SIGN-IN")]
    for u in session.users.all():
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        rows.append((u.username, u.role, "active" if u.active else "disabled", u.display_name, last))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        _say("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    session.users.disable(args.username)
    _say(f"Disabled {args.username}. Everything they wrote is kept.")
    return EXIT_OK


def cmd_user_enable(args: argparse.Namespace, secrets: Secrets) -> int:
    session = _login(args, secrets)
    password = secrets.get(f"New password for {args.username}: ", confirm=True)
    session.users.enable(args.username, password)
    _say(f"Enabled {args.username} with the new password.")
    return EXIT_OK


def cmd_user_reset(args: argparse.Namespace, secrets: Secrets) -> int:
    store = _open_store(args)
    password = secrets.get(f"New password for {args.username}: ", confirm=True)
    recovery = secrets.get("Recovery key: ")
    from .core.access.sign_in import reset_password_with_recovery

    reset_password_with_recovery(store, recovery, args.username, password)
    _say(f"Set a new password for {args.username}.")
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.demo.demo_data import add_demo_data

    session = _login(args, secrets)
    added = add_demo_data(session, args.patients, args.seed, Progress("Adding synthetic patients"))
    _say(f"Added {added:,} synthetic patients (seed {args.seed}).")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.storage.export_json import export_patients
    from .core.storage.files import atomic_write, check_target

    if args.out:  # before signing in and decrypting anything: a target refused costs nothing
        with _force_hint():
            check_target(Path(args.out), overwrite=args.force)
    session = _login(args, secrets)
    with _damage_in_words(session):
        data = export_patients(session, args.patient)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        with _force_hint():
            atomic_write(Path(args.out), text.encode("utf-8"), overwrite=args.force)
        print(
            f"Wrote {len(data['patients']):,} patient(s) to {args.out}. It holds patient details in clear: "
            "keep it on encrypted storage and delete it when done.",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text + "\n")
    for note in data.get("cleaned", []):
        print(f"perfectcare-admin: warning: {note}.", file=sys.stderr)
    unreadable = data.get("unreadable", [])
    if unreadable:
        print(f"perfectcare-admin: {len(unreadable)} version(s) or record(s) could not be read and are NOT in the "
              "export (each is listed under 'unreadable' in it); run 'perfectcare-admin verify':",
              file=sys.stderr)  # fmt: skip
        for item in unreadable:
            print(f"  - {item['problem']}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


@contextlib.contextmanager
def _force_hint() -> Iterator[None]:
    from .core.storage.files import TargetExists

    try:
        yield
    except TargetExists as exc:
        raise TargetExists(f"{exc} Or give --force to replace it.") from None


@contextlib.contextmanager
def _damage_in_words(session: Any) -> Iterator[None]:
    """A read that hits a damaged page of the store: a sentence saying so, not an internal error."""
    from sqlalchemy.exc import DatabaseError

    from .errors import StoreDamaged

    try:
        yield
    except DatabaseError as exc:
        raise StoreDamaged(
            f"The store {session.store.data_dir} is damaged ({exc.orig}); nothing was written. Run "
            "'perfectcare-admin verify' to see which pages, and restore the latest good backup."
        ) from exc


def cmd_export_pdf(args: argparse.Namespace, secrets: Secrets) -> int:
    from .export import batch

    session = _login(args, secrets)
    password = secrets.get("Password for the PDF files: ", confirm=True) if args.protect else None
    if args.patient:
        ids = []
        for number in args.patient:
            found = session.patients.find_by_nhs_number(number)
            if found is None:
                raise InvalidInput(f"No patient in this store has NHS number {number}; nothing was printed.")
            ids.append(found.record_id)
        selection = batch.Selection(batch.CHOSEN, tuple(ids))
    elif args.all:
        selection = batch.Selection(batch.ALL_CURRENT)
    elif args.changed_this_week:
        selection = batch.Selection(batch.CHANGED_THIS_WEEK)
    else:
        selection = batch.Selection(batch.DUE_FOR_REVIEW, review_within_days=args.due_for_review)
    people = batch.select_patients(session, selection)
    from .core.clinical.crisis_directory import directory_in_force, stale_warning

    directory = directory_in_force(_settings().values)
    if stale := stale_warning(directory, session.store.clock.now().date(), for_admin=True):
        print(f"perfectcare-admin: warning: {stale}", file=sys.stderr)  # before the run: seen even if it fails
    result = batch.export_batch(
        session, people, args.variant, out_dir=Path(args.out) if args.out else None,
        combined=Path(args.combined) if args.combined else None, password=password,
        progress=Progress("Printing"), action="export", directory=directory,
        include_unresolved=args.include_unresolved,
    )  # fmt: skip
    for warning in result.warnings:
        print(f"perfectcare-admin: warning: {warning}", file=sys.stderr)
    _left_out_report(result)
    where = args.out or args.combined
    skipped = f" ({result.skipped} chosen with no plan to print were left out)" if result.skipped else ""
    if result.printed == 0:
        print(f"perfectcare-admin: nothing was printed and no file was written{skipped}.", file=sys.stderr)
        return EXIT_FAILED
    _say(f"Printed {result.printed:,} plan(s) to {where} in {len(result.files):,} file(s){skipped}.")
    if password is None:
        print("The files hold people's plans in clear: print them, then delete them, or keep them on encrypted "
              "storage.", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def _left_out_report(result: Any) -> None:  # batch.BatchResult
    """How many were left out and why, per reason: counts only, never a name (stderr and the log)."""
    counts = result.counts_by_reason()
    failed = len(result.failed)
    unresolved = len(result.left_out)
    if unresolved:
        print(f"perfectcare-admin: {unresolved} plan(s) need a look first and were left out (print them anyway "
              "with --include-unresolved, or open them in the app):", file=sys.stderr)  # fmt: skip
    if failed:
        print(f"perfectcare-admin: {failed} copy(ies) could not be laid out and were left out (try another "
              "--variant for them):", file=sys.stderr)  # fmt: skip
    for reason, n in counts.items():
        print(f"  {n:,} {reason}", file=sys.stderr)
    if result.included:
        print(f"perfectcare-admin: warning: {result.included} plan(s) that need a look were printed "
              "(--include-unresolved).", file=sys.stderr)  # fmt: skip
    if counts:
        logging.getLogger("perfectcare.cli").info(
            "export-pdf left out %d: %s", unresolved + failed, "; ".join(f"{r}: {n}" for r, n in counts.items())
        )


def cmd_followup_figure(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.clinical.discharge import followup_figure
    from .core.clinical.wording import long_date

    session = _login(args, secrets)
    f = followup_figure(session, args.start, args.end)
    period = f"discharged {long_date(f.start)} to {long_date(f.end)}"
    if f.eligible:
        _say(f"Followed up within 72 hours: {f.within_72_hours:,} of {f.eligible:,} discharges {period} "
             f"({f.proportion:.0%}); {f.declined:,} of those not followed up declined.")  # fmt: skip
    else:
        _say(f"No discharge {period} is counted yet, so there is no figure.")
    _say(f"Not counted: {f.transfers_excluded:,} transfer(s), {f.not_yet_due:,} whose 72 hours have not ended.")
    _say("Exclusions: " + " ".join(f.exclusions))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync.audit_anchor import verify_with_hub

    session = _login(args, secrets)
    with _damage_in_words(session):
        report = verify_with_hub(session, Progress("Checking versions"), hub_url=_settings().get("hub_url"))
    for note in report.notes:
        _say(f"Note: {note}.")
    if report.ok:
        _say(
            f"Intact: {report.versions_checked:,} versions authenticate and the audit chain of "
            f"{report.audit_entries_checked:,} entries is unbroken."
        )
        return EXIT_OK
    print(f"PROBLEMS FOUND ({len(report.problems)}):", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    return EXIT_FAILED


def cmd_backup(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.storage.backup import create_backup

    session = _login(args, secrets)
    with _damage_in_words(session), _force_hint():
        info = create_backup(session, Path(args.file), Progress("Backing up"), overwrite=args.force)
    _say(f"Backup written to {args.file} ({info.size_bytes / 1e6:.1f} MB, encrypted).")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.storage.backup import RestorePlan, restore_backup

    def say_first(plan: RestorePlan) -> bool:  # what will be rolled back, before anything changes
        _say(plan.in_words())
        return True

    data_dir = _data_dir(args)
    if args.recovery_key:
        info = restore_backup(Path(args.file), data_dir, recovery_key=secrets.get("Recovery key: "),
                              progress=Progress("Restoring"), before=say_first)  # fmt: skip
    else:
        if not args.user:
            raise InvalidInput("Say whose password opens the backup with --user NAME, or use --recovery-key.")
        password = secrets.get(f"Password for {args.user}: ")
        info = restore_backup(Path(args.file), data_dir, username=args.user, password=password,
                              progress=Progress("Restoring"), before=say_first)  # fmt: skip
    _say(f"Restored the store of {info.organisation} from the backup taken {info.created_at} into {data_dir}.")
    return EXIT_OK


def cmd_audit_report(args: argparse.Namespace, secrets: Secrets) -> int:
    from .core.storage.access_report import COLUMNS, access_report, to_csv
    from .core.storage.files import atomic_write, check_target

    target = Path(args.csv or args.pdf) if (args.csv or args.pdf) else None
    if args.start and args.end and args.start > args.end:
        raise InvalidInput("The period ends before it begins (--to is before --from); nothing was written.")
    if target is not None:  # before signing in: a target refused costs nothing
        with _force_hint():
            check_target(target, overwrite=args.force)
    session = _login(args, secrets)
    with _damage_in_words(session):
        report = access_report(session, args.patient, args.start, args.end)
    if target is None:
        _say(f"Access report: {report.patient_name}, NHS number {report.nhs_number}; {report.organisation}")
        _say(f"Period: {report.period}. Generated {report.generated_at:%d %b %Y %H:%M} by {report.generated_by}.")
        if not report.hub_entries:
            _say("Only this PC's own entries: no other PC's entries have been pulled from the hub to this PC.")
        _say("")
        rows = [COLUMNS, *(e.cells() for e in report.events)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
        for r in rows:
            _say("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if not report.events:
            _say("No access to this person's record is recorded in the period.")
        return EXIT_OK
    if args.pdf:
        from .export.access_report import render_access_report
        from .export.branding import load_branding
        from .export.fonts import load_fonts

        data = render_access_report(report, load_fonts(), load_branding())
    else:
        data = to_csv(report)
    with _force_hint():
        atomic_write(target, data, overwrite=args.force)
    _say(f"Wrote the access report for NHS number {report.nhs_number} ({len(report.events):,} events) to {target}.")
    print("It names the person and the staff who saw their record: keep it as you keep the record.", file=sys.stderr)
    return EXIT_OK


def cmd_hub_init(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync import enrolment

    session = _login(args, secrets)
    facts, enrolled = enrolment.init_hub(session, args.url, args.label)
    _say(f"The hub at {enrolled.hub} is ready for {facts.organisation}; this PC is enrolled as device "
         f"{enrolled.device_id}.")  # fmt: skip
    return _sync_round(session)


def cmd_hub_devices(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync import hub_address, hub_admin

    rows = [("DEVICE", "LABEL", "ENROLLED", "REVOKED")]
    for device_id, label, enrolled, revoked in hub_admin.list_devices(hub_address.parse(args.url)):
        rows.append((device_id, label, enrolled[:16], (revoked or "")[:16]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        _say("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def cmd_hub_revoke(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync import hub_address, hub_admin

    role = hub_admin.revoke_device(hub_address.parse(args.url), args.device)
    _say(f"Revoked device {args.device} (hub role {role}): it can no longer sync. What it sent is kept.")
    return EXIT_OK


def cmd_enrol_export(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync import enrolment

    session = _login(args, secrets)
    passphrase = secrets.get("Passphrase for the enrolment file: ", confirm=True)
    device_id = enrolment.export_file(session, args.admin_url, Path(args.out), passphrase, args.label)
    _say(f"Wrote {args.out} for new device {device_id}. It works once; keep it and its passphrase apart, and "
         "delete the file after use.")  # fmt: skip
    return EXIT_OK


def cmd_enrol_import(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync import enrolment

    passphrase = secrets.get("Passphrase of the enrolment file: ")
    data_dir = _data_dir(args)
    enrolled = enrolment.import_file(Path(args.file), passphrase, data_dir)
    _say(f"This PC has joined {enrolled.organisation}'s hub at {enrolled.hub} as device {enrolled.device_id}; "
         f"its store is {data_dir}. Staff can now sign in with their usual user names and passwords.")  # fmt: skip
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, secrets: Secrets) -> int:
    from .sync import status

    session = _login(args, secrets)
    if args.problems:
        lines = status.problems(session.store, status.patient_names(session))
        for line in lines:
            _say(line)
        if not lines:
            _say("Sync has nothing waiting for attention: no change refused, nothing from the hub turned away.")
        return EXIT_OK
    if args.retry:
        parked, refused = status.retry(session.store)
        _say(f"Trying again: {parked} change(s) of this PC the hub refused, {refused} item(s) from the hub.")
    return _sync_round(session)


def _sync_round(session: Any) -> int:
    from .errors import SyncError
    from .sync.client import one_round

    try:
        settings = _settings()  # machine policy: the hub moved, and a read replica for pulls
        report = one_round(
            session.store,
            session.require_unlocked(),
            settings.get("hub_url"),
            settings.get("hub_read_url"),
            admin=session.is_admin,
        )
    except SyncError as exc:
        print(f"perfectcare-admin: {exc}", file=sys.stderr)
        return EXIT_FAILED
    st = report.status
    _say(f"Synced: sent {report.pushed}, received {report.pulled} versions and {report.accounts} account changes; "
         f"{st.waiting} waiting, {st.needs_attention} need attention.")  # fmt: skip
    from .sync import status

    for line in status.problems(session.store, status.patient_names(session)):
        _say(f"  {line}")
    if warning := status.clock_warning(st.clock_skew):
        _say(f"  {warning} ({status.CLOCK_CONSEQUENCE}).")
    return EXIT_OK


def cmd_safety_case(args: argparse.Namespace, secrets: Secrets) -> int:
    from datetime import datetime

    from .core.clinical_safety import hazard_log
    from .core.storage.files import atomic_write
    from .export.branding import load_branding
    from .export.fonts import load_fonts
    from .export.safety_case import BuildResults, render_safety_case

    tests = hazard_log.REPO_ROOT / "tests"  # an installed build has no tests to check the names against
    log = hazard_log.load_log(Path(args.log) if args.log else hazard_log.DEFAULT_LOG,
                              tests.parent if tests.is_dir() else None)  # fmt: skip
    path = Path(args.results) if args.results else hazard_log.newest_results(hazard_log.DEFAULT_RESULTS_DIR)
    if args.results and not Path(args.results).is_file():
        raise InvalidInput(f"There are no test results at {path}; no report was written.")
    if path is None:
        run = BuildResults(None, f"None: no {hazard_log.RESULTS_NAME} under {hazard_log.DEFAULT_RESULTS_DIR}.")
        print("perfectcare-admin: warning: no test results were found; every verifying test is reported as "
              "'not run'.", file=sys.stderr)  # fmt: skip
    else:
        run = BuildResults(hazard_log.read_results(path), str(path), datetime.fromtimestamp(path.stat().st_mtime))
    fonts, branding = load_fonts(), load_branding()
    for problem in (*fonts.problems, *branding.problems):
        print(f"perfectcare-admin: warning: {problem}", file=sys.stderr)
    atomic_write(Path(args.out), render_safety_case(log, __version__, datetime.now(), run, fonts, branding))
    counts = log.by_status()
    _say(f"Wrote the safety case report for {log.product} {__version__} to {args.out}: {len(log.hazards)} hazards "
         f"({', '.join(f'{n} {s}' for s, n in counts.items())}).")  # fmt: skip
    return EXIT_OK


# --- entry point -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    secrets = Secrets(getattr(args, "password_stdin", False))
    from .logs import log_unexpected, setup_logging

    setup_logging("perfectcare-admin")
    log = logging.getLogger("perfectcare.cli")
    command = getattr(args, "handler", None)
    log.info("command %s", getattr(command, "__name__", "?").removeprefix("cmd_"))
    try:
        status: int = args.handler(args, secrets)  # a Handler: set_defaults(handler=) in _command
        return status
    except PerfectCareError as exc:
        log.warning("refused: %s", type(exc).__name__)  # the message may quote what was typed
        print(f"perfectcare-admin: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nperfectcare-admin: interrupted; nothing half-written is left.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, and keep details off the screen unless asked
        log_unexpected(log, "a command", exc)
        if getattr(args, "debug", False):
            raise
        # The message of an unexpected error may quote data, so only its type is shown.
        print(
            f"perfectcare-admin: unexpected internal error ({type(exc).__name__}). Nothing further was changed. "
            "Run again with --debug to see details, and report it.",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
