"""Handler tests of rounds, nominations, council votes, decisions and revocations, with fakes: who may do
each step, the audit row it writes, the events it publishes, and that a refused step writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from awards.nominations import service
from awards.nominations.domain import Facts, GuardFact, Nominee, Quota, ViolationFact
from awards.nominations.messages import TOPIC
from awards.nominations.service import (
    CastVote,
    CreateNomination,
    DecideNomination,
    NominationStep,
    OpenRound,
    RejectNomination,
    RevokeAward,
)
from d07.awards.v1 import awards_pb2 as pb
from d07.platform.auth import ADMIN, CHAIRMAN_OFFICE, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import Conflict, InvalidArgument, PermissionDenied
from tests.awards.service.fakes import COUNCIL, TODAY, FakeNominationsUnitOfWork
from tests.support.principals import acting, caller, every_role

Handler = Callable[[Any, Any, Principal], Awaitable[Any]]


def who(role: str, unit_id: uuid.UUID | None = None, subject: str = "") -> Principal:
    if role == UNIT_OFFICER and unit_id is None:
        unit_id = uuid.uuid4()
    return caller(role, unit_id=unit_id, subject=subject)


async def run(handler: Handler, uow: FakeNominationsUnitOfWork, cmd: Any, principal: Principal) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal)


def assert_nothing_written(uow: FakeNominationsUnitOfWork) -> None:
    assert uow.audits == []
    assert uow.events == []
    assert uow.commits == 0


def open_round_cmd(*, historical: bool = False, **changes: Any) -> OpenRound:
    cmd = OpenRound(
        title="Khen thưởng sơ kết 5 năm", period_start=date(2014, 8, 15), period_end=date(2019, 8, 29),
        nominations_open=TODAY, nominations_close=TODAY + timedelta(days=30), min_passed_years=3,
        require_training=False, council_members=COUNCIL,
        quotas=(Quota("merit", "collective", 8),), historical=historical,
    )  # fmt: skip
    return replace(cmd, **changes)


# --- open a round -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_only_admin_opens_a_round(role: str) -> None:
    uow = FakeNominationsUnitOfWork()
    if role == ADMIN:
        r = await run(service.open_round, uow, open_round_cmd(), who(role))
        assert uow.rounds.rounds[r.id] == r  # type: ignore[attr-defined]
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.open_round, uow, open_round_cmd(), who(role))
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


@pytest.mark.parametrize("historical", [False, True])
async def test_opening_a_round_audits_it(historical: bool) -> None:
    uow = FakeNominationsUnitOfWork()
    cmd = open_round_cmd(historical=historical, min_passed_years=0)
    r = await run(service.open_round, uow, cmd, who(ADMIN))
    assert r.min_passed_years == 3  # 0 means the default
    assert r.historical is historical
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == ("award_round.open", "award_round", str(r.id))
    assert row.details["historical"] is historical
    assert row.details["quotas"] == [["merit", "collective", 8]]
    assert uow.events == []  # opening a round is nobody else's business


async def test_a_round_with_an_unknown_form_or_bad_dates_is_refused_and_writes_nothing() -> None:
    uow = FakeNominationsUnitOfWork()
    with pytest.raises(InvalidArgument) as bad:
        await run(service.open_round, uow, open_round_cmd(period_end=date(2010, 1, 1)), who(ADMIN))
    assert bad.value.code == "invalid_round"
    with pytest.raises(InvalidArgument) as unknown:
        await run(
            service.open_round, uow, open_round_cmd(quotas=(Quota("medal", "collective", 1),)), who(ADMIN)
        )
    assert unknown.value.code == "unknown_form"
    assert_nothing_written(uow)
    assert uow.rounds.rounds == {}  # type: ignore[attr-defined]


# --- create a nomination ------------------------------------------------------------------------------------


def create_cmd(round_id: uuid.UUID, unit_id: uuid.UUID, form: str = "merit") -> CreateNomination:
    return CreateNomination(round_id, form, Nominee("collective", unit_id), "Có thành tích xuất sắc")


@pytest.mark.parametrize("role", every_role())
async def test_admin_and_the_units_officer_propose(role: str) -> None:
    uow = FakeNominationsUnitOfWork()
    r, unit_id = uow.round(), uow.passing_unit()
    principal = who(role, unit_id if role == UNIT_OFFICER else None)
    if role in (ADMIN, UNIT_OFFICER):
        n = await run(service.create_nomination, uow, create_cmd(r.id, unit_id), principal)
        assert n.status == "draft"
        assert n.proposer == principal.subject
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.create_nomination, uow, create_cmd(r.id, unit_id), principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_a_unit_officer_does_not_propose_for_another_unit() -> None:
    uow = FakeNominationsUnitOfWork()
    r, unit_id = uow.round(), uow.passing_unit()
    with pytest.raises(PermissionDenied):
        await run(service.create_nomination, uow, create_cmd(r.id, unit_id), who(UNIT_OFFICER, uuid.uuid4()))
    assert_nothing_written(uow)
    assert uow.nominations.nominations == {}  # type: ignore[attr-defined]


async def test_creating_a_nomination_audits_it_and_publishes_nothing() -> None:
    uow = FakeNominationsUnitOfWork()
    r, unit_id = uow.round(), uow.passing_unit()
    n = await run(service.create_nomination, uow, create_cmd(r.id, unit_id), who(UNIT_OFFICER, unit_id))
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == (
        "nomination.create",
        "nomination",
        str(n.nomination_id),
    )
    assert row.unit_id == str(unit_id)
    assert row.details == {"round_id": str(r.id), "form": "merit", "recipient_kind": "collective"}
    assert uow.events == []
    assert [o.rule for o in n.eligibility] == [
        "passed_assessments", "no_unresolved_serious_violation", "once_per_form"
    ]  # fmt: skip


async def test_nominations_are_taken_inside_the_window_a_historical_rounds_dated_inside_it() -> None:
    """Issue 13: the historical 2014-2019 round took new nominations today. A historical round (paper
    records) takes nominations dated inside its window only; a live round's are dated today."""
    uow = FakeNominationsUnitOfWork()
    closed = uow.round(opens=TODAY - timedelta(days=60))
    historical = uow.round(historical=True)  # window 01-07-2019 .. 31-07-2019
    live = uow.round()
    unit_id = uow.passing_unit()
    refusals = [
        (closed.id, None, Conflict, "window_closed"),
        (historical.id, None, Conflict, "window_closed"),  # today
        (historical.id, date(2019, 6, 30), Conflict, "window_closed"),
        (historical.id, TODAY + timedelta(days=1), InvalidArgument, "nomination_in_future"),
        (live.id, date(2019, 7, 2), InvalidArgument, "nomination_date"),
    ]
    for round_id, day, kind, code in refusals:
        cmd = replace(create_cmd(round_id, unit_id), nominated_on=day)
        with pytest.raises(kind) as refused:
            await run(service.create_nomination, uow, cmd, who(ADMIN))
        assert refused.value.code == code, (round_id, day)
    assert uow.audits == []
    assert uow.nominations.nominations == {}  # type: ignore[attr-defined]
    paper = replace(create_cmd(historical.id, unit_id), nominated_on=date(2019, 7, 2))
    n = await run(service.create_nomination, uow, paper, who(ADMIN))
    assert (n.round_id, n.nominated_on) == (historical.id, date(2019, 7, 2))
    n = await run(service.create_nomination, uow, create_cmd(live.id, unit_id), who(ADMIN))
    assert n.nominated_on == TODAY
    assert uow.actions() == ["nomination.create", "nomination.create"]


async def test_a_decision_is_not_dated_before_its_nomination_nor_before_a_live_rounds_window() -> None:
    """Issue 13: a live round accepted a decision dated 2019 for a nomination made today."""
    uow = FakeNominationsUnitOfWork()
    live = uow.round()
    n = uow.nomination(live, status="in_council", votes=MAJORITY, nominated_on=TODAY)
    for day, code in (
        (date(2019, 8, 29), "decision_before_nomination"),
        (TODAY - timedelta(days=1), "decision_before_nomination"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            await run(
                service.decide_nomination,
                uow,
                decide_cmd(n.nomination_id, decided_on=day),
                who(CHAIRMAN_OFFICE),
            )
        assert refused.value.code == code
        assert_nothing_written(uow)
    undated = uow.nomination(live, status="in_council", votes=MAJORITY)  # a row from before the date was kept
    with pytest.raises(InvalidArgument) as refused:
        await run(
            service.decide_nomination,
            uow,
            decide_cmd(undated.nomination_id, decided_on=date(2019, 8, 29)),
            who(CHAIRMAN_OFFICE),
        )
    assert refused.value.code == "decision_outside_window"
    assert_nothing_written(uow)
    await run(
        service.decide_nomination, uow, decide_cmd(n.nomination_id, decided_on=TODAY), who(CHAIRMAN_OFFICE)
    )
    # a historical round's decision follows its paper nomination, years back
    old = uow.round(historical=True)
    paper = uow.nomination(old, status="in_council", votes=MAJORITY, nominated_on=date(2019, 7, 2))
    with pytest.raises(InvalidArgument) as refused:
        await run(
            service.decide_nomination,
            uow,
            decide_cmd(paper.nomination_id, decided_on=date(2019, 7, 1)),
            who(CHAIRMAN_OFFICE),
        )
    assert refused.value.code == "decision_before_nomination"
    award = await run(
        service.decide_nomination,
        uow,
        decide_cmd(paper.nomination_id, decided_on=date(2019, 8, 26)),
        who(CHAIRMAN_OFFICE),
    )
    assert award.decided_on == date(2019, 8, 26)


async def test_the_same_form_twice_in_a_round_is_refused_and_writes_nothing() -> None:
    uow = FakeNominationsUnitOfWork()
    r, unit_id = uow.round(), uow.passing_unit()
    await run(service.create_nomination, uow, create_cmd(r.id, unit_id), who(ADMIN))
    with pytest.raises(Conflict) as refused:
        await run(service.create_nomination, uow, create_cmd(r.id, unit_id), who(ADMIN))
    assert refused.value.code == "ineligible"
    assert uow.actions() == ["nomination.create"]
    assert len(uow.nominations.nominations) == 1  # type: ignore[attr-defined]


# --- submit -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_admin_and_the_units_officer_submit(role: str) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round())
    principal = who(role, n.unit_id if role == UNIT_OFFICER else None)
    if role in (ADMIN, UNIT_OFFICER):
        done = await run(service.submit_nomination, uow, NominationStep(n.nomination_id), principal)
        assert done.status == "submitted"
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.submit_nomination, uow, NominationStep(n.nomination_id), principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_a_unit_officer_does_not_submit_another_units_nomination() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round())
    with pytest.raises(PermissionDenied):
        await run(service.submit_nomination, uow, NominationStep(n.nomination_id), who(UNIT_OFFICER))
    assert_nothing_written(uow)
    assert uow.nominations.nominations[n.nomination_id].status == "draft"  # type: ignore[attr-defined]


async def test_submitting_audits_and_publishes_nomination_submitted() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round())
    principal = who(UNIT_OFFICER, n.unit_id)
    await run(service.submit_nomination, uow, NominationStep(n.nomination_id), principal)
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == (
        "nomination.submit",
        "nomination",
        str(n.nomination_id),
    )
    assert row.details["changes"]["status"] == {"old": "draft", "new": "submitted"}
    [event] = uow.events
    assert (event.topic, event.key, event.subject) == (TOPIC, str(n.nomination_id), str(n.nomination_id))
    assert isinstance(event.message, pb.NominationSubmitted)
    assert event.message.nomination.id == str(n.nomination_id)
    assert event.message.nomination.status == "submitted"
    assert event.message.actor.subject == principal.subject


async def test_an_ineligible_nomination_is_not_submitted_and_nothing_is_written() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round())
    uow.nominations.records[n.unit_id].violations.append(  # type: ignore[attr-defined]
        ViolationFact(uuid.uuid4(), "critical", "new")
    )
    with pytest.raises(Conflict) as refused:
        await run(service.submit_nomination, uow, NominationStep(n.nomination_id), who(ADMIN))
    assert refused.value.code == "ineligible"
    assert_nothing_written(uow)


# --- screen and send to the council -------------------------------------------------------------------------

STEPS = [
    (service.screen_nomination, "submitted", "screened", "nomination.screen"),
    (service.send_to_council, "screened", "in_council", "nomination.to_council"),
]


@pytest.mark.parametrize(("handler", "frm", "to", "action"), STEPS)
@pytest.mark.parametrize("role", every_role())
async def test_only_admin_screens_and_sends_to_the_council(
    role: str, handler: Handler, frm: str, to: str, action: str
) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status=frm)
    principal = who(role, n.unit_id if role == UNIT_OFFICER else None)
    if role == ADMIN:
        assert (await run(handler, uow, NominationStep(n.nomination_id), principal)).status == to
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(handler, uow, NominationStep(n.nomination_id), principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


@pytest.mark.parametrize(("handler", "frm", "to", "action"), STEPS)
async def test_a_screening_step_audits_and_publishes_nothing(
    handler: Handler, frm: str, to: str, action: str
) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status=frm)
    await run(handler, uow, NominationStep(n.nomination_id), who(ADMIN))
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == (action, "nomination", str(n.nomination_id))
    assert uow.events == []


@pytest.mark.parametrize(("handler", "frm", "to", "action"), STEPS)
async def test_a_step_from_the_wrong_status_writes_nothing(
    handler: Handler, frm: str, to: str, action: str
) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="draft")
    with pytest.raises(Conflict) as refused:
        await run(handler, uow, NominationStep(n.nomination_id), who(ADMIN))
    assert refused.value.code == "wrong_status"
    assert_nothing_written(uow)


# --- vote ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_a_council_member_votes_whatever_their_role(role: str) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council")
    principal = who(role, n.unit_id if role == UNIT_OFFICER else None, subject=COUNCIL[0])
    voted = await run(service.cast_vote, uow, CastVote(n.nomination_id, True), principal)
    assert (voted.votes_for, voted.votes_against) == (1, 0)


async def test_voting_audits_and_publishes_nothing() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council")
    await run(service.cast_vote, uow, CastVote(n.nomination_id, False), who(ADMIN, subject=COUNCIL[1]))
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == (
        "nomination.vote",
        "nomination",
        str(n.nomination_id),
    )
    assert row.details["approve"] is False
    assert uow.events == []


@pytest.mark.parametrize(
    ("subject", "code"),
    [("outsider", "not_council_member"), (COUNCIL[0], "own_nomination")],
)
async def test_outsiders_and_the_proposer_do_not_vote(subject: str, code: str) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council", proposer=COUNCIL[0])
    with pytest.raises(PermissionDenied) as refused:
        await run(service.cast_vote, uow, CastVote(n.nomination_id, True), who(ADMIN, subject=subject))
    assert refused.value.code == code
    assert_nothing_written(uow)


async def test_a_member_votes_once() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council", votes={COUNCIL[0]: True})
    with pytest.raises(Conflict) as refused:
        await run(service.cast_vote, uow, CastVote(n.nomination_id, False), who(ADMIN, subject=COUNCIL[0]))
    assert refused.value.code == "already_voted"
    assert_nothing_written(uow)
    assert uow.nominations.votes[n.nomination_id] == {COUNCIL[0]: True}  # type: ignore[attr-defined]


# --- decide -------------------------------------------------------------------------------------------------

MAJORITY = {COUNCIL[0]: True, COUNCIL[1]: True}


def decide_cmd(nomination_id: uuid.UUID, **changes: Any) -> DecideNomination:
    return replace(DecideNomination(nomination_id, "1234/QĐ-UBND", TODAY, "Nguyễn Văn Bình"), **changes)


@pytest.mark.parametrize(("form", "decider"), [("merit", CHAIRMAN_OFFICE), ("commendation", POLICE)])
@pytest.mark.parametrize("role", every_role())
async def test_only_the_forms_deciding_role_decides(role: str, form: str, decider: str) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council", form=form, votes=MAJORITY)
    principal = who(role, n.unit_id if role == UNIT_OFFICER else None)
    if role == decider:
        award = await run(service.decide_nomination, uow, decide_cmd(n.nomination_id), principal)
        assert award.status == "decided"
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.decide_nomination, uow, decide_cmd(n.nomination_id), principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_deciding_writes_the_award_audits_and_publishes_award_decided() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council", votes=MAJORITY)
    award = await run(service.decide_nomination, uow, decide_cmd(n.nomination_id), who(CHAIRMAN_OFFICE))
    assert award.issuer == "Chủ tịch Ủy ban nhân dân tỉnh"
    assert uow.nominations.nominations[n.nomination_id].status == "decided"  # type: ignore[attr-defined]
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == (
        "nomination.decide",
        "nomination",
        str(n.nomination_id),
    )
    assert row.details["award_id"] == str(award.id)
    assert row.details["decision_number"] == "1234/QĐ-UBND"
    assert row.details["changes"] == {"status": {"old": "in_council", "new": "decided"}}
    [event] = uow.events
    assert (event.topic, event.key, event.subject) == (TOPIC, str(award.id), str(award.id))
    assert isinstance(event.message, pb.AwardDecided)
    assert event.message.award.id == str(award.id)
    assert event.message.award.nomination_id == str(n.nomination_id)
    assert event.message.award.decision_number == "1234/QĐ-UBND"


async def test_a_decision_is_not_dated_in_the_future() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council", votes=MAJORITY)
    cmd = decide_cmd(n.nomination_id, decided_on=TODAY + timedelta(days=1))
    with pytest.raises(InvalidArgument) as refused:
        await run(service.decide_nomination, uow, cmd, who(CHAIRMAN_OFFICE))
    assert refused.value.code == "decision_in_future"
    assert_nothing_written(uow)
    # today itself is fine, on a historical round too
    await run(service.decide_nomination, uow, replace(cmd, decided_on=TODAY), who(CHAIRMAN_OFFICE))


@pytest.mark.parametrize(
    ("votes", "quota", "review", "code"),
    [
        ({COUNCIL[0]: True}, 5, None, "no_council_majority"),
        (MAJORITY, 0, None, "quota_reached"),
        (MAJORITY, 5, "Vi phạm nghiêm trọng", "needs_review"),
    ],
)
async def test_a_refused_decision_writes_nothing(
    votes: dict[str, bool], quota: int, review: str | None, code: str
) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(quota=quota), status="in_council", votes=votes)
    if review:
        stored = uow.nominations.nominations  # type: ignore[attr-defined]
        stored[n.nomination_id] = replace(n, needs_review=True, review_reason=review)
    with pytest.raises(Conflict) as refused:
        await run(service.decide_nomination, uow, decide_cmd(n.nomination_id), who(CHAIRMAN_OFFICE))
    assert refused.value.code == code
    assert_nothing_written(uow)
    assert uow.awards.awards == {}  # type: ignore[attr-defined]


# --- reject -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_admin_and_the_forms_deciding_role_reject(role: str) -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="submitted")
    principal = who(role, n.unit_id if role == UNIT_OFFICER else None)
    cmd = RejectNomination(n.nomination_id, "Hồ sơ chưa đủ")
    if role in (ADMIN, CHAIRMAN_OFFICE):
        assert (await run(service.reject_nomination, uow, cmd, principal)).status == "rejected"
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.reject_nomination, uow, cmd, principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_rejecting_audits_the_reason_and_publishes_nothing() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="in_council")
    rejected = await run(
        service.reject_nomination, uow, RejectNomination(n.nomination_id, "Hồ sơ chưa đủ"), who(ADMIN)
    )
    assert rejected.rejected_reason == "Hồ sơ chưa đủ"
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == (
        "nomination.reject",
        "nomination",
        str(n.nomination_id),
    )
    assert row.details["reason"] == "Hồ sơ chưa đủ"
    assert row.details["changes"]["status"] == {"old": "in_council", "new": "rejected"}
    assert row.details["changes"]["rejected_reason"] == {"old": None, "new": "Hồ sơ chưa đủ"}
    assert uow.events == []


async def test_a_decided_nomination_is_not_rejected() -> None:
    uow = FakeNominationsUnitOfWork()
    n = uow.nomination(uow.round(), status="decided")
    with pytest.raises(Conflict):
        await run(service.reject_nomination, uow, RejectNomination(n.nomination_id, "x"), who(ADMIN))
    assert_nothing_written(uow)


# --- revoke -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("form", "decider"), [("merit", CHAIRMAN_OFFICE), ("commendation", POLICE)])
@pytest.mark.parametrize("role", every_role())
async def test_only_the_forms_deciding_role_revokes(role: str, form: str, decider: str) -> None:
    uow = FakeNominationsUnitOfWork()
    award = uow.award(uow.round(), form=form)
    principal = who(role, award.unit_id if role == UNIT_OFFICER else None)
    cmd = RevokeAward(award.id, "Phát hiện sai phạm")
    if role == decider:
        assert (await run(service.revoke_award, uow, cmd, principal)).status == "revoked"
    else:
        with pytest.raises(PermissionDenied) as refused:
            await run(service.revoke_award, uow, cmd, principal)
        assert refused.value.code == "role_required"
        assert_nothing_written(uow)


async def test_revoking_audits_and_publishes_award_revoked() -> None:
    uow = FakeNominationsUnitOfWork()
    award = uow.award(uow.round())
    await run(service.revoke_award, uow, RevokeAward(award.id, "Phát hiện sai phạm"), who(CHAIRMAN_OFFICE))
    [row] = uow.audits
    assert (row.action, row.object_type, row.object_id) == ("award.revoke", "award", str(award.id))
    assert row.unit_id == str(award.unit_id)
    assert row.details == {"reason": "Phát hiện sai phạm"}
    [event] = uow.events
    assert (event.topic, event.key, event.subject) == (TOPIC, str(award.id), str(award.id))
    assert isinstance(event.message, pb.AwardRevoked)
    assert event.message.award.status == "revoked"
    assert event.message.reason == "Phát hiện sai phạm"


async def test_a_revoked_award_is_not_revoked_again() -> None:
    uow = FakeNominationsUnitOfWork()
    award = uow.award(uow.round(), status="revoked")
    with pytest.raises(Conflict) as refused:
        await run(service.revoke_award, uow, RevokeAward(award.id, "again"), who(CHAIRMAN_OFFICE))
    assert refused.value.code == "wrong_status"
    assert_nothing_written(uow)


async def test_no_command_carries_a_version() -> None:
    """The awards commands carry no version read (the proto has none): no stale-version refusal to test;
    concurrent steps are serialised by the row locks the repository takes instead."""
    for cmd in (NominationStep, CastVote, DecideNomination, RejectNomination, RevokeAward):
        assert "version" not in cmd.__dataclass_fields__


# --- who reads rounds and awards; another unit's guard ----------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_rounds_and_awards_are_read_by_the_province_wide_roles_and_unit_officers(role: str) -> None:
    uow = FakeNominationsUnitOfWork()
    r = uow.round()
    award = uow.award(r)
    principal = who(role)
    if role in service.READERS:
        assert (await run(service.get_round, uow, service.GetRound(r.id), principal)).id == r.id
        assert [a.id for a in await run(service.list_awards, uow, service.ListAwards(r.id), principal)] == [
            award.id
        ]
    else:  # camera_gateway: a machine identity reads no recipients nor councils
        for handler, query in (
            (service.get_round, service.GetRound(r.id)),
            (service.list_awards, service.ListAwards(r.id)),
        ):
            with pytest.raises(PermissionDenied) as refused:
                await run(handler, uow, query, principal)
            assert refused.value.code == "role_required"


def guard_of(uow: FakeNominationsUnitOfWork, unit_id: uuid.UUID) -> uuid.UUID:
    """A registered guard of `unit_id` with a completed training (what the read models were told)."""
    guard_id = uuid.uuid4()
    facts = uow.nominations.records.setdefault(unit_id, Facts())  # type: ignore[attr-defined]
    facts.guard = GuardFact(guard_id, unit_id, "Trần Thị Mai", True)
    facts.completed_attendances = [uuid.uuid4()]
    uow.nominations.guard_names[guard_id] = "Trần Thị Mai"  # type: ignore[attr-defined]
    return guard_id


async def test_a_unit_officer_does_not_nominate_nor_look_at_another_units_guard() -> None:
    uow = FakeNominationsUnitOfWork()
    r, own, other = uow.round(), uow.passing_unit(), uow.passing_unit()
    stranger = guard_of(uow, other)
    officer = who(UNIT_OFFICER, own)
    nominee = Nominee("individual", own, stranger)
    cmd = CreateNomination(r.id, "commendation", nominee, "Bắt giữ đối tượng trộm cắp")
    with pytest.raises(PermissionDenied) as refused:
        await run(service.create_nomination, uow, cmd, officer)
    assert (refused.value.code, refused.value.resource_id) == ("other_unit", str(stranger))
    assert_nothing_written(uow)
    assert uow.nominations.nominations == {}  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):
        await run(
            service.check_eligibility, uow, service.CheckEligibility(r.id, "commendation", nominee), officer
        )
    # its own unit's guard: nominated, and its eligibility read
    mine = guard_of(uow, own)
    own_nominee = Nominee("individual", own, mine)
    outcomes = await run(
        service.check_eligibility, uow, service.CheckEligibility(r.id, "commendation", own_nominee), officer
    )
    assert "registered" in [o.rule for o in outcomes]
    n = await run(service.create_nomination, uow, replace(cmd, nominee=own_nominee), officer)
    assert n.person_name == "Trần Thị Mai"
