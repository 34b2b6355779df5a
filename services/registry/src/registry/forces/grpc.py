"""gRPC door of security forces and guards: d07.registry.v1.ForcesService. Thin: messages in, handler,
messages out; domain errors become status codes in the platform's interceptor."""

from __future__ import annotations

import asyncpg
import grpc

from d07.common.v1 import common_pb2
from d07.platform.grpc import current_principal
from d07.registry.v1 import forces_pb2 as pb
from d07.registry.v1 import forces_pb2_grpc as pb_grpc
from registry.forces import service
from registry.forces.domain import ForceDetails, GuardDetails
from registry.forces.messages import STATUS_FROM_PB, date_from_pb, force_to_pb, guard_to_pb

SERVICE_NAME = "d07.registry.v1.ForcesService"


def _force_details(
    request: pb.EstablishSecurityForceRequest | pb.UpdateSecurityForceRequest,
) -> ForceDetails:
    return ForceDetails(
        established_on=date_from_pb(request, "established_on"),
        planned_size=request.planned_size,
        leader_name=request.leader_name,
        leader_phone=request.leader_phone,
    )


def _guard_details(request: pb.RegisterGuardRequest | pb.UpdateGuardRequest) -> GuardDetails:
    return GuardDetails(
        full_name=request.full_name,
        birth_year=request.birth_year,
        position=request.position,
        phone=request.phone,
        joined_on=date_from_pb(request, "joined_on"),
    )


class ForcesServicer(pb_grpc.ForcesServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def EstablishSecurityForce(
        self, request: pb.EstablishSecurityForceRequest, context: grpc.aio.ServicerContext
    ) -> pb.EstablishSecurityForceResponse:
        force = await service.establish_force(
            self.pool, unit_id=request.unit_id, details=_force_details(request), principal=current_principal()
        )
        return pb.EstablishSecurityForceResponse(force=force_to_pb(force))

    async def GetSecurityForce(
        self, request: pb.GetSecurityForceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSecurityForceResponse:
        force = await service.get_force(self.pool, unit_id=request.unit_id, principal=current_principal())
        return pb.GetSecurityForceResponse(force=force_to_pb(force))

    async def UpdateSecurityForce(
        self, request: pb.UpdateSecurityForceRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateSecurityForceResponse:
        force = await service.update_force(
            self.pool, unit_id=request.unit_id, version=request.version, details=_force_details(request),
            principal=current_principal(),
        )  # fmt: skip
        return pb.UpdateSecurityForceResponse(force=force_to_pb(force))

    async def RegisterGuard(
        self, request: pb.RegisterGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterGuardResponse:
        guard = await service.register_guard(
            self.pool, unit_id=request.unit_id, details=_guard_details(request), principal=current_principal()
        )
        return pb.RegisterGuardResponse(guard=guard_to_pb(guard))

    async def GetGuard(
        self, request: pb.GetGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetGuardResponse:
        guard = await service.get_guard(self.pool, guard_id=request.id, principal=current_principal())
        return pb.GetGuardResponse(guard=guard_to_pb(guard))

    async def UpdateGuard(
        self, request: pb.UpdateGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateGuardResponse:
        guard = await service.update_guard(
            self.pool, guard_id=request.id, version=request.version, details=_guard_details(request),
            principal=current_principal(),
        )  # fmt: skip
        return pb.UpdateGuardResponse(guard=guard_to_pb(guard))

    async def MarkGuardLeft(
        self, request: pb.MarkGuardLeftRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkGuardLeftResponse:
        guard = await service.mark_guard_left(
            self.pool, guard_id=request.id, version=request.version,
            left_on=date_from_pb(request, "left_on"), principal=current_principal(),
        )  # fmt: skip
        return pb.MarkGuardLeftResponse(guard=guard_to_pb(guard))

    async def ListGuards(
        self, request: pb.ListGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGuardsResponse:
        guards, token = await service.list_guards(
            self.pool,
            unit_id=request.unit_id,
            status=STATUS_FROM_PB.get(request.status),
            q=request.q,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            principal=current_principal(),
        )
        return pb.ListGuardsResponse(
            guards=[guard_to_pb(g) for g in guards], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def BatchGetGuards(
        self, request: pb.BatchGetGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetGuardsResponse:
        found, missing = await service.batch_get_guards(
            self.pool, ids=list(request.ids), principal=current_principal()
        )
        return pb.BatchGetGuardsResponse(guards=[guard_to_pb(g) for g in found], missing_ids=missing)

    async def ImportGuards(
        self, request: pb.ImportGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportGuardsResponse:
        guards = await service.import_guards(
            self.pool, filename=request.filename, content=request.content, principal=current_principal()
        )
        return pb.ImportGuardsResponse(imported=len(guards), guard_ids=[str(g.id) for g in guards])


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_ForcesServiceServicer_to_server(ForcesServicer(pool), server)
