"""HTTP door of rounds, assessments and corrective actions (FastAPI): the same handlers as gRPC."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import asyncpg
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from assessment.rounds import service
from assessment.rounds.domain import (
    AnswerView,
    Assessment,
    AssessmentDetail,
    CorrectiveAction,
    ListAssessments,
    NewCorrectiveAction,
    OpenRound,
    ProgressRow,
    ReviewFlag,
    Revision,
    Round,
    SelfAnswer,
    Verdict,
)
from d07.platform.http import Caller


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


class RoundRead(BaseModel):
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

    @classmethod
    def of(cls, r: Round) -> RoundRead:
        return cls(
            id=r.id,
            year=r.year,
            district_code=r.district_code,
            title=r.title,
            self_assessment_due=r.self_assessment_due,
            verification_due=r.verification_due,
            status=r.status,
            unit_count=r.unit_count,
            opened_by=r.opened_by,
            opened_at=r.opened_at,
        )


class ProgressRowRead(BaseModel):
    district_code: str
    unit_kind: str
    total: int
    submitted: int
    verified: int
    finalised: int
    passed: int

    @classmethod
    def of(cls, p: ProgressRow) -> ProgressRowRead:
        return cls(**p.__dict__)


class RoundProgress(BaseModel):
    round: RoundRead
    rows: list[ProgressRowRead] = Field(description="by district and unit kind; the last row is the total")


class AssessmentRead(BaseModel):
    id: uuid.UUID
    round_id: uuid.UUID
    unit_id: uuid.UUID
    unit_code: str
    unit_name: str
    year: int
    unit_kind: str
    district_code: str
    criteria_set_code: str
    criteria_set_version: int
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

    @classmethod
    def of(cls, a: Assessment) -> AssessmentRead:
        return cls(
            id=a.id,
            round_id=a.round_id,
            unit_id=a.unit_id,
            unit_code=a.unit_code,
            unit_name=a.unit_name,
            year=a.year,
            unit_kind=a.unit_kind,
            district_code=a.district_code,
            criteria_set_code=a.set_code,
            criteria_set_version=a.set_version,
            status=a.status.value,
            result=a.result.value if a.result else None,
            score=a.score,
            unmet_criteria=list(a.unmet_criteria),
            revision=a.revision,
            submitted_by=a.submitted_by,
            submitted_at=a.submitted_at,
            verified_at=a.verified_at,
            finalised_by=a.finalised_by,
            finalised_at=a.finalised_at,
            version=a.version,
        )


class SourceRead(BaseModel):
    kind: str
    id: str
    label: str


class AnswerRead(BaseModel):
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

    @classmethod
    def of(cls, v: AnswerView) -> AnswerRead:
        return cls(
            criterion_code=v.criterion_code,
            text=v.text,
            kind=v.kind,
            mandatory=v.mandatory,
            derivation=v.derivation,
            self_met=v.self_met,
            self_notes=v.self_notes,
            evidence_links=list(v.evidence_links),
            verified_met=v.verified_met,
            verified_notes=v.verified_notes,
            verified_by=v.verified_by,
            derived_met=v.derived_met,
            derived_reason=v.derived_reason,
            derived_sources=[SourceRead(kind=s.kind, id=s.id, label=s.label) for s in v.derived_sources],
        )


class RevisionRead(BaseModel):
    revision: int
    result: str
    score: Decimal
    unmet_criteria: list[str]
    reason: str
    actor: str
    recorded_at: datetime

    @classmethod
    def of(cls, r: Revision) -> RevisionRead:
        return cls(
            revision=r.revision,
            result=r.result.value,
            score=r.score,
            unmet_criteria=list(r.unmet_criteria),
            reason=r.reason,
            actor=r.actor,
            recorded_at=r.recorded_at,
        )


class ReviewFlagRead(BaseModel):
    reason: str
    source_kind: str
    source_id: str
    flagged_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, f: ReviewFlag) -> ReviewFlagRead:
        return cls(**f.__dict__)


class AssessmentDetailRead(AssessmentRead):
    answers: list[AnswerRead]
    history: list[RevisionRead]
    review_flags: list[ReviewFlagRead]

    @classmethod
    def of_detail(cls, d: AssessmentDetail) -> AssessmentDetailRead:
        return cls(
            **AssessmentRead.of(d.assessment).model_dump(),
            answers=[AnswerRead.of(v) for v in d.answers],
            history=[RevisionRead.of(r) for r in d.history],
            review_flags=[ReviewFlagRead.of(f) for f in d.review_flags],
        )


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

    def command(self) -> list[SelfAnswer]:
        return [SelfAnswer(a.criterion_code, a.met, a.notes, tuple(a.evidence_links)) for a in self.answers]


class VerdictIn(BaseModel):
    criterion_code: str = Field(examples=["TC2"])
    met: bool
    notes: str = ""


class VerdictsIn(BaseModel):
    verdicts: list[VerdictIn] = []

    def command(self) -> list[Verdict]:
        return [Verdict(v.criterion_code, v.met, v.notes) for v in self.verdicts]


class RevisionIn(VerdictsIn):
    reason: str = Field(examples=["Bổ sung hồ sơ chứng minh lực lượng bảo vệ đã được bồi dưỡng"])


class ActionCreate(BaseModel):
    criterion_code: str
    action: str
    owner: str
    due_on: date | None = None


class ActionClose(BaseModel):
    note: str = ""


class ActionRead(BaseModel):
    id: uuid.UUID
    assessment_id: uuid.UUID
    unit_id: uuid.UUID
    criterion_code: str
    action: str
    owner: str
    due_on: date
    status: str
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    closing_note: str

    @classmethod
    def of(cls, c: CorrectiveAction) -> ActionRead:
        return cls(**{**c.__dict__, "status": c.status.value})


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["rounds and assessments"])

    @api.post("/rounds", status_code=status.HTTP_201_CREATED, response_model=RoundRead)
    async def open_round(body: RoundCreate, caller: Caller) -> RoundRead:
        """Opens the round of a year for every active in-scope unit (or one district's): one transaction."""
        return RoundRead.of(await service.open_round(pool, body.command(), principal=caller))

    @api.get("/rounds", response_model=list[RoundRead])
    async def list_rounds(caller: Caller, year: int = 0) -> list[RoundRead]:
        return [RoundRead.of(r) for r in await service.list_rounds(pool, year=year, principal=caller)]

    @api.get("/rounds/{round_id}", response_model=RoundRead)
    async def get_round(round_id: str, caller: Caller) -> RoundRead:
        return RoundRead.of(await service.get_round(pool, round_id, principal=caller))

    @api.get("/rounds/{round_id}/progress", response_model=RoundProgress)
    async def round_progress(round_id: str, caller: Caller) -> RoundProgress:
        round_, rows = await service.round_progress(pool, round_id, principal=caller)
        return RoundProgress(round=RoundRead.of(round_), rows=[ProgressRowRead.of(r) for r in rows])

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
        page, token = await service.list_assessments(pool, query, principal=caller)
        return AssessmentPage(items=[AssessmentRead.of(a) for a in page], next_page_token=token)

    @api.get("/assessments/{assessment_id}", response_model=AssessmentDetailRead)
    async def get_assessment(assessment_id: str, caller: Caller) -> AssessmentDetailRead:
        return AssessmentDetailRead.of_detail(
            await service.get_assessment(pool, assessment_id, principal=caller)
        )

    @api.put("/assessments/{assessment_id}/answers", response_model=AssessmentRead)
    async def save_answers(assessment_id: str, body: AnswersIn, caller: Caller) -> AssessmentRead:
        return AssessmentRead.of(
            await service.save_answers(pool, assessment_id, body.command(), principal=caller)
        )

    @api.post("/assessments/{assessment_id}:submit", response_model=AssessmentRead)
    async def submit(assessment_id: str, body: AnswersIn, caller: Caller) -> AssessmentRead:
        return AssessmentRead.of(await service.submit(pool, assessment_id, body.command(), principal=caller))

    @api.post("/assessments/{assessment_id}:verify", response_model=AssessmentRead)
    async def verify(assessment_id: str, body: VerdictsIn, caller: Caller) -> AssessmentRead:
        return AssessmentRead.of(await service.verify(pool, assessment_id, body.command(), principal=caller))

    @api.post("/assessments/{assessment_id}:finalise", response_model=AssessmentRead)
    async def finalise(assessment_id: str, caller: Caller) -> AssessmentRead:
        return AssessmentRead.of(await service.finalise(pool, assessment_id, principal=caller))

    @api.post("/assessments/{assessment_id}:revise", response_model=AssessmentRead)
    async def revise(assessment_id: str, body: RevisionIn, caller: Caller) -> AssessmentRead:
        revised = await service.revise(pool, assessment_id, body.reason, body.command(), principal=caller)
        return AssessmentRead.of(revised)

    @api.post(
        "/assessments/{assessment_id}/corrective-actions",
        status_code=status.HTTP_201_CREATED,
        response_model=ActionRead,
    )
    async def create_action(assessment_id: str, body: ActionCreate, caller: Caller) -> ActionRead:
        cmd = NewCorrectiveAction(body.criterion_code, body.action, body.owner, body.due_on)
        return ActionRead.of(await service.create_action(pool, assessment_id, cmd, principal=caller))

    @api.get("/corrective-actions", response_model=list[ActionRead])
    async def list_actions(
        caller: Caller, assessment_id: str = "", unit_id: str = "", status: str = ""
    ) -> list[ActionRead]:
        found = await service.list_actions(
            pool, assessment_id=assessment_id, unit_id=unit_id, status=status, principal=caller
        )
        return [ActionRead.of(c) for c in found]

    @api.post("/corrective-actions/{action_id}:close", response_model=ActionRead)
    async def close_action(action_id: str, body: ActionClose, caller: Caller) -> ActionRead:
        return ActionRead.of(await service.close_action(pool, action_id, body.note, principal=caller))

    return api
