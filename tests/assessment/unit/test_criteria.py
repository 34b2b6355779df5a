"""Pass rules of criteria sets as data: no I/O."""

from __future__ import annotations

from assessment.criteria.domain import CriteriaSet, Criterion, PassRule

CRITERIA = (Criterion("TC1", "…", True), Criterion("TC2", "…", True), Criterion("TC3", "…", False))


def make(rule: PassRule, valid_to: int | None) -> CriteriaSet:
    return CriteriaSet("S", 1, "t", 2012, valid_to, rule, ("agency",), CRITERIA)


def test_all_criteria_rule_fails_on_any_unmet_criterion() -> None:
    s = make(PassRule.ALL_CRITERIA, None)
    assert s.passes({"TC1": True, "TC2": True, "TC3": True})
    assert not s.passes({"TC1": True, "TC2": True, "TC3": False})


def test_all_mandatory_rule_ignores_optional_criteria() -> None:
    s = make(PassRule.ALL_MANDATORY, 2021)
    assert s.passes({"TC1": True, "TC2": True, "TC3": False})
    assert not s.passes({"TC1": True, "TC3": True})


def test_a_set_judges_only_its_own_years() -> None:
    s = make(PassRule.ALL_MANDATORY, 2021)
    assert s.in_force(2014)
    assert s.in_force(2021)
    assert not s.in_force(2011)
    assert not s.in_force(2022)
