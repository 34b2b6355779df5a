"""Translation between the divisions and the protobuf messages of d07.registry.v1."""

from __future__ import annotations

from d07.registry.v1 import registry_pb2 as pb
from registry.divisions.domain import District


def district_to_pb(district: District) -> pb.District:
    return pb.District(
        code=district.code,
        name=district.name,
        kind=district.kind,
        communes=[
            pb.Commune(code=c.code, name=c.name, kind=c.kind, district_code=c.district_code)
            for c in district.communes
        ],
    )
