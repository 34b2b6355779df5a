"""The known-unit method of d07.assessment.v1.AssessmentService (joined in `assessment.grpc`)."""

from __future__ import annotations

import grpc

from assessment.config import AssessmentDeps
from assessment.known_units import messages, service
from assessment.known_units.domain import GetKnownUnit
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.grpc import current_principal


class KnownUnitMethods:
    deps: AssessmentDeps

    async def GetKnownUnit(
        self, request: pb.GetKnownUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetKnownUnitResponse:
        u = await service.get_known_unit(
            self.deps.uow(service.KnownUnitsUnitOfWork), GetKnownUnit(request.unit_id), current_principal()
        )
        return pb.GetKnownUnitResponse(unit=messages.known_unit_to_pb(u))
