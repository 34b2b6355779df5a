"""Handler tests of security forces and guards with fakes: who may write them (the admin; a unit officer its
own unit's), the audit rows and events of each change, the stale-version refusals, and that a refused command
writes nothing."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from d07.platform.auth import ADMIN, UNIT_OFFICER, Principal
from d07.platform.errors import InvalidArgument, PermissionDenied, StaleVersion
from registry.forces import service
from registry.forces.domain import ForceDetails, GuardDetails, GuardStatus
from registry.forces.service import FORCES_TOPIC
from tests.registry.service.fakes import FakeForcesUnitOfWork, a_force, a_guard
from tests.support.principals import acting, caller, every_role

Handler = Callable[[Any, Any, Principal], Awaitable[Any]]
FORCE = ForceDetails(established_on=date(2015, 3, 1), planned_size=10, leader_name="Trần Văn Hùng")
GUARD = GuardDetails(full_name="Lê Văn Cường", birth_year=1980, position="Bảo vệ", phone="0912345678")


async def run(handler: Handler, uow: FakeForcesUnitOfWork, cmd: Any, principal: Principal) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal)


@dataclass
class Case:
    """A write command against a fresh fake: its handler, its command, the unit whose data it writes."""

    name: str
    handler: Handler
    build: Callable[[FakeForcesUnitOfWork, uuid.UUID], Any]


def _unit(uow: FakeForcesUnitOfWork) -> uuid.UUID:
    return uow.forces.add_unit("DN-A")  # type: ignore[attr-defined]


def _with_force(uow: FakeForcesUnitOfWork, unit_id: uuid.UUID) -> None:
    uow.forces.forces[unit_id] = a_force(unit_id)  # type: ignore[attr-defined]


def _with_guard(uow: FakeForcesUnitOfWork, unit_id: uuid.UUID) -> uuid.UUID:
    guard = a_guard(unit_id)
    uow.forces.guards[guard.id] = guard  # type: ignore[attr-defined]
    return guard.id


def _guards_file(*codes: str) -> service.ImportGuards:
    lines = ["Mã đơn vị,Họ và tên,Năm sinh"] + [f"{c},Nguyễn Văn {n},198{n}" for n, c in enumerate(codes)]
    return service.ImportGuards("guards.csv", ("\n".join(lines) + "\n").encode())


CASES = [
    Case("establish", service.establish_force, lambda uow, u: service.EstablishForce(str(u), FORCE)),
    Case(
        "update_force",
        service.update_force,
        lambda uow, u: (_with_force(uow, u), service.UpdateForce(str(u), 1, FORCE))[1],
    ),
    Case("register", service.register_guard, lambda uow, u: service.RegisterGuard(str(u), GUARD)),
    Case(
        "update_guard",
        service.update_guard,
        lambda uow, u: service.UpdateGuard(str(_with_guard(uow, u)), 1, GUARD),
    ),
    Case(
        "leave",
        service.mark_guard_left,
        lambda uow, u: service.MarkGuardLeft(str(_with_guard(uow, u)), 1, date(2026, 11, 30)),
    ),
    Case("import", service.import_guards, lambda uow, u: _guards_file("DN-A", "DN-A")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", every_role())
async def test_the_admin_and_the_units_own_officer_write_forces_and_guards(role: str, case: Case) -> None:
    uow = FakeForcesUnitOfWork()
    unit_id = _unit(uow)
    cmd = case.build(uow, unit_id)
    principal = caller(role, unit_id=unit_id if role == UNIT_OFFICER else None)
    if role in (ADMIN, UNIT_OFFICER):
        await run(case.handler, uow, cmd, principal)
        assert uow.commits == 1
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(case.handler, uow, cmd, principal)
        assert refused.value.code == "role_required"
        assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_a_unit_officer_cannot_write_another_units_force_or_guards(case: Case) -> None:
    uow = FakeForcesUnitOfWork()
    unit_id = _unit(uow)
    cmd = case.build(uow, unit_id)
    before = (dict(uow.forces.forces), dict(uow.forces.guards))  # type: ignore[attr-defined]
    with pytest.raises((PermissionDenied, InvalidArgument)) as refused:
        await run(case.handler, uow, cmd, caller(UNIT_OFFICER, unit_id=uuid.uuid4()))
    # the import names each row of another unit (nothing written); the other commands refuse outright
    assert refused.value.code == ("import_rejected" if case.name == "import" else "other_unit")
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert (uow.forces.forces, uow.forces.guards) == before  # type: ignore[attr-defined]


async def test_a_force_is_audited_and_announced_by_its_unit() -> None:
    uow = FakeForcesUnitOfWork()
    unit_id = _unit(uow)
    force = await run(
        service.establish_force, uow, service.EstablishForce(str(unit_id), FORCE), caller(ADMIN)
    )
    bigger = dataclasses.replace(FORCE, planned_size=14)
    force = await run(service.update_force, uow, service.UpdateForce(str(unit_id), 1, bigger), caller(ADMIN))
    assert [(a.action, a.object_type, a.object_id, a.unit_id) for a in uow.audits] == [
        ("security_force.establish", "security_force", str(force.id), str(unit_id)),
        ("security_force.update", "security_force", str(force.id), str(unit_id)),
    ]
    assert uow.audits[1].details == {"changes": {"planned_size": {"old": 10, "new": 14}}, "version": 2}
    assert [(e.topic, e.key) for e in uow.events] == [(FORCES_TOPIC, str(unit_id))] * 2
    assert uow.event_types() == ["SecurityForceEstablished", "SecurityForceUpdated"]
    assert uow.events[1].message.force.version == 2  # type: ignore[attr-defined]


async def test_a_guards_changes_are_audited_and_announced_by_the_guard() -> None:
    uow = FakeForcesUnitOfWork()
    unit_id = _unit(uow)
    guard = await run(service.register_guard, uow, service.RegisterGuard(str(unit_id), GUARD), caller(ADMIN))
    gid = str(guard.id)
    promoted = dataclasses.replace(GUARD, position="Tổ trưởng", phone="0987654321")
    await run(service.update_guard, uow, service.UpdateGuard(gid, 1, promoted), caller(ADMIN))
    left = await run(
        service.mark_guard_left, uow, service.MarkGuardLeft(gid, 2, date(2026, 12, 1)), caller(ADMIN)
    )
    assert left.status is GuardStatus.LEFT
    assert [(a.action, a.object_type, a.object_id) for a in uow.audits] == [
        ("guard.register", "guard", gid),
        ("guard.update", "guard", gid),
        ("guard.leave", "guard", gid),
    ]
    assert uow.audits[1].details == {
        "changes": {
            "position": {"old": "Bảo vệ", "new": "Tổ trưởng"},
            "phone": {"old": "0912345678", "new": "0987654321"},
        },
        "version": 2,
    }
    assert [(e.topic, e.key) for e in uow.events] == [(FORCES_TOPIC, gid)] * 3
    assert uow.event_types() == ["GuardRegistered", "GuardUpdated", "GuardLeft"]
    assert uow.events[2].message.guard.id == gid  # type: ignore[attr-defined]


async def test_an_import_audits_and_announces_every_guard() -> None:
    uow = FakeForcesUnitOfWork()
    unit_id = _unit(uow)
    guards = await run(
        service.import_guards, uow, _guards_file("DN-A", "DN-A"), caller(UNIT_OFFICER, unit_id=unit_id)
    )
    ids = [str(g.id) for g in guards]
    assert [(a.action, a.object_type, a.object_id, a.details["line"]) for a in uow.audits] == [
        ("guard.register", "guard", ids[0], 2),
        ("guard.register", "guard", ids[1], 3),
    ]
    assert [(e.topic, e.key, e.type) for e in uow.events] == [
        (FORCES_TOPIC, i, "d07.registry.v1.GuardRegistered") for i in ids
    ]


STALE = [
    ("update_force", lambda uow, u: (_with_force(uow, u), service.UpdateForce(str(u), 2, FORCE))[1]),
    ("update_guard", lambda uow, u: service.UpdateGuard(str(_with_guard(uow, u)), 2, GUARD)),
    ("leave", lambda uow, u: service.MarkGuardLeft(str(_with_guard(uow, u)), 2, date(2026, 11, 30))),
]
HANDLERS = {
    "update_force": service.update_force,
    "update_guard": service.update_guard,
    "leave": service.mark_guard_left,
}


@pytest.mark.parametrize(("name", "build"), STALE, ids=[n for n, _ in STALE])
async def test_a_stale_version_is_refused_and_writes_nothing(name: str, build: Any) -> None:
    uow = FakeForcesUnitOfWork()
    unit_id = _unit(uow)
    cmd = build(uow, unit_id)
    before = (dict(uow.forces.forces), dict(uow.forces.guards))  # type: ignore[attr-defined]
    with pytest.raises(StaleVersion) as refused:
        await run(HANDLERS[name], uow, cmd, caller(ADMIN))
    assert refused.value.code == "stale_version"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert (uow.forces.forces, uow.forces.guards) == before  # type: ignore[attr-defined]
