"""Handlers of rounds, nominations, council votes and decisions: one logic path behind the gRPC and HTTP
doors.

Every change is one transaction that writes its rows, its audit row and, where others must know, its event
(outbox, topic `d07.awards.awards.v1`: NominationSubmitted keyed by nomination id, AwardDecided and
AwardRevoked keyed by award id).

Who may do what, checked on every object:
- admin opens rounds, screens nominations and sends them to the council;
- a unit officer proposes nominations for its own unit and its people only, and reads only those;
- council members (subjects named by the round) vote, never on a nomination they proposed;
- the form's deciding role decides (chairman_office: merit, police: commendation), rejects and revokes;
  admin may reject too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg

from awards.nominations import domain, messages
from awards.nominations import repository as repo
from awards.nominations.domain import Nominee, Quota, Round, RuleOutcome
from d07.awards.v1 import awards_pb2 as pb
from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.events import outbox

VIETNAM = timezone(timedelta(hours=7))


def today() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()


def _required(value: str, name: str) -> str:
    if not value.strip():
        raise InvalidArgument(f"{name} is required", code="required", fields=[FieldProblem(name, "required")])
    return value.strip()


# --- rounds -------------------------------------------------------------------------------------------------


async def open_round(
    pool: asyncpg.Pool,
    *,
    title: str,
    period_start: date,
    period_end: date,
    nominations_open: date,
    nominations_close: date,
    min_passed_years: int,
    require_training: bool,
    council_members: list[str],
    quotas: tuple[Quota, ...],
    principal: Principal,
    historical: bool = False,
) -> Round:
    require_roles(principal, ADMIN)
    problems = []
    if period_end < period_start:
        problems.append(FieldProblem("period_end", "not before period_start"))
    if nominations_close < nominations_open:
        problems.append(FieldProblem("nominations_close", "not before nominations_open"))
    if min_passed_years < 0:
        problems.append(FieldProblem("min_passed_years", "0 or more"))
    for i, q in enumerate(quotas):
        if q.recipient_kind not in domain.RECIPIENT_KINDS or q.quota < 0:
            problems.append(
                FieldProblem(f"quotas[{i}]", "a recipient kind collective|individual and a quota >= 0")
            )
    members = tuple(dict.fromkeys(m.strip() for m in council_members if m.strip()))
    if not members:
        problems.append(FieldProblem("council_members", "at least one member"))
    if problems:
        raise InvalidArgument("the round is not valid", code="invalid_round", fields=problems)
    round_ = Round(
        uuid.uuid4(),
        _required(title, "title"),
        period_start,
        period_end,
        nominations_open,
        nominations_close,
        min_passed_years or domain.DEFAULT_MIN_PASSED_YEARS,
        require_training,
        members,
        quotas,
        historical,
    )
    async with pool.acquire() as conn, conn.transaction():
        for q in quotas:
            if await repo.form(conn, q.form_code) is None:
                raise InvalidArgument(
                    "unknown award form", code="unknown_form", fields=[FieldProblem("quotas", q.form_code)]
                )
        await repo.insert_round(conn, round_, opened_by=principal.subject)
        await audit.record(
            conn,
            action="award_round.open",
            object_type="award_round",
            object_id=str(round_.id),
            details={
                "title": round_.title,
                "period": [period_start.isoformat(), period_end.isoformat()],
                "quotas": [[q.form_code, q.recipient_kind, q.quota] for q in quotas],
                "historical": round_.historical,
            },
        )
    return round_


async def _round(conn: Conn, round_id: uuid.UUID) -> Round:
    r = await repo.get_round(conn, round_id)
    if r is None:
        raise NotFound(
            "no such round", code="round_not_found", resource_type="award_round", resource_id=str(round_id)
        )
    return r


async def get_round(pool: asyncpg.Pool, round_id: uuid.UUID, *, principal: Principal) -> Round:
    async with pool.acquire() as conn:
        return await _round(conn, round_id)


# --- eligibility --------------------------------------------------------------------------------------------


async def _evaluate(
    conn: Conn, round_: Round, form_code: str, nominee: Nominee, *, exclude: uuid.UUID | None = None
) -> list[RuleOutcome]:
    facts = await repo.facts(conn, round_, form_code, nominee, exclude=exclude)
    return domain.evaluate(round_, nominee, facts)


async def check_eligibility(
    pool: asyncpg.Pool, round_id: uuid.UUID, form_code: str, nominee: Nominee, *, principal: Principal
) -> list[RuleOutcome]:
    domain.validate_nominee(nominee)
    ensure_unit_access(principal, str(nominee.unit_id))
    async with pool.acquire() as conn:
        round_ = await _round(conn, round_id)
        return await _evaluate(conn, round_, form_code, nominee)


# --- nominations --------------------------------------------------------------------------------------------


async def _nomination(conn: Conn, nomination_id: uuid.UUID, *, lock: bool = False) -> Any:
    row = await repo.get_nomination(conn, nomination_id, lock=lock)
    if row is None:
        raise NotFound(
            "no such nomination",
            code="nomination_not_found",
            resource_type="nomination",
            resource_id=str(nomination_id),
        )
    return row


def _nominee(row: Any) -> Nominee:
    return Nominee(row["recipient_kind"], row["unit_id"], row["guard_id"], row["person_name"])


async def _audit(conn: Conn, action: str, row: Any, **details: Any) -> None:
    await audit.record(
        conn,
        action=action,
        object_type="nomination",
        object_id=str(row["nomination_id"]),
        unit_id=str(row["unit_id"]),
        details={"round_id": str(row["round_id"]), "form": row["form_code"], **details},
    )


async def create_nomination(
    pool: asyncpg.Pool,
    *,
    round_id: uuid.UUID,
    form_code: str,
    nominee: Nominee,
    achievements: str,
    principal: Principal,
) -> Any:
    require_roles(principal, ADMIN, UNIT_OFFICER)
    domain.validate_nominee(nominee)
    ensure_unit_access(principal, str(nominee.unit_id), write=True)
    achievements = _required(achievements, "achievements")
    nomination_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        round_ = await _round(conn, round_id)
        if not round_.takes_nominations_on(today()):
            raise Conflict(
                "the nomination window is closed",
                code="window_closed",
                resource_type="award_round",
                resource_id=str(round_id),
            )
        if await repo.form(conn, form_code) is None:
            raise InvalidArgument(
                "unknown award form", code="unknown_form", fields=[FieldProblem("form_code", form_code)]
            )
        if nominee.guard_id is not None and nominee.person_name is None:
            name = await repo.guard_name(conn, nominee.guard_id)
            nominee = Nominee(nominee.recipient_kind, nominee.unit_id, nominee.guard_id, name or "")
        outcomes = await _evaluate(conn, round_, form_code, nominee)
        # A draft may wait for its records to change, but never doubles a nomination of the same form.
        domain.ensure_eligible([o for o in outcomes if o.rule == "once_per_form"])
        try:
            async with conn.transaction():
                await repo.insert_nomination(
                    conn,
                    nomination_id=nomination_id,
                    round_id=round_id,
                    form_code=form_code,
                    nominee=nominee,
                    achievements=achievements,
                    proposer=principal.subject,
                    outcomes=outcomes,
                )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "the nominee is nominated for this form in the round",
                code="ineligible",
                fields=[FieldProblem("eligibility.once_per_form", "a concurrent nomination")],
            ) from None
        row = await _nomination(conn, nomination_id)
        await _audit(conn, "nomination.create", row, recipient_kind=nominee.recipient_kind)
        return row


async def submit_nomination(pool: asyncpg.Pool, nomination_id: uuid.UUID, *, principal: Principal) -> Any:
    """Draft -> submitted, only when every rule holds now (else FAILED_PRECONDITION naming the rules and
    their records)."""
    require_roles(principal, ADMIN, UNIT_OFFICER)
    async with pool.acquire() as conn, conn.transaction():
        row = await _nomination(conn, nomination_id, lock=True)
        ensure_unit_access(principal, str(row["unit_id"]), write=True)
        domain.ensure_status(nomination_id, row["status"], "draft")
        round_ = await _round(conn, row["round_id"])
        outcomes = await _evaluate(conn, round_, row["form_code"], _nominee(row), exclude=nomination_id)
        domain.ensure_eligible(outcomes)
        await repo.set_status(conn, nomination_id, "submitted", outcomes=outcomes)
        row = await _nomination(conn, nomination_id)
        await _audit(conn, "nomination.submit", row)
        await outbox.add(
            conn,
            topic=messages.TOPIC,
            key=str(nomination_id),
            subject=str(nomination_id),
            source=messages.SOURCE,
            message=pb.NominationSubmitted(
                nomination=messages.nomination_pb(row), actor=messages.actor(principal)
            ),
        )
        return row


async def _advance(
    pool: asyncpg.Pool, nomination_id: uuid.UUID, *, frm: str, to: str, action: str, principal: Principal
) -> Any:
    """Screening steps of the secretariat: the rules are evaluated again, and a nomination that no longer
    meets them cannot move on (it is rejected with its reason, or reviewed after the records change)."""
    require_roles(principal, ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        row = await _nomination(conn, nomination_id, lock=True)
        domain.ensure_status(nomination_id, row["status"], frm)
        round_ = await _round(conn, row["round_id"])
        outcomes = await _evaluate(conn, round_, row["form_code"], _nominee(row), exclude=nomination_id)
        domain.ensure_eligible(outcomes)
        await repo.set_status(conn, nomination_id, to, outcomes=outcomes)
        row = await _nomination(conn, nomination_id)
        await _audit(conn, action, row)
        return row


async def screen_nomination(pool: asyncpg.Pool, nomination_id: uuid.UUID, *, principal: Principal) -> Any:
    return await _advance(
        pool, nomination_id, frm="submitted", to="screened", action="nomination.screen", principal=principal
    )


async def send_to_council(pool: asyncpg.Pool, nomination_id: uuid.UUID, *, principal: Principal) -> Any:
    return await _advance(
        pool,
        nomination_id,
        frm="screened",
        to="in_council",
        action="nomination.to_council",
        principal=principal,
    )


def _voters(round_: Round, proposer: str) -> list[str]:
    return [m for m in round_.council_members if m != proposer]


async def cast_vote(
    pool: asyncpg.Pool, nomination_id: uuid.UUID, approve: bool, *, principal: Principal
) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        row = await _nomination(conn, nomination_id, lock=True)
        round_ = await _round(conn, row["round_id"])
        if principal.subject not in round_.council_members:
            raise PermissionDenied(
                "only the round's council votes",
                code="not_council_member",
                resource_type="nomination",
                resource_id=str(nomination_id),
            )
        if principal.subject == row["proposer"]:
            raise PermissionDenied(
                "a council member does not vote on a nomination they proposed",
                code="own_nomination",
                resource_type="nomination",
                resource_id=str(nomination_id),
            )
        domain.ensure_status(nomination_id, row["status"], "in_council")
        if not await repo.add_vote(conn, nomination_id, principal.subject, approve):
            raise Conflict(
                "this member has voted",
                code="already_voted",
                resource_type="nomination",
                resource_id=str(nomination_id),
            )
        row = await _nomination(conn, nomination_id)
        await _audit(conn, "nomination.vote", row, approve=approve)
        return row


async def _ensure_decider(conn: Conn, form_code: str, principal: Principal) -> Any:
    form = await repo.form(conn, form_code)
    assert form is not None  # nominations reference award_forms
    require_roles(principal, form["deciding_role"])
    return form


async def decide_nomination(
    pool: asyncpg.Pool,
    nomination_id: uuid.UUID,
    *,
    decision_number: str,
    decided_on: date,
    signer: str,
    principal: Principal,
) -> Any:
    """In council with a majority in favour -> decided: an award row (the certificates' source) and
    AwardDecided. The quota is counted under a lock of its row, so two deciders cannot both take the last
    place."""
    decision_number = _required(decision_number, "decision_number")
    signer = _required(signer, "signer")
    if decided_on > today():
        raise InvalidArgument(
            "a decision cannot be dated in the future",
            code="decision_in_future",
            fields=[FieldProblem("decided_on", f"on or before {today().isoformat()}")],
        )
    async with pool.acquire() as conn, conn.transaction():
        row = await _nomination(conn, nomination_id, lock=True)
        form = await _ensure_decider(conn, row["form_code"], principal)
        domain.ensure_status(nomination_id, row["status"], "in_council")
        if row["needs_review"]:
            raise Conflict(
                f"nomination needs review: {row['review_reason']}",
                code="needs_review",
                resource_type="nomination",
                resource_id=str(nomination_id),
            )
        round_ = await _round(conn, row["round_id"])
        outcome = domain.majority(
            row["votes_for"], row["votes_against"], len(_voters(round_, row["proposer"]))
        )
        if outcome is not True:
            raise Conflict(
                "the council has no majority in favour",
                code="no_council_majority",
                resource_type="nomination",
                resource_id=str(nomination_id),
            )
        taken = await repo.lock_quota(conn, round_.id, row["form_code"], row["recipient_kind"])
        domain.ensure_quota(round_, row["form_code"], row["recipient_kind"], taken)
        award_id = uuid.uuid4()
        await repo.insert_award(
            conn,
            {
                "id": award_id,
                "nomination_id": nomination_id,
                "round_id": round_.id,
                "form_code": row["form_code"],
                "recipient_kind": row["recipient_kind"],
                "unit_id": row["unit_id"],
                "person_name": row["person_name"],
                "decision_number": decision_number,
                "decided_on": decided_on,
                "signer": signer,
                "issuer": form["issuer"],
            },
        )
        await repo.set_status(conn, nomination_id, "decided")
        award = await repo.get_award(conn, award_id)
        await _audit(conn, "nomination.decide", row, award_id=str(award_id), decision_number=decision_number)
        await outbox.add(
            conn,
            topic=messages.TOPIC,
            key=str(award_id),
            subject=str(award_id),
            source=messages.SOURCE,
            message=pb.AwardDecided(award=messages.award_pb(award), actor=messages.actor(principal)),
        )
        return award


async def reject_nomination(
    pool: asyncpg.Pool, nomination_id: uuid.UUID, reason: str, *, principal: Principal
) -> Any:
    reason = _required(reason, "reason")
    async with pool.acquire() as conn, conn.transaction():
        row = await _nomination(conn, nomination_id, lock=True)
        if not principal.has_any(ADMIN):
            await _ensure_decider(conn, row["form_code"], principal)
        domain.ensure_status(nomination_id, row["status"], *domain.PENDING)
        await repo.set_status(conn, nomination_id, "rejected", rejected_reason=reason)
        row = await _nomination(conn, nomination_id)
        await _audit(conn, "nomination.reject", row, reason=reason)
        return row


async def revoke_award(pool: asyncpg.Pool, award_id: uuid.UUID, reason: str, *, principal: Principal) -> Any:
    """A decided award -> revoked: it leaves the quota and the counts (AwardRevoked), and its certificate
    verifies as revoked."""
    reason = _required(reason, "reason")
    async with pool.acquire() as conn, conn.transaction():
        award = await repo.get_award(conn, award_id, lock=True)
        if award is None:
            raise NotFound(
                "no such award", code="award_not_found", resource_type="award", resource_id=str(award_id)
            )
        await _ensure_decider(conn, award["form_code"], principal)
        if award["status"] != "decided":
            raise Conflict(
                "the award is revoked already",
                code="wrong_status",
                resource_type="award",
                resource_id=str(award_id),
            )
        await repo.revoke_award(conn, award_id, reason)
        award = await repo.get_award(conn, award_id)
        await audit.record(
            conn,
            action="award.revoke",
            object_type="award",
            object_id=str(award_id),
            unit_id=str(award["unit_id"]),
            details={"reason": reason},
        )
        await outbox.add(
            conn,
            topic=messages.TOPIC,
            key=str(award_id),
            subject=str(award_id),
            source=messages.SOURCE,
            message=pb.AwardRevoked(
                award=messages.award_pb(award), actor=messages.actor(principal), reason=reason
            ),
        )
        return award


async def get_nomination(pool: asyncpg.Pool, nomination_id: uuid.UUID, *, principal: Principal) -> Any:
    async with pool.acquire() as conn:
        row = await _nomination(conn, nomination_id)
    ensure_unit_access(principal, str(row["unit_id"]))
    return row


async def list_nominations(
    pool: asyncpg.Pool, round_id: uuid.UUID, status: str | None, *, principal: Principal
) -> list[Any]:
    unit: uuid.UUID | None = None
    if not principal.has_any(*PROVINCE_WIDE_READERS):
        ensure_unit_access(principal, principal.unit_id)
        unit = uuid.UUID(principal.unit_id) if principal.unit_id else None
    async with pool.acquire() as conn:
        return await repo.list_nominations(conn, round_id, status or None, unit)


async def list_awards(pool: asyncpg.Pool, round_id: uuid.UUID, *, principal: Principal) -> list[Any]:
    # Decided awards are public acts (decision numbers, recipients): every authenticated caller may read them.
    async with pool.acquire() as conn:
        return await repo.list_awards(conn, round_id)


# --- review after a later event -----------------------------------------------------------------------------


async def review_pending(conn: Conn, unit_id: uuid.UUID, cause: str) -> int:
    """Evaluate again the unit's pending nominations after a record changed; flag each that a rule now fails,
    naming the rule and its records. Returns how many were flagged now."""
    rows = await conn.fetch(
        "SELECT nomination_id FROM nominations WHERE unit_id = $1 AND status = ANY($2::text[])",
        unit_id,
        list(domain.PENDING),
    )
    flagged = 0
    for r in rows:
        row = await repo.get_nomination(conn, r["nomination_id"])
        round_ = await _round(conn, row["round_id"])
        outcomes = await _evaluate(
            conn, round_, row["form_code"], _nominee(row), exclude=row["nomination_id"]
        )
        failing = [o for o in outcomes if not o.passed]
        if not failing:
            continue
        reason = f"{cause}: " + "; ".join(f"{o.rule} ({o.reason}) [{', '.join(o.sources)}]" for o in failing)
        if await repo.flag_pending(conn, row["nomination_id"], reason):
            flagged += 1
            await _audit(conn, "nomination.flag_review", row, reason=reason)
    return flagged
