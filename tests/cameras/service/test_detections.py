"""Handler tests of detections intake (the gRPC and HTTP doors' path) with fakes: who may send detections, the
outcome of every item of a batch, the audit row of the batch, the violations it opens or joins with their
events, the cameras it brings online, and that a refused batch writes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from cameras.detections import service
from cameras.detections.domain import (
    Detection,
    Directory,
    IngestDetections,
    IngestResult,
    Rules,
    parse_object,
)
from cameras.network.domain import CameraStatus
from cameras.network.messages import CAMERAS_TOPIC
from cameras.violations.domain import ViolationStatus
from cameras.violations.messages import VIOLATIONS_TOPIC
from d07.cameras.v1 import cameras_pb2
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.platform.auth import ADMIN, CAMERA_GATEWAY, UNIT_OFFICER, Principal
from d07.platform.errors import InvalidArgument, PermissionDenied
from tests.cameras.service.fakes import FakeDetectionsUnitOfWork, a_camera, a_violation
from tests.support.principals import acting, caller, every_role
from tests.support.uow import NOW

UNIT = uuid.uuid4()
CAMERA = a_camera(code="CAM-00017", unit_id=UNIT)
RETIRED = a_camera(code="CAM-00018", status=CameraStatus.DECOMMISSIONED)
RULES = Rules(max_skew=timedelta(seconds=120), join_window=timedelta(minutes=10))
SENDERS = {CAMERA_GATEWAY, ADMIN}


def who(role: str) -> Principal:
    return caller(role, unit_id=UNIT if role == UNIT_OFFICER else None)


def item(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "detection_id": str(uuid.uuid4()),
        "camera_id": CAMERA.code,
        "occurred_at": (NOW - timedelta(minutes=1)).isoformat(),
        "kind": "intrusion",
        "confidence": 0.91,
    }
    fields.update(changes)
    return fields


def _parse(raw: Any, now: datetime, max_skew: timedelta) -> Detection:
    return parse_object(raw, now=now, max_skew=max_skew)


def batch(*items: dict[str, Any], first_index: int = 0) -> IngestDetections:
    return IngestDetections(
        door="http", items=list(items), parse=_parse,
        detection_id_of=lambda i: str(i.get("detection_id", "")), first_index=first_index,
    )  # fmt: skip


async def ingest(
    uow: FakeDetectionsUnitOfWork, cmd: IngestDetections, role: str = CAMERA_GATEWAY
) -> IngestResult:
    principal = who(role)
    with acting(principal):
        return await service.ingest(uow, cmd, principal, directory=Directory(refresh_seconds=10), rules=RULES)


@pytest.mark.parametrize("role", every_role())
async def test_gateways_and_the_admin_send_detections(role: str) -> None:
    uow = FakeDetectionsUnitOfWork(CAMERA)
    cmd = batch(item())
    if role not in SENDERS:
        with pytest.raises(PermissionDenied) as err:
            await ingest(uow, cmd, role)
        assert err.value.code == "role_required"
        assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
        assert uow.detections.stored == {}  # type: ignore[attr-defined]
        return
    result = await ingest(uow, cmd, role)
    assert (result.accepted, result.stored, result.duplicates, result.rejected) == (1, 1, 0, [])
    assert uow.commits == 1


async def test_every_item_of_a_batch_has_its_outcome() -> None:
    earlier = item()
    uow = FakeDetectionsUnitOfWork(CAMERA, RETIRED)
    # Stored before, through another door.
    uow.detections.stored[uuid.UUID(earlier["detection_id"])] = (None, None)  # type: ignore[attr-defined]
    opening = item()
    items = [
        opening,
        item(detection_id="42"),
        item(camera_id="CAM-99999"),
        item(camera_id=RETIRED.code),
        item(confidence=0.5),  # stored, below the kind's threshold: opens nothing
        earlier,  # a repeat of a detection stored before
        item(kind="burglary"),
        item(occurred_at=(NOW + timedelta(minutes=5)).isoformat()),
    ]
    result = await ingest(uow, batch(*items, first_index=100))
    assert [(r.index, r.reason) for r in result.rejected] == [
        (101, "bad_id"), (102, "unknown_camera"), (103, "decommissioned_camera"), (106, "unknown_kind"),
        (107, "future_time"),
    ]  # fmt: skip
    assert result.rejected[1].detection_id == items[2]["detection_id"]
    assert (result.accepted, result.stored, result.duplicates) == (3, 2, 1)

    (audit,) = uow.audits
    assert (audit.action, audit.object_type) == ("detections.ingest", "detection_batch")
    uuid.UUID(audit.object_id)
    assert audit.details == {
        "door": "http", "stored": 2, "duplicates": 1, "rejected": 5, "violations_opened": 1,
    }  # fmt: skip

    (opened,) = uow.violations.violations.values()  # type: ignore[attr-defined]
    assert (opened.camera_id, opened.kind, opened.priority, opened.status) == (
        CAMERA.id, "intrusion", "high", ViolationStatus.NEW,
    )  # fmt: skip
    assert opened.react_by == NOW + timedelta(minutes=30)
    stored = uow.detections.stored  # type: ignore[attr-defined]
    assert stored[uuid.UUID(opening["detection_id"])][1] == opened.id  # stored with its violation
    assert stored[uuid.UUID(items[4]["detection_id"])][1] is None

    by_type = {e.type: e for e in uow.events}
    assert set(by_type) == {"d07.cameras.v1.ViolationOpened", "d07.cameras.v1.CameraCameOnline"}
    event = by_type["d07.cameras.v1.ViolationOpened"]
    assert (event.topic, event.key) == (VIOLATIONS_TOPIC, str(opened.id))
    assert isinstance(event.message, events_pb.ViolationOpened)
    assert (event.message.violation.camera_code, event.message.violation.unit_id) == (CAMERA.code, str(UNIT))
    assert event.message.violation.priority == events_pb.VIOLATION_PRIORITY_HIGH
    online = by_type["d07.cameras.v1.CameraCameOnline"]
    assert (online.topic, online.key) == (CAMERAS_TOPIC, str(CAMERA.id))
    assert isinstance(online.message, cameras_pb2.CameraCameOnline)
    assert [(a.action, a.actor) for a in uow.violations.log] == [("opened", "system")]  # type: ignore[attr-defined]


async def test_items_the_database_cannot_store_are_refused_by_index_and_the_good_ones_stored() -> None:
    """Issue 13: one bad detection (a NUL in attributes, a lone surrogate in camera_id, a year-1 time) failed
    its whole HTTP batch with 500; each is now its own refusal and the rest of the batch is stored."""
    uow = FakeDetectionsUnitOfWork(CAMERA)
    good = [item(), item()]
    items = [
        good[0],
        item(attributes={"zone": "cổng\x00chính"}),
        item(attributes={"k\x00": 1}),
        item(camera_id="CAM-\ud800"),
        item(occurred_at="0001-01-01T00:00:00+14:00"),
        item(occurred_at="1999-12-31T23:00:00+07:00"),
        item(snapshot_url="https://vms/\x00"),
        item(attributes={"a": float("nan")}),
        good[1],
    ]
    result = await ingest(uow, batch(*items))
    assert [(r.index, r.reason) for r in result.rejected] == [
        (1, "bad_field"), (2, "bad_field"), (3, "bad_field"), (4, "bad_time"), (5, "bad_time"),
        (6, "bad_field"), (7, "bad_field"),
    ]  # fmt: skip
    assert (result.accepted, result.stored) == (2, 2)
    stored = uow.detections.stored  # type: ignore[attr-defined]
    assert set(stored) == {uuid.UUID(g["detection_id"]) for g in good}
    for r in result.rejected:  # every detail is storable and printable text
        r.detail.encode("utf-8")
        assert "\x00" not in r.detail


async def test_a_detection_near_an_open_violation_joins_it() -> None:
    open_ = a_violation(
        CAMERA, last_seen_at=NOW - timedelta(minutes=5), first_seen_at=NOW - timedelta(minutes=6)
    )
    uow = FakeDetectionsUnitOfWork(CAMERA, violations=[open_])
    joining = item()
    result = await ingest(uow, batch(joining))
    assert (result.accepted, result.stored) == (1, 1)
    joined = uow.violations.violations[open_.id]  # type: ignore[attr-defined]
    assert (joined.detection_count, joined.version) == (2, 1)  # joining is not a handling change
    assert uow.detections.stored[uuid.UUID(joining["detection_id"])][1] == open_.id  # type: ignore[attr-defined]
    updated = [e for e in uow.events if e.topic == VIOLATIONS_TOPIC]
    assert [(e.key, e.type) for e in updated] == [(str(open_.id), "d07.cameras.v1.ViolationUpdated")]
    assert isinstance(updated[0].message, events_pb.ViolationUpdated)
    assert updated[0].message.change == "detections_joined"
    assert uow.audits[0].details["violations_opened"] == 0


async def test_a_batch_too_large_is_refused_whole_and_writes_nothing() -> None:
    uow = FakeDetectionsUnitOfWork(CAMERA)
    cmd = batch(*[item() for _ in range(service.MAX_BATCH + 1)])
    with pytest.raises(InvalidArgument) as err:
        await ingest(uow, cmd)
    assert (err.value.code, err.value.fields[0].field) == ("batch_too_large", "body")
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


async def test_a_batch_of_refused_items_only_is_audited_and_stores_nothing() -> None:
    uow = FakeDetectionsUnitOfWork(CAMERA)
    result = await ingest(uow, batch(item(camera_id="CAM-99999")))
    assert (result.accepted, [r.reason for r in result.rejected]) == (0, ["unknown_camera"])
    assert uow.actions() == ["detections.ingest"]
    assert uow.events == []
    assert uow.detections.stored == {}  # type: ignore[attr-defined]
