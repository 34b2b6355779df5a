"""gRPC door of movement models: d07.registry.v1.ModelsService. Thin: messages in, handler, messages out."""

from __future__ import annotations

import asyncpg
import grpc

from d07.common.v1 import common_pb2
from d07.platform.grpc import current_principal
from d07.registry.v1 import models_pb2 as pb
from d07.registry.v1 import models_pb2_grpc as pb_grpc
from registry.models import service
from registry.models.domain import ListModels, ModelInput
from registry.models.messages import (
    FORMATION_FROM_PB,
    HOST_TYPE_FROM_PB,
    STATUS_FROM_PB,
    change_to_pb,
    date_from_pb,
    host_from_pb,
    kind_to_pb,
    model_to_pb,
)

SERVICE_NAME = "d07.registry.v1.ModelsService"


def _input(request: pb.CreateModelRequest | pb.UpdateModelRequest) -> ModelInput:
    return ModelInput(
        name=request.name,
        kind=request.kind,
        host=host_from_pb(request),
        formation=FORMATION_FROM_PB.get(request.formation, ""),
        formed_on=date_from_pb(request.formed_on, "formed_on"),
        description=request.description,
    )


class ModelsServicer(pb_grpc.ModelsServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def CreateModel(
        self, request: pb.CreateModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateModelResponse:
        model = await service.create_model(self.pool, _input(request), principal=current_principal())
        return pb.CreateModelResponse(model=model_to_pb(model))

    async def GetModel(
        self, request: pb.GetModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetModelResponse:
        model, history = await service.get_model(self.pool, request.id, principal=current_principal())
        return pb.GetModelResponse(model=model_to_pb(model), history=[change_to_pb(c) for c in history])

    async def UpdateModel(
        self, request: pb.UpdateModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateModelResponse:
        model = await service.update_model(
            self.pool, request.id, request.version, _input(request), principal=current_principal()
        )
        return pb.UpdateModelResponse(model=model_to_pb(model))

    async def ChangeModelStatus(
        self, request: pb.ChangeModelStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangeModelStatusResponse:
        model = await service.change_status(
            self.pool,
            request.id,
            request.version,
            STATUS_FROM_PB.get(request.status, ""),
            changed_on=date_from_pb(request.changed_on, "changed_on"),
            note=request.note,
            principal=current_principal(),
        )
        return pb.ChangeModelStatusResponse(model=model_to_pb(model))

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        query = ListModels(
            kind=request.kind,
            status=STATUS_FROM_PB.get(request.status, ""),
            host_type=HOST_TYPE_FROM_PB.get(request.host_type, ""),
            district_code=request.district_code,
            unit_id=request.unit_id,
            commune_code=request.commune_code,
            q=request.q,
            from_date=date_from_pb(request.from_date, "from_date"),
            to_date=date_from_pb(request.to_date, "to_date"),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        models, token = await service.list_models(self.pool, query, principal=current_principal())
        return pb.ListModelsResponse(
            models=[model_to_pb(m) for m in models], page=common_pb2.PageInfo(next_page_token=token)
        )

    async def CountModels(
        self, request: pb.CountModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountModelsResponse:
        counts = await service.count_models(
            self.pool,
            from_date=date_from_pb(request.from_date, "from_date"),
            to_date=date_from_pb(request.to_date, "to_date"),
            district_code=request.district_code,
            principal=current_principal(),
        )
        return pb.CountModelsResponse(
            total=counts.total, in_units=counts.in_units, in_communities=counts.in_communities
        )

    async def ListModelKinds(
        self, request: pb.ListModelKindsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelKindsResponse:
        kinds = await service.list_kinds(self.pool, principal=current_principal())
        return pb.ListModelKindsResponse(kinds=[kind_to_pb(k) for k in kinds])


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_ModelsServiceServicer_to_server(ModelsServicer(pool), server)
