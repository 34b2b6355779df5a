"""The transactional outbox: events are rows written with the state change, published later by a relay.

`add(conn, ...)` inserts one row in the caller's transaction, so a rollback publishes nothing and a commit
cannot lose the event. `OutboxRelay` publishes the rows: one relay per schema is active (a PostgreSQL
advisory lock held on its own connection elects it; the others wait as standby and take over when the
leader's connection goes), it reads unsent rows in id order, sends them in record batches per partition
(the per-message `send()` path of the client is ten times slower), waits for every acknowledgement
(`acks="all"`), and deletes exactly the rows acknowledged. A broker error leaves the rows in place: they are
sent again after a capped exponential backoff, so an event is published at least once and consumers
deduplicate by `ce_id`.

Per-key order: rows of one key map to one partition (the producer's murmur2 partitioner on the key), and a
partition's rows go out one record batch at a time, the next only after the previous was acknowledged; when
a batch fails, nothing later of that partition is sent in that round. A key's events therefore never
overtake each other, also across a failure.

Speed: a drain is a pipeline on the leader's connection. While one chunk of rows is with the broker, the
chunk before (acknowledged) is deleted and the next is read and encoded straight into record batches, so
the database's and the broker's time hide behind the relay's own CPU. The read-ahead reads past the chunk
in flight (`id >` its last id); a row that commits late with a lower id would be skipped there and could
go out after a later row of its key, so the same statement checks that nothing new appeared below, and if
it did, the drain reads from the oldest row again once the chunk in flight is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time as _time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from google.protobuf.message import Message

from d07.platform.db import Conn, quote_ident
from d07.platform.events.envelope import make_headers, type_name
from d07.platform.events.kafka import client_kwargs
from d07.platform.events.retry import Backoff, is_transient
from d07.platform.logging import get_logger
from d07.platform.metrics import EVENTS_PUBLISH_ERRORS, EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING

log = get_logger(__name__)

Partitioner = Callable[[bytes, list[int], list[int]], int]

_INSERT = (
    "INSERT INTO outbox (topic, key, event_id, event_type, headers, payload) "
    "VALUES ($1, $2, $3, $4, $5::text::jsonb, $6)"
)


def _row(
    *,
    topic: str,
    key: str,
    message: Message,
    source: str,
    subject: str | None,
    event_id: uuid.UUID | None,
    traceparent: str | None,
    time: datetime | None,
) -> tuple[str, str, uuid.UUID, str, str, bytes]:
    event_id = event_id or uuid.uuid4()
    event_type = type_name(message)
    headers = make_headers(
        event_id=event_id,
        event_type=event_type,
        source=source,
        subject=key if subject is None else subject,
        time=time or datetime.now(UTC),
        traceparent=traceparent,
    )
    # Stored as text values: every CloudEvents attribute here is a string.
    header_json = json.dumps({name: value.decode() for name, value in headers})
    return topic, key, event_id, event_type, header_json, message.SerializeToString()


def _require_transaction(conn: Conn) -> None:
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.add belongs inside the transaction of the change it announces")


async def add(
    conn: Conn,
    *,
    topic: str,
    key: str,
    message: Message,
    source: str,
    subject: str | None = None,
    event_id: uuid.UUID | None = None,
    traceparent: str | None = None,
    time: datetime | None = None,
) -> uuid.UUID:
    """Write one event to the outbox of the connection's schema (its search_path), in its transaction.

    `key` is the aggregate id (the Kafka key: one entity's events keep their order), `subject` defaults to it.
    Refuses to run outside a transaction: an event written apart from its change is the dual write the
    outbox exists to prevent.
    """
    _require_transaction(conn)
    row = _row(
        topic=topic, key=key, message=message, source=source, subject=subject,
        event_id=event_id, traceparent=traceparent, time=time,
    )  # fmt: skip
    await conn.execute(_INSERT, *row)
    return row[2]


async def add_many(
    conn: Conn,
    *,
    topic: str,
    source: str,
    events: Iterable[tuple[str, Message]],
    traceparent: str | None = None,
) -> list[uuid.UUID]:
    """Write several `(key, message)` events to one topic at once, in the caller's transaction."""
    _require_transaction(conn)
    rows = [
        _row(topic=topic, key=key, message=message, source=source, subject=None,
             event_id=None, traceparent=traceparent, time=None)
        for key, message in events
    ]  # fmt: skip
    if rows:
        await conn.executemany(_INSERT, rows)
    return [row[2] for row in rows]


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"d07-outbox-relay:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# The headers column as text is jsonb's own output, an object with no whitespace around it: `raw_decode`
# skips the two whitespace scans of `json.loads`.
_parse_headers = json.JSONDecoder().raw_decode


@dataclass
class _Batch:
    """One record batch (`producer.create_batch()`), filled and waiting to go out, and its rows' ids."""

    builder: Any
    ids: list[int]


@dataclass
class _Lane:
    """The batches of one partition in one chunk, in id order: they go out one after the other."""

    topic: str
    partition: int
    batches: list[_Batch]


@dataclass
class _Chunk:
    """Up to `batch_size` rows read together, already encoded into record batches, one lane per partition.

    Encoding the rows as they are read leaves no Python object per row alive while the chunk waits or is in
    flight: that garbage-collector work (the objects of the chunk before, of this one, and of the next) cost
    as much as the JSON decoding of the headers. `error` is set when the partitions of a topic (`error_topic`)
    could not be looked up: the chunk then has no batches and its drain ends with that error.
    """

    lanes: list[_Lane]
    size: int
    first_id: int
    last_id: int
    error: BaseException | None = None
    error_topic: str = ""


class _Late:
    """The read-ahead found a row committed late below it: start again from the oldest row."""


_LATE = _Late()


def _is_last(read: _Chunk | _Late | None, batch_size: int) -> bool:
    """True when a read found fewer than `batch_size` rows: nothing more to read ahead for now."""
    return read is None or (isinstance(read, _Chunk) and read.size < batch_size)


@dataclass
class RoundResult:
    """What one drain did: rows read, rows acknowledged (and deleted), the first broker error if any, and
    whether it ended caught up (its last read found fewer than `batch_size` rows)."""

    read: int
    published: int
    error: BaseException | None
    caught_up: bool = False


class OutboxRelay:
    """Publishes the outbox of one schema; run one per replica, one of them is active at a time.

    Give either `bootstrap` (the relay makes, starts and stops its own producer) or a started `producer`
    (the caller owns it; it must use `acks="all"`, no idempotence, and the same partitioner as `partitioner`).
    `on_round`, if given, is called after every drain (its deletes done) with what it did: the relay's own
    signal of progress, for tests and benchmarks.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schema: str,
        bootstrap: str | None = None,
        producer: AIOKafkaProducer | None = None,
        batch_size: int = 2000,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        request_timeout_ms: int = 5000,
        partitioner: Partitioner | None = None,
        on_round: Callable[[RoundResult], None] | None = None,
    ) -> None:
        if (bootstrap is None) == (producer is None):
            raise ValueError("give exactly one of bootstrap and producer")
        self.pool = pool
        self.schema = schema
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.request_timeout_ms = request_timeout_ms
        self.partitioner: Partitioner = partitioner or DefaultPartitioner()
        self.on_round = on_round
        self.is_leader = False
        self._given_producer = producer
        self._producer: AIOKafkaProducer | None = producer
        self._table = f"{quote_ident(schema)}.outbox"
        self._channel = f"d07_outbox_{schema}"
        self._lock = _lock_key(schema)
        self._pending = 0
        self._pending_checked = 0.0
        columns = "id, topic, key, headers::text AS headers, payload"
        # The oldest row by id (an index scan): its age is the oldest's within a transaction's duration.
        self._sql_pending = (
            f"SELECT count(*), coalesce(extract(epoch FROM now() - "
            f"(SELECT created_at FROM {self._table} ORDER BY id LIMIT 1)), 0) FROM {self._table}"
        )
        self._sql_oldest = f"SELECT {columns} FROM {self._table} ORDER BY id LIMIT $1"
        self._sql_ahead = (
            f"SELECT {columns}, (SELECT min(id) FROM {self._table}) AS low, "
            f"(SELECT count(*) FROM {self._table} WHERE id >= $3 AND id <= $2) AS inside "
            f"FROM {self._table} WHERE id > $2 ORDER BY id LIMIT $1"
        )

    # -- the loop -------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set: standby until elected, then publish; reconnect after any outage."""
        backoff = Backoff(cap=self.max_backoff)
        try:
            while not stop.is_set():
                try:
                    await self._serve(stop, backoff)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.warning("outbox_relay_retry", schema=self.schema, error=repr(exc))
                    await backoff.wait(stop)
        finally:
            self.is_leader = False
            if self._given_producer is None and self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def _serve(self, stop: asyncio.Event, backoff: Backoff) -> None:
        async with self.pool.acquire() as proxy:
            conn = cast(asyncpg.Connection, proxy)
            if not await self._elect(conn, stop):
                return
            wake = asyncio.Event()

            def notified(*_: Any) -> None:
                wake.set()

            await conn.add_listener(self._channel, notified)
            self.is_leader = True
            log.info("outbox_relay_leader", schema=self.schema)
            try:
                producer = await self._ensure_producer()
                await self._refresh_pending(conn, force=True)
                while not stop.is_set():
                    wake.clear()
                    result = await self.relay_once(conn, producer, stop)
                    if self.on_round is not None:
                        self.on_round(result)
                    if result.error is not None:
                        log.warning(
                            "outbox_publish_failed", schema=self.schema, error=repr(result.error),
                            published=result.published, read=result.read,
                        )  # fmt: skip
                        await self._refresh_pending(conn, force=True)  # the oldest row's age goes on growing
                        await backoff.wait(stop)
                        continue
                    backoff.reset()
                    if result.caught_up:
                        await self._sleep(wake, stop, self.poll_interval)
            finally:
                self.is_leader = False
                # A standby exports no age: a frozen one would keep the outbox alert firing after a failover.
                with contextlib.suppress(KeyError):
                    OUTBOX_OLDEST_AGE.remove(self.schema)
                # The pool's reset on release unlocks and unlistens too; this is for a usable connection.
                if not conn.is_closed():
                    try:
                        await conn.remove_listener(self._channel, notified)
                        await conn.execute("SELECT pg_advisory_unlock($1)", self._lock)
                    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                        pass

    async def _elect(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        """Wait (standby) until this relay holds the schema's lock; False when stopped first."""
        announced = False
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock):
                return True
            if not announced:
                log.info("outbox_relay_standby", schema=self.schema)
                announced = True
            await self._sleep(None, stop, self.poll_interval)
        return False

    @staticmethod
    async def _sleep(wake: asyncio.Event | None, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        assert self.bootstrap is not None
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=False,  # Tansu refuses idempotent producers; the inbox deduplicates instead.
            request_timeout_ms=self.request_timeout_ms,
            max_batch_size=512 * 1024,
            max_request_size=2 * 1024 * 1024,
            linger_ms=0,
            partitioner=self.partitioner,
            **client_kwargs(),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        return producer

    # -- one drain ------------------------------------------------------------------------------------------

    async def relay_once(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, stop: asyncio.Event | None = None
    ) -> RoundResult:
        """Publish the unsent rows chunk after chunk and delete the acknowledged ones, until caught up.

        A pipeline of three steps on one connection: while chunk k is with the broker, the rows of chunk k-1
        (all acknowledged) are deleted and chunk k+1 is read and encoded; chunk k+1 goes out only once every
        batch of chunk k was acknowledged. It ends at a chunk shorter than `batch_size` (caught up), at a
        broker error (the next drain starts again from the oldest row), or when `stop` is set.
        """
        read = published = 0
        chunk = await self._read(conn, producer, None)
        caught_up = _is_last(chunk, self.batch_size)
        acked: list[int] = []  # the chunk before, all acknowledged, not yet deleted
        while isinstance(chunk, _Chunk):
            read += chunk.size
            sending = asyncio.ensure_future(self._publish(producer, chunk))
            try:
                await self._delete(conn, acked)
                acked = []
                ahead: _Chunk | _Late | None = None
                if not caught_up and not (stop is not None and stop.is_set()):
                    ahead = await self._read(conn, producer, chunk)
                    caught_up = _is_last(ahead, self.batch_size)
            except BaseException:
                # The rows stay and go out again (at least once); the broker's answers are not awaited.
                sending.cancel()
                await asyncio.wait([sending])
                raise
            acked, error = await sending
            published += len(acked)
            if error is not None:
                await self._delete(conn, acked)
                return RoundResult(read, published, error)
            if isinstance(ahead, _Late):
                # A transaction committed late below the read-ahead: read the oldest rows again rather
                # than let a later row of the same key go out before its row.
                await self._delete(conn, acked)
                acked = []
                ahead = await self._read(conn, producer, None)
                caught_up = _is_last(ahead, self.batch_size)
            chunk = ahead
        await self._delete(conn, acked)
        await self._refresh_pending(conn, force=caught_up)
        return RoundResult(read, published, None, caught_up)

    async def _read(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, behind: _Chunk | None
    ) -> _Chunk | _Late | None:
        """The oldest unsent rows, or (`behind` given) the rows after `behind`, which is still in flight.

        Reading past rows not yet deleted is safe only if no row of a transaction that committed late has
        appeared below: one row of a key could then go out after a later row of the same key. The read-ahead
        therefore checks, in the same snapshot, that the oldest row is `behind`'s first and that `behind`'s
        id range holds no other row; if not, it returns `_LATE` and the drain reads from the oldest row again.
        """
        if behind is None:
            rows = await conn.fetch(self._sql_oldest, self.batch_size)
        else:
            rows = await conn.fetch(self._sql_ahead, self.batch_size, behind.last_id, behind.first_id)
            if rows and (rows[0]["low"] != behind.first_id or rows[0]["inside"] != behind.size):
                return _LATE
        if not rows:
            return None
        return await self._encode(producer, rows)

    async def _encode(self, producer: AIOKafkaProducer, rows: Sequence[asyncpg.Record]) -> _Chunk:
        """Rows (id, topic, key, headers as text, payload, ...) into record batches, a lane per partition."""
        chunk = _Chunk([], len(rows), rows[0][0], rows[-1][0])
        partitions: dict[str, list[int]] = {}  # looked up once a chunk, as the producer's metadata may change
        lanes: dict[tuple[str, int], _Lane] = {}
        routes: dict[tuple[str, str], _Lane] = {}  # (topic, key) -> its partition's lane
        for r in rows:
            topic, key = r[1], r[2].encode()
            lane = routes.get((topic, r[2]))
            if lane is None:
                if topic not in partitions:
                    try:
                        async with asyncio.timeout(self.request_timeout_ms / 1000 * 2):
                            partitions[topic] = sorted(await producer.partitions_for(topic))
                    except Exception as exc:
                        chunk.lanes, chunk.error, chunk.error_topic = [], exc, topic
                        return chunk
                partition = self.partitioner(key, partitions[topic], partitions[topic])
                lane = lanes.get((topic, partition))
                if lane is None:
                    lane = lanes[(topic, partition)] = _Lane(topic, partition, [])
                    chunk.lanes.append(lane)
                routes[(topic, r[2])] = lane
            headers = [(name, value.encode()) for name, value in _parse_headers(r[3])[0].items()]
            batch = lane.batches[-1] if lane.batches else None
            if (
                batch is None
                or batch.builder.append(timestamp=None, key=key, value=r[4], headers=headers) is None
            ):
                batch = _Batch(producer.create_batch(), [])  # the first record of a batch always fits
                lane.batches.append(batch)
                batch.builder.append(timestamp=None, key=key, value=r[4], headers=headers)
            batch.ids.append(r[0])
        return chunk

    async def _delete(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        if not ids:
            return
        await conn.execute(f"DELETE FROM {self._table} WHERE id = ANY($1::bigint[])", ids)
        self._pending = max(0, self._pending - len(ids))
        await self._refresh_pending(conn, force=False)

    async def _publish(
        self, producer: AIOKafkaProducer, chunk: _Chunk
    ) -> tuple[list[int], BaseException | None]:
        """Send every lane of a chunk at once; the ids acknowledged, and the first error if any."""
        if chunk.error is not None:
            EVENTS_PUBLISH_ERRORS.labels(topic=chunk.error_topic).inc()
            return [], chunk.error
        results = await asyncio.gather(*(self._send_lane(producer, lane) for lane in chunk.lanes))
        acked: list[int] = []
        error: BaseException | None = None
        for lane, (ids, lane_error) in zip(chunk.lanes, results, strict=True):
            acked.extend(ids)
            if ids:
                EVENTS_PUBLISHED.labels(topic=lane.topic).inc(len(ids))
            if lane_error is not None:
                EVENTS_PUBLISH_ERRORS.labels(topic=lane.topic).inc()
            error = error or lane_error
        return acked, error

    async def _send_lane(
        self, producer: AIOKafkaProducer, lane: _Lane
    ) -> tuple[list[int], BaseException | None]:
        """Send one partition's batches one after the other, each only after the previous was acknowledged."""
        acked: list[int] = []
        try:
            for batch in lane.batches:
                async with asyncio.timeout(self.request_timeout_ms / 1000 * 2):
                    delivered = await producer.send_batch(batch.builder, lane.topic, partition=lane.partition)
                    await delivered
                acked.extend(batch.ids)
        except Exception as exc:
            return acked, exc
        return acked, None

    async def _refresh_pending(self, conn: asyncpg.Connection, *, force: bool) -> None:
        """Keep `d07_outbox_pending` and `d07_outbox_oldest_age_seconds` right without counting the table on
        every round of a long drain (forced at the end of a round, at most every 5 s within one)."""
        now = _time.monotonic()
        if force or now - self._pending_checked > 5.0:
            row = await conn.fetchrow(self._sql_pending)
            assert row is not None
            self._pending = int(row[0])
            self._pending_checked = now
            OUTBOX_OLDEST_AGE.labels(schema=self.schema).set(max(0.0, float(row[1])))
        OUTBOX_PENDING.labels(schema=self.schema).set(self._pending)
