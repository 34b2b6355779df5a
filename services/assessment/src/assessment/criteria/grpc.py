"""The criteria methods of d07.assessment.v1.AssessmentService (joined in `assessment.grpc`)."""

from __future__ import annotations

import grpc

from assessment.config import AssessmentDeps
from assessment.criteria import messages, service
from assessment.criteria.domain import ListCriteriaSets
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.grpc import current_principal


class CriteriaMethods:
    deps: AssessmentDeps

    async def ListCriteriaSets(
        self, request: pb.ListCriteriaSetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCriteriaSetsResponse:
        sets = await service.list_criteria_sets(
            self.deps.uow(service.CriteriaUnitOfWork), ListCriteriaSets(), current_principal()
        )
        return pb.ListCriteriaSetsResponse(criteria_sets=[messages.criteria_set_to_pb(s) for s in sets])
