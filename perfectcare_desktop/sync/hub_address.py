"""The hub's address and how to reach it safely: TLS with certificate verification to any host that
is not this machine, a short connect timeout, and clear errors instead of driver messages."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput

SECURE_MODE = "verify-full"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
CONNECT_TIMEOUT_SECONDS = 5


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
    out.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    out["application_name"] = "perfectcare-desktop"
    return out


def describe(params: dict[str, Any]) -> str:
    """Host, port and database, for messages and logs: never the user or password."""
    host = params.get("host") or "local socket"
    port = f":{params['port']}" if params.get("port") else ""
    return f"{host}{port}/{params.get('dbname')}"


def connect(params: dict[str, Any]):  # noqa: ANN201 - psycopg.Connection, imported lazily
    """Open a connection or raise HubUnreachable / HubAccessRefused with a sentence for the user."""
    import psycopg

    from ..errors import HubAccessRefused, HubUnreachable

    try:
        return psycopg.connect(**secured(params))
    except psycopg.OperationalError as exc:
        if exc.sqlstate in ("28000", "28P01") or _refused(str(exc)):  # revoked, wrong password, not allowed
            raise HubAccessRefused(
                f"The hub at {describe(params)} refused this PC's sign-in: its access may have been revoked. "
                "Ask an administrator to enrol this PC again; nothing here is lost."
            ) from None
        if exc.sqlstate == "3D000":
            raise HubUnreachable(f"There is no hub database at {describe(params)}.") from None
        raise HubUnreachable(f"Cannot reach the hub at {describe(params)} (network, TLS or server down).") from None


# libpq reports a server's refusal at sign-in as text, without its SQLSTATE.
_REFUSALS = ("password authentication failed", "not permitted to log in", "pg_hba.conf", "permission denied",
             "does not exist")  # fmt: skip


def _refused(message: str) -> bool:
    fatal = message.partition("FATAL:")[2]
    return bool(fatal) and "database" not in fatal and any(r in fatal for r in _REFUSALS)
