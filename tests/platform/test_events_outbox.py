"""The outbox and its relay against the real PostgreSQL and broker, with a consumer in another schema.

The producing schema stands for one service, the consuming schema for another; they share nothing but the
topic.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import cast

import asyncpg
import pytest
from prometheus_client import REGISTRY

from d07.platform.db import Conn
from d07.platform.devstack.broker import Broker
from d07.platform.events import OutboxRelay, outbox
from d07.platform.events.outbox import _LATE, RoundResult, _Chunk
from tests.conftest import RUN, unique
from tests.platform.events_support import (
    SOURCE,
    WAIT,
    applied_count,
    applied_totals,
    make_runner,
    relaying,
    running,
    services,
    unit_event,
)
from tests.support.waiting import eventually

__all__ = ["services"]  # the fixture, imported for pytest

Services = Callable[[str], Awaitable[tuple[str, asyncpg.Pool]]]


async def outbox_rows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox"))


async def test_add_refuses_to_run_outside_a_transaction(services: Services) -> None:
    _, pool = await services("prod")
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            await outbox.add(conn, topic="t", key="k", message=unit_event("k", 1), source=SOURCE)
    assert await outbox_rows(pool) == 0


async def test_committed_event_arrives_once_and_rolled_back_one_never(
    broker: Broker, services: Services
) -> None:
    producer_schema, producer_pool = await services("prod")
    _, consumer_pool = await services("cons")
    topic = unique("d07.test.units.v1")
    key = str(uuid.uuid4())

    # A transaction that rolls back: its event must never be published.
    async with producer_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await outbox.add(conn, topic=topic, key=key, message=unit_event(key, 1, "rolled back"), source=SOURCE)
        await tx.rollback()
    assert await outbox_rows(producer_pool) == 0

    async with producer_pool.acquire() as conn, conn.transaction():
        event_id = await outbox.add(
            conn, topic=topic, key=key, message=unit_event(key, 2, "committed"), source=SOURCE
        )
    assert await outbox_rows(producer_pool) == 1

    group = unique("g")
    runner = make_runner(consumer_pool, broker.bootstrap, group_id=group, consumer_name=group, topics=[topic])
    async with relaying(producer_pool, producer_schema, broker.bootstrap), running(runner):
        await eventually(lambda: applied_count(consumer_pool), what="the committed event", within=WAIT)
        await eventually(
            lambda: outbox_rows(producer_pool),
            until=lambda n: n == 0,
            what="the outbox to drain",
            within=WAIT,
        )
        # Give a stray second delivery the time to show up before counting.
        await asyncio.sleep(1.0)
    rows = await consumer_pool.fetch("SELECT event_id, key, seq, name FROM applied")
    assert [(r["event_id"], r["key"], r["seq"], r["name"]) for r in rows] == [(event_id, key, 2, "committed")]
    inbox = await consumer_pool.fetch("SELECT event_id, topic, consumer FROM inbox")
    assert [(r["event_id"], r["topic"], r["consumer"]) for r in inbox] == [(event_id, topic, group)]
    assert REGISTRY.get_sample_value("d07_events_published_total", {"topic": topic}) == 1
    assert (
        REGISTRY.get_sample_value(
            "d07_events_consumed_total", {"consumer": group, "topic": topic, "outcome": "applied"}
        )
        == 1
    )
    assert REGISTRY.get_sample_value("d07_outbox_pending", {"schema": producer_schema}) == 0


async def test_per_key_order_is_kept(broker: Broker, services: Services) -> None:
    producer_schema, producer_pool = await services("prod")
    _, consumer_pool = await services("cons")
    topic = unique("d07.test.units.v1")
    keys = [str(uuid.uuid4()) for _ in range(5)]
    per_key = 60
    # Interleaved keys, written in several transactions, some while the relay is already running.
    async with relaying(producer_pool, producer_schema, broker.bootstrap, batch_size=37):
        for chunk in range(6):
            async with producer_pool.acquire() as conn, conn.transaction():
                for seq in range(chunk * 10, chunk * 10 + 10):
                    for key in keys:
                        await outbox.add(
                            conn, topic=topic, key=key, message=unit_event(key, seq), source=SOURCE
                        )
        group = unique("g")
        runner = make_runner(
            consumer_pool, broker.bootstrap, group_id=group, consumer_name=group, topics=[topic], batch_max=23
        )
        async with running(runner):
            total = len(keys) * per_key
            await eventually(
                lambda: applied_count(consumer_pool),
                until=lambda n: n >= total,
                what=f"{total} events",
                within=WAIT,
            )
    rows = await consumer_pool.fetch("SELECT key, seq FROM applied ORDER BY n")
    assert len(rows) == len(keys) * per_key
    for key in keys:
        assert [r["seq"] for r in rows if r["key"] == key] == list(range(per_key))


async def test_one_relay_per_schema_and_the_standby_takes_over(broker: Broker, services: Services) -> None:
    schema, pool = await services("prod")
    topic = unique("d07.test.units.v1")

    async def write(seq: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, topic=topic, key="k", message=unit_event("k", seq), source=SOURCE)

    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first = OutboxRelay(pool, schema=schema, bootstrap=broker.bootstrap, poll_interval=0.2)
    second = OutboxRelay(pool, schema=schema, bootstrap=broker.bootstrap, poll_interval=0.2)
    first_task = asyncio.create_task(first.run(stop_first))
    second_task: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: first.is_leader, what="the first relay to lead", within=WAIT)
        second_task = asyncio.create_task(second.run(stop_second))
        await write(1)
        await eventually(
            lambda: outbox_rows(pool), until=lambda n: n == 0, what="the outbox to drain", within=WAIT
        )
        assert first.is_leader
        assert not second.is_leader
        stop_first.set()
        await asyncio.wait_for(first_task, 30)
        await eventually(lambda: second.is_leader, what="the standby to take over", within=WAIT)
        await write(2)
        await eventually(
            lambda: outbox_rows(pool), until=lambda n: n == 0, what="the standby to publish", within=WAIT
        )
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.wait_for(asyncio.gather(first_task, *([second_task] if second_task else [])), 30)
    assert REGISTRY.get_sample_value("d07_events_published_total", {"topic": topic}) == 2


async def test_broker_paused_while_events_are_written(services: Services) -> None:
    """SIGSTOP the broker for 10 s while 1.000 events are written: all arrive, none twice, in key order."""
    producer_schema, producer_pool = await services("prod")
    _, consumer_pool = await services("cons")
    topic = unique("d07.test.units.v1")
    group = unique("g")
    keys = [f"unit-{i}" for i in range(10)]
    own_broker = Broker(log_path=RUN / f"test-broker-paused-{os.getpid()}.log").start()
    paused = False
    try:
        runner = make_runner(
            consumer_pool, own_broker.bootstrap, group_id=group, consumer_name=group, topics=[topic]
        )
        # Chunks of 64 rows: the drain reads ahead and deletes behind while the broker stalls and comes back.
        relay = relaying(
            producer_pool, producer_schema, own_broker.bootstrap, request_timeout_ms=2000, batch_size=64
        )
        async with relay, running(runner):
            async with producer_pool.acquire() as conn, conn.transaction():
                await outbox.add(
                    conn, topic=topic, key="warm-up", message=unit_event("warm-up", 0), source=SOURCE
                )
            await eventually(lambda: applied_count(consumer_pool), what="the warm-up event", within=WAIT)

            own_broker.pause()
            paused = True
            paused_at = time.monotonic()
            for seq in range(100):
                async with producer_pool.acquire() as conn, conn.transaction():
                    await outbox.add_many(
                        conn, topic=topic, source=SOURCE, events=[(key, unit_event(key, seq)) for key in keys]
                    )
                await asyncio.sleep(0.03)
            assert await outbox_rows(producer_pool) == 1000  # nothing could be published meanwhile
            await asyncio.sleep(max(0.0, 10.0 - (time.monotonic() - paused_at)))
            own_broker.resume()
            paused = False

            await eventually(
                lambda: applied_count(consumer_pool), until=lambda n: n >= 1001, within=90, what="1001 events"
            )
            await eventually(
                lambda: outbox_rows(producer_pool),
                until=lambda n: n == 0,
                what="the outbox to drain",
                within=WAIT,
            )
            await asyncio.sleep(1.0)  # room for a stray double delivery to be applied before counting
        assert await applied_totals(consumer_pool) == (1001, 1001)
        rows = await consumer_pool.fetch("SELECT key, seq FROM applied WHERE key <> 'warm-up' ORDER BY n")
        for key in keys:
            assert [r["seq"] for r in rows if r["key"] == key] == list(range(100))
    finally:
        if paused:
            own_broker.resume()
        own_broker.stop()


async def test_read_ahead_never_skips_a_row_committed_late(broker: Broker, services: Services) -> None:
    """A transaction that took a low id commits while the relay reads ahead: that key keeps its order.

    The read-ahead (`id >` the chunk in flight) must notice the row that appeared below it and read from the
    oldest row again; otherwise the key's later row would go out first.
    """
    producer_schema, producer_pool = await services("prod")
    _, consumer_pool = await services("cons")
    topic = unique("d07.test.units.v1")
    relay = OutboxRelay(producer_pool, schema=producer_schema, bootstrap=broker.bootstrap, batch_size=10)
    producer = await relay._ensure_producer()
    try:
        async with producer_pool.acquire() as late, producer_pool.acquire() as proxy:
            conn = cast(asyncpg.Connection, proxy)
            tx = late.transaction()
            await tx.start()
            await outbox.add(late, topic=topic, key="k", message=unit_event("k", 0), source=SOURCE)
            async with conn.transaction():
                await outbox.add_many(
                    conn, topic=topic, source=SOURCE,
                    events=[(f"other-{i}", unit_event(f"other-{i}", i)) for i in range(25)],
                )  # fmt: skip
            first = await relay._read(conn, producer, None)
            assert isinstance(first, _Chunk)
            assert first.size == 10
            ahead = await relay._read(conn, producer, first)
            assert isinstance(ahead, _Chunk)
            assert ahead.first_id == first.last_id + 1
            await tx.commit()  # k's first row, below everything read so far, is now visible
            async with conn.transaction():
                await outbox.add(conn, topic=topic, key="k", message=unit_event("k", 1), source=SOURCE)
            assert await relay._read(conn, producer, first) is _LATE
            assert await relay._read(conn, producer, ahead) is _LATE
    finally:
        await producer.stop()

    group = unique("g")
    runner = make_runner(consumer_pool, broker.bootstrap, group_id=group, consumer_name=group, topics=[topic])
    async with relaying(producer_pool, producer_schema, broker.bootstrap, batch_size=10), running(runner):
        await eventually(
            lambda: applied_count(consumer_pool), until=lambda n: n >= 27, what="27 events", within=WAIT
        )
        await eventually(
            lambda: outbox_rows(producer_pool),
            until=lambda n: n == 0,
            what="the outbox to drain",
            within=WAIT,
        )
        await asyncio.sleep(1.0)  # room for a stray double delivery to be applied before counting
    assert await applied_totals(consumer_pool) == (27, 27)
    rows = await consumer_pool.fetch("SELECT seq FROM applied WHERE key = 'k' ORDER BY n")
    assert [r["seq"] for r in rows] == [0, 1]


async def test_read_ahead_notices_a_late_row_inside_the_chunk_in_flight(
    broker: Broker, services: Services
) -> None:
    """The late row's id lies between the first and last id of the chunk in flight, not below it."""
    schema, pool = await services("prod")
    topic = unique("d07.test.units.v1")
    relay = OutboxRelay(pool, schema=schema, bootstrap=broker.bootstrap, batch_size=10)
    producer = await relay._ensure_producer()

    async def write(conn: Conn, key: str) -> None:
        await outbox.add(conn, topic=topic, key=key, message=unit_event(key, 0), source=SOURCE)

    try:
        async with pool.acquire() as late, pool.acquire() as proxy:
            conn = cast(asyncpg.Connection, proxy)
            async with conn.transaction():
                await write(conn, "a")
            tx = late.transaction()
            await tx.start()
            await write(late, "late")
            for i in range(20):
                async with conn.transaction():
                    await write(conn, f"b-{i}")
            first = await relay._read(conn, producer, None)
            assert isinstance(first, _Chunk)
            assert (first.size, first.last_id - first.first_id) == (10, 10)  # one id in it not visible
            assert isinstance(await relay._read(conn, producer, first), _Chunk)
            await tx.commit()
            assert await relay._read(conn, producer, first) is _LATE
            again = await relay._read(conn, producer, None)
            assert isinstance(again, _Chunk)
            assert (again.first_id, again.last_id) == (first.first_id, first.last_id - 1)
    finally:
        await producer.stop()


async def test_on_round_reports_each_drain_after_its_deletes(broker: Broker, services: Services) -> None:
    schema, pool = await services("prod")
    topic = unique("d07.test.units.v1")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add_many(
            conn,
            topic=topic,
            source=SOURCE,
            events=[(f"u-{i % 7}", unit_event(f"u-{i % 7}", i)) for i in range(95)],
        )
    rounds: list[RoundResult] = []
    left: list[int] = []

    def on_round(result: RoundResult) -> None:
        rounds.append(result)
        left.append(-1)  # replaced below by the count the relay left behind

    async with relaying(pool, schema, broker.bootstrap, batch_size=20, on_round=on_round):
        await eventually(
            lambda: sum(r.published for r in rounds) >= 95, what="95 events reported", within=WAIT
        )
        assert await outbox_rows(pool) == 0  # reported only after the rows were deleted
    first = rounds[0]
    assert (first.read, first.published, first.error, first.caught_up) == (95, 95, None, True)
    assert all(r.read == 0 and r.published == 0 and r.caught_up for r in rounds[1:])
    assert REGISTRY.get_sample_value("d07_events_published_total", {"topic": topic}) == 95
