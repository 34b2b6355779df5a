"""Handlers of rounds, nominations, council votes and decisions: one logic path behind the gRPC and HTTP
doors, each `handler(uow, command, principal)`.

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
from dataclasses import dataclass
from datetime import date
from typing import Any

from awards.forms.domain import AwardForm
from awards.forms.repository import FormRepository
from awards.nominations import domain, messages
from awards.nominations.domain import Award, Nomination, Nominee, Quota, Round, RuleOutcome
from awards.nominations.repository import AwardRepository, NominationRepository, RoundRepository
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
from d07.platform.convert import actor
from d07.platform.db import Conn
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.uow import UnitOfWork

# Who calls what (the HTTP doors repeat these lists in a route dependency, so a forbidden caller gets 403
# before its body is validated; the handlers' checks stay the authority).
READERS = (*sorted(PROVINCE_WIDE_READERS), UNIT_OFFICER)  # rounds and decided awards; never camera_gateway
ROUND_OPENERS = (ADMIN,)
PROPOSERS = (ADMIN, UNIT_OFFICER)  # a unit officer for its own unit and its own guards
SECRETARIAT = (ADMIN,)  # screening, sending to the council
DECIDERS = domain.DECIDING_ROLES  # each form names one of them
REJECTERS = (ADMIN, *domain.DECIDING_ROLES)


class NominationsUnitOfWork(UnitOfWork):
    rounds: RoundRepository
    nominations: NominationRepository
    awards: AwardRepository
    forms: FormRepository

    def bind(self, conn: Conn) -> None:
        self.rounds = RoundRepository(conn)
        self.nominations = NominationRepository(conn)
        self.awards = AwardRepository(conn)
        self.forms = FormRepository(conn)


# --- commands and queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRound:
    title: str
    period_start: date
    period_end: date
    nominations_open: date
    nominations_close: date
    min_passed_years: int
    require_training: bool
    council_members: tuple[str, ...]
    quotas: tuple[Quota, ...]
    historical: bool = False


@dataclass(frozen=True)
class GetRound:
    round_id: uuid.UUID


@dataclass(frozen=True)
class CheckEligibility:
    round_id: uuid.UUID
    form_code: str
    nominee: Nominee


@dataclass(frozen=True)
class CreateNomination:
    round_id: uuid.UUID
    form_code: str
    nominee: Nominee
    achievements: str
    # None: today. A historical round's nominations carry the paper record's day, inside its window.
    nominated_on: date | None = None


@dataclass(frozen=True)
class NominationStep:
    """Submit, screen or send to the council: the nomination named."""

    nomination_id: uuid.UUID


@dataclass(frozen=True)
class CastVote:
    nomination_id: uuid.UUID
    approve: bool


@dataclass(frozen=True)
class DecideNomination:
    nomination_id: uuid.UUID
    decision_number: str
    decided_on: date
    signer: str


@dataclass(frozen=True)
class RejectNomination:
    nomination_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class RevokeAward:
    award_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class GetNomination:
    nomination_id: uuid.UUID


@dataclass(frozen=True)
class ListNominations:
    round_id: uuid.UUID
    status: str | None = None


@dataclass(frozen=True)
class ListAwards:
    round_id: uuid.UUID


def _required(value: str, name: str) -> str:
    if not value.strip():
        raise InvalidArgument(f"{name} is required", code="required", fields=[FieldProblem(name, "required")])
    return value.strip()


# --- rounds -------------------------------------------------------------------------------------------------


def _valid_round(cmd: OpenRound) -> Round:
    problems = []
    if cmd.period_end < cmd.period_start:
        problems.append(FieldProblem("period_end", "not before period_start"))
    if cmd.nominations_close < cmd.nominations_open:
        problems.append(FieldProblem("nominations_close", "not before nominations_open"))
    if cmd.min_passed_years < 0:
        problems.append(FieldProblem("min_passed_years", "0 or more"))
    for i, q in enumerate(cmd.quotas):
        if q.recipient_kind not in domain.RECIPIENT_KINDS or q.quota < 0:
            problems.append(
                FieldProblem(f"quotas[{i}]", "a recipient kind collective|individual and a quota >= 0")
            )
    members = tuple(dict.fromkeys(m.strip() for m in cmd.council_members if m.strip()))
    if not members:
        problems.append(FieldProblem("council_members", "at least one member"))
    if problems:
        raise InvalidArgument("the round is not valid", code="invalid_round", fields=problems)
    return Round(
        uuid.uuid4(), _required(cmd.title, "title"), cmd.period_start, cmd.period_end, cmd.nominations_open,
        cmd.nominations_close, cmd.min_passed_years or domain.DEFAULT_MIN_PASSED_YEARS, cmd.require_training,
        members, cmd.quotas, cmd.historical,
    )  # fmt: skip


async def open_round(uow: NominationsUnitOfWork, cmd: OpenRound, principal: Principal) -> Round:
    require_roles(principal, *ROUND_OPENERS)
    round_ = _valid_round(cmd)
    async with uow:
        for q in cmd.quotas:
            if await uow.forms.get(q.form_code) is None:
                raise InvalidArgument(
                    "unknown award form", code="unknown_form", fields=[FieldProblem("quotas", q.form_code)]
                )
        await uow.rounds.insert(round_, opened_by=principal.subject)
        await uow.audit(
            action="award_round.open",
            object_type="award_round",
            object_id=str(round_.id),
            details={
                "title": round_.title,
                "period": [cmd.period_start.isoformat(), cmd.period_end.isoformat()],
                "quotas": [[q.form_code, q.recipient_kind, q.quota] for q in cmd.quotas],
                "historical": round_.historical,
            },
        )
    return round_


async def _round(rounds: RoundRepository, round_id: uuid.UUID) -> Round:
    r = await rounds.get(round_id)
    if r is None:
        raise NotFound(
            "no such round", code="round_not_found", resource_type="award_round", resource_id=str(round_id)
        )
    return r


async def get_round(uow: NominationsUnitOfWork, query: GetRound, principal: Principal) -> Round:
    require_roles(principal, *READERS)
    async with uow:
        return await _round(uow.rounds, query.round_id)


# --- eligibility --------------------------------------------------------------------------------------------


async def _evaluate(
    nominations: NominationRepository,
    round_: Round,
    form_code: str,
    nominee: Nominee,
    *,
    exclude: uuid.UUID | None = None,
) -> list[RuleOutcome]:
    facts = await nominations.facts(round_, form_code, nominee, exclude=exclude)
    return domain.evaluate(round_, nominee, facts)


async def check_eligibility(
    uow: NominationsUnitOfWork, query: CheckEligibility, principal: Principal
) -> list[RuleOutcome]:
    ensure_unit_access(principal, str(query.nominee.unit_id))
    domain.validate_nominee(query.nominee)
    async with uow:
        await _ensure_guard_reachable(uow.nominations, query.nominee, principal)
        round_ = await _round(uow.rounds, query.round_id)
        return await _evaluate(uow.nominations, round_, query.form_code, query.nominee)


async def _ensure_guard_reachable(
    nominations: NominationRepository, nominee: Nominee, principal: Principal
) -> None:
    """A unit officer names only its own unit's guards: naming another unit's guard under its own unit would
    store that guard's name and show its training."""
    if nominee.guard_id is not None and principal.is_unit_officer_only:
        domain.ensure_guard_of_unit(nominee, await nominations.guard(nominee.guard_id))


# --- nominations --------------------------------------------------------------------------------------------


async def _nomination(
    nominations: NominationRepository, nomination_id: uuid.UUID, *, lock: bool = False
) -> Nomination:
    n = await nominations.get(nomination_id, lock=lock)
    if n is None:
        raise NotFound(
            "no such nomination", code="nomination_not_found", resource_type="nomination",
            resource_id=str(nomination_id),
        )  # fmt: skip
    return n


def _audit_of(n: Nomination, was: Nomination | None = None, **details: Any) -> dict[str, Any]:
    """The audit row of a step on a nomination (object, unit, and what every such row names; with `was`, the
    nomination before the step, the old and new values of what the step changed)."""
    if was is not None:
        details["changes"] = audit.changes(was, n)
    return {
        "object_type": "nomination",
        "object_id": str(n.nomination_id),
        "unit_id": str(n.unit_id),
        "details": {"round_id": str(n.round_id), "form": n.form_code, **details},
    }


async def create_nomination(
    uow: NominationsUnitOfWork, cmd: CreateNomination, principal: Principal
) -> Nomination:
    require_roles(principal, *PROPOSERS)
    ensure_unit_access(principal, str(cmd.nominee.unit_id), write=True)
    domain.validate_nominee(cmd.nominee)
    achievements = _required(cmd.achievements, "achievements")
    nominee = cmd.nominee
    nomination_id = uuid.uuid4()
    async with uow:
        await _ensure_guard_reachable(uow.nominations, nominee, principal)
        round_ = await _round(uow.rounds, cmd.round_id)
        nominated_on = domain.nomination_day(round_, cmd.nominated_on, uow.today())
        if await uow.forms.get(cmd.form_code) is None:
            raise InvalidArgument(
                "unknown award form", code="unknown_form", fields=[FieldProblem("form_code", cmd.form_code)]
            )
        if nominee.guard_id is not None and nominee.person_name is None:
            name = await uow.nominations.guard_name(nominee.guard_id)
            nominee = Nominee(nominee.recipient_kind, nominee.unit_id, nominee.guard_id, name or "")
        outcomes = await _evaluate(uow.nominations, round_, cmd.form_code, nominee)
        # A draft may wait for its records to change, but never doubles a nomination of the same form.
        domain.ensure_eligible([o for o in outcomes if o.rule == "once_per_form"])
        draft = Nomination(
            nomination_id=nomination_id, round_id=cmd.round_id, form_code=cmd.form_code,
            recipient_kind=nominee.recipient_kind, unit_id=nominee.unit_id, guard_id=nominee.guard_id,
            person_name=nominee.person_name, achievements=achievements, proposer=principal.subject,
            status="draft", eligibility=tuple(outcomes), nominated_on=nominated_on,
        )  # fmt: skip
        if not await uow.nominations.insert(draft):
            raise Conflict(
                "the nominee is nominated for this form in the round",
                code="ineligible",
                fields=[FieldProblem("eligibility.once_per_form", "a concurrent nomination")],
            )
        n = await _nomination(uow.nominations, nomination_id)
        await uow.audit(action="nomination.create", **_audit_of(n, recipient_kind=nominee.recipient_kind))
        return n


async def submit_nomination(
    uow: NominationsUnitOfWork, cmd: NominationStep, principal: Principal
) -> Nomination:
    """Draft -> submitted, only when every rule holds now (else FAILED_PRECONDITION naming the rules and
    their records)."""
    require_roles(principal, *PROPOSERS)
    nomination_id = cmd.nomination_id
    async with uow:
        n = await _nomination(uow.nominations, nomination_id, lock=True)
        ensure_unit_access(principal, str(n.unit_id), write=True)
        domain.ensure_status(nomination_id, n.status, "draft")
        round_ = await _round(uow.rounds, n.round_id)
        outcomes = await _evaluate(uow.nominations, round_, n.form_code, n.nominee, exclude=nomination_id)
        domain.ensure_eligible(outcomes)
        await uow.nominations.set_status(nomination_id, "submitted", outcomes=outcomes)
        was, n = n, await _nomination(uow.nominations, nomination_id)
        await uow.audit(action="nomination.submit", **_audit_of(n, was))
        await uow.publish(
            messages.TOPIC, key=str(nomination_id), subject=str(nomination_id),
            message=pb.NominationSubmitted(nomination=messages.nomination_pb(n), actor=actor(principal)),
        )  # fmt: skip
        return n


async def _advance(
    uow: NominationsUnitOfWork,
    nomination_id: uuid.UUID,
    *,
    frm: str,
    to: str,
    action: str,
    principal: Principal,
) -> Nomination:
    """Screening steps of the secretariat: the rules are evaluated again, and a nomination that no longer
    meets them cannot move on (it is rejected with its reason, or reviewed after the records change)."""
    require_roles(principal, *SECRETARIAT)
    async with uow:
        n = await _nomination(uow.nominations, nomination_id, lock=True)
        domain.ensure_status(nomination_id, n.status, frm)
        round_ = await _round(uow.rounds, n.round_id)
        outcomes = await _evaluate(uow.nominations, round_, n.form_code, n.nominee, exclude=nomination_id)
        domain.ensure_eligible(outcomes)
        await uow.nominations.set_status(nomination_id, to, outcomes=outcomes)
        was, n = n, await _nomination(uow.nominations, nomination_id)
        await uow.audit(action=action, **_audit_of(n, was))
        return n


async def screen_nomination(
    uow: NominationsUnitOfWork, cmd: NominationStep, principal: Principal
) -> Nomination:
    return await _advance(
        uow,
        cmd.nomination_id,
        frm="submitted",
        to="screened",
        action="nomination.screen",
        principal=principal,
    )


async def send_to_council(
    uow: NominationsUnitOfWork, cmd: NominationStep, principal: Principal
) -> Nomination:
    return await _advance(
        uow, cmd.nomination_id, frm="screened", to="in_council", action="nomination.to_council",
        principal=principal,
    )  # fmt: skip


def _voters(round_: Round, proposer: str) -> list[str]:
    return [m for m in round_.council_members if m != proposer]


async def cast_vote(uow: NominationsUnitOfWork, cmd: CastVote, principal: Principal) -> Nomination:
    """A council member's vote. Who votes is named by the round (subjects, whatever their role): the check
    needs the round, so it comes first inside the transaction."""
    nomination_id = cmd.nomination_id
    async with uow:
        n = await _nomination(uow.nominations, nomination_id, lock=True)
        round_ = await _round(uow.rounds, n.round_id)
        if principal.subject not in round_.council_members:
            raise PermissionDenied(
                "only the round's council votes", code="not_council_member", resource_type="nomination",
                resource_id=str(nomination_id),
            )  # fmt: skip
        if principal.subject == n.proposer:
            raise PermissionDenied(
                "a council member does not vote on a nomination they proposed", code="own_nomination",
                resource_type="nomination", resource_id=str(nomination_id),
            )  # fmt: skip
        domain.ensure_status(nomination_id, n.status, "in_council")
        if not await uow.nominations.add_vote(nomination_id, principal.subject, cmd.approve):
            raise Conflict(
                "this member has voted", code="already_voted", resource_type="nomination",
                resource_id=str(nomination_id),
            )  # fmt: skip
        was, n = n, await _nomination(uow.nominations, nomination_id)
        await uow.audit(action="nomination.vote", **_audit_of(n, was, approve=cmd.approve))
        return n


async def _ensure_decider(forms: FormRepository, form_code: str, principal: Principal) -> AwardForm:
    form = await forms.get(form_code)
    assert form is not None  # nominations and awards reference award_forms
    require_roles(principal, form.deciding_role)
    return form


async def decide_nomination(uow: NominationsUnitOfWork, cmd: DecideNomination, principal: Principal) -> Award:
    """In council with a majority in favour -> decided: an award row (the certificates' source) and
    AwardDecided. The quota is counted under a lock of its row, so two deciders cannot both take the last
    place."""
    require_roles(principal, *DECIDERS)
    decision_number = _required(cmd.decision_number, "decision_number")
    signer = _required(cmd.signer, "signer")
    today = uow.today()
    domain.ensure_decision_day_not_ahead(cmd.decided_on, today)
    nomination_id = cmd.nomination_id
    async with uow:
        n = await _nomination(uow.nominations, nomination_id, lock=True)
        form = await _ensure_decider(uow.forms, n.form_code, principal)
        domain.ensure_status(nomination_id, n.status, "in_council")
        if n.needs_review:
            raise Conflict(
                f"nomination needs review: {n.review_reason}", code="needs_review",
                resource_type="nomination", resource_id=str(nomination_id),
            )  # fmt: skip
        round_ = await _round(uow.rounds, n.round_id)
        domain.ensure_decision_day(round_, n.nominated_on, cmd.decided_on, today)
        if domain.majority(n.votes_for, n.votes_against, len(_voters(round_, n.proposer))) is not True:
            raise Conflict(
                "the council has no majority in favour", code="no_council_majority",
                resource_type="nomination", resource_id=str(nomination_id),
            )  # fmt: skip
        taken = await uow.awards.lock_quota(round_.id, n.form_code, n.recipient_kind)
        domain.ensure_quota(round_, n.form_code, n.recipient_kind, taken)
        award_id = uuid.uuid4()
        await uow.awards.insert(
            Award(
                id=award_id, nomination_id=nomination_id, round_id=round_.id, form_code=n.form_code,
                recipient_kind=n.recipient_kind, unit_id=n.unit_id, person_name=n.person_name,
                decision_number=decision_number, decided_on=cmd.decided_on, signer=signer, issuer=form.issuer,
            )
        )  # fmt: skip
        await uow.nominations.set_status(nomination_id, "decided")
        award = await _award(uow.awards, award_id)
        await uow.audit(
            action="nomination.decide",
            **_audit_of(
                n,
                award_id=str(award_id),
                decision_number=decision_number,
                changes={"status": {"old": n.status, "new": "decided"}},
            ),
        )
        await uow.publish(
            messages.TOPIC, key=str(award_id), subject=str(award_id),
            message=pb.AwardDecided(award=messages.award_pb(award), actor=actor(principal)),
        )  # fmt: skip
        return award


async def reject_nomination(
    uow: NominationsUnitOfWork, cmd: RejectNomination, principal: Principal
) -> Nomination:
    require_roles(principal, *REJECTERS)
    reason = _required(cmd.reason, "reason")
    nomination_id = cmd.nomination_id
    async with uow:
        n = await _nomination(uow.nominations, nomination_id, lock=True)
        if not principal.has_any(ADMIN):
            await _ensure_decider(uow.forms, n.form_code, principal)
        domain.ensure_status(nomination_id, n.status, *domain.PENDING)
        await uow.nominations.set_status(nomination_id, "rejected", rejected_reason=reason)
        was, n = n, await _nomination(uow.nominations, nomination_id)
        await uow.audit(action="nomination.reject", **_audit_of(n, was, reason=reason))
        return n


async def _award(awards: AwardRepository, award_id: uuid.UUID, *, lock: bool = False) -> Award:
    award = await awards.get(award_id, lock=lock)
    if award is None:
        raise NotFound(
            "no such award", code="award_not_found", resource_type="award", resource_id=str(award_id)
        )
    return award


async def revoke_award(uow: NominationsUnitOfWork, cmd: RevokeAward, principal: Principal) -> Award:
    """A decided award -> revoked: it leaves the quota and the counts (AwardRevoked), and its certificate
    verifies as revoked."""
    require_roles(principal, *DECIDERS)
    reason = _required(cmd.reason, "reason")
    award_id = cmd.award_id
    async with uow:
        award = await _award(uow.awards, award_id, lock=True)
        await _ensure_decider(uow.forms, award.form_code, principal)
        if award.status != "decided":
            raise Conflict(
                "the award is revoked already", code="wrong_status", resource_type="award",
                resource_id=str(award_id),
            )  # fmt: skip
        await uow.awards.revoke(award_id, reason)
        award = await _award(uow.awards, award_id)
        await uow.audit(
            action="award.revoke", object_type="award", object_id=str(award_id), unit_id=str(award.unit_id),
            details={"reason": reason},
        )  # fmt: skip
        await uow.publish(
            messages.TOPIC, key=str(award_id), subject=str(award_id),
            message=pb.AwardRevoked(award=messages.award_pb(award), actor=actor(principal), reason=reason),
        )  # fmt: skip
        return award


async def get_nomination(
    uow: NominationsUnitOfWork, query: GetNomination, principal: Principal
) -> Nomination:
    async with uow:
        n = await _nomination(uow.nominations, query.nomination_id)
    ensure_unit_access(principal, str(n.unit_id))
    return n


async def list_nominations(
    uow: NominationsUnitOfWork, query: ListNominations, principal: Principal
) -> list[Nomination]:
    unit: uuid.UUID | None = None
    if not principal.has_any(*PROVINCE_WIDE_READERS):
        ensure_unit_access(principal, principal.unit_id)
        unit = uuid.UUID(principal.unit_id) if principal.unit_id else None
    async with uow:
        return await uow.nominations.of_round(query.round_id, query.status or None, unit)


async def list_awards(uow: NominationsUnitOfWork, query: ListAwards, principal: Principal) -> list[Award]:
    # Decided awards are public acts (decision numbers, recipients), read by the province-wide roles and every
    # unit officer; not by a machine identity such as camera_gateway.
    require_roles(principal, *READERS)
    async with uow:
        return await uow.awards.of_round(query.round_id)


# --- review after a later event -----------------------------------------------------------------------------


async def review_pending(conn: Conn, unit_id: uuid.UUID, cause: str) -> int:
    """Evaluate again the unit's pending nominations after a record changed; flag each that a rule now fails,
    naming the rule and its records. Returns how many were flagged now.

    Called by the consumer (events.py) inside its own transaction, beside the inbox row of the event: it works
    on that connection rather than opening a unit of work."""
    nominations, rounds = NominationRepository(conn), RoundRepository(conn)
    flagged = 0
    for nomination_id in await nominations.pending_of_unit(unit_id):
        n = await _nomination(nominations, nomination_id)
        round_ = await _round(rounds, n.round_id)
        outcomes = await _evaluate(nominations, round_, n.form_code, n.nominee, exclude=n.nomination_id)
        failing = [o for o in outcomes if not o.passed]
        if not failing:
            continue
        reason = f"{cause}: " + "; ".join(f"{o.rule} ({o.reason}) [{', '.join(o.sources)}]" for o in failing)
        if await nominations.flag_pending(n.nomination_id, reason):
            flagged += 1
            await audit.record(conn, action="nomination.flag_review", **_audit_of(n, reason=reason))
    return flagged
