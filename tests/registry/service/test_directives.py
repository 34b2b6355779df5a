"""Handler tests of directive documents with fakes: who may issue, update and distribute (the admin) and
acknowledge (a unit officer for its own unit, the admin on a unit's behalf), the audit rows and events (keyed
by the document), the stale-version refusal, and that a refused command writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from d07.platform.auth import ADMIN, UNIT_OFFICER, Principal
from d07.platform.errors import PermissionDenied, StaleVersion
from d07.registry.v1 import directives_pb2 as pb
from registry.directives import service
from registry.directives.domain import (
    AcknowledgeDocument,
    DistributeDocument,
    IssueDocument,
    UnitSelector,
    UpdateDocument,
)
from registry.directives.service import TOPIC
from tests.registry.service.fakes import DISTRICT_A, DISTRICT_B, FakeDirectivesUnitOfWork, a_document
from tests.support.principals import acting, caller, every_role

Handler = Callable[[Any, Any, Principal], Awaitable[Any]]
ISSUE = IssueDocument(
    number="12/KH-UBND", kind="plan", title="Kế hoạch triển khai Chỉ thị 07", issued_on=date(2015, 1, 20),
    issuer="UBND tỉnh",
)  # fmt: skip


async def run(handler: Handler, uow: FakeDirectivesUnitOfWork, cmd: Any, principal: Principal) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal)


def distributed(uow: FakeDirectivesUnitOfWork) -> tuple[uuid.UUID, uuid.UUID]:
    document_id = uow.documents.put(a_document())  # type: ignore[attr-defined]
    unit_id = uow.documents.add_unit()  # type: ignore[attr-defined]
    uow.documents._give(document_id, unit_id, "admin")  # type: ignore[attr-defined]
    return document_id, unit_id


@dataclass
class Case:
    name: str
    handler: Handler
    build: Callable[[FakeDirectivesUnitOfWork], tuple[Any, uuid.UUID | None]]
    allowed: tuple[str, ...] = (ADMIN,)


def _update(uow: FakeDirectivesUnitOfWork) -> tuple[Any, None]:
    document_id = uow.documents.put(a_document())  # type: ignore[attr-defined]
    return UpdateDocument(str(document_id), 1, title="Tiêu đề mới"), None


def _distribute(uow: FakeDirectivesUnitOfWork) -> tuple[Any, None]:
    document_id = uow.documents.put(a_document())  # type: ignore[attr-defined]
    unit_id = uow.documents.add_unit()  # type: ignore[attr-defined]
    return DistributeDocument(str(document_id), unit_ids=(str(unit_id),)), None


def _acknowledge(uow: FakeDirectivesUnitOfWork) -> tuple[Any, uuid.UUID]:
    document_id, unit_id = distributed(uow)
    return AcknowledgeDocument(str(document_id), str(unit_id), "Đã nhận"), unit_id


CASES = [
    Case("issue", service.issue_document, lambda uow: (ISSUE, None)),
    Case("update", service.update_document, _update),
    Case("distribute", service.distribute_document, _distribute),
    Case("acknowledge", service.acknowledge_document, _acknowledge, (ADMIN, UNIT_OFFICER)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", every_role())
async def test_who_may_issue_update_distribute_and_acknowledge(role: str, case: Case) -> None:
    uow = FakeDirectivesUnitOfWork()
    cmd, unit_id = case.build(uow)
    principal = caller(role, unit_id=(unit_id or uuid.uuid4()) if role == UNIT_OFFICER else None)
    if role in case.allowed:
        await run(case.handler, uow, cmd, principal)
        assert uow.commits == 1
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(case.handler, uow, cmd, principal)
        assert refused.value.code == "role_required"
        assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


async def test_a_unit_officer_acknowledges_only_for_its_own_unit() -> None:
    uow = FakeDirectivesUnitOfWork()
    cmd, _ = _acknowledge(uow)
    with pytest.raises(PermissionDenied) as refused:
        await run(service.acknowledge_document, uow, cmd, caller(UNIT_OFFICER, unit_id=uuid.uuid4()))
    assert refused.value.code == "other_unit"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert all(r.acknowledged_at is None for r in uow.documents.receipts.values())  # type: ignore[attr-defined]


async def test_issue_and_update_are_audited_and_announced_by_the_document() -> None:
    uow = FakeDirectivesUnitOfWork()
    document = await run(service.issue_document, uow, ISSUE, caller(ADMIN))
    did = str(document.id)
    await run(service.update_document, uow, UpdateDocument(did, 1, summary="Tóm tắt"), caller(ADMIN))
    assert [(a.action, a.object_type, a.object_id) for a in uow.audits] == [
        ("document.issue", "document", did),
        ("document.update", "document", did),
    ]
    assert uow.audits[1].details["changes"] == {"summary": {"old": ISSUE.summary, "new": "Tóm tắt"}}
    assert [(e.topic, e.key) for e in uow.events] == [(TOPIC, did)] * 2
    assert uow.event_types() == ["DocumentIssued", "DocumentUpdated"]
    assert uow.events[1].message.document.version == 2  # type: ignore[attr-defined]


async def test_a_distribution_is_one_audit_row_and_one_event_for_every_unit_it_reached() -> None:
    uow = FakeDirectivesUnitOfWork()
    document_id = uow.documents.put(a_document())  # type: ignore[attr-defined]
    in_a = [uow.documents.add_unit() for _ in range(3)]  # type: ignore[attr-defined]
    uow.documents.add_unit(district=DISTRICT_B)  # type: ignore[attr-defined]
    cmd = DistributeDocument(str(document_id), selector=UnitSelector(district_code=DISTRICT_A))
    result = await run(service.distribute_document, uow, cmd, caller(ADMIN))
    assert (sorted(result.added_unit_ids), result.matched_count) == (sorted(in_a), 3)
    [audit] = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == (
        "document.distribute",
        "document",
        str(document_id),
    )
    assert (audit.details["added"], audit.details["matched"]) == (3, 3)
    [event] = uow.events
    assert (event.topic, event.key, event.type) == (
        TOPIC,
        str(document_id),
        "d07.registry.v1.DocumentDistributed",
    )
    assert isinstance(event.message, pb.DocumentDistributed)
    assert sorted(event.message.unit_ids) == sorted(str(u) for u in in_a)
    # again: nothing new reached, nothing written
    await run(service.distribute_document, uow, cmd, caller(ADMIN))
    assert (len(uow.audits), len(uow.events)) == (1, 1)


async def test_an_acknowledgement_is_audited_and_announced_once() -> None:
    uow = FakeDirectivesUnitOfWork()
    cmd, unit_id = _acknowledge(uow)
    officer = caller(UNIT_OFFICER, unit_id=unit_id)
    first = await run(service.acknowledge_document, uow, cmd, officer)
    again = await run(service.acknowledge_document, uow, cmd, officer)
    assert again == first
    [audit] = uow.audits
    assert (audit.action, audit.object_type, audit.object_id, audit.unit_id) == (
        "document.acknowledge", "document", cmd.document_id, str(unit_id),
    )  # fmt: skip
    [event] = uow.events
    assert (event.topic, event.key, event.type) == (
        TOPIC,
        cmd.document_id,
        "d07.registry.v1.DocumentAcknowledged",
    )


async def test_a_stale_version_is_refused_and_writes_nothing() -> None:
    uow = FakeDirectivesUnitOfWork()
    document = a_document(version=3)
    uow.documents.put(document)  # type: ignore[attr-defined]
    with pytest.raises(StaleVersion) as refused:
        await run(service.update_document, uow, UpdateDocument(str(document.id), 2, title="X"), caller(ADMIN))
    assert refused.value.code == "stale_version"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.documents.documents[document.id] == document  # type: ignore[attr-defined]
