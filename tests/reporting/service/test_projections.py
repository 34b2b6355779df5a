"""The projections' batch handler over a fake (`apply`): what a batch of events comes to (each table's rows
folded to one per key as the guarded upserts would leave them, one write per batch, the camera interval steps
in event order, the events counted per topic), and what it refuses before writing anything. The SQL of the
same (set-based statements, interval steps) runs on PostgreSQL in tests/reporting/integration."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.platform.db.upserts import DroppedValueRefused
from d07.platform.events.consumer import InvalidEvent
from d07.platform.events.envelope import ConsumedEvent, type_name
from d07.registry.v1 import models_pb2, registry_pb2
from reporting.projections import events as topics
from reporting.projections.events import CONSUMER, MESSAGES
from reporting.projections.service import apply, project
from tests.reporting.service.fakes import FakeProjections

T0 = datetime(2019, 3, 1, 8, 0, tzinfo=UTC)
UNIT = "5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
CAMERA = "0b2f4c1e-9d8a-4f3b-8c7d-6e5f4a3b2c1d"
OTHER = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


def ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


def event(message: Message, topic: str, *, key: str = UNIT, at: datetime = T0) -> ConsumedEvent:
    return ConsumedEvent(
        id=uuid.uuid4(), type=type_name(message), source="/d07/test", subject=key, time=at, topic=topic,
        partition=0, offset=0, key=key.encode(), headers={}, value=message.SerializeToString(),
        message=message,
    )  # fmt: skip


def unit(version: int, name: str) -> ConsumedEvent:
    message = registry_pb2.UnitUpdated(
        unit=registry_pb2.Unit(
            id=UNIT, code="DV-1", name=name, kind=3, district_code="003", status=1, version=version
        )
    )
    return event(message, topics.UNITS_TOPIC)


def camera(status: int, version: int, *, seen: datetime | None = None) -> ConsumedEvent:
    message = cameras_pb2.CameraUpdated(
        camera=cameras_pb2.Camera(
            id=CAMERA, code="K1", name="Cổng chính", status=status, version=version, district_code="003",
            installed_on=common_pb2.Date(year=2019, month=1, day=2),
            last_seen_at=ts(seen) if seen else None,
        )
    )  # fmt: skip
    return event(message, topics.CAMERAS_TOPIC, key=CAMERA)


def online(at: datetime, camera_id: str = CAMERA) -> ConsumedEvent:
    message = cameras_pb2.CameraCameOnline(camera_id=camera_id, at=ts(at))
    return event(message, topics.CAMERAS_TOPIC, key=camera_id)


def offline(seen: datetime | None, camera_id: str = CAMERA) -> ConsumedEvent:
    message = cameras_pb2.CameraWentOffline(camera_id=camera_id, last_seen_at=ts(seen) if seen else None)
    return event(message, topics.CAMERAS_TOPIC, key=camera_id)


def award(kind: type[Message], number: str, *, day: int = 1) -> ConsumedEvent:
    a = awards_pb2.Award(
        id=OTHER, round_id=UNIT, form_code="merit", recipient_kind="collective", unit_id=UNIT,
        decision_number=number, decided_on=common_pb2.Date(year=2019, month=2, day=day),
    )  # fmt: skip
    return event(kind(award=a), topics.AWARDS_TOPIC, key=OTHER)


async def test_a_batch_folds_each_key_to_one_row_and_writes_once() -> None:
    fake = FakeProjections()
    batch = [unit(2, "b"), unit(3, "c"), unit(1, "a"), unit(3, "d")]
    await apply(fake, batch)
    (written,) = fake.written
    assert list(written.rows) == ["units"]
    (row,) = written.rows["units"]
    assert (row[0], row[2], row[3], row[5], row[6], row[7]) == (UNIT, "c", "school", "active", 3, batch[1].id)
    assert written.applied == {topics.UNITS_TOPIC: (4, T0)}
    assert fake.steps == []


async def test_the_events_are_counted_per_topic_with_their_latest_time() -> None:
    fake = FakeProjections()
    opened = assessment_pb2.AssessmentRoundOpened()
    later = T0 + timedelta(hours=5)
    batch = [
        event(opened, topics.ASSESSMENTS_TOPIC, at=later),  # counted only: no row
        event(assessment_pb2.AssessmentSubmitted(), topics.ASSESSMENTS_TOPIC),
        event(awards_pb2.NominationSubmitted(), topics.AWARDS_TOPIC),
    ]
    await apply(fake, batch)
    (written,) = fake.written
    assert written.rows == {}
    assert written.applied == {topics.ASSESSMENTS_TOPIC: (2, later), topics.AWARDS_TOPIC: (1, T0)}


async def test_a_revocation_wins_over_the_decisions_around_it() -> None:
    fake = FakeProjections()
    revoked = award(awards_pb2.AwardRevoked, "2/QĐ")
    await apply(
        fake, [award(awards_pb2.AwardDecided, "1/QĐ"), revoked, award(awards_pb2.AwardDecided, "3/QĐ")]
    )
    (row,) = fake.written[0].rows["awards"]
    assert (row[5], row[9], row[10]) == ("1/QĐ", "revoked", revoked.id)


async def test_a_violations_latest_event_time_wins() -> None:
    fake = FakeProjections()

    def violation(kind: str, status: int, count: int, at: datetime) -> ConsumedEvent:
        v = violation_events_pb2.Violation(
            id=OTHER, camera_id=CAMERA, kind=kind, status=status, priority=2, opened_at=ts(T0),
            detection_count=count,
        )  # fmt: skip
        return event(violation_events_pb2.ViolationUpdated(violation=v), topics.VIOLATIONS_TOPIC, at=at)

    later = T0 + timedelta(minutes=5)
    await apply(fake, [violation("intrusion", 1, 1, T0), violation("crowd", 4, 3, later)])
    (row,) = fake.written[0].rows["violations"]
    # The kind stays the first row's (never updated); the status and count are the latest's.
    assert (row[3], row[5], row[9], row[11]) == ("intrusion", "resolved", 3, later)


async def test_a_consolidation_in_a_models_history_is_kept_beside_its_state() -> None:
    fake = FakeProjections()
    model = models_pb2.Model(
        id=OTHER, name="Tổ an ninh", kind="security_team", district_code="003", formation=1, status=2,
        version=2, formed_on=common_pb2.Date(year=2018, month=5, day=1),
        community=models_pb2.ModelCommunityHost(commune_code="00091"),
    )  # fmt: skip
    change = models_pb2.ModelStatusChange(
        from_status=models_pb2.MODEL_STATUS_BUILT, to_status=models_pb2.MODEL_STATUS_CONSOLIDATED,
        changed_on=common_pb2.Date(year=2019, month=3, day=4),
    )  # fmt: skip
    changed = event(models_pb2.ModelStatusChanged(model=model, change=change), topics.MODELS_TOPIC, key=OTHER)
    await apply(fake, [changed])
    rows = fake.written[0].rows
    assert rows["models"][0][5:10] == ("00091", "003", "built", date(2018, 5, 1), "consolidated")
    assert rows["model_consolidations"] == [(OTHER, T0, date(2019, 3, 4), changed.id)]


async def test_the_camera_interval_steps_keep_their_event_order_after_the_rows() -> None:
    fake = FakeProjections()
    seen = T0 + timedelta(hours=2)
    batch = [
        online(T0),
        offline(seen),
        offline(None),  # never seen: nothing to close
        online(T0, camera_id=OTHER),
        camera(cameras_pb2.CAMERA_STATUS_DECOMMISSIONED, 4, seen=seen + timedelta(hours=1)),
        camera(cameras_pb2.CAMERA_STATUS_INSTALLED, 3, seen=seen),  # not decommissioned: no step
    ]
    await apply(fake, batch)
    assert fake.steps == [
        ("open", CAMERA, T0, batch[0].id),
        ("close", CAMERA, seen, batch[1].id),
        ("open", OTHER, T0, batch[3].id),
        ("close", CAMERA, seen + timedelta(hours=1), batch[4].id),
    ]
    (row,) = fake.written[0].rows["cameras"]
    assert (row[3], row[4]) == ("decommissioned", 4)
    assert fake.written[0].applied == {topics.CAMERAS_TOPIC: (6, T0)}


@pytest.mark.parametrize(
    "bad",
    [
        online(datetime(1970, 1, 1, tzinfo=UTC)),  # an online event without its time
        award(awards_pb2.AwardDecided, "1/QĐ", day=30),  # 30 February, behind the first decision
    ],
)
async def test_a_batch_with_an_event_the_database_would_refuse_writes_nothing(bad: ConsumedEvent) -> None:
    fake = FakeProjections()
    with pytest.raises((InvalidEvent, DroppedValueRefused)):
        await apply(fake, [award(awards_pb2.AwardDecided, "0/QĐ"), unit(1, "a"), bad])
    assert (fake.written, fake.steps) == ([], [])


async def test_an_event_type_without_its_projection_is_invalid() -> None:
    stray = event(registry_pb2.UnitCreated(), topics.UNITS_TOPIC)
    stray = ConsumedEvent(**{**vars(stray), "type": "d07.registry.v1.Unknown"})
    with pytest.raises(InvalidEvent):
        await apply(FakeProjections(), [stray])


def test_the_consumer_reads_every_topic_and_knows_every_projected_message() -> None:
    assert CONSUMER.name == "projections"
    assert CONSUMER.batch_handler is project
    assert set(CONSUMER.topics) == {
        topics.UNITS_TOPIC, topics.CAMERAS_TOPIC, topics.VIOLATIONS_TOPIC, topics.ASSESSMENTS_TOPIC,
        topics.AWARDS_TOPIC, topics.MODELS_TOPIC, topics.TRAINING_TOPIC, topics.PLANS_TOPIC,
    }  # fmt: skip
    assert CONSUMER.messages == MESSAGES
    assert len({type_name(m) for m in MESSAGES}) == len(MESSAGES) == 25
