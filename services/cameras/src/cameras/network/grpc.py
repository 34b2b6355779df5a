"""gRPC door of the camera network, d07.cameras.v1.CamerasService: messages in, handler, messages out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC

import asyncpg
import grpc

from cameras.network import service as cameras
from cameras.network.domain import CameraFilter, ChangeStatus, CreateCamera, PlanInput, UpdateCamera
from cameras.network.messages import (
    STATUS_FROM_PB,
    camera_to_pb,
    date_from_pb,
    date_to_pb,
    plan_to_pb,
    progress_to_pb,
    timestamp,
)
from cameras.network.service import Registry, parse_id
from d07.cameras.v1 import cameras_pb2 as pb
from d07.cameras.v1 import cameras_pb2_grpc as pb_grpc
from d07.platform.grpc import current_principal
from d07.platform.runtime import Deps


def _plan_input(
    request: pb.CreateInstallationPlanRequest | pb.UpdateInstallationPlanRequest,
) -> PlanInput:
    return PlanInput(
        name=request.name,
        target=request.target,
        starts_on=date_from_pb(request.starts_on, "starts_on"),
        deadline=date_from_pb(request.deadline, "deadline"),
        district_targets={t.district_code: t.target for t in request.district_targets},
    )


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
            district_code=request.district_code,
            commune_code=request.commune_code,
            agency=request.agency,
            planned_on=date_from_pb(request.planned_on, "planned_on"),
            installed_on=date_from_pb(request.installed_on, "installed_on"),
        )
        camera = await cameras.create_camera(self.pool, self.registry, cmd, principal=current_principal())
        return pb.CreateCameraResponse(camera=camera_to_pb(camera))

    async def GetCamera(
        self, request: pb.GetCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCameraResponse:
        camera = await cameras.get_camera(self.pool, request.id, principal=current_principal())
        return pb.GetCameraResponse(camera=camera_to_pb(camera))

    async def UpdateCamera(
        self, request: pb.UpdateCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCameraResponse:
        cmd = UpdateCamera(
            camera_id=parse_id(request.id),
            version=request.version,
            name=request.name,
            latitude=request.latitude,
            longitude=request.longitude,
            address=request.address,
            district_code=request.district_code,
            commune_code=request.commune_code,
            unit_id=request.unit_id,
            agency=request.agency,
            planned_on=date_from_pb(request.planned_on, "planned_on"),
        )
        camera = await cameras.update_camera(self.pool, self.registry, cmd, principal=current_principal())
        return pb.UpdateCameraResponse(camera=camera_to_pb(camera))

    async def ChangeCameraStatus(
        self, request: pb.ChangeCameraStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangeCameraStatusResponse:
        cmd = ChangeStatus(
            camera_id=parse_id(request.id),
            version=request.version,
            status=STATUS_FROM_PB.get(request.status, ""),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
        )
        camera = await cameras.change_camera_status(self.pool, cmd, principal=current_principal())
        return pb.ChangeCameraStatusResponse(camera=camera_to_pb(camera))

    async def ListCameras(
        self, request: pb.ListCamerasRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCamerasResponse:
        where = CameraFilter(
            status=STATUS_FROM_PB.get(request.status, ""),
            district_code=request.district_code,
            commune_code=request.commune_code,
            unit_id=parse_id(request.unit_id, "unit_id") if request.unit_id else None,
            query=request.query,
            online=request.online if request.HasField("online") else None,
        )
        found, token = await cameras.list_cameras(
            self.pool,
            where=where,
            requested_size=request.page.page_size,
            page_token=request.page.page_token,
            principal=current_principal(),
        )
        return pb.ListCamerasResponse(
            cameras=[camera_to_pb(c) for c in found], page={"next_page_token": token}
        )

    async def CreateInstallationPlan(
        self, request: pb.CreateInstallationPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateInstallationPlanResponse:
        plan = await cameras.create_plan(
            self.pool, self.registry, _plan_input(request), principal=current_principal()
        )
        return pb.CreateInstallationPlanResponse(plan=plan_to_pb(plan))

    async def UpdateInstallationPlan(
        self, request: pb.UpdateInstallationPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateInstallationPlanResponse:
        plan = await cameras.update_plan(
            self.pool,
            self.registry,
            request.id,
            request.version,
            _plan_input(request),
            principal=current_principal(),
        )
        return pb.UpdateInstallationPlanResponse(plan=plan_to_pb(plan))

    async def GetInstallationProgress(
        self, request: pb.GetInstallationProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetInstallationProgressResponse:
        p = await cameras.installation_progress(self.pool, request.plan_id, principal=current_principal())
        return pb.GetInstallationProgressResponse(
            plan=plan_to_pb(p.plan),
            total=progress_to_pb(p.total),
            districts=[progress_to_pb(d) for d in p.districts],
            days_left=p.days_left,
            as_of=timestamp(p.as_of),
        )

    async def SendHeartbeats(
        self,
        request_iterator: AsyncIterator[pb.SendHeartbeatsRequest],
        context: grpc.aio.ServicerContext,
    ) -> pb.SendHeartbeatsResponse:
        """Each message of the stream is handled as it arrives (one transaction per message), so a camera is
        online as soon as its gateway says so, not when the stream ends."""
        principal = current_principal()
        accepted, rejected, index = 0, [], 0
        async for message in request_iterator:
            batch = [
                (h.camera_id, h.at.ToDatetime(tzinfo=UTC) if h.HasField("at") else None)
                for h in message.heartbeats
            ]
            ok, refused = await cameras.send_heartbeats(
                self.pool, batch, principal=principal, first_index=index
            )
            accepted += ok
            rejected += refused
            index += len(batch)
        return pb.SendHeartbeatsResponse(
            accepted=accepted,
            rejected=[
                pb.RejectedHeartbeat(index=r.index, reason=r.reason, camera_id=r.camera_id) for r in rejected
            ],
        )

    async def GetCameraUptime(
        self, request: pb.GetCameraUptimeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCameraUptimeResponse:
        days = await cameras.camera_uptime(
            self.pool,
            request.camera_id,
            date_from_pb(request.from_date, "from_date"),
            date_from_pb(request.to_date, "to_date"),
            principal=current_principal(),
        )
        return pb.GetCameraUptimeResponse(
            camera_id=request.camera_id,
            days=[pb.DailyUptime(day=date_to_pb(d), online_seconds=s) for d, s in days.items()],
            total_online_seconds=sum(days.values()),
        )


SERVICE_NAME = "d07.cameras.v1.CamerasService"


def register(server: grpc.aio.Server, deps: Deps) -> None:
    pb_grpc.add_CamerasServiceServicer_to_server(CamerasServicer(deps.pool, deps.extra["registry"]), server)
