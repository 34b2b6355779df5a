"""Rebuilding read models from the topics: empty them and replay every event into them, then stop.

`rebuild(pool, tables=, runners=)` is what `python -m <service> rebuild` runs for a `ServiceSpec` that
declares its `read_models`:
1. one transaction empties the read-model tables (`TRUNCATE`) and deletes the `inbox` rows of the runners'
   consumers, so every event is new to them again;
2. each runner replays its topics from their first offsets up to the end offsets captured at this point
   (`ConsumerRunner.replay()`: no consumer group, and the same decoding, inbox, handlers and dead-letter rules
   as the live consumer, because it is the same code).

The live consumer may keep running meanwhile. The end offsets are captured after step 1, not before: an event
the live consumer applied before the tables were emptied lies below them and is replayed; an event it applies
afterwards keeps its effect and its inbox row, so the replay skips it; an event past them is the live
consumer's alone. Where both meet an event at once, its inbox row (one per consumer and event id) lets one of
them apply it. The handlers' version and event-time guards make the order of application irrelevant (an older
state replayed after a newer one changes nothing). Readers see the read models fill up again while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import asyncpg

from d07.platform.db import quote_ident
from d07.platform.events.consumer import ConsumerRunner, ReplayCount
from d07.platform.events.retry import Backoff, is_transient
from d07.platform.logging import get_logger

log = get_logger(__name__)


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
        replay = await runner.replay()
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
