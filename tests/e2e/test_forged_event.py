"""An event from the wrong producer changes no figure, even where the broker lets anyone publish.

A plain Kafka client (not the platform's code) publishes an `AssessmentFinalised` with a valid CloudEvents
envelope onto `d07.assessment.assessments.v1`, but with `ce_source=/d07/outsider`: reporting's consumer
dead-letters it (reason `wrong_source`) and the review report over HTTP is the same before and after. The
same event from `/d07/assessment` does change the report, so the comparison could fail.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from d07.assessment.v1 import assessment_pb2
from d07.platform.events import make_headers, type_name
from tests.support.services import Platform
from tests.support.waiting import eventually_sync

TOPIC = "d07.assessment.assessments.v1"
YEAR = 2011  # a year no other test reports on


def _report(platform: Platform, district: str) -> dict[str, Any]:
    r = httpx.get(
        f"{platform['reporting'].url}/v1/reports/review",
        params={"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31", "district": district},
        headers=platform.headers("police"),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _finalised(district: str) -> assessment_pb2.AssessmentFinalised:
    a = assessment_pb2.Assessment(
        id=str(uuid.uuid4()), round_id=str(uuid.uuid4()), unit_id=str(uuid.uuid4()), year=YEAR,
        unit_kind="school", district_code=district, result=assessment_pb2.ASSESSMENT_RESULT_PASSED,
        revision=1, score=100.0,
    )  # fmt: skip
    return assessment_pb2.AssessmentFinalised(assessment=a)


async def _publish(bootstrap: str, message: assessment_pb2.AssessmentFinalised, source: str) -> uuid.UUID:
    event_id = uuid.uuid4()
    headers = make_headers(
        event_id=event_id, event_type=type_name(message), source=source, subject=message.assessment.id,
        time=datetime.now(UTC),
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(
            TOPIC, message.SerializeToString(), key=message.assessment.unit_id.encode(), headers=headers
        )
    finally:
        await producer.stop()
    return event_id


async def _dead_letters(bootstrap: str, event_id: uuid.UUID) -> list[dict[str, bytes]]:
    """The dead letters of one event on the topic's .dlq (all consumers), read from the first offset."""
    consumer = AIOKafkaConsumer(f"{TOPIC}.dlq", bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, bytes]] = []
    try:
        idle = 0
        while idle < 3:
            batches = await consumer.getmany(timeout_ms=500)
            idle = 0 if batches else idle + 1
            for batch in batches.values():
                for r in batch:
                    headers = dict(r.headers)
                    if headers.get("ce_id") == str(event_id).encode():
                        found.append(headers)
    finally:
        await consumer.stop()
    return found


def test_a_forged_assessment_is_dead_lettered_and_changes_no_figure(platform: Platform) -> None:
    district = f"{random.randrange(900, 1000)}"
    before = _report(platform, district)
    assert before["assessments"]["total"]["value"] == 0

    forged = _finalised(district)
    forged_id = asyncio.run(_publish(platform.bootstrap, forged, "/d07/outsider"))

    def reporting_refused() -> dict[str, bytes] | None:
        letters = asyncio.run(_dead_letters(platform.bootstrap, forged_id))
        return next((h for h in letters if h["d07_dlq_consumer"] == b"projections"), None)

    letter = eventually_sync(reporting_refused, within=90, what="reporting's dead letter of the forged event")
    assert isinstance(letter, dict)
    assert letter["d07_dlq_reason"] == b"wrong_source"
    assert b"/d07/outsider" in letter["d07_dlq_detail"]
    assert _report(platform, district) == before

    # The same event from its owner is counted: the report can change, and does.
    genuine = _finalised(district)
    asyncio.run(_publish(platform.bootstrap, genuine, "/d07/assessment"))

    def counted() -> bool:
        return bool(_report(platform, district)["assessments"]["total"]["value"] == 1)

    eventually_sync(counted, within=90, what="the genuine assessment counted")
    after = _report(platform, district)
    assert after["assessments"]["passed"]["value"] == 1
