"""Rebuilding read models from the topics: empty them and replay every event into them, then stop.

`rebuild(pool, tables=, runners=)` is what `python -m <service> rebuild` runs for a `ServiceSpec` that
declares its `read_models`:
1. one transaction empties the read-model tables (`TRUNCATE`) and deletes the `inbox` rows of the runners'
   consumers, so every event is new to them again;
2. each runner replays its topics from their first offsets up to the end offsets captured at this point
   (`replay_topics(runner)`: no consumer group, and the same decoding, inbox, handlers and dead-letter rules
   as the live consumer, because it is the runner's own code: `ConsumerRunner.poll` and `handle_batch`).

The live consumer may keep running meanwhile. The end offsets are captured after step 1, not before: an event
the live consumer applied before the tables were emptied lies below them and is replayed; an event it applies
afterwards keeps its effect and its inbox row, so the replay skips it; an event past them is the live
consumer's alone. Where both meet an event at once, its inbox row (one per consumer and event id) lets one of
them apply it. The handlers' version and event-time guards make the order of application irrelevant (an older
state replayed after a newer one changes nothing). Readers see the read models fill up again while it runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from d07.platform.db import quote_ident
from d07.platform.events.consumer import ConsumerRunner
from d07.platform.events.kafka import client_kwargs
from d07.platform.events.retry import Backoff, is_transient
from d07.platform.logging import get_logger

log = get_logger(__name__)


@dataclass
class ReplayCount:
    """What a replay read from one topic: records up to the end offsets, and what became of them."""

    topic: str
    partitions: int = 0
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


@dataclass
class Replay:
    """The outcome of `replay_topics(runner)`: counts per topic (in the runner's topic order), and whether
    every partition reached the end offset captured at the start (False: stopped early)."""

    topics: dict[str, ReplayCount]
    complete: bool


async def replay_topics(runner: ConsumerRunner) -> Replay:
    """Apply every record of the runner's topics again, from each partition's first offset to the end offset
    it has when the replay starts, through the same decoding, inbox, handlers and dead letters as `run()`;
    then return. No consumer group: nothing is joined or committed, so the live group's offsets are untouched
    and a live member may run meanwhile (the inbox applies each event once between the two). Records
    published after the start are left to the live consumer. `runner.stop()` ends it early (incomplete)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=runner.bootstrap,
        group_id=None,
        client_id=f"{runner.consumer_name}.replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=runner.batch_max,
        **client_kwargs(),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=runner.bootstrap,
        **client_kwargs(),
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=runner.request_timeout_ms,
    )
    counts = {topic: ReplayCount(topic) for topic in runner.topics}
    await producer.start()
    try:
        await consumer.start()
        try:
            ends = await _ends(runner, consumer, producer, counts)
            complete = await _replay_loop(runner, consumer, producer, ends, counts)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    log.info(
        "consumer_replayed", consumer=runner.consumer_name, complete=complete,
        records=sum(c.records for c in counts.values()),
    )  # fmt: skip
    return Replay(counts, complete)


async def _ends(
    runner: ConsumerRunner,
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    counts: dict[str, ReplayCount],
) -> dict[TopicPartition, int]:
    """Assign every partition of the topics that holds records and seek it to its first offset; the end
    offset of each, captured now (a topic nothing was ever published to has none). The replay loop raises
    an end to the high watermark of the partition's first fetch where that is higher."""
    existing = await consumer.topics()
    partitions: list[TopicPartition] = []
    for topic in runner.topics:
        if topic in existing:
            found = await producer.partitions_for(topic)
            counts[topic].partitions = len(found)
            partitions += [TopicPartition(topic, n) for n in sorted(found)]
    if not partitions:
        return {}
    firsts = await consumer.beginning_offsets(partitions)
    ends = {tp: end for tp, end in (await consumer.end_offsets(partitions)).items() if end > firsts[tp]}
    if ends:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
    return ends


async def _replay_loop(
    runner: ConsumerRunner,
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    ends: dict[TopicPartition, int],
    counts: dict[str, ReplayCount],
) -> bool:
    pending = dict(ends)
    measured: set[TopicPartition] = set()
    backoff = Backoff(cap=runner.max_backoff)
    while pending and not runner.stopping:
        records = await runner.poll(consumer, backoff)
        if records is None:
            continue
        for tp in records:
            if tp in pending and tp not in measured:
                # The high watermark of a partition's first fetch, when above the end offset: Tansu's end
                # offset of a partition whose last record batch holds several records is one past that
                # batch's first record. Once per partition, so a busy partition does not run away.
                measured.add(tp)
                pending[tp] = ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
        # A record published after the start belongs to the live consumer: cut each batch at the end.
        batch = {tp: [r for r in rs if r.offset < ends[tp]] for tp, rs in records.items() if tp in ends}
        batch = {tp: rs for tp, rs in batch.items() if rs}
        if batch:
            outcome = await runner.handle_batch(consumer, producer, batch, commit=False)
            if outcome is None:
                break  # stopping during an outage
            for tp, rs in batch.items():
                counts[tp.topic].records += len(rs)
            for topic, n in Counter(e.topic for e in outcome.applied).items():
                counts[topic].applied += n
            for topic, n in Counter(e.topic for e in outcome.duplicates).items():
                counts[topic].duplicates += n
            for topic, n in Counter(d.topic for d in outcome.dead_letters).items():
                counts[topic].dead_lettered += n
        for tp in list(pending):
            if await consumer.position(tp) >= pending[tp]:
                del pending[tp]
                consumer.pause(tp)
    return not pending


@dataclass
class Rebuild:
    """What a rebuild did: the tables emptied, the inbox rows deleted, what was read per topic, how long."""

    tables: list[str]
    inbox_rows: int
    topics: dict[str, ReplayCount]
    seconds: float
    complete: bool

    @property
    def records(self) -> int:
        return sum(c.records for c in self.topics.values())

    def summary(self) -> str:
        """For people: one line per topic, then the totals."""
        lines = [
            f"emptied {len(self.tables)} read-model tables ({', '.join(self.tables)}), "
            f"deleted {self.inbox_rows} inbox rows"
        ]
        for c in self.topics.values():
            lines.append(
                f"{c.topic}: {c.records} events from {c.partitions} partitions "
                f"({c.applied} applied, {c.duplicates} duplicates, {c.dead_lettered} dead-lettered)"
            )
        state = "rebuilt" if self.complete else "INCOMPLETE (stopped early: run it again)"
        lines.append(f"{state}: {self.records} events in {self.seconds:.1f} s")
        return "\n".join(lines)


async def reset(pool: asyncpg.Pool, *, tables: Sequence[str], consumers: Sequence[str]) -> int:
    """Empty `tables` and delete the inbox rows of `consumers`, in one transaction; the inbox rows deleted.
    A deadlock with a live consumer's transaction (it may hold one table while this waits for it) or a
    transient failure is retried."""
    statement = "TRUNCATE " + ", ".join(quote_ident(t) for t in tables)
    backoff = Backoff(cap=2.0)
    while True:
        try:
            async with pool.acquire() as proxy:
                conn = cast(asyncpg.Connection, proxy)
                async with conn.transaction():
                    await conn.execute(statement)
                    done = await conn.execute("DELETE FROM inbox WHERE consumer = ANY($1::text[])", consumers)
            return int(done.split()[-1])
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("rebuild_reset_retry", error=repr(exc))
            await backoff.wait()


async def rebuild(pool: asyncpg.Pool, *, tables: Sequence[str], runners: Sequence[ConsumerRunner]) -> Rebuild:
    """Empty the read models and replay every runner's topics into them (one runner after the other)."""
    if not tables:
        raise ValueError("a rebuild needs the read-model tables to empty")
    started = time.monotonic()
    inbox_rows = await reset(pool, tables=tables, consumers=[r.consumer_name for r in runners])
    log.info("rebuild_reset", tables=list(tables), inbox_rows=inbox_rows)
    topics: dict[str, ReplayCount] = {}
    complete = True
    for runner in runners:
        replay = await replay_topics(runner)
        for topic, count in replay.topics.items():
            if topic in topics:  # two consumers of one service reading one topic: add up
                known = topics[topic]
                known.records += count.records
                known.applied += count.applied
                known.duplicates += count.duplicates
                known.dead_lettered += count.dead_lettered
            else:
                topics[topic] = count
        if not replay.complete:
            complete = False
            break
    result = Rebuild(list(tables), inbox_rows, topics, time.monotonic() - started, complete)
    log.info("rebuilt", complete=complete, records=result.records, seconds=round(result.seconds, 3))
    return result
