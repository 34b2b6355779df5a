"""The rounds and assessments methods of d07.assessment.v1.AssessmentService (joined in `assessment.grpc`).
Thin: messages in and out."""

from __future__ import annotations

import grpc

from assessment.config import AssessmentDeps
from assessment.rounds import messages as m
from assessment.rounds import service
from assessment.rounds.domain import (
    FinaliseAssessment,
    GetAssessment,
    GetRound,
    GetRoundProgress,
    ListAssessments,
    ListRounds,
    OpenRound,
    ReviseAssessment,
    SaveAnswers,
    SubmitAssessment,
    VerifyAssessment,
)
from d07.assessment.v1 import assessment_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform.convert import date_from_pb
from d07.platform.grpc import current_principal

Ctx = grpc.aio.ServicerContext


class RoundsMethods:
    deps: AssessmentDeps

    def _uow(self) -> service.RoundsUnitOfWork:
        return self.deps.uow(service.RoundsUnitOfWork)

    async def OpenRound(self, request: pb.OpenRoundRequest, context: Ctx) -> pb.OpenRoundResponse:
        cmd = OpenRound(
            year=request.year,
            self_assessment_due=date_from_pb(request.self_assessment_due, "self_assessment_due"),
            verification_due=date_from_pb(request.verification_due, "verification_due"),
            district_code=request.district_code,
            title=request.title,
        )
        round_ = await service.open_round(self._uow(), cmd, current_principal())
        return pb.OpenRoundResponse(round=m.round_to_pb(round_))

    async def GetRound(self, request: pb.GetRoundRequest, context: Ctx) -> pb.GetRoundResponse:
        round_ = await service.get_round(self._uow(), GetRound(request.id), current_principal())
        return pb.GetRoundResponse(round=m.round_to_pb(round_))

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Ctx) -> pb.ListRoundsResponse:
        rounds = await service.list_rounds(self._uow(), ListRounds(request.year), current_principal())
        return pb.ListRoundsResponse(rounds=[m.round_to_pb(r) for r in rounds])

    async def GetRoundProgress(
        self, request: pb.GetRoundProgressRequest, context: Ctx
    ) -> pb.GetRoundProgressResponse:
        round_, rows = await service.round_progress(
            self._uow(), GetRoundProgress(request.id), current_principal()
        )
        return pb.GetRoundProgressResponse(
            round=m.round_to_pb(round_), rows=[m.progress_to_pb(r) for r in rows]
        )

    async def ListAssessments(
        self, request: pb.ListAssessmentsRequest, context: Ctx
    ) -> pb.ListAssessmentsResponse:
        query = ListAssessments(
            round_id=request.round_id, district_code=request.district_code, unit_kind=request.unit_kind,
            status=m.status_filter_from_pb(request.status), unit_id=request.unit_id, year=request.year,
            page_size=request.page.page_size, page_token=request.page.page_token,
        )  # fmt: skip
        page, token = await service.list_assessments(self._uow(), query, current_principal())
        return pb.ListAssessmentsResponse(
            assessments=[m.assessment_to_pb(a) for a in page], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def GetAssessment(self, request: pb.GetAssessmentRequest, context: Ctx) -> pb.GetAssessmentResponse:
        d = await service.get_assessment(self._uow(), GetAssessment(request.id), current_principal())
        return pb.GetAssessmentResponse(
            assessment=m.assessment_to_pb(d.assessment),
            answers=[m.answer_to_pb(v) for v in d.answers],
            history=[m.revision_to_pb(r) for r in d.history],
            review_flags=[m.flag_to_pb(f) for f in d.review_flags],
        )

    async def SaveAnswers(self, request: pb.SaveAnswersRequest, context: Ctx) -> pb.SaveAnswersResponse:
        cmd = SaveAnswers(request.id, m.self_answers_from_pb(request.answers))
        a = await service.save_answers(self._uow(), cmd, current_principal())
        return pb.SaveAnswersResponse(assessment=m.assessment_to_pb(a))

    async def SubmitAssessment(
        self, request: pb.SubmitAssessmentRequest, context: Ctx
    ) -> pb.SubmitAssessmentResponse:
        cmd = SubmitAssessment(request.id, m.self_answers_from_pb(request.answers))
        a = await service.submit(self._uow(), cmd, current_principal())
        return pb.SubmitAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def VerifyAssessment(
        self, request: pb.VerifyAssessmentRequest, context: Ctx
    ) -> pb.VerifyAssessmentResponse:
        cmd = VerifyAssessment(request.id, m.verdicts_from_pb(request.verdicts))
        a = await service.verify(self._uow(), cmd, current_principal())
        return pb.VerifyAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def FinaliseAssessment(
        self, request: pb.FinaliseAssessmentRequest, context: Ctx
    ) -> pb.FinaliseAssessmentResponse:
        a = await service.finalise(self._uow(), FinaliseAssessment(request.id), current_principal())
        return pb.FinaliseAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def ReviseAssessment(
        self, request: pb.ReviseAssessmentRequest, context: Ctx
    ) -> pb.ReviseAssessmentResponse:
        cmd = ReviseAssessment(request.id, request.reason, m.verdicts_from_pb(request.verdicts))
        a = await service.revise(self._uow(), cmd, current_principal())
        return pb.ReviseAssessmentResponse(assessment=m.assessment_to_pb(a))
