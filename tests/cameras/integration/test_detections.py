"""Detections through the three doors of the running cameras service: the Kafka feed (an ordinary aiokafka
producer writing JSON, not the platform's code), gRPC IngestDetections and HTTP POST /v1/detections:batch.
What is stored and opened is read from the service's tables; what is published, from the topics."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from google.protobuf.timestamp_pb2 import Timestamp

from d07.cameras.v1 import detections_pb2 as pb
from d07.cameras.v1 import detections_pb2_grpc as pb_grpc
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.platform.events.envelope import decode_record, message_registry
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.cameras.detections.v1"
DLQ = f"{TOPIC}.dlq"
VIOLATIONS = "d07.cameras.violations.v1"
EVENTS = message_registry([events_pb.ViolationOpened, events_pb.ViolationUpdated, events_pb.ViolationOverdue])
THRESHOLDS = {
    "intrusion": 0.80, "loitering": 0.85, "fire_smoke": 0.70, "crowd": 0.80,
    "vandalism": 0.80, "traffic": 0.90, "other": 0.95,
}  # fmt: skip


def meta(platform: Platform, role: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role)}")]


def detection(code: str, kind: str = "intrusion", confidence: float = 0.9, **changes: Any) -> dict[str, Any]:
    seconds_ago = random.uniform(1, 60)
    item = {
        "detection_id": str(uuid.uuid4()),
        "camera_id": code,
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat(),
        "kind": kind,
        "confidence": confidence,
        "snapshot_url": "https://vms.example/snap.jpg",
        "attributes": {"zone": "cổng chính"},
    }
    item.update(changes)
    return item


@pytest.fixture
async def db(platform: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(platform.database_url, server_settings={"search_path": "cameras"})
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=30) as client:
        yield client


@pytest.fixture
async def producer(platform: Platform) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=platform.bootstrap, acks="all", enable_idempotence=False)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def new_camera(http: httpx.AsyncClient, platform: Platform, *, decommissioned: bool = False) -> str:
    """An installed camera (or a decommissioned one) with a random free code; its code."""
    for _ in range(20):
        code = f"CAM-{random.randint(0, 99_999):05d}"
        r = await http.post(
            "/v1/cameras",
            json={"code": code, "name": f"Camera {code}", "latitude": 13.77, "longitude": 109.22,
                  "status": "installed", "district_code": "001", "commune_code": "00001"},
            headers=platform.headers("dic_operator"),
        )  # fmt: skip
        if r.status_code == 409:
            continue
        assert r.status_code == 201, r.text
        if decommissioned:
            body = r.json()
            r = await http.post(
                f"/v1/cameras/{body['id']}/status",
                json={"version": body["version"], "status": "decommissioned"},
                headers=platform.headers("dic_operator"),
            )
            assert r.status_code == 200, r.text
        return code
    raise AssertionError("no free camera code")


def unknown_code() -> str:
    """A code no camera can have (six digits: CreateCamera takes five)."""
    return f"CAM-{random.randint(100_000, 999_999)}"


async def read_topic(bootstrap: str, topic: str, keep: Callable[[Any], bool], *, want: int) -> list[Any]:
    """Records of a topic from the beginning that `keep` accepts, until `want` of them (bounded)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        partitions = await eventually(lambda: _partitions(consumer, topic), within=30)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = asyncio.get_running_loop().time() + 90
        while len(found) < want and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found += [r for r in records if keep(r)]
    finally:
        await consumer.stop()
    return found


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int] | None:
    await consumer._client.force_metadata_update()  # the topic may have been created a moment ago
    return consumer.partitions_for_topic(topic)


# -- the Kafka door -----------------------------------------------------------------------------------------


async def test_a_detection_produced_by_an_ordinary_kafka_client_opens_a_violation_and_more_join_it(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection, producer: AIOKafkaProducer
) -> None:
    code = await new_camera(http, platform)
    first = detection(code, "fire_smoke", 0.93)
    await producer.send_and_wait(TOPIC, json.dumps(first).encode(), key=code.encode())

    async def violation() -> asyncpg.Record | None:
        return await db.fetchrow(
            """SELECT v.*, d.violation_id AS linked FROM violations v
               JOIN cameras c ON c.id = v.camera_id
               JOIN detections d ON d.detection_id = $2
               WHERE c.code = $1 AND v.kind = 'fire_smoke'""",
            code,
            uuid.UUID(first["detection_id"]),
        )

    opened = await eventually(violation, within=60)
    assert (opened["status"], opened["priority"], opened["detection_count"]) == ("new", "critical", 1)
    assert opened["linked"] == opened["id"]
    assert opened["react_by"] - opened["opened_at"] == timedelta(minutes=10)  # fire_smoke: 10 minutes

    events = await read_topic(
        platform.bootstrap, VIOLATIONS, lambda r: r.key == str(opened["id"]).encode(), want=1
    )
    event = decode_record(events[0], EVENTS)
    assert isinstance(event.message, events_pb.ViolationOpened)
    v = event.message.violation
    assert (v.camera_code, v.kind, v.detection_count) == (code, "fire_smoke", 1)
    assert v.priority == events_pb.VIOLATION_PRIORITY_CRITICAL
    assert v.status == events_pb.VIOLATION_STATUS_NEW

    # Within the window: the same violation grows; below the threshold: stored, but no part of a violation.
    later = detection(code, "fire_smoke", 0.99)
    weak = detection(code, "fire_smoke", 0.5)
    for item in (later, weak):
        await producer.send_and_wait(TOPIC, json.dumps(item).encode(), key=code.encode())

    async def grown() -> asyncpg.Record | None:
        row = await db.fetchrow(
            "SELECT detection_count, max_confidence FROM violations WHERE id = $1", opened["id"]
        )
        stored = await db.fetchval(
            "SELECT count(*) FROM detections WHERE detection_id = $1", uuid.UUID(weak["detection_id"])
        )
        return row if row["detection_count"] == 2 and stored == 1 else None

    row = await eventually(grown, within=60)
    assert row["max_confidence"] == pytest.approx(0.99)
    assert await db.fetchval(
        "SELECT count(*) FROM violations v JOIN cameras c ON c.id = v.camera_id WHERE c.code = $1", code
    ) == 1  # fmt: skip
    assert await db.fetchval(
        "SELECT violation_id FROM detections WHERE detection_id = $1", uuid.UUID(weak["detection_id"])
    ) is None  # fmt: skip
    actions = await db.fetch(
        "SELECT action, actor FROM violation_activity WHERE violation_id = $1 ORDER BY seq", opened["id"]
    )
    assert [tuple(a) for a in actions][:1] == [("opened", "system")]
    assert ("joined", "system") in [tuple(a) for a in actions]


def _invalid(code: str, decommissioned: str, unknown: list[str]) -> list[tuple[bytes, str]]:
    """Invalid messages, each with the reason it must be dead-lettered for."""
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    makers: list[tuple[Callable[[], bytes], str]] = [
        (lambda: b'{"detection_id": "oops", ', "malformed_json"),
        (lambda: b"\xff\xfe not text", "malformed_json"),
        (lambda: json.dumps(dict(detection(code), kind=None)).encode(), "missing_field"),
        (lambda: json.dumps(detection(code, detection_id="not-a-uuid")).encode(), "bad_id"),
        (lambda: json.dumps(detection(code, occurred_at="29/08/2019 08:00")).encode(), "bad_time"),
        (lambda: json.dumps(detection(code, occurred_at=future)).encode(), "future_time"),
        (lambda: json.dumps(detection(code, kind="burglary")).encode(), "unknown_kind"),
        (lambda: json.dumps(detection(code, confidence=1.5)).encode(), "bad_confidence"),
        (lambda: json.dumps(detection(random.choice(unknown))).encode(), "unknown_camera"),
        (lambda: json.dumps(detection(decommissioned)).encode(), "decommissioned_camera"),
    ]  # fmt: skip
    return [(make(), reason) for make, reason in makers]


def dlq_reason(record: Any) -> str:
    """A dead letter's own reason: the header, or for a refusal by the batch handler the detail's prefix."""
    headers = {k: v.decode() for k, v in record.headers}
    reason = headers["d07_dlq_reason"]
    return headers["d07_dlq_detail"].split(":", 1)[0] if reason == "invalid_event" else reason


async def test_ten_thousand_detections_with_repeats_and_invalid_ones(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection, producer: AIOKafkaProducer
) -> None:
    codes = [await new_camera(http, platform) for _ in range(8)]
    decommissioned = await new_camera(http, platform, decommissioned=True)
    unknown = [unknown_code() for _ in range(3)]
    run = uuid.uuid4().hex.encode()
    total, repeats, invalid = 10_000, 500, 200
    unique = [
        detection(random.choice(codes), random.choice(sorted(THRESHOLDS)), round(random.uniform(0.5, 1.0), 3))
        for _ in range(total - repeats - invalid)
    ]
    messages: list[tuple[bytes, bytes, str | None]] = [
        (d["camera_id"].encode(), json.dumps(d).encode(), None) for d in unique
    ]
    for index in random.sample(range(len(messages)), repeats):
        messages.append(messages[index])  # an exact repeat: same key, same bytes
    for i in range(invalid):
        value, reason = _invalid(codes[i % len(codes)], decommissioned, unknown)[i % 10]
        messages.append((b"bad", value, reason))
    random.shuffle(messages)
    headers = [("test-run", run)]
    sent = [await producer.send(TOPIC, value, key=key, headers=headers) for key, value, _ in messages]
    await asyncio.gather(*sent)

    ids = [uuid.UUID(d["detection_id"]) for d in unique]

    async def all_stored() -> bool:
        n = await db.fetchval("SELECT count(*) FROM detections WHERE detection_id = ANY($1::uuid[])", ids)
        return bool(n == len(unique))

    await eventually(all_stored, within=120)
    dead = await read_topic(
        platform.bootstrap, DLQ, lambda r: ("test-run", run) in list(r.headers), want=invalid
    )
    expected = sorted(reason for _, _, reason in messages if reason)
    assert sorted(dlq_reason(r) for r in dead) == expected  # each invalid one once, with its own reason
    assert len(dead) == invalid
    assert await db.fetchval(
        "SELECT count(*) FROM detections WHERE detection_id = ANY($1::uuid[]) AND door = 'kafka'", ids
    ) == len(unique)  # fmt: skip

    # Every detection at or above its kind's threshold belongs to a violation of its camera and kind, and the
    # violations count exactly the detections that belong to them.
    rows = await db.fetch(
        """SELECT d.detection_id, d.violation_id, v.kind, v.camera_id = d.camera_id AS same_camera
           FROM detections d LEFT JOIN violations v ON v.id = d.violation_id
           WHERE d.detection_id = ANY($1::uuid[])""",
        ids,
    )
    sent_items = {uuid.UUID(d["detection_id"]): d for d in unique}
    for r in rows:
        item = sent_items[r["detection_id"]]
        assert (r["violation_id"] is not None) == (item["confidence"] >= THRESHOLDS[item["kind"]])
        if r["violation_id"] is not None:
            assert r["kind"] == item["kind"]
            assert r["same_camera"]
    counts = await db.fetch(
        """SELECT v.id, v.detection_count, count(d.detection_id) AS linked FROM violations v
           JOIN cameras c ON c.id = v.camera_id LEFT JOIN detections d ON d.violation_id = v.id
           WHERE c.code = ANY($1::text[]) GROUP BY v.id""",
        codes,
    )
    assert counts
    assert all(c["detection_count"] == c["linked"] for c in counts)
    # Within the 10 minute window, one open violation per camera and kind.
    pairs = await db.fetchval(
        """SELECT count(*) - count(DISTINCT (camera_id, kind))
           FROM violations v JOIN cameras c ON c.id = v.camera_id WHERE c.code = ANY($1::text[])""",
        codes,
    )
    assert pairs == 0


# -- one detection, three doors -----------------------------------------------------------------------------


def as_pb(item: dict[str, Any]) -> pb.Detection:
    at = Timestamp()
    at.FromDatetime(datetime.fromisoformat(item["occurred_at"]))
    d = pb.Detection(
        detection_id=item["detection_id"], camera_id=item["camera_id"], occurred_at=at, kind=item["kind"],
        confidence=item["confidence"], snapshot_url=item.get("snapshot_url", ""),
    )  # fmt: skip
    d.attributes.update(item.get("attributes") or {})
    return d


async def ingest_grpc(platform: Platform, *batches: list[pb.Detection], role: str = "camera_gateway") -> Any:
    async def requests() -> AsyncIterator[pb.IngestDetectionsRequest]:
        for batch in batches:
            yield pb.IngestDetectionsRequest(detections=batch)

    async with grpc.aio.insecure_channel(platform["cameras"].target) as channel:
        stub = pb_grpc.DetectionsServiceStub(channel)
        return await stub.IngestDetections(requests(), metadata=meta(platform, role), timeout=30)


async def test_the_same_detection_through_grpc_http_and_the_topic_is_stored_once(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection, producer: AIOKafkaProducer
) -> None:
    code = await new_camera(http, platform)
    item = detection(code, "crowd", 0.9)
    reply = await ingest_grpc(platform, [as_pb(item)])
    assert (reply.accepted, reply.stored, reply.duplicates, list(reply.rejected)) == (1, 1, 0, [])

    r = await http.post("/v1/detections:batch", json=[item], headers=platform.headers("camera_gateway"))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "stored": 0, "duplicates": 1, "rejected": []}

    # The topic: the repeat, then a marker on the same key (same partition, read after it).
    marker = detection(code, "crowd", 0.1)
    for message in (item, marker):
        await producer.send_and_wait(TOPIC, json.dumps(message).encode(), key=code.encode())
    marker_id = uuid.UUID(marker["detection_id"])
    await eventually(
        lambda: db.fetchval("SELECT 1 FROM detections WHERE detection_id = $1", marker_id), within=60
    )
    rows = await db.fetch(
        "SELECT door FROM detections WHERE detection_id = $1", uuid.UUID(item["detection_id"])
    )
    assert [r["door"] for r in rows] == ["grpc"]
    assert await db.fetchval(
        "SELECT detection_count FROM violations v JOIN cameras c ON c.id = v.camera_id "
        "WHERE c.code = $1 AND v.kind = 'crowd'",
        code,
    ) == 1  # fmt: skip


# -- answers name the refused items -------------------------------------------------------------------------


async def test_grpc_names_rejected_items_by_index_across_the_stream_and_keeps_the_valid_ones(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    code = await new_camera(http, platform)
    gone = await new_camera(http, platform, decommissioned=True)
    good1, good2 = detection(code, "vandalism", 0.95), detection(code, "loitering", 0.3)
    future = detection(code, occurred_at=(datetime.now(UTC) + timedelta(minutes=30)).isoformat())
    bad_id = as_pb(detection(code))
    bad_id.detection_id = "x"
    first = [as_pb(good1), bad_id]
    second = [as_pb(detection(unknown_code())), as_pb(good2), as_pb(detection(gone)), as_pb(future)]
    reply = await ingest_grpc(platform, first, second)
    assert (reply.accepted, reply.stored, reply.duplicates) == (2, 2, 0)
    assert [(r.index, r.reason) for r in reply.rejected] == [
        (1, "bad_id"), (2, "unknown_camera"), (4, "decommissioned_camera"), (5, "future_time"),
    ]  # fmt: skip
    assert reply.rejected[1].detail
    stored = await db.fetch(
        "SELECT detection_id, door FROM detections WHERE detection_id = ANY($1::uuid[])",
        [uuid.UUID(good1["detection_id"]), uuid.UUID(good2["detection_id"])],
    )
    assert {r["door"] for r in stored} == {"grpc"}
    assert len(stored) == 2

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ingest_grpc(platform, [as_pb(detection(code))], role="police")
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_http_names_rejected_items_by_index_and_keeps_the_valid_ones(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    code = await new_camera(http, platform)
    good = detection(code, "traffic", 0.97)
    body: list[Any] = [
        "not an object",
        good,
        {k: v for k, v in detection(code).items() if k != "confidence"},
        detection(code, confidence=-1),
        detection(unknown_code()),
        detection(code, kind="burglary"),
    ]
    r = await http.post("/v1/detections:batch", json=body, headers=platform.headers("camera_gateway"))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["accepted"], answer["stored"], answer["duplicates"]) == (1, 1, 0)
    assert [(x["index"], x["reason"]) for x in answer["rejected"]] == [
        (0, "malformed_json"), (2, "missing_field"), (3, "bad_confidence"), (4, "unknown_camera"),
        (5, "unknown_kind"),
    ]  # fmt: skip
    violation = await db.fetchrow(
        """SELECT v.kind, v.priority, v.detection_count
           FROM detections d JOIN violations v ON v.id = d.violation_id WHERE d.detection_id = $1""",
        uuid.UUID(good["detection_id"]),
    )
    assert tuple(violation) == ("traffic", "low", 1)

    r = await http.post("/v1/detections:batch", json=[good], headers=platform.headers("police"))
    assert r.status_code == 403
    r = await http.post(
        "/v1/detections:batch", json={"not": "a list"}, headers=platform.headers("camera_gateway")
    )
    assert r.status_code in (400, 422)


async def test_the_camera_is_seen_through_its_detections(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection, producer: AIOKafkaProducer
) -> None:
    code = await new_camera(http, platform)
    item = detection(code, "other", 0.2, occurred_at=datetime.now(UTC).isoformat())
    await producer.send_and_wait(TOPIC, json.dumps(item).encode(), key=code.encode())
    seen = await eventually(
        lambda: db.fetchval("SELECT last_seen_at FROM cameras WHERE code = $1", code), within=60
    )
    assert seen == datetime.fromisoformat(item["occurred_at"])


async def test_items_postgresql_cannot_store_are_refused_by_index_over_http_and_the_good_ones_stored(
    platform: Platform, http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Issue 13: a NUL in attributes, a lone surrogate in camera_id or detection_id and a year-1 time each
    failed the whole batch with 500; each is now refused by its index and the good items are stored."""
    code = await new_camera(http, platform)
    good = [detection(code, "traffic", 0.97), detection(code, "traffic", 0.95)]
    body: list[Any] = [
        good[0],
        {**detection(code), "attributes": {"zone": "cổng\x00chính"}},
        {**detection(code), "camera_id": "CAM-\ud800"},
        {**detection(code), "detection_id": "\ud800"},
        {**detection(code), "occurred_at": "0001-01-01T00:00:00+14:00"},
        good[1],
    ]
    r = await http.post(
        "/v1/detections:batch",
        content=json.dumps(body).encode(),  # ASCII with \ud800 escaped, as a gateway may send it
        headers={**platform.headers("camera_gateway"), "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [(x["index"], x["reason"]) for x in answer["rejected"]] == [
        (1, "bad_field"), (2, "bad_field"), (3, "bad_field"), (4, "bad_time"),
    ]  # fmt: skip
    assert (answer["accepted"], answer["stored"]) == (2, 2)
    stored = await db.fetchval(
        "SELECT count(*) FROM detections WHERE detection_id = ANY($1::uuid[])",
        [uuid.UUID(g["detection_id"]) for g in good],
    )
    assert stored == 2
