"""Translation between domain objects and the protobuf messages of d07.registry.v1."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.registry.v1 import registry_pb2 as pb
from registry.units.domain import Unit, UnitKind, UnitStatus

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


def timestamp(value: object) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)  # type: ignore[arg-type]
    return ts


def unit_to_pb(unit: Unit) -> pb.Unit:
    return pb.Unit(
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
    )


def actor(principal: Principal | None) -> common_pb2.Actor:
    if principal is None:
        return common_pb2.Actor(subject="system")
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))
