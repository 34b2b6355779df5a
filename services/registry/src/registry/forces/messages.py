"""Translation between security forces and guards and the protobuf messages of forces.proto."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.registry.v1 import forces_pb2 as pb
from registry.forces.domain import (
    ForceEvent,
    Guard,
    GuardEvent,
    GuardLeft,
    GuardRegistered,
    GuardStatus,
    GuardUpdated,
    SecurityForce,
    SecurityForceEstablished,
    SecurityForceUpdated,
)

STATUS_TO_PB = {GuardStatus.ACTIVE: pb.GUARD_STATUS_ACTIVE, GuardStatus.LEFT: pb.GUARD_STATUS_LEFT}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def date_to_pb(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(message: Message, field: str) -> date | None:
    """The date in `message.<field>`: None when the field is absent, InvalidArgument when it is no date."""
    if not message.HasField(field):
        return None
    value: common_pb2.Date = getattr(message, field)
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            f"{field} is not a calendar date", code="invalid_date",
            fields=[FieldProblem(field, f"{value.year}-{value.month}-{value.day} is no date")],
        ) from None  # fmt: skip


def force_to_pb(force: SecurityForce) -> pb.SecurityForce:
    return pb.SecurityForce(
        id=str(force.id),
        unit_id=str(force.unit_id),
        established_on=date_to_pb(force.established_on),
        planned_size=force.planned_size,
        actual_size=force.actual_size,
        leader_name=force.leader_name,
        leader_phone=force.leader_phone,
        version=force.version,
        created_at=timestamp(force.created_at),
        updated_at=timestamp(force.updated_at),
    )


def guard_to_pb(guard: Guard) -> pb.Guard:
    message = pb.Guard(
        id=str(guard.id),
        unit_id=str(guard.unit_id),
        full_name=guard.full_name,
        birth_year=guard.birth_year,
        position=guard.position,
        phone=guard.phone,
        status=STATUS_TO_PB[guard.status],
        version=guard.version,
        created_at=timestamp(guard.created_at),
        updated_at=timestamp(guard.updated_at),
    )
    if guard.joined_on is not None:
        message.joined_on.CopyFrom(date_to_pb(guard.joined_on))
    if guard.left_on is not None:
        message.left_on.CopyFrom(date_to_pb(guard.left_on))
    return message


def actor(principal: Principal | None) -> common_pb2.Actor:
    if principal is None:
        return common_pb2.Actor(subject="system")
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))


def event_to_pb(event: ForceEvent | GuardEvent, principal: Principal | None) -> Message:
    """The message published on d07.registry.forces.v1 for a domain event."""
    who = actor(principal)
    match event:
        case SecurityForceEstablished(force):
            return pb.SecurityForceEstablished(force=force_to_pb(force), actor=who)
        case SecurityForceUpdated(force):
            return pb.SecurityForceUpdated(force=force_to_pb(force), actor=who)
        case GuardRegistered(guard):
            return pb.GuardRegistered(guard=guard_to_pb(guard), actor=who)
        case GuardUpdated(guard):
            return pb.GuardUpdated(guard=guard_to_pb(guard), actor=who)
        case GuardLeft(guard):
            return pb.GuardLeft(guard=guard_to_pb(guard), actor=who)
