"""HTTP door of rounds, nominations and awards: thin, it builds the handlers' commands and reads their
answers into the response models."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from awards.config import AwardsDeps
from awards.nominations import service
from awards.nominations.domain import Nominee, Quota
from awards.nominations.service import NominationsUnitOfWork
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel


class QuotaBody(BaseModel):
    form_code: str
    recipient_kind: str
    quota: int


class RoundBody(BaseModel):
    title: str
    period_start: date
    period_end: date
    nominations_open: date
    nominations_close: date
    min_passed_years: int = 0
    require_training: bool = False
    council_members: list[str]
    quotas: list[QuotaBody] = Field(default_factory=list)
    # Entered from the paper records of a review held before the platform was in use.
    historical: bool = False


class NomineeBody(BaseModel):
    recipient_kind: str
    unit_id: uuid.UUID
    guard_id: uuid.UUID | None = None
    person_name: str | None = None

    def nominee(self) -> Nominee:
        name = (self.person_name or "").strip() or None
        return Nominee(self.recipient_kind, self.unit_id, self.guard_id, name)


class NominationBody(BaseModel):
    form_code: str
    nominee: NomineeBody
    achievements: str
    # Unset: today. A historical round's nomination carries the paper record's day, inside its window.
    nominated_on: date | None = None


class EligibilityBody(BaseModel):
    form_code: str
    nominee: NomineeBody


class VoteBody(BaseModel):
    approve: bool


class DecisionBody(BaseModel):
    decision_number: str
    decided_on: date
    signer: str


class ReasonBody(BaseModel):
    reason: str


# --- answers ------------------------------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    """An absent text as the empty string (as the protobuf messages carry it)."""
    return "" if value is None else value


class QuotaRead(ReadModel):
    form_code: str
    recipient_kind: str
    quota: int


class RoundRead(ReadModel):
    id: uuid.UUID
    title: str
    period_start: date
    period_end: date
    nominations_open: date
    nominations_close: date
    min_passed_years: int
    require_training: bool
    council_members: list[str]
    quotas: list[QuotaRead]
    historical: bool


class RuleOutcomeRead(ReadModel):
    rule: str
    passed: bool
    reason: str
    sources: list[str]


class EligibilityRead(ReadModel):
    eligible: bool
    rules: list[RuleOutcomeRead]


class NomineeRead(ReadModel):
    recipient_kind: str
    unit_id: str
    guard_id: str
    person_name: str

    @field_validator("unit_id", "guard_id", "person_name", mode="before")
    @classmethod
    def text(cls, value: Any) -> Any:
        return "" if value is None else str(value)


class NominationRead(ReadModel):
    id: uuid.UUID = Field(validation_alias="nomination_id")
    round_id: uuid.UUID
    form_code: str
    nominee: NomineeRead
    achievements: str
    proposer: str
    status: str
    eligibility: list[RuleOutcomeRead]
    needs_review: bool
    review_reason: str
    rejected_reason: str
    votes_for: int
    votes_against: int
    version: int

    @field_validator("review_reason", "rejected_reason", mode="before")
    @classmethod
    def blank_text(cls, value: Any) -> Any:
        return _blank(value)


class AwardRead(ReadModel):
    id: uuid.UUID
    nomination_id: uuid.UUID
    round_id: uuid.UUID
    form_code: str
    recipient_kind: str
    unit_id: uuid.UUID
    person_name: str
    decision_number: str
    decided_on: date
    signer: str
    issuer: str
    status: str
    revoked_reason: str

    @field_validator("person_name", "revoked_reason", mode="before")
    @classmethod
    def blank_text(cls, value: Any) -> Any:
        return _blank(value)


def router(deps: AwardsDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["award rounds and nominations"])

    def uow() -> NominationsUnitOfWork:
        return deps.uow(NominationsUnitOfWork)

    @api.post("/award-rounds", status_code=201, dependencies=[allowed(*service.ROUND_OPENERS)])
    async def open_round(body: RoundBody, caller: Caller) -> RoundRead:
        cmd = service.OpenRound(
            title=body.title,
            period_start=body.period_start,
            period_end=body.period_end,
            nominations_open=body.nominations_open,
            nominations_close=body.nominations_close,
            min_passed_years=body.min_passed_years,
            require_training=body.require_training,
            council_members=tuple(body.council_members),
            quotas=tuple(Quota(q.form_code, q.recipient_kind, q.quota) for q in body.quotas),
            historical=body.historical,
        )
        return RoundRead.model_validate(await service.open_round(uow(), cmd, caller))

    @api.get("/award-rounds/{round_id}")
    async def get_round(round_id: uuid.UUID, caller: Caller) -> RoundRead:
        return RoundRead.model_validate(await service.get_round(uow(), service.GetRound(round_id), caller))

    @api.post("/award-rounds/{round_id}/eligibility")
    async def check_eligibility(
        round_id: uuid.UUID, body: EligibilityBody, caller: Caller
    ) -> EligibilityRead:
        query = service.CheckEligibility(round_id, body.form_code, body.nominee.nominee())
        rules = await service.check_eligibility(uow(), query, caller)
        return EligibilityRead(
            eligible=all(o.passed for o in rules), rules=[RuleOutcomeRead.model_validate(o) for o in rules]
        )

    @api.post(
        "/award-rounds/{round_id}/nominations", status_code=201, dependencies=[allowed(*service.PROPOSERS)]
    )
    async def create_nomination(round_id: uuid.UUID, body: NominationBody, caller: Caller) -> NominationRead:
        cmd = service.CreateNomination(
            round_id, body.form_code, body.nominee.nominee(), body.achievements, body.nominated_on
        )
        return NominationRead.model_validate(await service.create_nomination(uow(), cmd, caller))

    @api.get("/award-rounds/{round_id}/nominations")
    async def list_nominations(
        round_id: uuid.UUID, caller: Caller, status: str | None = None
    ) -> list[NominationRead]:
        found = await service.list_nominations(uow(), service.ListNominations(round_id, status), caller)
        return [NominationRead.model_validate(n) for n in found]

    @api.get("/award-rounds/{round_id}/awards")
    async def list_awards(round_id: uuid.UUID, caller: Caller) -> list[AwardRead]:
        found = await service.list_awards(uow(), service.ListAwards(round_id), caller)
        return [AwardRead.model_validate(a) for a in found]

    @api.get("/nominations/{nomination_id}")
    async def get_nomination(nomination_id: uuid.UUID, caller: Caller) -> NominationRead:
        n = await service.get_nomination(uow(), service.GetNomination(nomination_id), caller)
        return NominationRead.model_validate(n)

    @api.post("/nominations/{nomination_id}/submit", dependencies=[allowed(*service.PROPOSERS)])
    async def submit(nomination_id: uuid.UUID, caller: Caller) -> NominationRead:
        n = await service.submit_nomination(uow(), service.NominationStep(nomination_id), caller)
        return NominationRead.model_validate(n)

    @api.post("/nominations/{nomination_id}/screen", dependencies=[allowed(*service.SECRETARIAT)])
    async def screen(nomination_id: uuid.UUID, caller: Caller) -> NominationRead:
        n = await service.screen_nomination(uow(), service.NominationStep(nomination_id), caller)
        return NominationRead.model_validate(n)

    @api.post("/nominations/{nomination_id}/council", dependencies=[allowed(*service.SECRETARIAT)])
    async def to_council(nomination_id: uuid.UUID, caller: Caller) -> NominationRead:
        n = await service.send_to_council(uow(), service.NominationStep(nomination_id), caller)
        return NominationRead.model_validate(n)

    @api.post("/nominations/{nomination_id}/votes")
    async def vote(nomination_id: uuid.UUID, body: VoteBody, caller: Caller) -> NominationRead:
        n = await service.cast_vote(uow(), service.CastVote(nomination_id, body.approve), caller)
        return NominationRead.model_validate(n)

    @api.post(
        "/nominations/{nomination_id}/decision", status_code=201, dependencies=[allowed(*service.DECIDERS)]
    )
    async def decide(nomination_id: uuid.UUID, body: DecisionBody, caller: Caller) -> AwardRead:
        cmd = service.DecideNomination(nomination_id, body.decision_number, body.decided_on, body.signer)
        return AwardRead.model_validate(await service.decide_nomination(uow(), cmd, caller))

    @api.post("/nominations/{nomination_id}/rejection", dependencies=[allowed(*service.REJECTERS)])
    async def reject(nomination_id: uuid.UUID, body: ReasonBody, caller: Caller) -> NominationRead:
        cmd = service.RejectNomination(nomination_id, body.reason)
        return NominationRead.model_validate(await service.reject_nomination(uow(), cmd, caller))

    @api.post("/awards/{award_id}/revocation", dependencies=[allowed(*service.DECIDERS)])
    async def revoke(award_id: uuid.UUID, body: ReasonBody, caller: Caller) -> AwardRead:
        cmd = service.RevokeAward(award_id, body.reason)
        return AwardRead.model_validate(await service.revoke_award(uow(), cmd, caller))

    return api
