"""gRPC methods of rounds, assessments and corrective actions, part of d07.assessment.v1.AssessmentService
(joined with the criteria methods in `assessment.entrypoints.grpc`). Thin: messages in and out."""

from __future__ import annotations

import asyncpg
import grpc

from assessment.rounds import messages as m
from assessment.rounds import service
from assessment.rounds.domain import ListAssessments, NewCorrectiveAction, OpenRound
from d07.assessment.v1 import assessment_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform.grpc import current_principal

Ctx = grpc.aio.ServicerContext


class RoundsMethods:
    pool: asyncpg.Pool

    async def OpenRound(self, request: pb.OpenRoundRequest, context: Ctx) -> pb.OpenRoundResponse:
        cmd = OpenRound(
            year=request.year,
            self_assessment_due=m.date_from_pb(request.self_assessment_due, "self_assessment_due"),
            verification_due=m.date_from_pb(request.verification_due, "verification_due"),
            district_code=request.district_code,
            title=request.title,
        )
        round_ = await service.open_round(self.pool, cmd, principal=current_principal())
        return pb.OpenRoundResponse(round=m.round_to_pb(round_))

    async def GetRound(self, request: pb.GetRoundRequest, context: Ctx) -> pb.GetRoundResponse:
        round_ = await service.get_round(self.pool, request.id, principal=current_principal())
        return pb.GetRoundResponse(round=m.round_to_pb(round_))

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Ctx) -> pb.ListRoundsResponse:
        rounds = await service.list_rounds(self.pool, year=request.year, principal=current_principal())
        return pb.ListRoundsResponse(rounds=[m.round_to_pb(r) for r in rounds])

    async def GetRoundProgress(
        self, request: pb.GetRoundProgressRequest, context: Ctx
    ) -> pb.GetRoundProgressResponse:
        round_, rows = await service.round_progress(self.pool, request.id, principal=current_principal())
        return pb.GetRoundProgressResponse(
            round=m.round_to_pb(round_), rows=[m.progress_to_pb(r) for r in rows]
        )

    async def ListAssessments(
        self, request: pb.ListAssessmentsRequest, context: Ctx
    ) -> pb.ListAssessmentsResponse:
        query = ListAssessments(
            round_id=request.round_id, district_code=request.district_code, unit_kind=request.unit_kind,
            status=m.STATUS_FROM_PB.get(request.status, ""), unit_id=request.unit_id, year=request.year,
            page_size=request.page.page_size, page_token=request.page.page_token,
        )  # fmt: skip
        page, token = await service.list_assessments(self.pool, query, principal=current_principal())
        return pb.ListAssessmentsResponse(
            assessments=[m.assessment_to_pb(a) for a in page], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def GetAssessment(self, request: pb.GetAssessmentRequest, context: Ctx) -> pb.GetAssessmentResponse:
        d = await service.get_assessment(self.pool, request.id, principal=current_principal())
        return pb.GetAssessmentResponse(
            assessment=m.assessment_to_pb(d.assessment),
            answers=[m.answer_to_pb(v) for v in d.answers],
            history=[m.revision_to_pb(r) for r in d.history],
            review_flags=[m.flag_to_pb(f) for f in d.review_flags],
        )

    async def SaveAnswers(self, request: pb.SaveAnswersRequest, context: Ctx) -> pb.SaveAnswersResponse:
        a = await service.save_answers(
            self.pool,
            request.id,
            m.self_answers_from_pb(list(request.answers)),
            principal=current_principal(),
        )
        return pb.SaveAnswersResponse(assessment=m.assessment_to_pb(a))

    async def SubmitAssessment(
        self, request: pb.SubmitAssessmentRequest, context: Ctx
    ) -> pb.SubmitAssessmentResponse:
        a = await service.submit(
            self.pool,
            request.id,
            m.self_answers_from_pb(list(request.answers)),
            principal=current_principal(),
        )
        return pb.SubmitAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def VerifyAssessment(
        self, request: pb.VerifyAssessmentRequest, context: Ctx
    ) -> pb.VerifyAssessmentResponse:
        a = await service.verify(
            self.pool, request.id, m.verdicts_from_pb(list(request.verdicts)), principal=current_principal()
        )
        return pb.VerifyAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def FinaliseAssessment(
        self, request: pb.FinaliseAssessmentRequest, context: Ctx
    ) -> pb.FinaliseAssessmentResponse:
        a = await service.finalise(self.pool, request.id, principal=current_principal())
        return pb.FinaliseAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def ReviseAssessment(
        self, request: pb.ReviseAssessmentRequest, context: Ctx
    ) -> pb.ReviseAssessmentResponse:
        a = await service.revise(
            self.pool, request.id, request.reason, m.verdicts_from_pb(list(request.verdicts)),
            principal=current_principal(),
        )  # fmt: skip
        return pb.ReviseAssessmentResponse(assessment=m.assessment_to_pb(a))

    async def CreateCorrectiveAction(
        self, request: pb.CreateCorrectiveActionRequest, context: Ctx
    ) -> pb.CreateCorrectiveActionResponse:
        cmd = NewCorrectiveAction(
            criterion_code=request.criterion_code, action=request.action, owner=request.owner,
            due_on=m.date_from_pb(request.due_on, "due_on"),
        )  # fmt: skip
        action = await service.create_action(
            self.pool, request.assessment_id, cmd, principal=current_principal()
        )
        return pb.CreateCorrectiveActionResponse(corrective_action=m.action_to_pb(action))

    async def CloseCorrectiveAction(
        self, request: pb.CloseCorrectiveActionRequest, context: Ctx
    ) -> pb.CloseCorrectiveActionResponse:
        action = await service.close_action(
            self.pool, request.id, request.note, principal=current_principal()
        )
        return pb.CloseCorrectiveActionResponse(corrective_action=m.action_to_pb(action))

    async def ListCorrectiveActions(
        self, request: pb.ListCorrectiveActionsRequest, context: Ctx
    ) -> pb.ListCorrectiveActionsResponse:
        actions = await service.list_actions(
            self.pool, assessment_id=request.assessment_id, unit_id=request.unit_id, status=request.status,
            principal=current_principal(),
        )  # fmt: skip
        return pb.ListCorrectiveActionsResponse(corrective_actions=[m.action_to_pb(a) for a in actions])
