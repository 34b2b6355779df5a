"""The detections feed as 3.200 cameras send it, beside the raw building blocks, measured in the same run.

A load generator of our own stands for 3.200 cameras: each camera has a kind it mostly sees and a confidence
spread around the thresholds; every message is the feed contract's JSON keyed by the camera's code, and 5 % of
them are exact repeats (a gateway re-sending). It is bounded: D07_BENCH_DETECTIONS messages (200.000) for the
throughput, D07_BENCH_PACED_SECONDS (15 s) at 3.200 detections/s for the latency.

1. Raw ceiling: aiokafka consumer group `getmany()` -> json.loads + UUID + time parse + code lookup -> one
   asyncpg `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` of the same rows into the same
   `detections` table -> offset commit, one loop.
2. The cameras path: the same messages through the cameras' own ConsumerSpec (its decoder and batch handler,
   in a ConsumerRunner as `python -m cameras consume` runs it: inbox, validation, store once, open or join
   violations, activity, outbox, cameras seen), with the outbox relay publishing the violation events beside
   it in the same process. Rates leave out the first batch (the consumer-group join).
3. Latency at 3.200 detections/s, paced: from a detection's produce to the ViolationOpened it causes
   (the first detection at or above the threshold of a camera and kind opens one), read from the violations
   topic: to the event's record time (published by the relay) and to its arrival at a consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import Result, Stack, print_table, stack, unique
from bench.events import Marks, raw_send_batches
from cameras.bootstrap import MIGRATIONS, CamerasDeps
from cameras.config import CamerasSettings
from cameras.detections import events as detections_events
from cameras.detections.service import new_directory
from cameras.violations.messages import VIOLATIONS_TOPIC
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.platform.db import all_migrations, create_pool, migrate, quote_ident
from d07.platform.events import BatchOutcome, ConsumerRunner, OutboxRelay
from d07.platform.events.envelope import decode_record, message_registry

CAMERAS = 3200
DETECTIONS = int(os.environ.get("D07_BENCH_DETECTIONS", "200000"))
PACED_RATE = 3200
PACED_SECONDS = float(os.environ.get("D07_BENCH_PACED_SECONDS", "15"))
REPEATS = 0.05
BATCH = detections_events.BATCH_MAX
KINDS = ("intrusion", "loitering", "fire_smoke", "crowd", "vandalism", "traffic", "other")
THRESHOLDS = dict(zip(KINDS, (0.80, 0.85, 0.70, 0.80, 0.80, 0.90, 0.95), strict=True))
RAW = "raw: getmany + json decode + asyncpg unnest insert + commit"
CAMERAS_PATH = "cameras ConsumerSpec: validate, store once, open/join, outbox (+ relay)"
RAW_INSERT = """
INSERT INTO detections
    (detection_id, camera_id, occurred_at, kind, confidence, snapshot_url, attributes, door)
SELECT d.id, d.camera_id, d.occurred_at, d.kind, d.confidence, d.snapshot_url, d.attributes::jsonb, 'kafka'
FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::real[], $6::text[], $7::text[])
     AS d(id, camera_id, occurred_at, kind, confidence, snapshot_url, attributes)
ON CONFLICT (detection_id) DO NOTHING
"""
EVENTS = message_registry([events_pb.ViolationOpened, events_pb.ViolationUpdated])


class Network:
    """The simulated cameras: codes, each camera's usual kind, and a message factory."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.codes = [f"CAM-{i:05d}" for i in range(1, CAMERAS + 1)]
        self.usual = {code: self.rng.choice(KINDS) for code in self.codes}

    def detection(self, code: str, *, at: datetime) -> tuple[str, float, dict[str, Any]]:
        kind = self.usual[code] if self.rng.random() < 0.7 else self.rng.choice(KINDS)
        confidence = round(self.rng.uniform(0.5, 1.0), 3)
        item = {
            "detection_id": str(uuid.uuid4()),
            "camera_id": code,
            "occurred_at": (at - timedelta(seconds=self.rng.uniform(0, 5))).isoformat(),
            "kind": kind,
            "confidence": confidence,
            "snapshot_url": f"https://vms.example/{code}/snap.jpg",
            "attributes": {"zone": "cổng chính"},
        }
        return kind, confidence, item

    def backlog(self, n: int) -> tuple[list[tuple[bytes, bytes, list[tuple[str, bytes]]]], int]:
        """`n` messages, REPEATS of them exact repeats; the records and the number of distinct detections."""
        now = datetime.now(UTC)
        fresh = int(n * (1 - REPEATS))
        records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
        for _ in range(fresh):
            code = self.rng.choice(self.codes)
            records.append((code.encode(), json.dumps(self.detection(code, at=now)[2]).encode(), []))
        records += [records[self.rng.randrange(fresh)] for _ in range(n - fresh)]
        self.rng.shuffle(records)
        return records, fresh


async def cameras_schema(s: Stack, prefix: str, network: Network) -> str:
    """A schema with the cameras' migrations and the 3.200 installed cameras."""
    name = unique(prefix)
    conn = await asyncpg.connect(s.database_url)
    try:
        await migrate(conn, schema=name, migrations=all_migrations("cameras", MIGRATIONS))
        await conn.execute(f"SET search_path TO {quote_ident(name)}")
        await conn.execute(
            """INSERT INTO cameras (id, code, name, latitude, longitude, status)
               SELECT gen_random_uuid(), c, 'Camera ' || c, 13.77, 109.22, 'installed'
               FROM unnest($1::text[]) c""",
            network.codes,
        )
    finally:
        await conn.close()
    s.schemas.append(name)
    return name


async def raw_ceiling(s: Stack, topic: str, network: Network, n: int) -> Result:
    schema = await cameras_schema(s, "bench_cam_raw", network)
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=2)
    ids = {r["code"]: r["id"] for r in await pool.fetch("SELECT code, id FROM cameras")}
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=s.bootstrap, group_id=unique("bench-raw"), enable_auto_commit=False,
        auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=2000,
        max_poll_records=BATCH,
    )  # fmt: skip
    marks = Marks()
    await consumer.start()
    try:
        deadline = time.monotonic() + 300
        while marks.total < n and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            if not batches:
                continue
            rows = []
            for records in batches.values():
                for r in records:
                    d = json.loads(r.value)
                    rows.append((
                        uuid.UUID(d["detection_id"]), ids[d["camera_id"]],
                        datetime.fromisoformat(d["occurred_at"]),
                        d["kind"], float(d["confidence"]), d.get("snapshot_url") or "",
                        json.dumps(d["attributes"]) if d.get("attributes") else "{}",
                    ))  # fmt: skip
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(RAW_INSERT, *(list(col) for col in zip(*rows, strict=True)))
            await consumer.commit({tp: b[-1].offset + 1 for tp, b in batches.items()})
            marks.add(len(rows))
    finally:
        await consumer.stop()
        await pool.close()
    return marks.result(RAW)


def deps_for(s: Stack, schema: str, pool: asyncpg.Pool) -> CamerasDeps:
    """The cameras' dependencies as bootstrap builds them, with what the consumer reads (no registry client
    and no activity signal: the detections path uses neither)."""
    settings = CamerasSettings(service=schema, database_url=s.database_url, kafka_bootstrap=s.bootstrap)
    return CamerasDeps(
        settings=settings, pool=pool, verifier=cast(Any, None), source="/d07/cameras",
        registry=cast(Any, None), directory=new_directory(settings), signal=cast(Any, None),
    )  # fmt: skip


class CamerasPath:
    """The cameras' consumer and outbox relay in this process, on their own pool, as the service runs them."""

    def __init__(self, s: Stack, schema: str, topic: str, marks: Marks) -> None:
        self.s, self.schema, self.topic, self.marks = s, schema, topic, marks
        self.stop = asyncio.Event()
        self.committed = asyncio.Event()
        self.done = asyncio.Event()
        self.want = 0

    async def __aenter__(self) -> CamerasPath:
        self.pool = await create_pool(self.s.database_url, schema=self.schema, min_size=2, max_size=6)
        spec = detections_events.consumer(deps_for(self.s, self.schema, self.pool))

        async def on_committed(outcome: BatchOutcome) -> None:
            self.marks.add(len(outcome.applied) + len(outcome.duplicates) + len(outcome.dead_letters))
            self.committed.set()
            if self.want and self.marks.total >= self.want:
                self.done.set()

        self.runner = ConsumerRunner(
            pool=self.pool, bootstrap=self.s.bootstrap, group_id=unique("bench-cameras"),
            consumer_name=spec.name, topics=[self.topic], batch_handler=spec.batch_handler,
            decoder=spec.decoder, batch_max=spec.batch_max,
            session_timeout_ms=6000, on_committed=on_committed,
        )  # fmt: skip
        relay = OutboxRelay(self.pool, schema=self.schema, bootstrap=self.s.bootstrap, poll_interval=0.2)
        self.tasks = [asyncio.create_task(self.runner.run()), asyncio.create_task(relay.run(self.stop))]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.runner.stop()
        self.stop.set()
        await asyncio.gather(*self.tasks)
        await self.pool.close()


async def cameras_throughput(s: Stack, topic: str, network: Network, n: int, distinct: int) -> Result:
    schema = await cameras_schema(s, "bench_cam", network)
    marks = Marks()
    async with CamerasPath(s, schema, topic, marks) as path:
        path.want = n
        await asyncio.wait_for(path.done.wait(), 600)
        stored = await path.pool.fetchval("SELECT count(*) FROM detections")
        opened = await path.pool.fetchval("SELECT count(*) FROM violations")
    if marks.total < n or stored != distinct:
        raise RuntimeError(f"cameras path handled {marks.total} of {n}, stored {stored} of {distinct}")
    print(f"  cameras path: {stored} detections stored once of {n} messages, {opened} violations opened")
    return marks.result(CAMERAS_PATH, baseline=RAW)


async def paced_latency(s: Stack, topic: str, network: Network) -> tuple[list[float], list[float], int]:
    """Produce at PACED_RATE for PACED_SECONDS; latencies (s) to the relay's publish and to a consumer."""
    schema = await cameras_schema(s, "bench_cam_lat", network)
    producer = AIOKafkaProducer(
        bootstrap_servers=s.bootstrap, acks="all", enable_idempotence=False, linger_ms=0
    )
    watcher = AIOKafkaConsumer(bootstrap_servers=s.bootstrap, enable_auto_commit=False)
    await producer.start()
    await watcher.start()
    probes: dict[tuple[str, str], float] = {}
    published: list[float] = []
    received: list[float] = []
    marks = Marks()
    try:
        await producer.send_and_wait(VIOLATIONS_TOPIC, b"", key=b"warm-up")  # the topic exists
        await watcher._client.force_metadata_update()
        tps = [
            TopicPartition(VIOLATIONS_TOPIC, p)
            for p in sorted(watcher.partitions_for_topic(VIOLATIONS_TOPIC))
        ]
        watcher.assign(tps)
        await watcher.seek_to_end(*tps)
        async with CamerasPath(s, schema, topic, marks) as path:
            warm = network.detection(network.codes[0], at=datetime.now(UTC))[2]
            warm["confidence"] = 0.1
            await producer.send_and_wait(topic, json.dumps(warm).encode(), key=warm["camera_id"].encode())
            await asyncio.wait_for(path.committed.wait(), 60)  # the group is joined

            paced, all_seen = asyncio.Event(), asyncio.Event()

            async def watch() -> None:
                while True:
                    batches = await watcher.getmany(timeout_ms=200)
                    now = time.time()
                    for records in batches.values():
                        for r in records:
                            if r.key == b"warm-up":
                                continue
                            event = decode_record(r, EVENTS)
                            if not isinstance(event.message, events_pb.ViolationOpened):
                                continue
                            v = event.message.violation
                            sent = probes.get((v.camera_code, v.kind))
                            if sent is not None:
                                published.append(r.timestamp / 1000 - sent)
                                received.append(now - sent)
                    if paced.is_set() and len(received) >= len(probes):
                        all_seen.set()

            watching = asyncio.create_task(watch())
            sent = await pace(producer, topic, network, probes)
            paced.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_seen.wait(), 30)
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        print(f"  paced: {sent} detections at {PACED_RATE}/s, {len(probes)} opened a violation, "
              f"{len(received)} ViolationOpened seen")  # fmt: skip
    finally:
        await watcher.stop()
        await producer.stop()
    return published, received, len(probes)


async def pace(
    producer: AIOKafkaProducer, topic: str, network: Network, probes: dict[tuple[str, str], float]
) -> int:
    """Send PACED_RATE detections a second in 10 ms ticks; the first at or above its threshold for a camera
    and kind is a probe, with the time it was sent."""
    tick, per_tick = 0.01, PACED_RATE // 100
    start = time.monotonic()
    sent = 0
    futures = []
    above: set[tuple[str, str]] = set()
    for step in range(int(PACED_SECONDS / tick)):
        await asyncio.sleep(max(0.0, start + step * tick - time.monotonic()))
        now = datetime.now(UTC)
        for _ in range(per_tick):
            code = network.rng.choice(network.codes)
            kind, confidence, item = network.detection(code, at=now)
            if confidence >= THRESHOLDS[kind] and (code, kind) not in above:
                above.add((code, kind))
                probes[(code, kind)] = time.time()
            futures.append(await producer.send(topic, json.dumps(item).encode(), key=code.encode()))
            sent += 1
    await asyncio.gather(*futures)
    return sent


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def main() -> None:
    network = Network()
    async with stack() as s:
        records, distinct = network.backlog(DETECTIONS)
        raw_topic, topic = unique("d07.bench.detections.raw.v1"), unique("d07.bench.detections.v1")
        await raw_send_batches(s.bootstrap, raw_topic, records)
        await raw_send_batches(s.bootstrap, topic, records)
        raw = await raw_ceiling(s, raw_topic, network, DETECTIONS)
        path = await cameras_throughput(s, topic, network, DETECTIONS, distinct)
        print_table(
            f"Detections feed, {DETECTIONS} messages from {CAMERAS} cameras ({REPEATS:.0%} exact repeats), "
            f"{BATCH} a batch; rates leave out the first batch",
            [raw, path],
        )
        published, received, probes = await paced_latency(s, unique("d07.bench.detections.paced.v1"), network)
        print(f"\nLatency at {PACED_RATE} detections/s for {PACED_SECONDS:g} s, produce -> ViolationOpened "
              f"({len(published)} of {probes} violations):")  # fmt: skip
        for name, values in (
            ("published (event record time)", published),
            ("received by a consumer", received),
        ):
            print(
                f"  {name:<32} p50 {pct(values, 50) * 1000:7.1f} ms   p99 {pct(values, 99) * 1000:7.1f} ms"
                f"   max {max(values, default=float('nan')) * 1000:7.1f} ms"
                f"   mean {statistics.fmean(values) * 1000 if values else float('nan'):7.1f} ms"
            )
        print(flush=True)
