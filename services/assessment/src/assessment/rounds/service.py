"""Handlers of rounds, assessments and corrective actions: one logic path behind the gRPC and HTTP doors.

Every change is one transaction that writes its rows, its audit row and its event (outbox, topic
`d07.assessment.assessments.v1`, keyed by unit id so that one unit's assessment events keep their order).

Who may do what, checked on every object:
- admin opens rounds; police verify, finalise and revise; admin may also revise (a correction of record);
- a unit officer answers and submits its own unit's assessments only, and reads only its own unit's;
- whoever submitted an assessment neither verifies, finalises nor revises it (PERMISSION_DENIED);
- province-wide readers read every assessment and the progress of every round.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta, timezone

import asyncpg

from assessment.adapters import criteria_repo
from assessment.derived import service as derived
from assessment.derived.domain import DerivedResult
from assessment.domain.criteria import CriteriaSet
from assessment.rounds import messages
from assessment.rounds import repository as repo
from assessment.rounds.domain import (
    ActionStatus,
    AnswerView,
    Assessment,
    AssessmentDetail,
    AssessmentStatus,
    CorrectiveAction,
    ListAssessments,
    NewCorrectiveAction,
    OpenRound,
    ProgressRow,
    Round,
    SelfAnswer,
    SourceView,
    Verdict,
    ensure_not_submitter,
    ensure_status,
    filter_of,
    judge,
    missing_self_answers,
    validate_action,
    validate_answers,
    validate_round,
    validate_verdicts,
)
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
from d07.platform.db import Conn
from d07.platform.errors import (
    AlreadyExists,
    Conflict,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from d07.platform.events import outbox
from d07.platform.pagination import decode_cursor, encode_cursor, page_size

SOURCE = "/d07/assessment"
TOPIC = "d07.assessment.assessments.v1"
VIETNAM = timezone(timedelta(hours=7))
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)
FINALISED_REASON = "Hoàn tất đánh giá"


def today() -> date:
    return datetime.now(VIETNAM).date()


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            "not an id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


# --- helpers --------------------------------------------------------------------------------------------


def _ensure_own_unit(principal: Principal, a: Assessment) -> None:
    """Self-assessment is the unit's own word: only the officer bound to the assessed unit gives it."""
    require_roles(principal, UNIT_OFFICER)
    if principal.unit_id != str(a.unit_id):
        raise PermissionDenied(
            "a unit officer reaches only its own unit",
            code="other_unit",
            resource_type="unit",
            resource_id=str(a.unit_id),
        )


async def _assessment(conn: Conn, assessment_id: uuid.UUID, *, for_update: bool = False) -> Assessment:
    a = await repo.get(conn, assessment_id=assessment_id, for_update=for_update)
    if a is None:
        raise NotFound(
            f"no assessment {assessment_id}",
            code="assessment_not_found",
            resource_type="assessment",
            resource_id=str(assessment_id),
        )
    return a


async def _set_of(conn: Conn, a: Assessment) -> CriteriaSet:
    cset = await criteria_repo.get_set(conn, code=a.set_code, version=a.set_version)
    assert cset is not None, "an assessment's criteria set is kept by a foreign key"
    return cset


async def _derive(conn: Conn, a: Assessment, cset: CriteriaSet) -> dict[str, DerivedResult]:
    """The platform's prefill of the set's derived criteria for the unit and year, by criterion code."""
    wanted = {c.code for c in cset.criteria if c.kind == "derived"}
    if not wanted:
        return {}
    results = await derived.derive(conn, unit_id=a.unit_id, year=a.year)
    return {r.criterion_code: r for r in results if r.criterion_code in wanted}


async def _store_derived(conn: Conn, a: Assessment, results: dict[str, DerivedResult]) -> None:
    await repo.save_derived(
        conn,
        assessment_id=a.id,
        results=[
            (
                r.criterion_code,
                r.met,
                r.reason,
                [{"kind": s.kind, "id": s.id, "label": s.label} for s in r.sources],
            )
            for r in results.values()
        ],
    )


def _views(
    cset: CriteriaSet, rows: dict[str, asyncpg.Record], live: dict[str, DerivedResult] | None
) -> list[AnswerView]:
    """Each criterion with what the unit, the platform and the verifier said. `live` (an open assessment)
    shows the derived criteria as the platform's data stands now; a finalised one shows what was kept."""
    views = []
    for c in cset.criteria:
        view = AnswerView(c.code, c.text, c.kind, c.mandatory, c.derivation)
        r = rows.get(c.code)
        if r is not None:
            view = replace(
                view,
                self_met=r["self_met"],
                self_notes=r["self_notes"],
                evidence_links=tuple(r["evidence_links"]),
                verified_met=r["verified_met"],
                verified_notes=r["verified_notes"],
                verified_by=r["verified_by"],
                derived_met=r["derived_met"],
                derived_reason=r["derived_reason"],
                derived_sources=tuple(
                    SourceView(s["kind"], s["id"], s["label"]) for s in r["derived_sources"]
                ),
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


async def _audit(conn: Conn, a: Assessment, *, action: str, details: dict[str, object]) -> None:
    await audit.record(
        conn,
        action=action,
        object_type="assessment",
        object_id=str(a.id),
        unit_id=str(a.unit_id),
        details={"round_id": str(a.round_id), "year": a.year, **details},
    )


async def _publish(conn: Conn, a: Assessment, message: object) -> None:
    await outbox.add(conn, topic=TOPIC, key=str(a.unit_id), subject=str(a.id), source=SOURCE, message=message)  # type: ignore[arg-type]


# --- rounds ---------------------------------------------------------------------------------------------


async def open_round(pool: asyncpg.Pool, cmd: OpenRound, *, principal: Principal) -> Round:
    """One call, one transaction: the round, an assessment per unit in scope, one event per unit."""
    require_roles(principal, ADMIN)
    cmd = validate_round(cmd)
    async with pool.acquire() as conn, conn.transaction():
        if await repo.round_exists(conn, year=cmd.year, district_code=cmd.district_code):
            raise AlreadyExists(
                f"the round of {cmd.year} for {cmd.district_code or 'the province'} is already open",
                code="round_exists",
                resource_type="round",
            )
        try:
            round_, opened = await repo.open_round(
                conn, round_id=uuid.uuid4(), cmd=cmd, opened_by=principal.subject
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(
                f"the round of {cmd.year} was opened at the same moment",
                code="round_exists",
                resource_type="round",
            ) from None
        await audit.record(
            conn,
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
        await outbox.add_many(
            conn,
            topic=TOPIC,
            source=SOURCE,
            events=[
                (
                    str(a.unit_id),
                    pb.AssessmentRoundOpened(round=round_pb, assessment=messages.assessment_to_pb(a)),
                )
                for a in opened
            ],
        )
    return round_


async def get_round(pool: asyncpg.Pool, round_id: str, *, principal: Principal) -> Round:
    require_roles(principal, *READERS)
    rid = parse_id(round_id)
    async with pool.acquire() as conn:
        found = await repo.get_round(conn, round_id=rid)
    if found is None:
        raise NotFound(f"no round {rid}", code="round_not_found", resource_type="round", resource_id=str(rid))
    return found


async def list_rounds(pool: asyncpg.Pool, *, year: int = 0, principal: Principal) -> list[Round]:
    require_roles(principal, *READERS)
    async with pool.acquire() as conn:
        return await repo.list_rounds(conn, year=year)


async def round_progress(
    pool: asyncpg.Pool, round_id: str, *, principal: Principal
) -> tuple[Round, list[ProgressRow]]:
    require_roles(principal, *PROVINCE_WIDE_READERS)
    found = await get_round(pool, round_id, principal=principal)
    async with pool.acquire() as conn:
        return found, await repo.progress(conn, round_id=found.id)


# --- assessments: reads ---------------------------------------------------------------------------------


async def list_assessments(
    pool: asyncpg.Pool, query: ListAssessments, *, principal: Principal
) -> tuple[list[Assessment], str]:
    """One page of the assessments the caller may see, and the next page's token ('' at the end)."""
    require_roles(principal, *READERS)
    where = filter_of(query)
    if principal.is_unit_officer_only:
        ensure_unit_access(principal, str(where.unit_id) if where.unit_id else principal.unit_id)
        where = replace(where, unit_id=parse_id(str(principal.unit_id), "unit_id"))
    limit = page_size(query.page_size)
    fingerprint = {k: str(v) for k, v in asdict(where).items()}
    position = decode_cursor(query.page_token, filters=fingerprint)
    after = (str(position[0]), parse_id(str(position[1]), "page_token")) if position else None
    async with pool.acquire() as conn:
        rows = await repo.list_assessments(conn, where=where, after=after, limit=limit + 1)
    page = rows[:limit]
    token = (
        encode_cursor([page[-1].unit_code, str(page[-1].id)], filters=fingerprint)
        if len(rows) > limit
        else ""
    )
    return page, token


async def get_assessment(pool: asyncpg.Pool, assessment_id: str, *, principal: Principal) -> AssessmentDetail:
    require_roles(principal, *READERS)
    aid = parse_id(assessment_id)
    async with pool.acquire() as conn:
        a = await _assessment(conn, aid)
        ensure_unit_access(principal, str(a.unit_id))
        cset = await _set_of(conn, a)
        live = None if a.status is AssessmentStatus.FINALISED else await _derive(conn, a, cset)
        answers = _views(cset, await repo.answers(conn, assessment_id=aid), live)
        return AssessmentDetail(
            a,
            answers,
            await repo.history(conn, assessment_id=aid),
            await repo.review_flags(conn, assessment_id=aid),
        )


# --- assessments: changes -------------------------------------------------------------------------------


async def save_answers(
    pool: asyncpg.Pool, assessment_id: str, answers: Sequence[SelfAnswer], *, principal: Principal
) -> Assessment:
    aid = parse_id(assessment_id)
    require_roles(principal, UNIT_OFFICER)
    async with pool.acquire() as conn, conn.transaction():
        a = await _assessment(conn, aid, for_update=True)
        _ensure_own_unit(principal, a)
        ensure_status(a, AssessmentStatus.DRAFT, doing="answer")
        cleaned = validate_answers(answers, await _set_of(conn, a))
        await repo.save_self_answers(conn, assessment_id=aid, answers=cleaned)
        await _audit(
            conn, a, action="assessment.answer", details={"criteria": [x.criterion_code for x in cleaned]}
        )
        return await _assessment(conn, aid)


async def submit(
    pool: asyncpg.Pool, assessment_id: str, answers: Sequence[SelfAnswer] = (), *, principal: Principal
) -> Assessment:
    """The unit's self-assessment goes to the police, with the derived prefill as it stands now."""
    aid = parse_id(assessment_id)
    require_roles(principal, UNIT_OFFICER)
    async with pool.acquire() as conn, conn.transaction():
        a = await _assessment(conn, aid, for_update=True)
        _ensure_own_unit(principal, a)
        ensure_status(a, AssessmentStatus.DRAFT, doing="submit")
        cset = await _set_of(conn, a)
        if answers:
            await repo.save_self_answers(conn, assessment_id=aid, answers=validate_answers(answers, cset))
        rows = await repo.answers(conn, assessment_id=aid)
        missing = missing_self_answers(cset, {code: r["self_met"] for code, r in rows.items()})
        if missing:
            raise InvalidArgument(
                "every declared and evidence criterion needs an answer before submission",
                code="incomplete_self_assessment",
                fields=[FieldProblem("answers", f"no answer to {code}") for code in missing],
            )
        await _store_derived(conn, a, await _derive(conn, a, cset))
        await repo.mark_submitted(conn, assessment_id=aid, by=principal.subject)
        a = await _assessment(conn, aid)
        await _audit(conn, a, action="assessment.submit", details={})
        await _publish(
            conn,
            a,
            pb.AssessmentSubmitted(assessment=messages.assessment_to_pb(a), actor=messages.actor(principal)),
        )
        return a


async def verify(
    pool: asyncpg.Pool, assessment_id: str, verdicts: Sequence[Verdict], *, principal: Principal
) -> Assessment:
    """Verdicts on some or all criteria; the assessment counts as verified once every criterion has one."""
    aid = parse_id(assessment_id)
    require_roles(principal, POLICE)
    async with pool.acquire() as conn, conn.transaction():
        a = await _assessment(conn, aid, for_update=True)
        ensure_status(a, AssessmentStatus.SUBMITTED, doing="verify")
        ensure_not_submitter(a, principal.subject, doing="verify")
        cset = await _set_of(conn, a)
        cleaned = validate_verdicts(verdicts, cset, required=True)
        await repo.save_verdicts(conn, assessment_id=aid, verdicts=cleaned, by=principal.subject)
        rows = await repo.answers(conn, assessment_id=aid)
        complete = all(
            rows.get(c.code) is not None and rows[c.code]["verified_met"] is not None for c in cset.criteria
        )
        await repo.mark_verified(conn, assessment_id=aid, complete=complete)
        await _audit(
            conn,
            a,
            action="assessment.verify",
            details={"verdicts": {v.criterion_code: v.met for v in cleaned}, "complete": complete},
        )
        return await _assessment(conn, aid)


def _verdicts(rows: dict[str, asyncpg.Record]) -> dict[str, bool]:
    return {code: r["verified_met"] for code, r in rows.items() if r["verified_met"] is not None}


async def finalise(pool: asyncpg.Pool, assessment_id: str, *, principal: Principal) -> Assessment:
    """PASSED or FAILED by the set's pass rule over the verdicts; revision 1; immutable from here on."""
    aid = parse_id(assessment_id)
    require_roles(principal, POLICE)
    async with pool.acquire() as conn, conn.transaction():
        a = await _assessment(conn, aid, for_update=True)
        ensure_status(a, AssessmentStatus.SUBMITTED, doing="finalise")
        ensure_not_submitter(a, principal.subject, doing="finalise")
        cset = await _set_of(conn, a)
        verdicts = _verdicts(await repo.answers(conn, assessment_id=aid))
        judgement = judge(cset, verdicts)
        await _store_derived(conn, a, await _derive(conn, a, cset))
        await repo.record_result(
            conn,
            assessment_id=aid,
            judgement=judgement,
            verdicts=verdicts,
            reason=FINALISED_REASON,
            by=principal.subject,
        )
        a = await _assessment(conn, aid)
        await _audit(
            conn,
            a,
            action="assessment.finalise",
            details={
                "result": judgement.result.value,
                "score": str(judgement.score),
                "unmet": list(judgement.unmet),
            },
        )
        await _publish(
            conn,
            a,
            pb.AssessmentFinalised(assessment=messages.assessment_to_pb(a), actor=messages.actor(principal)),
        )
        return a


async def revise(
    pool: asyncpg.Pool, assessment_id: str, reason: str, verdicts: Sequence[Verdict], *, principal: Principal
) -> Assessment:
    """A correction of a finalised result: the corrected verdicts, judged again, become the next revision;
    the earlier revisions stay in the history, and the open review flags are answered by it."""
    aid = parse_id(assessment_id)
    require_roles(principal, POLICE, ADMIN)
    why = " ".join(reason.split())
    if not why or len(why) > 2000:
        raise InvalidArgument(
            "a revision needs its reason",
            code="invalid_revision",
            fields=[FieldProblem("reason", "required, at most 2000 characters")],
        )
    async with pool.acquire() as conn, conn.transaction():
        before = await _assessment(conn, aid, for_update=True)
        ensure_status(before, AssessmentStatus.FINALISED, doing="revise")
        ensure_not_submitter(before, principal.subject, doing="revise")
        cset = await _set_of(conn, before)
        cleaned = validate_verdicts(verdicts, cset)
        await repo.save_verdicts(conn, assessment_id=aid, verdicts=cleaned, by=principal.subject)
        corrected = _verdicts(await repo.answers(conn, assessment_id=aid))
        judgement = judge(cset, corrected)
        await repo.record_result(
            conn, assessment_id=aid, judgement=judgement, verdicts=corrected, reason=why, by=principal.subject
        )
        await repo.resolve_flags(conn, assessment_id=aid)
        a = await _assessment(conn, aid)
        await _audit(
            conn,
            a,
            action="assessment.revise",
            details={
                "revision": a.revision,
                "reason": why,
                "result": judgement.result.value,
                "previous_result": before.result.value if before.result else None,
            },
        )
        await _publish(
            conn,
            a,
            pb.AssessmentRevised(
                assessment=messages.assessment_to_pb(a),
                actor=messages.actor(principal),
                reason=why,
                previous_result=messages.RESULT_TO_PB[before.result] if before.result else None,
                previous_score=float(before.score or 0),
            ),
        )
        return a


# --- corrective actions ---------------------------------------------------------------------------------


async def create_action(
    pool: asyncpg.Pool, assessment_id: str, cmd: NewCorrectiveAction, *, principal: Principal
) -> CorrectiveAction:
    aid = parse_id(assessment_id, "assessment_id")
    require_roles(principal, POLICE, ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        a = await _assessment(conn, aid, for_update=True)
        cleaned = validate_action(cmd, a, today=today())
        action = await repo.add_action(
            conn, action_id=uuid.uuid4(), assessment_id=aid, cmd=cleaned, by=principal.subject
        )
        await audit.record(
            conn,
            action="corrective_action.create",
            object_type="corrective_action",
            object_id=str(action.id),
            unit_id=str(a.unit_id),
            details={
                "assessment_id": str(aid),
                "criterion": action.criterion_code,
                "due_on": action.due_on.isoformat(),
            },
        )
        return action


async def close_action(
    pool: asyncpg.Pool, action_id: str, note: str = "", *, principal: Principal
) -> CorrectiveAction:
    """Police or admin close an action; so may the officer of the unit that carried it out."""
    cid = parse_id(action_id)
    require_roles(principal, POLICE, ADMIN, UNIT_OFFICER)
    async with pool.acquire() as conn, conn.transaction():
        found = await repo.get_action(conn, action_id=cid, for_update=True)
        if found is None:
            raise NotFound(
                f"no corrective action {cid}",
                code="action_not_found",
                resource_type="corrective_action",
                resource_id=str(cid),
            )
        if not principal.has_any(POLICE, ADMIN) and principal.unit_id != str(found.unit_id):
            raise PermissionDenied(
                "a unit officer reaches only its own unit",
                code="other_unit",
                resource_type="unit",
                resource_id=str(found.unit_id),
            )
        if found.status is ActionStatus.CLOSED:
            raise Conflict(
                "the corrective action is already closed",
                code="already_closed",
                resource_type="corrective_action",
                resource_id=str(cid),
            )
        closed = await repo.close_action(
            conn, action_id=cid, by=principal.subject, note=" ".join(note.split())[:4000]
        )
        await audit.record(
            conn,
            action="corrective_action.close",
            object_type="corrective_action",
            object_id=str(cid),
            unit_id=str(found.unit_id),
            details={"note": closed.closing_note},
        )
        return closed


async def list_actions(
    pool: asyncpg.Pool, *, assessment_id: str = "", unit_id: str = "", status: str = "", principal: Principal
) -> list[CorrectiveAction]:
    require_roles(principal, *READERS)
    aid = parse_id(assessment_id, "assessment_id") if assessment_id else None
    uid = parse_id(unit_id, "unit_id") if unit_id else None
    if status and status not in {s.value for s in ActionStatus}:
        raise InvalidArgument(
            "unknown status", code="invalid_filter", fields=[FieldProblem("status", "open or closed")]
        )
    if principal.is_unit_officer_only:
        ensure_unit_access(principal, str(uid) if uid else principal.unit_id)
        uid = parse_id(str(principal.unit_id), "unit_id")
    async with pool.acquire() as conn:
        return await repo.list_actions(
            conn, assessment_id=aid, unit_id=uid, status=ActionStatus(status) if status else None
        )
