"""Translation between security forces and guards and the protobuf messages of forces.proto."""

from __future__ import annotations

from typing import cast

from google.protobuf.message import Message

from d07.platform.auth import Principal
from d07.platform.convert import EnumMap, actor, date_to_pb, timestamp
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

STATUS = EnumMap(
    {GuardStatus.ACTIVE: pb.GUARD_STATUS_ACTIVE, GuardStatus.LEFT: pb.GUARD_STATUS_LEFT}, field="status"
)


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
        status=cast("pb.GuardStatus", STATUS.to_pb(guard.status)),
        version=guard.version,
        created_at=timestamp(guard.created_at),
        updated_at=timestamp(guard.updated_at),
    )
    if guard.joined_on is not None:
        message.joined_on.CopyFrom(date_to_pb(guard.joined_on))
    if guard.left_on is not None:
        message.left_on.CopyFrom(date_to_pb(guard.left_on))
    return message


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
