"""The idempotent consumer: apply each event once in effect, however often Kafka delivers it.

For each batch from `getmany()`:
1. decode every record; one that cannot be decoded, has no handler, or (CloudEvents) whose `ce_source` is not
   the owner of its topic (`wrong_source`, see events/ownership.py), is set aside for the dead-letter topic;
2. one database transaction records the event ids in `inbox` (one `INSERT ... SELECT FROM unnest(...)
   ON CONFLICT DO NOTHING RETURNING` for the batch) and calls the handler only for ids that were new, on the
   same connection, so the effect and the inbox row commit together;
3. if a handler refuses an event (`InvalidEvent`, or any other non-transient error), the transaction is rolled
   back and the batch is applied again with a savepoint per event: only the refused events are set aside;
4. the set-aside records go to `<topic>.dlq` (original key, value and headers, plus `d07_dlq_*` headers) and
   every acknowledgement is awaited;
5. the offsets are committed (auto-commit is off), which is safe only now: a crash before this point makes
   Kafka deliver the batch again and the inbox turns the repeats into no-ops.

A transient failure (database restarting, broker unreachable or timing out) repeats the same batch after a
capped exponential backoff; it never dead-letters anything.

`d07.platform.events.replay` reads the same topics once more from their first offsets, without a consumer
group (nothing joined, nothing committed), through the very same steps 1-4 (`poll` and `handle_batch` without
`commit`): the mechanism of `python -m <service> rebuild`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from google.protobuf.message import Message

from d07.platform.bounds import bad_input
from d07.platform.errors import InvalidArgument
from d07.platform.events.envelope import (
    ConsumedEvent,
    Decoder,
    UndecodableEvent,
    cloudevents_decoder,
    message_registry,
)
from d07.platform.events.kafka import client_kwargs
from d07.platform.events.ownership import wrong_source
from d07.platform.events.retry import Backoff, is_transient
from d07.platform.logging import bound, get_logger
from d07.platform.metrics import CONSUMER_LAG, CONSUMER_RETRIES, EVENTS_CONSUMED, EVENTS_DEAD_LETTERED

log = get_logger(__name__)


class InvalidEvent(Exception):
    """Raised by a handler for an event that fails validation: it is dead-lettered, never retried."""


Handler = Callable[[asyncpg.Connection, ConsumedEvent], Awaitable[None]]
# Applies many events in one call (one statement for a batch instead of one per event). It receives the new
# events of a batch in their order; on a refusal the runner calls it again with one event at a time.
BatchHandler = Callable[[asyncpg.Connection, Sequence[ConsumedEvent]], Awaitable[None]]

_DETAIL_MAX = 1000

_INBOX_BATCH = """
INSERT INTO inbox (consumer, event_id, topic, partition, "offset")
SELECT $1, e.event_id, e.topic, e.partition, e."offset"
FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[]) AS e(event_id, topic, partition, "offset")
ON CONFLICT DO NOTHING
RETURNING event_id
"""
_INBOX_ONE = """
INSERT INTO inbox (consumer, event_id, topic, partition, "offset") VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING
RETURNING event_id
"""


@dataclass
class DeadLetter:
    """A record on its way to `<topic>.dlq`, with why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    reason: str
    detail: str


@dataclass
class BatchOutcome:
    """What one batch came to; handed to the test hooks `on_db_committed` and `on_committed`."""

    applied: list[ConsumedEvent] = field(default_factory=list)
    duplicates: list[ConsumedEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)


Hook = Callable[[BatchOutcome], Awaitable[None]]


class _Refused(Exception):
    """Internal: a handler refused an event during the fast path; redo the batch event by event."""


def _dead_letter(record: Any, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value if record.value is not None else b"",
        headers=[(name, value or b"") for name, value in (record.headers or ())],
        reason=reason,
        detail=detail[:_DETAIL_MAX],
    )


def _event_dead_letter(event: ConsumedEvent, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(
        topic=event.topic,
        partition=event.partition,
        offset=event.offset,
        key=event.key,
        value=event.value,
        headers=list(event.headers.items()),
        reason=reason,
        detail=detail[:_DETAIL_MAX],
    )


class ConsumerRunner:
    """One consumer group member that applies events through `handlers` (keyed by `ce_type`), or through one
    `batch_handler` that takes every event the decoder accepts.

    `messages` are the protobuf classes the default decoder understands; give `decoder` instead for another
    format (the external camera feed). `consumer_name` identifies the consumer in `inbox`, in metrics and in
    dead letters; two consumers of one service that must each see every event need different names.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        bootstrap: str,
        group_id: str,
        consumer_name: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler] | None = None,
        batch_handler: BatchHandler | None = None,
        messages: Iterable[type[Message]] = (),
        decoder: Decoder | None = None,
        batch_max: int = 500,
        session_timeout_ms: int = 30000,
        request_timeout_ms: int = 10000,
        poll_timeout_ms: int = 500,
        max_backoff: float = 5.0,
        on_db_committed: Hook | None = None,
        on_committed: Hook | None = None,
    ) -> None:
        self.pool = pool
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.consumer_name = consumer_name
        self.topics = list(topics)
        if (handlers is None) == (batch_handler is None):
            raise ValueError("give exactly one of handlers and batch_handler")
        self.handlers = dict(handlers or {})
        self.batch_handler = batch_handler
        self.decoder: Decoder = decoder or cloudevents_decoder(message_registry(messages))
        # CloudEvents from the platform's own services: each topic's events come from its owner only.
        self.check_source = decoder is None
        self.batch_max = batch_max
        self.session_timeout_ms = session_timeout_ms
        self.request_timeout_ms = request_timeout_ms
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff = max_backoff
        self.on_db_committed = on_db_committed
        self.on_committed = on_committed
        self._stop = asyncio.Event()
        # The partitions this runner exports a `d07_consumer_lag` series of (removed once not assigned).
        self._lag_partitions: set[TopicPartition] = set()

    def stop(self) -> None:
        """Ask `run()` to return: it finishes the batch in hand (database, offsets), then leaves the group."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """`stop()` was called: `run()` (or a replay) ends after the batch in hand."""
        return self._stop.is_set()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            client_id=self.consumer_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(100, self.session_timeout_ms // 3),
            max_poll_records=self.batch_max,
            **client_kwargs(),
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            **client_kwargs(),
            acks="all",
            enable_idempotence=False,  # not supported by Tansu, and the dead-letter reader tolerates repeats
            request_timeout_ms=self.request_timeout_ms,
        )
        await producer.start()
        try:
            await consumer.start()
            try:
                await self._loop(consumer, producer)
            finally:
                self._forget_lag(keep=())
                await consumer.stop()
        finally:
            await producer.stop()
        log.info("consumer_stopped", consumer=self.consumer_name)

    async def _loop(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        backoff = Backoff(cap=self.max_backoff)
        while not self._stop.is_set():
            records = await self.poll(consumer, backoff)
            if records is None:
                continue
            if records:
                await self.handle_batch(consumer, producer, records)
            else:
                await self._record_idle_lag(consumer)

    async def poll(
        self, consumer: AIOKafkaConsumer, backoff: Backoff
    ) -> Mapping[TopicPartition, list[Any]] | None:
        """One `getmany()`; None after a transient failure (waited out with `backoff`)."""
        try:
            records = await consumer.getmany(timeout_ms=self.poll_timeout_ms, max_records=self.batch_max)
        except Exception as exc:
            if not is_transient(exc):
                raise
            await self._note_retry("poll", exc, backoff)
            return None
        backoff.reset()
        return cast(Mapping[TopicPartition, list[Any]], records)

    async def _note_retry(self, stage: str, exc: BaseException, backoff: Backoff) -> None:
        CONSUMER_RETRIES.labels(consumer=self.consumer_name).inc()
        log.warning("consumer_retry", consumer=self.consumer_name, stage=stage, error=repr(exc))
        await backoff.wait(self._stop)

    # -- one batch ------------------------------------------------------------------------------------------

    async def handle_batch(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        records: Mapping[TopicPartition, list[Any]],
        *,
        commit: bool = True,
    ) -> BatchOutcome | None:
        """Apply one batch (steps 1-5; without `commit`, no offsets: a replay has no group). The outcome, or
        None when stopping during an outage left the batch unapplied."""
        events: list[ConsumedEvent] = []
        undecodable: list[DeadLetter] = []
        for batch in records.values():
            for record in batch:
                try:
                    event = self.decoder(record)
                except UndecodableEvent as exc:
                    undecodable.append(_dead_letter(record, exc.reason, exc.detail))
                    continue
                if self.check_source and (wrong := wrong_source(event)) is not None:
                    undecodable.append(_event_dead_letter(event, "wrong_source", wrong))
                    continue
                if self.batch_handler is None and event.type not in self.handlers:
                    undecodable.append(_dead_letter(record, "no_handler", f"no handler for {event.type}"))
                    continue
                events.append(event)
        offsets = {tp: batch[-1].offset + 1 for tp, batch in records.items() if batch}

        backoff = Backoff(cap=self.max_backoff)
        while True:
            try:
                outcome = await self._apply(events)
                outcome.dead_letters[:0] = undecodable
                outcome.offsets = offsets
                self._count_consumed(outcome)
                if self.on_db_committed is not None:
                    await self.on_db_committed(outcome)
                await self._publish_dead_letters(producer, outcome.dead_letters)
                if commit:
                    await self._commit(consumer, offsets)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if self._stop.is_set():
                    # Stopping during an outage: leave the batch uncommitted; the next member gets it again.
                    log.warning("consumer_batch_abandoned", consumer=self.consumer_name, error=repr(exc))
                    return None
                await self._note_retry("batch", exc, backoff)
        self._record_lag(consumer, offsets)
        if self.on_committed is not None:
            await self.on_committed(outcome)
        return outcome

    async def _apply(self, events: list[ConsumedEvent]) -> BatchOutcome:
        if not events:
            return BatchOutcome()
        async with self.pool.acquire() as proxy:
            conn = cast(asyncpg.Connection, proxy)
            try:
                async with conn.transaction():
                    return await self._apply_together(conn, events)
            except _Refused:
                pass
            async with conn.transaction():
                return await self._apply_one_by_one(conn, events)

    async def _apply_together(self, conn: asyncpg.Connection, events: list[ConsumedEvent]) -> BatchOutcome:
        rows = await conn.fetch(
            _INBOX_BATCH,
            self.consumer_name,
            [e.id for e in events],
            [e.topic for e in events],
            [e.partition for e in events],
            [e.offset for e in events],
        )
        new = {r["event_id"] for r in rows}
        outcome = BatchOutcome()
        for event in events:
            if event.id not in new:
                outcome.duplicates.append(event)
                continue
            new.discard(event.id)  # the same id twice in one batch: the second is a duplicate
            outcome.applied.append(event)
        try:
            if self.batch_handler is not None:
                if outcome.applied:
                    await self.batch_handler(conn, outcome.applied)
            else:
                for event in outcome.applied:
                    await self._call(conn, event)
        except Exception as exc:
            if is_transient(exc):
                raise
            raise _Refused from exc
        return outcome

    async def _apply_one_by_one(self, conn: asyncpg.Connection, events: list[ConsumedEvent]) -> BatchOutcome:
        outcome = BatchOutcome()
        for event in events:
            try:
                async with conn.transaction():  # a savepoint: a refused event leaves no trace
                    inserted = await conn.fetchval(
                        _INBOX_ONE, self.consumer_name, event.id, event.topic, event.partition, event.offset
                    )
                    if inserted is not None:
                        await self._call(conn, event)
            except Exception as exc:
                if is_transient(exc):
                    raise
                # A value the database refuses (a number past its column, a NUL in text, a year out of
                # range) or a conversion refuses is the event's fault: dead-lettered as invalid, not retried.
                invalid = isinstance(exc, InvalidEvent | InvalidArgument) or bad_input(exc) is not None
                reason = "invalid_event" if invalid else "handler_error"
                if reason == "handler_error":
                    log.exception(
                        "consumer_handler_error", consumer=self.consumer_name, event_id=str(event.id)
                    )
                outcome.dead_letters.append(_event_dead_letter(event, reason, str(exc) or type(exc).__name__))
                continue
            (outcome.applied if inserted is not None else outcome.duplicates).append(event)
        return outcome

    async def _call(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        with bound(event_id=str(event.id)):
            if self.batch_handler is not None:
                await self.batch_handler(conn, [event])
            else:
                await self.handlers[event.type](conn, event)

    async def _publish_dead_letters(self, producer: AIOKafkaProducer, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        async with asyncio.timeout(self.request_timeout_ms / 1000 * 2):
            delivered = []
            for d in letters:
                headers = [
                    *d.headers,
                    ("d07_dlq_reason", d.reason.encode()),
                    ("d07_dlq_detail", d.detail.encode()),
                    ("d07_dlq_topic", d.topic.encode()),
                    ("d07_dlq_partition", str(d.partition).encode()),
                    ("d07_dlq_offset", str(d.offset).encode()),
                    ("d07_dlq_consumer", self.consumer_name.encode()),
                ]
                sent = await producer.send(f"{d.topic}.dlq", value=d.value, key=d.key, headers=headers)
                delivered.append(sent)
            await asyncio.gather(*delivered)
        for d in letters:
            EVENTS_DEAD_LETTERED.labels(consumer=self.consumer_name, topic=d.topic, reason=d.reason).inc()
            log.warning(
                "event_dead_lettered", consumer=self.consumer_name, topic=d.topic, partition=d.partition,
                offset=d.offset, reason=d.reason, detail=d.detail,
            )  # fmt: skip

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            async with asyncio.timeout(self.request_timeout_ms / 1000 * 2):
                await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another member: it reads the batch again, the inbox makes it a no-op.
            log.warning("consumer_commit_failed", consumer=self.consumer_name, error=repr(exc))

    # -- metrics --------------------------------------------------------------------------------------------

    def _count_consumed(self, outcome: BatchOutcome) -> None:
        for outcome_name, events in (("applied", outcome.applied), ("duplicate", outcome.duplicates)):
            for topic, n in Counter(e.topic for e in events).items():
                EVENTS_CONSUMED.labels(consumer=self.consumer_name, topic=topic, outcome=outcome_name).inc(n)

    def _record_lag(self, consumer: AIOKafkaConsumer, offsets: Mapping[TopicPartition, int]) -> None:
        for tp, position in offsets.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                CONSUMER_LAG.labels(
                    consumer=self.consumer_name, topic=tp.topic, partition=str(tp.partition)
                ).set(max(0, highwater - position))
                self._lag_partitions.add(tp)
        self._forget_lag(keep=consumer.assignment())

    def _forget_lag(self, *, keep: Iterable[TopicPartition]) -> None:
        """Remove the lag series of the partitions not in `keep`: revoked ones (another member reports them
        now), or all when the runner stops. A series left behind would freeze at its last value."""
        for tp in self._lag_partitions - set(keep):
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.consumer_name, tp.topic, str(tp.partition))
            self._lag_partitions.discard(tp)

    async def _record_idle_lag(self, consumer: AIOKafkaConsumer) -> None:
        positions: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            try:
                async with asyncio.timeout(1.0):
                    positions[tp] = await consumer.position(tp)
            except Exception:  # noqa: S112 - a partition without a position yet has no lag to report
                continue
        self._record_lag(consumer, positions)
