"""Handlers of the corrective actions. Police or admin create an action for a criterion the finalised result
left unmet; police, admin or the officer of the unit close it. Each change is one transaction with its
audit row (corrective actions publish no event)."""

from __future__ import annotations

import uuid

from assessment.actions.domain import (
    ActionStatus,
    CloseCorrectiveAction,
    CorrectiveAction,
    CreateCorrectiveAction,
    ListCorrectiveActions,
    validate_action,
)
from assessment.actions.repository import ActionRepository
from assessment.rounds.domain import found
from assessment.rounds.repository import AssessmentRepository
from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    POLICE,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.uow import UnitOfWork

READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)


# Who writes (the HTTP door repeats these lists in a route dependency: 403 before the body is validated).
CREATORS = (POLICE, ADMIN)
CLOSERS = (POLICE, ADMIN, UNIT_OFFICER)  # a unit officer its own unit's actions


class ActionsUnitOfWork(UnitOfWork):
    corrective_actions: ActionRepository
    assessments: AssessmentRepository

    def bind(self, conn: Conn) -> None:
        self.corrective_actions = ActionRepository(conn)
        self.assessments = AssessmentRepository(conn)


async def create_action(
    uow: ActionsUnitOfWork, cmd: CreateCorrectiveAction, principal: Principal
) -> CorrectiveAction:
    require_roles(principal, *CREATORS)
    aid = parse_uuid(cmd.assessment_id, "assessment_id")
    async with uow:
        a = found(await uow.assessments.get(assessment_id=aid, for_update=True), aid)
        cleaned = validate_action(cmd.action, a, today=uow.today())
        action = await uow.corrective_actions.add(
            action_id=uuid.uuid4(), assessment_id=aid, cmd=cleaned, by=principal.subject
        )
        await uow.audit(
            action="corrective_action.create",
            object_type="corrective_action",
            object_id=str(action.id),
            unit_id=str(a.unit_id),
            details={
                "assessment_id": str(aid),
                "criterion": action.criterion_code,
                "due_on": action.due_on.isoformat(),
            },
        )
        return action


async def close_action(
    uow: ActionsUnitOfWork, cmd: CloseCorrectiveAction, principal: Principal
) -> CorrectiveAction:
    """Police or admin close an action; so may the officer of the unit that carried it out."""
    require_roles(principal, *CLOSERS)
    cid = parse_uuid(cmd.id)
    async with uow:
        action = await uow.corrective_actions.get(action_id=cid, for_update=True)
        if action is None:
            raise NotFound(
                f"no corrective action {cid}", code="action_not_found", resource_type="corrective_action",
                resource_id=str(cid),
            )  # fmt: skip
        if not principal.has_any(POLICE, ADMIN) and principal.unit_id != str(action.unit_id):
            raise PermissionDenied(
                "a unit officer reaches only its own unit", code="other_unit", resource_type="unit",
                resource_id=str(action.unit_id),
            )  # fmt: skip
        if action.status is ActionStatus.CLOSED:
            raise Conflict(
                "the corrective action is already closed", code="already_closed",
                resource_type="corrective_action", resource_id=str(cid),
            )  # fmt: skip
        closed = await uow.corrective_actions.close(
            action_id=cid, by=principal.subject, note=" ".join(cmd.note.split())[:4000]
        )
        await uow.audit(
            action="corrective_action.close",
            object_type="corrective_action",
            object_id=str(cid),
            unit_id=str(action.unit_id),
            details={"note": closed.closing_note, "changes": audit.changes(action, closed)},
        )
        return closed


async def list_actions(
    uow: ActionsUnitOfWork, query: ListCorrectiveActions, principal: Principal
) -> list[CorrectiveAction]:
    require_roles(principal, *READERS)
    aid = parse_uuid(query.assessment_id, "assessment_id") if query.assessment_id else None
    uid = parse_uuid(query.unit_id, "unit_id") if query.unit_id else None
    if query.status and query.status not in {s.value for s in ActionStatus}:
        raise InvalidArgument(
            "unknown status", code="invalid_filter", fields=[FieldProblem("status", "open or closed")]
        )
    if principal.is_unit_officer_only:
        ensure_unit_access(principal, str(uid) if uid else principal.unit_id)
        uid = parse_uuid(str(principal.unit_id), "unit_id")
    async with uow:
        return await uow.corrective_actions.find(
            assessment_id=aid, unit_id=uid, status=ActionStatus(query.status) if query.status else None
        )
