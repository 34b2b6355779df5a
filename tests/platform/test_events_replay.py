"""`python -m <service> rebuild` on the real PostgreSQL and broker: a tiny service (one topic, one read-model
table, tests/platform/events_rebuild_service.py) is fed, rebuilt, rebuilt again, and rebuilt while its live
consumer goes on; each time every event is applied exactly once and dead letters follow the live rules."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from d07.platform.db import create_pool
from d07.platform.devstack.broker import Broker
from d07.platform.events import ConsumerRunner
from d07.platform.runtime import run_migrate
from d07.platform.settings import ServiceSettings
from tests.conftest import ROOT, unique
from tests.platform.events_rebuild_service import CONSUMER, make_spec
from tests.platform.events_support import (
    WAIT,
    applied_count,
    applied_totals,
    make_runner,
    produce_events,
    produce_raw,
    raw_headers,
    running,
    unit_event,
)
from tests.platform.test_events_consumer import read_topic
from tests.support.waiting import eventually


@dataclass
class Service:
    schema: str
    topic: str
    pool: asyncpg.Pool
    env: dict[str, str]

    def live(self, bootstrap: str, **kw: Any) -> ConsumerRunner:
        """The live consumer as the runtime builds it: group <schema>.projections, inbox name projections."""
        return make_runner(
            self.pool, bootstrap, group_id=f"{self.schema}.{CONSUMER}", consumer_name=CONSUMER,
            topics=[self.topic], **kw,
        )  # fmt: skip


@pytest.fixture
async def service(database_url: str, broker: Broker) -> AsyncIterator[Service]:
    schema, topic = unique("rb"), unique("d07.test.rebuild.v1")
    settings = ServiceSettings(service=schema, database_url=database_url, kafka_bootstrap=broker.bootstrap)
    await run_migrate(make_spec(schema, topic, ["applied"], settings), settings)
    pool = await create_pool(database_url, schema=schema, min_size=1, max_size=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("D07_")}
    env.update(
        D07_ENV="dev", D07_SERVICE=schema, D07_DATABASE_URL=database_url,
        D07_KAFKA_BOOTSTRAP=broker.bootstrap, D07_TEST_TOPIC=topic, D07_TEST_READ_MODELS="applied",
        D07_LOG_LEVEL="WARNING",
    )  # fmt: skip
    try:
        yield Service(schema, topic, pool, env)
    finally:
        await pool.close()


async def rebuild(env: dict[str, str]) -> tuple[int, str]:
    """Run `python -m tests.platform.events_rebuild_service rebuild`: its exit code and its output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.platform.events_rebuild_service", "rebuild",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def topic_line(out: str, topic: str) -> tuple[int, int, int, int]:
    """(events, applied, duplicates, dead-lettered) of the topic's line of the rebuild's summary."""
    found = re.search(
        rf"^{re.escape(topic)}: (\d+) events from \d+ partitions "
        r"\((\d+) applied, (\d+) duplicates, (\d+) dead-lettered\)$",
        out,
        re.MULTILINE,
    )
    assert found, out
    events, applied, duplicates, dead = (int(g) for g in found.groups())
    return events, applied, duplicates, dead


async def produce_batch(bootstrap: str, topic: str, events: list[tuple[str, Any]]) -> None:
    """Events as one record batch on partition 0, as the outbox relay sends them (Tansu's end offset of such a
    partition is one past the batch's first record: the replay must not stop there)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        batch = producer.create_batch()
        for key, msg in events:
            value, headers = msg.SerializeToString(), raw_headers(uuid.uuid4(), msg, key)
            assert batch.append(key=key.encode(), value=value, timestamp=None, headers=headers)
        await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()


async def rows(pool: asyncpg.Pool) -> list[tuple[object, ...]]:
    found = await pool.fetch("SELECT event_id, key, seq, name FROM applied ORDER BY event_id")
    return [tuple(r) for r in found]


async def test_a_rebuild_replays_the_topic_into_the_emptied_read_model_to_the_same_rows(
    broker: Broker, service: Service
) -> None:
    good = [(f"unit-{i % 5}", unit_event(f"unit-{i % 5}", i)) for i in range(30)]
    await produce_events(broker.bootstrap, service.topic, good[:15])
    invalid = unit_event("unit-0", 100, "invalid")
    await produce_raw(
        broker.bootstrap,
        service.topic,
        [
            (b"unit-0", b"not protobuf {", raw_headers(uuid.uuid4(), invalid)),
            (b"unit-0", invalid.SerializeToString(), raw_headers(uuid.uuid4(), invalid)),
        ],
    )
    await produce_events(broker.bootstrap, service.topic, good[15:25])
    await produce_batch(broker.bootstrap, service.topic, good[25:])  # the partition's last batch: 5 records
    async with running(service.live(broker.bootstrap)):
        await eventually(
            lambda: applied_count(service.pool),
            until=lambda n: n >= 30,
            what="30 events applied live",
            within=WAIT,
        )
    before = await rows(service.pool)
    assert len(before) == 30

    for _ in range(2):  # twice: a rebuild of a rebuilt read model gives the same rows again
        code, out = await rebuild(service.env)
        assert code == 0, out
        assert "deleted 30 inbox rows" in out
        assert topic_line(out, service.topic) == (32, 30, 0, 2)
        assert re.search(r"^rebuilt: 32 events in [\d.]+ s$", out, re.MULTILINE), out
        assert await rows(service.pool) == before
        assert await applied_totals(service.pool) == (30, 30)
        assert await service.pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", CONSUMER) == 30

    # The same dead-letter rules as the live consumer: each pass sent the same two records to the DLQ.
    letters = await read_topic(broker.bootstrap, f"{service.topic}.dlq", 6)
    reasons = Counter(h["d07_dlq_reason"] for _, _, h in letters)
    assert reasons == {b"bad_payload": 3, b"invalid_event": 3}
    assert {h["d07_dlq_consumer"] for _, _, h in letters} == {CONSUMER.encode()}


async def test_a_rebuild_beside_the_live_consumer_applies_every_event_once(
    broker: Broker, service: Service
) -> None:
    first = [(f"unit-{i % 7}", unit_event(f"unit-{i % 7}", i)) for i in range(200)]
    later = [(f"unit-{i % 7}", unit_event(f"unit-{i % 7}", i)) for i in range(200, 320)]
    await produce_events(broker.bootstrap, service.topic, first)
    async with running(service.live(broker.bootstrap, batch_max=20)):
        await eventually(
            lambda: applied_count(service.pool),
            until=lambda n: n >= 200,
            what="200 events applied live",
            within=WAIT,
        )
        task = asyncio.create_task(rebuild(service.env))
        for n in range(0, len(later), 20):  # new events keep coming while the rebuild runs
            await produce_events(broker.bootstrap, service.topic, later[n : n + 20])
            await asyncio.sleep(0.05)
        code, out = await task
        assert code == 0, out
        events, applied, duplicates, dead = topic_line(out, service.topic)
        # The rebuild read at least what was there before it started; whatever it read was applied once,
        # either by it or (a duplicate to it) by the live consumer.
        assert 200 <= events <= 320
        assert applied + duplicates == events
        assert dead == 0
        await eventually(
            lambda: applied_count(service.pool),
            until=lambda n: n >= 320,
            what="all 320 events applied",
            within=WAIT,
        )
    assert await applied_totals(service.pool) == (320, 320)
    seqs = [r["seq"] for r in await service.pool.fetch("SELECT seq FROM applied ORDER BY seq")]
    assert seqs == list(range(320))


async def test_a_service_without_read_models_has_nothing_to_rebuild(service: Service) -> None:
    code, out = await rebuild(dict(service.env, D07_TEST_READ_MODELS=""))
    assert code == 2, out
    assert f"{service.schema} declares no read models: nothing to rebuild" in out
