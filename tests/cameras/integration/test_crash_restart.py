"""Killing the cameras service in the middle of a stream of detections and starting it again loses none and
doubles none.

The test builds a private stack so that the kill touches nothing of the session's platform: its own broker,
its own database on the session's server, `python -m cameras relay` (never killed: it publishes the outbox)
and `python -m cameras consume`, which is killed with SIGKILL while an ordinary aiokafka producer is still
feeding `d07.cameras.detections.v1`, and then started again. The stack has no registry, so the cameras are
inserted straight into `cameras.cameras` as test setup (the service only reads them on this path).

What "none lost, none doubled" is checked against: the ids produced (stored exactly, in the inbox once, the
restarted process applied exactly the rest), the violations (each one's detection count equals its linked
detections and its activity rows; every detection at or above its kind's threshold is linked, none below)
and the violations topic (one `ViolationOpened` per violation, no event twice).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.platform.auth import ensure_dev_keys
from d07.platform.devstack.broker import Broker
from d07.platform.devstack.procs import free_port, stop_process
from d07.platform.events.envelope import decode_record, message_registry
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
TOPIC = "d07.cameras.detections.v1"
VIOLATIONS = "d07.cameras.violations.v1"
GROUP = "cameras.detections"  # `<service>.<consumer>`: the group the consume role joins
CONSUMER = "detections"
EVENTS = message_registry([events_pb.ViolationOpened, events_pb.ViolationUpdated, events_pb.ViolationOverdue])
THRESHOLDS = {
    "intrusion": 0.80, "loitering": 0.85, "fire_smoke": 0.70, "crowd": 0.80,
    "vandalism": 0.80, "traffic": 0.90, "other": 0.95,
}  # fmt: skip
VIETNAM = timezone(timedelta(hours=7))

CAMERAS = 8
UNIQUE = 20_000
REPEATS = 1_000  # exact copies of earlier messages, later in the stream (5 %)
WARM_UP = 400  # fed before the stream proper: the consumer has joined its group once these are stored
SPREAD = timedelta(hours=2)  # occurred_at over the last two hours, so a pair opens many violations
JOIN_WINDOW_SECONDS = 60
KILL_AT = 0.3  # share of the unique detections stored when the consumer is killed


# -- the private stack ---------------------------------------------------------------------------------------


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(log_path=tmp_path / "broker.log").start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def private_database(pg_server_url: str) -> AsyncIterator[str]:
    """A database of its own on the session's server (the session's database stays untouched)."""
    name = f"d07_crash_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = pg_server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(pg_server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


class Stack:
    """The cameras processes of this test, each started with its own log and stopped by its PID."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, role: str, name: str) -> tuple[subprocess.Popen[bytes], str]:
        """`python -m cameras <role>` in a session of its own (so a kill reaches it alone); its HTTP url."""
        port = free_port()
        with open(self.logdir / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cameras", role],
                env=dict(self.env, D07_HTTP_PORT=str(port), D07_GRPC_PORT=str(free_port())),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc, f"http://127.0.0.1:{port}"

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.procs:
            stop_process(proc, timeout=15)


def stack_env(database_url: str, bootstrap: str, keys: Path) -> dict[str, str]:
    _, jwks = ensure_dev_keys(keys)
    env = {k: v for k, v in os.environ.items() if not k.startswith("D07_")}
    env.update(
        D07_ENV="dev",
        D07_DATABASE_URL=database_url,
        D07_KAFKA_BOOTSTRAP=bootstrap,
        D07_JWKS_FILE=str(jwks),
        D07_REGISTRY_GRPC=f"127.0.0.1:{free_port()}",  # nothing on this path asks the registry
        D07_LOG_LEVEL="INFO",
        D07_VIOLATION_JOIN_WINDOW_SECONDS=str(JOIN_WINDOW_SECONDS),
        # Detections are dated up to two hours back: they must not make their cameras look silent.
        D07_CAMERA_OFFLINE_AFTER_SECONDS="86400",
        D07_CONSUMER_SESSION_TIMEOUT_MS="6000",  # a killed member leaves the group after 6 s, not 10
    )
    return env


async def ready(url: str, proc: subprocess.Popen[bytes], stack: Stack, name: str) -> None:
    async def check() -> bool:
        assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{stack.log(name)}"
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(check, within=60, what=f"{name} ready")


async def metric(url: str, name: str, **labels: str) -> dict[str, float]:
    """The samples of one metric of a process, by their label text, filtered by `labels`."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            series, _, value = line.rpartition(" ")
            found[series] = float(value)
    return found


# -- the feed ------------------------------------------------------------------------------------------------


def camera_codes() -> list[str]:
    return [f"CAM-{n:05d}" for n in range(1, CAMERAS + 1)]


def make_feed(rng: random.Random) -> tuple[list[tuple[bytes, bytes]], dict[uuid.UUID, dict[str, Any]]]:
    """The records to produce (key = camera code, value = the contract's JSON), repeats included, and the
    unique detections by id."""
    now = datetime.now(VIETNAM)
    codes = camera_codes()
    kinds = sorted(THRESHOLDS)
    unique: dict[uuid.UUID, dict[str, Any]] = {}
    keyed: list[tuple[float, tuple[bytes, bytes]]] = []
    for position in range(UNIQUE):
        code, kind = rng.choice(codes), rng.choice(kinds)
        detection_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        item: dict[str, Any] = {
            "detection_id": str(detection_id),
            "camera_id": code,
            "occurred_at": (now - timedelta(seconds=rng.uniform(1, SPREAD.total_seconds()))).isoformat(),
            "kind": kind,
            "confidence": round(rng.uniform(0.5, 1.0), 3),
            "snapshot_url": f"https://vms.example/{code}/snap.jpg",
            "attributes": {"zone": rng.choice(["cổng chính", "bãi xe", "hành lang"])},
        }
        unique[detection_id] = item
        keyed.append((position, (code.encode(), json.dumps(item, ensure_ascii=False).encode())))
    for _ in range(REPEATS):
        original = rng.randrange(WARM_UP, UNIQUE)
        keyed.append((rng.uniform(original, UNIQUE), keyed[original][1]))
    keyed.sort(key=lambda k: k[0])
    return [record for _, record in keyed], unique


async def produce(bootstrap: str, records: list[tuple[bytes, bytes]], *, chunk: int, pause: float) -> None:
    """An ordinary aiokafka producer, paced (`chunk` records, then `pause` seconds) so that the stream is
    still flowing when the consumer is killed."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for start in range(0, len(records), chunk):
            sent = [
                await producer.send(TOPIC, value, key=key) for key, value in records[start : start + chunk]
            ]
            await asyncio.gather(*sent)
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


async def insert_cameras(conn: asyncpg.Connection) -> None:
    """Test setup: installed cameras, written straight into the table (this stack has no registry)."""
    await conn.executemany(
        """INSERT INTO cameras (id, code, name, latitude, longitude, status, search_name, district_code,
                                commune_code, installed_on)
           VALUES ($1, $2, $3, 13.77, 109.22, 'installed', lower($2 || ' ' || $3), '001', '00001',
                   current_date)""",
        [(uuid.uuid4(), code, f"Camera {code}") for code in camera_codes()],
    )


# -- reading what came out -----------------------------------------------------------------------------------


async def uncommitted(bootstrap: str, conn: asyncpg.Connection) -> int:
    """Detections the killed process stored whose offsets it never committed: the restart gets them again."""
    rows = await conn.fetch(
        'SELECT partition, "offset" FROM inbox WHERE consumer = $1 AND topic = $2', CONSUMER, TOPIC
    )
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await reader.start()  # never subscribes: it only asks the group's coordinator for the committed offsets
    try:
        partitions = sorted({r["partition"] for r in rows})
        committed = {p: (await reader.committed(TopicPartition(TOPIC, p))) or 0 for p in partitions}
    finally:
        await reader.stop()
    return sum(1 for r in rows if r["offset"] >= committed[r["partition"]])


async def read_to_end(bootstrap: str, topic: str) -> list[Any]:
    """Every record of a topic, from the beginning to the high watermarks read at the start (bounded)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:

        async def partitions() -> set[int] | None:
            await consumer._client.force_metadata_update()
            found: set[int] | None = consumer.partitions_for_topic(topic)
            return found

        tps = [TopicPartition(topic, p) for p in sorted(await eventually(partitions, within=30, what=topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)

        async def drained() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                records.extend(batch)
            positions = [await consumer.position(tp) for tp in tps]
            return all(at >= ends[tp] for at, tp in zip(positions, tps, strict=True))

        await eventually(drained, within=60, what=f"{topic} read to its end")
    finally:
        await consumer.stop()
    return records


# -- the test ------------------------------------------------------------------------------------------------


async def test_killing_the_consumer_mid_stream_loses_no_detection_and_doubles_none(
    private_broker: Broker, private_database: str, tmp_path: Path, record_property: Callable[[str, Any], None]
) -> None:
    seed = random.randrange(2**32)
    record_property("seed", seed)
    rng = random.Random(seed)
    records, unique = make_feed(rng)
    env = stack_env(private_database, private_broker.bootstrap, tmp_path / "keys")
    migrated = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cameras", "migrate"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert migrated.returncode == 0, migrated.stdout.decode() + migrated.stderr.decode()
    db = await asyncpg.connect(private_database, server_settings={"search_path": "cameras"})
    stack = Stack(env, tmp_path)
    try:
        await insert_cameras(db)

        async def stored() -> int:
            return int(await db.fetchval("SELECT count(*) FROM detections"))

        # Warm up (the topic exists before the consumer subscribes): once the first messages are stored, the
        # consumer has joined its group and is working.
        warm_up, stream = records[:WARM_UP], records[WARM_UP:]
        await produce(private_broker.bootstrap, warm_up, chunk=WARM_UP, pause=0)
        relay, relay_url = stack.start("relay", "relay")
        first, first_url = stack.start("consume", "consume-1")
        await ready(relay_url, relay, stack, "relay")
        await ready(first_url, first, stack, "consume-1")
        await eventually(lambda: _reached(stored(), WARM_UP), within=60, what="the warm-up stored")

        # The stream flows (about 5.000 a second); the consumer dies by SIGKILL with part of it stored.
        feeding = asyncio.create_task(produce(private_broker.bootstrap, stream, chunk=500, pause=0.1))
        try:
            await eventually(lambda: _reached(stored(), int(UNIQUE * KILL_AT)), within=60, what="part stored")
            # Not always right after a commit was seen: anywhere in the cycle of a batch (transaction open,
            # committed but its offsets not yet, between batches).
            await asyncio.sleep(rng.uniform(0, 0.3))
            os.killpg(first.pid, signal.SIGKILL)
            assert await asyncio.to_thread(first.wait, 15) == -signal.SIGKILL
            at_kill = await stored()
            assert UNIQUE * 0.2 <= at_kill < UNIQUE * 0.8, at_kill  # in the middle of the stream
            record_property("stored_at_kill", at_kill)
            record_property("stored_not_committed_at_kill", await uncommitted(private_broker.bootstrap, db))
            record_property("stream_flowing_at_kill", not feeding.done())

            second, second_url = stack.start("consume", "consume-2")
            await ready(second_url, second, stack, "consume-2")
            # The group gives the restarted process the partitions once the dead member's session (30 s)
            # has expired: on Tansu about 55 s after the restart.
            restarted = asyncio.get_running_loop().time()
            await eventually(
                lambda: _reached(stored(), at_kill + 1), within=90, what="storing again after restart"
            )
            record_property("restart_to_first_store_s", asyncio.get_running_loop().time() - restarted)
        finally:
            await feeding
        await eventually(lambda: _reached(stored(), UNIQUE), within=60, what=f"{UNIQUE} stored")
        record_property("restart_to_all_stored_s", asyncio.get_running_loop().time() - restarted)

        async def caught_up() -> bool:
            lag = await metric(second_url, "d07_consumer_lag", consumer=CONSUMER, topic=TOPIC)
            return len(lag) == 4 and not any(lag.values())  # Tansu auto-creates topics with 4 partitions

        await eventually(caught_up, within=60, what="the restarted consumer at the end of every partition")
        await eventually(
            lambda: _is_zero(db.fetchval("SELECT count(*) FROM outbox")), within=60, what="the outbox relayed"
        )

        # Nothing more arrives later either (a double would show as a second inbox row or a grown count).
        before = await _totals(db)
        await asyncio.sleep(3)
        assert await _totals(db) == before

        # None lost: exactly the produced ids are stored, each with its camera and kind.
        rows = await db.fetch(
            "SELECT d.detection_id, c.code, d.kind FROM detections d JOIN cameras c ON c.id = d.camera_id"
        )
        assert len(rows) == UNIQUE
        assert {r["detection_id"]: (r["code"], r["kind"]) for r in rows} == {
            i: (d["camera_id"], d["kind"]) for i, d in unique.items()
        }

        # None doubled: the inbox holds each id once, and the restarted process applied exactly the rest.
        inbox = await db.fetch(
            "SELECT event_id, count(*) AS n FROM inbox WHERE consumer = $1 GROUP BY event_id", CONSUMER
        )
        assert {r["event_id"] for r in inbox} == set(unique)
        assert {r["n"] for r in inbox} == {1}
        applied = await metric(second_url, "d07_events_consumed_total", consumer=CONSUMER, outcome="applied")
        assert sum(applied.values()) == UNIQUE - at_kill

        # The violations add up: every detection at or above its kind's threshold is linked, none below; each
        # violation counts exactly its linked detections and its activity rows say the same.
        linked = {
            r["detection_id"]
            for r in await db.fetch("SELECT detection_id FROM detections WHERE violation_id IS NOT NULL")
        }
        assert linked == {i for i, d in unique.items() if d["confidence"] >= THRESHOLDS[d["kind"]]}
        mismatched = await db.fetch(
            """SELECT v.id, v.detection_count, count(d.detection_id) AS linked
               FROM violations v LEFT JOIN detections d ON d.violation_id = v.id
               GROUP BY v.id HAVING v.detection_count <> count(d.detection_id)"""
        )
        assert mismatched == []
        assert await db.fetchval("SELECT sum(detection_count) FROM violations") == len(linked)
        activity = await db.fetch(
            """SELECT v.id, v.detection_count,
                      count(*) FILTER (WHERE a.action = 'opened') AS opened,
                      coalesce(sum((a.details->>'detections')::int)
                               FILTER (WHERE a.action IN ('opened', 'joined')), 0) AS detections
               FROM violations v LEFT JOIN violation_activity a ON a.violation_id = v.id
               GROUP BY v.id"""
        )
        assert activity, "the stream opened no violation"
        assert [r["id"] for r in activity if r["opened"] != 1] == []
        assert [r["id"] for r in activity if r["detections"] != r["detection_count"]] == []

        # One ViolationOpened per violation on the topic, no event published twice, and each opening event
        # counts the detections its opening activity row counts.
        events = [decode_record(r, EVENTS) for r in await read_to_end(private_broker.bootstrap, VIOLATIONS)]
        assert len({e.id for e in events}) == len(events)
        opened = [e.message.violation for e in events if isinstance(e.message, events_pb.ViolationOpened)]
        assert Counter(Counter(v.id for v in opened).values()) == Counter({1: len(activity)})
        assert {uuid.UUID(v.id) for v in opened} == {r["id"] for r in activity}
        opened_rows = await db.fetch(
            "SELECT violation_id, (details->>'detections')::int AS n FROM violation_activity "
            "WHERE action = 'opened'"
        )
        assert {uuid.UUID(v.id): v.detection_count for v in opened} == {
            r["violation_id"]: r["n"] for r in opened_rows
        }
        record_property("violations", len(activity))
    except BaseException:
        for name in ("consume-1", "consume-2", "relay"):
            sys.stderr.write(f"--- {name}\n{stack.log(name)}\n")
        raise
    finally:
        stack.stop_all()
        await db.close()


async def _reached(value: Awaitable[int], n: int) -> bool:
    return await value >= n


async def _is_zero(value: Awaitable[Any]) -> bool:
    return bool(await value == 0)


async def _totals(db: asyncpg.Connection) -> tuple[Any, ...]:
    row = await db.fetchrow(
        """SELECT (SELECT count(*) FROM detections), (SELECT count(*) FROM inbox),
                  (SELECT count(*) FROM violations), (SELECT sum(detection_count) FROM violations),
                  (SELECT count(*) FROM violation_activity)"""
    )
    assert row is not None
    return tuple(row)
