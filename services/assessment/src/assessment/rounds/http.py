"""HTTP door of rounds and assessments (FastAPI): the same handlers as gRPC."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import AliasChoices, BaseModel, Field, model_validator

from assessment.config import AssessmentDeps
from assessment.rounds import service
from assessment.rounds.domain import (
    AssessmentDetail,
    FinaliseAssessment,
    GetAssessment,
    GetRound,
    GetRoundProgress,
    ListAssessments,
    ListRounds,
    OpenRound,
    ReviseAssessment,
    SaveAnswers,
    SelfAnswer,
    SubmitAssessment,
    Verdict,
    VerifyAssessment,
)
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel


class RoundCreate(BaseModel):
    year: int = Field(examples=[2024])
    district_code: str = Field(default="", description="empty: the whole province", examples=["001"])
    title: str = ""
    self_assessment_due: date | None = None
    verification_due: date | None = None

    def command(self) -> OpenRound:
        return OpenRound(
            self.year, self.self_assessment_due, self.verification_due, self.district_code, self.title
        )


class RoundRead(ReadModel):
    id: uuid.UUID
    year: int
    district_code: str
    title: str
    self_assessment_due: date
    verification_due: date
    status: str
    unit_count: int
    opened_by: str
    opened_at: datetime


class ProgressRowRead(ReadModel):
    district_code: str
    unit_kind: str
    total: int
    submitted: int
    verified: int
    finalised: int
    passed: int


class RoundProgress(BaseModel):
    round: RoundRead
    rows: list[ProgressRowRead] = Field(description="by district and unit kind; the last row is the total")


class AssessmentRead(ReadModel):
    id: uuid.UUID
    round_id: uuid.UUID
    unit_id: uuid.UUID
    unit_code: str
    unit_name: str
    year: int
    unit_kind: str
    district_code: str
    # The domain's `set_code` / `set_version` (the name as served is accepted too: FastAPI validates the
    # dumped model again against the response model).
    criteria_set_code: str = Field(validation_alias=AliasChoices("set_code", "criteria_set_code"))
    criteria_set_version: int = Field(validation_alias=AliasChoices("set_version", "criteria_set_version"))
    status: str
    result: str | None
    score: Decimal | None
    unmet_criteria: list[str]
    revision: int
    submitted_by: str | None
    submitted_at: datetime | None
    verified_at: datetime | None
    finalised_by: str | None
    finalised_at: datetime | None
    version: int


class SourceRead(ReadModel):
    kind: str
    id: str
    label: str


class AnswerRead(ReadModel):
    criterion_code: str
    text: str
    kind: str
    mandatory: bool
    derivation: str | None
    self_met: bool | None
    self_notes: str
    evidence_links: list[str]
    verified_met: bool | None
    verified_notes: str
    verified_by: str | None
    derived_met: bool | None
    derived_reason: str
    derived_sources: list[SourceRead]


class RevisionRead(ReadModel):
    revision: int
    result: str
    score: Decimal
    unmet_criteria: list[str]
    reason: str
    actor: str
    recorded_at: datetime


class ReviewFlagRead(ReadModel):
    reason: str
    source_kind: str
    source_id: str
    flagged_at: datetime
    resolved_at: datetime | None


class AssessmentDetailRead(AssessmentRead):
    answers: list[AnswerRead]
    history: list[RevisionRead]
    review_flags: list[ReviewFlagRead]

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """The assessment's own fields at the top level, beside its answers, history and flags."""
        if isinstance(data, AssessmentDetail):
            return {
                **vars(data.assessment),
                "answers": data.answers,
                "history": data.history,
                "review_flags": data.review_flags,
            }
        return data


class AssessmentPage(BaseModel):
    items: list[AssessmentRead]
    next_page_token: str


class SelfAnswerIn(BaseModel):
    criterion_code: str = Field(examples=["TC1"])
    met: bool
    notes: str = ""
    evidence_links: list[str] = []


class AnswersIn(BaseModel):
    answers: list[SelfAnswerIn] = []

    def answers_given(self) -> list[SelfAnswer]:
        return [SelfAnswer(a.criterion_code, a.met, a.notes, tuple(a.evidence_links)) for a in self.answers]


class VerdictIn(BaseModel):
    criterion_code: str = Field(examples=["TC2"])
    met: bool
    notes: str = ""


class VerdictsIn(BaseModel):
    verdicts: list[VerdictIn] = []

    def verdicts_given(self) -> list[Verdict]:
        return [Verdict(v.criterion_code, v.met, v.notes) for v in self.verdicts]


class RevisionIn(VerdictsIn):
    reason: str = Field(examples=["Bổ sung hồ sơ chứng minh lực lượng bảo vệ đã được bồi dưỡng"])


def router(deps: AssessmentDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["rounds and assessments"])

    def uow() -> service.RoundsUnitOfWork:
        return deps.uow(service.RoundsUnitOfWork)

    @api.post(
        "/rounds",
        status_code=status.HTTP_201_CREATED,
        response_model=RoundRead,
        dependencies=[allowed(*service.OPENERS)],
    )
    async def open_round(body: RoundCreate, caller: Caller) -> RoundRead:
        """Opens the round of a year for every active in-scope unit (or one district's): one transaction."""
        return RoundRead.model_validate(await service.open_round(uow(), body.command(), caller))

    @api.get("/rounds", response_model=list[RoundRead])
    async def list_rounds(caller: Caller, year: int = 0) -> list[RoundRead]:
        rounds = await service.list_rounds(uow(), ListRounds(year), caller)
        return [RoundRead.model_validate(r) for r in rounds]

    @api.get("/rounds/{round_id}", response_model=RoundRead)
    async def get_round(round_id: str, caller: Caller) -> RoundRead:
        return RoundRead.model_validate(await service.get_round(uow(), GetRound(round_id), caller))

    @api.get("/rounds/{round_id}/progress", response_model=RoundProgress)
    async def round_progress(round_id: str, caller: Caller) -> RoundProgress:
        round_, rows = await service.round_progress(uow(), GetRoundProgress(round_id), caller)
        return RoundProgress(
            round=RoundRead.model_validate(round_), rows=[ProgressRowRead.model_validate(r) for r in rows]
        )

    @api.get("/assessments", response_model=AssessmentPage)
    async def list_assessments(
        caller: Caller,
        round_id: str = "",
        district_code: str = "",
        unit_kind: str = "",
        status: str = "",
        unit_id: str = "",
        year: int = 0,
        page_size: int | None = Query(default=None),
        page_token: str = "",
    ) -> AssessmentPage:
        query = ListAssessments(
            round_id, district_code, unit_kind, status, unit_id, year, page_size, page_token
        )
        page, token = await service.list_assessments(uow(), query, caller)
        return AssessmentPage(items=[AssessmentRead.model_validate(a) for a in page], next_page_token=token)

    @api.get("/assessments/{assessment_id}", response_model=AssessmentDetailRead)
    async def get_assessment(assessment_id: str, caller: Caller) -> AssessmentDetailRead:
        detail = await service.get_assessment(uow(), GetAssessment(assessment_id), caller)
        return AssessmentDetailRead.model_validate(detail)

    @api.put(
        "/assessments/{assessment_id}/answers",
        response_model=AssessmentRead,
        dependencies=[allowed(*service.RESPONDENTS)],
    )
    async def save_answers(assessment_id: str, body: AnswersIn, caller: Caller) -> AssessmentRead:
        cmd = SaveAnswers(assessment_id, body.answers_given())
        return AssessmentRead.model_validate(await service.save_answers(uow(), cmd, caller))

    @api.post(
        "/assessments/{assessment_id}:submit",
        response_model=AssessmentRead,
        dependencies=[allowed(*service.RESPONDENTS)],
    )
    async def submit(assessment_id: str, body: AnswersIn, caller: Caller) -> AssessmentRead:
        cmd = SubmitAssessment(assessment_id, body.answers_given())
        return AssessmentRead.model_validate(await service.submit(uow(), cmd, caller))

    @api.post(
        "/assessments/{assessment_id}:verify",
        response_model=AssessmentRead,
        dependencies=[allowed(*service.VERIFIERS)],
    )
    async def verify(assessment_id: str, body: VerdictsIn, caller: Caller) -> AssessmentRead:
        cmd = VerifyAssessment(assessment_id, body.verdicts_given())
        return AssessmentRead.model_validate(await service.verify(uow(), cmd, caller))

    @api.post(
        "/assessments/{assessment_id}:finalise",
        response_model=AssessmentRead,
        dependencies=[allowed(*service.VERIFIERS)],
    )
    async def finalise(assessment_id: str, caller: Caller) -> AssessmentRead:
        finalised = await service.finalise(uow(), FinaliseAssessment(assessment_id), caller)
        return AssessmentRead.model_validate(finalised)

    @api.post(
        "/assessments/{assessment_id}:revise",
        response_model=AssessmentRead,
        dependencies=[allowed(*service.REVISERS)],
    )
    async def revise(assessment_id: str, body: RevisionIn, caller: Caller) -> AssessmentRead:
        cmd = ReviseAssessment(assessment_id, body.reason, body.verdicts_given())
        return AssessmentRead.model_validate(await service.revise(uow(), cmd, caller))

    return api
