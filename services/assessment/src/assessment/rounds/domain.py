"""Rounds and assessments: pure rules, no I/O.

Corrective actions are their own aggregate (`assessment.actions`); review flags are the derived criteria's
(`assessment.derived`).

An assessment is one unit in one year. It moves DRAFT -> SUBMITTED (the unit officer, with a self-assessed
answer to each declared or evidence criterion) -> FINALISED (a police verifier, once every criterion has a
verdict). The result is judged by the criteria set's own pass rule (`CriteriaSet.passes`, kept as data), the
score is the share of criteria met, the reasons are the unmet criteria. A finalised assessment never changes;
a correction is a new revision with a reason, and every revision stays in the history. Whoever submitted an
assessment neither verifies, finalises nor revises it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from assessment.criteria.domain import CriteriaSet, CriterionKind
from assessment.derived.domain import ReviewFlag
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound, PermissionDenied

MAX_TEXT = 4000
MAX_LINKS = 20
MIN_YEAR, MAX_YEAR = 2000, 2100


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    FINALISED = "finalised"


class Result(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


# --- commands and queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRound:
    """Open the round of `year` for every in-scope active unit of the province, or of one district."""

    year: int
    self_assessment_due: date | None
    verification_due: date | None
    district_code: str = ""
    title: str = ""


@dataclass(frozen=True)
class SelfAnswer:
    """The unit's own answer to one criterion."""

    criterion_code: str
    met: bool
    notes: str = ""
    evidence_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The verifier's judgement of one criterion."""

    criterion_code: str
    met: bool
    notes: str = ""


@dataclass(frozen=True)
class ListAssessments:
    round_id: str = ""
    district_code: str = ""
    unit_kind: str = ""
    status: str = ""
    unit_id: str = ""
    year: int = 0
    page_size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class AssessmentFilter:
    round_id: uuid.UUID | None = None
    district_code: str = ""
    unit_kind: str = ""
    status: AssessmentStatus | None = None
    unit_id: uuid.UUID | None = None
    year: int = 0


@dataclass(frozen=True)
class GetRound:
    id: str


@dataclass(frozen=True)
class ListRounds:
    year: int = 0


@dataclass(frozen=True)
class GetRoundProgress:
    id: str


@dataclass(frozen=True)
class GetAssessment:
    id: str


@dataclass(frozen=True)
class SaveAnswers:
    assessment_id: str
    answers: Sequence[SelfAnswer] = ()


@dataclass(frozen=True)
class SubmitAssessment:
    """The unit's self-assessment to the police (with last answers, if given)."""

    assessment_id: str
    answers: Sequence[SelfAnswer] = ()


@dataclass(frozen=True)
class VerifyAssessment:
    assessment_id: str
    verdicts: Sequence[Verdict] = ()


@dataclass(frozen=True)
class FinaliseAssessment:
    assessment_id: str


@dataclass(frozen=True)
class ReviseAssessment:
    assessment_id: str
    reason: str
    verdicts: Sequence[Verdict] = ()


# --- entities and views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    id: uuid.UUID
    year: int
    district_code: str  # '' for the whole province
    title: str
    self_assessment_due: date
    verification_due: date
    status: str
    unit_count: int
    opened_by: str
    opened_at: datetime


@dataclass(frozen=True)
class Assessment:
    id: uuid.UUID
    round_id: uuid.UUID
    unit_id: uuid.UUID
    unit_code: str
    unit_name: str
    year: int
    unit_kind: str
    district_code: str
    set_code: str
    set_version: int
    status: AssessmentStatus
    result: Result | None
    score: Decimal | None
    unmet_criteria: tuple[str, ...]
    revision: int
    submitted_by: str | None
    submitted_at: datetime | None
    verified_at: datetime | None
    finalised_by: str | None
    finalised_at: datetime | None
    version: int


@dataclass(frozen=True)
class SourceView:
    kind: str
    id: str
    label: str


@dataclass(frozen=True)
class StoredAnswer:
    """What is stored about one criterion of an assessment: the unit's answer, the verdict, the prefill."""

    criterion_code: str
    self_met: bool | None = None
    self_notes: str = ""
    evidence_links: tuple[str, ...] = ()
    verified_met: bool | None = None
    verified_notes: str = ""
    verified_by: str | None = None
    derived_met: bool | None = None
    derived_reason: str = ""
    derived_sources: tuple[SourceView, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AnswerView(StoredAnswer):
    """One criterion of an assessment with everything said about it: by the unit, the platform, the police."""

    text: str
    kind: str
    mandatory: bool
    derivation: str | None = None


@dataclass(frozen=True)
class Revision:
    revision: int
    result: Result
    score: Decimal
    unmet_criteria: tuple[str, ...]
    reason: str
    actor: str
    recorded_at: datetime


@dataclass(frozen=True)
class AssessmentDetail:
    assessment: Assessment
    answers: list[AnswerView]
    history: list[Revision]
    review_flags: list[ReviewFlag] = field(default_factory=list)


@dataclass(frozen=True)
class ProgressRow:
    """Counts of a round for one district and unit kind (both '' in the total row)."""

    district_code: str
    unit_kind: str
    total: int
    submitted: int
    verified: int
    finalised: int
    passed: int


@dataclass(frozen=True)
class Judgement:
    result: Result
    score: Decimal
    unmet: tuple[str, ...]


# --- rules ----------------------------------------------------------------------------------------------


def validate_round(cmd: OpenRound) -> OpenRound:
    """The command with trimmed text and a default title, or InvalidArgument naming every wrong field."""
    problems: list[FieldProblem] = []
    if not MIN_YEAR <= cmd.year <= MAX_YEAR:
        problems.append(FieldProblem("year", f"between {MIN_YEAR} and {MAX_YEAR}"))
    if cmd.self_assessment_due is None:
        problems.append(FieldProblem("self_assessment_due", "the deadline of self-assessment is required"))
    if cmd.verification_due is None:
        problems.append(FieldProblem("verification_due", "the deadline of verification is required"))
    if cmd.self_assessment_due and cmd.verification_due and cmd.verification_due < cmd.self_assessment_due:
        problems.append(FieldProblem("verification_due", "on or after self_assessment_due"))
    title = " ".join(cmd.title.split())
    if len(title) > 300:
        problems.append(FieldProblem("title", "at most 300 characters"))
    if problems:
        raise InvalidArgument("the round is not valid", code="invalid_round", fields=problems)
    district = cmd.district_code.strip()
    if not title:
        where = f"huyện {district}" if district else "toàn tỉnh"
        title = f'Đánh giá tiêu chuẩn "An toàn về an ninh, trật tự" năm {cmd.year} ({where})'
    return OpenRound(cmd.year, cmd.self_assessment_due, cmd.verification_due, district, title)


def _known(codes: Sequence[str], cset: CriteriaSet, path: str, problems: list[FieldProblem]) -> None:
    known = {c.code for c in cset.criteria}
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code not in known:
            problems.append(FieldProblem(f"{path}[{i}].criterion_code", f"not a criterion of {cset.code}"))
        elif code in seen:
            problems.append(FieldProblem(f"{path}[{i}].criterion_code", "given twice"))
        seen.add(code)


def validate_answers(answers: Sequence[SelfAnswer], cset: CriteriaSet) -> list[SelfAnswer]:
    problems: list[FieldProblem] = []
    _known([a.criterion_code for a in answers], cset, "answers", problems)
    cleaned = []
    for i, a in enumerate(answers):
        notes = a.notes.strip()
        links = tuple(link.strip() for link in a.evidence_links if link.strip())
        if len(notes) > MAX_TEXT:
            problems.append(FieldProblem(f"answers[{i}].notes", f"at most {MAX_TEXT} characters"))
        if len(links) > MAX_LINKS:
            problems.append(FieldProblem(f"answers[{i}].evidence_links", f"at most {MAX_LINKS} links"))
        for link in links:
            if not link.startswith(("https://", "http://")):
                problems.append(FieldProblem(f"answers[{i}].evidence_links", f"not a web link: {link[:80]}"))
        cleaned.append(SelfAnswer(a.criterion_code, a.met, notes, links))
    if problems:
        raise InvalidArgument("the answers are not valid", code="invalid_answers", fields=problems)
    return cleaned


def validate_verdicts(
    verdicts: Sequence[Verdict], cset: CriteriaSet, *, required: bool = False
) -> list[Verdict]:
    problems: list[FieldProblem] = []
    if required and not verdicts:
        problems.append(FieldProblem("verdicts", "at least one verdict is required"))
    _known([v.criterion_code for v in verdicts], cset, "verdicts", problems)
    for i, v in enumerate(verdicts):
        if len(v.notes.strip()) > MAX_TEXT:
            problems.append(FieldProblem(f"verdicts[{i}].notes", f"at most {MAX_TEXT} characters"))
    if problems:
        raise InvalidArgument("the verdicts are not valid", code="invalid_verdicts", fields=problems)
    return [Verdict(v.criterion_code, v.met, v.notes.strip()) for v in verdicts]


def found(assessment: Assessment | None, assessment_id: uuid.UUID) -> Assessment:
    """The assessment, or NotFound `assessment_not_found`."""
    if assessment is None:
        raise NotFound(
            f"no assessment {assessment_id}", code="assessment_not_found", resource_type="assessment",
            resource_id=str(assessment_id),
        )  # fmt: skip
    return assessment


def ensure_status(assessment: Assessment, *allowed: AssessmentStatus, doing: str) -> None:
    """Conflict (wrong state) unless the assessment is in one of `allowed`; a finalised one is immutable."""
    if assessment.status in allowed:
        return
    hint = (
        " (a finalised assessment is changed only by a revision)"
        if assessment.status is AssessmentStatus.FINALISED
        else ""
    )
    raise Conflict(
        f"cannot {doing} an assessment that is {assessment.status}{hint}",
        code="wrong_status",
        resource_type="assessment",
        resource_id=str(assessment.id),
    )


def ensure_not_submitter(assessment: Assessment, subject: str, *, doing: str) -> None:
    """Nobody verifies, finalises or revises an assessment they submitted."""
    if assessment.submitted_by is not None and assessment.submitted_by == subject:
        raise PermissionDenied(
            f"whoever submitted an assessment cannot {doing} it",
            code="own_submission",
            resource_type="assessment",
            resource_id=str(assessment.id),
        )


def missing_self_answers(cset: CriteriaSet, answered: Mapping[str, bool | None]) -> list[str]:
    """Criteria the unit must still answer before submitting: every one not derived from platform data."""
    return [c.code for c in cset.criteria if c.kind != CriterionKind.DERIVED and answered.get(c.code) is None]


def judge(cset: CriteriaSet, verdicts: Mapping[str, bool]) -> Judgement:
    """The result by the set's own pass rule, the score (criteria met of all, in %, two decimals) and the
    unmet criteria as reasons. Every criterion needs a verdict."""
    missing = [c.code for c in cset.criteria if c.code not in verdicts]
    if missing:
        raise Conflict(
            f"criteria without a verdict: {', '.join(missing)}",
            code="not_verified",
            resource_type="criteria_set",
            resource_id=f"{cset.code}/{cset.version}",
        )
    total = len(cset.criteria)
    met = sum(1 for c in cset.criteria if verdicts[c.code])
    score = (Decimal(100 * met) / Decimal(total or 1)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    unmet = tuple(c.code for c in cset.criteria if not verdicts[c.code])
    return Judgement(Result.PASSED if cset.passes(dict(verdicts)) else Result.FAILED, score, unmet)


def filter_of(query: ListAssessments) -> AssessmentFilter:
    problems: list[FieldProblem] = []
    ids: dict[str, uuid.UUID | None] = {}
    for name in ("round_id", "unit_id"):
        value = str(getattr(query, name)).strip()
        ids[name] = None
        if value:
            try:
                ids[name] = uuid.UUID(value)
            except ValueError:
                problems.append(FieldProblem(name, "a UUID is expected"))
    status = query.status.strip().lower()
    if status and status not in {s.value for s in AssessmentStatus}:
        problems.append(FieldProblem("status", "draft, submitted or finalised"))
    if query.year and not MIN_YEAR <= query.year <= MAX_YEAR:
        problems.append(FieldProblem("year", f"between {MIN_YEAR} and {MAX_YEAR}"))
    if problems:
        raise InvalidArgument("the list's filters are not valid", code="invalid_filter", fields=problems)
    return AssessmentFilter(
        round_id=ids["round_id"],
        district_code=query.district_code.strip(),
        unit_kind=query.unit_kind.strip(),
        status=AssessmentStatus(status) if status else None,
        unit_id=ids["unit_id"],
        year=query.year,
    )
