"""Rules of assessments without I/O: judging by the set's own pass rule, who may verify, rounds, answers."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from assessment.actions.domain import NewCorrectiveAction, validate_action
from assessment.criteria.domain import CriteriaSet, Criterion, PassRule
from assessment.rounds.domain import (
    Assessment,
    AssessmentStatus,
    ListAssessments,
    OpenRound,
    Result,
    SelfAnswer,
    ensure_not_submitter,
    ensure_status,
    filter_of,
    judge,
    missing_self_answers,
    validate_answers,
    validate_round,
)
from d07.platform.errors import Conflict, InvalidArgument, PermissionDenied

TT124 = CriteriaSet(
    "TT124-2021", 1, "124", 2022, None, PassRule.ALL_CRITERIA, ("agency", "enterprise", "school"),
    tuple(Criterion(f"TC{i}", "…", True, "derived" if i in (2, 3, 4) else "evidence") for i in range(1, 6)),
)  # fmt: skip
TT23 = CriteriaSet(
    "TT23-2012", 1, "23", 2012, 2021, PassRule.ALL_MANDATORY, ("agency", "enterprise", "school"),
    (Criterion("TC1", "…", True), Criterion("TC2", "…", True), Criterion("TC3", "…", True),
     Criterion("TC4", "…", False)),
)  # fmt: skip


def all_met(s: CriteriaSet) -> dict[str, bool]:
    return {c.code: True for c in s.criteria}


def assessment(**kw: object) -> Assessment:
    base = Assessment(
        id=uuid.uuid4(), round_id=uuid.uuid4(), unit_id=uuid.uuid4(), unit_code="U-1", unit_name="Trường A",
        year=2024, unit_kind="school", district_code="001", set_code="TT124-2021", set_version=1,
        status=AssessmentStatus.SUBMITTED, result=None, score=None, unmet_criteria=(), revision=0,
        submitted_by="officer-1", submitted_at=datetime(2024, 5, 1), verified_at=None, finalised_by=None,
        finalised_at=None, version=1,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def test_meeting_every_criterion_passes_with_full_score() -> None:
    j = judge(TT124, all_met(TT124))
    assert (j.result, j.score, j.unmet) == (Result.PASSED, Decimal("100.00"), ())


def test_failing_one_mandatory_criterion_fails_and_names_it() -> None:
    j = judge(TT124, {**all_met(TT124), "TC2": False})
    assert (j.result, j.score, j.unmet) == (Result.FAILED, Decimal("80.00"), ("TC2",))


def test_the_older_set_judges_by_its_own_rule() -> None:
    optional_unmet = judge(TT23, {**all_met(TT23), "TC4": False})
    assert optional_unmet.result is Result.PASSED
    assert optional_unmet.unmet == ("TC4",)
    assert optional_unmet.score == Decimal("75.00")
    assert judge(TT23, {**all_met(TT23), "TC3": False}).result is Result.FAILED
    # The same answers under today's rule fail: the rule is the set's, not the code's.
    as_today = replace(TT23, pass_rule=PassRule.ALL_CRITERIA)
    assert judge(as_today, {**all_met(TT23), "TC4": False}).result is Result.FAILED


def test_a_criterion_without_verdict_cannot_be_judged() -> None:
    verdicts = all_met(TT124)
    del verdicts["TC5"]
    with pytest.raises(Conflict, match="TC5"):
        judge(TT124, verdicts)


def test_the_score_rounds_to_two_decimals() -> None:
    three = replace(TT124, criteria=TT124.criteria[:3])
    assert judge(three, {"TC1": True, "TC2": True, "TC3": False}).score == Decimal("66.67")


def test_the_submitter_may_not_verify_but_another_may() -> None:
    a = assessment()
    with pytest.raises(PermissionDenied) as err:
        ensure_not_submitter(a, "officer-1", doing="verify")
    assert err.value.code == "own_submission"
    ensure_not_submitter(a, "police-7", doing="verify")


def test_a_finalised_assessment_is_immutable() -> None:
    a = assessment(status=AssessmentStatus.FINALISED, result=Result.PASSED)
    with pytest.raises(Conflict, match="revision"):
        ensure_status(a, AssessmentStatus.SUBMITTED, doing="verify")
    ensure_status(a, AssessmentStatus.FINALISED, doing="revise")


def test_submission_needs_answers_to_every_criterion_not_derived() -> None:
    assert missing_self_answers(TT124, {"TC1": True}) == ["TC5"]
    assert missing_self_answers(TT124, {"TC1": True, "TC5": False}) == []


def test_answers_name_only_criteria_of_the_set_and_real_links() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_answers(
            [SelfAnswer("TC9", True), SelfAnswer("TC1", True, evidence_links=("file:///etc/passwd",))], TT124
        )
    assert {f.field for f in err.value.fields} == {"answers[0].criterion_code", "answers[1].evidence_links"}
    ok = validate_answers([SelfAnswer("TC1", True, " ghi chú ", ("https://x.example/a.pdf", " "))], TT124)
    assert ok == [SelfAnswer("TC1", True, "ghi chú", ("https://x.example/a.pdf",))]


def test_a_round_needs_its_deadlines_in_order_and_gets_a_vietnamese_title() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_round(OpenRound(1999, date(2024, 6, 1), date(2024, 5, 1)))
    assert {f.field for f in err.value.fields} == {"year", "verification_due"}
    ok = validate_round(OpenRound(2024, date(2024, 5, 1), date(2024, 6, 1), district_code=" 002 "))
    assert ok.district_code == "002"
    assert "năm 2024" in ok.title


def test_corrective_actions_follow_unmet_criteria_of_a_finalised_result() -> None:
    today = date(2024, 7, 1)
    cmd = NewCorrectiveAction("TC2", "Lắp thêm camera cổng sau", "Phòng hành chính", date(2024, 9, 1))
    with pytest.raises(Conflict):
        validate_action(cmd, assessment(), today=today)
    finalised = assessment(status=AssessmentStatus.FINALISED, result=Result.FAILED, unmet_criteria=("TC2",))
    assert validate_action(cmd, finalised, today=today).criterion_code == "TC2"
    with pytest.raises(InvalidArgument):
        validate_action(replace(cmd, criterion_code="TC1"), finalised, today=today)


def test_list_filters_are_checked() -> None:
    with pytest.raises(InvalidArgument) as err:
        filter_of(ListAssessments(round_id="x", status="done"))
    assert {f.field for f in err.value.fields} == {"round_id", "status"}
    assert filter_of(ListAssessments(status="SUBMITTED")).status is AssessmentStatus.SUBMITTED
