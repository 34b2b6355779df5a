"""The unit of work against the session's real PostgreSQL (a schema with the platform's tables): the change,
its audit row and its outbox row commit together or not at all; and the fake of the handler tests behaves
alike. No broker, no service process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from d07.platform.db import Conn, all_migrations, create_pool, migrate
from d07.platform.uow import UnitOfWork, vietnam_today
from d07.registry.v1 import registry_pb2 as pb
from tests.conftest import unique
from tests.support.principals import acting, caller
from tests.support.uow import NOW, FakeRepository, FakeUnitOfWork

TOPIC = "d07.test.units.v1"
SOURCE = "/d07/test-uow"


class NoteRepository:
    """A repository of the test's own table, bound to the unit of work's connection."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, text: str) -> None:
        await self.conn.execute("INSERT INTO note (text) VALUES ($1)", text)


class NotesUnitOfWork(UnitOfWork):
    notes: NoteRepository

    def bind(self, conn: Conn) -> None:
        self.notes = NoteRepository(conn)


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = unique("uow")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema=schema, migrations=all_migrations(schema, None))
        await conn.execute(f'CREATE TABLE "{schema}".note (n bigserial PRIMARY KEY, text text NOT NULL)')
    finally:
        await conn.close()
    p = await create_pool(database_url, schema=schema, min_size=1, max_size=3)
    yield p
    await p.close()


async def counts(pool: asyncpg.Pool, object_id: str) -> tuple[int, int, int]:
    """(notes, audit rows, outbox rows) of one object."""
    row = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM note WHERE text = $1) AS notes,
                  (SELECT count(*) FROM audit_log WHERE object_id = $1) AS audits,
                  (SELECT count(*) FROM outbox WHERE key = $1) AS events""",
        object_id,
    )
    assert row is not None
    return int(row["notes"]), int(row["audits"]), int(row["events"])


async def change(uow: NotesUnitOfWork, object_id: str) -> None:
    await uow.notes.add(object_id)
    await uow.audit(action="note.add", object_type="note", object_id=object_id, details={"n": 1})
    await uow.publish(TOPIC, key=object_id, message=pb.UnitCreated(unit=pb.Unit(id=object_id)))


async def change_then_fail(uow: NotesUnitOfWork, object_id: str) -> None:
    async with uow:
        await change(uow, object_id)
        raise LookupError("refused after writing")


async def change_then_reenter(uow: NotesUnitOfWork, object_id: str) -> None:
    async with uow:
        await change(uow, object_id)
        async with uow:
            pass


async def test_commit_writes_the_change_its_audit_row_and_its_event_together(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    uow = NotesUnitOfWork(pool, source=SOURCE)
    with acting(caller("admin", subject="thu-ky")):
        async with uow:
            await change(uow, object_id)
    assert await counts(pool, object_id) == (1, 1, 1)
    audit = await pool.fetchrow(
        "SELECT actor, roles, action, details FROM audit_log WHERE object_id = $1", object_id
    )
    assert audit is not None
    assert (audit["actor"], audit["roles"], audit["action"]) == ("thu-ky", ["admin"], "note.add")
    assert audit["details"] == {"n": 1}
    event = await pool.fetchrow("SELECT topic, event_type, headers FROM outbox WHERE key = $1", object_id)
    assert event is not None
    assert (event["topic"], event["event_type"]) == (TOPIC, "d07.registry.v1.UnitCreated")
    assert SOURCE in str(event["headers"])


async def test_an_error_rolls_back_the_change_its_audit_row_and_its_event(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    uow = NotesUnitOfWork(pool, source=SOURCE)
    with pytest.raises(LookupError, match="refused"):
        await change_then_fail(uow, object_id)
    assert await counts(pool, object_id) == (0, 0, 0)


async def test_many_audit_rows_and_events_commit_in_one_transaction(pool: asyncpg.Pool) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    uow = NotesUnitOfWork(pool, source=SOURCE)
    async with uow:
        await uow.audit_many(action="note.import", object_type="note", entries=[(i, None, {}) for i in ids])
        await uow.publish_many(TOPIC, [(i, pb.UnitCreated(unit=pb.Unit(id=i))) for i in ids])
    for i in ids:
        assert await counts(pool, i) == (0, 1, 1)


async def test_a_unit_of_work_is_reusable_one_transaction_each_time(pool: asyncpg.Pool) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    uow = NotesUnitOfWork(pool, source=SOURCE)
    async with uow:
        await change(uow, first)
    with pytest.raises(LookupError):
        await change_then_fail(uow, second)
    assert await counts(pool, first) == (1, 1, 1)
    assert await counts(pool, second) == (0, 0, 0)


async def test_the_connection_outside_the_block_is_refused(pool: asyncpg.Pool) -> None:
    uow = NotesUnitOfWork(pool, source=SOURCE)
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.conn
    async with uow:
        assert await uow.conn.fetchval("SELECT 1") == 1
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.conn
    with pytest.raises(RuntimeError, match="not open"):
        await uow.audit(action="a", object_type="t", object_id="x")


async def test_re_entering_an_open_unit_of_work_is_refused(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    uow = NotesUnitOfWork(pool, source=SOURCE)
    with pytest.raises(RuntimeError, match="already open"):
        await change_then_reenter(uow, object_id)
    assert await counts(pool, object_id) == (0, 0, 0)  # the outer transaction rolled back with it


async def test_now_and_today_come_from_the_given_clock(pool: asyncpg.Pool) -> None:
    # 18:30 UTC on the 3rd is already the 4th in Vietnam (UTC+7).
    late = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
    uow = NotesUnitOfWork(pool, source=SOURCE, clock=lambda: late)
    assert uow.now() == late
    assert uow.today() == date(2026, 12, 4)
    early = datetime(2026, 12, 3, 16, 59, tzinfo=UTC)
    assert vietnam_today(early) == date(2026, 12, 3)


async def test_a_unit_of_work_within_a_transaction_it_does_not_own(pool: asyncpg.Pool) -> None:
    """`UnitOfWork.within(conn)` (a consumer's batch): its block neither begins nor ends the transaction; the
    change, the audit row and the event go with the holder's commit or rollback."""
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    async with pool.acquire() as conn:
        async with conn.transaction():
            uow = NotesUnitOfWork.within(conn, source=SOURCE)
            assert uow.conn is conn
            async with uow:
                await change(uow, kept)
            async with uow:  # entered again: no "already open", still the holder's transaction
                await change(uow, kept + "-2")
        with pytest.raises(LookupError):
            await change_in_a_rolled_back_transaction(conn, dropped)
    assert await counts(pool, kept) == (1, 1, 1)
    assert await counts(pool, dropped) == (0, 0, 0)


async def change_in_a_rolled_back_transaction(conn: Conn, object_id: str) -> None:
    async with conn.transaction():
        uow = NotesUnitOfWork.within(conn, source=SOURCE)
        async with uow:
            await change(uow, object_id)
        raise LookupError("the holder rolls back after the unit of work's block")


# --- the fake of the handler tests (tests/support/uow.py) ---------------------------------------------


class FakeNotes(FakeRepository):
    def __init__(self) -> None:
        self.items: list[str] = []
        self.by_id: dict[str, dict[str, int]] = {}


class FakeNotesUnitOfWork(FakeUnitOfWork, NotesUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.notes = FakeNotes()  # type: ignore[assignment]


async def fake_change(uow: FakeNotesUnitOfWork, object_id: str, *, fail: bool = False) -> None:
    async with uow:
        notes = uow.notes
        assert isinstance(notes, FakeNotes)
        notes.items.append(object_id)
        notes.by_id.setdefault(object_id, {})["n"] = 1
        await uow.audit(action="note.add", object_type="note", object_id=object_id)
        await uow.publish(TOPIC, key=object_id, message=pb.UnitCreated(unit=pb.Unit(id=object_id)))
        if fail:
            raise LookupError("refused after writing")


async def test_the_fake_records_audits_and_events_on_commit() -> None:
    uow = FakeNotesUnitOfWork()
    with acting(caller("police", subject="csqlhc")):
        await fake_change(uow, "a")
    assert (uow.commits, uow.rollbacks) == (1, 0)
    assert uow.actions() == ["note.add"]
    assert uow.audits[0].actor == "csqlhc"
    assert (uow.audits[0].object_type, uow.audits[0].object_id) == ("note", "a")
    assert uow.event_types() == ["UnitCreated"]
    assert (uow.events[0].topic, uow.events[0].key, uow.events[0].type) == (
        TOPIC, "a", "d07.registry.v1.UnitCreated",
    )  # fmt: skip


async def test_the_fake_rolls_back_its_repositories_and_drops_what_was_pending() -> None:
    uow = FakeNotesUnitOfWork()
    await fake_change(uow, "kept")
    with pytest.raises(LookupError):
        await fake_change(uow, "dropped", fail=True)
    notes = uow.notes
    assert isinstance(notes, FakeNotes)
    assert notes.items == ["kept"]
    assert notes.by_id == {"kept": {"n": 1}}
    assert (uow.commits, uow.rollbacks) == (1, 1)
    assert [a.object_id for a in uow.audits] == ["kept"]
    assert [e.key for e in uow.events] == ["kept"]


async def reenter(uow: FakeNotesUnitOfWork) -> None:
    async with uow, uow:
        pass


async def test_the_fake_refuses_what_a_real_one_refuses() -> None:
    uow = FakeNotesUnitOfWork()
    with pytest.raises(AssertionError, match="outside"):
        await uow.audit(action="a", object_type="t", object_id="x")
    with pytest.raises(AssertionError, match="outside"):
        await uow.publish(TOPIC, key="x", message=pb.UnitCreated())
    with pytest.raises(AssertionError, match="database connection"):
        _ = uow.conn
    with pytest.raises(RuntimeError, match="already open"):
        await reenter(uow)
    assert uow.rollbacks == 1


async def test_the_fake_clock_is_settable() -> None:
    uow = FakeNotesUnitOfWork()
    assert uow.now() == NOW
    uow.advance(hours=20)
    assert uow.now() == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    assert uow.today() == date(2026, 12, 4)
    assert uow.today() == vietnam_today(uow.now())
