"""The unit of work: one connection, one transaction, the aggregate's repositories, its audit rows and events.

A handler is written `handler(uow, command, principal)`: it checks the principal first, then opens the unit of
work and changes state through it. Everything written inside `async with uow:` commits together or not at all:

    async with uow:
        unit = await uow.units.get(unit_id)
        ...
        await uow.audit(action="unit.update", object_type="unit", object_id=str(unit.id))
        await uow.publish(UNITS_TOPIC, key=str(unit.id), message=pb.UnitUpdated(...))

An aggregate declares its unit of work as a subclass that binds its repositories to the connection:

    class UnitsUnitOfWork(UnitOfWork):
        units: UnitRepository

        def bind(self, conn: Conn) -> None:
            self.units = UnitRepository(conn)

The doors build one per call from the service's dependencies (`deps.uow(UnitsUnitOfWork)`). Handler tests
replace it with a fake of the same shape whose repositories live in memory and which records the audit rows
and events it was given (tests/support/uow.py), so a permission, an audit row or an event is checked in
milliseconds without a database. The events go through the transactional outbox with the service as source;
the audit rows into the service's audit trail (`d07.platform.audit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Self

import asyncpg
from google.protobuf.message import Message

from d07.platform import audit
from d07.platform.db import Conn
from d07.platform.events import outbox

VIETNAM = timezone(timedelta(hours=7))

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def vietnam_today(now: datetime) -> date:
    """The date in the province at `now` (Vietnam keeps one zone, UTC+7, without summer time)."""
    return now.astimezone(VIETNAM).date()


class UnitOfWork:
    """One transaction over a pooled connection, with the repositories `bind` attaches to it.

    A unit of work may be entered more than once, one transaction each time; it is not re-entrant.
    """

    def __init__(self, pool: asyncpg.Pool, *, source: str, clock: Clock = system_clock) -> None:
        self._pool = pool
        self.source = source
        self._clock = clock
        self._conn: Conn | None = None
        self._borrowed = False

    @classmethod
    def within(cls, conn: Conn, *, source: str, clock: Clock = system_clock) -> Self:
        """A unit of work inside a transaction someone else holds (a consumer's batch, whose inbox rows must
        commit with the effect): bound at once; entering and leaving it neither begins nor ends anything."""
        uow = cls.__new__(cls)
        UnitOfWork.__init__(uow, None, source=source, clock=clock)  # type: ignore[arg-type]
        uow._conn = conn
        uow._borrowed = True
        uow.bind(conn)
        return uow

    # --- to override ------------------------------------------------------------------------------------

    def bind(self, conn: Conn) -> None:
        """Attach the aggregate's repositories to `conn` (a subclass sets its attributes here)."""

    # --- the transaction --------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._borrowed:
            return self
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        acquired = self._pool.acquire()
        conn = await acquired.__aenter__()
        transaction = conn.transaction()
        try:
            await transaction.start()
        except BaseException:
            await acquired.__aexit__(None, None, None)
            raise
        self._conn = conn
        self._transaction = transaction
        self._acquired = acquired
        self.bind(conn)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._borrowed:
            return
        try:
            if kind is None:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            self._conn = None
            await self._acquired.__aexit__(kind, error, tb)

    @property
    def conn(self) -> Conn:
        """The open transaction's connection, for what a repository does not cover."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._conn

    # --- what every change writes -----------------------------------------------------------------------

    async def audit(
        self,
        *,
        action: str,
        object_type: str,
        object_id: str,
        details: dict[str, Any] | None = None,
        unit_id: str | None = None,
    ) -> None:
        """One audit row in this transaction (actor, request and address from the call's context)."""
        await audit.record(
            self.conn, action=action, object_type=object_type, object_id=object_id,
            details=details, unit_id=unit_id,
        )  # fmt: skip

    async def audit_many(
        self, *, action: str, object_type: str, entries: Sequence[tuple[str, str | None, dict[str, Any]]]
    ) -> None:
        """Audit rows `(object id, unit id, details)` of one action, in one statement."""
        await audit.record_many(self.conn, action=action, object_type=object_type, entries=entries)

    async def publish(
        self,
        topic: str,
        *,
        key: str,
        message: Message,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> None:
        """One event through the outbox, in this transaction, with this service as its source."""
        await outbox.add(
            self.conn, topic=topic, key=key, message=message, source=self.source,
            subject=subject, time=time,
        )  # fmt: skip

    async def publish_many(self, topic: str, events: Iterable[tuple[str, Message]]) -> None:
        """Several `(key, message)` events on one topic, in one statement."""
        await outbox.add_many(self.conn, topic=topic, source=self.source, events=events)

    # --- the clock --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current time (UTC), from the unit of work's clock so that tests can set it."""
        return self._clock()

    def today(self) -> date:
        """Today in the province (UTC+7)."""
        return vietnam_today(self._clock())
