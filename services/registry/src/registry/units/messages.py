"""Translation between domain objects and the protobuf messages of d07.registry.v1."""

from __future__ import annotations

from typing import cast

from d07.platform.convert import EnumMap, date_to_pb, timestamp
from d07.registry.v1 import registry_pb2 as pb
from registry.units.domain import ChangeKind, ScopeRule, StatusChange, SubKind, Unit, UnitKind, UnitStatus

KIND = EnumMap(
    {
        UnitKind.AGENCY: pb.UNIT_KIND_AGENCY,
        UnitKind.ENTERPRISE: pb.UNIT_KIND_ENTERPRISE,
        UnitKind.SCHOOL: pb.UNIT_KIND_SCHOOL,
    },
    field="kind",
)
STATUS = EnumMap(
    {
        UnitStatus.ACTIVE: pb.UNIT_STATUS_ACTIVE,
        UnitStatus.MERGED: pb.UNIT_STATUS_MERGED,
        UnitStatus.DISSOLVED: pb.UNIT_STATUS_DISSOLVED,
    },
    field="status",
)
CHANGE = EnumMap(
    {
        ChangeKind.MERGE: pb.UNIT_STATUS_CHANGE_KIND_MERGE,
        ChangeKind.SPLIT: pb.UNIT_STATUS_CHANGE_KIND_SPLIT,
        ChangeKind.DISSOLVE: pb.UNIT_STATUS_CHANGE_KIND_DISSOLVE,
    },
    field="kind",
)


def kind_from_pb(number: int) -> str:
    """The kind's name ('' for unspecified, which the rules refuse where a kind is required)."""
    kind = KIND.from_pb(number)
    return kind.value if kind else ""


def status_from_pb(number: int) -> str:
    status = STATUS.from_pb(number)
    return status.value if status else ""


def unit_to_pb(unit: Unit) -> pb.Unit:
    message = pb.Unit(
        id=str(unit.id),
        code=unit.code,
        name=unit.name,
        kind=cast("pb.UnitKind", KIND.to_pb(unit.kind)),
        district_code=unit.district_code,
        commune_code=unit.commune_code,
        address=unit.address,
        status=cast("pb.UnitStatus", STATUS.to_pb(unit.status)),
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
        kind=cast("pb.UnitStatusChangeKind", CHANGE.to_pb(change.kind)),
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
    return pb.UnitSubKind(
        code=sub_kind.code, kind=cast("pb.UnitKind", KIND.to_pb(sub_kind.kind)), label=sub_kind.label
    )


def scope_rule_to_pb(rule: ScopeRule) -> pb.UnitScopeRule:
    message = pb.UnitScopeRule(
        code=rule.code,
        kind=cast("pb.UnitKind", KIND.to_pb(rule.kind)),
        sub_kind=rule.sub_kind or "",
        reason=rule.reason,
    )
    if rule.staff_below is not None:
        message.staff_below = rule.staff_below
    return message
