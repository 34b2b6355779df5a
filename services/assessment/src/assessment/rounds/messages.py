"""Translation between rounds and assessments and the protobuf messages of d07.assessment.v1."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from assessment.criteria.messages import kind_to_pb
from assessment.derived.domain import ReviewFlag
from assessment.rounds.domain import (
    AnswerView,
    Assessment,
    AssessmentStatus,
    ProgressRow,
    Result,
    Revision,
    Round,
    SelfAnswer,
    Verdict,
)
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.convert import EnumMap, date_to_pb, optional_timestamp, timestamp

STATUSES = EnumMap(
    {
        AssessmentStatus.DRAFT: pb.ASSESSMENT_STATUS_DRAFT,
        AssessmentStatus.SUBMITTED: pb.ASSESSMENT_STATUS_SUBMITTED,
        AssessmentStatus.FINALISED: pb.ASSESSMENT_STATUS_FINALISED,
    },
    field="status",
)
RESULTS = EnumMap(
    {Result.PASSED: pb.ASSESSMENT_RESULT_PASSED, Result.FAILED: pb.ASSESSMENT_RESULT_FAILED}, field="result"
)


def result_to_pb(result: Result | None) -> pb.AssessmentResult:
    return cast(pb.AssessmentResult, RESULTS.to_pb(result))


def status_filter_from_pb(number: int) -> str:
    """The status filter of a list request: '' (no filter) for the unspecified value or one not known."""
    status = STATUSES.from_pb_table.get(number)
    return status.value if status else ""


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
        status=cast(pb.AssessmentStatus, STATUSES.to_pb(a.status)),
        result=result_to_pb(a.result),
        score=float(a.score or 0),
        unmet_criteria=list(a.unmet_criteria),
        revision=a.revision,
        submitted_by=a.submitted_by or "",
        submitted_at=optional_timestamp(a.submitted_at),
        verified_at=optional_timestamp(a.verified_at),
        finalised_by=a.finalised_by or "",
        finalised_at=optional_timestamp(a.finalised_at),
        version=a.version,
    )


def answer_to_pb(v: AnswerView) -> pb.Answer:
    return pb.Answer(
        criterion_code=v.criterion_code,
        text=v.text,
        kind=kind_to_pb(v.kind),
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
        result=result_to_pb(r.result),
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
        resolved_at=optional_timestamp(f.resolved_at),
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


def self_answers_from_pb(answers: Iterable[pb.SelfAnswer]) -> list[SelfAnswer]:
    return [SelfAnswer(a.criterion_code, a.met, a.notes, tuple(a.evidence_links)) for a in answers]


def verdicts_from_pb(verdicts: Iterable[pb.Verdict]) -> list[Verdict]:
    return [Verdict(v.criterion_code, v.met, v.notes) for v in verdicts]
