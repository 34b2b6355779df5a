"""The platform's own metrics measured on real parts: the database pool read at scrape time, the build info,
the outbox relay's oldest-row age and produce errors against a broker that stalls, and the consumer lag series
following the partitions a consumer holds (gone when revoked or stopped). Everything passes promtool."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY, generate_latest

from d07.platform.db import create_pool
from d07.platform.devstack.broker import Broker
from d07.platform.events import outbox
from d07.platform.metrics import POOLS, record_build_info
from tests.conftest import RUN, unique
from tests.platform.events_support import (
    SOURCE,
    WAIT,
    make_runner,
    raw_headers,
    relaying,
    running,
    services,
    unit_event,
)
from tests.platform.promtool import check_metrics
from tests.platform.test_events_consumer import Services
from tests.support.waiting import eventually

__all__ = ["services"]  # the fixture, imported for pytest


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def lag_partitions(consumer: str, topic: str) -> set[str]:
    """The partitions for which `d07_consumer_lag{consumer, topic}` has a series now."""
    return {
        s.labels["partition"]
        for family in REGISTRY.collect()
        if family.name == "d07_consumer_lag"
        for s in family.samples
        if s.labels["consumer"] == consumer and s.labels["topic"] == topic
    }


async def test_the_pool_is_read_at_scrape_time_and_leaves_when_closed(database_url: str) -> None:
    name = unique("pool")
    pool = await create_pool(database_url, schema="public", min_size=1, max_size=3)
    POOLS.watch(name, pool)
    try:
        assert sample("d07_db_pool_connections", pool=name) == 1
        assert sample("d07_db_pool_connections_idle", pool=name) == 1
        assert sample("d07_db_pool_connections_in_use", pool=name) == 0
        assert sample("d07_db_pool_connections_max", pool=name) == 3
        held = [await pool.acquire() for _ in range(3)]
        assert sample("d07_db_pool_connections", pool=name) == 3
        assert sample("d07_db_pool_connections_in_use", pool=name) == 3
        assert sample("d07_db_pool_connections_idle", pool=name) == 0
        assert sample("d07_db_pool_acquires_waiting", pool=name) == 0
        # Two more callers find every connection taken: they wait, and the pool says so.
        waiters = [asyncio.ensure_future(pool.acquire()) for _ in range(2)]
        await eventually(
            lambda: sample("d07_db_pool_acquires_waiting", pool=name) or 0.0,
            until=lambda n: n == 2,
            what="two waiting acquisitions",
            within=5,
        )
        await pool.release(held.pop())
        held.append(await waiters[0])
        assert sample("d07_db_pool_acquires_waiting", pool=name) == 1
        await pool.release(held.pop())
        held.append(await waiters[1])
        assert sample("d07_db_pool_acquires_waiting", pool=name) == 0
        for conn in held:
            await pool.release(conn)
        assert sample("d07_db_pool_connections_in_use", pool=name) == 0
        assert sample("d07_db_pool_connections_idle", pool=name) == 3
        code, out = await check_metrics(generate_latest(REGISTRY))
        assert code == 0, out
    except BaseException:
        pool.terminate()
        raise
    await pool.close()
    assert sample("d07_db_pool_connections", pool=name) is None


def test_build_info_names_the_service_and_its_package_version() -> None:
    record_build_info("cameras")
    version = importlib.metadata.version("cameras")
    assert version
    assert sample("d07_build_info", service="cameras", version=version) == 1
    record_build_info("no-such-service")
    assert sample("d07_build_info", service="no-such-service", version="unknown") == 1


async def test_outbox_age_and_produce_errors_while_the_broker_stalls(services: Services) -> None:
    """A broker paused (SIGSTOP) with a row waiting: the age of the oldest row grows, each failed send counts
    as a produce error of its topic; once the broker is back, the row goes out and the age falls to 0."""
    schema, pool = await services("prod")
    topic = unique("d07.test.units.v1")
    own_broker = Broker(log_path=RUN / f"test-broker-metrics-{os.getpid()}.log").start()
    paused = False
    errors = lambda: sample("d07_events_publish_errors_total", topic=topic) or 0.0  # noqa: E731
    age = lambda: sample("d07_outbox_oldest_age_seconds", schema=schema)  # noqa: E731
    try:
        async with relaying(pool, schema, own_broker.bootstrap, request_timeout_ms=1000) as relay:
            await eventually(lambda: relay.is_leader, what="the relay to lead", within=WAIT)
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, topic=topic, key="k", message=unit_event("k", 0), source=SOURCE)
            await eventually(
                lambda: outbox_rows(pool), until=lambda n: n == 0, what="a first event", within=WAIT
            )
            await eventually(
                lambda: age(), until=lambda a: a == 0, what="the age of an empty outbox", within=10
            )
            assert errors() == 0

            own_broker.pause()
            paused = True
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, topic=topic, key="k", message=unit_event("k", 1), source=SOURCE)
            written = time.monotonic()
            await eventually(errors, until=lambda n: n >= 1, what="a produce error", within=WAIT)
            await eventually(
                age, until=lambda a: a is not None and a >= 2, what="the age to grow", within=WAIT
            )
            assert (age() or 0) <= time.monotonic() - written + 1
            assert await outbox_rows(pool) == 1

            own_broker.resume()
            paused = False
            await eventually(
                lambda: outbox_rows(pool), until=lambda n: n == 0, what="the row to go", within=WAIT
            )
            await eventually(age, until=lambda a: a == 0, what="the age back to 0", within=10)
        # The relay stopped leading: it exports no age (a frozen one would keep an alert firing).
        assert age() is None
        code, out = await check_metrics(generate_latest(REGISTRY))
        assert code == 0, out
    finally:
        if paused:
            own_broker.resume()
        own_broker.stop()


async def outbox_rows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox"))


async def test_lag_series_follow_the_assignment_and_go_when_the_consumer_stops(
    broker: Broker, services: Services
) -> None:
    """Two members of one group on a topic of two partitions: the first holds both, then one each, then both
    again once the second stops. Each exports lag only for the partitions it holds now; a stopped member
    exports none (before this, a revoked partition's series stayed frozen at its last value)."""
    _, pool = await services("lag")
    topic = unique("d07.test.units.v1")
    group = unique("g")
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        for partition in (0, 1):
            message = unit_event(f"k{partition}", partition)
            await producer.send_and_wait(
                topic, message.SerializeToString(), b"k", partition=partition,
                headers=raw_headers(uuid.uuid4(), message),
            )  # fmt: skip
    finally:
        await producer.stop()

    first, second = unique("a"), unique("b")
    a = make_runner(pool, broker.bootstrap, group_id=group, consumer_name=first, topics=[topic])
    b = make_runner(pool, broker.bootstrap, group_id=group, consumer_name=second, topics=[topic])
    both = {"0", "1"}
    async with running(a):
        await eventually(
            lambda: lag_partitions(first, topic), until=lambda p: p == both, what="lag of both", within=WAIT
        )
        async with running(b):
            await eventually(
                lambda: (lag_partitions(first, topic), lag_partitions(second, topic)),
                until=lambda p: len(p[0]) == 1 and len(p[1]) == 1 and p[0] | p[1] == both,
                what="one partition each, and the revoked one's series gone",
                within=WAIT,
            )
        assert lag_partitions(second, topic) == set()
        await eventually(
            lambda: lag_partitions(first, topic), until=lambda p: p == both, what="both again", within=WAIT
        )
    assert lag_partitions(first, topic) == set()
