"""The hub's address and how to reach it safely: TLS with certificate verification to any host that
is not this machine, timeouts so a lost or silent hub never hangs a round (docs/sync.md, Timeouts),
and clear errors instead of driver messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from .hub_connection import HubConnection

SECURE_MODE = "verify-full"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
CONNECT_TIMEOUT_SECONDS = 5
# A link gone quiet is probed after 10 s, every 5 s; 3 probes unanswered and it is dead: a hub that
# vanished (cable, VPN, crashed host) is noticed in 25 s, not after the system's two hours.
KEEPALIVE_IDLE_SECONDS = 10
KEEPALIVE_INTERVAL_SECONDS = 5
KEEPALIVE_COUNT = 3
# Data sent and not acknowledged for this long ends the connection (Linux; elsewhere libpq ignores it).
# The same 25 s as the keepalives: libpq's advice is not to set it below their total.
TCP_USER_TIMEOUT_MS = (KEEPALIVE_IDLE_SECONDS + KEEPALIVE_INTERVAL_SECONDS * KEEPALIVE_COUNT) * 1000
_TIMEOUTS = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "keepalives": 1, "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
             "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS, "keepalives_count": KEEPALIVE_COUNT,
             "tcp_user_timeout": TCP_USER_TIMEOUT_MS}  # fmt: skip


def parse(url: str) -> dict[str, Any]:
    """A libpq address (postgresql://… or key=value) as parameters; refuses one that is not."""
    from psycopg.conninfo import conninfo_to_dict

    text = (url or "").strip()
    if not text:
        raise InvalidInput("Give the hub's address, for example postgresql://hub.trust.nhs.uk/perfectcare.")
    try:
        params = conninfo_to_dict(text)
    except Exception as exc:  # psycopg.ProgrammingError: the message quotes the text, which may hold a password
        raise InvalidInput(
            "That is not a PostgreSQL address; write it as postgresql://USER@HOST:PORT/DATABASE."
        ) from exc
    if not params.get("dbname"):
        raise InvalidInput("The hub address must name its database, for example postgresql://HOST/perfectcare.")
    return params


def address_part(params: dict[str, Any]) -> dict[str, Any]:
    """Where the hub is and how to check it: never a user name or password."""
    keep = ("host", "hostaddr", "port", "dbname", "sslmode")
    return {k: v for k, v in params.items() if k in keep and v}


def is_local(params: dict[str, Any]) -> bool:
    hosts = str(params.get("host") or params.get("hostaddr") or "").split(",")
    return all(not h or h in _LOOPBACK or h.startswith("/") for h in hosts)


def secured(params: dict[str, Any]) -> dict[str, Any]:
    """Connection parameters with TLS verification required to any other machine.

    A hub on this machine (tests, a DBA's own check) may go without TLS; anywhere else the server's
    certificate and name must check out (sslmode=verify-full), so an impostor on the network can
    neither read the ciphertext nor hand this PC false records."""
    out = dict(params)
    mode = out.get("sslmode")
    if not is_local(out):
        if mode is None:
            out["sslmode"] = SECURE_MODE
        elif mode != SECURE_MODE:
            raise InvalidInput(
                f"The hub at {out.get('host')} must be reached with certificate checks (sslmode={SECURE_MODE}); "
                f"sslmode={mode} would let an impostor on the network pose as the hub."
            )
    for key, value in _TIMEOUTS.items():
        out.setdefault(key, str(value))
    out["application_name"] = "perfectcare-desktop"
    return out


def describe(params: dict[str, Any]) -> str:
    """Host, port and database, for messages and logs: never the user or password."""
    host = params.get("host") or "local socket"
    port = f":{params['port']}" if params.get("port") else ""
    return f"{host}{port}/{params.get('dbname')}"


def connect(params: dict[str, Any]) -> HubConnection:  # HubConnection imported lazily (psycopg with it)
    """Open a connection or raise HubUnreachable / HubAccessRefused with a sentence for the user.

    The connection has a deadline on each wait for the hub and may be aborted from another thread
    (hub_connection.HubConnection)."""
    import psycopg

    from ..errors import HubAccessRefused, HubUnreachable
    from .hub_connection import HubConnection

    try:
        # No server-side prepared statements (prepare_threshold=None): a hub behind PgBouncer in
        # transaction pooling mode hands each transaction to any server connection, where a statement
        # prepared on another one does not exist.
        return HubConnection.connect(**secured(params), prepare_threshold=None)
    except psycopg.OperationalError as exc:
        if exc.sqlstate in ("28000", "28P01") or _refused(str(exc)):  # revoked, wrong password, not allowed
            raise HubAccessRefused(
                f"The hub at {describe(params)} refused this PC's sign-in: its access may have been revoked. "
                "Ask an administrator to enrol this PC again; nothing here is lost."
            ) from None
        if exc.sqlstate == "3D000" or _no_database(str(exc)):
            raise HubUnreachable(
                f"There is no database {params.get('dbname')!r} on the hub server at {describe(params)}: check the "
                "address's database name."
            ) from None
        raise HubUnreachable(f"Cannot reach the hub at {describe(params)} (network, TLS or server down).") from None


# libpq reports a server's refusal at sign-in as text, without its SQLSTATE.
_REFUSALS = ("password authentication failed", "not permitted to log in", "pg_hba.conf", "permission denied",
             "does not exist")  # fmt: skip


def _no_database(message: str) -> bool:
    """libpq gives no SQLSTATE when the connection itself fails: the server's words are all there is."""
    fatal = message.partition("FATAL:")[2]
    return "database" in fatal and "does not exist" in fatal


def _refused(message: str) -> bool:
    fatal = message.partition("FATAL:")[2]
    return bool(fatal) and "database" not in fatal and any(r in fatal for r in _REFUSALS)
