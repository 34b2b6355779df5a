"""Criteria sets of the standard. Pure data and rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PassRule(StrEnum):
    ALL_CRITERIA = "all_criteria"
    ALL_MANDATORY = "all_mandatory"


class CriterionKind(StrEnum):
    """How a criterion is judged: the unit states it, states it with evidence, or the platform derives it."""

    DECLARED = "declared"
    EVIDENCE = "evidence"
    DERIVED = "derived"


@dataclass(frozen=True)
class ListCriteriaSets:
    """Every criteria set with its criteria (the query has no filter)."""


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str
    mandatory: bool
    # 'declared', 'evidence' or 'derived'; a derived criterion names the rule that derives it.
    kind: str = CriterionKind.DECLARED
    derivation: str | None = None


@dataclass(frozen=True)
class CriteriaSet:
    code: str
    version: int
    title: str
    valid_from_year: int
    valid_to_year: int | None
    pass_rule: PassRule
    unit_kinds: tuple[str, ...]
    criteria: tuple[Criterion, ...]

    def in_force(self, year: int) -> bool:
        return self.valid_from_year <= year and (self.valid_to_year is None or year <= self.valid_to_year)

    def covers(self, unit_kind: str, year: int) -> bool:
        """Whether this set judges a unit of `unit_kind` in `year`."""
        return unit_kind in self.unit_kinds and self.in_force(year)

    def passes(self, met: dict[str, bool]) -> bool:
        """Whether a unit meeting `met` (criterion code -> met) passes under this set's rule."""
        if self.pass_rule is PassRule.ALL_CRITERIA:
            return all(met.get(c.code, False) for c in self.criteria)
        return all(met.get(c.code, False) for c in self.criteria if c.mandatory)
