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
"""

from __future__ import annotations

import asyncio
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
from d07.platform.events.retry import Backoff, is_transient
from d07.platform.logging import get_logger
from d07.platform.metrics import EVENTS_PUBLISHED, OUTBOX_PENDING

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


@dataclass
class _Pending:
    """One outbox row ready to go out."""

    id: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class RoundResult:
    """What one relay round did: rows read, rows acknowledged (and deleted), the first broker error if any."""

    read: int
    published: int
    error: BaseException | None


class OutboxRelay:
    """Publishes the outbox of one schema; run one per replica, one of them is active at a time.

    Give either `bootstrap` (the relay makes, starts and stops its own producer) or a started `producer`
    (the caller owns it; it must use `acks="all"`, no idempotence, and the same partitioner as `partitioner`).
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
        self.is_leader = False
        self._given_producer = producer
        self._producer: AIOKafkaProducer | None = producer
        self._table = f"{quote_ident(schema)}.outbox"
        self._channel = f"d07_outbox_{schema}"
        self._lock = _lock_key(schema)
        self._pending = 0
        self._pending_checked = 0.0

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
                    result = await self.relay_once(conn, producer)
                    if result.error is not None:
                        log.warning(
                            "outbox_publish_failed", schema=self.schema, error=repr(result.error),
                            published=result.published, read=result.read,
                        )  # fmt: skip
                        await backoff.wait(stop)
                        continue
                    backoff.reset()
                    if result.read < self.batch_size:
                        await self._sleep(wake, stop, self.poll_interval)
            finally:
                self.is_leader = False
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
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        return producer

    # -- one round ------------------------------------------------------------------------------------------

    async def relay_once(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> RoundResult:
        """Publish up to `batch_size` of the oldest rows and delete the acknowledged ones."""
        rows = await conn.fetch(
            f"SELECT id, topic, key, headers::text AS headers, payload FROM {self._table} "
            "ORDER BY id LIMIT $1",
            self.batch_size,
        )
        if not rows:
            await self._refresh_pending(conn, force=True)
            return RoundResult(0, 0, None)
        by_topic: dict[str, list[_Pending]] = {}
        for r in rows:
            headers = [(name, value.encode()) for name, value in json.loads(r["headers"]).items()]
            by_topic.setdefault(r["topic"], []).append(
                _Pending(r["id"], r["key"].encode(), bytes(r["payload"]), headers)
            )
        acked, error = await self._publish(producer, by_topic)
        if acked:
            await conn.execute(f"DELETE FROM {self._table} WHERE id = ANY($1::bigint[])", acked)
            self._pending = max(0, self._pending - len(acked))
        await self._refresh_pending(conn, force=len(rows) < self.batch_size)
        return RoundResult(len(rows), len(acked), error)

    async def _publish(
        self, producer: AIOKafkaProducer, by_topic: dict[str, list[_Pending]]
    ) -> tuple[list[int], BaseException | None]:
        plan: list[tuple[str, int, list[_Pending]]] = []
        try:
            for topic, items in by_topic.items():
                async with asyncio.timeout(self.request_timeout_ms / 1000 * 2):
                    partitions = sorted(await producer.partitions_for(topic))
                cache: dict[bytes, int] = {}
                lanes: dict[int, list[_Pending]] = {}
                for item in items:
                    partition = cache.get(item.key)
                    if partition is None:
                        partition = cache[item.key] = self.partitioner(item.key, partitions, partitions)
                    lanes.setdefault(partition, []).append(item)
                plan.extend((topic, partition, lane) for partition, lane in lanes.items())
        except Exception as exc:
            return [], exc
        results = await asyncio.gather(*(self._send_lane(producer, t, p, lane) for t, p, lane in plan))
        acked: list[int] = []
        error: BaseException | None = None
        for (topic, _, _), (ids, lane_error) in zip(plan, results, strict=True):
            acked.extend(ids)
            if ids:
                EVENTS_PUBLISHED.labels(topic=topic).inc(len(ids))
            error = error or lane_error
        return acked, error

    async def _send_lane(
        self, producer: AIOKafkaProducer, topic: str, partition: int, items: Sequence[_Pending]
    ) -> tuple[list[int], BaseException | None]:
        """Send one partition's rows batch after batch, each only after the previous was acknowledged."""
        acked: list[int] = []
        i = 0
        try:
            while i < len(items):
                batch = producer.create_batch()
                ids: list[int] = []
                while i < len(items):
                    item = items[i]
                    meta = batch.append(timestamp=None, key=item.key, value=item.value, headers=item.headers)
                    if meta is None:
                        break  # full; the first record of a batch always fits
                    ids.append(item.id)
                    i += 1
                async with asyncio.timeout(self.request_timeout_ms / 1000 * 2):
                    delivered = await producer.send_batch(batch, topic, partition=partition)
                    await delivered
                acked.extend(ids)
        except Exception as exc:
            return acked, exc
        return acked, None

    async def _refresh_pending(self, conn: asyncpg.Connection, *, force: bool) -> None:
        """Keep `d07_outbox_pending` right without counting the table on every round of a long drain."""
        now = _time.monotonic()
        if force or now - self._pending_checked > 5.0:
            self._pending = int(await conn.fetchval(f"SELECT count(*) FROM {self._table}"))
            self._pending_checked = now
        OUTBOX_PENDING.labels(schema=self.schema).set(self._pending)
