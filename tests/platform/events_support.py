"""Shared pieces of the events tests and of the consumer script they run in a subprocess.

A "service" here is a schema with the platform's tables plus `applied`, the table the test handler writes:
one row per handled event, with no unique constraint, so an event applied twice shows up as two rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from d07.platform.db import all_migrations, create_pool, migrate
from d07.platform.events import (
    ConsumedEvent,
    ConsumerRunner,
    InvalidEvent,
    OutboxRelay,
    make_headers,
    type_name,
)
from d07.registry.v1 import registry_pb2
from tests.conftest import unique

SOURCE = "/d07/test"
# How long the events tests give an effect to travel through the broker (`tests.support.waiting.eventually`'s
# `within`): a consumer group joins Tansu in seconds, but the machine is shared.
WAIT = 45.0
APPLIED_DDL = """
CREATE TABLE IF NOT EXISTS applied (
    n        bigserial PRIMARY KEY,
    event_id uuid NOT NULL,
    key      text NOT NULL,
    seq      bigint NOT NULL,
    name     text NOT NULL
)
"""


def unit_event(key: str, seq: int, name: str = "ok") -> registry_pb2.UnitCreated:
    """A small real event: the unit id is the key, `version` carries a sequence number for order checks."""
    return registry_pb2.UnitCreated(unit=registry_pb2.Unit(id=key, code=f"U{seq}", name=name, version=seq))


async def record_applied(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """The test handler: one row per event; a unit named "invalid" is refused after writing (rolled back)."""
    assert isinstance(event.message, registry_pb2.UnitCreated)
    unit = event.message.unit
    await conn.execute(
        "INSERT INTO applied (event_id, key, seq, name) VALUES ($1, $2, $3, $4)",
        event.id, unit.id, unit.version, unit.name,
    )  # fmt: skip
    if unit.name == "invalid":
        raise InvalidEvent("unit name 'invalid' is refused")


HANDLERS = {type_name(registry_pb2.UnitCreated): record_applied}
MESSAGES = [registry_pb2.UnitCreated]


async def prepare_schema(dsn: str, schema: str) -> asyncpg.Pool:
    """Migrate a service schema (outbox, inbox, applied) and return a pool bound to it."""
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, schema=schema, migrations=all_migrations(schema, None))
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(APPLIED_DDL)
    finally:
        await conn.close()
    return await create_pool(dsn, schema=schema, min_size=1, max_size=5)


def make_runner(
    pool: asyncpg.Pool, bootstrap: str, *, group_id: str, consumer_name: str, topics: list[str], **kw: Any
) -> ConsumerRunner:
    kw.setdefault("session_timeout_ms", 6000)
    kw.setdefault("max_backoff", 1.0)
    return ConsumerRunner(
        pool=pool, bootstrap=bootstrap, group_id=group_id, consumer_name=consumer_name, topics=topics,
        handlers=HANDLERS, messages=MESSAGES, **kw,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(runner: ConsumerRunner) -> AsyncIterator[asyncio.Task[None]]:
    """Run a consumer runner for the block; stop it and wait for it afterwards."""
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(task, 30)


async def applied_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM applied"))


def raw_headers(event_id: uuid.UUID, message: Any, subject: str = "s") -> list[tuple[str, bytes]]:
    return make_headers(
        event_id=event_id,
        event_type=type_name(message),
        source=SOURCE,
        subject=subject,
        time=datetime.now(UTC),
    )


async def produce_raw(bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes, list[Any]]]) -> None:
    """Publish `(key, value, headers)` records directly, bypassing the outbox (garbage, redeliveries)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers in items:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def produce_events(
    bootstrap: str, topic: str, events: list[tuple[str, registry_pb2.UnitCreated]]
) -> None:
    """Publish well-formed events directly (each with a fresh id), for the consumer-side tests."""
    await produce_raw(
        bootstrap,
        topic,
        [(key.encode(), msg.SerializeToString(), raw_headers(uuid.uuid4(), msg, key)) for key, msg in events],
    )


@contextlib.asynccontextmanager
async def relaying(pool: asyncpg.Pool, schema: str, bootstrap: str, **kw: Any) -> AsyncIterator[OutboxRelay]:
    """Run an outbox relay for the block; stop it and wait for it afterwards."""
    kw.setdefault("poll_interval", 0.2)
    kw.setdefault("max_backoff", 1.0)
    stop = asyncio.Event()
    relay = OutboxRelay(pool, schema=schema, bootstrap=bootstrap, **kw)
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Callable[[str], Awaitable[tuple[str, asyncpg.Pool]]]]:
    """Make fresh service schemas (`await services("prefix")` -> (schema, pool)); pools closed at the end."""
    pools: list[asyncpg.Pool] = []

    async def make(prefix: str) -> tuple[str, asyncpg.Pool]:
        schema = unique(prefix)
        pool = await prepare_schema(database_url, schema)
        pools.append(pool)
        return schema, pool

    yield make
    for pool in pools:
        await pool.close()


async def applied_totals(pool: asyncpg.Pool) -> tuple[int, int]:
    """(rows in `applied`, distinct event ids among them): equal when nothing was applied twice."""
    row = await pool.fetchrow("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM applied")
    assert row is not None
    return int(row["n"]), int(row["d"])
