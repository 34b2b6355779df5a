"""Translation between domain objects and the protobuf messages of d07.registry.v1."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.registry.v1 import registry_pb2 as pb
from registry.units.domain import ChangeKind, ScopeRule, StatusChange, SubKind, Unit, UnitKind, UnitStatus

KIND_TO_PB = {
    UnitKind.AGENCY: pb.UNIT_KIND_AGENCY,
    UnitKind.ENTERPRISE: pb.UNIT_KIND_ENTERPRISE,
    UnitKind.SCHOOL: pb.UNIT_KIND_SCHOOL,
}
KIND_FROM_PB = {v: k.value for k, v in KIND_TO_PB.items()}
STATUS_TO_PB = {
    UnitStatus.ACTIVE: pb.UNIT_STATUS_ACTIVE,
    UnitStatus.MERGED: pb.UNIT_STATUS_MERGED,
    UnitStatus.DISSOLVED: pb.UNIT_STATUS_DISSOLVED,
}
STATUS_FROM_PB = {v: k.value for k, v in STATUS_TO_PB.items()}
CHANGE_TO_PB = {
    ChangeKind.MERGE: pb.UNIT_STATUS_CHANGE_KIND_MERGE,
    ChangeKind.SPLIT: pb.UNIT_STATUS_CHANGE_KIND_SPLIT,
    ChangeKind.DISSOLVE: pb.UNIT_STATUS_CHANGE_KIND_DISSOLVE,
}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def date_to_pb(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(value: common_pb2.Date, field: str) -> date | None:
    """None for an unset date (all zero); InvalidArgument naming `field` for an impossible one."""
    if not (value.year or value.month or value.day):
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            "not a calendar date", code="invalid_date", fields=[FieldProblem(field, "not a calendar date")]
        ) from None


def unit_to_pb(unit: Unit) -> pb.Unit:
    message = pb.Unit(
        id=str(unit.id),
        code=unit.code,
        name=unit.name,
        kind=KIND_TO_PB[unit.kind],
        district_code=unit.district_code,
        commune_code=unit.commune_code,
        address=unit.address,
        status=STATUS_TO_PB[unit.status],
        version=unit.version,
        created_at=timestamp(unit.created_at),
        updated_at=timestamp(unit.updated_at),
        sub_kind=unit.sub_kind,
        sub_kind_label=unit.sub_kind_label,
        parent_unit_id=str(unit.parent_unit_id) if unit.parent_unit_id else "",
        parent_name=unit.parent_name,
        head=pb.UnitHead(name=unit.head_name, title=unit.head_title),
        contact=pb.UnitContact(phone=unit.phone, email=unit.email),
        in_scope=unit.in_scope,
    )
    if unit.staff_count is not None:
        message.staff_count = unit.staff_count
    return message


def change_to_pb(change: StatusChange) -> pb.UnitStatusChange:
    message = pb.UnitStatusChange(
        id=str(change.id),
        kind=CHANGE_TO_PB[change.kind],
        from_unit_ids=[str(u) for u in change.from_ids],
        to_unit_ids=[str(u) for u in change.to_ids],
        effective_on=date_to_pb(change.effective_on),
        decision=change.decision,
        note=change.note,
    )
    if change.recorded_at is not None:
        message.recorded_at.CopyFrom(timestamp(change.recorded_at))
    return message


def sub_kind_to_pb(sub_kind: SubKind) -> pb.UnitSubKind:
    return pb.UnitSubKind(code=sub_kind.code, kind=KIND_TO_PB[sub_kind.kind], label=sub_kind.label)


def scope_rule_to_pb(rule: ScopeRule) -> pb.UnitScopeRule:
    message = pb.UnitScopeRule(
        code=rule.code,
        kind=KIND_TO_PB[rule.kind] if rule.kind else pb.UNIT_KIND_UNSPECIFIED,
        sub_kind=rule.sub_kind or "",
        reason=rule.reason,
    )
    if rule.staff_below is not None:
        message.staff_below = rule.staff_below
    return message


def actor(principal: Principal | None) -> common_pb2.Actor:
    if principal is None:
        return common_pb2.Actor(subject="system")
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))
