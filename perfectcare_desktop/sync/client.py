"""One sync round for this PC: push what waits, pull what others pushed. Used by the app's worker
and by `perfectcare-admin sync`; it holds its hub connection between rounds, so a round with
nothing to do costs three small queries.

Machine policy may name a read replica of the hub (`hub_read_url`): pull and anti-entropy read it,
on a second connection with the same credentials, while push and the clock check stay on the
primary. Reading a replica cannot skip a row (docs/sync.md, A read replica); a replica that cannot
be reached, or fails mid-round, costs nothing but its lag: the round reads from the primary.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from ..core.access import grants
from ..crypto.vault import DataKey
from ..errors import HubAccessRefused, HubUnreachable, NotEnrolled
from ..store.models import Meta
from . import anti_entropy, audit_pull, device, hub_address, hub_admin, status
from .pull import pull
from .push import push


@dataclass(frozen=True)
class RoundReport:
    pushed: int
    pulled: int
    accounts: int
    rejected: tuple[str, ...]
    patients: frozenset[str]  # whose records changed here: the UI refreshes them
    status: status.SyncStatus = field(repr=False)
    healed: anti_entropy.Healed = field(default_factory=anti_entropy.Healed)


# How often the hub's clock is read to compare with this PC's (it drifts slowly, if at all).
CLOCK_CHECK_SECONDS = 600
# After the read replica failed, rounds read from the primary for this long before trying it again: a
# replica down for maintenance would otherwise cost every round a connect timeout.
REPLICA_RETRY_SECONDS = 300

_log = logging.getLogger("perfectcare.sync")


class SyncClient:
    def __init__(self, store: Any, hub_url: str | None = None, read_url: str | None = None) -> None:
        """`hub_url`: machine policy's hub address, which overrides the enrolment's (the hub moved).
        `read_url`: machine policy's read replica for pulls (its address only: credentials are this PC's)."""
        self.store = store
        self.hub_url = hub_url
        self.read_url = read_url
        self._hub: Any = None
        self._replica: Any = None
        self._replica_failed: float | None = None  # time.monotonic() of its last failure
        self._cancels = 0  # cancel() calls: a read it cut on the replica is no failure of the replica's
        self._config: device.DeviceConfig | None = None
        self._clock_checked: float | None = None

    def round(self, dek: DataKey, *, admin: bool = False) -> RoundReport:
        """Push then pull, until both are drained; with `admin` (an administrator is signed in) every
        PC's audit entries are pulled too, for the access report. Raises HubUnreachable / HubAccessRefused with
        everything still queued; NotEnrolled on a PC that has never joined a hub."""
        import psycopg

        hub = self.connection(dek)
        assert self._config is not None  # connection() loaded it, or raised NotEnrolled
        device_id = self._config.device_id
        try:
            self._check_clock(hub)
            self._pin_admin_key(hub)
            pushed = push(self.store, dek, hub, device_id)
            reader, cancels = self._reader(dek, hub), self._cancels
            try:
                result, healed = self._read(dek, reader, device_id, admin)
            except psycopg.OperationalError as exc:  # psycopg's class for 40001, a recovery conflict, too
                if reader is hub or self._cancels != cancels:
                    raise
                # The replica went away mid-round (stopped, failed over, the link cut) or cancelled the
                # read for a conflict with its recovery: read from the primary instead. Safe to run
                # again: pull commits each batch here with its horizon, so it goes on from there.
                self._replica_lost(f"failed mid-round ({type(exc).__name__})")
                result, healed = self._read(dek, hub, device_id, admin)
            if result.versions or result.accounts or healed.requeued or healed.fetched:
                pushed += push(self.store, dek, hub, device_id)  # what was queued again, and the pull's audit entry
        except psycopg.errors.InsufficientPrivilege:
            self.close()
            raise HubAccessRefused(
                "The hub refused this PC: its access has been revoked. Ask an administrator to enrol it again; "
                "nothing here is lost."
            ) from None
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction):
            self.close()
            raise HubUnreachable(
                "The hub's tables are older than this PC's PerfectCare: an administrator upgrades the hub by running "
                "'perfectcare-admin hub init' on an enrolled PC. Changes wait here until then."
            ) from None
        except (
            psycopg.errors.LockNotAvailable,
            psycopg.errors.QueryCanceled,
            psycopg.errors.IdleInTransactionSessionTimeout,
        ):
            self.close()
            raise HubUnreachable(
                "The hub did not answer in time (it is busy, or being maintained); changes wait here for the next try."
            ) from None
        except (psycopg.OperationalError, HubUnreachable):
            self.close()
            raise HubUnreachable("The connection to the hub was lost; changes wait here for the next try.") from None
        with self.store.writing() as conn:
            device.set_value(conn, device.LAST_SYNCED, self.store.clock.now().isoformat())
        return RoundReport(
            pushed, result.versions, result.accounts, tuple(result.rejected),  # healing's counted in both
            frozenset(result.patients), status.read(self.store), healed,
        )  # fmt: skip

    def _read(self, dek: DataKey, reader: Any, device_id: str, admin: bool) -> tuple[Any, anti_entropy.Healed]:
        """Pull, then anti-entropy, from `reader` (the replica or the primary)."""
        result = pull(self.store, dek, reader)
        if admin:
            audit_pull.pull_audit(self.store, dek, reader, result)
        return result, anti_entropy.heal(self.store, dek, reader, device_id, result)

    def _reader(self, dek: DataKey, hub: Any) -> Any:
        """The connection pull and anti-entropy read from: the read replica policy names, else (none
        named, or it failed lately) the primary `hub`. A replica that cannot be reached is not a failed
        round: the primary has everything the replica has, and more."""
        if not self.read_url:
            return hub
        if self._replica is not None and not self._replica.closed and not self._replica.broken:
            return self._replica
        self._close_replica()
        if self._replica_failed is not None and time.monotonic() - self._replica_failed < REPLICA_RETRY_SECONDS:
            return hub
        assert self._config is not None  # round() opened the primary `hub` first, which loaded it
        params = self._config.params(self.store.data_dir)
        params.update(hub_address.address_part(hub_address.parse(self.read_url)))
        try:
            self._replica = hub_address.connect(params)
        except (HubUnreachable, HubAccessRefused) as exc:  # refused there alone: a replica not caught up
            self._replica_lost(f"cannot be reached ({type(exc).__name__})")
            return hub
        self._replica_failed = None
        return self._replica

    def _replica_lost(self, why: str) -> None:
        _log.warning("sync: the hub's read replica %s; reading from the primary", why)
        self._close_replica()
        self._replica_failed = time.monotonic()

    def _close_replica(self) -> None:
        if self._replica is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close; dropped either way
                self._replica.close()
        self._replica = None

    def _check_clock(self, hub: Any) -> None:
        """Note how far this PC's clock is from the hub's: versions carry the time of the PC that wrote
        them, so a clock days out makes history wrong, and the user is told (status bar)."""
        now = time.monotonic()
        if self._clock_checked is not None and now - self._clock_checked < CLOCK_CHECK_SECONDS:
            return
        hub_now = hub.execute("SELECT statement_timestamp() AT TIME ZONE 'UTC'").fetchone()[0]
        hub.commit()
        skew = (self.store.clock.now() - hub_now).total_seconds()
        with self.store.writing() as conn:
            device.set_value(conn, device.CLOCK_SKEW, f"{skew:.0f}")
        self._clock_checked = now

    def _pin_admin_key(self, hub: Any) -> None:
        """A PC enrolled before accounts were signed takes the admin key `hub init` gave the hub; a PC
        that has one keeps it (an account change signed by another key is refused and reported)."""
        row = hub.execute("SELECT value FROM hub_meta WHERE key = %s", (hub_admin.ADMIN_KEY_META,)).fetchone()
        hub.commit()
        if row is None:
            return
        with self.store.writing() as conn:
            if grants.public_key(conn) is None:
                conn.execute(insert(Meta.__table__).values(key=grants.PUBLIC_KEY_META, value=row[0]))

    def connection(self, dek: DataKey) -> Any:
        """The open hub connection (opened on first use, again after a failure)."""
        if self._hub is not None and not self._hub.closed and not self._hub.broken:
            return self._hub
        self._clock_checked = None
        with self.store.reading() as conn:
            self._config = device.load(conn, dek)
        if self._config is None:
            raise NotEnrolled("This PC is not enrolled with a sync hub; it keeps its own store.")
        params = self._config.params(self.store.data_dir)
        if self.hub_url:
            params.update(hub_address.address_part(hub_address.parse(self.hub_url)))
        try:
            self._hub = hub_address.connect(params)
        except HubUnreachable as exc:
            raise HubUnreachable(f"{exc} Changes wait here for the next try.") from None
        return self._hub

    def close(self) -> None:
        if self._hub is not None:
            # A broken connection may fail to close; it is dropped either way.
            with contextlib.suppress(Exception):
                self._hub.close()
        self._hub = None
        self._close_replica()

    def cancel(self) -> None:
        """From another thread (the app locking), returning at once: the round in flight ends now with
        HubUnreachable. The hub is asked to cancel the statement and the link is cut. Nothing queued is
        lost: push deletes queue rows only after the hub commits, pull commits rows with its horizon.
        A round still connecting has no link to cut: it ends on its own (connect timeout, deadlines)."""
        self._cancels += 1
        for conn in (self._hub, self._replica):
            if conn is not None:
                conn.abort()


def one_round(store: Any, dek: DataKey, hub_url: str | None = None, read_url: str | None = None, *,
              admin: bool = False) -> RoundReport:  # fmt: skip
    """One round on a connection of its own, closed after (scripts, enrolment; the app keeps a client)."""
    client = SyncClient(store, hub_url, read_url)
    try:
        return client.round(dek, admin=admin)
    finally:
        client.close()
