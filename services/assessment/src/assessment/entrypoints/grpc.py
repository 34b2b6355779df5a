"""gRPC door of assessment: d07.assessment.v1.AssessmentService."""

from __future__ import annotations

import asyncpg
import grpc

from assessment.domain.criteria import PassRule
from assessment.rounds.grpc import RoundsMethods
from assessment.rounds.messages import KIND_TO_PB
from assessment.service import handlers
from d07.assessment.v1 import assessment_pb2 as pb
from d07.assessment.v1 import assessment_pb2_grpc as pb_grpc
from d07.platform.grpc import current_principal

PASS_RULE_TO_PB = {
    PassRule.ALL_CRITERIA: pb.PASS_RULE_ALL_CRITERIA,
    PassRule.ALL_MANDATORY: pb.PASS_RULE_ALL_MANDATORY,
}


class AssessmentServicer(RoundsMethods, pb_grpc.AssessmentServiceServicer):
    """Criteria and known units here; rounds, assessments and corrective actions from `RoundsMethods`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ListCriteriaSets(
        self, request: pb.ListCriteriaSetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCriteriaSetsResponse:
        sets = await handlers.list_criteria_sets(self.pool, principal=current_principal())
        return pb.ListCriteriaSetsResponse(
            criteria_sets=[
                pb.CriteriaSet(
                    code=s.code,
                    version=s.version,
                    title=s.title,
                    valid_from_year=s.valid_from_year,
                    valid_to_year=s.valid_to_year or 0,
                    pass_rule=PASS_RULE_TO_PB[s.pass_rule],
                    unit_kinds=list(s.unit_kinds),
                    criteria=[
                        pb.Criterion(
                            code=c.code,
                            text=c.text,
                            mandatory=c.mandatory,
                            kind=KIND_TO_PB.get(c.kind, pb.CRITERION_KIND_UNSPECIFIED),
                            derivation=c.derivation or "",
                        )
                        for c in s.criteria
                    ],
                )
                for s in sets
            ]
        )

    async def GetKnownUnit(
        self, request: pb.GetKnownUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetKnownUnitResponse:
        u = await handlers.get_known_unit(self.pool, request.unit_id, principal=current_principal())
        return pb.GetKnownUnitResponse(
            unit=pb.KnownUnit(
                unit_id=str(u.unit_id), code=u.code, name=u.name, kind=u.kind, district_code=u.district_code
            )
        )


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_AssessmentServiceServicer_to_server(AssessmentServicer(pool), server)
