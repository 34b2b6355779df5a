"""The fake unit of work of the handler tests: repositories in memory, audit rows and events recorded.

An aggregate's fake is its real unit of work with this class first among the bases, and fake repositories set
in `__init__`:

    class FakeUnitsUnitOfWork(FakeUnitOfWork, UnitsUnitOfWork):
        def __init__(self) -> None:
            super().__init__()
            self.units = FakeUnitRepository()

Entering it takes a snapshot of every `FakeRepository` it holds; leaving it with an error puts them back
and drops what was audited and published inside (as a rolled-back transaction would); leaving it cleanly
moves them to `audits` and `events` (as a commit would).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any

from google.protobuf.message import Message

from d07.platform import context
from d07.platform.uow import vietnam_today

# The fakes' "now" unless a test sets another: a working day in the province.
NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


class FakeRepository:
    """Base of an in-memory repository: its instance attributes are the state a rollback restores."""


@dataclass(frozen=True)
class Audited:
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    unit_id: str | None
    actor: str


@dataclass(frozen=True)
class Published:
    topic: str
    key: str
    message: Message
    subject: str | None = None

    @property
    def type(self) -> str:
        return self.message.DESCRIPTOR.full_name


@dataclass
class _Pending:
    audits: list[Audited] = field(default_factory=list)
    events: list[Published] = field(default_factory=list)


class FakeUnitOfWork:
    def __init__(self, *, source: str = "/d07/test", now: datetime = NOW) -> None:
        self.source = source
        self.clock_now = now
        self.audits: list[Audited] = []
        self.events: list[Published] = []
        self.commits = 0
        self.rollbacks = 0
        self._open: _Pending | None = None
        self._snapshot: dict[str, dict[str, Any]] = {}

    # --- the transaction --------------------------------------------------------------------------------

    def _repositories(self) -> dict[str, FakeRepository]:
        return {name: value for name, value in vars(self).items() if isinstance(value, FakeRepository)}

    async def __aenter__(self) -> Any:
        if self._open is not None:
            raise RuntimeError("this unit of work is already open")
        self._open = _Pending()
        self._snapshot = {name: copy.deepcopy(vars(repo)) for name, repo in self._repositories().items()}
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        pending, self._open = self._open, None
        assert pending is not None
        if kind is None:
            self.commits += 1
            self.audits.extend(pending.audits)
            self.events.extend(pending.events)
        else:
            self.rollbacks += 1
            for name, repo in self._repositories().items():
                vars(repo).clear()
                vars(repo).update(self._snapshot[name])

    def bind(self, conn: Any) -> None:  # the fakes are bound from the start
        pass

    @property
    def conn(self) -> Any:
        raise AssertionError("a handler under a fake unit of work reached for a database connection")

    def _pending(self) -> _Pending:
        if self._open is None:
            raise AssertionError("audited or published outside `async with uow:`")
        return self._open

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
        who = context.principal.get()
        actor = who.subject if who is not None else "system"
        self._pending().audits.append(
            Audited(action, object_type, object_id, dict(details or {}), unit_id, actor)
        )

    async def audit_many(self, *, action: str, object_type: str, entries: Any) -> None:
        for object_id, unit_id, details in entries:
            await self.audit(
                action=action, object_type=object_type, object_id=object_id, details=details, unit_id=unit_id
            )

    async def publish(
        self, topic: str, *, key: str, message: Message, subject: str | None = None, time: Any = None
    ) -> None:
        self._pending().events.append(Published(topic, key, message, subject))

    async def publish_many(self, topic: str, events: Any) -> None:
        for key, message in events:
            await self.publish(topic, key=key, message=message)

    # --- the clock --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock_now

    def today(self) -> date:
        return vietnam_today(self.clock_now)

    def advance(self, **delta: float) -> None:
        self.clock_now += timedelta(**delta)

    # --- what the tests read ----------------------------------------------------------------------------

    def actions(self) -> list[str]:
        return [a.action for a in self.audits]

    def event_types(self) -> list[str]:
        return [e.type.rsplit(".", 1)[-1] for e in self.events]
