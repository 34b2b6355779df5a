"""The projections' batch handler gives, row for row, the read models of the same events applied one at a
time, on the real PostgreSQL: for random mixes of every event type (the same entity in many versions shuffled
inside a batch, equal versions and equal event times, the columns an update never touches changed, camera
intervals in any order), in batches of 1, 7 and all, applied once and again (a replay past the inbox); with
events the database refuses hidden behind a newer version of the same entity; and through the real consumer
runner on the real broker, with redeliveries, dead letters and a rebuild.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.platform.devstack.broker import Broker
from d07.platform.events import BatchOutcome, ConsumerRunner, make_headers
from d07.platform.events.envelope import ConsumedEvent
from d07.platform.events.replay import rebuild
from d07.platform.runtime import Deps
from d07.platform.settings import ServiceSettings
from d07.registry.v1 import registry_pb2, training_pb2
from reporting.bootstrap import SPEC
from reporting.projections import events as proj
from reporting.projections.repository import READ_MODELS
from reporting.projections.service import project
from tests.conftest import unique
from tests.platform.events_support import running
from tests.platform.test_events_consumer import read_topic
from tests.reporting.integration.projection_support import (
    Mix,
    apply_in_batches,
    apply_one_at_a_time,
    batched,
    consumed,
    empty,
    pb_day,
    read_models,
    reference,
    ts,
)

__all__ = ["batched", "reference"]  # fixtures

SEEDS = range(8)
T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize("seed", SEEDS)
async def test_batches_of_any_size_give_the_rows_of_one_event_at_a_time(
    seed: int, reference: asyncpg.Pool, batched: asyncpg.Pool
) -> None:
    events = Mix(seed).events
    assert await apply_one_at_a_time(reference, events) == []
    expected = await read_models(reference)
    assert all(expected[t] for t in READ_MODELS), "the mix fills every read model"
    assert await apply_one_at_a_time(reference, events) == []  # every event again: the guards hold
    expected_again = await read_models(reference)
    for size in (1, 7, len(events)):
        await empty(batched)
        applied = await apply_in_batches(batched, events, size)
        assert (applied.refused, applied.redone) == ([], 0)  # the set-based path, not the fallback
        assert await read_models(batched) == expected, size
        await apply_in_batches(batched, events, size)
        assert await read_models(batched) == expected_again, size


async def test_the_rules_of_the_reduction_hold_in_one_batch(batched: asyncpg.Pool) -> None:
    """What one batch leaves, told by hand: the highest version wins (the first of equal ones), the latest
    violation event (the last of equal times), a revocation over a decision; what an update never changes
    stays as first inserted; counts and latest times per topic."""
    t = at(0)
    unit_id, violation_id, award_id = (str(uuid.uuid4()) for _ in range(3))

    def unit(version: int, name: str) -> ConsumedEvent:
        u = registry_pb2.Unit(id=unit_id, code="DV-1", name=name, district_code="001", version=version)
        return consumed(registry_pb2.UnitUpdated(unit=u), key=unit_id, at=t)

    def violation(kind: str, count: int, seconds: int) -> ConsumedEvent:
        v = violation_events_pb2.Violation(
            id=violation_id, camera_id=str(uuid.uuid4()), kind=kind, opened_at=ts(t), detection_count=count
        )
        return consumed(violation_events_pb2.ViolationUpdated(violation=v), key=violation_id, at=at(seconds))

    def award(kind: Any, number: str) -> ConsumedEvent:
        a = awards_pb2.Award(
            id=award_id, round_id=str(uuid.uuid4()), form_code="merit", recipient_kind="collective",
            unit_id=unit_id, decision_number=number, decided_on=pb_day(date(2019, 3, 1)),
        )  # fmt: skip
        return consumed(kind(award=a), key=award_id, at=t)

    revocation = award(awards_pb2.AwardRevoked, "2/QĐ-UBND")
    batch = [
        unit(2, "Trường THCS Bằng Vân"),
        unit(3, "Trường THPT Ngân Thủy"),
        unit(1, "cũ"),
        unit(3, "bản sau"),
        violation("intrusion", 1, 5),
        violation("crowd", 4, 9),
        violation("loitering", 2, 1),
        violation("fire_smoke", 5, 9),
        award(awards_pb2.AwardDecided, "1/QĐ-UBND"),
        revocation,
        award(awards_pb2.AwardDecided, "3/QĐ-UBND"),
    ]
    async with batched.acquire() as conn, conn.transaction():
        await project(conn, batch)
    assert await batched.fetchrow("SELECT name, version FROM units") == ("Trường THPT Ngân Thủy", 3)
    # The kind stays the first event's (never updated); the count is the last of the latest time's.
    assert await batched.fetchrow("SELECT kind, detection_count FROM violations") == ("intrusion", 5)
    row = await batched.fetchrow("SELECT decision_number, status, event_id FROM awards")
    assert row == ("1/QĐ-UBND", "revoked", revocation.id)
    status = {r["topic"]: (r["events_applied"], r["last_event_at"]) for r in await batched.fetch(
        "SELECT * FROM stream_status")}  # fmt: skip
    assert status == {
        proj.UNITS_TOPIC: (4, t),
        proj.VIOLATIONS_TOPIC: (4, at(9)),
        proj.AWARDS_TOPIC: (3, t),
    }


def hidden_refusals(mix: Mix) -> list[ConsumedEvent]:
    """Events each table refuses, of entities the mix has, older than what the mix brings of them: a batch's
    reduction would drop their values unsent, yet one at a time the database refuses them. Plus one refused by
    the projection itself (an online event without its time)."""
    first: dict[str, Any] = {}
    for e in mix.events:
        first.setdefault(e.type.rsplit(".", 1)[1], e.message)
    unit = registry_pb2.Unit()
    unit.CopyFrom(first["UnitUpdated"].unit)
    unit.version, unit.code = 0, "DV-\x00"  # text with a NUL
    violation = violation_events_pb2.Violation()
    violation.CopyFrom(first["ViolationUpdated"].violation)
    violation.ClearField("opened_at")  # NOT NULL
    assessment = assessment_pb2.Assessment()
    assessment.CopyFrom(first["AssessmentRevised"].assessment)
    assessment.revision, assessment.score = 0, 5000.0  # numeric(5, 2) overflow
    plan = cameras_pb2.InstallationPlan()
    plan.CopyFrom(first["InstallationPlanSet"].plan)
    plan.version = 0
    plan.district_targets.add(district_code="00\x009", target=1)  # jsonb refuses \u0000
    attendance = first["AttendanceCompletionRecorded"].attendance.__deepcopy__()
    attendance.version, attendance.guard_id = 0, "not-a-uuid"
    award = first["AwardDecided"].award.__deepcopy__()
    award.decided_on.month = 13
    early = T0 - timedelta(hours=1)  # older than every violation event
    return [
        consumed(registry_pb2.UnitUpdated(unit=unit), key=unit.id, at=T0),
        consumed(violation_events_pb2.ViolationUpdated(violation=violation), key=violation.id, at=early),
        consumed(assessment_pb2.AssessmentRevised(assessment=assessment), key=assessment.unit_id, at=T0),
        consumed(cameras_pb2.InstallationPlanSet(plan=plan), key=plan.id, at=T0),
        consumed(training_pb2.AttendanceCompletionRecorded(attendance=attendance), key=attendance.id, at=T0),
        consumed(awards_pb2.AwardDecided(award=award), key=award.id, at=T0),
        consumed(cameras_pb2.CameraCameOnline(camera_id=str(uuid.uuid4())), key="cam", at=T0),
    ]


HIDDEN = ("text with a NUL", "no opening time", "score overflow", "json with a NUL", "malformed uuid",
          "no such day")  # fmt: skip


@pytest.mark.parametrize("hidden", range(len(HIDDEN)), ids=HIDDEN)
@pytest.mark.parametrize("seed", SEEDS[:3])
async def test_an_event_the_database_refuses_is_refused_in_a_batch_too_even_behind_a_newer_version(
    seed: int, hidden: int, reference: asyncpg.Pool, batched: asyncpg.Pool
) -> None:
    """One refused event, last: in a batch of all the reduction would drop it behind a newer version of its
    entity, unsent; its values are checked first, the batch goes again event by event, and it is refused."""
    mix = Mix(seed)
    bad = hidden_refusals(mix)[hidden]
    events = [*mix.events, bad]
    assert await apply_one_at_a_time(reference, events) == [bad.id]
    expected = await read_models(reference)
    for size in (len(events), 7, 1):
        await empty(batched)
        applied = await apply_in_batches(batched, events, size)
        assert applied.refused == [bad.id], size
        assert await read_models(batched) == expected, size
        if size == len(events):
            assert applied.redone == 1  # the batch failed as a whole and went again event by event


async def test_an_event_the_projection_refuses_goes_alone(
    reference: asyncpg.Pool, batched: asyncpg.Pool
) -> None:
    mix = Mix(0)
    online = hidden_refusals(mix)[-1]
    assert online.type == "d07.cameras.v1.CameraCameOnline"
    events = [*mix.events[:50], online, *mix.events[50:]]
    assert await apply_one_at_a_time(reference, events) == [online.id]
    applied = await apply_in_batches(batched, events, len(events))
    assert (applied.refused, applied.redone) == ([online.id], 1)
    assert await read_models(batched) == await read_models(reference)


# --- through the consumer runner on the broker --------------------------------------------------------------


def runner_of(pool: asyncpg.Pool, bootstrap: str, topic: str, **kw: Any) -> ConsumerRunner:
    """Reporting's consumer as its composition root declares it (batch handler, messages), on a topic of this
    test (no other test's consumer reads it), small batches."""
    settings = ServiceSettings(service="reporting", kafka_bootstrap=bootstrap)
    (spec,) = SPEC.consumers(Deps(settings=settings, pool=pool, verifier=cast(Any, None)))
    assert spec.batch_handler is project
    assert spec.handlers is None
    return ConsumerRunner(
        pool=pool, bootstrap=bootstrap, group_id=unique("g"), consumer_name=spec.name, topics=[topic],
        batch_handler=spec.batch_handler, messages=list(spec.messages), batch_max=16, session_timeout_ms=6000,
        max_backoff=1.0, **kw,
    )  # fmt: skip


async def test_the_consumer_runner_applies_a_mix_with_redeliveries_and_dead_letters_and_rebuilds_it(
    broker: Broker, reference: asyncpg.Pool, batched: asyncpg.Pool
) -> None:
    topic = unique("d07.test.reporting.v1")
    mix = Mix(99)
    bad = hidden_refusals(mix)
    events = [replace(e, topic=topic) for e in mix.events[:60] + bad[:1] + mix.events[60:] + bad[-1:]]
    again = random.Random(99).sample(events, 8)  # redelivered later, with the same ids
    records = [(e, e.value) for e in events[:100]] + [(e, e.value) for e in again]
    records += [(events[0], b"not protobuf {")] + [(e, e.value) for e in events[100:]]

    refused = await apply_one_at_a_time(reference, events)
    assert sorted(refused) == sorted(e.id for e in (bad[0], bad[-1]))
    expected = await read_models(reference)

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        sent = []
        for e, value in records:  # one partition: the order of the reference
            headers = make_headers(
                event_id=e.id, event_type=e.type, source=e.source, subject=e.subject, time=e.time
            )
            sent.append(await producer.send(topic, value=value, key=e.key, partition=0, headers=headers))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()

    seen: list[BatchOutcome] = []
    done = asyncio.Event()

    async def committed(outcome: BatchOutcome) -> None:
        seen.append(outcome)
        if sum(len(o.applied) + len(o.duplicates) + len(o.dead_letters) for o in seen) >= len(records):
            done.set()

    runner = runner_of(batched, broker.bootstrap, topic, on_committed=committed)
    async with running(runner):
        await asyncio.wait_for(done.wait(), 60)
    assert sum(len(o.applied) for o in seen) == len(events) - 2
    assert sum(len(o.duplicates) for o in seen) == len(again)
    assert len(seen) > 5  # many batches, not one
    assert await read_models(batched) == expected
    letters = await read_topic(broker.bootstrap, f"{topic}.dlq", 3)
    # A value the database refuses (a NUL, a number past its column) is the event's fault: invalid_event.
    assert Counter(h["d07_dlq_reason"].decode() for _, _, h in letters) == {
        "bad_payload": 1, "invalid_event": 2,
    }  # fmt: skip

    # A rebuild: the read models emptied and the topic replayed into them, to the same rows.
    rebuilt = await rebuild(
        batched, tables=READ_MODELS, runners=[runner_of(batched, broker.bootstrap, topic)]
    )
    assert rebuilt.complete
    count = rebuilt.topics[topic]
    assert (count.records, count.applied, count.duplicates, count.dead_lettered) == (
        len(records), len(events) - 2, len(again), 3,
    )  # fmt: skip
    assert await read_models(batched) == expected
