"""The units read copy over fakes: who reads a known unit, and the registry's events into the copy."""

from __future__ import annotations

import uuid

import pytest

from assessment.known_units import messages, service
from assessment.known_units.domain import GetKnownUnit
from d07.platform.auth import ROLES, UNIT_OFFICER
from d07.platform.errors import InvalidArgument, NotFound, PermissionDenied
from d07.platform.events.consumer import InvalidEvent
from d07.registry.v1 import registry_pb2
from tests.assessment.service.fakes import FakeKnownUnitRepository, FakeKnownUnitsUnitOfWork
from tests.support.principals import caller, every_role

UNIT = uuid.UUID("5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b")
OTHER_UNIT = uuid.UUID("0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b")
# Everyone but a unit officer of another unit and the camera gateway reads any unit (ensure_unit_access).
READERS = ROLES - {"camera_gateway"}


def unit_pb(version: int, *, kind: int = registry_pb2.UNIT_KIND_SCHOOL, status: int = 1) -> registry_pb2.Unit:
    return registry_pb2.Unit(
        id=str(UNIT), code="U-001", name="Trường THPT Lê Quý Đôn", kind=kind, district_code="001",
        version=version, status=status, in_scope=True,
    )  # fmt: skip


async def kept_uow() -> FakeKnownUnitsUnitOfWork:
    uow = FakeKnownUnitsUnitOfWork()
    assert isinstance(uow.units, FakeKnownUnitRepository)
    await service.keep_unit(uow.units, messages.snapshot_from_pb(unit_pb(1)))
    return uow


@pytest.mark.parametrize("role", every_role())
async def test_who_reads_a_known_unit(role: str) -> None:
    uow = await kept_uow()
    principal = caller(role, unit_id=OTHER_UNIT if role == UNIT_OFFICER else None)
    if role in READERS - {UNIT_OFFICER}:
        found = await service.get_known_unit(uow, GetKnownUnit(str(UNIT)), principal)
        assert (found.code, found.kind) == ("U-001", "school")
    else:
        with pytest.raises(PermissionDenied):
            await service.get_known_unit(uow, GetKnownUnit(str(UNIT)), principal)
        assert uow.commits == 0
    assert (uow.audits, uow.events) == ([], [])


async def test_a_unit_officer_reads_its_own_unit_and_unknown_or_bad_ids_are_refused() -> None:
    uow = await kept_uow()
    own = await service.get_known_unit(uow, GetKnownUnit(str(UNIT)), caller(UNIT_OFFICER, unit_id=UNIT))
    assert own.unit_id == UNIT
    with pytest.raises(NotFound) as missing:
        await service.get_known_unit(uow, GetKnownUnit(str(OTHER_UNIT)), caller("admin"))
    assert missing.value.code == "unit_not_found"
    with pytest.raises(InvalidArgument) as bad:
        await service.get_known_unit(uow, GetKnownUnit("U-001"), caller("admin"))
    assert (bad.value.code, bad.value.fields[0].field) == ("invalid_id", "unit_id")


async def test_the_copy_keeps_the_newest_version_and_names_unknown_kinds() -> None:
    uow = await kept_uow()
    repo = uow.units
    assert isinstance(repo, FakeKnownUnitRepository)
    await service.keep_unit(
        repo, messages.snapshot_from_pb(unit_pb(3, kind=9, status=registry_pb2.UNIT_STATUS_MERGED))
    )
    await service.keep_unit(repo, messages.snapshot_from_pb(unit_pb(2)))  # an older event replayed
    kept = repo.units[UNIT]
    assert (kept.version, kept.unit.kind, kept.status) == (3, "unspecified", "merged")
    assert messages.snapshot_from_pb(unit_pb(1, status=0)).status == "active"
    with pytest.raises(InvalidEvent):
        messages.snapshot_from_pb(registry_pb2.Unit(id="not-a-uuid"))
