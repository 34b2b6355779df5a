"""Handlers of rounds and assessments over fakes: who may do what, the audit rows and the events each change
writes, and that a refused change writes nothing. Assessment's commands carry no version (no stale-version
refusal to test): the state machine (DRAFT, SUBMITTED, FINALISED) guards them instead."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from assessment.derived.domain import ReviewFlag, UnitFacts, ViolationRecord
from assessment.rounds import service
from assessment.rounds.domain import (
    AssessmentStatus,
    FinaliseAssessment,
    GetAssessment,
    OpenRound,
    Result,
    ReviseAssessment,
    SaveAnswers,
    SelfAnswer,
    StoredAnswer,
    SubmitAssessment,
    Verdict,
    VerifyAssessment,
)
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.auth import ADMIN, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import AlreadyExists, Conflict, InvalidArgument, PermissionDenied
from tests.assessment.service.fakes import TT124, FakeRoundsUnitOfWork, UnitInScope, new_assessment
from tests.support.principals import acting, caller, every_role
from tests.support.uow import NOW

UNIT = uuid.UUID("5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b")
OTHER_UNIT = uuid.UUID("0b9e8d7c-6a5f-4e3d-9c2b-1a0f9e8d7c6b")
SUBMITTER = "officer-an"  # who submitted the assessments that are past DRAFT
TOPIC = "d07.assessment.assessments.v1"
ALL_MET = {c.code: True for c in TT124.criteria}


def who(role: str, unit: uuid.UUID = UNIT) -> Principal:
    return caller(role, unit_id=unit if role == UNIT_OFFICER else None)


def answered(met: dict[str, bool], *, verified: bool = False) -> dict[str, StoredAnswer]:
    """Self-answers to every criterion that is not derived and, if `verified`, a verdict on each."""
    out = {}
    for c in TT124.criteria:
        out[c.code] = StoredAnswer(
            c.code,
            self_met=met[c.code] if c.kind != "derived" else None,
            verified_met=met[c.code] if verified else None,
            verified_by="police-hoa" if verified else None,
        )
    return out


# --- the write handlers, each in a state where it succeeds --------------------------------------------------


@dataclass
class Scenario:
    uow: FakeRoundsUnitOfWork
    call: Callable[[Principal], Awaitable[Any]]
    assessment_id: uuid.UUID | None = None


def open_round() -> Scenario:
    uow = FakeRoundsUnitOfWork([UnitInScope(UNIT, "U-001"), UnitInScope(OTHER_UNIT, "U-002")])
    cmd = OpenRound(2026, date(2026, 10, 31), date(2026, 11, 30))
    return Scenario(uow, lambda p: service.open_round(uow, cmd, p))


def in_state(status: AssessmentStatus, answers: dict[str, StoredAnswer], **kw: object) -> Scenario:
    uow = FakeRoundsUnitOfWork()
    a = uow.store.put(new_assessment(UNIT, status=status, **kw), answers)
    return Scenario(uow, lambda p: service.get_assessment(uow, GetAssessment(str(a.id)), p), a.id)


def save_answers() -> Scenario:
    s = in_state(AssessmentStatus.DRAFT, {})
    cmd = SaveAnswers(
        str(s.assessment_id), [SelfAnswer("TC1", True, " Đã tuyên truyền ", ("https://x.vn/a",))]
    )
    s.call = lambda p: service.save_answers(s.uow, cmd, p)
    return s


def submit() -> Scenario:
    s = in_state(AssessmentStatus.DRAFT, {})
    cmd = SubmitAssessment(str(s.assessment_id), [SelfAnswer("TC1", True), SelfAnswer("TC5", False)])
    s.call = lambda p: service.submit(s.uow, cmd, p)
    return s


def verify() -> Scenario:
    s = in_state(AssessmentStatus.SUBMITTED, answered(ALL_MET), submitted_by=SUBMITTER)
    cmd = VerifyAssessment(str(s.assessment_id), [Verdict(code, True) for code in ALL_MET])
    s.call = lambda p: service.verify(s.uow, cmd, p)
    return s


def finalise() -> Scenario:
    met = {**ALL_MET, "TC2": False}
    s = in_state(AssessmentStatus.SUBMITTED, answered(met, verified=True), submitted_by=SUBMITTER)
    s.call = lambda p: service.finalise(s.uow, FinaliseAssessment(str(s.assessment_id)), p)
    return s


def revise() -> Scenario:
    met = {**ALL_MET, "TC2": False}
    s = in_state(
        AssessmentStatus.FINALISED, answered(met, verified=True), submitted_by=SUBMITTER,
        result=Result.FAILED, score=Decimal("80.00"), unmet_criteria=("TC2",), revision=1,
    )  # fmt: skip
    cmd = ReviseAssessment(str(s.assessment_id), "Bổ sung hồ sơ", [Verdict("TC2", True, "Đã xác minh lại")])
    s.call = lambda p: service.revise(s.uow, cmd, p)
    return s


WRITES: dict[str, tuple[Callable[[], Scenario], set[str]]] = {
    "open round": (open_round, {ADMIN}),
    "save answers": (save_answers, {UNIT_OFFICER}),
    "submit": (submit, {UNIT_OFFICER}),
    "verify": (verify, {POLICE}),
    "finalise": (finalise, {POLICE}),
    "revise": (revise, {POLICE, ADMIN}),
}


def untouched(s: Scenario, before: object) -> bool:
    return (s.uow.audits, s.uow.events, s.uow.commits, vars(s.uow.store)) == ([], [], 0, before)


@pytest.mark.parametrize("handler", list(WRITES))
@pytest.mark.parametrize("role", every_role())
async def test_only_the_allowed_roles_change_anything(handler: str, role: str) -> None:
    make, allowed = WRITES[handler]
    s = make()
    before = {k: dict(v) for k, v in vars(s.uow.store).items()}
    with acting(who(role)) as principal:
        if role in allowed:
            await s.call(principal)
            assert s.uow.commits == 1
            assert s.uow.audits
        else:
            with pytest.raises(PermissionDenied) as refused:
                await s.call(principal)
            assert refused.value.code == "role_required"
            assert untouched(s, before)
            assert s.uow.rollbacks == 0  # refused before the unit of work was opened


@pytest.mark.parametrize("handler", ["save answers", "submit"])
async def test_a_unit_officer_answers_only_for_its_own_unit(handler: str) -> None:
    s = WRITES[handler][0]()
    before = {k: dict(v) for k, v in vars(s.uow.store).items()}
    with acting(who(UNIT_OFFICER, OTHER_UNIT)) as principal, pytest.raises(PermissionDenied) as refused:
        await s.call(principal)
    assert refused.value.code == "other_unit"
    assert untouched(s, before)
    with acting(who(UNIT_OFFICER, UNIT)) as principal:
        await s.call(principal)
    assert s.uow.commits == 1


async def test_the_role_is_checked_before_the_id() -> None:
    uow = FakeRoundsUnitOfWork()
    with pytest.raises(PermissionDenied) as refused:
        await service.verify(uow, VerifyAssessment("not-a-uuid", []), who(UNIT_OFFICER))
    assert refused.value.code == "role_required"
    with pytest.raises(InvalidArgument) as invalid:
        await service.verify(uow, VerifyAssessment("not-a-uuid", []), who(POLICE))
    assert invalid.value.code == "invalid_id"


# --- what each change writes --------------------------------------------------------------------------------

AUDITED = {
    "save answers": "assessment.answer",
    "submit": "assessment.submit",
    "verify": "assessment.verify",
    "finalise": "assessment.finalise",
    "revise": "assessment.revise",
}
PUBLISHED = {
    "save answers": [],
    "submit": ["AssessmentSubmitted"],
    "verify": [],
    "finalise": ["AssessmentFinalised"],
    "revise": ["AssessmentRevised"],
}


@pytest.mark.parametrize("handler", list(AUDITED))
async def test_each_change_of_an_assessment_is_audited_and_published_keyed_by_its_unit(handler: str) -> None:
    make, allowed = WRITES[handler]
    s = make()
    with acting(who(sorted(allowed)[-1])) as principal:
        result = await s.call(principal)
    [audit] = s.uow.audits
    assert (audit.action, audit.object_type, audit.object_id, audit.unit_id) == (
        AUDITED[handler],
        "assessment",
        str(s.assessment_id),
        str(UNIT),
    )
    assert audit.details["year"] == 2026
    assert audit.actor == principal.subject
    assert s.uow.event_types() == PUBLISHED[handler]
    for e in s.uow.events:
        assert (e.topic, e.key, e.subject) == (TOPIC, str(UNIT), str(s.assessment_id))
        assert e.message.assessment.id == str(s.assessment_id)
        assert e.message.actor.subject == principal.subject
    assert result == s.uow.store.assessments[s.assessment_id]


async def test_opening_a_round_makes_an_assessment_and_an_event_per_unit() -> None:
    s = open_round()
    with acting(who(ADMIN)) as principal:
        round_ = await s.call(principal)
    [audit] = s.uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == ("round.open", "round", str(round_.id))
    assert audit.details == {"year": 2026, "district_code": "", "unit_count": 2}
    assert s.uow.event_types() == ["AssessmentRoundOpened", "AssessmentRoundOpened"]
    assert {e.key for e in s.uow.events} == {str(UNIT), str(OTHER_UNIT)}
    for e in s.uow.events:
        assert e.topic == TOPIC
        assert isinstance(e.message, pb.AssessmentRoundOpened)
        assert e.message.round.id == str(round_.id)
        assert e.message.assessment.unit_id == e.key
    assert round_.title.endswith("năm 2026 (toàn tỉnh)")


async def test_a_round_opened_twice_is_refused_and_writes_nothing() -> None:
    s = open_round()
    with acting(who(ADMIN)) as principal:
        await s.call(principal)
        with pytest.raises(AlreadyExists) as refused:
            await s.call(principal)
    assert refused.value.code == "round_exists"
    assert (s.uow.commits, s.uow.rollbacks, len(s.uow.audits), len(s.uow.events)) == (1, 1, 1, 2)


async def test_an_invalid_round_is_refused_before_anything_is_written() -> None:
    uow = FakeRoundsUnitOfWork()
    with pytest.raises(InvalidArgument) as refused:
        await service.open_round(uow, OpenRound(2026, date(2026, 11, 30), date(2026, 10, 31)), who(ADMIN))
    assert refused.value.code == "invalid_round"
    assert (uow.commits, uow.rollbacks, uow.audits, uow.events) == (0, 0, [], [])


# --- the rules behind the changes ---------------------------------------------------------------------------


async def test_submitting_keeps_the_derived_prefill_as_it_stands() -> None:
    s = submit()
    violation = ViolationRecord(
        uuid.uuid4(), "CAM-00017", "fire_smoke", "critical", "in_progress", datetime(2026, 5, 2, tzinfo=UTC)
    )
    s.uow.derived.facts_of[UNIT] = UnitFacts(violations=[violation])
    with acting(who(UNIT_OFFICER)) as principal:
        a = await s.call(principal)
    assert a.status is AssessmentStatus.SUBMITTED
    assert a.submitted_by == principal.subject
    kept = s.uow.store.stored[a.id]
    assert (kept["TC2"].derived_met, [x.id for x in kept["TC2"].derived_sources]) == (
        False,
        [str(violation.violation_id)],
    )
    assert (kept["TC3"].derived_met, kept["TC4"].derived_met) == (False, False)
    assert (kept["TC1"].self_met, kept["TC5"].self_met) == (True, False)


async def test_an_incomplete_self_assessment_is_refused_and_its_answers_rolled_back() -> None:
    s = in_state(AssessmentStatus.DRAFT, {})
    cmd = SubmitAssessment(str(s.assessment_id), [SelfAnswer("TC1", True)])
    with pytest.raises(InvalidArgument) as refused:
        await service.submit(s.uow, cmd, who(UNIT_OFFICER))
    assert refused.value.code == "incomplete_self_assessment"
    assert [f.reason for f in refused.value.fields] == ["no answer to TC5"]
    assert (s.uow.rollbacks, s.uow.audits, s.uow.events, s.uow.store.stored[s.assessment_id]) == (
        1,
        [],
        [],
        {},
    )


@pytest.mark.parametrize("handler", ["verify", "finalise", "revise"])
async def test_the_submitter_neither_verifies_finalises_nor_revises(handler: str) -> None:
    s = WRITES[handler][0]()
    submitter = caller(POLICE, subject=SUBMITTER)
    with acting(submitter), pytest.raises(PermissionDenied) as refused:
        await s.call(submitter)
    assert refused.value.code == "own_submission"
    assert (s.uow.rollbacks, s.uow.audits, s.uow.events) == (1, [], [])


@pytest.mark.parametrize("handler", ["save answers", "submit", "verify", "finalise"])
async def test_a_finalised_assessment_changes_only_by_a_revision(handler: str) -> None:
    s = WRITES[handler][0]()
    assert s.assessment_id is not None
    a = s.uow.store.assessments[s.assessment_id]
    s.uow.store.assessments[a.id] = type(a)(**{**vars(a), "status": AssessmentStatus.FINALISED})
    with acting(who(sorted(WRITES[handler][1])[-1])) as principal, pytest.raises(Conflict) as refused:
        await s.call(principal)
    assert refused.value.code == "wrong_status"
    assert (s.uow.rollbacks, s.uow.audits, s.uow.events) == (1, [], [])


async def test_finalising_judges_by_the_sets_rule_and_records_revision_one() -> None:
    s = finalise()
    with acting(who(POLICE)) as principal:
        a = await s.call(principal)
    assert (a.result, a.score, a.unmet_criteria, a.revision) == (Result.FAILED, Decimal("80.00"), ("TC2",), 1)
    assert s.uow.audits[0].details | {"round_id": ""} == {
        "round_id": "", "year": 2026, "result": "failed", "score": "80.00", "unmet": ["TC2"],
    }  # fmt: skip
    [event] = s.uow.events
    assert event.message.assessment.result == pb.ASSESSMENT_RESULT_FAILED
    assert [r.reason for r in s.uow.store.revisions[a.id]] == [service.FINALISED_REASON]


async def test_a_criterion_without_verdict_cannot_be_finalised() -> None:
    s = in_state(AssessmentStatus.SUBMITTED, answered(ALL_MET), submitted_by=SUBMITTER)
    with pytest.raises(Conflict) as refused:
        await service.finalise(s.uow, FinaliseAssessment(str(s.assessment_id)), who(POLICE))
    assert refused.value.code == "not_verified"
    assert (s.uow.rollbacks, s.uow.audits, s.uow.events) == (1, [], [])


async def test_a_revision_needs_a_reason_before_anything_is_read() -> None:
    s = revise()
    cmd = ReviseAssessment(str(s.assessment_id), "   ", [])
    with pytest.raises(InvalidArgument) as refused:
        await service.revise(s.uow, cmd, who(ADMIN))
    assert refused.value.code == "invalid_revision"
    assert (s.uow.commits, s.uow.rollbacks, s.uow.audits) == (0, 0, [])


async def test_a_revision_is_the_next_result_and_resolves_the_review_flags() -> None:
    s = revise()
    assert s.assessment_id is not None
    flag = ReviewFlag("Vi phạm nghiêm trọng", "violation", str(uuid.uuid4()), NOW, None)
    s.uow.flags.flags[s.assessment_id] = [flag]
    with acting(who(ADMIN)) as principal:
        a = await s.call(principal)
    assert (a.result, a.revision, a.unmet_criteria) == (Result.PASSED, 2, ())
    assert s.uow.audits[0].details["previous_result"] == "failed"
    assert s.uow.audits[0].details["reason"] == "Bổ sung hồ sơ"
    [event] = s.uow.events
    assert isinstance(event.message, pb.AssessmentRevised)
    assert (event.message.previous_result, event.message.previous_score) == (
        pb.ASSESSMENT_RESULT_FAILED,
        80.0,
    )
    assert [f.resolved_at for f in s.uow.flags.flags[s.assessment_id]] == [NOW]


async def test_an_open_assessment_shows_the_derived_criteria_live() -> None:
    s = in_state(AssessmentStatus.DRAFT, {})
    with acting(who(UNIT_OFFICER)) as principal:
        detail = await service.get_assessment(s.uow, GetAssessment(str(s.assessment_id)), principal)
    assert [v.criterion_code for v in detail.answers] == ["TC1", "TC2", "TC3", "TC4", "TC5"]
    assert [v.derived_met for v in detail.answers] == [None, True, False, False, None]
    with pytest.raises(PermissionDenied) as refused:
        await service.get_assessment(
            s.uow, GetAssessment(str(s.assessment_id)), who(UNIT_OFFICER, OTHER_UNIT)
        )
    assert refused.value.code == "other_unit"


OLD_AND_NEW: dict[str, dict[str, dict[str, object]]] = {
    "save answers": {
        "TC1.self_met": {"old": None, "new": True},
        "TC1.self_notes": {"old": "", "new": "Đã tuyên truyền"},
        "TC1.evidence_links": {"old": [], "new": ["https://x.vn/a"]},
    },
    "verify": {f"{code}.verified_met": {"old": None, "new": True} for code in ALL_MET},
    "revise": {
        "result": {"old": "failed", "new": "passed"},
        "score": {"old": "80.00", "new": "100.00"},
        "unmet_criteria": {"old": ["TC2"], "new": []},
        "revision": {"old": 1, "new": 2},
        "finalised_by": {"old": None, "new": "police-tester"},
        "finalised_at": {"old": None, "new": "2026-12-03T03:00:00+00:00"},
        "TC2.verified_met": {"old": False, "new": True},
        "TC2.verified_notes": {"old": "", "new": "Đã xác minh lại"},
    },
}


@pytest.mark.parametrize("handler", list(OLD_AND_NEW))
async def test_a_change_of_answers_or_verdicts_records_old_and_new_values(handler: str) -> None:
    make, allowed = WRITES[handler]
    s = make()
    with acting(who(sorted(allowed)[-1])) as principal:
        await s.call(principal)
    [audit] = s.uow.audits
    assert audit.details["changes"] == OLD_AND_NEW[handler]
