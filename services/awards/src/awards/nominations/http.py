"""HTTP door of rounds, nominations and awards: thin, it builds the handlers' arguments."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field

from awards.nominations import messages, service
from awards.nominations.domain import Nominee, Quota, Round
from d07.platform.http import Caller


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


def round_dict(r: Round) -> dict[str, Any]:
    d = asdict(r)
    d["id"] = str(r.id)
    d["council_members"] = list(r.council_members)
    d["quotas"] = [asdict(q) for q in r.quotas]
    return d


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["award rounds and nominations"])

    @api.post("/award-rounds", status_code=201)
    async def open_round(body: RoundBody, caller: Caller) -> dict[str, Any]:
        r = await service.open_round(
            pool,
            title=body.title,
            period_start=body.period_start,
            period_end=body.period_end,
            nominations_open=body.nominations_open,
            nominations_close=body.nominations_close,
            min_passed_years=body.min_passed_years,
            require_training=body.require_training,
            council_members=body.council_members,
            quotas=tuple(Quota(q.form_code, q.recipient_kind, q.quota) for q in body.quotas),
            principal=caller,
            historical=body.historical,
        )
        return round_dict(r)

    @api.get("/award-rounds/{round_id}")
    async def get_round(round_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
        return round_dict(await service.get_round(pool, round_id, principal=caller))

    @api.post("/award-rounds/{round_id}/eligibility")
    async def check_eligibility(round_id: uuid.UUID, body: EligibilityBody, caller: Caller) -> dict[str, Any]:
        rules = await service.check_eligibility(
            pool, round_id, body.form_code, body.nominee.nominee(), principal=caller
        )
        return {"eligible": all(o.passed for o in rules), "rules": [asdict(o) for o in rules]}

    @api.post("/award-rounds/{round_id}/nominations", status_code=201)
    async def create_nomination(round_id: uuid.UUID, body: NominationBody, caller: Caller) -> dict[str, Any]:
        row = await service.create_nomination(
            pool,
            round_id=round_id,
            form_code=body.form_code,
            nominee=body.nominee.nominee(),
            achievements=body.achievements,
            principal=caller,
        )
        return messages.nomination_dict(row)

    @api.get("/award-rounds/{round_id}/nominations")
    async def list_nominations(
        round_id: uuid.UUID, caller: Caller, status: str | None = None
    ) -> list[dict[str, Any]]:
        rows = await service.list_nominations(pool, round_id, status, principal=caller)
        return [messages.nomination_dict(r) for r in rows]

    @api.get("/award-rounds/{round_id}/awards")
    async def list_awards(round_id: uuid.UUID, caller: Caller) -> list[dict[str, Any]]:
        return [messages.award_dict(r) for r in await service.list_awards(pool, round_id, principal=caller)]

    @api.get("/nominations/{nomination_id}")
    async def get_nomination(nomination_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
        return messages.nomination_dict(await service.get_nomination(pool, nomination_id, principal=caller))

    @api.post("/nominations/{nomination_id}/submit")
    async def submit(nomination_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
        return messages.nomination_dict(
            await service.submit_nomination(pool, nomination_id, principal=caller)
        )

    @api.post("/nominations/{nomination_id}/screen")
    async def screen(nomination_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
        return messages.nomination_dict(
            await service.screen_nomination(pool, nomination_id, principal=caller)
        )

    @api.post("/nominations/{nomination_id}/council")
    async def to_council(nomination_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
        return messages.nomination_dict(await service.send_to_council(pool, nomination_id, principal=caller))

    @api.post("/nominations/{nomination_id}/votes")
    async def vote(nomination_id: uuid.UUID, body: VoteBody, caller: Caller) -> dict[str, Any]:
        return messages.nomination_dict(
            await service.cast_vote(pool, nomination_id, body.approve, principal=caller)
        )

    @api.post("/nominations/{nomination_id}/decision", status_code=201)
    async def decide(nomination_id: uuid.UUID, body: DecisionBody, caller: Caller) -> dict[str, Any]:
        award = await service.decide_nomination(
            pool,
            nomination_id,
            decision_number=body.decision_number,
            decided_on=body.decided_on,
            signer=body.signer,
            principal=caller,
        )
        return messages.award_dict(award)

    @api.post("/nominations/{nomination_id}/rejection")
    async def reject(nomination_id: uuid.UUID, body: ReasonBody, caller: Caller) -> dict[str, Any]:
        return messages.nomination_dict(
            await service.reject_nomination(pool, nomination_id, body.reason, principal=caller)
        )

    @api.post("/awards/{award_id}/revocation")
    async def revoke(award_id: uuid.UUID, body: ReasonBody, caller: Caller) -> dict[str, Any]:
        return messages.award_dict(await service.revoke_award(pool, award_id, body.reason, principal=caller))

    return api
