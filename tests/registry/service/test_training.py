"""Handler tests of training classes and attendance with fakes: who may organise (admin, police) and enrol
(and a unit officer its own unit's guards), the audit rows and events (keyed by the class), the stale-version
refusals, and that a refused command writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from d07.platform.auth import ADMIN, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import PermissionDenied, StaleVersion
from registry.training import service
from registry.training.domain import ClassStatus, Outcome, RecordCompletion, ScheduleClass, UpdateClass
from registry.training.service import TRAINING_TOPIC, CancelClass, EnrolGuards
from tests.registry.service.fakes import DISTRICT_A, DISTRICT_B, FakeTrainingUnitOfWork, a_class
from tests.support.principals import acting, caller, every_role

Handler = Callable[[Any, Any, Principal], Awaitable[Any]]
UNIT = uuid.uuid4()
SCHEDULE = ScheduleClass(
    title="Lớp bồi dưỡng nghiệp vụ bảo vệ", organiser="Công an tỉnh", starts_on=date(2026, 12, 10),
    ends_on=date(2026, 12, 12), place="Hội trường", capacity=30, district_code=DISTRICT_A,
)  # fmt: skip


async def run(handler: Handler, uow: FakeTrainingUnitOfWork, cmd: Any, principal: Principal) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal)


def who(role: str) -> Principal:
    return caller(role, unit_id=UNIT if role == UNIT_OFFICER else None)


def with_class(uow: FakeTrainingUnitOfWork, **changes: Any) -> uuid.UUID:
    cls = a_class(**changes)
    uow.training.classes[cls.id] = cls  # type: ignore[attr-defined]
    return cls.id


def with_attendance(uow: FakeTrainingUnitOfWork) -> tuple[uuid.UUID, uuid.UUID]:
    class_id = with_class(uow)
    guard_id = uow.training.add_guard(UNIT)  # type: ignore[attr-defined]
    uow.training.attendances[(class_id, guard_id)] = _pending(class_id, guard_id)  # type: ignore[attr-defined]
    return class_id, guard_id


def _pending(class_id: uuid.UUID, guard_id: uuid.UUID) -> Any:
    from registry.training.domain import Attendance
    from tests.support.uow import NOW

    return Attendance(
        uuid.uuid4(), class_id, guard_id, UNIT, "Nguyễn Văn An", Outcome.PENDING, "", 1, NOW, None
    )


@dataclass
class Case:
    name: str
    handler: Handler
    build: Callable[[FakeTrainingUnitOfWork], Any]
    allowed: tuple[str, ...] = (ADMIN, POLICE)


def _enrol(uow: FakeTrainingUnitOfWork) -> EnrolGuards:
    class_id = with_class(uow)
    guard = uow.training.add_guard(UNIT)  # type: ignore[attr-defined]
    return EnrolGuards(str(class_id), [str(guard)])


def _complete(uow: FakeTrainingUnitOfWork, version: int = 1) -> RecordCompletion:
    class_id, guard_id = with_attendance(uow)
    return RecordCompletion(class_id, guard_id, version, completed=True, result="Đạt")


CASES = [
    Case("schedule", service.schedule_class, lambda uow: SCHEDULE),
    Case("update", service.update_class, lambda uow: UpdateClass(with_class(uow), 1, place="Nhà văn hoá")),
    Case("cancel", service.cancel_class, lambda uow: CancelClass(str(with_class(uow)), 1, "Mưa lũ")),
    Case("enrol", service.enrol_guards, _enrol, (ADMIN, POLICE, UNIT_OFFICER)),
    Case("complete", service.record_completion, _complete),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", every_role())
async def test_who_may_organise_classes_and_enrol_guards(role: str, case: Case) -> None:
    uow = FakeTrainingUnitOfWork()
    cmd = case.build(uow)
    if role in case.allowed:
        await run(case.handler, uow, cmd, who(role))
        assert uow.commits == 1
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(case.handler, uow, cmd, who(role))
        assert refused.value.code == "role_required"
        assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


async def test_a_unit_officer_enrols_only_its_own_units_guards() -> None:
    uow = FakeTrainingUnitOfWork()
    class_id = with_class(uow)
    own = uow.training.add_guard(UNIT)  # type: ignore[attr-defined]
    other = uow.training.add_guard(uuid.uuid4())  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied) as refused:
        await run(
            service.enrol_guards, uow, EnrolGuards(str(class_id), [str(own), str(other)]), who(UNIT_OFFICER)
        )
    assert refused.value.code == "other_unit"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.training.attendances == {}  # type: ignore[attr-defined]
    [att] = await run(service.enrol_guards, uow, EnrolGuards(str(class_id), [str(own)]), who(UNIT_OFFICER))
    assert att.guard_id == own


async def test_class_changes_are_audited_and_announced_by_the_class() -> None:
    uow = FakeTrainingUnitOfWork()
    cls = await run(service.schedule_class, uow, SCHEDULE, who(POLICE))
    cid = str(cls.id)
    await run(service.update_class, uow, UpdateClass(cls.id, 1, district_code=DISTRICT_B), who(POLICE))
    cancelled = await run(service.cancel_class, uow, CancelClass(cid, 2, "Trùng lịch"), who(ADMIN))
    assert cancelled.status is ClassStatus.CANCELLED
    assert [(a.action, a.object_type, a.object_id) for a in uow.audits] == [
        ("training_class.schedule", "training_class", cid),
        ("training_class.update", "training_class", cid),
        ("training_class.cancel", "training_class", cid),
    ]
    assert uow.audits[1].details["changes"] == {
        "district_code": {"old": SCHEDULE.district_code, "new": DISTRICT_B}
    }
    assert [(e.topic, e.key) for e in uow.events] == [(TRAINING_TOPIC, cid)] * 3
    assert uow.event_types() == ["ClassScheduled", "ClassUpdated", "ClassCancelled"]
    assert uow.events[2].message.training_class.cancel_reason == "Trùng lịch"  # type: ignore[attr-defined]


async def test_enrolment_and_completion_are_audited_by_attendance_and_announced_by_the_class() -> None:
    uow = FakeTrainingUnitOfWork()
    class_id = with_class(uow)
    guards = [uow.training.add_guard(UNIT) for _ in range(2)]  # type: ignore[attr-defined]
    atts = await run(
        service.enrol_guards, uow, EnrolGuards(str(class_id), [str(g) for g in guards]), who(ADMIN)
    )
    done = await run(
        service.record_completion, uow, RecordCompletion(class_id, guards[0], 1, True, "Khá"), who(ADMIN)
    )
    assert done.outcome is Outcome.COMPLETED
    assert [(a.action, a.object_type, a.object_id, a.unit_id) for a in uow.audits] == [
        ("training_attendance.enrol", "training_attendance", str(atts[0].id), str(UNIT)),
        ("training_attendance.enrol", "training_attendance", str(atts[1].id), str(UNIT)),
        ("training_attendance.complete", "training_attendance", str(atts[0].id), str(UNIT)),
    ]
    assert [(e.topic, e.key) for e in uow.events] == [(TRAINING_TOPIC, str(class_id))] * 3
    assert uow.event_types() == ["AttendanceEnrolled", "AttendanceEnrolled", "AttendanceCompletionRecorded"]
    assert [e.message.attendance.guard_id for e in uow.events[:2]] == [str(g) for g in guards]  # type: ignore[attr-defined]


STALE = [
    ("update", service.update_class, lambda uow: UpdateClass(with_class(uow, version=2), 1, place="X")),
    ("cancel", service.cancel_class, lambda uow: CancelClass(str(with_class(uow, version=2)), 1, "Hoãn")),
    ("complete", service.record_completion, lambda uow: _complete(uow, version=2)),
]


@pytest.mark.parametrize(("name", "handler", "build"), STALE, ids=[s[0] for s in STALE])
async def test_a_stale_version_is_refused_and_writes_nothing(name: str, handler: Handler, build: Any) -> None:
    uow = FakeTrainingUnitOfWork()
    cmd = build(uow)
    before = (dict(uow.training.classes), dict(uow.training.attendances))  # type: ignore[attr-defined]
    with pytest.raises(StaleVersion) as refused:
        await run(handler, uow, cmd, who(ADMIN))
    assert refused.value.code == "stale_version"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert (uow.training.classes, uow.training.attendances) == before  # type: ignore[attr-defined]
