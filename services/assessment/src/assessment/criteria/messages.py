"""Criteria sets as the protobuf messages of d07.assessment.v1."""

from __future__ import annotations

from typing import cast

from assessment.criteria.domain import CriteriaSet, CriterionKind, PassRule
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.convert import EnumMap

PASS_RULES = EnumMap(
    {PassRule.ALL_CRITERIA: pb.PASS_RULE_ALL_CRITERIA, PassRule.ALL_MANDATORY: pb.PASS_RULE_ALL_MANDATORY},
    field="pass_rule",
)
CRITERION_KINDS = EnumMap(
    {
        CriterionKind.DECLARED: pb.CRITERION_KIND_DECLARED,
        CriterionKind.EVIDENCE: pb.CRITERION_KIND_EVIDENCE,
        CriterionKind.DERIVED: pb.CRITERION_KIND_DERIVED,
    },
    field="kind",
)


def kind_to_pb(kind: str) -> pb.CriterionKind:
    """The protobuf kind of a criterion (unspecified for a kind this version does not know)."""
    known = kind in CRITERION_KINDS.to_pb_table
    return cast(pb.CriterionKind, CRITERION_KINDS.to_pb(CriterionKind(kind)) if known else 0)


def criteria_set_to_pb(s: CriteriaSet) -> pb.CriteriaSet:
    return pb.CriteriaSet(
        code=s.code,
        version=s.version,
        title=s.title,
        valid_from_year=s.valid_from_year,
        valid_to_year=s.valid_to_year or 0,
        pass_rule=cast(pb.PassRule, PASS_RULES.to_pb(s.pass_rule)),
        unit_kinds=list(s.unit_kinds),
        criteria=[
            pb.Criterion(
                code=c.code, text=c.text, mandatory=c.mandatory, kind=kind_to_pb(c.kind),
                derivation=c.derivation or "",
            )
            for c in s.criteria
        ],
    )  # fmt: skip
