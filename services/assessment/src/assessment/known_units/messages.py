"""The registry's unit events into the read copy, and a known unit as d07.assessment.v1 answers it."""

from __future__ import annotations

import uuid

from assessment.known_units.domain import (
    DEFAULT_STATUS,
    UNKNOWN_KIND,
    KnownUnit,
    UnitKind,
    UnitSnapshot,
    UnitStatus,
)
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.convert import EnumMap
from d07.platform.events.consumer import InvalidEvent
from d07.registry.v1 import registry_pb2

UNITS_TOPIC = "d07.registry.units.v1"

UNIT_KINDS = EnumMap(
    {
        UnitKind.AGENCY: registry_pb2.UNIT_KIND_AGENCY,
        UnitKind.ENTERPRISE: registry_pb2.UNIT_KIND_ENTERPRISE,
        UnitKind.SCHOOL: registry_pb2.UNIT_KIND_SCHOOL,
    },
    field="unit.kind",
)
UNIT_STATUSES = EnumMap(
    {
        UnitStatus.ACTIVE: registry_pb2.UNIT_STATUS_ACTIVE,
        UnitStatus.MERGED: registry_pb2.UNIT_STATUS_MERGED,
        UnitStatus.DISSOLVED: registry_pb2.UNIT_STATUS_DISSOLVED,
    },
    field="unit.status",
)


def snapshot_from_pb(u: registry_pb2.Unit) -> UnitSnapshot:
    """The unit of a registry event; an id that is no UUID makes the event invalid (dead-lettered). A kind
    or a status this version does not know is kept as 'unspecified' and 'active'."""
    try:
        unit_id = uuid.UUID(u.id)
    except ValueError:
        raise InvalidEvent(f"unit id {u.id!r} is not a UUID") from None
    kind = UNIT_KINDS.from_pb_table.get(u.kind)
    status = UNIT_STATUSES.from_pb_table.get(u.status)
    return UnitSnapshot(
        KnownUnit(unit_id, u.code, u.name, kind.value if kind else UNKNOWN_KIND, u.district_code),
        version=u.version,
        status=(status or DEFAULT_STATUS).value,
        in_scope=u.in_scope,
    )


def known_unit_to_pb(u: KnownUnit) -> pb.KnownUnit:
    return pb.KnownUnit(
        unit_id=str(u.unit_id), code=u.code, name=u.name, kind=u.kind, district_code=u.district_code
    )
