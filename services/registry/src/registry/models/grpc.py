"""gRPC door of movement models: d07.registry.v1.ModelsService. Thin: messages in, handler, messages out."""

from __future__ import annotations

import grpc

from d07.common.v1 import common_pb2
from d07.platform.convert import date_from_pb
from d07.platform.grpc import current_principal
from d07.registry.v1 import models_pb2 as pb
from d07.registry.v1 import models_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.models import service
from registry.models.domain import ListModels, ModelInput
from registry.models.messages import (
    FORMATION,
    HOST_TYPE,
    STATUS,
    change_to_pb,
    host_from_pb,
    kind_to_pb,
    model_to_pb,
    name_from_pb,
)
from registry.models.service import ModelsUnitOfWork

SERVICE_NAME = "d07.registry.v1.ModelsService"


def _input(request: pb.CreateModelRequest | pb.UpdateModelRequest) -> ModelInput:
    return ModelInput(
        name=request.name,
        kind=request.kind,
        host=host_from_pb(request),
        formation=name_from_pb(FORMATION, request.formation),
        formed_on=date_from_pb(request.formed_on, "formed_on"),
        description=request.description,
    )


class ModelsServicer(pb_grpc.ModelsServiceServicer):
    def __init__(self, deps: RegistryDeps) -> None:
        self.deps = deps

    def uow(self) -> ModelsUnitOfWork:
        return self.deps.uow(ModelsUnitOfWork)

    async def CreateModel(
        self, request: pb.CreateModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateModelResponse:
        model = await service.create_model(self.uow(), _input(request), current_principal())
        return pb.CreateModelResponse(model=model_to_pb(model))

    async def GetModel(
        self, request: pb.GetModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetModelResponse:
        model, history = await service.get_model(
            self.uow(), service.GetModel(request.id), current_principal()
        )
        return pb.GetModelResponse(model=model_to_pb(model), history=[change_to_pb(c) for c in history])

    async def UpdateModel(
        self, request: pb.UpdateModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateModelResponse:
        model = await service.update_model(
            self.uow(), service.UpdateModel(request.id, request.version, _input(request)), current_principal()
        )
        return pb.UpdateModelResponse(model=model_to_pb(model))

    async def ChangeModelStatus(
        self, request: pb.ChangeModelStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangeModelStatusResponse:
        model = await service.change_status(
            self.uow(),
            service.ChangeModelStatus(
                request.id,
                request.version,
                name_from_pb(STATUS, request.status),
                date_from_pb(request.changed_on, "changed_on"),
                request.note,
            ),
            current_principal(),
        )
        return pb.ChangeModelStatusResponse(model=model_to_pb(model))

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        query = ListModels(
            kind=request.kind,
            status=name_from_pb(STATUS, request.status),
            host_type=name_from_pb(HOST_TYPE, request.host_type),
            district_code=request.district_code,
            unit_id=request.unit_id,
            commune_code=request.commune_code,
            q=request.q,
            from_date=date_from_pb(request.from_date, "from_date"),
            to_date=date_from_pb(request.to_date, "to_date"),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        models, token = await service.list_models(self.uow(), query, current_principal())
        return pb.ListModelsResponse(
            models=[model_to_pb(m) for m in models], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def CountModels(
        self, request: pb.CountModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountModelsResponse:
        counts = await service.count_models(
            self.uow(),
            service.CountModels(
                date_from_pb(request.from_date, "from_date"),
                date_from_pb(request.to_date, "to_date"),
                request.district_code,
            ),
            current_principal(),
        )
        return pb.CountModelsResponse(
            total=counts.total, in_units=counts.in_units, in_communities=counts.in_communities
        )

    async def ListModelKinds(
        self, request: pb.ListModelKindsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelKindsResponse:
        kinds = await service.list_kinds(self.uow(), service.ListModelKinds(), current_principal())
        return pb.ListModelKindsResponse(kinds=[kind_to_pb(k) for k in kinds])


def register(server: grpc.aio.Server, deps: RegistryDeps) -> None:
    pb_grpc.add_ModelsServiceServicer_to_server(ModelsServicer(deps), server)
