"""gRPC door of divisions: their part of d07.registry.v1.RegistryService (registry.grpc composes it with the
units' part)."""

from __future__ import annotations

import grpc

from d07.platform.grpc import current_principal
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.divisions import service
from registry.divisions.messages import district_to_pb
from registry.divisions.service import DivisionsUnitOfWork, ListDivisions


class DivisionsServicer(pb_grpc.RegistryServiceServicer):
    """The divisions' call of RegistryService."""

    def __init__(self, deps: RegistryDeps) -> None:
        self.deps = deps

    async def ListDivisions(
        self, request: pb.ListDivisionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDivisionsResponse:
        districts = await service.list_divisions(
            self.deps.uow(DivisionsUnitOfWork), ListDivisions(), current_principal()
        )
        return pb.ListDivisionsResponse(districts=[district_to_pb(d) for d in districts])
