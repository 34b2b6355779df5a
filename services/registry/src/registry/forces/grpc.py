"""gRPC door of security forces and guards: d07.registry.v1.ForcesService. Thin: messages in, handler,
messages out; domain errors become status codes in the platform's interceptor."""

from __future__ import annotations

import grpc

from d07.common.v1 import common_pb2
from d07.platform.convert import date_from_pb
from d07.platform.grpc import current_principal
from d07.registry.v1 import forces_pb2 as pb
from d07.registry.v1 import forces_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.forces import service
from registry.forces.domain import ForceDetails, GuardDetails
from registry.forces.messages import STATUS, force_to_pb, guard_to_pb
from registry.forces.service import ForcesUnitOfWork

SERVICE_NAME = "d07.registry.v1.ForcesService"


def _force_details(
    request: pb.EstablishSecurityForceRequest | pb.UpdateSecurityForceRequest,
) -> ForceDetails:
    return ForceDetails(
        established_on=date_from_pb(request.established_on, "established_on"),
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
        joined_on=date_from_pb(request.joined_on, "joined_on"),
    )


class ForcesServicer(pb_grpc.ForcesServiceServicer):
    def __init__(self, deps: RegistryDeps) -> None:
        self.deps = deps

    def uow(self) -> ForcesUnitOfWork:
        return self.deps.uow(ForcesUnitOfWork)

    async def EstablishSecurityForce(
        self, request: pb.EstablishSecurityForceRequest, context: grpc.aio.ServicerContext
    ) -> pb.EstablishSecurityForceResponse:
        force = await service.establish_force(
            self.uow(), service.EstablishForce(request.unit_id, _force_details(request)), current_principal()
        )
        return pb.EstablishSecurityForceResponse(force=force_to_pb(force))

    async def GetSecurityForce(
        self, request: pb.GetSecurityForceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSecurityForceResponse:
        force = await service.get_force(self.uow(), service.GetForce(request.unit_id), current_principal())
        return pb.GetSecurityForceResponse(force=force_to_pb(force))

    async def UpdateSecurityForce(
        self, request: pb.UpdateSecurityForceRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateSecurityForceResponse:
        force = await service.update_force(
            self.uow(),
            service.UpdateForce(request.unit_id, request.version, _force_details(request)),
            current_principal(),
        )
        return pb.UpdateSecurityForceResponse(force=force_to_pb(force))

    async def RegisterGuard(
        self, request: pb.RegisterGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterGuardResponse:
        guard = await service.register_guard(
            self.uow(), service.RegisterGuard(request.unit_id, _guard_details(request)), current_principal()
        )
        return pb.RegisterGuardResponse(guard=guard_to_pb(guard))

    async def GetGuard(
        self, request: pb.GetGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetGuardResponse:
        guard = await service.get_guard(self.uow(), service.GetGuard(request.id), current_principal())
        return pb.GetGuardResponse(guard=guard_to_pb(guard))

    async def UpdateGuard(
        self, request: pb.UpdateGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateGuardResponse:
        guard = await service.update_guard(
            self.uow(),
            service.UpdateGuard(request.id, request.version, _guard_details(request)),
            current_principal(),
        )
        return pb.UpdateGuardResponse(guard=guard_to_pb(guard))

    async def MarkGuardLeft(
        self, request: pb.MarkGuardLeftRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkGuardLeftResponse:
        guard = await service.mark_guard_left(
            self.uow(),
            service.MarkGuardLeft(request.id, request.version, date_from_pb(request.left_on, "left_on")),
            current_principal(),
        )
        return pb.MarkGuardLeftResponse(guard=guard_to_pb(guard))

    async def ListGuards(
        self, request: pb.ListGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGuardsResponse:
        guards, token = await service.list_guards(
            self.uow(),
            service.ListGuards(
                unit_id=request.unit_id,
                status=STATUS.from_pb(request.status),
                q=request.q,
                page_size=request.page.page_size,
                page_token=request.page.page_token,
            ),
            current_principal(),
        )
        return pb.ListGuardsResponse(
            guards=[guard_to_pb(g) for g in guards], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def BatchGetGuards(
        self, request: pb.BatchGetGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetGuardsResponse:
        found, missing = await service.batch_get_guards(
            self.uow(), service.BatchGetGuards(list(request.ids)), current_principal()
        )
        return pb.BatchGetGuardsResponse(guards=[guard_to_pb(g) for g in found], missing_ids=missing)

    async def ImportGuards(
        self, request: pb.ImportGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportGuardsResponse:
        guards = await service.import_guards(
            self.uow(), service.ImportGuards(request.filename, request.content), current_principal()
        )
        return pb.ImportGuardsResponse(imported=len(guards), guard_ids=[str(g.id) for g in guards])


def register(server: grpc.aio.Server, deps: RegistryDeps) -> None:
    pb_grpc.add_ForcesServiceServicer_to_server(ForcesServicer(deps), server)
