"""Protobuf conversions of rounds, nominations and awards, and the topics this package reads and writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum
from typing import TypeVar

from awards.nominations.domain import (
    AssessmentResult,
    AttendanceOutcome,
    Award,
    Nomination,
    Nominee,
    Quota,
    Round,
    RuleOutcome,
    UnitStatus,
    ViolationPriority,
    ViolationStatus,
)
from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2 as pb
from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.common.v1 import common_pb2
from d07.platform.convert import EnumMap, date_from_pb, date_to_pb, parse_uuid
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.registry.v1 import registry_pb2, training_pb2

E = TypeVar("E", bound=Enum)

TOPIC = "d07.awards.awards.v1"
UNITS_TOPIC = "d07.registry.units.v1"
FORCES_TOPIC = "d07.registry.forces.v1"
TRAINING_TOPIC = "d07.registry.training.v1"
ASSESSMENTS_TOPIC = "d07.assessment.assessments.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"

# The producers' enums as the read models store them.
UNIT_STATUS = EnumMap(
    {
        UnitStatus.ACTIVE: registry_pb2.UNIT_STATUS_ACTIVE,
        UnitStatus.MERGED: registry_pb2.UNIT_STATUS_MERGED,
        UnitStatus.DISSOLVED: registry_pb2.UNIT_STATUS_DISSOLVED,
    },
    field="unit.status",
)
ASSESSMENT_RESULT = EnumMap(
    {
        AssessmentResult.PASSED: assessment_pb2.ASSESSMENT_RESULT_PASSED,
        AssessmentResult.FAILED: assessment_pb2.ASSESSMENT_RESULT_FAILED,
    },
    field="assessment.result",
)
VIOLATION_PRIORITY = EnumMap(
    {
        ViolationPriority.CRITICAL: violations_pb.VIOLATION_PRIORITY_CRITICAL,
        ViolationPriority.HIGH: violations_pb.VIOLATION_PRIORITY_HIGH,
        ViolationPriority.MEDIUM: violations_pb.VIOLATION_PRIORITY_MEDIUM,
        ViolationPriority.LOW: violations_pb.VIOLATION_PRIORITY_LOW,
    },
    field="violation.priority",
)
VIOLATION_STATUS = EnumMap(
    {
        ViolationStatus.NEW: violations_pb.VIOLATION_STATUS_NEW,
        ViolationStatus.ACKNOWLEDGED: violations_pb.VIOLATION_STATUS_ACKNOWLEDGED,
        ViolationStatus.IN_PROGRESS: violations_pb.VIOLATION_STATUS_IN_PROGRESS,
        ViolationStatus.RESOLVED: violations_pb.VIOLATION_STATUS_RESOLVED,
        ViolationStatus.DISMISSED: violations_pb.VIOLATION_STATUS_DISMISSED,
    },
    field="violation.status",
)
ATTENDANCE_OUTCOME = EnumMap(
    {
        AttendanceOutcome.PENDING: training_pb2.ATTENDANCE_OUTCOME_PENDING,
        AttendanceOutcome.COMPLETED: training_pb2.ATTENDANCE_OUTCOME_COMPLETED,
        AttendanceOutcome.NOT_COMPLETED: training_pb2.ATTENDANCE_OUTCOME_NOT_COMPLETED,
    },
    field="attendance.outcome",
)


def event_value(enum_map: EnumMap[E], number: int) -> E | None:
    """An event's enum value; None for the unspecified number and for one this version does not know (an
    event is never refused for a value it carries beyond what awards reads)."""
    try:
        return enum_map.from_pb(number)
    except InvalidArgument:
        return None


def required_date(value: common_pb2.Date, field: str) -> date:
    """A date the request must carry: InvalidArgument `invalid_date` naming the field when unset or
    impossible."""
    d = date_from_pb(value, field)
    if d is None:
        raise InvalidArgument(
            f"{field} is not a date", code="invalid_date", fields=[FieldProblem(field, "a date")]
        )
    return d


def nominee_of(msg: pb.Nominee) -> Nominee:
    return Nominee(
        recipient_kind=msg.recipient_kind,
        unit_id=parse_uuid(msg.unit_id, "nominee.unit_id"),
        guard_id=parse_uuid(msg.guard_id, "nominee.guard_id") if msg.guard_id else None,
        person_name=msg.person_name.strip() or None,
    )


def quotas_of(msgs: Iterable[pb.Quota]) -> tuple[Quota, ...]:
    return tuple(Quota(q.form_code, q.recipient_kind, q.quota) for q in msgs)


def round_pb(r: Round) -> pb.Round:
    return pb.Round(
        id=str(r.id), title=r.title, period_start=date_to_pb(r.period_start),
        period_end=date_to_pb(r.period_end), nominations_open=date_to_pb(r.nominations_open),
        nominations_close=date_to_pb(r.nominations_close), min_passed_years=r.min_passed_years,
        require_training=r.require_training, council_members=list(r.council_members), historical=r.historical,
        quotas=[
            pb.Quota(form_code=q.form_code, recipient_kind=q.recipient_kind, quota=q.quota) for q in r.quotas
        ],
    )  # fmt: skip


def outcome_pb(o: RuleOutcome) -> pb.RuleOutcome:
    return pb.RuleOutcome(rule=o.rule, passed=o.passed, reason=o.reason, sources=list(o.sources))


def nomination_pb(n: Nomination) -> pb.Nomination:
    return pb.Nomination(
        id=str(n.nomination_id), round_id=str(n.round_id), form_code=n.form_code,
        nominee=pb.Nominee(
            recipient_kind=n.recipient_kind, unit_id=str(n.unit_id),
            guard_id=str(n.guard_id) if n.guard_id else "", person_name=n.person_name or "",
        ),
        achievements=n.achievements, proposer=n.proposer, status=n.status,
        eligibility=[outcome_pb(o) for o in n.eligibility], needs_review=n.needs_review,
        review_reason=n.review_reason or "", rejected_reason=n.rejected_reason or "",
        votes_for=n.votes_for, votes_against=n.votes_against, version=n.version,
    )  # fmt: skip


def award_pb(a: Award) -> pb.Award:
    return pb.Award(
        id=str(a.id), nomination_id=str(a.nomination_id), round_id=str(a.round_id), form_code=a.form_code,
        recipient_kind=a.recipient_kind, unit_id=str(a.unit_id), person_name=a.person_name or "",
        decision_number=a.decision_number, decided_on=date_to_pb(a.decided_on), signer=a.signer,
        issuer=a.issuer, status=a.status, revoked_reason=a.revoked_reason or "",
    )  # fmt: skip
