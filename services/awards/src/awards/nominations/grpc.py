"""gRPC methods of rounds, nominations and awards (part of d07.awards.v1.AwardsService): thin, they convert
messages and call the handlers."""

from __future__ import annotations

import asyncpg
import grpc

from awards.nominations import messages as m
from awards.nominations import service
from d07.awards.v1 import awards_pb2 as pb
from d07.platform.grpc import current_principal

Ctx = grpc.aio.ServicerContext


class NominationsRpc:
    """Mixed into the AwardsService servicer, which holds the pool."""

    pool: asyncpg.Pool

    async def OpenRound(self, request: pb.OpenRoundRequest, context: Ctx) -> pb.OpenRoundResponse:
        r = await service.open_round(
            self.pool,
            title=request.title,
            period_start=m.from_date(request.period_start, "period_start"),
            period_end=m.from_date(request.period_end, "period_end"),
            nominations_open=m.from_date(request.nominations_open, "nominations_open"),
            nominations_close=m.from_date(request.nominations_close, "nominations_close"),
            min_passed_years=request.min_passed_years,
            require_training=request.require_training,
            council_members=list(request.council_members),
            quotas=m.quotas_of(request.quotas),
            principal=current_principal(),
            historical=request.historical,
        )
        return pb.OpenRoundResponse(round=m.round_pb(r))

    async def GetRound(self, request: pb.GetRoundRequest, context: Ctx) -> pb.GetRoundResponse:
        r = await service.get_round(self.pool, m.parse_id(request.id, "id"), principal=current_principal())
        return pb.GetRoundResponse(round=m.round_pb(r))

    async def CreateNomination(
        self, request: pb.CreateNominationRequest, context: Ctx
    ) -> pb.CreateNominationResponse:
        row = await service.create_nomination(
            self.pool,
            round_id=m.parse_id(request.round_id, "round_id"),
            form_code=request.form_code,
            nominee=m.nominee_of(request.nominee),
            achievements=request.achievements,
            principal=current_principal(),
        )
        return pb.CreateNominationResponse(nomination=m.nomination_pb(row))

    async def CheckEligibility(
        self, request: pb.CheckEligibilityRequest, context: Ctx
    ) -> pb.CheckEligibilityResponse:
        rules = await service.check_eligibility(
            self.pool,
            m.parse_id(request.round_id, "round_id"),
            request.form_code,
            m.nominee_of(request.nominee),
            principal=current_principal(),
        )
        return pb.CheckEligibilityResponse(
            eligible=all(o.passed for o in rules), rules=[m.outcome_pb(o) for o in rules]
        )

    async def SubmitNomination(
        self, request: pb.SubmitNominationRequest, context: Ctx
    ) -> pb.SubmitNominationResponse:
        row = await service.submit_nomination(
            self.pool, m.parse_id(request.id, "id"), principal=current_principal()
        )
        return pb.SubmitNominationResponse(nomination=m.nomination_pb(row))

    async def ScreenNomination(
        self, request: pb.ScreenNominationRequest, context: Ctx
    ) -> pb.ScreenNominationResponse:
        row = await service.screen_nomination(
            self.pool, m.parse_id(request.id, "id"), principal=current_principal()
        )
        return pb.ScreenNominationResponse(nomination=m.nomination_pb(row))

    async def SendToCouncil(self, request: pb.SendToCouncilRequest, context: Ctx) -> pb.SendToCouncilResponse:
        row = await service.send_to_council(
            self.pool, m.parse_id(request.id, "id"), principal=current_principal()
        )
        return pb.SendToCouncilResponse(nomination=m.nomination_pb(row))

    async def CastVote(self, request: pb.CastVoteRequest, context: Ctx) -> pb.CastVoteResponse:
        row = await service.cast_vote(
            self.pool,
            m.parse_id(request.nomination_id, "nomination_id"),
            request.approve,
            principal=current_principal(),
        )
        return pb.CastVoteResponse(nomination=m.nomination_pb(row))

    async def DecideNomination(
        self, request: pb.DecideNominationRequest, context: Ctx
    ) -> pb.DecideNominationResponse:
        award = await service.decide_nomination(
            self.pool,
            m.parse_id(request.nomination_id, "nomination_id"),
            decision_number=request.decision_number,
            decided_on=m.from_date(request.decided_on, "decided_on"),
            signer=request.signer,
            principal=current_principal(),
        )
        return pb.DecideNominationResponse(award=m.award_pb(award))

    async def RejectNomination(
        self, request: pb.RejectNominationRequest, context: Ctx
    ) -> pb.RejectNominationResponse:
        row = await service.reject_nomination(
            self.pool, m.parse_id(request.id, "id"), request.reason, principal=current_principal()
        )
        return pb.RejectNominationResponse(nomination=m.nomination_pb(row))

    async def RevokeAward(self, request: pb.RevokeAwardRequest, context: Ctx) -> pb.RevokeAwardResponse:
        award = await service.revoke_award(
            self.pool, m.parse_id(request.id, "id"), request.reason, principal=current_principal()
        )
        return pb.RevokeAwardResponse(award=m.award_pb(award))

    async def GetNomination(self, request: pb.GetNominationRequest, context: Ctx) -> pb.GetNominationResponse:
        row = await service.get_nomination(
            self.pool, m.parse_id(request.id, "id"), principal=current_principal()
        )
        return pb.GetNominationResponse(nomination=m.nomination_pb(row))

    async def ListNominations(
        self, request: pb.ListNominationsRequest, context: Ctx
    ) -> pb.ListNominationsResponse:
        rows = await service.list_nominations(
            self.pool,
            m.parse_id(request.round_id, "round_id"),
            request.status or None,
            principal=current_principal(),
        )
        return pb.ListNominationsResponse(nominations=[m.nomination_pb(r) for r in rows])

    async def ListAwards(self, request: pb.ListAwardsRequest, context: Ctx) -> pb.ListAwardsResponse:
        rows = await service.list_awards(
            self.pool, m.parse_id(request.round_id, "round_id"), principal=current_principal()
        )
        return pb.ListAwardsResponse(awards=[m.award_pb(r) for r in rows])
