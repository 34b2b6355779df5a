"""Protobuf conversions of rounds, nominations and awards, and the topics this package reads and writes."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from awards.nominations.domain import Nominee, Quota, Round, RuleOutcome
from d07.awards.v1 import awards_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.events.consumer import InvalidEvent

TOPIC = "d07.awards.awards.v1"
SOURCE = "/d07/awards"
UNITS_TOPIC = "d07.registry.units.v1"
FORCES_TOPIC = "d07.registry.forces.v1"
TRAINING_TOPIC = "d07.registry.training.v1"
ASSESSMENTS_TOPIC = "d07.assessment.assessments.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"


def actor(principal: Principal) -> common_pb2.Actor:
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))


def to_date(d: date) -> common_pb2.Date:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day)


def from_date(d: common_pb2.Date, name: str) -> date:
    try:
        return date(d.year, d.month, d.day)
    except ValueError:
        raise InvalidArgument(
            f"{name} is not a date", code="invalid_date", fields=[FieldProblem(name, "a date")]
        ) from None


def parse_id(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(
            f"{name} is not an id", code="invalid_id", fields=[FieldProblem(name, "a UUID is expected")]
        ) from None


def event_id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidEvent(f"{what} {value!r} is not a UUID") from None


def nominee_of(msg: pb.Nominee) -> Nominee:
    return Nominee(
        recipient_kind=msg.recipient_kind,
        unit_id=parse_id(msg.unit_id, "nominee.unit_id"),
        guard_id=parse_id(msg.guard_id, "nominee.guard_id") if msg.guard_id else None,
        person_name=msg.person_name.strip() or None,
    )


def round_pb(r: Round) -> pb.Round:
    return pb.Round(
        id=str(r.id),
        title=r.title,
        period_start=to_date(r.period_start),
        period_end=to_date(r.period_end),
        nominations_open=to_date(r.nominations_open),
        nominations_close=to_date(r.nominations_close),
        min_passed_years=r.min_passed_years,
        require_training=r.require_training,
        council_members=list(r.council_members),
        historical=r.historical,
        quotas=[
            pb.Quota(form_code=q.form_code, recipient_kind=q.recipient_kind, quota=q.quota) for q in r.quotas
        ],
    )


def quotas_of(msgs: Any) -> tuple[Quota, ...]:
    return tuple(Quota(q.form_code, q.recipient_kind, q.quota) for q in msgs)


def outcome_pb(o: RuleOutcome) -> pb.RuleOutcome:
    return pb.RuleOutcome(rule=o.rule, passed=o.passed, reason=o.reason, sources=list(o.sources))


def outcomes_of(value: Any) -> list[RuleOutcome]:
    items = json.loads(value) if isinstance(value, str) else value
    return [RuleOutcome(i["rule"], i["passed"], i["reason"], tuple(i["sources"])) for i in items]


def nomination_dict(row: Any) -> dict[str, Any]:
    """A nomination row as the HTTP door and the gRPC conversion see it."""
    return {
        "id": str(row["nomination_id"]),
        "round_id": str(row["round_id"]),
        "form_code": row["form_code"],
        "nominee": {
            "recipient_kind": row["recipient_kind"],
            "unit_id": str(row["unit_id"]),
            "guard_id": str(row["guard_id"]) if row["guard_id"] else "",
            "person_name": row["person_name"] or "",
        },
        "achievements": row["achievements"],
        "proposer": row["proposer"],
        "status": row["status"],
        "eligibility": [
            {"rule": o.rule, "passed": o.passed, "reason": o.reason, "sources": list(o.sources)}
            for o in outcomes_of(row["eligibility"])
        ],
        "needs_review": row["needs_review"],
        "review_reason": row["review_reason"] or "",
        "rejected_reason": row["rejected_reason"] or "",
        "votes_for": row["votes_for"],
        "votes_against": row["votes_against"],
        "version": row["version"],
    }


def nomination_pb(row: Any) -> pb.Nomination:
    d = nomination_dict(row)
    return pb.Nomination(
        id=d["id"],
        round_id=d["round_id"],
        form_code=d["form_code"],
        nominee=pb.Nominee(**d["nominee"]),
        achievements=d["achievements"],
        proposer=d["proposer"],
        status=d["status"],
        eligibility=[pb.RuleOutcome(**o) for o in d["eligibility"]],
        needs_review=d["needs_review"],
        review_reason=d["review_reason"],
        rejected_reason=d["rejected_reason"],
        votes_for=d["votes_for"],
        votes_against=d["votes_against"],
        version=d["version"],
    )


def award_dict(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "nomination_id": str(row["nomination_id"]),
        "round_id": str(row["round_id"]),
        "form_code": row["form_code"],
        "recipient_kind": row["recipient_kind"],
        "unit_id": str(row["unit_id"]),
        "person_name": row["person_name"] or "",
        "decision_number": row["decision_number"],
        "decided_on": row["decided_on"].isoformat(),
        "signer": row["signer"],
        "issuer": row["issuer"],
        "status": row["status"],
        "revoked_reason": row["revoked_reason"] or "",
    }


def award_pb(row: Any) -> pb.Award:
    d = award_dict(row)
    d["decided_on"] = to_date(row["decided_on"])
    return pb.Award(**d)
