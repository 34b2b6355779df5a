"""gRPC door of cameras: d07.cameras.v1.CamerasService."""

from __future__ import annotations

import asyncpg
import grpc

from cameras.network import service as cameras
from cameras.network.domain import CreateCamera
from cameras.network.service import STATUS_FROM_PB, Registry, camera_to_pb
from d07.cameras.v1 import cameras_pb2 as pb
from d07.cameras.v1 import cameras_pb2_grpc as pb_grpc
from d07.platform.grpc import current_principal
from d07.platform.runtime import Deps


class CamerasServicer(pb_grpc.CamerasServiceServicer):
    def __init__(self, pool: asyncpg.Pool, registry: Registry) -> None:
        self.pool = pool
        self.registry = registry

    async def CreateCamera(
        self, request: pb.CreateCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCameraResponse:
        cmd = CreateCamera(
            code=request.code,
            name=request.name,
            latitude=request.latitude,
            longitude=request.longitude,
            unit_id=request.unit_id,
            address=request.address,
            status=STATUS_FROM_PB.get(request.status, "planned"),
        )
        camera = await cameras.create_camera(self.pool, self.registry, cmd, principal=current_principal())
        return pb.CreateCameraResponse(camera=camera_to_pb(camera))

    async def GetCamera(
        self, request: pb.GetCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCameraResponse:
        camera = await cameras.get_camera(self.pool, request.id, principal=current_principal())
        return pb.GetCameraResponse(camera=camera_to_pb(camera))


SERVICE_NAME = "d07.cameras.v1.CamerasService"


def register(server: grpc.aio.Server, deps: Deps) -> None:
    pb_grpc.add_CamerasServiceServicer_to_server(CamerasServicer(deps.pool, deps.extra["registry"]), server)
