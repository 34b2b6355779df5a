"""The corrective-action methods of d07.assessment.v1.AssessmentService (joined in `assessment.grpc`)."""

from __future__ import annotations

import grpc

from assessment.actions import messages, service
from assessment.actions.domain import (
    CloseCorrectiveAction,
    CreateCorrectiveAction,
    ListCorrectiveActions,
    NewCorrectiveAction,
)
from assessment.config import AssessmentDeps
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.convert import date_from_pb
from d07.platform.grpc import current_principal

Ctx = grpc.aio.ServicerContext


class ActionsMethods:
    deps: AssessmentDeps

    async def CreateCorrectiveAction(
        self, request: pb.CreateCorrectiveActionRequest, context: Ctx
    ) -> pb.CreateCorrectiveActionResponse:
        new = NewCorrectiveAction(
            criterion_code=request.criterion_code, action=request.action, owner=request.owner,
            due_on=date_from_pb(request.due_on, "due_on"),
        )  # fmt: skip
        action = await service.create_action(
            self.deps.uow(service.ActionsUnitOfWork),
            CreateCorrectiveAction(request.assessment_id, new),
            current_principal(),
        )
        return pb.CreateCorrectiveActionResponse(corrective_action=messages.action_to_pb(action))

    async def CloseCorrectiveAction(
        self, request: pb.CloseCorrectiveActionRequest, context: Ctx
    ) -> pb.CloseCorrectiveActionResponse:
        action = await service.close_action(
            self.deps.uow(service.ActionsUnitOfWork),
            CloseCorrectiveAction(request.id, request.note),
            current_principal(),
        )
        return pb.CloseCorrectiveActionResponse(corrective_action=messages.action_to_pb(action))

    async def ListCorrectiveActions(
        self, request: pb.ListCorrectiveActionsRequest, context: Ctx
    ) -> pb.ListCorrectiveActionsResponse:
        query = ListCorrectiveActions(request.assessment_id, request.unit_id, request.status)
        actions = await service.list_actions(
            self.deps.uow(service.ActionsUnitOfWork), query, current_principal()
        )
        return pb.ListCorrectiveActionsResponse(
            corrective_actions=[messages.action_to_pb(a) for a in actions]
        )
