"""Handlers of the corrective actions over fakes: who may create and close them, the audit rows, and that a
refused change writes nothing. Corrective actions publish no event and their commands carry no version."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from assessment.actions import service
from assessment.actions.domain import (
    ActionStatus,
    CloseCorrectiveAction,
    CreateCorrectiveAction,
    ListCorrectiveActions,
    NewCorrectiveAction,
)
from d07.platform.auth import ADMIN, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.assessment.service.fakes import FakeActionRepository, FakeActionsUnitOfWork
from tests.support.principals import acting, caller, every_role

UNIT = uuid.UUID("5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b")
OTHER_UNIT = uuid.UUID("0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b")
NEW = NewCorrectiveAction("TC2", "Lắp thêm camera  cổng sau", " Phòng hành chính ", date(2027, 3, 1))


def who(role: str, unit: uuid.UUID = UNIT) -> Principal:
    return caller(role, unit_id=unit if role == UNIT_OFFICER else None)


@dataclass
class Scenario:
    uow: FakeActionsUnitOfWork
    call: Callable[[Principal], Awaitable[Any]]

    @property
    def repo(self) -> FakeActionRepository:
        assert isinstance(self.uow.corrective_actions, FakeActionRepository)
        return self.uow.corrective_actions


def create() -> Scenario:
    uow = FakeActionsUnitOfWork()
    a = uow.finalised(UNIT)
    return Scenario(uow, lambda p: service.create_action(uow, CreateCorrectiveAction(str(a.id), NEW), p))


def close() -> Scenario:
    uow = FakeActionsUnitOfWork()
    action = uow.open_action(uow.finalised(UNIT))
    return Scenario(
        uow, lambda p: service.close_action(uow, CloseCorrectiveAction(str(action.id), " Đã lắp "), p)
    )


WRITES: dict[str, tuple[Callable[[], Scenario], set[str]]] = {
    "create": (create, {POLICE, ADMIN}),
    "close": (close, {POLICE, ADMIN, UNIT_OFFICER}),
}


def untouched(s: Scenario, before: dict[uuid.UUID, Any]) -> bool:
    return (s.uow.audits, s.uow.events, s.uow.commits, s.repo.actions) == ([], [], 0, before)


@pytest.mark.parametrize("handler", list(WRITES))
@pytest.mark.parametrize("role", every_role())
async def test_only_the_allowed_roles_change_anything(handler: str, role: str) -> None:
    make, allowed = WRITES[handler]
    s = make()
    before = dict(s.repo.actions)
    with acting(who(role)) as principal:
        if role in allowed:
            await s.call(principal)
            assert s.uow.commits == 1
        else:
            with pytest.raises(PermissionDenied) as refused:
                await s.call(principal)
            assert refused.value.code == "role_required"
            assert untouched(s, before)
            assert s.uow.rollbacks == 0


async def test_a_unit_officer_closes_only_its_own_units_actions() -> None:
    s = close()
    before = dict(s.repo.actions)
    with acting(who(UNIT_OFFICER, OTHER_UNIT)) as principal, pytest.raises(PermissionDenied) as refused:
        await s.call(principal)
    assert refused.value.code == "other_unit"
    assert (s.uow.audits, s.uow.events, s.uow.rollbacks, s.repo.actions) == ([], [], 1, before)
    with acting(who(UNIT_OFFICER, UNIT)) as principal:
        closed = await s.call(principal)
    assert closed.status is ActionStatus.CLOSED


async def test_creating_an_action_is_audited_with_its_criterion_and_due_date() -> None:
    s = create()
    with acting(who(POLICE)) as principal:
        action = await s.call(principal)
    assert (action.action, action.owner, action.status) == (
        "Lắp thêm camera cổng sau",
        "Phòng hành chính",
        ActionStatus.OPEN,
    )
    [audit] = s.uow.audits
    assert (audit.action, audit.object_type, audit.object_id, audit.unit_id, audit.actor) == (
        "corrective_action.create",
        "corrective_action",
        str(action.id),
        str(UNIT),
        principal.subject,
    )
    assert audit.details == {
        "assessment_id": str(action.assessment_id),
        "criterion": "TC2",
        "due_on": "2027-03-01",
    }
    assert s.uow.events == []


async def test_closing_an_action_is_audited_with_its_note_and_only_once() -> None:
    s = close()
    with acting(who(ADMIN)) as principal:
        closed = await s.call(principal)
        with pytest.raises(Conflict) as refused:
            await s.call(principal)
    assert refused.value.code == "already_closed"
    [audit] = s.uow.audits
    assert (audit.action, audit.object_type, audit.object_id, audit.unit_id) == (
        "corrective_action.close",
        "corrective_action",
        str(closed.id),
        str(UNIT),
    )
    assert audit.details == {
        "note": "Đã lắp",
        "changes": {
            "status": {"old": "open", "new": "closed"},
            "closed_at": {"old": None, "new": "2026-12-03T03:00:00+00:00"},
            "closed_by": {"old": None, "new": "admin-tester"},
            "closing_note": {"old": "", "new": "Đã lắp"},
        },
    }
    assert (s.uow.events, s.uow.commits, s.uow.rollbacks) == ([], 1, 1)


@pytest.mark.parametrize(
    ("unmet", "new", "error", "code"),
    [
        ((), NEW, InvalidArgument, "invalid_action"),  # the assessment met every criterion
        (("TC2",), NewCorrectiveAction("TC1", "x", "y", date(2027, 3, 1)), InvalidArgument, "invalid_action"),
        (("TC2",), NewCorrectiveAction("TC2", "x", "y", date(2020, 1, 1)), InvalidArgument, "invalid_action"),
    ],
)
async def test_an_action_follows_an_unmet_criterion_from_today_on(
    unmet: tuple[str, ...], new: NewCorrectiveAction, error: type[Exception], code: str
) -> None:
    uow = FakeActionsUnitOfWork()
    a = uow.finalised(UNIT, unmet=unmet)
    with pytest.raises(error) as refused:
        await service.create_action(uow, CreateCorrectiveAction(str(a.id), new), who(POLICE))
    assert refused.value.code == code
    assert (uow.audits, uow.events, uow.rollbacks) == ([], [], 1)


async def test_unknown_objects_are_not_found_and_nothing_is_written() -> None:
    uow = FakeActionsUnitOfWork()
    with pytest.raises(NotFound) as refused:
        await service.create_action(uow, CreateCorrectiveAction(str(uuid.uuid4()), NEW), who(POLICE))
    assert refused.value.code == "assessment_not_found"
    with pytest.raises(NotFound) as refused:
        await service.close_action(uow, CloseCorrectiveAction(str(uuid.uuid4())), who(POLICE))
    assert refused.value.code == "action_not_found"
    assert (uow.audits, uow.commits, uow.rollbacks) == ([], 0, 2)


async def test_a_unit_officer_lists_only_its_own_units_actions() -> None:
    uow = FakeActionsUnitOfWork()
    mine, theirs = uow.open_action(uow.finalised(UNIT)), uow.open_action(uow.finalised(OTHER_UNIT))
    everything = await service.list_actions(uow, ListCorrectiveActions(), who(POLICE))
    assert {a.id for a in everything} == {mine.id, theirs.id}
    own = await service.list_actions(uow, ListCorrectiveActions(), who(UNIT_OFFICER))
    assert [a.id for a in own] == [mine.id]
    with pytest.raises(PermissionDenied):
        await service.list_actions(uow, ListCorrectiveActions(unit_id=str(OTHER_UNIT)), who(UNIT_OFFICER))
    with pytest.raises(PermissionDenied) as refused:
        await service.list_actions(uow, ListCorrectiveActions(), who("camera_gateway"))
    assert refused.value.code == "role_required"
