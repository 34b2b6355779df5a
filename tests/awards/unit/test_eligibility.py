"""The pure rules of nominations: eligibility outcomes with their records, the council majority, the quota,
and who counts as the same recipient."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from awards.nominations.domain import (
    AssessmentFact,
    Facts,
    GuardFact,
    Nominee,
    Quota,
    Round,
    ViolationFact,
    ensure_eligible,
    ensure_quota,
    evaluate,
    majority,
)
from d07.platform.errors import Conflict

UNIT = uuid.uuid4()


def round_(*, min_years: int = 3, training: bool = False) -> Round:
    return Round(
        uuid.uuid4(), "Sơ kết 2014-2019", date(2014, 8, 15), date(2019, 8, 29), date(2019, 6, 1),
        date(2019, 7, 31), min_years, training, ("a", "b", "c"), (Quota("merit", "collective", 8),),
    )  # fmt: skip


def results(*pairs: tuple[int, str]) -> list[AssessmentFact]:
    return [AssessmentFact(uuid.uuid4(), y, r) for y, r in pairs]


def by_rule(outcomes: list) -> dict:  # type: ignore[type-arg]
    return {o.rule: o for o in outcomes}


def test_collective_needs_n_passed_years_in_the_period() -> None:
    facts = Facts(assessments=results((2013, "passed"), (2015, "passed"), (2016, "passed"), (2017, "failed")))
    out = by_rule(evaluate(round_(), Nominee("collective", UNIT), facts))
    assert not out["passed_assessments"].passed  # 2013 is outside the period
    assert out["passed_assessments"].sources == (f"assessment:{facts.assessments[3].assessment_id}",)
    facts.assessments += results((2018, "passed"))
    assert by_rule(evaluate(round_(), Nominee("collective", UNIT), facts))["passed_assessments"].passed


def test_only_unresolved_serious_violations_block() -> None:
    open_critical, resolved_high, open_low = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    facts = Facts(
        assessments=results((2015, "passed"), (2016, "passed"), (2017, "passed")),
        violations=[
            ViolationFact(open_critical, "critical", "in_progress"),
            ViolationFact(resolved_high, "high", "resolved"),
            ViolationFact(open_low, "low", "new"),
        ],
    )
    outcomes = evaluate(round_(), Nominee("collective", UNIT), facts)
    rule = by_rule(outcomes)["no_unresolved_serious_violation"]
    assert not rule.passed
    assert rule.sources == (f"violation:{open_critical}",)
    with pytest.raises(Conflict) as err:
        ensure_eligible(outcomes)
    assert err.value.code == "ineligible"
    assert [f.field for f in err.value.fields] == ["eligibility.no_unresolved_serious_violation"]
    assert str(open_critical) in err.value.fields[0].reason


def test_individual_unit_not_failing_registered_and_trained() -> None:
    guard = uuid.uuid4()
    nominee = Nominee("individual", UNIT, guard_id=guard)
    facts = Facts(
        assessments=results((2017, "passed"), (2018, "failed")), guard=GuardFact(guard, UNIT, "An", True)
    )
    out = by_rule(evaluate(round_(training=True), nominee, facts))
    assert not out["unit_not_failing"].passed
    assert out["registered"].passed
    assert not out["trained"].passed
    facts.assessments += results((2019, "passed"))
    facts.completed_attendances = [uuid.uuid4()]
    out = by_rule(evaluate(round_(training=True), nominee, facts))
    assert out["unit_not_failing"].passed
    assert out["trained"].passed
    other_unit_guard = Facts(guard=GuardFact(guard, uuid.uuid4(), "An", True))
    assert not by_rule(evaluate(round_(), nominee, other_unit_guard))["registered"].passed


def test_same_recipient_key() -> None:
    a = Nominee("individual", UNIT, person_name="Phạm  Văn Đức")
    b = Nominee("individual", UNIT, person_name="phạm văn đức")
    assert a.key() == b.key()
    assert Nominee("individual", uuid.uuid4(), person_name="Phạm Văn Đức").key() != a.key()
    assert not by_rule(evaluate(round_(), a, Facts(same_form=["nomination:x"])))["once_per_form"].passed


def test_majority_of_the_voting_council() -> None:
    assert majority(2, 0, 3) is True
    assert majority(1, 1, 3) is None
    assert majority(0, 2, 3) is False
    assert majority(1, 1, 2) is False  # a tie of two can no longer reach a majority
    assert majority(1, 0, 2) is None


def test_quota_refuses_beyond_its_number() -> None:
    r = round_()
    ensure_quota(r, "merit", "collective", 7)
    with pytest.raises(Conflict) as err:
        ensure_quota(r, "merit", "collective", 8)
    assert err.value.code == "quota_reached"
    ensure_quota(r, "commendation", "collective", 100)  # no quota set: no limit
