"""Following the activity log of violations in order (WatchViolations and its HTTP page).

`FeedReader` reads `violation_activity` after a cursor and passes rows on only in an order that cannot
change later (domain.FeedPosition explains the gaps it waits at). `ActivitySignal` wakes readers when rows
commit: one LISTEN connection per process on `d07_violations_<schema>` (migration 0003's trigger notifies
there), opened while somebody reads; readers also poll, so a lost listener costs latency, never rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from cameras.violations import repository as repo
from cameras.violations.domain import Activity, FeedPosition, Violation
from d07.platform.logging import get_logger
from d07.platform.runtime import Deps

log = get_logger(__name__)

Entry = tuple[Activity, Violation]
# While a gap is waited on, its transactions may end without a notification (a rollback): look again soon.
GAP_POLL_SECONDS = 0.05
RECONNECT_SECONDS = 5.0
GAP_GRACE_SECONDS = 5.0
SIGNAL_KEY = "violations.signal"


class ActivitySignal:
    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self.channel = f"d07_violations_{schema}"
        self._conn: asyncpg.Connection | None = None
        self._users = 0
        self._tickets: set[asyncio.Future[None]] = set()
        self._connecting: asyncio.Task[None] | None = None
        self._last_attempt = -RECONNECT_SECONDS

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Keep the listener open while the caller reads."""
        self._users += 1
        self._ensure_connected()
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                await self._close()

    def ticket(self) -> asyncio.Future[None]:
        """A future resolved by the next notification; take it before reading, then `wait` on it, so a row
        that commits while the reader reads still wakes it."""
        self._ensure_connected()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tickets.add(future)
        return future

    async def wait(self, ticket: asyncio.Future[None], seconds: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(ticket), seconds)
        except TimeoutError:
            pass
        finally:
            self.discard(ticket)

    def discard(self, ticket: asyncio.Future[None]) -> None:
        self._tickets.discard(ticket)
        ticket.cancel()

    def _notified(self, *_: Any) -> None:
        tickets, self._tickets = self._tickets, set()
        for future in tickets:
            if not future.done():
                future.set_result(None)

    def _ensure_connected(self) -> None:
        loop = asyncio.get_running_loop()
        if self._conn is not None or self._connecting is not None or self._users == 0:
            return
        if loop.time() - self._last_attempt < RECONNECT_SECONDS:
            return
        self._last_attempt = loop.time()
        self._connecting = asyncio.create_task(self._connect(), name="violations-listener")

    async def _connect(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5)
            await conn.add_listener(self.channel, self._notified)
            conn.add_termination_listener(self._lost)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("violations_listener_unavailable", error=str(exc))
            return
        finally:
            self._connecting = None
        if self._users == 0:  # everybody left while it connected
            await conn.close()
            return
        self._conn = conn
        self._notified()  # rows may have committed before LISTEN took effect: let readers look

    def _lost(self, *_: Any) -> None:
        self._conn = None

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await conn.close(timeout=2)


class FeedReader:
    """Reads the feed from a cursor for one client; `visible` says which violations the client may read
    (rows of others move the position on without being passed on)."""

    def __init__(
        self, pool: asyncpg.Pool, *, cursor: int, visible: Callable[[Violation], bool], batch: int = 200
    ) -> None:
        self._pool = pool
        self._visible = visible
        self._batch = batch
        self.position = FeedPosition(cursor=cursor)

    @property
    def cursor(self) -> int:
        return self.position.cursor

    async def read(self) -> tuple[list[Entry], bool]:
        """The entries that may be passed on now (possibly none), and whether more are ready to read."""
        async with self._pool.acquire() as conn:
            gap = self.position.gap
            if gap is not None and await repo.all_ended(conn, gap.xids):
                self.position.settle()
            # One snapshot for both: the transactions in progress are those that could still fill a gap
            # among the rows read.
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                in_progress = await repo.in_progress_transactions(conn)
                rows = await repo.feed(conn, after=self.position.cursor, limit=self._batch)
        taken = self.position.advance([a.seq for a, _ in rows], in_progress)
        entries = [(a, v) for a, v in rows[:taken] if self._visible(v)]
        return entries, taken == len(rows) == self._batch

    def wait_seconds(self, poll_seconds: float) -> float:
        return GAP_POLL_SECONDS if self.position.gap is not None else poll_seconds

    async def read_within(
        self, signal: ActivitySignal, *, wait_seconds: float, poll_seconds: float
    ) -> list[Entry]:
        """Entries as soon as there are some, or none after `wait_seconds`; a gap seen meanwhile is waited on
        a little longer (GAP_GRACE_SECONDS), as it normally settles within milliseconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        hard_deadline = deadline + GAP_GRACE_SECONDS
        while True:
            ticket = signal.ticket()
            try:
                entries, _ = await self.read()
                now, settled = loop.time(), self.position.gap is None
                if entries or now >= hard_deadline or (settled and now >= deadline):
                    return entries
                until = deadline if settled else hard_deadline
                await signal.wait(ticket, min(self.wait_seconds(poll_seconds), until - now))
            finally:
                signal.discard(ticket)


def signal_of(deps: Deps) -> ActivitySignal:
    """The process's one ActivitySignal, shared by the gRPC and the HTTP door."""
    signal = deps.extra.get(SIGNAL_KEY)
    if signal is None:
        signal = deps.extra[SIGNAL_KEY] = ActivitySignal(
            deps.settings.resolved_database_url(), deps.settings.db_schema
        )
    assert isinstance(signal, ActivitySignal)
    return signal
