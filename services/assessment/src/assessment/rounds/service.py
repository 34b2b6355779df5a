"""Handlers of rounds and assessments: one logic path behind the gRPC and HTTP doors.

Every change is one transaction that writes its rows, its audit row and its event (outbox, topic
`d07.assessment.assessments.v1`, keyed by unit id so that one unit's assessment events keep their order).

Who may do what, checked on every object:
- admin opens rounds; police verify, finalise and revise; admin may also revise (a correction of record);
- a unit officer answers and submits its own unit's assessments only, and reads only its own unit's;
- whoever submitted an assessment neither verifies, finalises nor revises it (PERMISSION_DENIED);
- province-wide readers read every assessment and the progress of every round.

The derived criteria (`assessment.derived`) prefill the answers: submission and finalisation keep them as
they stand (`derive`), an open assessment shows them live, and a revision resolves the review flags.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import Any

import asyncpg
from google.protobuf.message import Message

from assessment.criteria.domain import CriteriaSet, CriterionKind
from assessment.criteria.repository import CriteriaRepository
from assessment.derived import service as derived
from assessment.derived.domain import DerivedResult
from assessment.derived.repository import DerivedRepository, ReviewFlagRepository
from assessment.rounds import messages
from assessment.rounds.domain import (
    AnswerView,
    Assessment,
    AssessmentDetail,
    AssessmentStatus,
    FinaliseAssessment,
    GetAssessment,
    GetRound,
    GetRoundProgress,
    ListAssessments,
    ListRounds,
    OpenRound,
    ProgressRow,
    ReviseAssessment,
    Round,
    SaveAnswers,
    SourceView,
    StoredAnswer,
    SubmitAssessment,
    VerifyAssessment,
    ensure_not_submitter,
    ensure_status,
    filter_of,
    found,
    judge,
    missing_self_answers,
    validate_answers,
    validate_round,
    validate_verdicts,
)
from assessment.rounds.repository import AssessmentRepository, RoundRepository
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    POLICE,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import actor, parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork

TOPIC = "d07.assessment.assessments.v1"
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)
FINALISED_REASON = "Hoàn tất đánh giá"


# Who calls what (the HTTP door repeats these lists in a route dependency, so a forbidden caller gets 403
# before its body is validated; the handlers' checks stay the authority).
OPENERS = (ADMIN,)
RESPONDENTS = (UNIT_OFFICER,)  # its own unit's assessment
VERIFIERS = (POLICE,)
REVISERS = (POLICE, ADMIN)


class RoundsUnitOfWork(UnitOfWork):
    rounds: RoundRepository
    assessments: AssessmentRepository
    criteria: CriteriaRepository
    derived: DerivedRepository
    flags: ReviewFlagRepository

    def bind(self, conn: Conn) -> None:
        self.rounds = RoundRepository(conn)
        self.assessments = AssessmentRepository(conn)
        self.criteria = CriteriaRepository(conn)
        self.derived = DerivedRepository(conn)
        self.flags = ReviewFlagRepository(conn)


# --- helpers --------------------------------------------------------------------------------------------


def _ensure_own_unit(principal: Principal, a: Assessment) -> None:
    """Self-assessment is the unit's own word: only the officer bound to the assessed unit gives it."""
    if principal.unit_id != str(a.unit_id):
        raise PermissionDenied(
            "a unit officer reaches only its own unit", code="other_unit", resource_type="unit",
            resource_id=str(a.unit_id),
        )  # fmt: skip


async def _assessment(uow: RoundsUnitOfWork, aid: uuid.UUID, *, for_update: bool = False) -> Assessment:
    return found(await uow.assessments.get(assessment_id=aid, for_update=for_update), aid)


async def _set_of(uow: RoundsUnitOfWork, a: Assessment) -> CriteriaSet:
    cset = await uow.criteria.get_set(code=a.set_code, version=a.set_version)
    assert cset is not None, "an assessment's criteria set is kept by a foreign key"
    return cset


async def _derive(uow: RoundsUnitOfWork, a: Assessment, cset: CriteriaSet) -> dict[str, DerivedResult]:
    """The platform's prefill of the set's derived criteria for the unit and year, by criterion code."""
    wanted = {c.code for c in cset.criteria if c.kind == CriterionKind.DERIVED}
    if not wanted:
        return {}
    results = await derived.derive(uow.derived, unit_id=a.unit_id, year=a.year)
    return {r.criterion_code: r for r in results if r.criterion_code in wanted}


async def _keep_derived(uow: RoundsUnitOfWork, a: Assessment, cset: CriteriaSet) -> None:
    """Keep the derived prefill as it stands now, with its sources (at submission and at finalisation)."""
    derived_now = await _derive(uow, a, cset)
    await uow.assessments.save_derived(assessment_id=a.id, results=list(derived_now.values()))


def _views(
    cset: CriteriaSet, rows: dict[str, StoredAnswer], live: dict[str, DerivedResult] | None
) -> list[AnswerView]:
    """Each criterion with what the unit, the platform and the verifier said. `live` (an open assessment)
    shows the derived criteria as the platform's data stands now; a finalised one shows what was kept."""
    views = []
    for c in cset.criteria:
        stored = rows.get(c.code) or StoredAnswer(c.code)
        view = AnswerView(
            **vars(stored), text=c.text, kind=c.kind, mandatory=c.mandatory, derivation=c.derivation
        )
        if live is not None and c.code in live:
            d = live[c.code]
            view = replace(
                view,
                derived_met=d.met,
                derived_reason=d.reason,
                derived_sources=tuple(SourceView(s.kind, s.id, s.label) for s in d.sources),
            )
        views.append(view)
    return views


def _verdicts(rows: dict[str, StoredAnswer]) -> dict[str, bool]:
    return {code: r.verified_met for code, r in rows.items() if r.verified_met is not None}


async def _audit(uow: RoundsUnitOfWork, a: Assessment, *, action: str, details: dict[str, Any]) -> None:
    await uow.audit(
        action=action, object_type="assessment", object_id=str(a.id), unit_id=str(a.unit_id),
        details={"round_id": str(a.round_id), "year": a.year, **details},
    )  # fmt: skip


SELF_FIELDS = ("self_met", "self_notes", "evidence_links")
VERDICT_FIELDS = ("verified_met", "verified_notes")


def _answer_changes(
    before: dict[str, StoredAnswer],
    after: dict[str, StoredAnswer],
    codes: Iterable[str],
    fields: tuple[str, ...],
) -> dict[str, dict[str, Any]]:
    """The old and new values of the criteria `codes` (`"<criterion>.<field>"`, as `audit.changes` gives
    them), for the audit row of a change of answers or verdicts."""
    out: dict[str, dict[str, Any]] = {}
    for code in codes:
        old, new = before.get(code) or StoredAnswer(code), after.get(code) or StoredAnswer(code)
        for name, change in audit.changes(old, new, only=fields).items():
            out[f"{code}.{name}"] = change
    return out


async def _publish(uow: RoundsUnitOfWork, a: Assessment, message: Message) -> None:
    await uow.publish(TOPIC, key=str(a.unit_id), subject=str(a.id), message=message)


# --- rounds ---------------------------------------------------------------------------------------------


async def open_round(uow: RoundsUnitOfWork, cmd: OpenRound, principal: Principal) -> Round:
    """One call, one transaction: the round, an assessment per unit in scope, one event per unit."""
    require_roles(principal, *OPENERS)
    cmd = validate_round(cmd)
    async with uow:
        if await uow.rounds.exists(year=cmd.year, district_code=cmd.district_code):
            raise AlreadyExists(
                f"the round of {cmd.year} for {cmd.district_code or 'the province'} is already open",
                code="round_exists",
                resource_type="round",
            )
        try:
            round_, opened = await uow.rounds.open(
                round_id=uuid.uuid4(), cmd=cmd, opened_by=principal.subject
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(
                f"the round of {cmd.year} was opened at the same moment", code="round_exists",
                resource_type="round",
            ) from None  # fmt: skip
        await uow.audit(
            action="round.open",
            object_type="round",
            object_id=str(round_.id),
            details={
                "year": round_.year,
                "district_code": round_.district_code,
                "unit_count": round_.unit_count,
            },
        )
        round_pb = messages.round_to_pb(round_)
        await uow.publish_many(
            TOPIC,
            [
                (
                    str(a.unit_id),
                    pb.AssessmentRoundOpened(round=round_pb, assessment=messages.assessment_to_pb(a)),
                )
                for a in opened
            ],
        )
    return round_


async def _round(uow: RoundsUnitOfWork, round_id: str) -> Round:
    rid = parse_uuid(round_id)
    got = await uow.rounds.get(round_id=rid)
    if got is None:
        raise NotFound(f"no round {rid}", code="round_not_found", resource_type="round", resource_id=str(rid))
    return got


async def get_round(uow: RoundsUnitOfWork, query: GetRound, principal: Principal) -> Round:
    require_roles(principal, *READERS)
    async with uow:
        return await _round(uow, query.id)


async def list_rounds(uow: RoundsUnitOfWork, query: ListRounds, principal: Principal) -> list[Round]:
    require_roles(principal, *READERS)
    async with uow:
        return await uow.rounds.by_year(year=query.year)


async def round_progress(
    uow: RoundsUnitOfWork, query: GetRoundProgress, principal: Principal
) -> tuple[Round, list[ProgressRow]]:
    require_roles(principal, *PROVINCE_WIDE_READERS)
    async with uow:
        round_ = await _round(uow, query.id)
        return round_, await uow.rounds.progress(round_id=round_.id)


# --- assessments: reads ---------------------------------------------------------------------------------


async def list_assessments(
    uow: RoundsUnitOfWork, query: ListAssessments, principal: Principal
) -> tuple[list[Assessment], str]:
    """One page of the assessments the caller may see, and the next page's token ('' at the end)."""
    require_roles(principal, *READERS)
    where = filter_of(query)
    if principal.is_unit_officer_only:
        ensure_unit_access(principal, str(where.unit_id) if where.unit_id else principal.unit_id)
        where = replace(where, unit_id=parse_uuid(str(principal.unit_id), "unit_id"))
    limit = page_size(query.page_size)
    fingerprint = {k: str(v) for k, v in asdict(where).items()}
    position = decode_cursor(query.page_token, filters=fingerprint)
    after = (str(position[0]), parse_uuid(str(position[1]), "page_token")) if position else None
    async with uow:
        rows = await uow.assessments.page(where=where, after=after, limit=limit + 1)
    page = rows[:limit]
    token = (
        encode_cursor([page[-1].unit_code, str(page[-1].id)], filters=fingerprint)
        if len(rows) > limit
        else ""
    )
    return page, token


async def get_assessment(
    uow: RoundsUnitOfWork, query: GetAssessment, principal: Principal
) -> AssessmentDetail:
    require_roles(principal, *READERS)
    aid = parse_uuid(query.id)
    async with uow:
        a = await _assessment(uow, aid)
        ensure_unit_access(principal, str(a.unit_id))
        cset = await _set_of(uow, a)
        live = None if a.status is AssessmentStatus.FINALISED else await _derive(uow, a, cset)
        answers = _views(cset, await uow.assessments.answers(assessment_id=aid), live)
        return AssessmentDetail(
            a,
            answers,
            await uow.assessments.history(assessment_id=aid),
            await uow.flags.of_assessment(assessment_id=aid),
        )


# --- assessments: changes -------------------------------------------------------------------------------


async def save_answers(uow: RoundsUnitOfWork, cmd: SaveAnswers, principal: Principal) -> Assessment:
    require_roles(principal, *RESPONDENTS)
    aid = parse_uuid(cmd.assessment_id)
    async with uow:
        a = await _assessment(uow, aid, for_update=True)
        _ensure_own_unit(principal, a)
        ensure_status(a, AssessmentStatus.DRAFT, doing="answer")
        cleaned = validate_answers(cmd.answers, await _set_of(uow, a))
        before = await uow.assessments.answers(assessment_id=aid)
        await uow.assessments.save_self_answers(assessment_id=aid, answers=cleaned)
        codes = [x.criterion_code for x in cleaned]
        after = await uow.assessments.answers(assessment_id=aid)
        await _audit(
            uow, a, action="assessment.answer",
            details={"criteria": codes, "changes": _answer_changes(before, after, codes, SELF_FIELDS)},
        )  # fmt: skip
        return await _assessment(uow, aid)


async def submit(uow: RoundsUnitOfWork, cmd: SubmitAssessment, principal: Principal) -> Assessment:
    """The unit's self-assessment goes to the police, with the derived prefill as it stands now."""
    require_roles(principal, *RESPONDENTS)
    aid = parse_uuid(cmd.assessment_id)
    async with uow:
        a = await _assessment(uow, aid, for_update=True)
        _ensure_own_unit(principal, a)
        ensure_status(a, AssessmentStatus.DRAFT, doing="submit")
        cset = await _set_of(uow, a)
        if cmd.answers:
            await uow.assessments.save_self_answers(
                assessment_id=aid, answers=validate_answers(cmd.answers, cset)
            )
        rows = await uow.assessments.answers(assessment_id=aid)
        missing = missing_self_answers(cset, {code: r.self_met for code, r in rows.items()})
        if missing:
            raise InvalidArgument(
                "every declared and evidence criterion needs an answer before submission",
                code="incomplete_self_assessment",
                fields=[FieldProblem("answers", f"no answer to {code}") for code in missing],
            )
        await _keep_derived(uow, a, cset)
        await uow.assessments.mark_submitted(assessment_id=aid, by=principal.subject)
        a = await _assessment(uow, aid)
        await _audit(uow, a, action="assessment.submit", details={})
        await _publish(
            uow, a, pb.AssessmentSubmitted(assessment=messages.assessment_to_pb(a), actor=actor(principal))
        )
        return a


async def verify(uow: RoundsUnitOfWork, cmd: VerifyAssessment, principal: Principal) -> Assessment:
    """Verdicts on some or all criteria; the assessment counts as verified once every criterion has one."""
    require_roles(principal, *VERIFIERS)
    aid = parse_uuid(cmd.assessment_id)
    async with uow:
        a = await _assessment(uow, aid, for_update=True)
        ensure_status(a, AssessmentStatus.SUBMITTED, doing="verify")
        ensure_not_submitter(a, principal.subject, doing="verify")
        cset = await _set_of(uow, a)
        cleaned = validate_verdicts(cmd.verdicts, cset, required=True)
        before = await uow.assessments.answers(assessment_id=aid)
        await uow.assessments.save_verdicts(assessment_id=aid, verdicts=cleaned, by=principal.subject)
        rows = await uow.assessments.answers(assessment_id=aid)
        codes = [v.criterion_code for v in cleaned]
        complete = all(
            rows.get(c.code) is not None and rows[c.code].verified_met is not None for c in cset.criteria
        )
        await uow.assessments.mark_verified(assessment_id=aid, complete=complete)
        await _audit(
            uow,
            a,
            action="assessment.verify",
            details={
                "verdicts": {v.criterion_code: v.met for v in cleaned},
                "complete": complete,
                "changes": _answer_changes(before, rows, codes, VERDICT_FIELDS),
            },
        )
        return await _assessment(uow, aid)


async def finalise(uow: RoundsUnitOfWork, cmd: FinaliseAssessment, principal: Principal) -> Assessment:
    """PASSED or FAILED by the set's pass rule over the verdicts; revision 1; immutable from here on."""
    require_roles(principal, *VERIFIERS)
    aid = parse_uuid(cmd.assessment_id)
    async with uow:
        a = await _assessment(uow, aid, for_update=True)
        ensure_status(a, AssessmentStatus.SUBMITTED, doing="finalise")
        ensure_not_submitter(a, principal.subject, doing="finalise")
        cset = await _set_of(uow, a)
        verdicts = _verdicts(await uow.assessments.answers(assessment_id=aid))
        judgement = judge(cset, verdicts)
        await _keep_derived(uow, a, cset)
        await uow.assessments.record_result(
            assessment_id=aid, judgement=judgement, verdicts=verdicts, reason=FINALISED_REASON,
            by=principal.subject,
        )  # fmt: skip
        a = await _assessment(uow, aid)
        await _audit(
            uow,
            a,
            action="assessment.finalise",
            details={
                "result": judgement.result.value,
                "score": str(judgement.score),
                "unmet": list(judgement.unmet),
            },
        )
        await _publish(
            uow, a, pb.AssessmentFinalised(assessment=messages.assessment_to_pb(a), actor=actor(principal))
        )
        return a


async def revise(uow: RoundsUnitOfWork, cmd: ReviseAssessment, principal: Principal) -> Assessment:
    """A correction of a finalised result: the corrected verdicts, judged again, become the next revision;
    the earlier revisions stay in the history, and the open review flags are answered by it."""
    require_roles(principal, *REVISERS)
    aid = parse_uuid(cmd.assessment_id)
    why = " ".join(cmd.reason.split())
    if not why or len(why) > 2000:
        raise InvalidArgument(
            "a revision needs its reason",
            code="invalid_revision",
            fields=[FieldProblem("reason", "required, at most 2000 characters")],
        )
    async with uow:
        before = await _assessment(uow, aid, for_update=True)
        ensure_status(before, AssessmentStatus.FINALISED, doing="revise")
        ensure_not_submitter(before, principal.subject, doing="revise")
        cset = await _set_of(uow, before)
        cleaned = validate_verdicts(cmd.verdicts, cset)
        answers_before = await uow.assessments.answers(assessment_id=aid)
        await uow.assessments.save_verdicts(assessment_id=aid, verdicts=cleaned, by=principal.subject)
        answers_after = await uow.assessments.answers(assessment_id=aid)
        corrected = _verdicts(answers_after)
        judgement = judge(cset, corrected)
        await uow.assessments.record_result(
            assessment_id=aid, judgement=judgement, verdicts=corrected, reason=why, by=principal.subject
        )
        await uow.flags.resolve(assessment_id=aid)
        a = await _assessment(uow, aid)
        await _audit(
            uow,
            a,
            action="assessment.revise",
            details={
                "revision": a.revision,
                "reason": why,
                "result": judgement.result.value,
                "previous_result": before.result.value if before.result else None,
                "changes": {
                    **audit.changes(before, a),
                    **_answer_changes(
                        answers_before, answers_after, [v.criterion_code for v in cleaned], VERDICT_FIELDS
                    ),
                },
            },
        )
        await _publish(
            uow,
            a,
            pb.AssessmentRevised(
                assessment=messages.assessment_to_pb(a),
                actor=actor(principal),
                reason=why,
                previous_result=messages.result_to_pb(before.result) if before.result else None,
                previous_score=float(before.score or 0),
            ),
        )
        return a
