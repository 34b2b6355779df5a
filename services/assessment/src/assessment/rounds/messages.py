"""Translation between rounds and assessments and the protobuf messages of d07.assessment.v1."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from assessment.rounds.domain import (
    AnswerView,
    Assessment,
    AssessmentStatus,
    CorrectiveAction,
    ProgressRow,
    Result,
    ReviewFlag,
    Revision,
    Round,
    SelfAnswer,
    Verdict,
)
from d07.assessment.v1 import assessment_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument

STATUS_TO_PB = {
    AssessmentStatus.DRAFT: pb.ASSESSMENT_STATUS_DRAFT,
    AssessmentStatus.SUBMITTED: pb.ASSESSMENT_STATUS_SUBMITTED,
    AssessmentStatus.FINALISED: pb.ASSESSMENT_STATUS_FINALISED,
}
STATUS_FROM_PB = {v: k.value for k, v in STATUS_TO_PB.items()}
RESULT_TO_PB = {Result.PASSED: pb.ASSESSMENT_RESULT_PASSED, Result.FAILED: pb.ASSESSMENT_RESULT_FAILED}
KIND_TO_PB = {
    "declared": pb.CRITERION_KIND_DECLARED,
    "evidence": pb.CRITERION_KIND_EVIDENCE,
    "derived": pb.CRITERION_KIND_DERIVED,
}


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def date_to_pb(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(value: common_pb2.Date, field: str) -> date | None:
    """None for an unset date (all zero); InvalidArgument naming `field` for an impossible one."""
    if value.year == 0 and value.month == 0 and value.day == 0:
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            "not a calendar date", code="invalid_date", fields=[FieldProblem(field, "not a calendar date")]
        ) from None


def round_to_pb(r: Round) -> pb.Round:
    return pb.Round(
        id=str(r.id),
        year=r.year,
        district_code=r.district_code,
        title=r.title,
        self_assessment_due=date_to_pb(r.self_assessment_due),
        verification_due=date_to_pb(r.verification_due),
        status=r.status,
        unit_count=r.unit_count,
        opened_by=r.opened_by,
        opened_at=timestamp(r.opened_at),
    )


def assessment_to_pb(a: Assessment) -> pb.Assessment:
    return pb.Assessment(
        id=str(a.id),
        round_id=str(a.round_id),
        unit_id=str(a.unit_id),
        unit_code=a.unit_code,
        unit_name=a.unit_name,
        year=a.year,
        unit_kind=a.unit_kind,
        district_code=a.district_code,
        criteria_set_code=a.set_code,
        criteria_set_version=a.set_version,
        status=STATUS_TO_PB[a.status],
        result=RESULT_TO_PB[a.result] if a.result else pb.ASSESSMENT_RESULT_UNSPECIFIED,
        score=float(a.score or 0),
        unmet_criteria=list(a.unmet_criteria),
        revision=a.revision,
        submitted_by=a.submitted_by or "",
        submitted_at=timestamp(a.submitted_at),
        verified_at=timestamp(a.verified_at),
        finalised_by=a.finalised_by or "",
        finalised_at=timestamp(a.finalised_at),
        version=a.version,
    )


def answer_to_pb(v: AnswerView) -> pb.Answer:
    return pb.Answer(
        criterion_code=v.criterion_code,
        text=v.text,
        kind=KIND_TO_PB.get(v.kind, pb.CRITERION_KIND_UNSPECIFIED),
        mandatory=v.mandatory,
        derivation=v.derivation or "",
        self_met=v.self_met,
        self_notes=v.self_notes,
        evidence_links=list(v.evidence_links),
        verified_met=v.verified_met,
        verified_notes=v.verified_notes,
        verified_by=v.verified_by or "",
        derived_met=v.derived_met,
        derived_reason=v.derived_reason,
        derived_sources=[pb.Source(kind=s.kind, id=s.id, label=s.label) for s in v.derived_sources],
    )


def revision_to_pb(r: Revision) -> pb.Revision:
    return pb.Revision(
        revision=r.revision,
        result=RESULT_TO_PB[r.result],
        score=float(r.score),
        unmet_criteria=list(r.unmet_criteria),
        reason=r.reason,
        actor=r.actor,
        recorded_at=timestamp(r.recorded_at),
    )


def flag_to_pb(f: ReviewFlag) -> pb.ReviewFlag:
    return pb.ReviewFlag(
        reason=f.reason,
        source_kind=f.source_kind,
        source_id=f.source_id,
        flagged_at=timestamp(f.flagged_at),
        resolved_at=timestamp(f.resolved_at),
    )


def progress_to_pb(p: ProgressRow) -> pb.ProgressRow:
    return pb.ProgressRow(
        district_code=p.district_code,
        unit_kind=p.unit_kind,
        total=p.total,
        submitted=p.submitted,
        verified=p.verified,
        finalised=p.finalised,
        passed=p.passed,
    )


def action_to_pb(c: CorrectiveAction) -> pb.CorrectiveAction:
    return pb.CorrectiveAction(
        id=str(c.id),
        assessment_id=str(c.assessment_id),
        unit_id=str(c.unit_id),
        criterion_code=c.criterion_code,
        action=c.action,
        owner=c.owner,
        due_on=date_to_pb(c.due_on),
        status=c.status.value,
        created_by=c.created_by,
        created_at=timestamp(c.created_at),
        closed_by=c.closed_by or "",
        closed_at=timestamp(c.closed_at),
        closing_note=c.closing_note,
    )


def self_answers_from_pb(answers: list[pb.SelfAnswer]) -> list[SelfAnswer]:
    return [SelfAnswer(a.criterion_code, a.met, a.notes, tuple(a.evidence_links)) for a in answers]


def verdicts_from_pb(verdicts: list[pb.Verdict]) -> list[Verdict]:
    return [Verdict(v.criterion_code, v.met, v.notes) for v in verdicts]


def actor(principal: Principal) -> common_pb2.Actor:
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))
