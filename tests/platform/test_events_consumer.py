"""The consumer runner on the real PostgreSQL and broker: dead letters, redelivery, crash, outage, stop."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import REGISTRY

from d07.platform.devstack.broker import Broker
from d07.platform.devstack.postgres import Postgres
from d07.platform.events import BatchOutcome, ConsumedEvent, ConsumerRunner
from d07.registry.v1 import registry_pb2
from tests.conftest import ROOT, RUN, unique
from tests.platform.events_support import (
    WAIT,
    applied_count,
    applied_totals,
    make_runner,
    prepare_schema,
    produce_events,
    produce_raw,
    raw_headers,
    record_applied,
    running,
    services,
    unit_event,
)
from tests.support.waiting import eventually

__all__ = ["services"]  # the fixture, imported for pytest

Services = Callable[[str], Awaitable[tuple[str, asyncpg.Pool]]]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def read_topic(
    bootstrap: str, topic: str, n: int
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """The first `n` records of a topic (all partitions), as (key, value, headers)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[tuple[bytes | None, bytes, dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < n:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend((r.key, r.value, dict(r.headers)) for r in batch)
    finally:
        await consumer.stop()
    return found


async def test_garbage_goes_to_the_dead_letter_topic_and_the_partition_goes_on(
    broker: Broker, services: Services
) -> None:
    _, pool = await services("cons")
    topic = unique("d07.test.units.v1")
    consumer = unique("c")
    key = b"unit-1"  # one key: one partition, so the good events come after the garbage
    good = unit_event("unit-1", 1, "first good")
    wrong_type = [(n, v) for n, v in raw_headers(uuid.uuid4(), good) if n != "ce_type"]
    wrong_type.append(("ce_type", b"d07.registry.v1.NoSuchThing"))
    invalid = unit_event("unit-1", 2, "invalid")
    later = unit_event("unit-1", 3, "after the garbage")
    await produce_raw(
        broker.bootstrap,
        topic,
        [
            (key, b"not protobuf at all {", raw_headers(uuid.uuid4(), good)),
            (key, good.SerializeToString(), wrong_type),
            (key, good.SerializeToString(), [("content-type", b"application/protobuf")]),
            (key, good.SerializeToString(), raw_headers(uuid.uuid4(), good)),
            (key, invalid.SerializeToString(), raw_headers(uuid.uuid4(), invalid)),
            (key, later.SerializeToString(), raw_headers(uuid.uuid4(), later)),
        ],
    )  # fmt: skip
    runner = make_runner(pool, broker.bootstrap, group_id=unique("g"), consumer_name=consumer, topics=[topic])
    async with running(runner):
        await eventually(
            lambda: metric(
                "d07_events_dead_lettered_total", consumer=consumer, topic=topic, reason="invalid_event"
            ),
            what="the invalid event to be dead-lettered",
            within=WAIT,
        )
        await eventually(
            lambda: _names(pool),
            until=lambda names: names == ["first good", "after the garbage"],
            what="the good events",
            within=WAIT,
        )

    letters = await read_topic(broker.bootstrap, f"{topic}.dlq", 4)
    assert [h["d07_dlq_reason"] for _, _, h in letters] == [
        b"bad_payload",
        b"unknown_type",
        b"missing_header",
        b"invalid_event",
    ]
    for (k, _, h), offset in zip(letters, [0, 1, 2, 4], strict=True):
        assert k == key
        assert h["d07_dlq_topic"] == topic.encode()
        assert h["d07_dlq_offset"] == str(offset).encode()
        assert h["d07_dlq_consumer"] == consumer.encode()
        assert h["d07_dlq_partition"].isdigit()
        assert h["d07_dlq_detail"]
    assert letters[0][1] == b"not protobuf at all {"  # the original value, untouched
    assert letters[1][2]["ce_type"] == b"d07.registry.v1.NoSuchThing"  # the original headers, kept
    assert letters[3][1] == invalid.SerializeToString()
    for reason in ("bad_payload", "unknown_type", "missing_header", "invalid_event"):
        assert metric("d07_events_dead_lettered_total", consumer=consumer, topic=topic, reason=reason) == 1
    # The refused event's own write was rolled back with its savepoint; the others were applied once each.
    rows = await pool.fetch("SELECT name FROM applied ORDER BY n")
    assert [r["name"] for r in rows] == ["first good", "after the garbage"]
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 2


async def _names(pool: asyncpg.Pool) -> list[str]:
    return [r["name"] for r in await pool.fetch("SELECT name FROM applied ORDER BY n")]


async def test_a_redelivered_event_is_applied_once(broker: Broker, services: Services) -> None:
    _, pool = await services("cons")
    topic = unique("d07.test.units.v1")
    consumer = unique("c")
    event_id = uuid.uuid4()
    message = unit_event("unit-1", 1)
    record = (b"unit-1", message.SerializeToString(), raw_headers(event_id, message))
    last = unit_event("unit-1", 2, "last")
    await produce_raw(broker.bootstrap, topic, [record, record])
    runner = make_runner(pool, broker.bootstrap, group_id=unique("g"), consumer_name=consumer, topics=[topic])
    async with running(runner):
        await eventually(
            lambda: metric("d07_events_consumed_total", consumer=consumer, topic=topic, outcome="duplicate"),
            what="the second copy to be seen",
            within=WAIT,
        )
        # Once more, later, in a batch of its own; then an event that proves the consumer moved past it.
        await produce_raw(broker.bootstrap, topic, [record, (b"unit-1", last.SerializeToString(),
                                                             raw_headers(uuid.uuid4(), last))])  # fmt: skip
        await eventually(
            lambda: _names(pool),
            until=lambda names: names == ["ok", "last"],
            what="the last event",
            within=WAIT,
        )
    assert await pool.fetchval("SELECT count(*) FROM applied WHERE event_id = $1", event_id) == 1
    assert metric("d07_events_consumed_total", consumer=consumer, topic=topic, outcome="applied") == 2
    assert metric("d07_events_consumed_total", consumer=consumer, topic=topic, outcome="duplicate") == 2


async def test_sigkill_between_database_commit_and_offset_commit(
    broker: Broker, services: Services, database_url: str
) -> None:
    schema, pool = await services("cons")
    topic = unique("d07.test.units.v1")
    group = unique("g")
    consumer = unique("c")
    total = 60
    await produce_events(
        broker.bootstrap, topic, [(f"unit-{i % 6}", unit_event(f"unit-{i % 6}", i)) for i in range(total)]
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.platform.events_kill_consumer",
        database_url, schema, broker.bootstrap, group, topic, consumer,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, out.decode()
    applied_before_kill = await applied_count(pool)
    assert (
        0 < applied_before_kill <= 10
    )  # one batch (batch_max=10) reached the database, then the process died

    runner = make_runner(pool, broker.bootstrap, group_id=group, consumer_name=consumer, topics=[topic])
    async with running(runner):
        await eventually(
            lambda: applied_count(pool), until=lambda n: n >= total, within=60, what=f"{total} events"
        )
        await asyncio.sleep(1.0)
    assert await applied_totals(pool) == (total, total)
    # The killed batch was delivered again (its offsets were never committed) and the inbox turned it away.
    assert metric("d07_events_consumed_total", consumer=consumer, topic=topic, outcome="duplicate") == (
        applied_before_kill
    )


async def test_database_restart_is_retried_not_lost_nor_doubled(broker: Broker) -> None:
    datadir = RUN / f"test-pg-restart-{uuid.uuid4().hex[:8]}" / "data"
    server = Postgres(datadir)
    await asyncio.to_thread(server.start)
    pool: asyncpg.Pool | None = None
    try:
        schema = unique("cons")
        pool = await prepare_schema(server.url, schema)
        topic = unique("d07.test.units.v1")
        consumer = unique("c")
        await produce_events(
            broker.bootstrap, topic, [("unit-1", unit_event("unit-1", i)) for i in range(20)]
        )
        runner = make_runner(
            pool, broker.bootstrap, group_id=unique("g"), consumer_name=consumer, topics=[topic]
        )
        async with running(runner):
            await eventually(
                lambda: applied_count(pool), until=lambda n: n >= 20, what="the first 20 events", within=WAIT
            )
            retries = metric("d07_consumer_retries_total", consumer=consumer)
            await asyncio.to_thread(server.stop)
            await produce_events(
                broker.bootstrap, topic, [("unit-1", unit_event("unit-1", i)) for i in range(20, 50)]
            )
            await eventually(
                lambda: metric("d07_consumer_retries_total", consumer=consumer) >= retries + 2,
                what="the consumer to retry while the database is down",
                within=WAIT,
            )
            await asyncio.to_thread(server.start)
            await eventually(
                lambda: applied_count(pool), until=lambda n: n >= 50, within=60, what="all 50 events"
            )
            await asyncio.sleep(1.0)
        assert await applied_totals(pool) == (50, 50)
        seqs = [r["seq"] for r in await pool.fetch("SELECT seq FROM applied ORDER BY n")]
        assert seqs == list(range(50))
        assert (
            metric("d07_events_dead_lettered_total", consumer=consumer, topic=topic, reason="handler_error")
            == 0
        )
    finally:
        if pool is not None:
            pool.terminate()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(datadir.parent, ignore_errors=True)


async def test_graceful_stop_commits_what_it_handled(broker: Broker, services: Services) -> None:
    _, pool = await services("cons")
    topic = unique("d07.test.units.v1")
    group = unique("g")
    consumer = unique("c")
    total = 400
    committed: list[int] = []

    async def count_committed(outcome: BatchOutcome) -> None:
        committed.append(len(outcome.applied))

    started = asyncio.Event()

    async def produce() -> None:
        """20 events, then (once the consumer has them) the rest at a steady pace of 10 every 50 ms."""
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(total):
                if i == 20:
                    await started.wait()
                if i > 20 and i % 10 == 0:
                    await asyncio.sleep(0.05)
                key = f"unit-{i % 4}"
                message = unit_event(key, i)
                await producer.send_and_wait(
                    topic,
                    message.SerializeToString(),
                    key.encode(),
                    headers=raw_headers(uuid.uuid4(), message),
                )
        finally:
            await producer.stop()

    producing = asyncio.create_task(produce())
    try:
        first = make_runner(
            pool, broker.bootstrap, group_id=group, consumer_name=consumer, topics=[topic], batch_max=15,
            on_committed=count_committed,
        )  # fmt: skip
        async with running(first):
            await eventually(
                lambda: applied_count(pool), until=lambda n: n >= 20, what="the first events", within=WAIT
            )
            started.set()
            await eventually(
                lambda: applied_count(pool), until=lambda n: n >= 60, what="more events", within=WAIT
            )
        # `running` called stop() and waited: every event applied so far had its offset committed.
        applied_by_first = await applied_count(pool)
        assert applied_by_first == sum(committed)
        assert applied_by_first < total  # stopped while events were still flowing
        await producing
        second = make_runner(pool, broker.bootstrap, group_id=group, consumer_name=consumer, topics=[topic])
        async with running(second):
            await eventually(
                lambda: applied_count(pool),
                until=lambda n: n >= total,
                what=f"all {total} events",
                within=WAIT,
            )
            await asyncio.sleep(1.0)
    finally:
        producing.cancel()
    assert await applied_totals(pool) == (total, total)
    # Nothing was delivered twice: the first runner committed its offsets before leaving the group.
    assert metric("d07_events_consumed_total", consumer=consumer, topic=topic, outcome="duplicate") == 0


async def test_a_batch_handler_applies_new_events_together_and_refuses_one_alone(
    broker: Broker, services: Services
) -> None:
    """One call per batch of new events, in order; duplicates are left out; when the handler refuses one event
    of a batch, it is called again event by event, so only that one is dead-lettered."""
    _, pool = await services("batch")
    topic = unique("d07.test.units.v1")
    consumer = unique("c")
    calls: list[int] = []

    async def apply_all(conn: asyncpg.Connection, events: Sequence[ConsumedEvent]) -> None:
        calls.append(len(events))
        for event in events:
            await record_applied(conn, event)  # refuses a unit named "invalid"

    repeated_id = uuid.uuid4()
    first = unit_event("k1", 1)
    events = [("k1", unit_event("k1", n)) for n in range(2, 12)]
    await produce_raw(
        broker.bootstrap, topic, [(b"k1", first.SerializeToString(), raw_headers(repeated_id, first))]
    )
    runner = ConsumerRunner(
        pool=pool, bootstrap=broker.bootstrap, group_id=unique("g"), consumer_name=consumer, topics=[topic],
        batch_handler=apply_all, messages=[registry_pb2.UnitCreated], session_timeout_ms=6000,
        max_backoff=1.0,
    )  # fmt: skip
    async with running(runner):
        await eventually(lambda: applied_count(pool), what="the first event", within=WAIT)
        await produce_raw(
            broker.bootstrap,
            topic,
            [(b"k1", first.SerializeToString(), raw_headers(repeated_id, first))]  # a redelivery
            + [(k.encode(), m.SerializeToString(), raw_headers(uuid.uuid4(), m, k)) for k, m in events[:5]]
            + [(b"k1", unit_event("k1", 99, "invalid").SerializeToString(),
                raw_headers(uuid.uuid4(), unit_event("k1", 99, "invalid"), "k1"))]
            + [(k.encode(), m.SerializeToString(), raw_headers(uuid.uuid4(), m, k)) for k, m in events[5:]],
        )  # fmt: skip
        await eventually(
            lambda: _applied_ok(pool), until=lambda n: n == 11, what="all valid events", within=WAIT
        )
        await eventually(
            lambda: metric(
                "d07_events_dead_lettered_total", consumer=consumer, topic=topic, reason="invalid_event"
            ),
            what="the refused event to be dead-lettered",
            within=WAIT,
        )
    rows = await pool.fetch("SELECT seq FROM applied ORDER BY n")
    assert [r["seq"] for r in rows] == list(range(1, 12))  # each once, in order, the refused one absent
    assert any(n > 1 for n in calls)  # events went to the handler together, not one call each
    assert metric("d07_events_consumed_total", consumer=consumer, topic=topic, outcome="duplicate") == 1


async def _applied_ok(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM applied WHERE name = 'ok'"))
