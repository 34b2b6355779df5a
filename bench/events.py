"""The events mechanism beside its raw building blocks, measured in the same run.

1. Outbox relay: 50.000 rows (about 300-byte payloads) are written to the outbox first; then the time for the
   relay to publish them all (acknowledged) and delete them is measured, beside its two raw building blocks:
   aiokafka `create_batch()/send_batch()` sending the same records per partition with nothing else in the
   way, and asyncpg reading the same rows in id order and deleting them by id (no decoding). Neither side's
   producer start counts: the relay is handed a connected producer, so its time runs from its start
   (election included) to its last delete. The table is refilled with the same rows and vacuumed before
   each measurement; each is run three times and the median shown.
2. Consumer runner: 30.000 events on a topic, a handler that inserts one row per event; beside a raw loop of
   aiokafka `getmany()` + one asyncpg `executemany` of the same rows + offset commit per batch. Both rates
   leave out the first batch, so the consumer-group join (held by Tansu for half the session timeout) does
   not count.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.common import Clock, Result, Stack, print_table, stack, unique
from d07.platform.db import create_pool
from d07.platform.events import (
    BatchHandler,
    BatchOutcome,
    ConsumedEvent,
    ConsumerRunner,
    Handler,
    OutboxRelay,
    make_headers,
    outbox,
    type_name,
)
from d07.platform.events.outbox import RoundResult
from d07.registry.v1 import registry_pb2

RELAY_ROWS = 50_000
REPEATS = 3
BATCH_SIZE = 2000  # the relay's default
RAW_READ = (
    "SELECT id, topic, key, headers::text AS headers, payload FROM outbox WHERE id > $2 ORDER BY id LIMIT $1"
)
SEND = "aiokafka create_batch/send_batch (raw)"
READ_DELETE = f"asyncpg read + delete by id, {BATCH_SIZE} a round (raw)"
BOTH = "the two raw parts one after the other (sum)"
RELAY = "OutboxRelay: read, publish, acks, delete"
CONSUMER_EVENTS = 30_000
KEYS = 200
SOURCE = "/d07/bench"
SINK_DDL = "CREATE TABLE sink (event_id uuid NOT NULL, key text NOT NULL, seq bigint NOT NULL)"


def event(i: int) -> tuple[str, registry_pb2.UnitCreated]:
    key = f"unit-{i % KEYS:05d}"
    unit = registry_pb2.Unit(id=key, code=f"U{i:08d}", name="x" * 240, address="Tỉnh Bắc Ninh", version=i)
    return key, registry_pb2.UnitCreated(unit=unit)


async def fill_outbox(pool: asyncpg.Pool, topic: str, n: int) -> None:
    for start in range(0, n, 5000):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add_many(
                conn,
                topic=topic,
                source=SOURCE,
                events=[event(i) for i in range(start, min(n, start + 5000))],
            )


async def outbox_records(pool: asyncpg.Pool) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """The outbox rows as Kafka records, to send the very same bytes through the raw path."""
    rows = await pool.fetch("SELECT key, headers, payload FROM outbox ORDER BY id")
    return [
        (r["key"].encode(), bytes(r["payload"]), [(k, v.encode()) for k, v in r["headers"].items()])
        for r in rows
    ]


async def raw_send_batches(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> float:
    """create_batch()/send_batch() per partition, all batches in flight, every ack awaited: the ceiling."""
    producer = relay_producer(bootstrap)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        partitioner = DefaultPartitioner()
        with Clock() as clock:
            lanes: dict[int, list[tuple[bytes, bytes, list[tuple[str, bytes]]]]] = {}
            for rec in records:
                lanes.setdefault(partitioner(rec[0], partitions, partitions), []).append(rec)
            futures = []
            for partition, lane in lanes.items():
                batch = producer.create_batch()
                for key, value, headers in lane:
                    if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                        futures.append(await producer.send_batch(batch, topic, partition=partition))
                        batch = producer.create_batch()
                        batch.append(timestamp=None, key=key, value=value, headers=headers)
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
        return clock.seconds
    finally:
        await producer.stop()


def relay_producer(bootstrap: str) -> AIOKafkaProducer:
    """A producer set up as the relay sets up its own (acks=all, no idempotence, 512 KiB batches)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=0,
        max_batch_size=512 * 1024, max_request_size=2 * 1024 * 1024, partitioner=DefaultPartitioner(),
    )  # fmt: skip


async def raw_read_delete(pool: asyncpg.Pool, batch_size: int) -> float:
    """asyncpg alone: read the rows in id order, `batch_size` at a time, and delete each batch by id."""
    async with pool.acquire() as conn:
        with Clock() as clock:
            last = 0
            while rows := await conn.fetch(RAW_READ, batch_size, last):
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r[0] for r in rows])
                last = rows[-1][0]
    return clock.seconds


async def restore_outbox(pool: asyncpg.Pool) -> None:
    """Put the very same rows back, and vacuum, so every measurement starts from the same table."""
    await pool.execute("DELETE FROM outbox")
    await pool.execute("INSERT INTO outbox SELECT * FROM outbox_copy")
    await pool.execute("VACUUM ANALYZE outbox")


async def relay_drain(pool: asyncpg.Pool, schema: str, bootstrap: str, topic: str) -> float:
    """The relay's drain of the full outbox: from its start to its last delete.

    The relay gets a producer that is already connected and knows the topic, as a relay that has been
    leading for a while has (the raw sender's start is left out the same way); its election, every read,
    decode, publish, acknowledgement and delete are inside the time. Its `on_round` signal says when the
    last delete is done: polling the metrics registry instead would take a good part of the one CPU the
    relay runs on.
    """
    producer = relay_producer(bootstrap)
    await producer.start()
    try:
        await producer.partitions_for(topic)
        stop = asyncio.Event()
        deleted = 0
        finished = 0.0

        def on_round(result: RoundResult) -> None:
            nonlocal deleted, finished
            deleted += result.published
            if deleted >= RELAY_ROWS and not stop.is_set():
                finished = time.perf_counter()
                stop.set()

        relay = OutboxRelay(pool, schema=schema, producer=producer, poll_interval=0.05, on_round=on_round)
        started = time.perf_counter()
        await asyncio.wait_for(relay.run(stop), 60)
    finally:
        await producer.stop()
    left = await pool.fetchval("SELECT count(*) FROM outbox")
    if deleted < RELAY_ROWS or left:
        raise RuntimeError(f"relay published {deleted} of {RELAY_ROWS}, {left} rows left")
    return finished - started


async def bench_relay(s: Stack) -> list[Result]:
    schema = await s.schema("bench_relay")
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=4)
    raw_topic, topic = unique("d07.bench.raw.v1"), unique("d07.bench.relay.v1")
    times: dict[str, list[float]] = {SEND: [], READ_DELETE: [], RELAY: []}
    try:
        await fill_outbox(pool, topic, RELAY_ROWS)
        await pool.execute("CREATE TABLE outbox_copy AS SELECT * FROM outbox")
        records = await outbox_records(pool)
        for _ in range(REPEATS):
            times[SEND].append(await raw_send_batches(s.bootstrap, raw_topic, records))
            await restore_outbox(pool)
            times[READ_DELETE].append(await raw_read_delete(pool, BATCH_SIZE))
            await restore_outbox(pool)
            times[RELAY].append(await relay_drain(pool, schema, s.bootstrap, topic))
    finally:
        await pool.close()
    send, read_delete = (Result(n, RELAY_ROWS, statistics.median(times[n])) for n in (SEND, READ_DELETE))
    both = Result(BOTH, RELAY_ROWS, send.seconds + read_delete.seconds)
    relay = Result(RELAY, RELAY_ROWS, statistics.median(times[RELAY]), baseline=SEND)
    return [send, read_delete, both, relay]


async def produce_topic(bootstrap: str, topic: str, n: int) -> None:
    """Well-formed events, fresh ids, sent in record batches (fast set-up, not measured)."""
    records = []
    now = datetime.now(UTC)
    for i in range(n):
        key, message = event(i)
        headers = make_headers(
            event_id=uuid.uuid4(), event_type=type_name(message), source=SOURCE, subject=key, time=now
        )
        records.append((key.encode(), message.SerializeToString(), headers))
    await raw_send_batches(bootstrap, topic, records)


class Marks:
    """Times and sizes of committed batches; the rate leaves out the first batch (group join, warm-up)."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, int]] = []

    def add(self, n: int) -> None:
        self.batches.append((time.perf_counter(), n))

    @property
    def total(self) -> int:
        return sum(n for _, n in self.batches)

    def result(self, name: str, baseline: str | None = None) -> Result:
        (t0, n0), (t1, _) = self.batches[0], self.batches[-1]
        return Result(name, self.total - n0, t1 - t0, baseline)


async def sink(conn: asyncpg.Connection, ev: ConsumedEvent) -> None:
    assert isinstance(ev.message, registry_pb2.UnitCreated)
    await conn.execute("INSERT INTO sink VALUES ($1, $2, $3)", ev.id, ev.subject, ev.message.unit.version)


async def sink_batch(conn: asyncpg.Connection, events: Sequence[ConsumedEvent]) -> None:
    """The same rows as `sink`, one executemany for the batch (what a high-volume consumer does)."""
    rows = []
    for ev in events:
        assert isinstance(ev.message, registry_pb2.UnitCreated)
        rows.append((ev.id, ev.subject, ev.message.unit.version))
    await conn.executemany("INSERT INTO sink VALUES ($1, $2, $3)", rows)


async def nothing(conn: asyncpg.Connection, ev: ConsumedEvent) -> None:
    """A handler with no effect: what is left is the runner's own cost (decode, inbox, commits)."""


async def bench_consumer_runner(
    s: Stack,
    topic: str,
    name: str,
    *,
    handler: Handler | None = None,
    batch_handler: BatchHandler | None = None,
) -> Result:
    schema = await s.schema("bench_cons", SINK_DDL)
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=4)
    marks = Marks()

    all_done = asyncio.Event()

    async def committed(outcome: BatchOutcome) -> None:
        marks.add(len(outcome.applied) + len(outcome.duplicates))
        if marks.total >= CONSUMER_EVENTS:
            all_done.set()

    group = unique("bench")
    runner = ConsumerRunner(
        pool=pool, bootstrap=s.bootstrap, group_id=group, consumer_name=group, topics=[topic],
        handlers={type_name(registry_pb2.UnitCreated): handler} if handler else None,
        batch_handler=batch_handler, messages=[registry_pb2.UnitCreated],
        batch_max=500, session_timeout_ms=6000, on_committed=committed,
    )  # fmt: skip
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(all_done.wait(), 60)
    finally:
        runner.stop()
        await task
        await pool.close()
    if marks.total < CONSUMER_EVENTS:
        raise RuntimeError(f"consumer runner handled {marks.total} of {CONSUMER_EVENTS}")
    return marks.result(name, baseline="raw")


async def bench_consumer_raw(s: Stack, topic: str) -> Result:
    schema = await s.schema("bench_raw", SINK_DDL)
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=4)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=s.bootstrap, group_id=unique("bench-raw"), enable_auto_commit=False,
        auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=2000,
    )  # fmt: skip
    marks = Marks()
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        while marks.total < CONSUMER_EVENTS and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            if not batches:
                continue
            rows = []
            for batch in batches.values():
                for r in batch:
                    msg = registry_pb2.UnitCreated.FromString(r.value)
                    rows.append(
                        (uuid.UUID(dict(r.headers)["ce_id"].decode()), r.key.decode(), msg.unit.version)
                    )
            async with pool.acquire() as conn, conn.transaction():
                await conn.executemany("INSERT INTO sink VALUES ($1, $2, $3)", rows)
            await consumer.commit({tp: b[-1].offset + 1 for tp, b in batches.items()})
            marks.add(len(rows))
    finally:
        await consumer.stop()
        await pool.close()
    return marks.result("raw")


async def main() -> None:
    async with stack() as s:
        relay_results = await bench_relay(s)
        print_table(
            f"Outbox relay, {RELAY_ROWS} events of about 300 bytes, median of {REPEATS} runs; the relay timed"
            " from its start (producer already connected) to its last delete",
            relay_results,
        )
        by_name = {r.name: r for r in relay_results}
        print(f"  relay vs the sum of both raw parts: {by_name[RELAY].rate / by_name[BOTH].rate:.2f}x\n")
        topic = unique("d07.bench.consume.v1")
        await produce_topic(s.bootstrap, topic, CONSUMER_EVENTS)
        raw = await bench_consumer_raw(s, topic)
        raw.name = "aiokafka getmany + asyncpg executemany + commit (raw)"
        batched = await bench_consumer_runner(
            s, topic, "ConsumerRunner, batch handler, one executemany a batch", batch_handler=sink_batch
        )
        runner = await bench_consumer_runner(
            s, topic, "ConsumerRunner, handler inserts its row", handler=sink
        )
        bare = await bench_consumer_runner(s, topic, "ConsumerRunner, handler does nothing", handler=nothing)
        batched.baseline = runner.baseline = bare.baseline = raw.name
        print_table(f"Consumer, {CONSUMER_EVENTS} events, one row per event", [raw, batched, runner, bare])
