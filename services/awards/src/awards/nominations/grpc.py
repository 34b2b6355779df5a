"""gRPC methods of rounds, nominations and awards (part of d07.awards.v1.AwardsService, composed in
`awards.grpc`): thin, they convert messages and call the handlers."""

from __future__ import annotations

import grpc

from awards.config import AwardsDeps
from awards.nominations import messages as m
from awards.nominations import service
from awards.nominations.service import NominationsUnitOfWork
from d07.awards.v1 import awards_pb2 as pb
from d07.platform.convert import date_from_pb, parse_uuid
from d07.platform.grpc import current_principal

Ctx = grpc.aio.ServicerContext


class NominationsRpc:
    """Mixed into the AwardsService servicer, which holds the dependencies."""

    deps: AwardsDeps

    def _uow(self) -> NominationsUnitOfWork:
        return self.deps.uow(NominationsUnitOfWork)

    async def OpenRound(self, request: pb.OpenRoundRequest, context: Ctx) -> pb.OpenRoundResponse:
        cmd = service.OpenRound(
            title=request.title,
            period_start=m.required_date(request.period_start, "period_start"),
            period_end=m.required_date(request.period_end, "period_end"),
            nominations_open=m.required_date(request.nominations_open, "nominations_open"),
            nominations_close=m.required_date(request.nominations_close, "nominations_close"),
            min_passed_years=request.min_passed_years,
            require_training=request.require_training,
            council_members=tuple(request.council_members),
            quotas=m.quotas_of(request.quotas),
            historical=request.historical,
        )
        r = await service.open_round(self._uow(), cmd, current_principal())
        return pb.OpenRoundResponse(round=m.round_pb(r))

    async def GetRound(self, request: pb.GetRoundRequest, context: Ctx) -> pb.GetRoundResponse:
        query = service.GetRound(parse_uuid(request.id, "id"))
        return pb.GetRoundResponse(
            round=m.round_pb(await service.get_round(self._uow(), query, current_principal()))
        )

    async def CreateNomination(
        self, request: pb.CreateNominationRequest, context: Ctx
    ) -> pb.CreateNominationResponse:
        cmd = service.CreateNomination(
            round_id=parse_uuid(request.round_id, "round_id"),
            form_code=request.form_code,
            nominee=m.nominee_of(request.nominee),
            achievements=request.achievements,
            nominated_on=date_from_pb(request.nominated_on, "nominated_on"),
        )
        n = await service.create_nomination(self._uow(), cmd, current_principal())
        return pb.CreateNominationResponse(nomination=m.nomination_pb(n))

    async def CheckEligibility(
        self, request: pb.CheckEligibilityRequest, context: Ctx
    ) -> pb.CheckEligibilityResponse:
        query = service.CheckEligibility(
            parse_uuid(request.round_id, "round_id"), request.form_code, m.nominee_of(request.nominee)
        )
        rules = await service.check_eligibility(self._uow(), query, current_principal())
        return pb.CheckEligibilityResponse(
            eligible=all(o.passed for o in rules), rules=[m.outcome_pb(o) for o in rules]
        )

    async def SubmitNomination(
        self, request: pb.SubmitNominationRequest, context: Ctx
    ) -> pb.SubmitNominationResponse:
        cmd = service.NominationStep(parse_uuid(request.id, "id"))
        n = await service.submit_nomination(self._uow(), cmd, current_principal())
        return pb.SubmitNominationResponse(nomination=m.nomination_pb(n))

    async def ScreenNomination(
        self, request: pb.ScreenNominationRequest, context: Ctx
    ) -> pb.ScreenNominationResponse:
        cmd = service.NominationStep(parse_uuid(request.id, "id"))
        n = await service.screen_nomination(self._uow(), cmd, current_principal())
        return pb.ScreenNominationResponse(nomination=m.nomination_pb(n))

    async def SendToCouncil(self, request: pb.SendToCouncilRequest, context: Ctx) -> pb.SendToCouncilResponse:
        cmd = service.NominationStep(parse_uuid(request.id, "id"))
        n = await service.send_to_council(self._uow(), cmd, current_principal())
        return pb.SendToCouncilResponse(nomination=m.nomination_pb(n))

    async def CastVote(self, request: pb.CastVoteRequest, context: Ctx) -> pb.CastVoteResponse:
        cmd = service.CastVote(parse_uuid(request.nomination_id, "nomination_id"), request.approve)
        n = await service.cast_vote(self._uow(), cmd, current_principal())
        return pb.CastVoteResponse(nomination=m.nomination_pb(n))

    async def DecideNomination(
        self, request: pb.DecideNominationRequest, context: Ctx
    ) -> pb.DecideNominationResponse:
        cmd = service.DecideNomination(
            nomination_id=parse_uuid(request.nomination_id, "nomination_id"),
            decision_number=request.decision_number,
            decided_on=m.required_date(request.decided_on, "decided_on"),
            signer=request.signer,
        )
        award = await service.decide_nomination(self._uow(), cmd, current_principal())
        return pb.DecideNominationResponse(award=m.award_pb(award))

    async def RejectNomination(
        self, request: pb.RejectNominationRequest, context: Ctx
    ) -> pb.RejectNominationResponse:
        cmd = service.RejectNomination(parse_uuid(request.id, "id"), request.reason)
        n = await service.reject_nomination(self._uow(), cmd, current_principal())
        return pb.RejectNominationResponse(nomination=m.nomination_pb(n))

    async def RevokeAward(self, request: pb.RevokeAwardRequest, context: Ctx) -> pb.RevokeAwardResponse:
        cmd = service.RevokeAward(parse_uuid(request.id, "id"), request.reason)
        award = await service.revoke_award(self._uow(), cmd, current_principal())
        return pb.RevokeAwardResponse(award=m.award_pb(award))

    async def GetNomination(self, request: pb.GetNominationRequest, context: Ctx) -> pb.GetNominationResponse:
        query = service.GetNomination(parse_uuid(request.id, "id"))
        n = await service.get_nomination(self._uow(), query, current_principal())
        return pb.GetNominationResponse(nomination=m.nomination_pb(n))

    async def ListNominations(
        self, request: pb.ListNominationsRequest, context: Ctx
    ) -> pb.ListNominationsResponse:
        query = service.ListNominations(parse_uuid(request.round_id, "round_id"), request.status or None)
        found = await service.list_nominations(self._uow(), query, current_principal())
        return pb.ListNominationsResponse(nominations=[m.nomination_pb(n) for n in found])

    async def ListAwards(self, request: pb.ListAwardsRequest, context: Ctx) -> pb.ListAwardsResponse:
        query = service.ListAwards(parse_uuid(request.round_id, "round_id"))
        found = await service.list_awards(self._uow(), query, current_principal())
        return pb.ListAwardsResponse(awards=[m.award_pb(a) for a in found])
