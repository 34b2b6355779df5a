"""Handler tests of movement models with fakes: who may write them (the admin; a unit officer its own unit's
models, never a community's), the audit rows and events of each change, the stale-version refusals, and that a
refused command writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from d07.platform.auth import ADMIN, UNIT_OFFICER, Principal
from d07.platform.errors import PermissionDenied, StaleVersion
from registry.models import service
from registry.models.domain import CommunityHost, HostInput, ModelInput, ModelStatus, UnitHost
from registry.models.domain import StatusChange as ModelStatusChange
from registry.models.service import MODELS_TOPIC, ChangeModelStatus, UpdateModel
from tests.registry.service.fakes import COMMUNE_A, FakeModelsUnitOfWork, a_model
from tests.support.principals import acting, caller, every_role

Handler = Callable[[Any, Any, Principal], Awaitable[Any]]


async def run(handler: Handler, uow: FakeModelsUnitOfWork, cmd: Any, principal: Principal) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal)


def model_input(host: HostInput, name: str = "Trường học an toàn") -> ModelInput:
    return ModelInput(name=name, kind="safe_school", host=host, formation="built", formed_on=date(2025, 5, 1))


def with_model(uow: FakeModelsUnitOfWork, unit_id: uuid.UUID | None, **changes: Any) -> uuid.UUID:
    host = UnitHost(unit_id) if unit_id else CommunityHost(COMMUNE_A, "")
    model = a_model(host, **changes)
    uow.models.models[model.id] = model  # type: ignore[attr-defined]
    registration = ModelStatusChange(None, model.status, model.formed_on, "", "admin-tester")
    uow.models.changes[model.id] = [registration]  # type: ignore[attr-defined]
    return model.id


@dataclass
class Case:
    name: str
    handler: Handler
    build: Callable[[FakeModelsUnitOfWork, uuid.UUID], Any]


CASES = [
    Case("create", service.create_model, lambda uow, u: model_input(HostInput(unit_id=str(u)))),
    Case(
        "update",
        service.update_model,
        lambda uow, u: UpdateModel(str(with_model(uow, u)), 1, model_input(HostInput(unit_id=str(u)), "Mới")),
    ),
    Case(
        "status",
        service.change_status,
        lambda uow, u: ChangeModelStatus(str(with_model(uow, u)), 1, "consolidated", date(2026, 6, 1)),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", every_role())
async def test_the_admin_and_the_host_units_officer_write_a_model(role: str, case: Case) -> None:
    uow = FakeModelsUnitOfWork()
    unit_id = uow.models.add_unit()  # type: ignore[attr-defined]
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
async def test_a_unit_officer_cannot_write_another_units_model(case: Case) -> None:
    uow = FakeModelsUnitOfWork()
    unit_id = uow.models.add_unit()  # type: ignore[attr-defined]
    cmd = case.build(uow, unit_id)
    before = dict(uow.models.models)  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied) as refused:
        await run(case.handler, uow, cmd, caller(UNIT_OFFICER, unit_id=uuid.uuid4()))
    assert refused.value.code == "other_unit"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.models.models == before  # type: ignore[attr-defined]


async def test_a_unit_officer_never_writes_a_community_model() -> None:
    uow = FakeModelsUnitOfWork()
    own = uow.models.add_unit()  # type: ignore[attr-defined]
    community = model_input(HostInput(commune_code=COMMUNE_A, residential_area="Tổ dân phố số 3"))
    with pytest.raises(PermissionDenied) as refused:
        await run(service.create_model, uow, community, caller(UNIT_OFFICER, unit_id=own))
    assert refused.value.code == "community_model"
    model_id = with_model(uow, None)
    with pytest.raises(PermissionDenied):
        await run(
            service.update_model,
            uow,
            UpdateModel(str(model_id), 1, community),
            caller(UNIT_OFFICER, unit_id=own),
        )
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


async def test_each_change_is_audited_and_announced_by_the_model() -> None:
    uow = FakeModelsUnitOfWork()
    unit_id = uow.models.add_unit()  # type: ignore[attr-defined]
    model = await run(service.create_model, uow, model_input(HostInput(unit_id=str(unit_id))), caller(ADMIN))
    mid = str(model.id)
    await run(
        service.update_model,
        uow,
        UpdateModel(mid, 1, model_input(HostInput(unit_id=str(unit_id)), "B")),
        caller(ADMIN),
    )
    changed = await run(
        service.change_status,
        uow,
        ChangeModelStatus(mid, 2, "effective", date(2026, 6, 1), "Tốt"),
        caller(ADMIN),
    )
    assert changed.status is ModelStatus.EFFECTIVE
    assert [(a.action, a.object_type, a.object_id, a.unit_id) for a in uow.audits] == [
        ("model.create", "model", mid, str(unit_id)),
        ("model.update", "model", mid, str(unit_id)),
        ("model.status", "model", mid, str(unit_id)),
    ]
    assert uow.audits[2].details["status"] == "effective"
    assert uow.audits[1].details["changes"] == {"name": {"old": "Trường học an toàn", "new": "B"}}
    assert uow.audits[2].details["changes"] == {
        "status": {"old": "built", "new": "effective"},
        "status_on": {"old": "2025-05-01", "new": "2026-06-01"},
    }
    assert [(e.topic, e.key) for e in uow.events] == [(MODELS_TOPIC, mid)] * 3
    assert uow.event_types() == ["ModelCreated", "ModelUpdated", "ModelStatusChanged"]
    assert uow.events[2].message.change.note == "Tốt"  # type: ignore[attr-defined]


STALE = [
    (
        "update",
        service.update_model,
        lambda uow, u: UpdateModel(
            str(with_model(uow, u, version=2)), 1, model_input(HostInput(unit_id=str(u)))
        ),
    ),
    (
        "status",
        service.change_status,
        lambda uow, u: ChangeModelStatus(str(with_model(uow, u, version=2)), 1, "inactive", date(2026, 6, 1)),
    ),
]


@pytest.mark.parametrize(("name", "handler", "build"), STALE, ids=[s[0] for s in STALE])
async def test_a_stale_version_is_refused_and_writes_nothing(name: str, handler: Handler, build: Any) -> None:
    uow = FakeModelsUnitOfWork()
    unit_id = uow.models.add_unit()  # type: ignore[attr-defined]
    cmd = build(uow, unit_id)
    before = dict(uow.models.models)  # type: ignore[attr-defined]
    with pytest.raises(StaleVersion) as refused:
        await run(handler, uow, cmd, caller(ADMIN))
    assert refused.value.code == "stale_version"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.models.models == before  # type: ignore[attr-defined]


async def test_the_host_is_checked_before_the_rest_of_the_command() -> None:
    uow = FakeModelsUnitOfWork()
    other = uow.models.add_unit()  # type: ignore[attr-defined]
    bad = ModelInput(name="", kind="?", host=HostInput(unit_id=str(other)), formation="?", formed_on=None)
    with pytest.raises(PermissionDenied) as refused:
        await run(service.create_model, uow, bad, caller(UNIT_OFFICER, unit_id=uuid.uuid4()))
    assert refused.value.code == "other_unit"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
