"""Handler tests of units with fakes: who may create, change, merge, split, dissolve and import units, the
audit rows and events each change writes, the stale-version refusal, and that a refused command writes
nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest

from d07.platform.auth import ADMIN, UNIT_OFFICER, Principal
from d07.platform.errors import AlreadyExists, InvalidArgument, PermissionDenied, StaleVersion
from d07.registry.v1 import registry_pb2 as pb
from registry.units import service
from registry.units.domain import ChangeKind, ChangeStatus, CreateUnit, UnitStatus, UpdateUnit
from registry.units.service import UNITS_TOPIC, ImportUnits
from tests.registry.service.fakes import DISTRICT_A, FakeUnitsUnitOfWork, a_unit
from tests.support.principals import acting, caller, every_role

Handler = Callable[[Any, Any, Principal], Awaitable[Any]]
OTHER_UNIT = uuid.uuid4()


def who(role: str, unit_id: uuid.UUID | None = None) -> Principal:
    if role == UNIT_OFFICER and unit_id is None:
        unit_id = OTHER_UNIT
    return caller(role, unit_id=unit_id)


async def run(handler: Handler, uow: FakeUnitsUnitOfWork, cmd: Any, principal: Principal) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal)


def assert_nothing_written(uow: FakeUnitsUnitOfWork) -> None:
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


def create_cmd(code: str = "THPT-CVA") -> CreateUnit:
    return CreateUnit(code=code, name="Trường THPT Chu Văn An", kind="school", district_code=DISTRICT_A)


def import_file(*codes: str) -> ImportUnits:
    lines = ["Mã đơn vị,Tên đơn vị,Loại hình,Mã quận/huyện"]
    lines += [f"{c},Trường {c},Nhà trường,{DISTRICT_A}" for c in codes]
    return ImportUnits("units.csv", ("\n".join(lines) + "\n").encode())


# --- create ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_only_the_admin_creates_a_unit(role: str) -> None:
    uow = FakeUnitsUnitOfWork()
    if role == ADMIN:
        unit = await run(service.create_unit, uow, create_cmd(), who(role))
        assert uow.units.units[unit.id].code == "THPT-CVA"  # type: ignore[attr-defined]
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.create_unit, uow, create_cmd(), who(role))
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_a_created_unit_is_audited_and_announced() -> None:
    uow = FakeUnitsUnitOfWork()
    unit = await run(service.create_unit, uow, create_cmd(), who(ADMIN))
    [audit] = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == ("unit.create", "unit", str(unit.id))
    [event] = uow.events
    assert (event.topic, event.key, event.type) == (UNITS_TOPIC, str(unit.id), "d07.registry.v1.UnitCreated")
    assert isinstance(event.message, pb.UnitCreated)
    assert (event.message.unit.id, event.message.unit.code) == (str(unit.id), "THPT-CVA")
    assert event.message.actor.subject == "admin-tester"


async def test_a_taken_code_writes_nothing() -> None:
    uow = FakeUnitsUnitOfWork()
    uow.units.put(a_unit("THPT-CVA"))  # type: ignore[attr-defined]
    with pytest.raises(AlreadyExists) as refused:
        await run(service.create_unit, uow, create_cmd(), who(ADMIN))
    assert refused.value.code == "unit_code_taken"
    assert (uow.audits, uow.events, uow.rollbacks) == ([], [], 1)


# --- update ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_the_admin_and_the_units_own_officer_update_a_unit(role: str) -> None:
    uow = FakeUnitsUnitOfWork()
    unit = a_unit()
    uow.units.put(unit)  # type: ignore[attr-defined]
    cmd = UpdateUnit(unit.id, 1, {"address": "12 Lê Lợi"})
    principal = who(role, unit.id)
    if role in (ADMIN, UNIT_OFFICER):
        updated = await run(service.update_unit, uow, cmd, principal)
        assert (updated.address, updated.version) == ("12 Lê Lợi", 2)
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.update_unit, uow, cmd, principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_a_unit_officer_cannot_update_another_unit() -> None:
    uow = FakeUnitsUnitOfWork()
    unit = a_unit()
    uow.units.put(unit)  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied) as refused:
        await run(service.update_unit, uow, UpdateUnit(unit.id, 1, {"address": "x"}), who(UNIT_OFFICER))
    assert refused.value.code == "other_unit"
    assert_nothing_written(uow)


async def test_a_unit_officer_changes_only_the_contact_details() -> None:
    uow = FakeUnitsUnitOfWork()
    unit = a_unit()
    uow.units.put(unit)  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied) as refused:
        await run(
            service.update_unit, uow, UpdateUnit(unit.id, 1, {"name": "Khác"}), who(UNIT_OFFICER, unit.id)
        )
    assert refused.value.code == "field_not_yours"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


async def test_an_update_is_audited_and_announced() -> None:
    uow = FakeUnitsUnitOfWork()
    unit = a_unit()
    uow.units.put(unit)  # type: ignore[attr-defined]
    await run(service.update_unit, uow, UpdateUnit(unit.id, 1, {"address": "12 Lê Lợi"}), who(ADMIN))
    [audit] = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == ("unit.update", "unit", str(unit.id))
    # the old and new value of each changed field (the version apart)
    assert audit.details == {"changes": {"address": {"old": "", "new": "12 Lê Lợi"}}, "version": 2}
    [event] = uow.events
    assert (event.topic, event.key, event.type) == (UNITS_TOPIC, str(unit.id), "d07.registry.v1.UnitUpdated")
    assert event.message.unit.address == "12 Lê Lợi"  # type: ignore[attr-defined]


async def test_a_stale_version_is_refused_and_writes_nothing() -> None:
    uow = FakeUnitsUnitOfWork()
    unit = a_unit(version=3)
    uow.units.put(unit)  # type: ignore[attr-defined]
    with pytest.raises(StaleVersion) as refused:
        await run(service.update_unit, uow, UpdateUnit(unit.id, 2, {"address": "x"}), who(ADMIN))
    assert refused.value.code == "stale_version"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.units.units[unit.id] == unit  # type: ignore[attr-defined]


# --- merge, split, dissolve -----------------------------------------------------------------------------


def status_cmd(
    kind: ChangeKind, source: uuid.UUID, others: list[uuid.UUID], version: int = 0
) -> ChangeStatus:
    if kind is ChangeKind.MERGE:
        return ChangeStatus(kind, (source,), tuple(others[:1]), date(2026, 1, 1), "QĐ 1")
    if kind is ChangeKind.SPLIT:
        return ChangeStatus(
            kind, (source,), tuple(others), date(2026, 1, 1), "QĐ 2", expected_version=version
        )
    return ChangeStatus(kind, (source,), (), date(2026, 1, 1), "QĐ 3", expected_version=version)


def units_for_change(uow: FakeUnitsUnitOfWork) -> tuple[uuid.UUID, list[uuid.UUID]]:
    source, first, second = a_unit(), a_unit(), a_unit()
    uow.units.put(source, first, second)  # type: ignore[attr-defined]
    return source.id, [first.id, second.id]


@pytest.mark.parametrize("kind", list(ChangeKind))
@pytest.mark.parametrize("role", every_role())
async def test_only_the_admin_merges_splits_and_dissolves(role: str, kind: ChangeKind) -> None:
    uow = FakeUnitsUnitOfWork()
    source, others = units_for_change(uow)
    cmd = status_cmd(kind, source, others)
    if role == ADMIN:
        change, ended = await run(service.change_status, uow, cmd, who(role))
        assert change.kind is kind
        assert [u.id for u in ended] == [source]
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.change_status, uow, cmd, who(role, source))
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


@pytest.mark.parametrize("kind", list(ChangeKind))
async def test_a_status_change_audits_every_unit_taking_part_and_announces_the_ended_ones(
    kind: ChangeKind,
) -> None:
    uow = FakeUnitsUnitOfWork()
    source, others = units_for_change(uow)
    cmd = status_cmd(kind, source, others)
    change, _ = await run(service.change_status, uow, cmd, who(ADMIN))
    taking_part = [source, *cmd.to_ids]
    assert [(a.action, a.object_type, a.object_id) for a in uow.audits] == [
        (f"unit.{kind.value}", "unit", str(u)) for u in taking_part
    ]
    [event] = uow.events
    assert (event.topic, event.key, event.type) == (UNITS_TOPIC, str(source), "d07.registry.v1.UnitUpdated")
    message = event.message
    assert isinstance(message, pb.UnitUpdated)
    assert message.status_change.id == str(change.id)
    assert message.unit.status == (
        pb.UNIT_STATUS_MERGED if kind is ChangeKind.MERGE else pb.UNIT_STATUS_DISSOLVED
    )
    expected = UnitStatus.MERGED if kind is ChangeKind.MERGE else UnitStatus.DISSOLVED
    assert uow.units.units[source].status is expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", [ChangeKind.SPLIT, ChangeKind.DISSOLVE])
async def test_a_split_or_dissolution_of_a_stale_version_is_refused_and_writes_nothing(
    kind: ChangeKind,
) -> None:
    uow = FakeUnitsUnitOfWork()
    source, others = units_for_change(uow)
    with pytest.raises(StaleVersion):
        await run(service.change_status, uow, status_cmd(kind, source, others, version=7), who(ADMIN))
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.units.changes == []  # type: ignore[attr-defined]


# --- import ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_only_the_admin_imports_units(role: str) -> None:
    uow = FakeUnitsUnitOfWork()
    if role == ADMIN:
        imported = await run(service.import_units, uow, import_file("TH-A", "TH-B"), who(role))
        assert [u.code for u in imported] == ["TH-A", "TH-B"]
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.import_units, uow, import_file("TH-A"), who(role))
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_an_import_audits_and_announces_every_unit() -> None:
    uow = FakeUnitsUnitOfWork()
    imported = await run(service.import_units, uow, import_file("TH-A", "TH-B"), who(ADMIN))
    ids = [str(u.id) for u in imported]
    assert [(a.action, a.object_type, a.object_id) for a in uow.audits] == [
        ("unit.import", "unit", i) for i in ids
    ]
    assert [a.details["line"] for a in uow.audits] == [2, 3]
    assert [(e.topic, e.key, e.type) for e in uow.events] == [
        (UNITS_TOPIC, i, "d07.registry.v1.UnitCreated") for i in ids
    ]


async def test_an_import_with_a_bad_row_writes_nothing() -> None:
    uow = FakeUnitsUnitOfWork()
    uow.units.put(a_unit("TH-B"))  # type: ignore[attr-defined]
    with pytest.raises(InvalidArgument) as refused:
        await run(service.import_units, uow, import_file("TH-A", "TH-B"), who(ADMIN))
    assert refused.value.code == "import_rejected"
    assert [p.field for p in refused.value.fields] == ["line 3: Mã đơn vị"]
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert len(uow.units.units) == 1  # type: ignore[attr-defined]


# --- batch get ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_batch_get_units_is_for_services_province_wide_readers_and_a_units_own_officer(
    role: str,
) -> None:
    uow = FakeUnitsUnitOfWork()
    unit = a_unit("THPT-CVA")
    uow.units.put(unit)  # type: ignore[attr-defined]
    principal = who(role, unit.id)
    if role in service.READERS:
        found, missing = await run(
            service.batch_get_units, uow, service.BatchGetUnits([str(unit.id)]), principal
        )
        assert ([u.id for u in found], missing) == ([unit.id], [])
    else:  # camera_gateway: a machine that sends detections reads no unit's head, phone or email
        with pytest.raises(PermissionDenied) as refused:
            await run(service.batch_get_units, uow, service.BatchGetUnits([str(unit.id)]), principal)
        assert refused.value.code == "role_required"
    if role == UNIT_OFFICER:
        with pytest.raises(PermissionDenied):
            await run(service.batch_get_units, uow, service.BatchGetUnits([str(unit.id)]), who(role))
