"""Pure rules of training classes and attendance: no I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from d07.platform.errors import AlreadyExists, Conflict, InvalidArgument
from registry.training.domain import (
    Attendance,
    ClassStatus,
    GuardRef,
    Outcome,
    RecordCompletion,
    ScheduleClass,
    TrainingClass,
    UpdateClass,
    apply_update,
    check_cancel,
    check_completion,
    check_enrolment,
    check_period,
    requested_guards,
    validate_schedule,
)

NOW = datetime(2019, 8, 1, 8, 0, tzinfo=UTC)
ORGANISER = "Phòng Cảnh sát quản lý hành chính về trật tự xã hội - Công an tỉnh"


def a_class(**kw: object) -> TrainingClass:
    base = TrainingClass(
        id=uuid.uuid4(), title="Lớp bồi dưỡng nghiệp vụ bảo vệ năm 2019", organiser=ORGANISER,
        starts_on=date(2019, 9, 9), ends_on=date(2019, 9, 13), place="Hội trường Công an tỉnh", capacity=3,
        district_code="001", status=ClassStatus.SCHEDULED, enrolled=0, cancel_reason="", version=1,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def a_guard(status: str = "active", name: str = "Nguyễn Văn Bảo") -> GuardRef:
    return GuardRef(id=uuid.uuid4(), unit_id=uuid.uuid4(), full_name=name, status=status)


def an_attendance(cls: TrainingClass, version: int = 1) -> Attendance:
    return Attendance(
        id=uuid.uuid4(), class_id=cls.id, guard_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        guard_full_name="Trần Thị Hoa", outcome=Outcome.PENDING, result="", version=version,
        enrolled_at=NOW, completion_recorded_at=None,
    )  # fmt: skip


def test_a_valid_class_is_tidied() -> None:
    cmd = validate_schedule(
        ScheduleClass(
            title="  Lớp bồi dưỡng   nghiệp vụ bảo vệ ", organiser=f" {ORGANISER} ",
            starts_on=date(2019, 9, 9), ends_on=date(2019, 9, 9), place=" Hội trường ", capacity=60,
            district_code=" 002 ",
        )
    )  # fmt: skip
    assert (cmd.title, cmd.organiser, cmd.place, cmd.district_code) == (
        "Lớp bồi dưỡng nghiệp vụ bảo vệ",
        ORGANISER,
        "Hội trường",
        "002",
    )


def test_every_wrong_field_of_a_class_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_schedule(
            ScheduleClass(title=" ", organiser="", starts_on=None, ends_on=None, place="", capacity=0,
                          district_code="")
        )  # fmt: skip
    assert {f.field for f in err.value.fields} == {
        "title", "organiser", "starts_on", "ends_on", "capacity", "district_code"
    }  # fmt: skip


def test_a_class_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_schedule(
            ScheduleClass(title="Lớp", organiser=ORGANISER, starts_on=date(2019, 9, 9),
                          ends_on=date(2019, 9, 8), place="", capacity=10, district_code="001")
        )  # fmt: skip
    assert [f.field for f in err.value.fields] == ["ends_on"]


def test_an_update_changes_only_the_fields_given() -> None:
    current = a_class(enrolled=2)
    changed = apply_update(
        current, UpdateClass(class_id=current.id, version=1, place="Nhà văn hóa xã", status="held")
    )
    assert changed.place == "Nhà văn hóa xã"
    assert changed.status is ClassStatus.HELD
    assert (changed.title, changed.capacity, changed.starts_on) == (current.title, 3, current.starts_on)


def test_a_stale_version_is_a_conflict_named_stale_version() -> None:
    current = a_class(version=4)
    with pytest.raises(Conflict) as err:
        apply_update(current, UpdateClass(class_id=current.id, version=3, title="Lớp mới"))
    assert err.value.code == "stale_version"


def test_capacity_cannot_go_below_the_enrolled_guards() -> None:
    current = a_class(enrolled=3, capacity=5)
    with pytest.raises(Conflict) as err:
        apply_update(current, UpdateClass(class_id=current.id, version=1, capacity=2))
    assert err.value.code == "capacity_below_enrolled"


def test_an_update_cannot_cancel_and_a_cancelled_class_does_not_change() -> None:
    current = a_class()
    with pytest.raises(InvalidArgument):
        apply_update(current, UpdateClass(class_id=current.id, version=1, status="cancelled"))
    with pytest.raises(Conflict) as err:
        apply_update(
            a_class(status=ClassStatus.CANCELLED), UpdateClass(class_id=current.id, version=1, place="X")
        )
    assert err.value.code == "class_cancelled"


def test_a_class_with_recorded_completions_cannot_be_cancelled() -> None:
    current = a_class()
    assert (
        check_cancel(current, version=1, reason="  Hoãn  do mưa lũ ", has_completions=False)
        == "Hoãn do mưa lũ"
    )
    with pytest.raises(Conflict) as err:
        check_cancel(current, version=1, reason="Hoãn", has_completions=True)
    assert err.value.code == "class_has_completions"
    with pytest.raises(InvalidArgument):
        check_cancel(current, version=1, reason=" ", has_completions=False)


def test_a_guard_twice_in_one_request_is_refused() -> None:
    gid = uuid.uuid4()
    with pytest.raises(InvalidArgument) as err:
        requested_guards([gid, uuid.uuid4(), gid])
    assert [f.field for f in err.value.fields] == ["guard_ids[2]"]
    with pytest.raises(InvalidArgument):
        requested_guards([])


def test_enrolment_refuses_left_guards_duplicates_and_overflow_in_that_order() -> None:
    cls = a_class(capacity=3, enrolled=1)
    active, left, enrolled = a_guard(), a_guard("left", "Lê Văn Tâm"), a_guard(name="Phạm Đức Anh")
    with pytest.raises(Conflict) as err:
        check_enrolment(cls, [active, left], already_enrolled=[])
    assert (err.value.code, [f.field for f in err.value.fields]) == ("guard_left", ["guard_ids[1]"])
    with pytest.raises(AlreadyExists) as dup:
        check_enrolment(cls, [active, enrolled], already_enrolled=[enrolled.id])
    assert [f.field for f in dup.value.fields] == ["guard_ids[1]"]
    with pytest.raises(Conflict) as full:
        check_enrolment(cls, [a_guard(), a_guard(), a_guard()], already_enrolled=[])
    assert full.value.code == "class_full"
    check_enrolment(cls, [a_guard(), a_guard()], already_enrolled=[])  # exactly fills the class


def test_no_enrolment_in_a_cancelled_class() -> None:
    with pytest.raises(Conflict) as err:
        check_enrolment(a_class(status=ClassStatus.CANCELLED), [a_guard()], already_enrolled=[])
    assert err.value.code == "class_cancelled"


def test_completion_gives_the_outcome_and_checks_the_version() -> None:
    cls = a_class()
    att = an_attendance(cls, version=2)
    cmd = RecordCompletion(
        class_id=cls.id, guard_id=att.guard_id, version=2, completed=True, result=" Đạt  loại khá "
    )
    assert check_completion(cls, att, cmd) == (Outcome.COMPLETED, "Đạt loại khá")
    assert check_completion(cls, att, replace(cmd, completed=False))[0] is Outcome.NOT_COMPLETED
    with pytest.raises(Conflict) as err:
        check_completion(cls, att, replace(cmd, version=1))
    assert err.value.code == "stale_version"


def test_a_period_must_not_end_before_it_starts() -> None:
    check_period(date(2019, 1, 1), date(2019, 12, 31))
    check_period(None, date(2019, 12, 31))
    with pytest.raises(InvalidArgument):
        check_period(date(2019, 12, 31), date(2019, 1, 1))
