"""gRPC door of the registry: d07.registry.v1.RegistryService. Thin: messages in, handler, messages out."""

from __future__ import annotations

import asyncpg
import grpc

from d07.platform.grpc import current_principal
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.divisions import service as divisions
from registry.units import service as units
from registry.units.domain import CreateUnit
from registry.units.messages import KIND_FROM_PB, unit_to_pb


class RegistryServicer(pb_grpc.RegistryServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def CreateUnit(
        self, request: pb.CreateUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateUnitResponse:
        cmd = CreateUnit(
            code=request.code,
            name=request.name,
            kind=KIND_FROM_PB.get(request.kind, ""),
            district_code=request.district_code,
            commune_code=request.commune_code,
            address=request.address,
        )
        unit = await units.create_unit(self.pool, cmd, principal=current_principal())
        return pb.CreateUnitResponse(unit=unit_to_pb(unit))

    async def GetUnit(
        self, request: pb.GetUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUnitResponse:
        unit = await units.get_unit(self.pool, request.id, principal=current_principal())
        return pb.GetUnitResponse(unit=unit_to_pb(unit))

    async def BatchGetUnits(
        self, request: pb.BatchGetUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetUnitsResponse:
        found, missing = await units.batch_get_units(
            self.pool, list(request.ids), principal=current_principal()
        )
        return pb.BatchGetUnitsResponse(units=[unit_to_pb(u) for u in found], missing_ids=missing)

    async def ListDivisions(
        self, request: pb.ListDivisionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDivisionsResponse:
        districts = await divisions.list_divisions(self.pool, principal=current_principal())
        return pb.ListDivisionsResponse(
            districts=[
                pb.District(
                    code=d.code,
                    name=d.name,
                    kind=d.kind,
                    communes=[
                        pb.Commune(code=c.code, name=c.name, kind=c.kind, district_code=c.district_code)
                        for c in d.communes
                    ],
                )
                for d in districts
            ]
        )


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(pool), server)
